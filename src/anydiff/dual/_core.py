"""The :class:`Dual` array: a NumPy value plus a stack of ``B`` tangents.

A ``Dual`` behaves like the ndarray ``value`` inside unmodified NumPy code and carries
``tangent`` of shape ``(B,) + value.shape``: ``B`` directional derivatives pushed forward at
once, so one evaluation of ``f`` gives ``B`` Jacobian-vector products.

Nesting gives higher order: a ``Dual`` whose value and tangent are themselves ``Dual``
objects computes derivatives of derivatives (forward-over-forward). The *level* of a dual
(1 + the level of its parts) tells which perturbation it carries; an operation between
duals of different levels treats the lower one as a constant of the higher one.
"""

from __future__ import annotations

import numpy as np

from .._array_methods import ArrayMethods, LinearOperators
from .._errors import TracingError

__all__ = ["Dual", "full_tangent", "level", "lift", "primal", "split", "zero_tangent"]

_CONVERT_HINT = (
    "Hint: inside an anydiff call, np.zeros/np.array/np.asarray/math.* work when f calls them through "
    "their module (np.zeros, math.sin); a function bound before the call (from math import sin, "
    "from numpy import zeros), a conversion to a Python number (float(x[0]), x.item()) or compiled "
    "code (scipy.linalg.lu, numba, C extensions) cannot carry derivatives. Call it through its module, "
    "or wrap that piece with ad.differentiate_with(...), or give it a derivative rule once with "
    "ad.custom_rule(...)."
)


