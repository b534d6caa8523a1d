"""Dual rules of their own for table entries that the generic kind handlers do not cover.

Linear functions without named axis parameters (``reshape``, ``pad``, ``concatenate``,
``sum``, ...) and the custom entries (``where``, ``sort``, ``max``/``min``, ``prod``,
``zeros_like``, ...). Every tangent is computed with NumPy functions that are linear in the
tangent (reshaping, indexing, sums, products with arrays of partials), so a symbolic tangent
type can intercept them. The generic handlers are in ``_registry.py``.
"""

from __future__ import annotations

import numpy as np

from .._errors import MissingRuleError
from ._core import Dual, _symbolic, _zero_like_tangent, full_tangent, lift, primal, split, zero_tangent
from ._registry import HANDLED, implements, shift_axis as _shift
from ._ufuncs import _reduce, shift_axes

__all__: list = []


# --------------------------------------------------------------------- shapes
@implements(np.reshape)
def _reshape(a, /, shape=None, order="C", *, newshape=None, copy=None):
    shape = newshape if shape is None else shape
    value = np.reshape(a.value, shape, order=order)
    return Dual(value, _batched_reshape(a.tangent, value.shape, order))


def _batched_reshape(t, shape, order="C"):
    if order == "C" or len(t.shape) <= 2 and len(shape) <= 1:
        return np.reshape(t, (t.shape[0],) + tuple(shape))
    # Fortran order: keep the tangent axis last while reshaping
    moved = np.moveaxis(t, 0, -1)
    return np.moveaxis(np.reshape(moved, tuple(shape) + (t.shape[0],), order=order), -1, 0)


@implements(np.ravel)
def _ravel(a, order="C"):
    return _reshape(a, (-1,), order=order)


@implements(np.broadcast_to)
def _broadcast_to(array, shape, subok=False):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    t = array.tangent
    return Dual(np.broadcast_to(array.value, shape), np.broadcast_to(lift(t, len(shape)), (t.shape[0],) + shape))


@implements(np.tile)
def _tile(A, reps):
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    ndim = max(A.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    return Dual(np.tile(A.value, reps), np.tile(lift(A.tangent, ndim), (1,) + reps))


_LINEAR_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


@implements(np.pad)
def _pad(array, pad_width, mode="constant", **kwargs):
    if mode not in _LINEAR_PAD_MODES:
        raise MissingRuleError(f"np.pad(mode={mode!r}) is not supported by anydiff's duals.\nHint: use one of {_LINEAR_PAD_MODES}.")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (array.ndim, 2))
    value = np.pad(array.value, pad_width, mode=mode, **kwargs)
    tkw = {k: v for k, v in kwargs.items() if k == "reflect_type"}
    tangent = np.pad(array.tangent, np.concatenate([[[0, 0]], widths]), mode=mode, **tkw)
    return Dual(value, tangent)


# ---------------------------------------------------------- joining and choosing
def _parts(arrays):
    """Values and tangents (zeros for constants) of a list of operands at one level."""
    _, values, tangents = split(arrays)
    batch = next(t.shape[0] for t in tangents if t is not None)
    dtype = np.result_type(*(primal(v) for v in values))
    tangents = [zero_tangent(batch, np.shape(v), dtype) if t is None else t for v, t in zip(values, tangents)]
    return values, tangents


@implements(np.concatenate)
def _concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    _no_out(out, "concatenate")
    arrays = list(arrays)
    values, tangents = _parts(arrays)
    if axis is None:
        values = [np.ravel(v) for v in values]
        tangents = [np.reshape(t, (t.shape[0], -1)) for t in tangents]
        axis = 0
    return Dual(np.concatenate(values, axis=axis, dtype=dtype, casting=casting),
                np.concatenate(tangents, axis=_shift(axis), dtype=dtype, casting=casting))


@implements(np.stack)
def _stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    _no_out(out, "stack")
    values, tangents = _parts(list(arrays))
    return Dual(np.stack(values, axis=axis, dtype=dtype, casting=casting),
                np.stack(tangents, axis=_shift(axis), dtype=dtype, casting=casting))


@implements(np.where)
def _where(condition, *xy):
    condition = primal(condition)
    if not xy:
        return np.nonzero(condition)
    _, values, tangents = split(xy)
    value = np.where(condition, *values)
    batch = next(t.shape[0] for t in tangents if t is not None)
    ts = [0.0 if t is None else lift(t, np.ndim(value)) for t in tangents]
    tangent = np.where(condition, *ts)
    if np.ndim(tangent) == 0:  # pragma: no cover - a tangent is always present
        tangent = zero_tangent(batch, np.shape(value), value.dtype)
    return Dual(value, full_tangent(tangent, np.shape(value)))


@implements(np.take_along_axis)
def _take_along_axis(arr, indices, axis=-1):
    indices = primal(indices)
    if axis is None:
        return np.take_along_axis(np.ravel(arr), np.ravel(indices), axis=0)
    return Dual(np.take_along_axis(arr.value, indices, axis=axis),
                np.take_along_axis(arr.tangent, indices[None], axis=_shift(axis)))


@implements(np.sort)
def _sort(a, axis=-1, kind=None, order=None, *, stable=None):
    if axis is None:
        a, axis = np.ravel(a), 0
    order_ = np.argsort(primal(a), axis=axis, kind=kind, stable=stable)
    return np.take_along_axis(a, order_, axis=axis)


