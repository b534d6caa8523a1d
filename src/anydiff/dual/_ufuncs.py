"""Ufuncs on duals: elementwise calls through the shared rule table, and ufunc methods.

``ufunc(*args)`` on duals computes the value with the ufunc itself and the tangents as
``sum_i partial_i * t_i``, the partials coming from ``anydiff.rules`` (the one table also
read by the sparsity tracer). Reductions (``np.add.reduce``, ``np.multiply.reduce``, ...),
accumulations and ``np.add.at`` are built on the same elementwise rules.
"""

from __future__ import annotations

import numpy as np

from .._errors import MissingRuleError, TracingError
from ..rules._table import RULES, get_rule
from ._core import Dual, full_tangent, level, lift, primal, split

__all__ = ["apply_ufunc", "dispatch_ufunc"]

# Functions that are linear but not holomorphic: applied to the tangents themselves
# (the rule table states derivatives as complex numbers, which cannot express them).
_ANTILINEAR = {np.conjugate}
_REAL = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16))
_REAL_SCALARS = (np.float64, np.float32, np.float16)


def dispatch_ufunc(ufunc, method, inputs, kwargs):
    out = kwargs.pop("out", None)
    if method == "__call__" and ufunc.signature is not None:  # matmul, vecdot: not elementwise
        result = (_REGISTRY[0] if _REGISTRY else _registry()).dispatch_function(ufunc, inputs, kwargs)
    elif method == "__call__":
        result = apply_ufunc(ufunc, inputs, kwargs)
    elif method == "reduce":
        result = _reduce(ufunc, inputs[0], **kwargs)
    elif method == "accumulate":
        result = _accumulate(ufunc, inputs[0], **kwargs)
    elif method == "at":
        return _at(ufunc, *inputs)
    elif method == "outer":
        a, b = inputs
        ndim_b = np.ndim(b)
        result = apply_ufunc(ufunc, (np.reshape(a, np.shape(a) + (1,) * ndim_b), b), kwargs)
    else:
        raise MissingRuleError(
            f"anydiff's dual numbers do not implement {ufunc.__name__}.{method}.\n"
            "Hint: rewrite it with supported NumPy functions, or use AutoFiniteDiff()."
        )
    if out is None:
        return result
    if len(out) != 1:
        raise MissingRuleError(
            f"{ufunc.__name__}(..., out=(a, b)) with several outputs is not supported by anydiff's duals.\n"
            "Hint: assign the results instead of passing out=."
        )
    target = out[0]
    if not isinstance(target, Dual) and isinstance(result, Dual):
        raise TracingError(
            f"np.{ufunc.__name__}(..., out=buffer) writes derivatives into a plain ndarray.\n"
            "Hint: allocate the buffer with np.zeros_like(x) / np.empty_like(x)."
        )
    target[...] = result
    return target


_REGISTRY: list = []  # [module] of the function registry (it imports this module)


def _registry():
    from . import _registry as module

    _REGISTRY.append(module)
    return module


def apply_ufunc(ufunc, inputs, kwargs):
    """``ufunc(*inputs)`` with tangents from the rule table."""
    if kwargs and kwargs.get("where", True) is not True:
        raise MissingRuleError(
            f"np.{ufunc.__name__}(..., where=...) is not supported by anydiff's duals.\n"
            "Hint: use np.where(mask, np.{0}(...), other) instead.".format(ufunc.__name__)
        )
    if not kwargs:
        fast = fast_path(ufunc, inputs)
        if fast is not None:
            return fast
    return general_path(ufunc, inputs, kwargs)


