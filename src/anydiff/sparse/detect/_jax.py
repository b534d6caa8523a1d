"""Jacobian/Hessian sparsity of JAX functions from their jaxpr.

Every variable of the jaxpr carries either a concrete value (it does not depend on ``x``) or an
*index set* per element: a boolean sparse matrix with one row per element and one column per
input element. Equations propagate these sets:

* elementwise primitives: union of the operands' sets (zero-derivative ones such as
  comparisons, ``floor``, ``sign``: empty sets);
* structural primitives (reshape, slice, concatenate, pad, gather, transpose, ...): the
  primitive itself is run on arrays of element ids, which says which input element each
  output element is (no per-primitive index arithmetic);
* reductions and ``dot_general``: 0/1 aggregation matrices times the operands' sets;
* ``jit``/``pjit``/``custom_jvp``/``custom_vjp``/``remat`` calls: recursion; ``cond``: union of branches.

The pattern is global (valid for every input): value-dependent branches take all branches.
Hessian patterns are the Jacobian patterns of ``jax.grad(f)``, symmetrized.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..._errors import MissingRuleError
from ._index_sets import _any_row, _product, _rows

__all__ = ["JaxSparsityDetector"]

ZERO = {
    "eq", "ne", "lt", "le", "gt", "ge", "eq_to", "lt_to", "le_to", "sign", "floor", "ceil", "round", "is_finite", "and", "or",
    "not", "xor", "stop_gradient", "population_count", "shift_left", "shift_right_logical",
    "shift_right_arithmetic", "argmax", "argmin", "iota", "reduce_and", "reduce_or", "reduce_xor",
    "nextafter", "random_bits", "random_seed", "random_wrap", "random_unwrap", "threefry2x32",
}
ELEMENTWISE = {
    "add", "sub", "mul", "div", "rem", "pow", "max", "min", "neg", "exp", "exp2", "log", "log1p",
    "expm1", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "asinh",
    "acosh", "atanh", "sqrt", "rsqrt", "cbrt", "integer_pow", "square", "abs", "logistic", "erf",
    "erfc", "erf_inv", "lgamma", "digamma", "igamma", "igammac", "polygamma", "bessel_i0e",
    "bessel_i1e", "select_n", "clamp", "real", "imag", "conj", "complex", "add_any", "copy",
    "copy_p", "reduce_precision", "convert_element_type", "zeta", "regularized_incomplete_beta",
    "pjit_elementwise", "optimization_barrier",
}
STRUCTURAL = {
    "reshape", "transpose", "squeeze", "expand_dims", "broadcast_in_dim", "slice", "dynamic_slice",
    "dynamic_update_slice", "concatenate", "pad", "rev", "gather", "split", "stack", "scatter",
}
#: structural primitives that keep the row-major order of the elements (the sets are unchanged)
_SAME_ORDER = {"reshape", "squeeze", "expand_dims"}
REDUCE = {"reduce_sum", "reduce_max", "reduce_min", "reduce_prod"}
CUMULATIVE = {"cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"}
CALLS = {"pjit", "jit", "closed_call", "core_call", "remat", "checkpoint", "custom_jvp_call",
         "custom_vjp_call", "custom_vjp_call_jaxpr", "custom_lin"}


@dataclass(frozen=True)
class JaxSparsityDetector:
    """Global sparsity detection for JAX functions, by walking their jaxpr.

    Examples
    --------
    >>> import jax; jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp, anydiff as ad
    >>> S = ad.JaxSparsityDetector().jacobian_sparsity(lambda x: x[1:] * x[:-1], jnp.ones(4))
    >>> S.toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """

    def jacobian_sparsity(self, f, x, contexts=(), y=None):
        import jax

        if y is not None:
            from ..._errors import UnsupportedOperationError

            raise UnsupportedOperationError(
                "JaxSparsityDetector cannot trace in-place functions f(y, x) (JAX arrays are immutable).\n"
                "Hint: write f to return its output."
            )
        if isinstance(x, (np.ndarray, jax.Array)):  # trace on the abstract value: no device transfer
            x = jax.ShapeDtypeStruct(x.shape, jax.dtypes.canonicalize_dtype(x.dtype),
                                     weak_type=bool(getattr(x, "weak_type", False)))
        else:
            x = jax.numpy.asarray(x)
        contexts = _values(contexts)
        closed = jax.make_jaxpr(lambda x: f(x, *contexts))(x)
        n = int(np.prod(x.shape, dtype=int))
        outs = _walk(closed.jaxpr, closed.consts, [_Deps(_identity(n))], n)
        if len(outs) != 1:
            raise MissingRuleError("JaxSparsityDetector supports functions with one array output.")
        return _as_csr(outs[0], n)

    def hessian_sparsity(self, f, x, contexts=()):
        import jax

        S = self.jacobian_sparsity(lambda x, *c: jax.grad(f)(x, *c), x, contexts=contexts)
        return sp.csr_array((S + S.T) > 0)


def _values(contexts):
    """Plain values of contexts given as values or as ``Constant``/``Cache`` objects."""
    from ..._contexts import Context

    return tuple(c.value if isinstance(c, Context) else c for c in contexts)


class _Deps:
    """Index sets of an array's elements: ``S[k, j]`` = element k may depend on input j.

    Stored lazily as a union of *terms* ``(base, ids, full)``: element k depends on row
    ``ids[k]`` of the boolean CSR matrix ``base`` (``-1`` = no row; ``full``: no ``-1``).
    Structural primitives (slices, concatenations, reshapes: ``roll``) only move integer ids,
    elementwise primitives only collect terms (a union is taken once, when an operation needs
    the matrix ``S``), so chains of cheap primitives create no sparse matrices.
    """

    __slots__ = ("_S", "n", "size", "terms")

    def __init__(self, S=None, terms=(), size=0, n=0):
        if S is not None:
            S = S if isinstance(S, sp.csr_array) and S.dtype == bool else sp.csr_array(S, dtype=bool)
            size, n = S.shape
            terms = ((S, np.arange(size), True),) if S.nnz else ()
        self.terms, self.size, self.n, self._S = terms, size, n, S

    @property
    def S(self):
        if self._S is None:
            self._S = _union_terms(self.terms, self.size, self.n)
        return self._S


def _gather(base, ids, full):
    """Rows ``ids`` of ``base`` as ``(row, column)`` pairs, rows ascending (``-1``: no row)."""
    indptr = base.indptr
    one = getattr(base, "_anydiff_one_per_row", None)  # bases are never modified: check once
    if one is None:
        one = bool(base.nnz == base.shape[0] and indptr[-1] == indptr.size - 1
                   and np.array_equal(indptr, np.arange(indptr.size)))
        base._anydiff_one_per_row = one
    if one:
        # one entry per row (the identity, permutations): no segments to expand
        if full:
            return np.arange(ids.size), base.indices[ids]
        rows = np.flatnonzero(ids >= 0)
        return rows, base.indices[ids[rows]]
    if full:
        starts, lengths = indptr[ids], indptr[ids + 1] - indptr[ids]
    else:
        safe = np.where(ids >= 0, ids, 0)
        starts = indptr[safe]
        lengths = np.where(ids >= 0, indptr[safe + 1] - starts, 0)
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if ends.size else 0
    rows = np.repeat(np.arange(ids.size), lengths)
    src = np.repeat(starts - (ends - lengths), lengths) + np.arange(total)
    return rows, base.indices[src]


def _union_terms(terms, size, n):
    """The boolean CSR matrix of a union of terms (sorted indices, no duplicates)."""
    if not terms or n == 0:
        return sp.csr_array((size, n), dtype=bool)
    if len(terms) == 1:
        base, ids, full = terms[0]
        return _rows(base, ids)
    shift = int(n - 1).bit_length()  # key = row << shift | column: sorted by row, then column
    keys = []
    for base, ids, full in terms:
        rows, cols = _gather(base, ids, full)
        keys.append((rows << shift) | cols)
    k = np.concatenate(keys)
    k.sort(kind="stable")  # concatenated sorted runs: a merge
    if k.size:
        keep = np.empty(k.size, dtype=bool)
        keep[0] = True
        np.not_equal(k[1:], k[:-1], out=keep[1:])
        k = k[keep]
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(k >> shift, minlength=size), out=indptr[1:])
    return sp.csr_array((np.ones(k.size, dtype=bool), k & ((1 << shift) - 1), indptr), shape=(size, n))


#: terms kept lazily before a union is materialized (bounds the work per elementwise primitive)
_MAX_TERMS = 8


def _add_term(terms, term):
    """Add ``term`` to the list ``terms``, merged into a term of the same base when the two
    agree wherever both have a row (same views, or complementary parts of one view)."""
    base, ids, full = term
    for k, (b, other, other_full) in enumerate(terms):
        if b is not base:
            continue
        if other is ids:
            return
        if full and other_full:
            if ids[0] == other[0] and np.array_equal(ids, other):
                return
            continue
        both = (ids >= 0) & (other >= 0)
        if np.array_equal(ids[both], other[both]):
            merged = np.where(other >= 0, other, ids)
            terms[k] = (b, merged, full or other_full or bool((merged >= 0).all()))
            return
    terms.append(term)


def _lazy(terms, size, n):
    """A ``_Deps`` of ``terms`` (materialized once there are too many of them)."""
    if len(terms) > _MAX_TERMS:
        return _Deps(_union_terms(terms, size, n))
    return _Deps(terms=tuple(terms), size=size, n=n)


def _identity(n):
    ids = np.arange(n)
    return sp.csr_array((np.ones(n, dtype=bool), ids, np.arange(n + 1)), shape=(n, n))


def _as_csr(v, n):
    if isinstance(v, _Deps):
        return v.S  # built during this detection: not shared
    size = int(np.size(v))
    return sp.csr_array((size, n), dtype=bool)


def _size(aval):
    return int(np.prod(aval.shape, dtype=int))


def _literal_type():
    global _LITERAL
    if _LITERAL is None:
        from jax.extend.core import Literal

        _LITERAL = Literal
    return _LITERAL


_LITERAL = None


def _walk(jaxpr, consts, args, n):
    Literal = _literal_type()
    env = {}

    def read(v):
        return np.asarray(v.val) if isinstance(v, Literal) else env[v]

    for var, val in zip(jaxpr.constvars, consts):
        env[var] = np.asarray(val)
    for var, val in zip(jaxpr.invars, args):
        env[var] = val
    for eqn in jaxpr.eqns:
        outs = _apply(eqn, [read(v) for v in eqn.invars], n)
        for var, out in zip(eqn.outvars, outs):
            env[var] = out  # DropVars are never read
    return [read(v) for v in jaxpr.outvars]


def _empty(aval, n):
    return _Deps(size=_size(aval), n=n)


def _deps_of(v, size, n):
    """The index-set matrix of operand ``v`` (concrete values depend on nothing)."""
    if isinstance(v, _Deps):
        return v.S
    return sp.csr_array((size, n), dtype=bool)


def _apply(eqn, vals, n):
    name = eqn.primitive.name
    for v in vals:
        if isinstance(v, _Deps):
            break
    else:  # nothing here depends on x: evaluate concretely
        return _concrete(eqn, vals)
    out_avals = [v.aval for v in eqn.outvars]
    if name in ZERO or (name == "convert_element_type" and np.dtype(out_avals[0].dtype).kind not in "fc"):
        return [_empty(a, n) for a in out_avals]
    if name in ELEMENTWISE:
        skip = 1 if name == "select_n" else 0  # the selector of select_n has zero derivative
        return [_union_elementwise(vals[skip:], eqn.invars[skip:], out_avals[0], n)]
    if name in STRUCTURAL:
        return _structural(eqn, vals, n)
    if name in REDUCE:
        return [_Deps(_reduce(vals[0], eqn.invars[0].aval, eqn.params["axes"], n))]
    if name in CUMULATIVE:
        return [_Deps(_cumulative(vals[0], eqn.invars[0].aval, eqn.params["axis"], eqn.params.get("reverse", False), n))]
    if name == "dot_general":
        return [_Deps(_dot_general(eqn, vals, n))]
    if name == "scatter-add":
        return [_Deps(_scatter_add(eqn, vals, n))]
    if name == "conv_general_dilated":
        return [_Deps(_conv(eqn, vals, n))]
    if name == "sort":
        return [_Deps(_sort(v, var.aval, eqn.params["dimension"], n)) if isinstance(v, _Deps) else _empty(var.aval, n)
                for v, var in zip(vals, eqn.invars)]
    if name == "scan":
        return _scan(eqn, vals, n)
    if name == "while":
        return _while(eqn, vals, n)
    if name in CALLS:
        closed = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr") or eqn.params.get("fun_jaxpr")
        inner = getattr(closed, "jaxpr", closed)
        consts = getattr(closed, "consts", ())
        outs = _walk(inner, consts, vals[-len(inner.invars):] if len(inner.invars) < len(vals) else vals, n)
        return outs
    if name == "cond":
        branches = eqn.params["branches"]
        results = [_walk(b.jaxpr, b.consts, vals[1:], n) for b in branches]
        merged = []
        for k, aval in enumerate(out_avals):
            mats = [_deps_of(r[k], _size(aval), n) for r in results]
            merged.append(_Deps(sum(mats[1:], mats[0])))
        return merged
    raise MissingRuleError(
        f"JaxSparsityDetector has no rule for the JAX primitive {name!r}.\n"
        "Hint: use DenseSparsityDetector(AutoJax()) for this function (pattern at x only), or "
        "add the primitive to anydiff/sparse/detect/_jax.py."
    )


#: NumPy twins of common elementwise primitives (same dtypes in, same dtype out), for the
#: concrete evaluation of equations that do not depend on x (JAX dispatch costs ~100 µs)
_NUMPY_ELEMENTWISE = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "neg": np.negative, "max": np.maximum,
    "min": np.minimum, "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal, "and": np.logical_and, "or": np.logical_or,
}


def _concrete(eqn, vals):
    """Value of an equation none of whose operands depends on x (NumPy for the common
    primitives, the JAX primitive otherwise)."""
    name = eqn.primitive.name
    out = None
    try:
        with np.errstate(all="ignore"):  # overflow to inf, wrap-around: as in XLA, silently
            if name in _NUMPY_ELEMENTWISE and len(vals) == (1 if name == "neg" else 2):
                if name not in ("and", "or") or all(np.asarray(v).dtype == bool for v in vals):  # else bitwise
                    out = [np.asarray(_NUMPY_ELEMENTWISE[name](*vals))]
            elif name == "convert_element_type":
                out = [np.asarray(vals[0]).astype(np.dtype(eqn.outvars[0].aval.dtype))]
            elif name in STRUCTURAL and name != "pad":  # pad: the padding value is an operand
                out = _numpy_structural(name, [np.asarray(v) for v in vals], eqn.params)
        if out is not None and all(np.shape(r) == tuple(var.aval.shape) and np.asarray(r).dtype == np.dtype(var.aval.dtype)
                                   for r, var in zip(out, eqn.outvars)):
            return [np.asarray(r) for r in out]
    except (TypeError, ValueError):  # e.g. extended dtypes (PRNG keys): the JAX primitive
        pass
    res = eqn.primitive.bind(*vals, **eqn.params)
    return [_host(r) for r in (res if eqn.primitive.multiple_results else [res])]


def _host(r):
    """A concrete value as a NumPy array; values with extended dtypes (PRNG keys) stay JAX arrays."""
    import jax

    if jax.dtypes.issubdtype(getattr(r, "dtype", np.float64), jax.dtypes.extended):
        return r
    return np.asarray(r)


def _union_elementwise(vals, invars, out_aval, n):
    """Union of the operands' sets (lazy: their terms), each broadcast to the output shape."""
    out_shape = tuple(out_aval.shape)
    deps = []
    for v, var in zip(vals, invars):
        if isinstance(v, _Deps) and v.terms:
            shape = tuple(var.aval.shape)
            if shape != out_shape:  # broadcast (scalar operands): ids follow the elements
                where = np.broadcast_to(np.arange(v.size).reshape(shape), out_shape).ravel()
                v = _Deps(terms=tuple((b, ids[where], full) for b, ids, full in v.terms), size=where.size, n=n)
            deps.append(v)
    if not deps:
        return _Deps(size=_size(out_aval), n=n)
    if len(deps) == 1:
        return deps[0]  # one operand depends on x: same sets (same object, so its matrix is shared)
    terms = list(deps[0].terms)
    for d in deps[1:]:
        for term in d.terms:
            _add_term(terms, term)
    return _lazy(terms, deps[0].size, n)


