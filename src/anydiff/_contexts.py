"""Context arguments: extra, non-differentiated arguments passed after ``x``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Context", "Constant", "Cache"]


class Context:
    """Base class of the wrappers for non-differentiated arguments."""

    kind: str = "context"
    value: Any


@dataclass(frozen=True, eq=False)
class Constant(Context):
    """A value passed to ``f`` after ``x`` that is not differentiated.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> f = lambda x, a: a * np.sum(x**2)
    >>> ad.gradient(f, ad.AutoFiniteDiff(), np.array([1.0, 2.0]), ad.Constant(3.0)).round(5)
    array([ 6., 12.])
    """

    value: Any
    kind = "constant"


@dataclass(frozen=True, eq=False)
class Cache(Context):
    """A scratch buffer passed to ``f`` after ``x``, which ``f`` may overwrite.

    anydiff may hand ``f`` a buffer of another type with the same shape (for example one
    that can hold dual numbers or tracked tensors), so ``f`` must not rely on the buffer's
    identity or its contents between calls. Not supported by backends with immutable arrays
    (JAX, autograd): they raise :class:`~anydiff.UnsupportedOperationError`.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> def f(x, buf):
    ...     buf[:] = x**2
    ...     return np.sum(buf)
    >>> ad.gradient(f, ad.AutoFiniteDiff(), np.array([1.0, 2.0]), ad.Cache(np.zeros(2))).round(5)
    array([2., 4.])
    """

    value: Any
    kind = "cache"
