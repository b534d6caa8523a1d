"""Backends built from other backends: ``SecondOrder`` and ``MixedMode``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .._errors import InputError
from ._base import Backend

__all__ = ["SecondOrder", "MixedMode"]


class _Delegating(Backend):
    """Forwards the setup hooks to ``self._primary``."""

    @property
    def _primary(self) -> Backend:  # pragma: no cover - overridden
        raise NotImplementedError

    # capabilities follow the primary backend (subclasses override where they combine two)
    library = property(lambda self: self._primary.library)
    has_forward = property(lambda self: self._primary.has_forward)
    has_reverse = property(lambda self: self._primary.has_reverse)
    supports_inplace = property(lambda self: all(b.supports_inplace for b in self._members()))
    supports_cache = property(lambda self: all(b.supports_cache for b in self._members()))
    supports_complex = property(lambda self: all(b.supports_complex for b in self._members()))
    supports_second_order = property(lambda self: all(b.supports_second_order for b in self._members()))
    exact = property(lambda self: all(b.exact for b in self._members()))
    inplace_alternative = property(lambda self: self._primary.inplace_alternative)

    def check_available(self):
        for b in self._members():
            b.check_available()

    def check_input(self, x, library):
        for b in self._members():
            b.check_input(x, library)

    def check_contexts(self, values):
        for b in self._members():
            b.check_contexts(values)

    def to_native(self, x):
        return self._primary.to_native(x)

    def output_spec(self, f, x, ctx, spec, y=None):
        return self._primary.output_spec(f, x, ctx, spec, y)

    def array_namespace(self):
        return self._primary.array_namespace()

    def from_numpy_native(self, a, spec):
        return self._primary.from_numpy_native(a, spec)


@dataclass(frozen=True)
class SecondOrder(_Delegating):
    """Combine two backends for second-order operators: ``outer`` differentiates ``inner``'s derivative.

    ``hvp``/``hessian`` differentiate the gradient computed by ``inner`` with ``outer``
    (forward-over-reverse when ``outer`` is a forward backend); ``second_derivative``
    differentiates ``inner``'s derivative. First-order operators use ``inner``.
    ``outer`` must be able to differentiate code run by ``inner``: the same library, or
    ``AutoFiniteDiff`` (which only evaluates it).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> b = ad.SecondOrder(ad.AutoFiniteDiff(), ad.AutoFiniteDiff())
    >>> H = ad.hessian(lambda x: x[0]**2 * x[1], b, np.array([1.0, 2.0]))
    >>> np.allclose(H, [[4.0, 2.0], [2.0, 0.0]], atol=1e-5)
    True
    """

    outer: Backend
    inner: Backend
    name: ClassVar[str] = "second_order"
    supports_second_order = True  # the pair is explicit: operators check outer against inner

    def __post_init__(self):
        for b in (self.outer, self.inner):
            if not isinstance(b, Backend):
                raise InputError(
                    f"SecondOrder expects backends, got {b!r}.\n"
                    "Hint: pass backend objects, e.g. ad.SecondOrder(ad.AutoNumPy(mode='forward'), ad.AutoJax())."
                )

    @property
    def _primary(self):
        return self.inner

    def _members(self):
        return (self.outer, self.inner)

    def build_pushforward(self, f, spec):
        return self.inner.build_pushforward(f, spec)

    def build_pullback(self, f, spec):
        return self.inner.build_pullback(f, spec)

    def jacobian_mode(self, spec):
        return self.inner.jacobian_mode(spec)

    def fast_gradient(self, f, spec):
        return self.inner.fast_gradient(f, spec)

    def fast_jacobian(self, f, spec, mode):
        return self.inner.fast_jacobian(f, spec, mode)

    def fast_tree_gradient(self, f, argnums, spec, check):
        return self.inner.fast_tree_gradient(f, argnums, spec, check)


@dataclass(frozen=True)
class MixedMode(_Delegating):
    """Pushforwards from ``forward``, pullbacks from ``reverse`` (used by bidirectional sparse Jacobians).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> b = ad.MixedMode(ad.AutoFiniteDiff(), ad.AutoFiniteDiff())
    >>> ad.jacobian(lambda x: 2 * x, b, np.ones(2)).round(6)
    array([[2., 0.],
           [0., 2.]])
    """

    forward: Backend
    reverse: Backend
    name: ClassVar[str] = "mixed_mode"
    has_forward: ClassVar[bool] = True
    has_reverse: ClassVar[bool] = True

    @property
    def _primary(self):
        return self.forward

    def _members(self):
        return (self.forward, self.reverse)

    def build_pushforward(self, f, spec):
        return self.forward.build_pushforward(f, spec)

    def build_pullback(self, f, spec):
        return self.reverse.build_pullback(f, spec)

    jacobian_mode = Backend.jacobian_mode  # its own choice (the cheaper side), not the forward member's

    def raw_gradient(self, f, spec):
        return self.reverse.raw_gradient(f, spec)

    def raw_derivative(self, f, spec):
        return self.forward.raw_derivative(f, spec)