def _structural(eqn, vals, n):
    """Run the primitive on element ids (1-based; 0 = depends on nothing) to map elements.

    The result is a lazy view: rows of the operands' bases (stacked if there are several)."""
    out_avals = [v.aval for v in eqn.outvars]
    data_dtype = np.dtype(out_avals[0].dtype)
    if data_dtype.kind not in "fc":  # integer/boolean results have zero derivative
        return [_empty(a, n) for a in out_avals]
    if any(isinstance(v, _Deps) and np.dtype(var.aval.dtype) != data_dtype for v, var in zip(vals, eqn.invars)):
        # indices computed from x (searchsorted, argmax, ...): their values are unknown for a
        # global pattern, so every output element may come from any element of the data operands
        union = _any_row([v.S for v, var in zip(vals, eqn.invars)
                          if isinstance(v, _Deps) and np.dtype(var.aval.dtype) == data_dtype], n)
        return [_Deps(_rows(union, np.zeros(_size(a), dtype=np.int64))) for a in out_avals]
    name = eqn.primitive.name
    if name in _SAME_ORDER and isinstance(vals[0], _Deps) and (name != "reshape" or eqn.params.get("dimensions") is None):
        return [vals[0]]  # row-major order unchanged: same sets
    fast = _move_ids(name, vals, eqn, data_dtype, n)
    if fast is not None:
        return fast
    # positions (1-based) of the data operands' elements, stacked; 0 = depends on nothing
    pos_args, data, total = [], [], 0
    for v, var in zip(vals, eqn.invars):
        aval = var.aval
        if isinstance(v, _Deps):
            pos_args.append(np.arange(total + 1, total + 1 + v.size, dtype=np.int32).reshape(aval.shape))
            data.append((v, total))
            total += v.size
        elif np.dtype(aval.dtype) == data_dtype:
            pos_args.append(np.zeros(aval.shape, dtype=np.int32))  # constant data: depends on nothing
        else:
            pos_args.append(v)  # indices, start positions: concrete
    res = _numpy_structural(name, pos_args, eqn.params)
    if res is None:  # no NumPy twin: run the JAX primitive itself on the positions
        res = eqn.primitive.bind(*pos_args, **eqn.params)
        res = res if eqn.primitive.multiple_results else [res]
    # per base: layers of ids over the stacked positions (a layer per term of an operand with
    # that base), with a -1 sentinel at the end for position 0 ("nothing")
    layers = {}
    for v, offset in data:
        count = {}
        for base, ids, _ in v.terms:
            key = id(base)
            k = count.get(key, 0)
            count[key] = k + 1
            stack = layers.setdefault(key, (base, []))[1]
            if len(stack) == k:
                stack.append(np.full(total + 1, -1, dtype=np.int64))
            stack[k][offset:offset + v.size] = ids
    outs = []
    for r in res:
        where = np.asarray(r, dtype=np.int64).ravel() - 1
        terms = []
        for base, stack in layers.values():
            for lookup in stack:
                ids = lookup[where]
                valid = ids >= 0
                if valid.all():
                    terms.append((base, ids, True))
                elif valid.any():
                    terms.append((base, ids, False))
        outs.append(_Deps(terms=tuple(terms), size=where.size, n=n))
    return outs


