"""Every exception anydiff raises, in one place.

Each class subclasses :class:`AnyDiffError` and the closest builtin, so that
``except ValueError`` keeps working for callers who do not know anydiff.
Messages say what went wrong, then ``Hint: ...`` with what to do.
"""

from __future__ import annotations

__all__ = [
    "AnyDiffError",
    "BackendNotInstalledError",
    "PreparationMismatchError",
    "UnsupportedOperationError",
    "InputError",
    "OutputError",
    "MissingRuleError",
    "MissingPrimalError",
    "TracingError",
    "ColoringError",
    "ConditionsNotSatisfiedError",
    "IllConditionedError",
    "ConditioningWarning",
]


class AnyDiffError(Exception):
    """Base class of every error raised by anydiff."""


def _with_hint(message: str, hint: str | None) -> str:
    return message if not hint else f"{message}\nHint: {hint}"


class BackendNotInstalledError(AnyDiffError, ImportError):
    """The library behind a backend is not installed."""

    def __init__(self, backend: str, package: str, extra: str):
        super().__init__(
            _with_hint(
                f"The {backend} backend needs the package {package!r}, which is not installed.",
                f"pip install 'anydiff[{extra}]'",
            )
        )


class PreparationMismatchError(AnyDiffError, ValueError):
    """A preparation object was used with another operator, backend, shape or dtype."""


class UnsupportedOperationError(AnyDiffError, NotImplementedError):
    """The backend cannot do what was asked (e.g. in-place functions under JAX)."""


class InputError(AnyDiffError, ValueError):
    """Bad input: wrong dtype, shape, tangent count, unknown backend name, ..."""


class OutputError(AnyDiffError, TypeError):
    """The differentiated function returned something anydiff cannot differentiate."""


class MissingRuleError(AnyDiffError, NotImplementedError):
    """A NumPy/SciPy function has no entry in anydiff's rule table."""


class MissingPrimalError(AnyDiffError, TypeError):
    """Global sparsity tracing hit control flow that depends on values."""


class TracingError(AnyDiffError, TypeError):
    """A traced function did something the tracer or dual engine cannot follow."""


class ColoringError(AnyDiffError, ValueError):
    """A coloring problem was given a pattern it cannot handle."""


class ConditionsNotSatisfiedError(AnyDiffError, ValueError):
    """``implicit_function``: the conditions are not zero at the solver's output."""


class IllConditionedError(AnyDiffError, ArithmeticError):
    """``implicit_function``: ∂F/∂y is singular, numerically singular, or a Krylov solve failed."""


class ConditioningWarning(UserWarning):
    """``implicit_function``: ∂F/∂y is badly conditioned; derivatives may be inaccurate."""
