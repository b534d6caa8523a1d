"""Selections on the tracer: element moves, ``where``, new buffers, zero-derivative results.

Linear functions flagged ``select`` in the table (reshape, transpose, pad, concatenate, take,
...) move elements without combining them: NumPy itself runs on arrays of element ids, which
tells which input element each output element is.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ...._errors import MissingPrimalError, TracingError
from .._index_sets import _rows
from ._core import _NoValue, _Tracer, _primal, _union


def _structural(ctx, func, args, kwargs):
    """Run ``func`` on element ids (first argument: an array or a sequence of arrays)."""
    first = args[0]
    offset, blocks, values = 0, [], []

    def ids_of(a):
        nonlocal offset
        t = ctx.lift(a)
        ids = t.ids() + offset + 1  # 0 = depends on nothing (padding, constants filled in)
        offset += t.size
        blocks.append(t.S)
        values.append(t.value)
        return ids

    many = isinstance(first, (list, tuple))
    data = [ids_of(a) for a in first] if many else ids_of(first)
    if func is np.pad:
        kwargs = {**kwargs, "constant_values": 0} if kwargs.get("mode", args[2] if len(args) > 2 else "constant") == "constant" else kwargs
    out = func(data, *args[1:], **kwargs)
    S_all = sp.vstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]
    value = None
    if ctx.local and all(v is not None for v in values):
        value = func([np.asarray(v) for v in values] if many else np.asarray(values[0]), *args[1:], **kwargs)
    if isinstance(out, list):  # split
        return [_Tracer(_rows(S_all, np.asarray(o) - 1), np.shape(o), None, ctx) for o in out]
    if not many and isinstance(first, _Tracer) and isinstance(out, np.ndarray) and np.may_share_memory(out, data):
        return _Tracer.view_of(first, out - 1, ctx)  # NumPy returns a view here (reshape, transpose, ...)
    out = np.asarray(out)
    return _Tracer(_rows(S_all, out.astype(np.int64) - 1), out.shape, value, ctx)


def _where(ctx, cond, a=None, b=None):
    if a is None:
        raise MissingPrimalError("np.where(cond) with one argument needs values.\nHint: use TracerLocalSparsityDetector().")
    c = cond if isinstance(cond, _Tracer) else ctx.lift(cond)
    ta, tb = ctx.lift(a), ctx.lift(b)
    shape = np.broadcast_shapes(c.shape, ta.shape, tb.shape)
    ia, ib = np.broadcast_to(ta.ids(), shape), np.broadcast_to(tb.ids(), shape)
    if c.value is not None and (ctx.local or not isinstance(cond, _Tracer)):
        cv = np.broadcast_to(np.asarray(c.value, dtype=bool), shape)
        S = _union(_rows(ta.S, np.where(cv, ia, -1)), _rows(tb.S, np.where(cv, -1, ib)))
        value = None if ta.value is None or tb.value is None else np.where(cv, ta.value, tb.value)
        return _Tracer(S, shape, value, ctx)
    return _Tracer(_union(_rows(ta.S, ia), _rows(tb.S, ib)), shape, None, ctx)


def _like(func):
    """``np.zeros_like`` & co: a buffer that depends on nothing; the local detector carries
    its true value (ones, the fill value; NaN for ``empty_like``, so that no local flag
    reads an uninitialized 0 as a vanishing partial)."""

    def like(ctx, a, *args, **kwargs):
        t = ctx.lift(a)
        value = func(np.zeros(t.shape), *args, **kwargs)
        if func is np.empty_like:
            value[...] = np.nan if value.dtype.kind in "fc" else 0
        shape = np.shape(value)
        return _Tracer(sp.csr_array((math.prod(shape), ctx.n), dtype=bool), shape,
                       value if ctx.local else None, ctx)

    return like


_VALUE_SHAPED = {np.nonzero, np.flatnonzero, np.argwhere}


def _zero_like_result(func):
    """Handler for functions whose result has a zero derivative (argsort, argmax, round, any,
    ...). Local detector: the NumPy result itself (an integer/boolean array can then index or
    branch) or, for float results, a tracer with empty sets carrying the value. Global: a tracer
    with empty sets and NumPy's result shape; using it as an index or in ``if`` then raises
    ``MissingPrimalError``."""
    def handler(ctx, *args, **kwargs):
        if ctx.local:
            try:
                value = func(*_primal(args), **_primal(kwargs))
            except _NoValue:
                value = None
            if value is not None:
                if isinstance(value, tuple) or np.asarray(value).dtype.kind in "biu":
                    return value
                value = np.asarray(value)
                return _Tracer(sp.csr_array((value.size, ctx.n), dtype=bool), value.shape, value, ctx)
        if func in _VALUE_SHAPED:
            raise MissingPrimalError(
                f"np.{func.__name__} of a traced array has a value-dependent shape.\n"
                "Hint: use TracerLocalSparsityDetector() for a pattern at this x."
            )
        shape = np.shape(func(*_zeros_of(args), **_zeros_of(kwargs)))
        return _Tracer(sp.csr_array((math.prod(shape), ctx.n), dtype=bool), shape, None, ctx)

    return handler


def _zeros_of(obj):
    if isinstance(obj, _Tracer):
        return np.zeros(obj.shape)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_zeros_of(e) for e in obj)
    if isinstance(obj, dict):
        return {k: _zeros_of(v) for k, v in obj.items()}
    return obj


def _imag(ctx, a):
    """Empty sets when the value is known to be real; otherwise (complex intermediates such as
    FFT outputs, or no value in the global detector) the sets of ``a``."""
    t = ctx.lift(a)
    if t.value is not None and not np.iscomplexobj(t.value):
        return _Tracer(sp.csr_array((t.size, ctx.n), dtype=bool), t.shape, None, ctx)
    return _Tracer(t.S, t.shape, None, ctx)


def _copyto(ctx, dst, src, casting="same_kind", where=True):
    if not isinstance(dst, _Tracer):
        raise TracingError("np.copyto into a plain array cannot be traced.\n"
                           "Hint: create the destination with np.zeros_like(x).")
    dst[...] = src if where is True else np.where(where, src, dst)


def _unique(ctx, ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True,
            **kwargs):
    """Local: the elements at the first occurrences (their sets); global: a value-dependent
    shape, ``MissingPrimalError``."""
    t = ctx.lift(ar)
    if not ctx.local or t.value is None or axis is not None:
        raise MissingPrimalError(
            "np.unique of a traced array has a value-dependent shape.\n"
            "Hint: use TracerLocalSparsityDetector() for a pattern at this x."
        )
    flat = np.ravel(t)
    res = np.unique(np.ravel(t.value), return_index=True, return_inverse=return_inverse,
                    return_counts=return_counts, equal_nan=equal_nan)
    values = flat[res[1]]
    extras = ([res[1]] if return_index else []) + list(res[2:])
    return (values, *extras) if extras else values