#: structural primitives whose output elements are all input elements (no fill values)
_MOVES = {"transpose", "broadcast_in_dim", "slice", "concatenate", "stack", "rev"}


def _move_ids(name, vals, eqn, data_dtype, n):
    """Fast path of ``_structural``: a pure move (NumPy twin, no fill values) whose data operands
    all depend on ``x`` through at most one term each, with one common base: the primitive is
    run on the ids themselves. ``None`` when it does not apply."""
    if name not in _MOVES:
        return None
    base, args, full = None, [], True
    for v, var in zip(vals, eqn.invars):
        if not isinstance(v, _Deps) and np.dtype(var.aval.dtype) != data_dtype:
            args.append(v)  # indices, start positions: concrete
            continue
        if not isinstance(v, _Deps) or not v.terms:  # constant data / no dependence: no row
            args.append(np.full(var.aval.shape, -1, dtype=np.int64))
            full = False
            continue
        if len(v.terms) > 1:
            return None
        b, ids, f = v.terms[0]
        if base is None:
            base = b
        elif b is not base:
            return None
        args.append(ids.reshape(var.aval.shape))
        full = full and f
    if base is None:
        return [_empty(v.aval, n) for v in eqn.outvars]
    outs = []
    for r in _numpy_structural(name, args, eqn.params):
        ids = np.ascontiguousarray(r).ravel()
        if full:
            outs.append(_Deps(terms=((base, ids, True),), size=ids.size, n=n))
            continue
        valid = ids >= 0
        terms = ((base, ids, True),) if valid.all() else ((base, ids, False),) if valid.any() else ()
        outs.append(_Deps(terms=terms, size=ids.size, n=n))
    return outs