def general_path(ufunc, inputs, kwargs):
    """``ufunc(*inputs, **kwargs)`` for any operands (nested duals, broadcast tangents, ...)."""
    _, values, tangents = split(inputs)
    if ufunc in _ANTILINEAR or (ufunc is np.absolute and np.iscomplexobj(values[0])):
        return _nonholomorphic(ufunc, values[0], tangents[0], kwargs)
    rule = RULES.get(ufunc) or get_rule(ufunc)  # the live table (get_rule raises for a missing one)
    square = ufunc is np.power and tangents[1] is None and _is_two(values[1], values[0]) and not kwargs
    y = np.square(values[0]) if square else ufunc(*values, **kwargs)  # x ** 2: 4x faster than pow
    if rule.partials is None or all(rule.d1_zero):
        return y  # piecewise constant (comparisons, floor, sign, ...): a constant
    with np.errstate(all="ignore"):  # partials of arguments without tangents are discarded
        if square:  # the same numbers as the general case below (x ** 1.0 == x), without pow
            partials = (values[1] * values[0], None)
        elif ufunc is np.power and tangents[1] is None:  # a constant exponent: no log of the base
            partials = (values[1] * values[0] ** (values[1] - 1.0), None)
        else:
            partials = rule.partials(*values, y)
        ndim = np.ndim(y)
        ty = None
        # tangents at singular points (norm or sqrt at 0, ...) are nan/inf without a warning, as in
        # JAX: the value computation above keeps NumPy's own warnings
        owned = False  # ty is a fresh ndarray of this call (safe to accumulate into)
        for p, t, zero in zip(partials, tangents, rule.d1_zero):
            if t is None or p is None or zero:
                continue
            ty, owned = _add_partial(ty, owned, lift(t, ndim), p)
    if ty is None:
        return y
    if not owned and any(ty is t for t in tangents):  # never alias an input's tangents (they may be written)
        ty = ty.copy()
    dtype = kwargs.get("dtype")
    if dtype is not None:
        ty = ty.astype(dtype)
    return Dual(y, full_tangent(ty, np.shape(y)))


def fast_path(ufunc, inputs):
    """``ufunc(*inputs)`` (no keywords) by the unary or binary fast path, or ``None``."""
    n = len(inputs)
    if n == 2:
        return _binary(ufunc, inputs[0], inputs[1])
    return _unary(ufunc, inputs[0]) if n == 1 else None


def _unary(ufunc, d):
    """Fast path of ``ufunc(d)`` for a level-1 dual of a real array (most calls of real code),
    or ``None`` to take the general path. The same numbers as the general path."""
    if type(d) is not Dual or ufunc.nout != 1 or ufunc in _ANTILINEAR or ufunc is np.absolute:
        return None
    operand = _operand(d)
    rule = RULES.get(ufunc)
    if operand is None or rule is None or rule.partials is None or rule.d1_zero[0]:
        return None
    v, t = operand
    y = ufunc(v)
    with np.errstate(all="ignore"):
        (p,) = rule.partials(v, y)
        if p is None:
            return None
        return Dual(y, _times(t, p))


def _operand(a):
    """``(value, tangent)`` of a fast-path operand (tangent ``None`` for a real constant), or
    ``None``: nested duals, outer symbolic tangents and the rest take the general path."""
    if type(a) is Dual:
        v, t = a.value, a.tangent
        if (type(v) is not np.ndarray and type(v) not in _REAL_SCALARS) or v.dtype not in _REAL or t.shape[1:] != v.shape:
            return None  # (a NumPy scalar value: the result of a full reduction, np.sum(x))
        if type(t) is np.ndarray:
            return v, t
        symbolic = getattr(type(t), "_anydiff_scale", None) is not None
        return (v, t) if symbolic and not t.outer else None
    if type(a) in (float, int) or (type(a) is np.ndarray or isinstance(a, np.generic)) and a.dtype.kind in "fiu":
        return a, None
    return None


