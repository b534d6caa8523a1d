"""Backend selectors (one module per adapter; heavy libraries are imported lazily)."""

from __future__ import annotations

from .._errors import InputError
from ._autograd import AutoAutograd
from ._base import Backend, FunctionSpec
from ._combinators import MixedMode, SecondOrder
from ._finite_diff import AutoFiniteDiff
from ._jax import AutoJax
from ._numpy_dual import AutoNumPy
from ._torch import AutoTorch

__all__ = [
    "Backend", "FunctionSpec", "AutoNumPy", "AutoJax", "AutoTorch", "AutoAutograd", "AutoFiniteDiff",
    "SecondOrder", "MixedMode", "resolve_backend", "BACKEND_ALIASES",
]

#: String aliases accepted wherever a backend is expected.
BACKEND_ALIASES = {
    "jax": lambda: AutoJax(),
    "jax-forward": lambda: AutoJax(mode="forward"),
    "torch": lambda: AutoTorch(),
    "torch-forward": lambda: AutoTorch(mode="forward"),
    "autograd": lambda: AutoAutograd(),
    "finite_diff": lambda: AutoFiniteDiff(),
    "finitediff": lambda: AutoFiniteDiff(),
    "fd": lambda: AutoFiniteDiff(),
    "complex_step": lambda: AutoFiniteDiff(method="complex"),
    "numpy": lambda: AutoNumPy(),
}


def register_alias(name, factory):
    """Register a string alias for a backend factory (used by optional modules)."""
    BACKEND_ALIASES[name] = factory


def resolve_backend(backend) -> Backend:
    """Return ``backend`` itself, or the backend its string alias names.

    Raises
    ------
    InputError
        For an unknown string or a value that is not a backend.
    """
    if isinstance(backend, Backend):
        return backend
    if isinstance(backend, str):
        try:
            return BACKEND_ALIASES[backend.lower()]()
        except KeyError:
            names = ", ".join(sorted(BACKEND_ALIASES))
            raise InputError(
                f"Unknown backend {backend!r}.\nHint: use one of {names}, or a selector such as ad.AutoJax()."
            ) from None
    raise InputError(
        f"{backend!r} is not a backend.\nHint: pass a selector such as ad.AutoJax() or a name such as 'jax'."
    )