def _numpy_structural(name, args, params):
    """NumPy versions of the common structural primitives (much faster than JAX dispatch)."""
    a = args[0]
    if name == "reshape" and params.get("dimensions") is None:
        return [np.reshape(a, params["new_sizes"])]
    if name == "transpose":
        return [np.transpose(a, params["permutation"])]
    if name == "squeeze":
        return [np.squeeze(a, axis=tuple(params["dimensions"]))]
    if name == "expand_dims":
        return [np.expand_dims(a, tuple(params["dimensions"]))]
    if name == "broadcast_in_dim":
        shape, dims = tuple(params["shape"]), tuple(params["broadcast_dimensions"])
        expanded = np.reshape(a, [shape[d] if d in dims and a.shape[dims.index(d)] != 1 else 1 for d in range(len(shape))]
                              if a.ndim else [1] * len(shape))
        return [np.broadcast_to(expanded, shape)]
    if name == "slice":
        strides = params.get("strides") or (1,) * a.ndim
        return [a[tuple(slice(s, e, k) for s, e, k in zip(params["start_indices"], params["limit_indices"], strides))]]
    if name == "concatenate":
        return [np.concatenate(args, axis=params["dimension"])]
    if name == "stack":
        return [np.stack(args, axis=params["axis"])]
    if name == "rev":
        return [np.flip(a, axis=tuple(params["dimensions"]))]
    if name == "pad":
        out = a
        for axis, (lo, hi, interior) in enumerate(params["padding_config"]):
            lo, hi, interior = int(lo), int(hi), int(interior)
            if interior:
                shape = list(out.shape)
                shape[axis] = out.shape[axis] + max(0, out.shape[axis] - 1) * interior
                spread = np.zeros(shape, dtype=out.dtype)
                index = [slice(None)] * out.ndim
                index[axis] = slice(None, None, interior + 1)
                spread[tuple(index)] = out
                out = spread
            width = [(0, 0)] * out.ndim
            width[axis] = (max(lo, 0), max(hi, 0))
            out = np.pad(out, width)  # pads with 0 = "depends on nothing"
            index = [slice(None)] * out.ndim
            index[axis] = slice(-lo if lo < 0 else 0, out.shape[axis] + hi if hi < 0 else None)
            out = out[tuple(index)]
        return [out]
    return None