def _binary(ufunc, a, b):
    """Fast path of ``ufunc(a, b)`` for level-1 duals of real arrays and real constants, when
    the result has the duals' shape (no tangent broadcast); ``None`` takes the general path."""
    if ufunc.nout != 1 or (type(a) is not Dual and type(b) is not Dual):
        return None
    if ufunc is np.power:
        return _power(a, b)
    rule = RULES.get(ufunc)
    oa, ob = _operand(a), _operand(b)
    if rule is None or rule.partials is None or oa is None or ob is None:
        return None
    (va, ta), (vb, tb) = oa, ob
    if ta is not None and tb is not None and type(ta) is not type(tb):
        return None
    y = ufunc(va, vb)
    if (ta is not None and y.shape != va.shape) or (tb is not None and y.shape != vb.shape):
        return None  # a broadcast dual: the general path lifts its tangents
    ty, owned = None, False  # owned: ty is a fresh array of this call (safe to accumulate into)
    with np.errstate(all="ignore"):
        partials = rule.partials(va, vb, y)
        for p, t, zero in zip(partials, (ta, tb), rule.d1_zero):
            if t is not None and p is not None and not zero:
                ty, owned = _add_partial(ty, owned, t, p)
    if ty is None:
        return y
    if not owned:  # never alias an input's tangents (they may be written)
        ty = ty.copy()
    return Dual(y, ty)


def _power(a, e):
    """``a ** e`` for a level-1 dual ``a`` and a Python-number exponent (the general path's
    numbers: ``np.square`` for 2, no log of the base), else ``None``."""
    oa = _operand(a)
    if oa is None or type(e) not in (int, float) or oa[1] is None:
        return None
    v, t = oa
    y = np.square(v) if e == 2 else np.power(v, e)  # NumPy's own warnings for the value
    scale = getattr(type(t), "_anydiff_scale", None)
    if e == 2 and scale is not None:  # reverse mode keeps v, not 2 * v: (ct * v) * 2 is ct * (2 * v)
        return Dual(y, scale(t, v, 2.0))
    with np.errstate(all="ignore"):
        p = e * v if e == 2 else e * v ** (e - 1.0)
        return Dual(y, _times(t, p))


def _times(t, p):
    """``t * p`` for tangents ``t`` and a partial ``p`` (a symbolic tangent records its own product)."""
    scale = getattr(type(t), "_anydiff_scale", None)
    return t * p if scale is None else scale(t, p)


def _add_partial(ty, owned, t, p):
    """``(ty + p * t, owned)``; the partials ±1 of add and subtract take no product."""
    if isinstance(p, float) and (p == 1.0 or p == -1.0):
        if ty is None:
            return (t, False) if p > 0 else (-t, True)
        return _add_term(ty, owned, t, p)
    return _add_term(ty, owned, _times(t, p), 1.0)


def _add_term(ty, owned, term, sign):
    """``ty ± term`` as ``(sum, owned)``; in place when ``ty`` is a fresh array of this call."""
    if ty is None:
        return term, True
    if owned and type(ty) is np.ndarray and type(term) is np.ndarray and _fits(ty, term):
        if sign < 0:  # in place: a third large temporary costs more than the addition
            ty -= term
        else:
            ty += term
        return ty, True
    return (ty - term if sign < 0 else ty + term), True


def _fits(ty, term):
    """``ty += term`` gives ``ty + term`` (same shape after broadcasting, no dtype change)."""
    if ty.dtype != term.dtype:
        return False
    return ty.shape == term.shape or ty.shape == np.broadcast_shapes(ty.shape, term.shape)


def _is_two(e, base):
    """``e`` is the Python number 2 and ``base`` real (``np.square`` then gives ``base ** e`` exactly)."""
    return type(e) in (int, float) and e == 2 and getattr(primal(base), "dtype", None) in _REAL


def _nonholomorphic(ufunc, v, t, kwargs):
    y = ufunc(v, **kwargs)
    if t is None:
        return y
    if ufunc is np.conjugate:
        return Dual(y, np.conjugate(t))
    # |z| is real-differentiable: d|z| = Re(conj(z) dz) / |z|
    return Dual(y, np.real(np.conjugate(v) * t) / y)


# ------------------------------------------------------------------------- reductions
def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axes))


def shift_axes(axes):
    return tuple(a + 1 for a in axes)


