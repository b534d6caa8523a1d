"""NumPy functions on duals (``__array_function__``).

Most of NumPy's array surface is *linear* in its array argument (reshaping, transposing,
slicing, summing, rolling, padding, ...): such a function is applied to the value and, with
its axis arguments shifted past the leading tangent axis, to the stacked tangents. One
generic handler does this from a small per-function description (which parameters are
axes and what ``axis=None`` means); a few functions need their own handler. Functions
whose NumPy implementation is itself written with supported functions run that
implementation on the duals. Anything else raises :class:`MissingRuleError`.
"""

from __future__ import annotations

import inspect

import numpy as np

from .._errors import MissingRuleError
from ._core import Dual, full_tangent, lift, primal, split, zero_tangent
from ._ufuncs import _reduce, shift_axes

__all__ = ["HANDLED", "dispatch_function", "implements"]

#: NumPy function -> handler with the same signature.
HANDLED: dict = {}


def implements(*funcs):
    def register(handler):
        for func in funcs:
            HANDLED[func] = handler
        return handler

    return register


def dispatch_function(func, args, kwargs):
    handler = HANDLED.get(func)
    if handler is None:
        name = f"{func.__module__.replace('numpy.', 'np.').replace('numpy', 'np')}.{func.__name__}"
        raise MissingRuleError(
            f"anydiff's dual numbers (AutoNumPy) do not support {name}.\n"
            "Hint: rewrite that step with supported NumPy functions (see docs/numpy_engine.md), "
            "or use AutoFiniteDiff() / another backend for this function."
        )
    return handler(*args, **kwargs)


# ------------------------------------------------------------ generic linear functions
def _shift(axis):
    """A value axis (int or sequence) as the same axis of the tangent stack."""
    if isinstance(axis, (tuple, list)):
        return type(axis)(_shift(a) for a in axis)
    axis = int(axis)
    return axis + 1 if axis >= 0 else axis


