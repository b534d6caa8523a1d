"""NumPy functions on tangents (``__array_function__`` of :class:`Lin`) and their transposes.

Shape functions, sums, ``cumsum``, joins, ``where``, contractions with a constant operand,
``np.fft`` and ``np.linalg.solve`` with a constant matrix each get a transpose. Functions that
only pick, repeat or drop entries (``flip``, ``roll``, ``take``, ``pad``, ``tile``,
``diagonal``, ``tril``, ...) share one transpose: the function is applied once to the
(1-based) positions of its input, and the cotangent is scattered back by ``bincount``.
"""

from __future__ import annotations

import numpy as np

from ..dual._core import Dual
from ._ops import FUNCTIONS, _check_zero, _dummy, _fit, _refuse
from ._tape import Lin, same_tape

__all__ = ["cumsum", "reshape_record", "sum_"]


def _register(*funcs):
    def deco(handler):
        for func in funcs:
            FUNCTIONS[func] = handler
        return handler

    return deco


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(sorted(int(a) % ndim for a in axes))


# ---------------------------------------------------------------------------- shapes
def _t_reshape(ct, data):
    shape, order, batched = data
    return (np.reshape(ct, (ct.shape[0],) + shape[1:] if batched else shape, order=order),)


def reshape_record(tape, node, shape, out_shape, order="C"):
    batched = order == "C" and shape[:1] == (1,) and out_shape[:1] == (1,)
    if not batched:
        tape.batchable = False
    return tape.add(_t_reshape, (node,), (shape, order, batched))


