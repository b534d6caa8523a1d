"""ndarray methods for anydiff's array stand-ins (``Dual``, the sparsity tracer).

Unmodified NumPy code calls methods (``x.sum(axis=0)``, ``x.T``, ``x.reshape(n, 2)``) as often
as functions. Each method here forwards to the NumPy function of the same name, with the
arguments in ndarray-method order, so the stand-in's own ``__array_function__`` /
``__array_ufunc__`` handles it exactly like the function form.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ArrayMethods", "LinearOperators"]


def _forward(func):
    def method(self, *args, **kwargs):
        return func(self, *args, **kwargs)

    method.__name__ = func.__name__
    method.__doc__ = f"Same as ``np.{func.__name__}(self, ...)``."
    return method


class LinearOperators:
    """Mixin: the arithmetic operators every stand-in shares (``+ - * / @`` and negation), each
    forwarded to its ufunc so ``__array_ufunc__`` handles ``x + y`` exactly like ``np.add(x, y)``.
    ``Dual`` adds the nonlinear ones; the reverse engine's ``Lin`` (linear tangents) has only these."""

    __slots__ = ()

    def __add__(self, o):
        return np.add(self, o)

    def __radd__(self, o):
        return np.add(o, self)

    def __sub__(self, o):
        return np.subtract(self, o)

    def __rsub__(self, o):
        return np.subtract(o, self)

    def __mul__(self, o):
        return np.multiply(self, o)

    def __rmul__(self, o):
        return np.multiply(o, self)

    def __truediv__(self, o):
        return np.true_divide(self, o)

    def __matmul__(self, o):
        return np.matmul(self, o)

    def __rmatmul__(self, o):
        return np.matmul(o, self)

    def __neg__(self):
        return np.negative(self)


class ArrayMethods:
    """Mixin: ndarray methods and properties forwarded to NumPy functions (needs ``shape``)."""

    __slots__ = ()

    T = property(lambda self: np.transpose(self))
    mT = property(lambda self: np.swapaxes(self, -1, -2))
    real = property(lambda self: np.real(self))
    imag = property(lambda self: np.imag(self))
    flat = property(lambda self: np.ravel(self))

    def __len__(self):
        if len(self.shape) == 0:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return np.reshape(self, shape, order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def ravel(self, order="C"):
        return np.ravel(self, order=order)

    def flatten(self, order="C"):
        return np.ravel(self, order=order).copy()

    def conj(self):
        return np.conjugate(self)

    conjugate = conj

    # same argument order as the ndarray methods
    sum, mean, prod, max, min, var, std = map(_forward, (np.sum, np.mean, np.prod, np.max, np.min, np.var, np.std))
    cumsum, cumprod, clip, take, repeat = map(_forward, (np.cumsum, np.cumprod, np.clip, np.take, np.repeat))
    diagonal, trace, swapaxes, squeeze, dot = map(_forward, (np.diagonal, np.trace, np.swapaxes, np.squeeze, np.dot))
