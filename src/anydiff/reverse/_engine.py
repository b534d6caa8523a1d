"""Reverse-mode entry points: record ``f`` on ``Dual(x, Lin)``, then transpose the tape.

* :func:`pullback`: ``B`` vector-Jacobian products from one recording and one backward pass
  (a vectorized pass over the ``B`` cotangents, or one pass each when a step needs it).
* :func:`gradient`: the pullback of 1 for scalar ``f``. Called on a forward-mode dual
  ``Dual(x, V)`` it returns ``Dual(g, H V)``: the gradient's pushforward, so forward mode
  over this gradient gives Hessian-vector products. It is computed by forward-over-reverse
  (:mod:`._hvp`: the tape is the outermost level, the backward pass runs on duals). When that
  path cannot run ``f`` it falls back to reverse-over-forward: ``f`` runs once on
  ``Dual(Dual(x, Lin), V)`` (the tape the innermost level) and one backward pass with
  ``B + 1`` cotangents gives ``g`` and the ``B`` products ``H v`` (``O(B^2)`` work per node).
"""

from __future__ import annotations

import numpy as np

from .._errors import UnsupportedOperationError
from ..backends._numpy_dual import _evaluate
from ..dual._core import Dual
from ._tape import Lin, Tape

__all__ = ["gradient", "pullback"]


def _tangent_dtype(x):
    dtype = np.asarray(x).dtype
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


def _record(f, x, V, ctx, kinds, y_spec):
    """Run ``f`` on ``Dual(x, seed)`` (``Dual(Dual(x, seed), V)`` when ``V`` is given)."""
    tape = Tape()
    dtype = _tangent_dtype(x)
    seed = Lin.leaf(tape, (1,) + np.shape(x), dtype)  # node 0
    if V is None:
        y = _evaluate(f, x, seed, ctx, kinds, y_spec)
    else:
        y = _evaluate(f, Dual(_readonly(x), seed), V, ctx, kinds, y_spec)
    return tape, seed, y


def _readonly(a):
    a = a.view()
    a.flags.writeable = False
    return a


def _split(y):
    """``(value, Lin or None)`` of a level-1 result."""
    if isinstance(y, Dual) and type(y.tangent) is Lin:
        return y.value, y.tangent
    if isinstance(y, Dual):  # a plain tangent: zero (it cannot depend on the seed)
        return y.value, None
    return y, None


def pullback(f, x, DY, ctx, kinds=(), y_spec=None):
    """``(y, TX)`` with ``TX[b] = DY[b] · J`` for ``DY`` of shape ``(B,) + y.shape``."""
    tape, seed, y = _record(f, x, None, ctx, kinds, y_spec)
    value, lin = _split(y)
    value = np.asarray(value)
    if lin is None:
        return value, np.zeros((DY.shape[0],) + seed.shape[1:], dtype=seed.dtype)
    DY = np.reshape(DY, (DY.shape[0],) + lin.shape[1:])
    return value, tape.backward({lin.node: DY}, 0, seed.shape, seed.dtype, release=True)


def gradient(f, x, ctx, kinds=(), nested="auto"):
    """Gradient of scalar ``f`` at a plain array, or ``Dual(g, H V)`` at a dual ``Dual(x, V)``.

    ``nested`` chooses how a dual ``x`` is handled: ``"auto"`` (forward-over-reverse, and
    reverse-over-forward if that raises), ``"forward_over_reverse"`` or ``"reverse_over_forward"``.
    """
    from ..dual import Dual, level

    if not isinstance(x, Dual):
        one = np.ones((1,), dtype=_tangent_dtype(x))
        return pullback(f, x, one, ctx, kinds)[1][0]
    if level(x) != 1 or isinstance(x.tangent, Lin) or isinstance(x.value, Lin):
        raise UnsupportedOperationError(
            "AutoNumPy's reverse-mode gradient can be differentiated once more in forward mode only.\n"
            "Hint: use ad.hessian / ad.hvp with AutoNumPy() (forward over reverse), or AutoNumPy(mode='forward')."
        )
    if nested != "reverse_over_forward":
        from ._hvp import FALLBACK_ERRORS, forward_over_reverse

        try:
            return forward_over_reverse(f, x, ctx, kinds)
        except FALLBACK_ERRORS:
            if nested != "auto":
                raise
    return _reverse_over_forward(f, x, ctx, kinds)


def _reverse_over_forward(f, x, ctx, kinds):
    from ..dual import Dual

    x0, V = x.value, x.tangent
    B = V.shape[0]
    tape, seed, y = _record(f, x0, V, ctx, kinds, None)
    (y0, ly), (ty, lty) = _levels(y)
    seeds = {}
    dtype = seed.dtype
    if ly is not None:
        s = np.zeros((B + 1,) + ly.shape[1:], dtype=dtype)
        s[0] = 1
        seeds[ly.node] = s
    if lty is not None:
        s = np.zeros((B + 1,) + lty.shape[1:], dtype=dtype)
        s[1:] = np.eye(B, dtype=dtype).reshape((B,) + lty.shape[1:])
        seeds[lty.node] = s if lty.node not in seeds else seeds[lty.node] + s
    if not seeds:
        zeros = np.zeros((B + 1,) + np.shape(x0), dtype=dtype)
        return Dual(zeros[0], zeros[1:])
    R = tape.backward(seeds, 0, seed.shape, dtype, release=True)
    return Dual(R[0], R[1:])


def _levels(y):
    """``((y0, Lin of y0), (ty, Lin of ty))`` of a level-2 result (``None`` where zero)."""
    from ..dual import Dual

    if isinstance(y, Dual) and type(y.tangent) is Lin:  # no dependence on V
        return (y.value, y.tangent), (None, None)
    if not isinstance(y, Dual):
        return (y, None), (None, None)
    return _split(y.value), _split(y.tangent)
