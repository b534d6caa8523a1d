"""The backend contract: capabilities, two primitives, a table of optional fast paths.

A backend is a frozen dataclass of settings subclassing :class:`Backend`. It declares what it
can do with class attributes (``has_forward``, ``has_reverse``, ``supports_inplace``,
``supports_complex``, ``supports_second_order``, ...) and
implements ``build_pushforward`` (forward mode) and/or ``build_pullback`` (reverse mode). Each
*build* method runs once, at preparation, and returns a closure on the backend's native arrays:

* ``pushforward(x, T, ctx) -> (y, TY)`` with ``T`` of shape ``(B,) + x.shape`` (B tangents
  stacked on a leading axis) and ``TY`` of shape ``(B,) + y.shape``;
* ``pullback(x, DY, ctx) -> (y, TX)`` with ``DY`` of shape ``(B,) + y.shape``.

``ctx`` is the tuple of context values passed to ``f`` after ``x``. Everything else (gradient,
derivative, Jacobian, the other primitive, the complex convention, second order) is derived
once in :mod:`anydiff.operators._derive`. A backend with a faster native routine implements the
matching entry of :data:`FAST_PATHS`; each returns ``None`` when it has nothing faster for this
``spec``, and the operators then derive the result from the primitives.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._errors import BackendNotInstalledError, UnsupportedOperationError

__all__ = ["Backend", "FunctionSpec", "Built", "DerivativeFunction", "FAST_PATHS"]

#: The optional fast paths a backend may implement (method name -> what it returns). The base
#: class returns ``None`` from each: "nothing faster here, derive it from the primitives".
FAST_PATHS = {
    "fast_gradient": "(f, spec) -> Built(run=(x, ctx) -> (y, g), only=(x, ctx) -> g) or None",
    "fast_jacobian": "(f, spec, mode) -> Built(run=(x, ctx) -> (y, J), only=(x, ctx) -> J) or None",
    "fast_hessian": "(f, spec) -> Built(run=(x, ctx) -> ((y, g), H), only=(x, ctx) -> H) or None",
    "fast_tree_gradient": "(f, argnums, spec, check) -> (value_and_grad, grad) on pytree arguments, or None",
    "raw_gradient": "(f, spec) -> g(x, *ctx), a gradient this library can differentiate again (second order)",
    "raw_derivative": "(f, spec) -> d(x, *ctx), a derivative this library can differentiate again",
}

_INNER_HINT = (
    "Hint: use a backend that differentiates its own gradients as the inner one, e.g. "
    "ad.SecondOrder(ad.AutoFiniteDiff(), backend) or AutoJax()/AutoTorch()/AutoNumPy()."
)


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


@dataclass(frozen=True, slots=True)
class Built:
    """What an operator builds once per preparation (typed: nothing is stored on closures).

    ``run`` is the closure with the value (``(x, ctx) -> (y, result)``, or for the batched
    primitives ``(x, seeds, ctx) -> (y, results)``); ``only`` the closure without it (what a
    prepared ``ad.gradient``/``ad.jacobian`` runs); ``single`` an optional ``x -> result`` for
    calls without contexts (JAX: jit's one-argument dispatch); ``details`` backend data kept on
    the preparation (``AutoSparse``: its :class:`~anydiff.sparse.SparsePlan`).
    """

    run: Callable
    only: Callable | None = None
    single: Callable | None = None
    details: Any = None


class DerivativeFunction:
    """Base of the typed derivative functions a backend returns from ``raw_gradient``/``raw_derivative``
    when operators need to know more than how to call them.

    ``batch`` is the number of tangents one evaluation carries inside (AutoNumPy's forward-mode
    gradient: ``n``); the derived Jacobian of such a function uses smaller chunks of seeds.
    """

    __slots__ = ()
    batch = 1


class Backend:
    """Base class of every backend selector (frozen dataclasses holding settings only).

    Capabilities are class attributes read by the shared code; the methods are the two
    primitives, a few conversion hooks with NumPy defaults, and the optional fast paths of
    :data:`FAST_PATHS` (``None`` = derive it).
    """

    name: ClassVar[str] = "backend"
    library: ClassVar[str] = "numpy"  # native array library
    package: ClassVar[str | None] = None  # module that must be importable
    extra: ClassVar[str] = ""  # pip extra that installs it
    has_forward: ClassVar[bool] = False  # implements build_pushforward
    has_reverse: ClassVar[bool] = False  # implements build_pullback
    supports_inplace: ClassVar[bool] = False  # f(y, x) writing into y
    supports_cache: ClassVar[bool] = True  # ad.Cache contexts (f writes into them)
    supports_out: ClassVar[bool] = True
    exact: ClassVar[bool] = True  # False for finite differences
    # opt-in capabilities (False until a backend declares them; refused with a hint otherwise):
    supports_complex: ClassVar[bool] = False  # complex x or f(x), with JAX's convention (docs/architecture.md)
    supports_second_order: ClassVar[bool] = False  # hvp/hessian/second_derivative alone (raw_gradient)
    evaluates_only: ClassVar[bool] = False  # differentiates any callable by evaluating it (finite differences)
    inplace_alternative: ClassVar[str] = "AutoTorch(), AutoNumPy() or AutoFiniteDiff()"

    # ----------------------------------------------------------------- setup
    def check_available(self) -> None:
        """Raise :class:`BackendNotInstalledError` if the backend's library is missing."""
        if self.package is not None and importlib.util.find_spec(self.package) is None:
            raise BackendNotInstalledError(self.name, self.package, self.extra)

    def check_input(self, x, library: str) -> None:
        """Backend-specific checks of the input point (dtype support, array library)."""

    def check_contexts(self, values) -> None:
        """Backend-specific checks of the context values (e.g. a precision they would lose)."""

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

    def array_namespace(self):
        """``reshape``/``concatenate``/``stack`` for the native arrays (default: NumPy)."""
        return np

    def from_numpy_native(self, a, spec):
        """A NumPy array (seeds, basis vectors) as a native array (default: unchanged)."""
        return a

    # ------------------------------------------------------------ primitives
    def build_pushforward(self, f, spec: FunctionSpec) -> Callable:
        """Forward primitive (``has_forward = True``): ``(x, T, ctx) -> (y, TY)``."""
        raise UnsupportedOperationError(
            f"{self!r} declares has_forward but implements no build_pushforward.\n"
            "Hint: a backend implements build_pushforward and/or build_pullback (docs/architecture.md)."
        )

    def build_pullback(self, f, spec: FunctionSpec) -> Callable:
        """Reverse primitive (``has_reverse = True``): ``(x, DY, ctx) -> (y, TX)``."""
        raise UnsupportedOperationError(
            f"{self!r} declares has_reverse but implements no build_pullback.\n"
            "Hint: a backend implements build_pushforward and/or build_pullback (docs/architecture.md)."
        )

    # ---------------------------------------------- policy and optional fast paths
    def jacobian_mode(self, spec: FunctionSpec) -> str | None:
        """``"forward"``/``"reverse"`` to impose the Jacobian's mode, ``None`` for the cheaper side.

        Default: a ``mode`` setting decides square Jacobians (``AutoJax(mode="forward")``).
        """
        mode = getattr(self, "mode", None)
        return mode if mode in ("forward", "reverse") and spec.n == spec.m else None

    def fast_gradient(self, f, spec: FunctionSpec) -> Built | None:
        return None

    def fast_jacobian(self, f, spec: FunctionSpec, mode: str) -> Built | None:
        return None

    def fast_hessian(self, f, spec: FunctionSpec) -> Built | None:
        return None

    def fast_tree_gradient(self, f, argnums, spec: FunctionSpec, check: Callable):
        """``(value_and_grad, grad)`` on pytree arguments, or ``None`` (operators flatten).

        Both closures take ``f``'s positional arguments (native arrays; contexts at their
        positions) and differentiate with respect to ``argnums`` (an int or a tuple, as
        ``jax.grad``). ``check(actives)`` raises on a structure other than the prepared one;
        call it when tracing.
        """
        return

    # -------------------------------------------------------- second order
    def raw_gradient(self, f, spec: FunctionSpec) -> Callable:
        """Unprepared ``g(x, *ctx)``, differentiable again by this library's backends."""
        raise UnsupportedOperationError(f"{self!r} cannot be the inner backend of second-order operators.\n{_INNER_HINT}")

    def raw_derivative(self, f, spec: FunctionSpec) -> Callable:
        """Unprepared ``d(x, *ctx)`` of a scalar ``x``, differentiable again."""
        raise UnsupportedOperationError(f"{self!r} cannot be the inner backend of second-order operators.\n{_INNER_HINT}")

    def default_outer(self) -> Backend:
        """Outer backend used for second order when none is given (forward-over-reverse)."""
        return self

    @property
    def hvp_mode(self) -> str:
        """How this backend, as the outer one, applies the Hessian in HVPs (and sparse Hessians).

        ``"forward"``: forward over reverse, a pushforward of the gradient (the default).
        ``"reverse"``: reverse over reverse, a pullback of the gradient; the Hessian is symmetric,
        so both give ``H v``. A backend whose reverse mode is cheaper than its forward mode
        returns ``"reverse"`` (torch: about 2.5x faster on the chained Rosenbrock).
        """
        return "forward" if self.has_forward else "reverse"

    def can_differentiate(self, inner: Backend) -> bool:
        """Whether this backend can differentiate functions built by ``inner``."""
        return self.evaluates_only or inner.library == self.library

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
