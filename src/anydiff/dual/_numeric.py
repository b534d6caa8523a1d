"""Numerical routines on duals: convolutions, ``interp``, order statistics
(``median``/``percentile``/``quantile`` and their ``nan`` versions), ``diag``.

Most are written as compositions of supported operations (indexing at positions computed
from the value, elementwise arithmetic, ``where``, ``sum``), so nested duals (second order)
work without extra code. Convolutions are bilinear: each operand's tangents are multiplied by
the Toeplitz matrix of the other operand, one matrix product for all ``B`` tangents.
"""

from __future__ import annotations

import numpy as np

from .._errors import MissingRuleError
from ._core import Dual, full_tangent, primal, split
from ._registry import HANDLED, implements

__all__: list = []


def _real_dtype(a):
    return np.asarray(primal(a)).real.dtype if np.asarray(primal(a)).dtype.kind in "fc" else np.dtype(np.float64)


# ------------------------------------------------------------------ convolutions
def _toeplitz(v, n):
    """``T`` of shape ``(len(v) + n - 1, n)`` with ``T[k, i] = v[k - i]`` (zero outside)."""
    m = np.shape(v)[0]
    K = np.arange(m + n - 1)[:, None] - np.arange(n)[None, :]
    idx = np.where((K >= 0) & (K < m), K, m)  # index m: the appended zero
    v_ext = np.concatenate([v, np.zeros_like(v, shape=(1,))])
    return v_ext[idx]


def _convolve_full(a, v):
    _, (av, vv), (ta, tv) = split((a, v))
    value = np.convolve(av, vv, mode="full")
    terms = []
    if ta is not None:  # (B, na) @ T(v).T: every tangent of a in one product
        terms.append(np.matmul(ta, np.transpose(_toeplitz(vv, np.shape(av)[0]))))
    if tv is not None:
        terms.append(np.matmul(tv, np.transpose(_toeplitz(av, np.shape(vv)[0]))))
    tangent = terms[0] if len(terms) == 1 else terms[0] + terms[1]
    return Dual(value, full_tangent(tangent, np.shape(value)))


def _mode_slice(na, nv, mode):
    L = na + nv - 1
    if mode == "full":
        return slice(0, L)
    if mode == "same":
        lo = (min(na, nv) - 1) // 2
        return slice(lo, lo + max(na, nv))
    if mode == "valid":
        return slice(min(na, nv) - 1, max(na, nv))
    raise ValueError(f"mode must be one of 'full', 'same' or 'valid', got {mode!r}")


@implements(np.convolve)
def _convolve(a, v, mode="full"):
    na, nv = np.shape(a), np.shape(v)
    if len(na) != 1 or len(nv) != 1:
        raise ValueError("np.convolve takes two 1-D arrays")
    if na[0] == 0 or nv[0] == 0:
        raise ValueError("np.convolve: an input is empty")
    full = _convolve_full(a, v)
    return full[_mode_slice(na[0], nv[0], mode)]


@implements(np.correlate)
def _correlate(a, v, mode="valid"):
    # c[k] = sum_n a[n + k] conj(v[n]) = convolve(a, conj(v[::-1])) in every mode
    if np.ndim(primal(v)) != 1:
        raise ValueError("np.correlate takes two 1-D arrays")
    return _convolve(a, np.conjugate(v[::-1]), mode)