def _scatter_add(eqn, vals, n):
    """``operand.at[idx].add(updates)``: each output element unions its operand element and the
    updates sent to it. Targets of the updates: scatter-max of update ids, repeated until every
    update has been seen (one round per level of index collisions)."""
    import jax

    operand, indices, updates = vals[:3]
    if isinstance(indices, _Deps):
        raise MissingRuleError("scatter-add with indices that depend on x cannot be traced.")
    op_aval, up_aval = eqn.invars[0].aval, eqn.invars[2].aval
    nu = _size(up_aval)
    remaining = np.arange(nu, dtype=np.int32)
    targets = np.full(nu, -1, dtype=np.int64)
    params = {k: v for k, v in eqn.params.items() if k not in ("update_jaxpr", "update_consts")}
    while True:
        res = jax.lax.scatter_max(np.full(op_aval.shape, -1, np.int32), np.asarray(indices),
                                  remaining.reshape(up_aval.shape), params["dimension_numbers"],
                                  indices_are_sorted=params.get("indices_are_sorted", False),
                                  unique_indices=params.get("unique_indices", False), mode=params.get("mode"))
        res = np.asarray(res).ravel()
        pos = np.nonzero(res >= 0)[0]
        fresh = targets[res[pos]] < 0
        if not fresh.any():
            break
        targets[res[pos[fresh]]] = pos[fresh]
        remaining[res[pos[fresh]]] = -1
    total = _deps_of(operand, _size(op_aval), n)
    if isinstance(updates, _Deps):
        hit = np.nonzero(targets >= 0)[0]
        A = sp.csr_array((np.ones(hit.size, dtype=np.int32), (targets[hit], hit)), shape=(_size(op_aval), nu))
        total = total + _product(A, updates.S)
    return total