class Dual(LinearOperators, ArrayMethods):
    """An array ``value`` with ``B`` stacked tangents (shape ``(B,) + value.shape``).

    Parameters
    ----------
    value : numpy.ndarray or Dual
        The primal array (a ``Dual`` itself for nested, higher-order duals).
    tangent : numpy.ndarray or Dual
        Tangents, shape ``(B,) + value.shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from anydiff.dual import Dual
    >>> x = Dual(np.array([1.0, 2.0]), np.eye(2))
    >>> y = np.sin(x) * x[0]
    >>> y.tangent.round(4)
    array([[ 1.3818,  0.9093],
           [ 0.    , -0.4161]])
    """

    __slots__ = ("tangent", "value")
    __hash__ = None  # mutable, like ndarray

    def __init__(self, value, tangent):
        self.value = value
        self.tangent = tangent

    # ---------------------------------------------------------------- array protocol
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        for a in inputs:
            if type(a) in OUTER_TYPES and a.outer:
                return NotImplemented  # an outer symbolic tangent (forward-over-reverse) handles it
        if not kwargs and method == "__call__" and ufunc.signature is None:  # most calls: the fast paths
            fast = (_DISPATCH.get("fast") or _dispatcher("fast"))(ufunc, inputs)
            if fast is not None:
                return fast
            return _DISPATCH["general"](ufunc, inputs, kwargs)  # (set with "fast")
        return (_DISPATCH.get("ufunc") or _dispatcher("ufunc"))(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if OUTER_TYPES and any(t in OUTER_TYPES for t in types) and _outer_in(args, kwargs):
            return NotImplemented
        return (_DISPATCH.get("function") or _dispatcher("function"))(func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        raise TracingError(
            "NumPy tried to convert an anydiff Dual (an array carrying derivatives) into a plain "
            "ndarray: f writes it into an array that cannot hold derivatives or passes it to a "
            "function anydiff does not intercept, and the derivatives would be lost.\n" + _CONVERT_HINT
        )

    def _scalar_error(self, what):
        return TracingError(
            f"f converts an anydiff Dual to a Python {what} (float(x[0]), x.item(), a math "
            "function bound before the call, or writing x[i] into an integer array), which drops its "
            "derivatives.\n" + _CONVERT_HINT
        )

    def __float__(self):
        raise self._scalar_error("float")

    def __complex__(self):
        raise self._scalar_error("complex")

    def __int__(self):
        raise self._scalar_error("int")

    def __index__(self):
        raise self._scalar_error("int")

    def item(self, *args):
        raise self._scalar_error("scalar")

    def tolist(self):
        raise self._scalar_error("list")

    def __bool__(self):
        return bool(primal(self))

    # -------------------------------------------------------------- attributes
    @property
    def shape(self):
        return self.value.shape

    @property
    def ndim(self):
        return self.value.ndim

    @property
    def size(self):
        return self.value.size

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def level(self):
        return level(self)

    def __repr__(self):
        return f"Dual(value={self.value!r}, tangent of shape {self.tangent.shape})"

    # ----------------------------------------------------------------- indexing
    def __getitem__(self, idx):
        value = self.value[idx]
        tangent = self.tangent[_tangent_index(idx)]
        k = _split_batch_axis(idx, self.shape)
        if k:
            tangent = np.moveaxis(tangent, k, 0)
        return Dual(value, tangent)

    def __setitem__(self, idx, w):
        if _symbolic(self.tangent):  # reverse mode: its tape may hold self.value as a partial
            self.tangent.before_write(self.value)
        wlevel, mine = level(w), level(self)
        if wlevel > mine:  # w carries an outer perturbation: self becomes a constant of it
            inner = Dual(self.value, self.tangent)
            self.value, self.tangent = inner, _zero_like_tangent(w.tangent, self.shape, w.dtype)
            mine = level(self)
        if wlevel == mine:
            wv, wt = w.value, w.tangent
        else:
            wv, wt = w, None
        target = np.shape(self.value[idx])
        self.value = _store(self.value, idx, wv)
        tidx = _tangent_index(idx)
        k = _split_batch_axis(idx, self.shape)
        if wt is None:
            self.tangent = _store(self.tangent, tidx, 0)
            return
        wt = lift(wt, len(target))
        if k:
            wt = np.moveaxis(wt, 0, k)
        self.tangent = _store(self.tangent, tidx, wt)

    # -------------------------------------------------------------- operators
    def __rtruediv__(self, o):
        return np.true_divide(o, self)

    def __floordiv__(self, o):
        return np.floor_divide(self, o)

    def __rfloordiv__(self, o):
        return np.floor_divide(o, self)

    def __mod__(self, o):
        return np.remainder(self, o)

    def __rmod__(self, o):
        return np.remainder(o, self)

    def __pow__(self, o):
        return np.power(self, o)

    def __rpow__(self, o):
        return np.power(o, self)

    def __pos__(self):
        return np.positive(self)

    def __abs__(self):
        return np.absolute(self)

    def __lt__(self, o):
        return np.less(self, o)

    def __le__(self, o):
        return np.less_equal(self, o)

    def __gt__(self, o):
        return np.greater(self, o)

    def __ge__(self, o):
        return np.greater_equal(self, o)

    def __eq__(self, o):
        return np.equal(self, o)

    def __ne__(self, o):
        return np.not_equal(self, o)

    def _inplace(self, result):
        if not _writable(self):  # a NumPy scalar inside (x[i] of a 1-d array): rebind, like NumPy
            return result
        self[...] = result
        return self

    def __iadd__(self, o):
        return self._inplace(np.add(self, o))

    def __isub__(self, o):
        return self._inplace(np.subtract(self, o))

    def __imul__(self, o):
        return self._inplace(np.multiply(self, o))

    def __itruediv__(self, o):
        return self._inplace(np.true_divide(self, o))

    def __ipow__(self, o):
        return self._inplace(np.power(self, o))

    def __imatmul__(self, o):
        return self._inplace(np.matmul(self, o))

    # --------------------------------------------------------- ndarray methods
    def copy(self, order="C"):
        return np.copy(self)

    def astype(self, dtype, copy=True, **kwargs):
        if np.dtype(dtype).kind not in "fc":
            return primal(self).astype(dtype)
        return Dual(_astype(self.value, dtype), _astype(self.tangent, dtype))

    def fill(self, v):
        self[...] = v

    def argmax(self, axis=None):
        return np.argmax(primal(self), axis=axis)

    def argmin(self, axis=None):
        return np.argmin(primal(self), axis=axis)

    def argsort(self, axis=-1):
        return np.argsort(primal(self), axis=axis)

    def nonzero(self):
        return np.nonzero(primal(self))

    def any(self, *args, **kwargs):
        return primal(self).any(*args, **kwargs)

    def all(self, *args, **kwargs):
        return primal(self).all(*args, **kwargs)


# --------------------------------------------------------------------------- helpers
_DISPATCH: dict = {}  # the dispatchers of _ufuncs and _registry (they import this module)


def _dispatcher(kind):
    if kind == "ufunc":
        from ._ufuncs import dispatch_ufunc as handler
    elif kind == "fast":
        from ._ufuncs import fast_path as handler
        from ._ufuncs import general_path

        _DISPATCH["general"] = general_path
    else:
        from ._registry import dispatch_function as handler
    _DISPATCH[kind] = handler
    return handler


#: Classes of symbolic tangents that may be the *outermost* level (reverse mode's ``Lin``,
#: registered by :mod:`anydiff.reverse`). Such a tangent, when its ``outer`` flag is set
#: (forward-over-reverse: ``Dual(Dual(x, V), Lin)``), has the level :data:`OUTER_LEVEL`, above
#: every dual, so that a dual of it is never mistaken for a constant of an inner level, and a
#: dual operation meeting it defers to it (the tangent records the operation, its partials
#: being duals).
OUTER_TYPES: set = set()
OUTER_LEVEL = 64


def _outer(a) -> bool:
    return type(a) in OUTER_TYPES and a.outer


def _outer_in(args, kwargs) -> bool:
    for a in args:
        if _outer(a) or (type(a) in (list, tuple) and any(_outer(e) for e in a)):
            return True
    return any(_outer(a) for a in kwargs.values())


def level(a) -> int:
    """Nesting level: 0 for non-duals, 1 for a dual of arrays, 2 for a dual of duals.

    An outer symbolic tangent has level :data:`OUTER_LEVEL` (see :data:`OUTER_TYPES`).
    """
    if type(a) is not Dual and not isinstance(a, Dual):
        if type(a) in OUTER_TYPES:
            return OUTER_LEVEL if a.outer else 0
        return 0
    v, t = a.value, a.tangent
    lv = 0 if type(v) is np.ndarray else level(v)
    lt = 0 if type(t) is np.ndarray else level(t)
    return 1 + (lv if lv > lt else lt)


def _zero_like_tangent(t, shape, dtype):
    """Zero tangents ``(B,) + shape`` of the same kind as ``t`` (symbolic or an array)."""
    if _symbolic(t):
        return np.zeros_like(t, shape=(t.shape[0],) + tuple(shape), dtype=np.result_type(t.dtype, dtype))
    return _zeros((t.shape[0],) + tuple(shape), dtype)


def _writable(a) -> bool:
    if isinstance(a, Dual):
        return _writable(a.value) and _writable(a.tangent)
    return isinstance(a, np.ndarray) or _symbolic(a)


def _symbolic(a) -> bool:
    """A symbolic tangent of anydiff's reverse mode (:class:`anydiff.reverse.Lin`)."""
    return getattr(a, "_anydiff_symbolic", False)


def primal(a):
    """The innermost value of a (possibly nested) dual, as a plain array."""
    while isinstance(a, Dual):
        a = a.value
    return a


def split(args):
    """``(top, values, tangents)`` of a sequence of operands at the highest dual level.

    Operands below that level are constants of it (tangent ``None``).
    """
    levels = [level(a) for a in args]
    top = max(levels)
    if OUTER_LEVEL in levels:  # a bare outer tangent would be taken for a constant: never guess
        raise TracingError(
            "anydiff's forward-over-reverse met a tangent among the operands of a dual operation.\n"
            "Hint: this is handled by the reverse-over-forward fallback of ad.hvp / ad.hessian with AutoNumPy()."
        )
    values, tangents = [], []
    for a, la in zip(args, levels):
        if la == top and isinstance(a, Dual):
            values.append(a.value)
            tangents.append(a.tangent)
        else:
            values.append(a)
            tangents.append(None)
    return top, values, tangents


def lift(t, ndim):
    """Reshape tangents ``(B,) + s`` to ``ndim + 1`` dimensions (ones inserted after ``B``)."""
    extra = ndim - (len(t.shape) - 1)
    if extra <= 0:
        return t
    return np.reshape(t, (t.shape[0],) + (1,) * extra + tuple(t.shape[1:]))


def full_tangent(t, shape):
    """``t`` broadcast to ``(B,) + shape`` as a fresh, writable array."""
    shape = (t.shape[0],) + tuple(shape)
    if tuple(t.shape) == shape:
        return t
    return np.copy(np.broadcast_to(lift(t, len(shape) - 1), shape))


def zero_tangent(batch, shape, dtype):
    return _zeros((batch,) + tuple(shape), dtype)


def _zeros(shape, dtype):
    dtype = np.dtype(dtype)
    return np.zeros(shape, dtype=dtype if dtype.kind in "fc" else np.float64)


def _astype(a, dtype):
    return a.astype(dtype) if isinstance(a, (Dual, np.ndarray)) or _symbolic(a) else np.asarray(a).astype(dtype)


def _store(arr, idx, w):
    """``arr[idx] = w``, promoting a plain ``arr`` to a dual when ``w`` is one."""
    if isinstance(w, Dual) and not isinstance(arr, Dual):
        arr = Dual(arr, _zeros((w.tangent.shape[0],) + arr.shape, np.result_type(arr.dtype, w.dtype)))
    elif _symbolic(w) and isinstance(arr, np.ndarray):  # a zero tangent receiving a symbolic one
        arr = np.zeros_like(w, shape=arr.shape, dtype=np.result_type(arr.dtype, w.dtype))
    arr[idx] = w
    return arr


def _tangent_index(idx):
    if isinstance(idx, tuple):
        return (slice(None),) + idx
    return (slice(None), idx)


def _split_batch_axis(idx, shape) -> int:
    """Where NumPy puts the tangent axis ``B`` when indexing tangents with ``(:, *idx)``.

    Separated advanced indices (integer arrays, and integers next to them) move their
    broadcast dimensions to the front, before ``B``; the answer is then the number of those
    dimensions (0 in every other case).
    """
    if not isinstance(idx, tuple) or not any(isinstance(i, (list, np.ndarray)) for i in idx):
        return 0
    positions = [
        p for p, i in enumerate(idx)
        if isinstance(i, (list, np.ndarray, int, np.integer)) and not isinstance(i, bool)
    ]
    if positions[-1] - positions[0] == len(positions) - 1:
        return 0
    shapes = []
    for p in positions:
        a = np.asarray(idx[p])
        shapes.append((int(np.count_nonzero(a)),) if a.dtype == bool else a.shape)
    return len(np.broadcast_shapes(*shapes))