@implements(np.copy)
def _copy(a, order="K", subok=False):
    return Dual(np.copy(a.value), np.copy(a.tangent))


@implements(np.real)
def _real(val):
    return Dual(np.real(val.value), np.real(val.tangent))


@implements(np.imag)
def _imag(val):
    return Dual(np.imag(val.value), np.imag(val.tangent))


# -------------------------------------------------------- new arrays shaped like x
def _like(kind):
    """``np.zeros_like`` & co: a dual with zero tangents, so that f can write duals into it."""

    def like(a, *args, dtype=None, order="K", subok=True, shape=None, **kwargs):
        fill_value = None
        if kind == "full":
            fill_value, *args = args
        if args:
            dtype = args[0]
        shape = np.shape(a) if shape is None else tuple(np.atleast_1d(shape).tolist())
        return _new_like(a, kind, fill_value, dtype, shape)

    return like


def _new_like(a, kind, fill_value, dtype, shape):
    if isinstance(a, Dual):
        value = _new_like(a.value, kind, fill_value, dtype, shape)
        tshape = (a.tangent.shape[0],) + shape
        if isinstance(a.value, Dual) and not isinstance(a.tangent, Dual) and not _symbolic(a.tangent):
            # a nested dual's buffer gets its tangents' own tangents now: promoting them at the
            # first write of second-order data would cut views of the buffer off from it
            tdtype = a.tangent.dtype if dtype is None else dtype
            inner = _zero_like_tangent(a.value.tangent, tshape, tdtype)
            return Dual(value, Dual(np.zeros(tshape, dtype=tdtype), inner))
        tangent = _new_like(a.tangent, "zeros", None, dtype, tshape)
        return Dual(value, tangent)
    if getattr(a, "_anydiff_symbolic", False):  # reverse mode's symbolic tangent: a symbolic zero
        return np.zeros_like(a, shape=shape, dtype=dtype)
    dtype = a.dtype if dtype is None else dtype
    if kind == "full":
        return np.full(shape, fill_value, dtype=dtype)
    return (np.ones if kind == "ones" else np.zeros)(shape, dtype=dtype)


HANDLED[np.zeros_like] = _like("zeros")
HANDLED[np.empty_like] = _like("empty")
HANDLED[np.ones_like] = _like("ones")
HANDLED[np.full_like] = _like("full")


# ------------------------------------------------------------------- reductions
@implements(np.sum)
def _sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
    _no_out(out, "sum")
    return _reduce(np.add, a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)


@implements(np.prod)
def _prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
    _no_out(out, "prod")
    return _reduce(np.multiply, a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)


def _tangent_dtype(a):
    t = primal(a.tangent)
    return t.dtype if t.dtype.kind in "fc" else np.float64


def _extreme(pick):
    def extreme(a, axis=None, out=None, keepdims=False, initial=np._NoValue, where=True):
        _no_out(out, pick.__name__)
        if where is not True:
            raise MissingRuleError(
                f"np.{pick.__name__}(where=...) is not supported by anydiff's duals.\n"
                "Hint: mask first, e.g. np.max(np.where(mask, a, -np.inf)), then reduce without where=."
            )
        value = pick(a.value, axis=axis, keepdims=True)
        # ties share the derivative equally (the convention of JAX)
        mask = primal(a.value) == primal(value)
        weights = (mask / np.sum(mask, axis=axis, keepdims=True)).astype(_tangent_dtype(a))
        axes = tuple(range(a.ndim)) if axis is None else axis
        axes = axes if isinstance(axes, tuple) else (axes,)
        axes = tuple(int(d) % a.ndim for d in axes)
        tangent = np.sum(a.tangent * weights, axis=shift_axes(axes), keepdims=keepdims)
        if not keepdims:
            value = np.squeeze(value, axis=axes)
        result = Dual(value, tangent)
        if initial is not np._NoValue:
            result = (np.maximum if pick is np.max else np.minimum)(result, initial)
        return result

    return extreme


HANDLED[np.max] = HANDLED[np.amax] = _extreme(np.max)
HANDLED[np.min] = HANDLED[np.amin] = _extreme(np.min)


@implements(np.copyto)
def _copyto(dst, src, casting="same_kind", where=True):
    if where is not True:
        src = np.where(where, src, dst)
    if not isinstance(dst, Dual):
        from .._errors import TracingError

        raise TracingError(
            "f copies a value carrying derivatives into a plain ndarray (np.copyto, np.full(n, x[0]), ...).\n"
            "Hint: allocate the array with np.zeros_like(x) / np.full_like(x, value) and assign into it."
        )
    dst[...] = src


def _no_out(out, name):
    if out is not None:
        raise MissingRuleError(
            f"np.{name}(..., out=...) is not supported by anydiff's duals.\nHint: assign the result instead."
        )





@implements(np.unique)
def _unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True,
            **kwargs):
    """The unique values are elements of ``ar``: taken (with their tangents) at the first
    occurrence NumPy reports; the index, inverse and count outputs are plain integers."""
    if axis is not None:
        raise MissingRuleError("np.unique(axis=...) is not supported by anydiff's duals.\n"
                               "Hint: call np.unique on the flattened array, or on integer labels.")
    flat = np.ravel(ar)
    res = np.unique(primal(flat), return_index=True, return_inverse=return_inverse,
                    return_counts=return_counts, equal_nan=equal_nan)
    values = flat[res[1]]
    extras = ([res[1]] if return_index else []) + list(res[2:])
    return (values, *extras) if extras else values
