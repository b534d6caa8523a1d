"""AutoNumPy's reverse-mode closures (the engine is :mod:`anydiff.reverse`), as typed objects.

Second order (HVPs, Hessians) is forward over the reverse gradient, computed as
forward-over-reverse; if that path raises for ``f`` (an operation whose transpose cannot run on
duals), the prepared :class:`ReverseGradient` falls back to reverse-over-forward and remembers it.

With ``mode="auto"``, a function that applies an operation reverse mode cannot transpose
(:class:`~anydiff.reverse.NotTransposableError`) is differentiated in forward mode instead;
the prepared :class:`ReversePullback` remembers that and goes straight to forward mode on later calls.
"""

from __future__ import annotations

import numpy as np

from ._base import DerivativeFunction, FunctionSpec

__all__ = ["ReversePullback", "ReverseGradient"]


_ENGINE: list = []  # anydiff.reverse, imported on first use (import anydiff stays light)


def _engine():
    from .. import reverse

    _ENGINE.append(reverse)
    return reverse


def _forward(backend):
    import dataclasses

    return dataclasses.replace(backend, mode="forward")


class ReversePullback:
    """``pullback(x, DY, ctx) -> (y, TX)`` by one recording of ``f`` and one backward pass.

    State: ``fallback``, the forward-mode pullback that took over (``mode="auto"`` only).
    """

    __slots__ = ("backend", "f", "spec", "y_spec", "fallback")

    def __init__(self, backend, f, spec: FunctionSpec):
        self.backend, self.f, self.spec = backend, f, spec
        self.y_spec = (spec.y_shape, spec.y_dtype) if spec.inplace else None
        self.fallback = None

    def __call__(self, x, DY, ctx):
        if self.fallback is not None:
            return self.fallback(x, DY, ctx)
        reverse = _ENGINE[0] if _ENGINE else _engine()
        try:
            return reverse.pullback(self.f, x, DY, ctx, self.spec.context_kinds, self.y_spec)
        except reverse.NotTransposableError:
            if self.backend.mode != "auto":
                raise
            from ..operators._derive import pullback  # the pullback derived from forward mode

            self.fallback = pullback(_forward(self.backend), self.f, self.spec)
            return self.fallback(x, DY, ctx)


class ReverseGradient(DerivativeFunction):
    """``g(x, *ctx)``: the reverse-mode gradient, differentiable again by forward mode (HVPs).

    State: ``nested``, set to ``"reverse_over_forward"`` once forward-over-reverse failed on
    ``f`` and reverse-over-forward did not.
    """

    __slots__ = ("backend", "f", "spec", "nested")

    def __init__(self, backend, f, spec: FunctionSpec):
        self.backend, self.f, self.spec = backend, f, spec
        self.nested = None

    def __call__(self, x, *ctx):
        from ..dual import Dual
        from ..reverse import gradient as reverse_gradient
        from ..reverse._hvp import FALLBACK_ERRORS

        if isinstance(x, Dual) and self.nested is None:  # HVPs: forward over this gradient
            try:
                return reverse_gradient(self.f, x, ctx, self.spec.context_kinds, nested="forward_over_reverse")
            except FALLBACK_ERRORS:
                result = self._other_paths(x, ctx)  # an error of f itself is raised here, not remembered
                self.nested = "reverse_over_forward"
                return result
        return self._other_paths(x, ctx)

    def _other_paths(self, x, ctx):
        from ..reverse import NotTransposableError
        from ..reverse import gradient as reverse_gradient

        try:
            return reverse_gradient(self.f, x, ctx, self.spec.context_kinds, nested="reverse_over_forward")
        except NotTransposableError:
            if self.backend.mode != "auto":
                raise
            from ._numpy_dual import ForwardGradient

            return ForwardGradient(self.f, self.spec)(x, *ctx)

    def pushforward(self, x, T, ctx):
        """Forward mode over this gradient without a second evaluation scope around it.

        The ``B`` directions of ``T`` go through in groups of at most :data:`HVP_ELEMENTS`
        tangent entries (a dense Hessian is ``n`` directions): each recorded value carries its
        group's tangents, so a group bounds the memory of one pass, not the number of passes.
        """
        B, size = T.shape[0], max(1, int(np.prod(np.shape(x))))
        step = max(MIN_GROUP, HVP_ELEMENTS // size)
        if B <= step or type(T) is not np.ndarray:
            return self._directions(x, T, ctx)
        g, HV = self._directions(x, T[:step], ctx)
        out = np.empty((B,) + HV.shape[1:], dtype=HV.dtype)
        out[:step] = HV
        del HV
        for start in range(step, B, step):
            out[start : start + step] = self._directions(x, T[start : start + step], ctx)[1]
        return g, out

    def _directions(self, x, T, ctx):
        from ..dual import Dual

        r = self(Dual(x, T), *ctx)
        if isinstance(r, Dual):
            return r.value, r.tangent
        r = np.asarray(r)  # a plain gradient (forward mode took over and f is linear): zero tangents
        return r, np.zeros((T.shape[0],) + r.shape, dtype=np.result_type(r.dtype, T.dtype))


#: Tangent entries one forward-over-reverse pass carries at most (``B`` directions times the
#: size of ``x``): 2**19 (4 MiB of float64 per tangent array; a pass keeps several), but at
#: least :data:`MIN_GROUP` directions per pass (a pass costs about ``1 + B`` gradients: groups
#: of 8 add at most 1/8 to the time; a few colors of a sparse Hessian stay one pass).
HVP_ELEMENTS = 2**19
MIN_GROUP = 8
