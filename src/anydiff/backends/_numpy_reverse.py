"""AutoNumPy's reverse-mode closures (the engine is :mod:`anydiff.reverse`).

Second order (HVPs, Hessians) is forward over the reverse gradient, computed as
forward-over-reverse; if that path raises for ``f`` (an operation whose transpose cannot run on
duals), the prepared closure falls back to reverse-over-forward and remembers it.

With ``mode="auto"``, a function that applies an operation reverse mode cannot transpose
(:class:`~anydiff.reverse.NotTransposableError`) is differentiated in forward mode instead;
the prepared closure remembers that and goes straight to forward mode on later calls.
"""

from __future__ import annotations

import numpy as np

from ._base import Backend, FunctionSpec

__all__ = ["build_reverse_pullback", "reverse_raw_gradient"]


def _forward(backend):
    import dataclasses

    return dataclasses.replace(backend, mode="forward")


def build_reverse_pullback(backend, f, spec: FunctionSpec):
    """``pullback(x, DY, ctx) -> (y, TX)`` by one recording of ``f`` and one backward pass."""
    from ..reverse import NotTransposableError, pullback as reverse_pullback

    kinds = spec.context_kinds
    y_spec = (spec.y_shape, spec.y_dtype) if spec.inplace else None
    fallback = []

    def pullback(x, DY, ctx):
        if fallback:
            return fallback[0](x, DY, ctx)
        try:
            return reverse_pullback(f, x, DY, ctx, kinds, y_spec)
        except NotTransposableError:
            if backend.mode != "auto":
                raise
            fallback.append(Backend.build_pullback(_forward(backend), f, spec))
            return fallback[0](x, DY, ctx)

    return pullback


def reverse_raw_gradient(backend, f, spec: FunctionSpec, forward_raw_gradient):
    """``g(x, *ctx)``: the reverse-mode gradient, differentiable again by forward mode (HVPs)."""
    from ..dual import Dual
    from ..reverse import NotTransposableError, gradient as reverse_gradient
    from ..reverse._hvp import FALLBACK_ERRORS

    kinds = spec.context_kinds
    nested = []  # "reverse_over_forward" once forward-over-reverse failed on f and it did not

    def gradient(x, *ctx):
        if isinstance(x, Dual) and not nested:  # HVPs: forward over this gradient
            try:
                return reverse_gradient(f, x, ctx, kinds, nested="forward_over_reverse")
            except FALLBACK_ERRORS:
                result = other_paths(x, ctx)  # an error of f itself is raised here, not remembered
                nested.append("reverse_over_forward")
                return result
        return other_paths(x, ctx)

    def other_paths(x, ctx):
        try:
            return reverse_gradient(f, x, ctx, kinds, nested="reverse_over_forward")
        except NotTransposableError:
            if backend.mode != "auto":
                raise
            return forward_raw_gradient(f, spec)(x, *ctx)

    def pushforward(x, T, ctx):
        """Forward mode over this gradient without a second evaluation scope around it."""
        r = gradient(Dual(x, T), *ctx)
        if isinstance(r, Dual):
            return r.value, r.tangent
        r = np.asarray(r)  # a plain gradient (forward mode took over and f is linear): zero tangents
        return r, np.zeros((T.shape[0],) + r.shape, dtype=np.result_type(r.dtype, T.dtype))

    gradient._anydiff_pushforward = pushforward
    return gradient
