"""Every exception anydiff raises, in one place.

Each class subclasses :class:`AnyDiffError` and the closest builtin, so that
``except ValueError`` keeps working for callers who do not know anydiff.
Messages say what went wrong, then ``Hint: ...`` with what to do.
"""

from __future__ import annotations

__all__ = [
    "AnyDiffError",
    "BackendNotInstalledError",
    "ColoringError",
    "ConditioningWarning",
    "ConditionsNotSatisfiedError",
    "IllConditionedError",
    "InputError",
    "MissingPrimalError",
    "MissingRuleError",
    "OutputError",
    "PreparationMismatchError",
    "TracingError",
    "UnsupportedOperationError",
]


class AnyDiffError(Exception):
    """Base class of every error raised by anydiff.

    Every message ends with ``Hint: ...``. A raise site should give a specific hint; when it
    gives none, the class's ``default_hint`` is appended, so no anydiff error goes without one
    (``tests/test_package.py`` checks that every raise site gives its own).
    """

    default_hint: str = "see the docstring of the anydiff function you called (help(ad.<name>))."

    def __init__(self, *args):
        if args and isinstance(args[0], str) and "Hint:" not in args[0] and self.default_hint:
            args = (_with_hint(args[0], self.default_hint),) + args[1:]
        super().__init__(*args)


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

    default_hint = (
        "call the matching ad.prepare_<operator>(...) again with this function, backend and "
        "input."
    )


class UnsupportedOperationError(AnyDiffError, NotImplementedError):
    """The backend cannot do what was asked (e.g. in-place functions under JAX)."""

    default_hint = (
        "use another backend (ad.AutoFiniteDiff() differentiates any function), or the "
        "alternative the operator's docstring names."
    )


class InputError(AnyDiffError, ValueError):
    """Bad input: wrong dtype, shape, tangent count, unknown backend name, ..."""

    default_hint = (
        "check the call against the operator's docstring: op(f, backend, x, *contexts) with "
        "floating-point arrays."
    )


class OutputError(AnyDiffError, TypeError):
    """The differentiated function returned something anydiff cannot differentiate."""

    default_hint = "make f return floating-point arrays (a scalar for gradient, hvp and hessian)."


class MissingRuleError(AnyDiffError, NotImplementedError):
    """A NumPy/SciPy function has no entry in anydiff's rule table."""

    default_hint = (
        "wrap the function anydiff does not know with ad.differentiate_with(function, "
        "backend), or use a backend that differentiates it natively (ad.AutoJax(), "
        "ad.AutoTorch(), ad.AutoFiniteDiff())."
    )


class MissingPrimalError(AnyDiffError, TypeError):
    """Global sparsity tracing hit control flow that depends on values."""

    default_hint = (
        "use a local detector such as ad.TracerLocalSparsityDetector(), which sees the values"
        " at x."
    )


class TracingError(AnyDiffError, TypeError):
    """A traced function did something the tracer or dual engine cannot follow."""

    default_hint = (
        "write the expression with plain NumPy functions on arrays, or use "
        "ad.AutoFiniteDiff() or a native backend (ad.AutoJax(), ad.AutoTorch())."
    )


class ColoringError(AnyDiffError, ValueError):
    """A coloring problem was given a pattern it cannot handle."""

    default_hint = (
        "check the sparsity pattern and the options against the docstring of ad.coloring."
    )


class ConditionsNotSatisfiedError(AnyDiffError, ValueError):
    """``implicit_function``: the conditions are not zero at the solver's output."""


class IllConditionedError(AnyDiffError, ArithmeticError):
    """``implicit_function``: ∂F/∂y is singular, numerically singular, or a Krylov solve failed."""


class ConditioningWarning(UserWarning):
    """``implicit_function``: ∂F/∂y is badly conditioned; derivatives may be inaccurate."""