def _ids1(v, aval):
    """1-based element ids of an operand as float64 (0 = depends on nothing)."""
    if isinstance(v, _Deps):
        return np.arange(1, _size(aval) + 1, dtype=np.float64).reshape(aval.shape)
    return np.zeros(aval.shape, dtype=np.float64)


def _conv(eqn, vals, n):
    """``conv_general_dilated``: output (b, o, s) = sum over patch entries k of lhs[b, k, s] *
    kernel[o, k]. Patches come from ``conv_general_dilated_patches`` run on 1-based element ids
    (exact in float64; 0 = padding). A pair contributes unless the lhs entry is padding or the
    kernel entry is a constant zero (a stencil's structural zeros hold for every input)."""
    import jax

    p = eqn.params
    if p["feature_group_count"] != 1 or p["batch_group_count"] != 1:
        raise MissingRuleError("JaxSparsityDetector: grouped convolutions (feature/batch_group_count > 1) are not traced.")
    lhs, rhs = vals[:2]
    la, ra, oa = eqn.invars[0].aval, eqn.invars[1].aval, eqn.outvars[0].aval
    lspec, rspec, ospec = p["dimension_numbers"]
    out_flat = np.arange(_size(oa)).reshape(oa.shape).transpose(ospec)  # logical (B, O, S...)
    B, O = out_flat.shape[:2]
    ids = np.transpose(np.arange(1, _size(la) + 1, dtype=np.float64).reshape(la.shape), lspec)  # (B, C, S...)
    window = tuple(ra.shape[d] for d in rspec[2:])
    patches = jax.lax.conv_general_dilated_patches(
        ids, window, p["window_strides"], p["padding"], lhs_dilation=p["lhs_dilation"],
        rhs_dilation=p["rhs_dilation"], precision=jax.lax.Precision.HIGHEST)
    patches = np.rint(np.asarray(patches)).astype(np.int64)  # (B, K, S_out...), K = (C, window) C-major
    K = patches.shape[1]
    P = np.moveaxis(patches, 1, -1).reshape(B, -1, K)  # (B, S, K): lhs element (1-based) or 0
    kern = np.transpose(np.arange(_size(ra)).reshape(ra.shape), rspec).reshape(O, K)  # kernel element per (o, k)
    if isinstance(rhs, _Deps):
        live = np.ones((O, K), dtype=bool)
    else:
        live = np.transpose(np.asarray(rhs), rspec).reshape(O, K) != 0
    out_bso = np.moveaxis(out_flat, 1, -1).reshape(B, -1, O)  # (B, S, O)
    b, s_, o, k = np.nonzero((P[:, :, None, :] > 0) & live[None, None, :, :])
    rows = out_bso[b, s_, o]
    total = sp.csr_array((_size(oa), n), dtype=bool)
    if isinstance(lhs, _Deps):
        A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, P[b, s_, k] - 1)), shape=(_size(oa), _size(la)))
        total = total + _product(A, lhs.S)
    if isinstance(rhs, _Deps):
        A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, kern[o, k])), shape=(_size(oa), _size(ra)))
        total = total + _product(A, rhs.S)
    return total


