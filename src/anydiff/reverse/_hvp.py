"""Forward-over-reverse: the reverse-mode gradient pushed forward along ``B`` directions at once.

``f`` is recorded once with the tape as the *outermost* level: it runs on
``Dual(Dual(x, V), seed)`` where ``seed`` is an outer :class:`~anydiff.reverse.Lin`
(``Tape(outer=True)``). The values ``f`` computes are forward-mode duals ``Dual(u, du V)``, so
the partial derivatives and constant operands each record keeps are duals too, and the
backward pass, plain NumPy code on those duals, is run by the forward engine: the cotangent
of ``x`` comes out as ``Dual(g, H V)``. One recording and one backward pass cost about
``1 + B`` gradients (reverse-over-forward carries ``B + 1`` cotangents through ``(B, n)``-sized
tangent nodes, ``O(B^2)`` work per node).

An operation whose transpose cannot run on duals raises an anydiff error here; the callers
(:func:`anydiff.reverse.gradient`, AutoNumPy's prepared closures) then use
reverse-over-forward for that function.
"""

from __future__ import annotations

import numpy as np

from .._errors import AnyDiffError
from ._tape import Lin, Tape

__all__ = ["FALLBACK_ERRORS", "forward_over_reverse"]

#: Errors after which reverse-over-forward is tried instead (it raises them again if they come
#: from ``f`` itself). A failure of this path is never turned into a result.
FALLBACK_ERRORS = (AnyDiffError, TypeError, ValueError, IndexError, AttributeError, NotImplementedError)


def _tangent_dtype(x):
    dtype = np.asarray(x).dtype
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


def _readonly(a):
    a = a.view()
    a.flags.writeable = False
    return a


def forward_over_reverse(f, x, ctx, kinds=()):
    """``Dual(g, H V)`` for scalar ``f`` at ``x = Dual(x0, V)`` (``V`` of shape ``(B,) + x0.shape``)."""
    from ..backends._numpy_dual import _evaluate
    from ..dual import Dual
    from ..dual._core import OUTER_LEVEL, level

    x0, V = np.asarray(x.value), np.ascontiguousarray(x.tangent)  # strided tangents cost every op
    B, dtype = V.shape[0], _tangent_dtype(x0)
    tape = Tape(outer=True)
    seed = Lin.leaf(tape, (1,) + x0.shape, dtype)  # node 0
    y = _evaluate(f, Dual(_readonly(x0), _readonly(V)), seed, ctx, kinds, None)
    out = None
    if isinstance(y, Dual) and level(y) > OUTER_LEVEL and type(y.tangent) is Lin:
        lin = y.tangent
        node, one = lin.node, np.ones((1,) + lin.shape[1:], dtype=dtype)
        del y, lin  # what f computed is no longer needed: only the tape's records are
        out = tape.sweep({node: one}, 0, release=True)
    g, HV = _parts(out, B, x0.shape, dtype)
    return Dual(g, HV)


def _parts(out, B, shape, dtype):
    """``(g, HV)`` as arrays of ``dtype`` from the raw cotangent of the seed."""
    from ..dual import Dual

    if out is None:
        return np.zeros(shape, dtype=dtype), np.zeros((B,) + shape, dtype=dtype)
    if isinstance(out, Dual):
        g, T = out.value, out.tangent
    else:  # the cotangent does not depend on V (f is quadratic with constant partials, ...)
        g, T = out, None
    if isinstance(g, Dual) or isinstance(T, Dual):
        raise TypeError("forward-over-reverse produced a nested dual cotangent")
    g = _cast(g, dtype).reshape(shape)
    if T is None:
        return g, np.zeros((B,) + shape, dtype=dtype)
    if type(T) is Lin:  # f's contexts carry another reverse pass's tangents (reverse over this
        # gradient, e.g. optimality conditions pulled back in x): keep them symbolic
        return g, np.reshape(T if T.dtype == dtype else T.astype(dtype), (B,) + shape)
    return g, _cast(T, dtype).reshape((B,) + shape)


def _cast(a, dtype):
    a = np.asarray(a)
    if np.dtype(dtype).kind != "c" and a.dtype.kind == "c":
        a = a.real
    return a.astype(dtype, copy=False)