@_register(np.reshape)
def reshape(a, /, shape=None, order="C", *, newshape=None, copy=None):
    shape = newshape if shape is None else shape
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1]))
        shape = tuple(a.size // max(known, 1) if s == -1 else s for s in shape)
    out = a.derived(reshape_record(a.tape, a.node, a.shape, shape, order), shape)
    if order == "C":  # a view: writes go through to a (as for a reshaped ndarray)
        out._base, out._view, out._bver = a, "reshape", a._version
    return out


@_register(np.ravel)
def ravel(a, order="C"):
    return reshape(a, (-1,), order=order)


@_register(np.expand_dims)
def expand_dims(a, axis):
    return reshape(a, np.expand_dims(_dummy(a.shape), axis).shape)


@_register(np.squeeze)
def squeeze(a, axis=None):
    return reshape(a, np.squeeze(_dummy(a.shape), axis).shape)


def _t_transpose(ct, inverse):
    return (np.transpose(ct, inverse),)


@_register(np.transpose, np.permute_dims)
def transpose(a, axes=None):
    axes = tuple(range(a.ndim))[::-1] if axes is None else tuple(int(d) % a.ndim for d in axes)
    inverse = tuple(int(i) for i in np.argsort(axes))
    shape = tuple(a.shape[d] for d in axes)
    return a.derived(a.tape.add(_t_transpose, (a.node,), inverse), shape)


@_register(np.moveaxis)
def moveaxis(a, source, destination):
    return transpose(a, _permutation(a.ndim, source, destination))


def _permutation(ndim, source, destination):
    src = [int(s) % ndim for s in np.atleast_1d(source)]
    dst = [int(d) % ndim for d in np.atleast_1d(destination)]
    order = [d for d in range(ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return tuple(order)


@_register(np.swapaxes)
def swapaxes(a, axis1, axis2):
    axes = list(range(a.ndim))
    i, j = int(axis1) % a.ndim, int(axis2) % a.ndim
    axes[i], axes[j] = axes[j], axes[i]
    return transpose(a, axes)


def _t_unbroadcast(ct, data):
    shape, dtype = data
    return (_fit(ct, shape, dtype),)


@_register(np.broadcast_to)
def broadcast_to(array, shape, subok=False):
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if shape == array.shape:
        return array.copy()
    if len(shape) != array.ndim or shape[0] != array.shape[0]:
        array.tape.batchable = False
    return array.derived(array.tape.add(_t_unbroadcast, (array.node,), (array.shape, array.dtype)), shape)


@_register(np.copy)
def copy(a, order="K", subok=False):
    return a.copy()


# ---------------------------------------------------------------------- sums and scans
def _t_sum(ct, data):
    axes, shape, keepdims = data
    target = (ct.shape[0],) + shape[1:] if 0 not in axes else shape
    if type(ct) is np.ndarray and ct.flags.c_contiguous and ct.size:
        return (_spread(ct, axes, target),)
    if not keepdims:
        ct = np.expand_dims(ct, axes)
    return (np.broadcast_to(ct, target),)


def _spread(ct, axes, target):
    """``np.broadcast_to`` of the C-contiguous ``ct`` (``axes`` summed out, or kept as size 1)
    to ``target``: a read-only view with stride 0 along ``axes``, made without NumPy's
    Python-level argument handling (a sum's transpose is on every gradient's path)."""
    strides, step = [0] * len(target), ct.itemsize
    for d in range(len(target) - 1, -1, -1):
        if d not in axes:
            strides[d] = step
            step *= target[d]
    view = np.ndarray(target, ct.dtype, ct, 0, tuple(strides))
    view.flags.writeable = False
    return view


@_register(np.sum)
def sum_(a, axis=None, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
    if out is not None or where is not True:
        _refuse("np.sum(out=/where=) of tangents")
    if initial is not np._NoValue and initial is not None:
        _check_zero(initial, "a sum")
    axes = _axes(axis, a.ndim)
    if 0 in axes:
        a.tape.batchable = False
    shape = tuple(1 if d in axes else s for d, s in enumerate(a.shape)) if keepdims else tuple(
        s for d, s in enumerate(a.shape) if d not in axes)
    result = a.derived(a.tape.add(_t_sum, (a.node,), (axes, a.shape, keepdims)), shape)
    return result if dtype is None else result.astype(dtype)


def _t_cumsum(ct, axis):
    return (np.flip(np.cumsum(np.flip(ct, axis), axis=axis), axis),)


@_register(np.cumsum)
def cumsum(a, axis=None, dtype=None, out=None):
    if out is not None:
        _refuse("np.cumsum(out=) of tangents")
    if axis is None:
        return cumsum(reshape(a, (-1,)), 0, dtype)
    axis = int(axis) % a.ndim
    if axis == 0:
        a.tape.batchable = False
    result = a.derived(a.tape.add(_t_cumsum, (a.node,), axis), a.shape)
    return result if dtype is None else result.astype(dtype)


if hasattr(np, "cumulative_sum"):  # NumPy >= 2.1

    @_register(np.cumulative_sum)
    def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        if axis is None:
            if x.ndim != 2:  # the batch axis and one array axis
                _refuse("np.cumulative_sum(axis=None) of a multi-dimensional tangent")
            axis = 1
        result = cumsum(x, axis, dtype, out)
        if include_initial:  # a zero slice in front: the pad's transpose drops it
            axis = int(axis) % result.ndim
            result = np.pad(result, [(1, 0) if d == axis else (0, 0) for d in range(result.ndim)])
        return result


# ---------------------------------------------------------------------------- joins
def _t_concatenate(ct, data):
    axis, bounds, fits = data
    parts = np.split(ct, bounds, axis=axis)
    return tuple(None if f is None else _fit(p, *f) for p, f in zip(parts, fits))


def _operands(arrays, what):
    lins = [a for a in arrays if type(a) is Lin]
    for a in arrays:
        if type(a) is not Lin:
            _check_zero(a, what)
    same_tape(*lins)
    return lins[0], lins


@_register(np.concatenate)
def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrays = list(arrays)
    first, lins = _operands(arrays, "np.concatenate")
    if axis is None or out is not None:
        _refuse("np.concatenate(axis=None/out=) of tangents")
    axis = int(axis) % first.ndim
    if axis == 0:
        first.tape.batchable = False
    lengths = [np.shape(a)[axis] for a in arrays]
    bounds = list(np.cumsum(lengths)[:-1])
    fits = [(a.shape, a.dtype) if type(a) is Lin else None for a in arrays]
    shape = first.shape[:axis] + (sum(lengths),) + first.shape[axis + 1:]
    node = first.tape.add(_t_concatenate, tuple(a.node for a in lins), (axis, bounds, fits))
    out_dtype = np.result_type(*[a.dtype if type(a) is Lin else np.asarray(a).dtype for a in arrays])
    return first.derived(_keep_lins(first.tape, node, fits), shape, out_dtype if dtype is None else dtype)


def _keep_lins(tape, node, fits):
    """The concatenation record lists only its tangent inputs: drop the constants' cotangents."""
    if all(f is not None for f in fits):
        return node
    transpose, inputs, data = tape.records[node]

    def only_lins(ct, data, inner=transpose):
        return tuple(c for c, f in zip(inner(ct, data), data[2]) if f is not None)

    tape.records[node] = (only_lins, inputs, data)
    return node


@_register(np.stack)
def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrays = [expand_dims(a, axis) if type(a) is Lin else np.expand_dims(a, axis) for a in arrays]
    return concatenate(arrays, axis=axis, dtype=dtype)


@_register(np.where)
def where(condition, x, y):
    condition = np.asarray(condition)
    parts = []
    for a, pick in ((x, True), (y, False)):
        if type(a) is Lin:
            parts.append((a, pick))
        else:
            _check_zero(a, "np.where")
    first = parts[0][0]
    same_tape(*(a for a, _ in parts))
    shape = np.broadcast_shapes(condition.shape, np.shape(x), np.shape(y))
    if len(shape) != first.ndim:
        first.tape.batchable = False
    fits = tuple((a.shape, a.dtype, pick) for a, pick in parts)
    node = first.tape.add(_t_where, tuple(a.node for a, _ in parts), (condition, fits))
    return first.derived(node, shape, np.result_type(*[a.dtype for a, _ in parts]))


def _t_where(ct, data):
    condition, fits = data
    zero = np.zeros((), dtype=ct.dtype)
    return tuple(_fit(np.where(condition, ct, zero) if pick else np.where(condition, zero, ct), shape, dtype)
                 for shape, dtype, pick in fits)


# ------------------------------------------------------------------------- gathers
def _t_gather(ct, data):
    if isinstance(ct, Dual):  # forward-over-reverse: the scatter is linear, apply it to each part
        return (Dual(_t_gather(ct.value, data)[0], np.stack([_t_gather(t, data)[0] for t in ct.tangent])),)
    positions, shape, batched = data
    size = int(np.prod(shape[1:] if batched else shape))
    B = ct.shape[0] if batched else 1
    index = positions.reshape(1, -1) + (size + 1) * np.arange(B)[:, None]
    index = index.ravel()
    values = ct.reshape(-1)

    def scatter(w):
        return np.bincount(index, weights=w, minlength=B * (size + 1)).reshape(B, size + 1)[:, 1:]

    out = scatter(values.real) if ct.dtype.kind != "c" else scatter(values.real) + 1j * scatter(values.imag)
    return (out.astype(ct.dtype, copy=False).reshape((B,) + shape[1:] if batched else shape),)


def _gather(func, check=None):
    def handler(a, *args, **kwargs):
        if check is not None:
            check(*args, **kwargs)
        positions = func(np.arange(1, a.size + 1).reshape(a.shape), *args, **kwargs)
        shape = positions.shape
        batched = a.shape[:1] == (1,) and shape[:1] == (1,)
        if not batched:
            a.tape.batchable = False
        return a.derived(a.tape.add(_t_gather, (a.node,), (positions, a.shape, batched)), shape)

    return handler


def _pad_check(pad_width, mode="constant", **kwargs):
    if mode not in ("constant", "edge", "reflect", "symmetric", "wrap") or kwargs.get("reflect_type", "even") != "even":
        _refuse(f"np.pad(mode={mode!r}, {kwargs}) of tangents")
    if np.any(kwargs.get("constant_values", 0)):
        _refuse("np.pad(constant_values != 0) of tangents")


for _f in (np.flip, np.roll, np.take, np.repeat, np.tile, np.diagonal, np.rot90, np.tril, np.triu,
           np.take_along_axis, np.fft.fftshift, np.fft.ifftshift):
    FUNCTIONS[_f] = _gather(_f)
FUNCTIONS[np.pad] = _gather(np.pad, _pad_check)


@_register(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return sum_(np.diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


# ------------------------------------------------------------------ new tangents
def _zeros_like(a, dtype=None, order="K", subok=True, shape=None, **kwargs):
    shape = a.shape if shape is None else tuple(np.atleast_1d(shape).tolist())
    return Lin.leaf(a.tape, shape, a.dtype if dtype is None else dtype)


FUNCTIONS[np.zeros_like] = FUNCTIONS[np.empty_like] = _zeros_like


@_register(np.result_type)
def result_type(*args):
    return np.result_type(*[a.dtype if type(a) is Lin else a for a in args])


from . import _contract  # noqa: F401, E402  (einsum, fft, solve)
