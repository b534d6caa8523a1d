"""Composite functions: written once in NumPy terms, run unchanged by every engine.

Each implementation calls only NumPy functions and operators on its arguments (never
``.value``, ``np.asarray`` or Python control flow on values), so dual numbers, the sparsity
tracer and reverse mode all run it, each through its own handlers of the functions inside.
Masks such as ``np.isnan(a)`` have a zero derivative and are applied with ``np.where``.
"""

from __future__ import annotations

import numpy as np

from .._errors import MissingRuleError

__all__: list[str] = []


def no_out(out, name):
    if out is not None:
        raise MissingRuleError(
            f"{name}(..., out=...) is not supported while differentiating.\n"
            "Hint: assign the result instead (y = f(x) rather than f(x, out=y))."
        )


def _no_where(where, name):
    if where is not True:
        raise MissingRuleError(
            f"{name}(..., where=...) is not supported while differentiating.\n"
            "Hint: mask with np.where(mask, x, neutral) before the reduction."
        )


def _real_dtype(a):
    dtype = np.result_type(a)
    if dtype.kind not in "fc":
        return np.dtype(np.float64)
    return np.finfo(dtype).dtype


# -------------------------------------------------------------------- shapes
def make_atleast(nd):
    def atleast(*arys):
        out = []
        for a in arys:
            k = np.ndim(a)
            if k >= nd:
                out.append(a)
            elif nd == 3 and k == 2:
                out.append(np.reshape(a, np.shape(a) + (1,)))
            elif nd == 3 and k == 1:
                out.append(np.reshape(a, (1,) + np.shape(a) + (1,)))
            else:
                out.append(np.reshape(a, (1,) * (nd - k) + np.shape(a)))
        return out[0] if len(out) == 1 else tuple(out)

    atleast.__name__ = f"atleast_{nd}d"
    return atleast


def broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    return tuple(np.broadcast_to(a, shape) for a in args)


def append(arr, values, axis=None):
    if axis is None:
        return np.concatenate([np.ravel(arr), np.ravel(values)])
    return np.concatenate([arr, values], axis=axis)


def column_stack(tup):
    return np.concatenate([np.reshape(a, (-1, 1)) if np.ndim(a) < 2 else a for a in tup], axis=1)


def fliplr(m):
    return np.flip(m, axis=1)


def flipud(m):
    return np.flip(m, axis=0)