def _axis_linear(func, axis_params=("axis",), none="all"):
    """Register ``func``, linear in its first argument, whose axis parameters are named.

    ``none`` says what ``axis=None`` means: ``"all"`` (every axis), ``"flatten"`` (the
    array is flattened first), ``"reverse"`` (``transpose``) or ``"unit"`` (``squeeze``).
    """
    sig = inspect.signature(func)
    first = next(iter(sig.parameters))
    defaults = {p: sig.parameters[p].default for p in axis_params}

    def handler(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        rest = dict(bound.arguments)
        a = rest.pop(first)
        if not isinstance(a, Dual):
            raise MissingRuleError(
                f"np.{func.__name__} is linear in its first argument only; anydiff cannot "
                "differentiate it with respect to its other arguments.\n"
                "Hint: pass the differentiated array first, or use AutoFiniteDiff()."
            )
        value = func(a.value, **rest)
        t = a.tangent
        targs = dict(rest)
        for p in axis_params:
            axis = rest.get(p, defaults[p])
            if axis is None and none == "flatten":
                t = np.reshape(t, (t.shape[0], -1))
                targs[p] = 1
            elif axis is None and none == "all":
                targs[p] = tuple(range(1, a.ndim + 1))
            elif axis is None and none == "reverse":
                targs[p] = (0,) + tuple(range(a.ndim, 0, -1))
            elif axis is None and none == "unit":
                targs[p] = tuple(d + 1 for d, s in enumerate(a.shape) if s == 1)
            elif none == "reverse":
                targs[p] = (0,) + tuple(_shift(int(d) % a.ndim) for d in axis)
            else:
                targs[p] = _shift(axis)
        return Dual(value, func(t, **targs))

    HANDLED[func] = handler


_axis_linear(np.transpose, ("axes",), none="reverse")
_axis_linear(np.permute_dims, ("axes",), none="reverse")
_axis_linear(np.swapaxes, ("axis1", "axis2"))
_axis_linear(np.moveaxis, ("source", "destination"))
_axis_linear(np.expand_dims)
_axis_linear(np.squeeze, none="unit")
_axis_linear(np.flip)
_axis_linear(np.roll, none="flatten")
_axis_linear(np.take, none="flatten")
_axis_linear(np.repeat, none="flatten")
_axis_linear(np.cumsum, none="flatten")
_axis_linear(np.cumulative_sum, none="flatten")
_axis_linear(np.trace, ("axis1", "axis2"))
_axis_linear(np.diagonal, ("axis1", "axis2"))
_axis_linear(np.rot90, ("axes",))


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


@implements(np.broadcast_arrays)
def _broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    return tuple(np.broadcast_to(a, shape) for a in args)


def _make_atleast(nd):
    def atleast(*arys):
        out = []
        for a in arys:
            if np.ndim(a) >= nd:
                out.append(a)
            elif nd == 3 and np.ndim(a) == 2:
                out.append(np.reshape(a, np.shape(a) + (1,)))
            elif nd == 3 and np.ndim(a) == 1:
                out.append(np.reshape(a, (1,) + np.shape(a) + (1,)))
            else:
                out.append(np.reshape(a, (1,) * (nd - np.ndim(a)) + np.shape(a)))
        return out[0] if len(out) == 1 else tuple(out)

    return atleast


HANDLED[np.atleast_1d] = _make_atleast(1)
HANDLED[np.atleast_2d] = _make_atleast(2)
HANDLED[np.atleast_3d] = _make_atleast(3)


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


@implements(np.append)
def _append(arr, values, axis=None):
    if axis is None:
        return np.concatenate([np.ravel(arr), np.ravel(values)])
    return np.concatenate([arr, values], axis=axis)


@implements(np.column_stack)
def _column_stack(tup):
    return np.concatenate([np.reshape(a, (-1, 1)) if np.ndim(a) < 2 else a for a in tup], axis=1)


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


@implements(np.select)
def _select(condlist, choicelist, default=0):
    result = default
    for cond, choice in zip(reversed(list(condlist)), reversed(list(choicelist))):
        result = np.where(cond, choice, result)
    return result


@implements(np.clip)
def _clip(a, a_min=None, a_max=None, out=None, **kwargs):
    _no_out(out, "clip")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    result = a
    if a_min is not None:
        result = np.maximum(result, a_min)
    if a_max is not None:
        result = np.minimum(result, a_max)
    return np.copy(result) if result is a else result


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
        tangent = _new_like(a.tangent, "zeros", None, dtype, (a.tangent.shape[0],) + shape)
        return Dual(value, tangent)
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


@implements(np.cumprod, np.cumulative_prod)
def _cumprod(a, axis=None, dtype=None, out=None, **kwargs):
    _no_out(out, "cumprod")
    if axis is None:
        a, axis = np.ravel(a), 0
    return np.multiply.accumulate(a, axis=axis, dtype=dtype)


def _tangent_dtype(a):
    t = primal(a.tangent)
    return t.dtype if t.dtype.kind in "fc" else np.float64


def _extreme(pick):
    def extreme(a, axis=None, out=None, keepdims=False, initial=np._NoValue, where=True):
        _no_out(out, pick.__name__)
        if where is not True:
            raise MissingRuleError(f"np.{pick.__name__}(where=...) is not supported by anydiff's duals.")
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


@implements(np.mean)
def _mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    _no_out(out, "mean")
    total = _sum(a, axis=axis, dtype=dtype, keepdims=keepdims, where=where)
    return total / (np.size(primal(a)) // np.size(primal(total)))


@implements(np.var)
def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None, correction=None):
    _no_out(out, "var")
    ddof = ddof if correction is None else correction
    centered = a - _mean(a, axis=axis, dtype=dtype, keepdims=True)
    squared = np.real(centered * np.conjugate(centered)) if np.iscomplexobj(primal(a)) else centered * centered
    total = _sum(squared, axis=axis, keepdims=keepdims)
    count = np.size(primal(a)) // np.size(primal(total))
    return total / (count - ddof)


@implements(np.std)
def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None, correction=None):
    return np.sqrt(_var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims, correction=correction))


