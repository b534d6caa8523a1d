"""Reductions on the tracer: sums over axes, extrema, cumulative sums and products, sorting,
order statistics, ``interp``."""

from __future__ import annotations

import inspect
import math

import numpy as np
import scipy.sparse as sp

from ...._errors import MissingRuleError
from .._index_sets import _product, _rows
from ._core import _Tracer, _union


def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim for a in axes)


def _reduce(ctx, a, axis=None, keepdims=False, ufunc=None, nonlinear=False, **_):
    t = ctx.lift(a)
    if t.ndim == 0:  # nothing to reduce
        if nonlinear:
            ctx.second(t.S)
        return _Tracer(t.S, t.shape, None, ctx)
    axes = _norm_axes(axis, t.ndim)
    keep = [d for d in range(t.ndim) if d not in axes]
    out_shape = tuple(t.shape[d] for d in keep)
    coords = np.indices(t.shape).reshape(t.ndim, -1)
    out_idx = np.ravel_multi_index(tuple(coords[d] for d in keep), out_shape) if keep else np.zeros(t.size, np.int64)
    A = sp.csr_array((np.ones(t.size, dtype=np.int32), (out_idx, np.arange(t.size))), shape=(math.prod(out_shape), t.size))
    S = _product(A, t.S)
    if nonlinear or ufunc is np.multiply:
        ctx.second(S)  # prod, var, norm: every pair inside one reduction interacts
    shape = tuple(1 if d in axes else s for d, s in enumerate(t.shape)) if keepdims else out_shape
    return _Tracer(S, shape, None, ctx)


def _extremum(kind):
    def reduce_extremum(ctx, a, axis=None, out=None, keepdims=False, **_):
        t = ctx.lift(a)
        if not (ctx.local and t.value is not None):
            return _reduce(ctx, t, axis, keepdims)
        axes = _norm_axes(axis, t.ndim)
        v = np.asarray(t.value)
        best = (np.max if kind == "max" else np.min)(v, axis=axes, keepdims=True)
        chosen = np.where(v == best, t.ids(), -1)  # the arg-extrema at x (all of them on ties)
        masked = _Tracer(_rows(t.S, chosen), t.shape, v, ctx)
        res = _reduce(ctx, masked, axis, keepdims)
        res.value = (np.max if kind == "max" else np.min)(v, axis=axes, keepdims=keepdims)
        return res

    return reduce_extremum


def _cumulative(ctx, a, axis=None, nonlinear=False, **_):
    t = ctx.lift(a)
    if axis is None:
        t, axis = np.ravel(t), 0
    axis %= t.ndim
    L = t.shape[axis]
    idx = np.moveaxis(t.ids(), axis, -1).reshape(-1, L)
    src, dst = np.nonzero(np.triu(np.ones((L, L), dtype=bool)))
    A = sp.csr_array((np.ones(idx.shape[0] * src.size, dtype=np.int32), (idx[:, dst].ravel(), idx[:, src].ravel())),
                     shape=(t.size, t.size))
    S = _product(A, t.S)
    if nonlinear:
        ctx.second(S)
    return _Tracer(S, t.shape, None, ctx)


def _along_axis(ctx, a, axis):
    """Every element depends on every element of its line along ``axis`` (``None``: all)."""
    t = ctx.lift(a)
    if axis is None:
        t = np.ravel(t)
        axis = 0
    red = _reduce(ctx, t, axis, keepdims=True)
    return np.broadcast_to(red, t.shape)


def _sort(ctx, a, axis=-1, kind=None, order=None, **_):
    """Global: each sorted element may be any element of its line; local: the permutation at x."""
    t = ctx.lift(a)
    if ctx.local and t.value is not None:
        v = np.asarray(t.value)
        if axis is None:
            t, v, axis = np.ravel(t), v.ravel(), 0
        perm = np.argsort(v, axis=axis, kind="stable")
        ids = np.take_along_axis(t.ids(), perm, axis=axis)
        return _Tracer(_rows(t.S, ids), ids.shape, np.take_along_axis(v, perm, axis=axis), ctx)
    return _along_axis(ctx, t, axis)


def _order_statistic(func):
    """median / percentile / quantile: any element of the reduced lines (global and local),
    one result per entry of ``q`` (leading axes, as NumPy)."""
    sig = inspect.signature(func)

    def order_statistic(ctx, *args, **kwargs):
        bound = sig.bind(*args, **kwargs).arguments
        res = _reduce(ctx, bound["a"], bound.get("axis"), bound.get("keepdims", False))
        q_shape = np.shape(bound.get("q", 0.0))
        return np.broadcast_to(res, q_shape + res.shape) if q_shape else res

    return order_statistic


def _interp(ctx, x, xp, fp, left=None, right=None, period=None):
    tx, txp, tfp = ctx.lift(x), ctx.lift(xp), ctx.lift(fp)
    if txp.S.nnz:
        raise MissingRuleError(
            "np.interp with traced sample points xp is not traced.\n"
            "Hint: pass xp as a constant (ad.Constant) or use a local detector (ad.DenseSparsityDetector)."
        )
    parts = [tx.S]  # slope times dx
    if tfp.S.nnz:
        if ctx.local and tx.value is not None:
            xv, xpv = np.asarray(tx.value).ravel(), np.asarray(txp.value)
            hi = np.clip(np.searchsorted(xpv, xv, side="right"), 1, xpv.size - 1)
            both = np.stack([hi - 1, hi], axis=1)  # the bracketing samples at x
            A = sp.csr_array((np.ones(both.size, dtype=np.int32), (np.repeat(np.arange(xv.size), 2), both.ravel())),
                             shape=(xv.size, tfp.size))
        else:
            A = sp.csr_array(np.ones((tx.size, tfp.size), dtype=np.int32))
        fp_sets = _product(A, tfp.S)
        parts.append(fp_sets)
        ctx.second(tx.S, fp_sets)  # slope depends on fp: mixed with x
    return _Tracer(_union(*parts), tx.shape, None, ctx)