def diagflat(v, k=0):
    return np.diag(np.ravel(v), k)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    no_out(out, "np.trace")
    return np.sum(np.diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


# ------------------------------------------------------------- selections
def select(condlist, choicelist, default=0):
    result = default
    for cond, choice in zip(reversed(list(condlist)), reversed(list(choicelist))):
        result = np.where(cond, choice, result)
    return result


def clip(a, a_min=None, a_max=None, out=None, **kwargs):
    no_out(out, "np.clip")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    result = a
    if a_min is not None:
        result = np.maximum(result, a_min)
    if a_max is not None:
        result = np.minimum(result, a_max)
    return np.copy(result) if result is a else result


def ptp(a, axis=None, out=None, keepdims=False):
    no_out(out, "np.ptp")
    return np.max(a, axis=axis, keepdims=keepdims) - np.min(a, axis=axis, keepdims=keepdims)


# --------------------------------------------------------------- reductions
def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    no_out(out, "np.mean")
    _no_where(where, "np.mean")
    total = np.sum(a, axis=axis, dtype=dtype, keepdims=keepdims)
    return total / (np.size(a) // max(np.size(total), 1))


def _abs2(x):
    return np.real(x * np.conjugate(x)) if np.iscomplexobj(x) else x * x


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None, correction=None):
    no_out(out, "np.var")
    _no_where(where, "np.var")
    ddof = ddof if correction is None else correction
    centered = a - globals()["mean"](a, axis=axis, dtype=dtype, keepdims=True)
    total = np.sum(_abs2(centered), axis=axis, keepdims=keepdims)
    return total / (np.size(a) // max(np.size(total), 1) - ddof)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None, correction=None):
    return np.sqrt(var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, where=where,
                       correction=correction))


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        scale = np.size(a) // max(np.size(avg), 1)
        scale = np.full(np.shape(avg), scale, dtype=_real_dtype(a)) if returned else scale
    else:
        if np.ndim(weights) != np.ndim(a):  # 1-d weights along one axis
            if axis is None or np.ndim(weights) != 1:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            shape = [1] * np.ndim(a)
            shape[axis] = -1
            weights = np.reshape(weights, tuple(shape))
        scale = np.sum(np.broadcast_to(weights, np.broadcast_shapes(np.shape(a), np.shape(weights))),
                       axis=axis, keepdims=keepdims)
        avg = np.sum(a * weights, axis=axis, keepdims=keepdims) / scale
    return (avg, scale) if returned else avg


def cumprod(a, axis=None, dtype=None, out=None, **kwargs):
    no_out(out, "np.cumprod")
    if kwargs.get("include_initial"):
        raise MissingRuleError("np.cumulative_prod(include_initial=True) is not supported while differentiating.\n"
                               "Hint: concatenate a leading 1 to the result of np.cumprod.")
    if axis is None:
        a, axis = np.ravel(a), 0
    return np.multiply.accumulate(a, axis=axis, dtype=dtype)


def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    parts = [] if prepend is np._NoValue else [_expand_edge(prepend, a, axis)]
    parts.append(a)
    if append is not np._NoValue:
        parts.append(_expand_edge(append, a, axis))
    if len(parts) > 1:
        a = np.concatenate(parts, axis=axis)
    nd = np.ndim(a)
    axis = int(axis) % nd
    for _ in range(n):
        hi = tuple(slice(1, None) if d == axis else slice(None) for d in range(nd))
        lo = tuple(slice(None, -1) if d == axis else slice(None) for d in range(nd))
        a = a[hi] - a[lo]
    return a


def _expand_edge(edge, a, axis):
    if np.ndim(edge) == 0:
        shape = list(np.shape(a))
        shape[axis] = 1
        return np.broadcast_to(edge, tuple(shape))
    return edge


def trapezoid(y, x=None, dx=1.0, axis=-1):
    nd = np.ndim(y)
    axis = int(axis) % nd
    hi = tuple(slice(1, None) if d == axis else slice(None) for d in range(nd))
    lo = tuple(slice(None, -1) if d == axis else slice(None) for d in range(nd))
    if x is None:
        d = dx
    elif np.ndim(x) == 1:
        d = np.diff(x)
        shape = [1] * nd
        shape[axis] = np.shape(d)[0]
        d = np.reshape(d, tuple(shape))
    else:
        d = np.diff(x, axis=axis)
    return np.sum(d * (y[hi] + y[lo]) / 2.0, axis=axis)


# ------------------------------------------------------------ nan reductions
def _filled(a, fill):
    """``a`` with NaN entries replaced by ``fill`` (a constant there: zero derivative)."""
    return np.where(np.isnan(a), fill, a)


def _count(a, axis, keepdims):
    count = np.sum(np.where(np.isnan(a), 0.0, 1.0), axis=axis, keepdims=keepdims)
    return count.astype(_real_dtype(a))


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
    no_out(out, "np.nansum")
    return np.sum(_filled(a, 0.0), axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
    no_out(out, "np.nanprod")
    return np.prod(_filled(a, 1.0), axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    no_out(out, "np.nanmean")
    _no_where(where, "np.nanmean")
    return np.sum(_filled(a, 0.0), axis=axis, dtype=dtype, keepdims=keepdims) / _count(a, axis, keepdims)


def _nan_extreme(pick, fill):
    def extreme(a, axis=None, out=None, keepdims=False, initial=np._NoValue, where=True):
        no_out(out, f"np.nan{pick.__name__}")
        result = pick(_filled(a, fill), axis=axis, keepdims=keepdims, initial=initial, where=where)
        return np.where(_count(a, axis, keepdims) == 0, np.nan, result)  # all-NaN slices stay NaN

    extreme.__name__ = f"nan{pick.__name__}"
    return extreme


nanmax = _nan_extreme(np.max, -np.inf)
nanmin = _nan_extreme(np.min, np.inf)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None, correction=None):
    no_out(out, "np.nanvar")
    _no_where(where, "np.nanvar")
    ddof = ddof if correction is None else correction
    centered = _filled(a - nanmean(a, axis=axis, dtype=dtype, keepdims=True), 0.0)
    return np.sum(_abs2(centered), axis=axis, keepdims=keepdims) / (_count(a, axis, keepdims) - ddof)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None, correction=None):
    return np.sqrt(nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, where=where,
                          correction=correction))


def nancumsum(a, axis=None, dtype=None, out=None):
    no_out(out, "np.nancumsum")
    return np.cumsum(_filled(a, 0.0), axis=axis, dtype=dtype)


def nancumprod(a, axis=None, dtype=None, out=None):
    no_out(out, "np.nancumprod")
    return np.cumprod(_filled(a, 1.0), axis=axis, dtype=dtype)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    if np.iscomplexobj(x):
        kw = dict(nan=nan, posinf=posinf, neginf=neginf)
        return nan_to_num(np.real(x), **kw) + 1j * nan_to_num(np.imag(x), **kw)
    big = np.finfo(_real_dtype(x)).max
    x = np.where(np.isnan(x), nan, x)
    x = np.where(np.isposinf(x), big if posinf is None else posinf, x)
    return np.where(np.isneginf(x), -big if neginf is None else neginf, x)
