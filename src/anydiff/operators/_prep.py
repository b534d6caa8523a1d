"""Preparation objects: one class per operator, and the checks that keep them honest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .._arrays import as_input, library_of
from .._contexts import Context
from .._errors import InputError, PreparationMismatchError, UnsupportedOperationError
from ..backends._base import Backend, FunctionSpec
from ._signature import context_signature

__all__ = [
    "Prep", "PushforwardPrep", "PullbackPrep", "DerivativePrep", "GradientPrep", "JacobianPrep",
    "SecondDerivativePrep", "HVPPrep", "HessianPrep",
]


@dataclass(frozen=True, eq=False)
class Prep:
    """What ``prepare_<op>`` built: the compiled closure plus the signature it is valid for.

    Use it only with the same operator, function, backend, input shape/dtype/library and
    context kinds; anything else raises :class:`~anydiff.PreparationMismatchError`.
    """

    f: Callable
    backend: Backend
    spec: FunctionSpec
    run: Callable = field(repr=False)
    x_type: type = field(repr=False)
    back: Callable = field(repr=False)  # native result -> user's library
    to_native: Callable = field(repr=False)
    ctx_native: tuple = field(repr=False, default=())  # per context: converter or None
    point: Any = field(repr=False, default=None)  # for *_same_point preparations: a copy of x
    point_contexts: tuple = field(repr=False, default=())  # ... and of the context values
    run_only: Callable | None = field(repr=False, default=None)  # derivative without the value
    single: Callable | None = field(repr=False, default=None)  # run_only(x) without contexts (JAX)
    details: Any = field(repr=False, default=None)  # backend data, e.g. a sparse backend's coloring
    context_sig: tuple = field(repr=False, default=())  # types, shapes and dtypes of the contexts

    def __post_init__(self):
        object.__setattr__(self, "_scalar_input", not hasattr(self.x_type, "shape"))
        object.__setattr__(self, "fast", _fast_call(self))

    operator = "operator"

    # -- fast check on every prepared call ------------------------------------
    def check(self, f, backend, x, contexts, y=None):
        spec = self.spec
        if type(backend) is str:
            from ..backends import resolve_backend

            backend = resolve_backend(backend)
        if type(x) is not self.x_type or self._scalar_input:  # Python/NumPy scalars, 0-d arrays
            xa, lib = self._as_input(x)
            if lib != spec.input_library:
                self._mismatch(f, backend, x, contexts, y)
            x = xa
        if (
            f is not self.f
            or (backend is not self.backend and backend != self.backend)
            or getattr(x, "shape", None) != spec.x_shape
            or x.dtype != spec.x_dtype
            or len(contexts) != len(spec.context_kinds)
            or (y is None) == spec.inplace
        ):
            self._mismatch(f, backend, x, contexts, y)
        if y is not None and tuple(y.shape) != spec.y_shape:
            self._mismatch(f, backend, x, contexts, y)
        if contexts and context_signature(contexts) != self.context_sig:
            self._mismatch(f, backend, x, contexts, y)
        if self.point is not None:
            self.check_point(x, contexts)

    def check_point(self, x, contexts):
        """A same-point preparation: refuse another ``x`` or other context values."""
        if not (
            _same_values(x, self.point)
            and all(_same_values(c.value, v) for c, v in zip(contexts, self.point_contexts))
        ):
            raise PreparationMismatchError(
                f"This {type(self).__name__} was prepared for one point (a *_same_point preparation), "
                "but is used at another x or with other context values.\nHint: prepare again at the "
                "new point, or use the non-same-point prepare function."
            )

    def _as_input(self, x):
        try:
            return as_input(x)
        except InputError:
            from .._trees import is_tree_argument

            if not is_tree_argument(x):
                raise
            raise PreparationMismatchError(
                f"This {type(self).__name__} was prepared for one array, but x is a {type(x).__name__} "
                f"(a tree).\nHint: call ad.prepare_{self.operator}(...) again with this call's arguments."
            ) from None

    def _mismatch(self, f, backend, x, contexts, y):
        spec = self.spec
        if type(backend) is str:
            from ..backends import resolve_backend

            backend = resolve_backend(backend)
        got_x, lib = as_input(x) if not hasattr(x, "shape") else (x, library_of(x))
        problems = []
        if f is not self.f:
            problems.append("function: a different function object than at preparation")
        if backend != self.backend:
            problems.append(f"backend: prepared {self.backend!r}, got {backend!r}")
        if tuple(got_x.shape) != spec.x_shape:
            problems.append(f"shape: prepared {spec.x_shape}, got {tuple(got_x.shape)}")
        if got_x.dtype != spec.x_dtype:
            problems.append(f"dtype: prepared {spec.x_dtype}, got {got_x.dtype}")
        if lib != spec.input_library:
            problems.append(f"array library: prepared {spec.input_library}, got {lib}")
        kinds = tuple(getattr(c, "kind", "?") for c in contexts)
        if kinds != spec.context_kinds:
            problems.append(f"contexts: prepared {spec.context_kinds}, got {kinds}")
        elif context_signature(contexts) != self.context_sig:
            problems.append("contexts: values of another type, shape or dtype than at preparation "
                            "(f's output may depend on them)")
        if (y is None) == spec.inplace:
            problems.append(f"in-place: prepared {'f(y, x)' if spec.inplace else 'f(x)'}, got the other form")
        elif y is not None and tuple(y.shape) != spec.y_shape:
            problems.append(f"output shape: prepared {spec.y_shape}, got {tuple(y.shape)}")
        raise PreparationMismatchError(
            f"This {type(self).__name__} does not match the call: " + "; ".join(problems or ["unknown"])
            + f".\nHint: call ad.prepare_{self.operator}(...) again with this function, backend and input."
        )

    # -- sparse preparations (AutoSparse): what detection and coloring found ------
    @property
    def sparse(self):
        """The :class:`~anydiff.sparse.SparsePlan` of an ``AutoSparse`` jacobian/hessian preparation.

        Examples
        --------
        >>> import numpy as np, anydiff as ad
        >>> f = lambda x: x[1:] * x[:-1]
        >>> prep = ad.prepare_jacobian(f, ad.AutoSparse(ad.AutoNumPy()), np.ones(6))
        >>> prep.ncolors, prep.pattern.shape, prep.estimate().dense_products
        (2, (5, 6), 6)
        """
        from ..sparse._plan import SparsePlan

        if isinstance(self.details, SparsePlan):
            return self.details
        raise UnsupportedOperationError(
            f"This {type(self).__name__} of {self.backend!r} has no sparsity pattern or coloring.\n"
            "Hint: prepare with ad.AutoSparse(backend) (jacobian and hessian preparations)."
        )

    @property
    def ncolors(self) -> int:
        """Compressed products per call (``AutoSparse`` preparations)."""
        return self.sparse.ncolors

    @property
    def pattern(self):
        """Detected sparsity pattern, boolean ``scipy.sparse`` CSR (``AutoSparse`` preparations)."""
        return self.sparse.pattern

    @property
    def coloring(self):
        """The :class:`~anydiff.sparse.coloring.ColoringResult` in use (``AutoSparse`` preparations)."""
        return self.sparse.coloring

    def show_colors(self, path, **kwargs):
        """Draw the colored pattern to a PNG at ``path`` (``AutoSparse`` preparations)."""
        return self.sparse.show_colors(path, **kwargs)

    def estimate(self, repeat: int = 3):
        """Predicted cost of a call (colors × one measured single-seed product), see
        :class:`~anydiff.sparse.SparseEstimate` (``AutoSparse`` preparations)."""
        return self.sparse.estimate(repeat)

    def native_contexts(self, contexts):
        if not contexts:
            return ()
        return tuple(
            c.value if conv is None else conv(c.value) for c, conv in zip(contexts, self.ctx_native)
        )


def _fast_call(prep):
    """``call(f, backend, x) -> result or None`` for the common prepared call without contexts.

    Everything is bound to locals here, once, so a prepared call costs a handful of identity
    and equality tests on top of the backend's own dispatch. ``None`` means "take the
    general path" (which also produces the detailed mismatch errors).
    """
    run = prep.run_only
    spec = prep.spec
    if run is None or spec.context_kinds or spec.inplace or prep.point is not None:
        return lambda f, backend, x: None
    f0, b0, xtype, shape, dtype = prep.f, prep.backend, prep.x_type, spec.x_shape, spec.x_dtype
    back, to_native = prep.back, prep.to_native
    convert_in = to_native.__func__ is not Backend.to_native if hasattr(to_native, "__func__") else True
    from ._core import _identity

    convert_out = back is not _identity
    empty = ()

    if spec.input_library == "jax" and prep.backend.library == "jax" and getattr(prep.backend, "jit", False):
        # shape and dtype are checked inside the jitted closure when JAX retraces (AutoJax._compile)
        single = prep.single
        if single is not None and not convert_out:

            def call_jax_single(f, backend, x):
                if f is not f0 or backend is not b0 or type(x) is not xtype:
                    return None
                return single(x)

            return call_jax_single

        def call_jax(f, backend, x):
            if f is not f0 or backend is not b0 or type(x) is not xtype:
                return None
            g = run(x, empty)
            return back(g) if convert_out else g

        return call_jax

    def call(f, backend, x):
        if f is not f0 or type(x) is not xtype or x.shape != shape or x.dtype != dtype:
            return None
        if backend is not b0 and (type(backend) is not type(b0) or backend != b0):  # ad.AutoNumPy() per call
            return None
        g = run(to_native(x) if convert_in else x, empty)
        return back(g) if convert_out else g

    return call


def _same_values(a, b) -> bool:
    from .._arrays import to_numpy

    try:
        return bool(np.array_equal(to_numpy(a), to_numpy(b), equal_nan=True))
    except Exception:  # noqa: BLE001 - arrays of other libraries on other devices
        return False


class PushforwardPrep(Prep):
    operator = "pushforward"


class PullbackPrep(Prep):
    operator = "pullback"


class DerivativePrep(Prep):
    operator = "derivative"


class GradientPrep(Prep):
    operator = "gradient"


class JacobianPrep(Prep):
    operator = "jacobian"


class SecondDerivativePrep(Prep):
    operator = "second_derivative"


class HVPPrep(Prep):
    operator = "hvp"


class HessianPrep(Prep):
    operator = "hessian"


def check_prep_type(prep, cls):
    if type(prep) is not cls:
        raise PreparationMismatchError(
            f"Expected a {cls.__name__}, got a {type(prep).__name__}: a preparation is valid for one "
            f"operator only.\nHint: use ad.prepare_{cls.operator}(...) for ad.{cls.operator}."
        )


def split_contexts(contexts):
    for c in contexts:
        if not isinstance(c, Context):
            raise InputError(
                f"Extra argument {c!r} after x is not a context.\n"
                "Hint: wrap non-differentiated arguments as ad.Constant(value) or ad.Cache(buffer)."
            )
    return tuple(c.kind for c in contexts)


def unsupported_out(backend):
    raise UnsupportedOperationError(
        f"out= cannot be written for jax arrays (they are immutable; backend {backend!r}).\n"
        "Hint: drop out= and use the returned array."
    )
