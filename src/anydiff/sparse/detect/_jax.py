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
from ._index_sets import _product, _rows

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
    "copy_p", "reduce_precision", "convert_element_type", "tan", "zeta", "regularized_incomplete_beta",
    "pjit_elementwise", "optimization_barrier",
}
STRUCTURAL = {
    "reshape", "transpose", "squeeze", "expand_dims", "broadcast_in_dim", "slice", "dynamic_slice",
    "dynamic_update_slice", "concatenate", "pad", "rev", "gather", "split", "stack", "scatter",
}
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

    Stored lazily as rows ``ids`` (``-1`` = empty, ``None`` = all rows in order) of a ``base``
    matrix, so chains of structural primitives (slices, concatenations, reshapes: ``roll``)
    only move integer ids; the rows are gathered once, when an operation needs them.
    """

    __slots__ = ("base", "ids", "_S")

    def __init__(self, S=None, base=None, ids=None):
        if S is not None:
            S = S if isinstance(S, sp.csr_array) and S.dtype == bool else sp.csr_array(S, dtype=bool)
            self.base, self.ids, self._S = S, None, S
        else:
            self.base, self.ids, self._S = base, ids, None

    @property
    def S(self):
        if self._S is None:
            self._S = _rows(self.base, self.ids)
        return self._S

    def row_ids(self, shape):
        """Row of ``base`` of every element, as an array of ``shape``."""
        return np.arange(self.base.shape[0]).reshape(shape) if self.ids is None else self.ids.reshape(shape)


def _identity(n):
    return sp.eye_array(n, dtype=bool, format="csr")


def _as_csr(v, n):
    if isinstance(v, _Deps):
        return sp.csr_array(v.S, dtype=bool)
    size = int(np.size(v))
    return sp.csr_array((size, n), dtype=bool)


def _size(aval):
    return int(np.prod(aval.shape, dtype=int))


def _walk(jaxpr, consts, args, n):
    env = {}

    def read(v):
        if type(v).__name__ == "Literal":
            return np.asarray(v.val)
        return env[v]

    for var, val in zip(jaxpr.constvars, consts):
        env[var] = np.asarray(val)
    for var, val in zip(jaxpr.invars, args):
        env[var] = val
    for eqn in jaxpr.eqns:
        vals = [read(v) for v in eqn.invars]
        outs = _apply(eqn, vals, n)
        for var, out in zip(eqn.outvars, outs):
            if type(var).__name__ != "DropVar":
                env[var] = out
    return [read(v) for v in jaxpr.outvars]


def _empty(aval, n):
    return _Deps(sp.csr_array((_size(aval), n), dtype=bool))


def _deps_of(v, size, n):
    """The index-set matrix of operand ``v`` (concrete values depend on nothing)."""
    if isinstance(v, _Deps):
        return v.S
    return sp.csr_array((size, n), dtype=bool)


def _apply(eqn, vals, n):
    name = eqn.primitive.name
    out_avals = [v.aval for v in eqn.outvars]
    if not any(isinstance(v, _Deps) for v in vals):
        # nothing here depends on x: evaluate concretely
        res = eqn.primitive.bind(*vals, **eqn.params)
        return [np.asarray(r) for r in (res if eqn.primitive.multiple_results else [res])]
    if name in ZERO or (name == "convert_element_type" and np.dtype(out_avals[0].dtype).kind not in "fc"):
        return [_empty(a, n) for a in out_avals]
    if name in ELEMENTWISE:
        operands = vals[1:] if name == "select_n" else vals
        return [_Deps(_union_elementwise(operands, [v.aval for v in (eqn.invars[1:] if name == "select_n" else eqn.invars)], out_avals[0], n))]
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
        return [o if isinstance(o, _Deps) else o for o in outs]
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


def _union_elementwise(vals, avals, out_aval, n):
    """Union of the operands' sets, each broadcast to the output shape by a row gather."""
    out_shape = tuple(out_aval.shape)
    total = None
    for v, aval in zip(vals, avals):
        if not isinstance(v, _Deps):
            continue
        shape = tuple(aval.shape)
        if v.ids is None and shape == out_shape:
            S = v.base
        elif v._S is not None and shape == out_shape:
            S = v._S
        else:
            S = _rows(v.base, np.broadcast_to(v.row_ids(shape), out_shape))
        if S.nnz:
            total = S if total is None else total + S
    return sp.csr_array((_size(out_aval), n), dtype=bool) if total is None else total


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
        union = _union_all([v for v, var in zip(vals, eqn.invars)
                            if isinstance(v, _Deps) and np.dtype(var.aval.dtype) == data_dtype], n)
        return [_Deps(sp.csr_array(np.ones((_size(a), 1), dtype=bool)) @ union) for a in out_avals]
    bases, offsets, id_args = [], {}, []
    for v in vals:
        if isinstance(v, _Deps) and id(v.base) not in offsets:
            offsets[id(v.base)] = sum(b.shape[0] for b in bases)
            bases.append(v.base)
    for v, var in zip(vals, eqn.invars):
        aval = var.aval
        if isinstance(v, _Deps):
            id_args.append((v.row_ids(aval.shape) + (offsets[id(v.base)] + 1)).astype(np.int32))
        elif np.dtype(aval.dtype) == data_dtype:
            id_args.append(np.zeros(aval.shape, dtype=np.int32))  # constant data: depends on nothing
        else:
            id_args.append(v)  # indices, start positions: concrete
    res = _numpy_structural(eqn.primitive.name, id_args, eqn.params)
    if res is None:  # no NumPy twin: run the JAX primitive itself on the ids
        res = eqn.primitive.bind(*id_args, **eqn.params)
        res = res if eqn.primitive.multiple_results else [res]
    base = sp.vstack(bases, format="csr") if len(bases) > 1 else bases[0]
    return [_Deps(base=base, ids=np.asarray(r).astype(np.int64) - 1) for r in res]


def _union_all(deps, n):
    """One row: every input any element of ``deps`` depends on."""
    total = sp.csr_array((1, n), dtype=bool)
    for d in deps:
        total = total + sp.csr_array(d.S.sum(axis=0, dtype=np.int32).reshape(1, n) > 0)
    return sp.csr_array(total, dtype=bool)


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
        return _Deps(base=v.base, ids=v.row_ids(aval.shape)[i].copy())
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