def _sort(v, aval, dimension, n):
    """Global: a sorted element may be any element of its line along ``dimension``."""
    shape = aval.shape
    line = np.moveaxis(np.arange(_size(aval)).reshape(shape), dimension, -1).reshape(-1, shape[dimension])
    rows = np.repeat(line, shape[dimension], axis=1).ravel()  # each element of a line ...
    cols = np.tile(line, (1, shape[dimension])).ravel()  # ... gets every element of it
    A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(_size(aval), _size(aval)))
    return _product(A, v.S)


def _slice0(v, aval, i):
    """Element ``i`` along the leading axis of an operand (a lazy view for index sets)."""
    if isinstance(v, _Deps):
        terms = []
        for base, ids, full in v.terms:
            ids = ids.reshape(aval.shape)[i].ravel().copy()
            if full or (ids >= 0).all():
                terms.append((base, ids, True))
            elif (ids >= 0).any():
                terms.append((base, ids, False))
        return _Deps(terms=tuple(terms), size=_size(aval) // aval.shape[0], n=v.n)
    return np.asarray(v)[i]


def _stack0(items, aval, n):
    if not any(isinstance(it, _Deps) for it in items):
        return np.stack([np.asarray(it) for it in items])
    per = _size(aval) // aval.shape[0]
    return _Deps(sp.vstack([it.S if isinstance(it, _Deps) else sp.csr_array((per, n), dtype=bool) for it in items],
                           format="csr"))


def _scan(eqn, vals, n):
    """``lax.scan`` (and ``fori_loop`` with static bounds): the body is walked once per iteration."""
    p = eqn.params
    body, nc, ncarry, length = p["jaxpr"], p["num_consts"], p["num_carry"], p["length"]
    consts, carry, xs = vals[:nc], list(vals[nc:nc + ncarry]), vals[nc + ncarry:]
    xs_avals = [v.aval for v in eqn.invars[nc + ncarry:]]
    ys = []
    order = range(length - 1, -1, -1) if p.get("reverse") else range(length)
    for i in order:
        outs = _walk(body.jaxpr, body.consts, list(consts) + carry + [_slice0(x, a, i) for x, a in zip(xs, xs_avals)], n)
        carry, y = list(outs[:ncarry]), outs[ncarry:]
        ys.append(y)
    if p.get("reverse"):
        ys = ys[::-1]
    ys_avals = [v.aval for v in eqn.outvars[ncarry:]]
    stacked = [_stack0([y[k] for y in ys], a, n) for k, a in enumerate(ys_avals)]
    return carry + stacked


def _while(eqn, vals, n):
    """``lax.while_loop`` whose condition does not depend on ``x``: run exactly, iteration by
    iteration (a condition that depends on ``x`` needs values: not a global pattern)."""
    p = eqn.params
    cj, bj, cn, bn = p["cond_jaxpr"], p["body_jaxpr"], p["cond_nconsts"], p["body_nconsts"]
    cconsts, bconsts, carry = vals[:cn], vals[cn:cn + bn], list(vals[cn + bn:])
    while True:
        (keep_going,) = _walk(cj.jaxpr, cj.consts, list(cconsts) + carry, n)
        if isinstance(keep_going, _Deps):
            raise MissingRuleError(
                "JaxSparsityDetector: a while_loop whose condition depends on x has no global pattern.\n"
                "Hint: use DenseSparsityDetector(AutoJax()) (pattern at x only), or a fixed trip count (lax.scan / fori_loop)."
            )
        if not bool(np.asarray(keep_going)):
            return carry
        carry = list(_walk(bj.jaxpr, bj.consts, list(bconsts) + carry, n))


def _reduce(v, aval, axes, n):
    shape = aval.shape
    idx = np.arange(_size(aval)).reshape(shape)
    keep = [d for d in range(len(shape)) if d not in axes]
    out_shape = tuple(shape[d] for d in keep)
    coords = np.indices(shape)
    if keep:
        out_idx = np.ravel_multi_index(tuple(coords[d] for d in keep), out_shape).ravel()
    else:
        out_idx = np.zeros(idx.size, dtype=np.int64)
    A = sp.csr_array((np.ones(idx.size, dtype=np.int32), (out_idx, idx.ravel())),
                     shape=(int(np.prod(out_shape, dtype=int)), idx.size))
    return _product(A, v.S)


def _cumulative(v, aval, axis, reverse, n):
    shape = aval.shape
    L = shape[axis]
    idx = np.moveaxis(np.arange(_size(aval)).reshape(shape), axis, -1).reshape(-1, L)
    tri = np.triu(np.ones((L, L), dtype=bool)) if not reverse else np.tril(np.ones((L, L), dtype=bool))
    src, dst = np.nonzero(tri)  # element dst depends on src (src <= dst for forward)
    rows = idx[:, dst].ravel()
    cols = idx[:, src].ravel()
    A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(idx.size, idx.size))
    return _product(A, v.S)