@implements(np.diff)
def _diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    parts = [] if prepend is np._NoValue else [_expand_edge(prepend, a, axis)]
    parts.append(a)
    if append is not np._NoValue:
        parts.append(_expand_edge(append, a, axis))
    if len(parts) > 1:
        a = np.concatenate(parts, axis=axis)
    axis = int(axis) % a.ndim
    for _ in range(n):
        hi = tuple(slice(1, None) if d == axis else slice(None) for d in range(a.ndim))
        lo = tuple(slice(None, -1) if d == axis else slice(None) for d in range(a.ndim))
        a = a[hi] - a[lo]
    return a


def _expand_edge(edge, a, axis):
    if np.ndim(edge) == 0:
        shape = list(np.shape(a))
        shape[axis] = 1
        return np.broadcast_to(edge, tuple(shape))
    return edge


@implements(np.average)
def _average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    if weights is None:
        avg, scale = _mean(a, axis=axis, keepdims=keepdims), np.size(primal(a)) // max(1, np.size(primal(_sum(a, axis=axis))))
    else:
        if np.ndim(primal(weights)) != np.ndim(primal(a)):  # 1-d weights along one axis
            shape = [1] * np.ndim(primal(a))
            shape[axis] = -1
            weights = np.reshape(weights, tuple(shape))
        scale = np.sum(weights * np.ones_like(primal(a)), axis=axis, keepdims=keepdims)
        avg = np.sum(a * weights, axis=axis, keepdims=keepdims) / scale
    return (avg, scale) if returned else avg


@implements(np.sinc)
def _sinc(x):
    y = np.pi * np.where(primal(x) == 0, 1.0e-20, x)
    return np.sin(y) / y


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


@implements(np.fliplr)
def _fliplr(m):
    return np.flip(m, axis=1)


@implements(np.flipud)
def _flipud(m):
    return np.flip(m, axis=0)


# ---------------------------------------------------- functions of the value only
def _primal_only(func):
    def handler(*args, **kwargs):
        args = [primal(a) if isinstance(a, Dual) else _primal_seq(a) for a in args]
        return func(*args, **{k: primal(v) for k, v in kwargs.items()})

    HANDLED[func] = handler


def _primal_seq(a):
    if isinstance(a, (list, tuple)) and any(isinstance(e, Dual) for e in a):
        return type(a)(primal(e) for e in a)
    return a


for _f in (np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero, np.flatnonzero,
           np.count_nonzero, np.shape, np.ndim, np.size, np.isclose, np.allclose,
           np.array_equal, np.any, np.all, np.searchsorted, np.round, np.around,
           np.iscomplexobj, np.isrealobj, np.iscomplex, np.isreal, np.result_type,
           np.isneginf, np.isposinf, np.digitize, np.unique, np.lexsort, np.can_cast,
           np.min_scalar_type, np.may_share_memory, np.shares_memory):
    _primal_only(_f)


def _no_out(out, name):
    if out is not None:
        raise MissingRuleError(
            f"np.{name}(..., out=...) is not supported by anydiff's duals.\nHint: assign the result instead."
        )


# ------------------------------------------------- composites run on the duals
#: NumPy functions whose own implementation only calls supported functions.
_COMPOSITES = (np.hstack, np.vstack, np.dstack, np.split, np.array_split,
               np.hsplit, np.vsplit, np.dsplit)

for _f in _COMPOSITES:
    HANDLED[_f] = _f._implementation

from . import _linalg  # noqa: F401, E402  (registers contractions and linear algebra)
from . import _numeric  # noqa: F401, E402  (convolutions, order statistics, nan reductions, ...)
from . import _fft, _decomp  # noqa: F401, E402  (np.fft, pinv/eigh/svd/qr)