# ----------------------------------------------------------------------- interp
@implements(np.interp)
def _interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise linear: ``fp[i-1] + (x - xp[i-1]) / (xp[i] - xp[i-1]) * (fp[i] - fp[i-1])``
    with the segment ``i`` found from the values; differentiable in ``x``, ``fp`` and ``xp``."""
    xp = xp if isinstance(xp, Dual) else np.asarray(xp)
    fp = fp if isinstance(fp, Dual) else np.asarray(fp)
    if np.ndim(primal(xp)) != 1 or np.ndim(primal(fp)) != 1:
        raise ValueError("np.interp: xp and fp must be 1-D sequences")
    if period is not None:
        if period == 0:
            raise ValueError("period must be a non-zero value")
        period = abs(period)
        left = right = None
        x = np.remainder(x, period)
        xp = np.remainder(xp, period)
        order = np.argsort(primal(xp))
        xp, fp = xp[order], fp[order]
        xp = np.concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = np.concatenate([fp[-1:], fp, fp[:1]])
    xv, xpv = np.asarray(primal(x)), np.asarray(primal(xp))
    n = xpv.shape[0]
    if n == 1:
        f = np.zeros_like(x, dtype=np.result_type(primal(fp), np.float64)) + fp[0]
    else:
        i = np.clip(np.searchsorted(xpv, xv, side="right"), 1, n - 1)
        f0, x0 = fp[i - 1], xp[i - 1]
        dx = xp[i] - x0
        flat = np.asarray(primal(dx)) == 0  # repeated sample point: the left value
        slope = (fp[i] - f0) / np.where(flat, 1.0, dx)
        f = np.where(flat, f0, f0 + (x - x0) * slope)
    f = np.where(xv < xpv[0], fp[0] if left is None else left, f)
    f = np.where(xv > xpv[-1], fp[-1] if right is None else right, f)
    return f


# ----------------------------------------------------------- order statistics
_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _to_last(a, axis):
    """``a`` with the reduced axes merged into one last axis; also the kept-dims shape."""
    nd = np.ndim(primal(a))
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        axes = tuple(sorted(int(d) % nd for d in axes))
    kept = [d for d in range(nd) if d not in axes]
    shape = np.shape(a)
    moved = np.transpose(a, kept + list(axes))
    flat = np.reshape(moved, tuple(shape[d] for d in kept) + (-1,))
    keep_shape = tuple(1 if d in axes else s for d, s in enumerate(shape))
    return flat, keep_shape


def _quantile(a, q, axis, method, keepdims, nan, name, out_dtype):
    if isinstance(q, Dual):
        raise MissingRuleError(
            f"np.{name} with a differentiated q is not supported by anydiff's duals (q is held constant).\n"
            "Hint: use AutoFiniteDiff() for derivatives with respect to q."
        )
    if method not in _METHODS:
        raise MissingRuleError(
            f"np.{name}(method={method!r}) is not supported by anydiff's duals.\nHint: use one of {_METHODS}."
        )
    q = np.asarray(q)
    flat, keep_shape = _to_last(a, axis)
    fv = np.asarray(primal(flat))
    n = fv.shape[-1]
    if n == 0:
        raise ValueError(f"np.{name} of an empty array")
    isnan = np.isnan(fv) if fv.dtype.kind in "fc" else np.zeros(fv.shape, bool)
    kept_ndim = fv.ndim - 1
    if nan:
        count = np.sum(~isnan, axis=-1)
    else:
        count = np.full(fv.shape[:-1], n)
    s = np.sort(flat, axis=-1)  # NaNs sort last
    vi = np.reshape(q, q.shape + (1,) * kept_ndim) * (count - 1)  # shape q.shape + kept
    if method == "nearest":
        lo = np.around(vi)
    elif method == "higher":
        lo = np.ceil(vi)
    else:
        lo = np.floor(vi)
    top = np.maximum(count - 1, 0)
    lo_i = np.clip(lo, 0, top).astype(np.intp)
    frac = (vi - lo) if method == "linear" else np.where(vi % 1 == 0, 0.0, 0.5) if method == "midpoint" else 0.0 * vi
    hi_i = np.minimum(lo_i + 1, top)
    frac = np.where(hi_i == lo_i, 0.0, frac).astype(_real_dtype(a))
    s_b = np.reshape(s, (1,) * q.ndim + np.shape(s))
    x_lo = np.take_along_axis(s_b, lo_i[..., None], axis=-1)[..., 0]
    x_hi = np.take_along_axis(s_b, hi_i[..., None], axis=-1)[..., 0]
    result = x_lo + frac * (x_hi - x_lo)
    if not nan and isnan.any():  # NaN in a line: NaN, as NumPy
        result = np.where(isnan.any(axis=-1), np.nan, result)
    if keepdims:
        result = np.reshape(result, q.shape + keep_shape)
    if result.dtype != out_dtype:
        result = result.astype(out_dtype)
    return result


def _out_dtype(func, a, *args, **kwargs):
    """The result dtype NumPy gives (from a two-element dummy of ``a``'s dtype)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(func(np.ones(2, dtype=np.asarray(primal(a)).dtype), *args, **kwargs)).dtype


def _check_out(out, weights, name, overwrite_input=False):
    if out is not None:
        raise MissingRuleError(f"np.{name}(..., out=...) is not supported by anydiff's duals.\nHint: assign the result instead.")
    if weights is not None:
        raise MissingRuleError(
            f"np.{name}(..., weights=...) is not supported by anydiff's duals.\n"
            "Hint: compute the weighted statistic from np.sort and np.cumsum, or wrap it with ad.differentiate_with."
        )


def _make_quantile(func, scale, nan):
    name = func.__name__

    def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                 weights=None, interpolation=None):
        _check_out(out, weights, name)
        method = interpolation if interpolation is not None else method
        if isinstance(q, Dual):
            return _quantile(a, q, axis, method, keepdims, nan, name, None)
        qs = primal(q)
        qs = np.true_divide(qs, 100) if scale else qs
        return _quantile(a, qs, axis, method, keepdims, nan, name, _out_dtype(func, a, primal(q), method=method))

    HANDLED[func] = quantile


_make_quantile(np.quantile, False, False)
_make_quantile(np.percentile, True, False)
_make_quantile(np.nanquantile, False, True)
_make_quantile(np.nanpercentile, True, True)


def _make_median(func, nan):
    def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
        _check_out(out, None, func.__name__)
        return _quantile(a, 0.5, axis, "linear", keepdims, nan, func.__name__, _out_dtype(func, a))

    HANDLED[func] = median


_make_median(np.median, False)
_make_median(np.nanmedian, True)


# ---------------------------------------------------------------- small extras
@implements(np.diag)
def _diag(v, k=0):
    nd = np.ndim(primal(v))
    if nd == 2:
        return np.copy(np.diagonal(v, k))
    if nd != 1:
        raise ValueError("Input must be 1- or 2-d.")
    m = np.shape(v)[0]
    n = m + abs(k)
    out = np.zeros_like(v, shape=(n, n))
    rows = np.arange(m) + max(-k, 0)
    out[rows, rows + k] = v
    return out


