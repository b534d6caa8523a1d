"""The backend base class: two primitives, everything else derived once.

An adapter implements ``build_pushforward`` (forward mode) and/or ``build_pullback``
(reverse mode). Each *build* method runs once, at preparation, and returns a closure on the
backend's native arrays:

* ``pushforward(x, T, ctx) -> (y, TY)`` with ``T`` of shape ``(B,) + x.shape`` (B tangents
  stacked on a leading axis) and ``TY`` of shape ``(B,) + y.shape``;
* ``pullback(x, DY, ctx) -> (y, TX)`` with ``DY`` of shape ``(B,) + y.shape``.

``ctx`` is the tuple of context values passed to ``f`` after ``x``. The base class derives
gradient, derivative and jacobian closures from these; adapters override a build method only
to use a faster native routine (``jax.grad``, ``jax.jacfwd``, ``torch.func.jacrev`` ...).
Second-order operators come from :class:`anydiff.SecondOrder` using ``raw_gradient`` and
``raw_derivative``: plain (unprepared) derivative functions that the outer backend can
differentiate again.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._errors import BackendNotInstalledError, UnsupportedOperationError

__all__ = ["Backend", "FunctionSpec", "Built"]

_INNER_HINT = (
    "Hint: use a backend that differentiates its own gradients as the inner one, e.g. "
    "ad.SecondOrder(ad.AutoFiniteDiff(), ad.AutoNumPy()) or AutoJax()/AutoTorch()."
)

#: Largest number of array elements a batch of basis tangents (B * size) may hold.
MAX_BATCH_ELEMENTS = 2**24


@dataclass(frozen=True)
class FunctionSpec:
    """What the build methods know about the function at preparation time."""

    x_shape: tuple
    x_dtype: object
    y_shape: tuple
    y_dtype: object
    inplace: bool  # f(y, x, *ctx) writes into y
    context_kinds: tuple  # ("constant" | "cache", ...)
    input_library: str  # library of the user's x ("numpy", "jax", "torch")
    # the point and context values of the preparation, for builders that need values
    # (sparsity detection); only set while building, never compared
    point: Any = field(default=None, compare=False, repr=False)
    contexts: tuple = field(default=(), compare=False, repr=False)
    same_point: bool = field(default=False, compare=False, repr=False)  # closures only see spec.point

    @property
    def n(self) -> int:
        return math.prod(self.x_shape)

    @property
    def m(self) -> int:
        return math.prod(self.y_shape)

    def with_output(self, y_shape, y_dtype, inplace=False) -> FunctionSpec:
        return FunctionSpec(
            self.x_shape, self.x_dtype, tuple(y_shape), y_dtype, inplace,
            self.context_kinds, self.input_library, self.point, self.contexts, self.same_point,
        )


@dataclass(frozen=True)
class Built:
    """What a build method returns when it has more than the closure (instead of function attributes).

    ``run`` is the closure ``(x, ctx) -> ...``; ``single`` an optional ``x -> ...`` for calls
    without contexts (JAX: jit's one-argument dispatch); ``details`` backend data worth keeping
    on the preparation (a sparse backend's coloring and pattern, say). Preparations unpack it,
    so prepared calls run the closures directly.
    """

    run: Callable
    single: Callable | None = None
    details: Any = None


class Backend:
    """Base class of every backend selector (frozen dataclasses holding settings only)."""

    name: ClassVar[str] = "backend"
    library: ClassVar[str] = "numpy"  # native array library
    package: ClassVar[str | None] = None  # module that must be importable
    extra: ClassVar[str] = ""  # pip extra that installs it
    has_forward: ClassVar[bool] = False
    has_reverse: ClassVar[bool] = False
    supports_inplace: ClassVar[bool] = False
    supports_cache: ClassVar[bool] = True
    supports_out: ClassVar[bool] = True
    exact: ClassVar[bool] = True  # False for finite differences
    inplace_alternative: ClassVar[str] = "AutoTorch(), AutoNumPy() or AutoFiniteDiff()"

    # ----------------------------------------------------------------- setup
    def check_available(self) -> None:
        """Raise :class:`BackendNotInstalledError` if the backend's library is missing."""
        if self.package is not None and importlib.util.find_spec(self.package) is None:
            raise BackendNotInstalledError(self.name, self.package, self.extra)

    def check_input(self, x, library: str) -> None:
        """Backend-specific checks of the input point (dtype support, array library)."""

    def check_spec(self, spec: FunctionSpec) -> None:
        if spec.inplace and not self.supports_inplace:
            raise UnsupportedOperationError(
                f"{self!r} cannot differentiate in-place functions f(y, x).\n"
                f"Hint: use {self.inplace_alternative}, or rewrite f to return its output."
            )
        if "cache" in spec.context_kinds and not self.supports_cache:
            raise UnsupportedOperationError(
                f"{self!r} cannot differentiate through writes into a Cache (its arrays are immutable).\n"
                f"Hint: use {self.inplace_alternative}, or allocate the scratch array inside f."
            )

    def to_native(self, x):
        """Convert a user array to what the closures take (default: unchanged)."""
        return x

    def output_spec(self, f, x, ctx, spec: FunctionSpec, y=None) -> FunctionSpec:
        """Evaluate ``f`` once (or its shape) and return ``spec`` completed with the output."""
        from .._arrays import check_output

        if y is not None:
            return spec.with_output(tuple(y.shape), y.dtype, inplace=True)
        out = check_output(f(x, *ctx))
        shape = tuple(getattr(out, "shape", ()))
        dtype = getattr(out, "dtype", np.asarray(out).dtype)
        return spec.with_output(shape, dtype)

    # ------------------------------------------------------------ primitives
    def build_pushforward(self, f, spec: FunctionSpec) -> Callable:
        if self.has_reverse:
            return self._pushforward_from_pullback(f, spec)
        raise UnsupportedOperationError(
            f"{self!r} implements no pushforward (and no pullback to derive it from).\n"
            "Hint: a backend implements build_pushforward and/or build_pullback (docs/architecture.md)."
        )

    def build_pullback(self, f, spec: FunctionSpec) -> Callable:
        if self.has_forward:
            return self._pullback_from_pushforward(f, spec)
        raise UnsupportedOperationError(
            f"{self!r} implements no pullback (and no pushforward to derive it from).\n"
            "Hint: a backend implements build_pushforward and/or build_pullback (docs/architecture.md)."
        )

    # ------------------------------------------------- derived (override for speed)
    def jacobian_mode(self, spec: FunctionSpec) -> str:
        """``"forward"`` or ``"reverse"``: the cheaper side, among what the backend has."""
        preferred = getattr(self, "mode", None)
        if self.has_forward and _is_complex(spec.x_dtype):
            return "forward"  # holomorphic Jacobians: J v is well defined, vᴴ J conventions differ
        if self.has_forward and self.has_reverse:
            if preferred in ("forward", "reverse") and spec.n == spec.m:
                return preferred
            return "forward" if spec.n <= spec.m else "reverse"
        return "forward" if self.has_forward else "reverse"

    def build_jacobian(self, f, spec: FunctionSpec) -> Callable:
        """Closure ``(x, ctx) -> (y, J)`` with ``J`` of shape ``y.shape + x.shape``."""
        xp = self.array_namespace()
        n, m = spec.n, spec.m
        if _real_of_complex(spec) and self.has_forward:
            jac_c = self._real_of_complex_jacobian(f, spec)

            def jacobian_complex(x, ctx):
                y, J = jac_c(x, ctx)
                return y, xp.reshape(J, spec.y_shape + spec.x_shape)

            return jacobian_complex
        if self.jacobian_mode(spec) == "forward":
            prim, k, shape = self.build_pushforward(f, spec), n, spec.x_shape
        else:
            prim, k, shape = self.build_pullback(f, spec), m, spec.y_shape
        chunk = max(1, min(k, MAX_BATCH_ELEMENTS // max(1, n + m)))
        bases = [self.basis(start, min(start + chunk, k), k, shape, spec) for start in range(0, k, chunk)]
        forward = self.jacobian_mode(spec) == "forward"

        def jacobian(x, ctx):
            parts = []
            for seeds in bases:
                y, block = prim(x, seeds, ctx)
                parts.append(block)
            block = parts[0] if len(parts) == 1 else xp.concatenate(parts)
            rows = xp.reshape(block, (k, -1))
            J = rows.T if forward else rows  # (m, n)
            return y, xp.reshape(J, spec.y_shape + spec.x_shape)

        return jacobian

    def build_jacobian_only(self, f, spec: FunctionSpec) -> Callable:
        """Closure ``(x, ctx) -> J`` (no value): what a prepared ``ad.jacobian`` runs."""
        value_and_jacobian = self.build_jacobian(f, spec)
        return lambda x, ctx: value_and_jacobian(x, ctx)[1]

    def build_jacobian_pair(self, f, spec: FunctionSpec) -> tuple:
        """``(value_and_jacobian, jacobian_only)`` closures, built together."""
        return self.build_jacobian(f, spec), self.build_jacobian_only(f, spec)

    def build_gradient(self, f, spec: FunctionSpec) -> Callable:
        """Closure ``(x, ctx) -> (y, g)`` for scalar-valued ``f``."""
        xp = self.array_namespace()
        if _real_of_complex(spec) and not self.has_reverse:
            jac = self._real_of_complex_jacobian(f, spec)

            def gradient_complex(x, ctx):
                y, J = jac(x, ctx)
                return y, xp.reshape(J, spec.x_shape)

            return gradient_complex
        if self.has_reverse:
            pullback = self.build_pullback(f, spec)
            seed = self.ones((1,) + spec.y_shape, spec)

            def gradient(x, ctx):
                y, tx = pullback(x, seed, ctx)
                return y, tx[0]

            return gradient
        jac = self.build_jacobian(f, spec)

        def gradient_forward(x, ctx):
            y, J = jac(x, ctx)
            return y, xp.reshape(J, spec.x_shape)

        return gradient_forward

    def build_gradient_only(self, f, spec: FunctionSpec) -> Callable:
        """Closure ``(x, ctx) -> g`` (no value): what a prepared ``ad.gradient`` runs."""
        value_and_gradient = self.build_gradient(f, spec)
        return lambda x, ctx: value_and_gradient(x, ctx)[1]

    def build_derivative(self, f, spec: FunctionSpec) -> Callable:
        """Closure ``(x, ctx) -> (y, dy)`` for scalar input."""
        if self.has_forward:
            pushforward = self.build_pushforward(f, spec)
            seed = self.ones((1,) + spec.x_shape, spec)

            def derivative(x, ctx):
                y, ty = pushforward(x, seed, ctx)
                return y, ty[0]

            return derivative
        jac = self.build_jacobian(f, spec)
        xp = self.array_namespace()

        def derivative_reverse(x, ctx):
            y, J = jac(x, ctx)
            return y, xp.reshape(J, spec.y_shape)

        return derivative_reverse

    def _pushforward_from_pullback(self, f, spec):
        jac = self.build_jacobian(f, spec)
        xp = self.array_namespace()

        def pushforward(x, T, ctx):
            y, J = jac(x, ctx)
            Jm = xp.reshape(J, (spec.m, spec.n))
            TY = xp.reshape(T, (T.shape[0], spec.n)) @ Jm.T
            return y, xp.reshape(TY, (T.shape[0],) + spec.y_shape)

        return pushforward

    def _real_of_complex_jacobian(self, f, spec):
        """``(x, ctx) -> (y, J)`` for real ``f`` of complex ``x`` (JAX's convention).

        ``J = ∂f/∂Re x − i ∂f/∂Im x`` (shape ``(m, n)``), from pushforwards along the real
        and the imaginary basis directions: what ``jax.grad``/``jax.vjp`` return.
        """
        xp = self.array_namespace()
        pushforward = self.build_pushforward(f, spec)
        n = spec.n
        E = np.eye(n, dtype=_np_dtype(spec.x_dtype))
        seeds = self.from_numpy_native(np.concatenate([E, 1j * E]).reshape((2 * n,) + spec.x_shape), spec)

        def jacobian(x, ctx):
            y, TY = pushforward(x, seeds, ctx)
            rows = xp.reshape(TY, (2 * n, spec.m))
            return y, (rows[:n] - 1j * rows[n:]).T

        return jacobian

    def _pullback_from_pushforward(self, f, spec):
        if _real_of_complex(spec):
            jac_c = self._real_of_complex_jacobian(f, spec)
            xp = self.array_namespace()

            def pullback_complex(x, DY, ctx):
                y, J = jac_c(x, ctx)
                TX = xp.reshape(DY, (DY.shape[0], spec.m)) @ J
                return y, xp.reshape(TX, (DY.shape[0],) + spec.x_shape)

            return pullback_complex
        jac = self.build_jacobian(f, spec)
        xp = self.array_namespace()

        def pullback(x, DY, ctx):
            y, J = jac(x, ctx)
            Jm = xp.reshape(J, (spec.m, spec.n))
            TX = xp.reshape(DY, (DY.shape[0], spec.m)) @ Jm
            return y, xp.reshape(TX, (DY.shape[0],) + spec.x_shape)

        return pullback

    def build_tree_gradient(self, f, argnums, spec: FunctionSpec, check: Callable):
        """Optional fast path: ``(value_and_grad, grad)`` on pytree arguments, or ``None``.

        Both closures take ``f``'s positional arguments (native arrays; contexts at their
        positions) and differentiate with respect to ``argnums`` (an int or a tuple, as
        ``jax.grad``). ``check(actives)`` raises on a structure other than the prepared one;
        call it when tracing. ``None`` (the default) means operators flatten the arguments
        into one vector and use the primitives.
        """
        return

    # -------------------------------------------------------- second order
    def raw_gradient(self, f, spec: FunctionSpec) -> Callable:
        """Unprepared ``g(x, *ctx)``, differentiable again by this library's backends."""
        raise UnsupportedOperationError(f"{self!r} cannot be the inner backend of second-order operators.\n{_INNER_HINT}")

    def raw_derivative(self, f, spec: FunctionSpec) -> Callable:
        raise UnsupportedOperationError(f"{self!r} cannot be the inner backend of second-order operators.\n{_INNER_HINT}")

    def default_outer(self) -> Backend:
        """Outer backend used for second order when none is given (forward-over-reverse)."""
        return self

    def can_differentiate(self, inner: Backend) -> bool:
        """Whether this backend can differentiate functions built by ``inner``."""
        return inner.library == self.library

    # ------------------------------------------------------------- arrays
    def array_namespace(self):
        return np

    def basis(self, start, stop, k, shape, spec):
        """Stacked basis vectors ``e_start .. e_{stop-1}`` of R^k, reshaped to ``shape``."""
        E = np.zeros((stop - start, k), dtype=np.dtype(_np_dtype(spec.x_dtype)))
        E[np.arange(stop - start), np.arange(start, stop)] = 1
        return self.from_numpy_native(E.reshape((stop - start,) + tuple(shape)), spec)

    def ones(self, shape, spec):
        return self.from_numpy_native(np.ones(shape, dtype=_np_dtype(spec.x_dtype)), spec)

    def from_numpy_native(self, a, spec):
        return a

    def __repr__(self) -> str:  # dataclass repr is replaced by the subclasses' own
        return f"{type(self).__name__}()"


def _real_of_complex(spec) -> bool:
    """A real-valued function of a complex input (not holomorphic: both parts of x matter)."""
    return _is_complex(spec.x_dtype) and spec.y_dtype is not None and not _is_complex(spec.y_dtype)


def _is_complex(dtype) -> bool:
    return getattr(dtype, "is_complex", False) is True or _np_dtype(dtype).kind == "c"


def _np_dtype(dtype):
    """NumPy dtype of a NumPy/JAX/torch dtype."""
    try:
        return np.dtype(dtype)
    except TypeError:
        import torch

        return torch.empty((), dtype=dtype).numpy().dtype
