"""Walking a jaxpr: one rule per primitive class (see the package docstring)."""

from __future__ import annotations

import numpy as np

from ...._errors import MissingRuleError
from ._contract import _conv, _dot_general
from ._control import _scan, _while
from ._deps import _add_term, _Deps, _deps_of, _empty, _lazy, _size
from ._linalg import DENSE, dense, fft, top_k
from ._reduce import _cumulative, _reduce, _sort
from ._shape import _numpy_structural, _scatter_add, _structural

__all__: list = []

ZERO = {
    "eq", "ne", "lt", "le", "gt", "ge", "eq_to", "lt_to", "le_to", "sign", "floor", "ceil", "round", "is_finite", "and", "or",
    "not", "xor", "stop_gradient", "population_count", "shift_left", "shift_right_logical",
    "shift_right_arithmetic", "argmax", "argmin", "iota", "reduce_and", "reduce_or", "reduce_xor",
    "nextafter", "platform_index", "random_bits", "random_seed", "random_wrap", "random_unwrap", "threefry2x32",
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
    "dynamic_update_slice", "concatenate", "pad", "rev", "gather", "split", "stack", "scatter", "unstack", "tile",
}


REDUCE = {"reduce_sum", "reduce_max", "reduce_min", "reduce_prod"}


CUMULATIVE = {"cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"}


CALLS = {"pjit", "jit", "closed_call", "core_call", "remat", "checkpoint", "custom_jvp_call",
         "custom_vjp_call", "custom_vjp_call_jaxpr", "custom_lin"}


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
    if name in DENSE:
        return dense(eqn, vals, n)
    if name == "fft":
        return fft(eqn, vals, n)
    if name == "top_k":
        return top_k(eqn, vals, n)
    raise MissingRuleError(
        f"JaxSparsityDetector has no rule for the JAX primitive {name!r}.\n"
        "Hint: use DenseSparsityDetector(AutoJax()) for this function (pattern at x only), wrap "
        "the step in ad.differentiate_with(func, backend), or use TracerSparsityDetector() on a "
        "NumPy version of f."
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