def _dot_general(eqn, vals, n):
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    la, ra = eqn.invars[0].aval, eqn.invars[1].aval
    lshape, rshape = la.shape, ra.shape
    lfree = [d for d in range(len(lshape)) if d not in lc and d not in lb]
    rfree = [d for d in range(len(rshape)) if d not in rc and d not in rb]
    L = np.arange(_size(la)).reshape(lshape).transpose(list(lb) + lfree + list(lc))
    R = np.arange(_size(ra)).reshape(rshape).transpose(list(rb) + rfree + list(rc))
    nb = int(np.prod([lshape[d] for d in lb], dtype=int))
    nlf = int(np.prod([lshape[d] for d in lfree], dtype=int))
    nrf = int(np.prod([rshape[d] for d in rfree], dtype=int))
    nc = int(np.prod([lshape[d] for d in lc], dtype=int))
    L = L.reshape(nb, nlf, nc)
    R = R.reshape(nb, nrf, nc)
    out = np.arange(nb * nlf * nrf).reshape(nb, nlf, nrf)
    total = sp.csr_array((out.size, n), dtype=bool)
    if isinstance(vals[0], _Deps):
        rows = np.broadcast_to(out[..., None], (nb, nlf, nrf, nc)).ravel()
        cols = np.broadcast_to(L[:, :, None, :], (nb, nlf, nrf, nc)).ravel()
        A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(out.size, L.size))
        total = total + _product(A, vals[0].S)
    if isinstance(vals[1], _Deps):
        rows = np.broadcast_to(out[..., None], (nb, nlf, nrf, nc)).ravel()
        cols = np.broadcast_to(R[:, None, :, :], (nb, nlf, nrf, nc)).ravel()
        A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(out.size, R.size))
        total = total + _product(A, vals[1].S)
    return total