def _reduce(ufunc, a, axis=0, dtype=None, keepdims=False, initial=np._NoValue, where=True):
    if where is not True:
        raise MissingRuleError(
            f"np.{ufunc.__name__}.reduce(where=...) is not supported by anydiff's duals.\n"
            "Hint: mask first with np.where (e.g. the reduction's identity where the mask is False), then reduce."
        )
    if not isinstance(a, Dual):  # pragma: no cover - NumPy only calls us with a dual
        return ufunc.reduce(a, axis=axis, dtype=dtype, keepdims=keepdims)
    axes = _axes(axis, a.ndim)
    if ufunc is np.add:
        value = np.add.reduce(a.value, axis=axes, dtype=dtype, keepdims=keepdims)
        tangent = np.add.reduce(a.tangent, axis=shift_axes(axes), dtype=dtype, keepdims=keepdims)
        result = Dual(value, tangent)
    else:
        result = tree_reduce(ufunc, a, axes, keepdims)
    if initial is not np._NoValue and initial is not None:
        result = ufunc(result, initial)
    return result


def tree_reduce(ufunc, a, axes, keepdims=False):
    """Reduce ``a`` over ``axes`` with a binary ufunc by pairwise folding (log depth).

    Every step is an elementwise call, so the derivative comes from the rule table; no
    division by the inputs (products with zeros are exact).
    """
    ndim = a.ndim
    kept = [d for d in range(ndim) if d not in axes]
    moved = np.transpose(a, kept + list(axes))
    kept_shape = tuple(a.shape[d] for d in kept)
    flat = np.reshape(moved, kept_shape + (-1,))
    n = flat.shape[-1]
    if n == 0:  # the identity of the ufunc (1 for prod): a constant
        return ufunc.reduce(primal(a), axis=axes, keepdims=keepdims)
    while n > 1:
        h = n // 2
        folded = ufunc(flat[..., :h], flat[..., h : 2 * h])
        flat = np.concatenate([folded, flat[..., 2 * h :]], axis=-1) if n % 2 else folded
        n = h + n % 2
    result = flat[..., 0]
    if keepdims:
        result = np.reshape(result, tuple(1 if d in axes else s for d, s in enumerate(a.shape)))
    return result


def _accumulate(ufunc, a, axis=0, dtype=None):
    if ufunc is np.add:
        ax = int(axis) % a.ndim
        return Dual(np.add.accumulate(a.value, axis=ax, dtype=dtype), np.add.accumulate(a.tangent, axis=ax + 1, dtype=dtype))
    # sequential forward sweep: exact for any binary ufunc with a rule
    moved = np.moveaxis(a, axis, 0)
    acc = moved[0]
    parts = [acc]
    for i in range(1, moved.shape[0]):
        acc = ufunc(acc, moved[i])
        parts.append(acc)
    return np.moveaxis(np.stack(parts), 0, axis)


def _at(ufunc, a, indices, b=None):
    if ufunc not in (np.add, np.subtract, np.negative):
        raise MissingRuleError(
            f"np.{ufunc.__name__}.at is not supported by anydiff's duals (only np.add.at and np.subtract.at).\n"
            "Hint: use np.add.at, or rewrite with indexing and assignment."
        )
    if not isinstance(a, Dual):
        raise TracingError(
            f"np.{ufunc.__name__}.at writes derivatives into a plain ndarray.\n"
            "Hint: allocate the buffer with np.zeros_like(x) / np.empty_like(x)."
        )
    if ufunc is np.negative:
        a[indices] = -a[indices]
        return
    top = max(level(a), level(b))
    if top > level(a):
        a[...] = a + np.zeros_like(b, shape=())  # promote a to b's level
    _, (bv,), (bt,) = split((b,)) if level(b) == level(a) else (0, (b,), (None,))
    if getattr(a.tangent, "_anydiff_symbolic", False):  # reverse mode: see Dual.__setitem__
        a.tangent.before_write(a.value)
    ufunc.at(a.value, indices, bv)
    tidx = (slice(None),) + (indices if isinstance(indices, tuple) else (indices,))
    if bt is not None:
        target_ndim = np.ndim(a.value[indices])
        ufunc.at(a.tangent, tidx, lift(bt, target_ndim))
    return
