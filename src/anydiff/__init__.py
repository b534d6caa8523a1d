"""anydiff: one interface to every Python automatic-differentiation backend, plus sparse AD.

The public API is re-exported here explicitly from private modules; anything not listed in
``__all__`` may change without notice. Each block below names its source module; a new
public name is one import line plus one ``__all__`` entry.

Examples
--------
>>> import numpy as np, anydiff as ad
>>> ad.gradient(lambda x: np.sum(x**2), ad.AutoFiniteDiff(method="complex"), np.array([1.0, 2.0]))
array([2., 4.])
"""

from importlib import import_module as _import_module
from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version
from typing import TYPE_CHECKING as _TYPE_CHECKING

from ._contexts import Cache, Constant
from ._custom_rule import CustomRule, custom_rule
from ._differentiate_with import DifferentiateWith, differentiate_with
from ._errors import (
    AnyDiffError, BackendNotInstalledError, ColoringError, InputError, MissingPrimalError,
    MissingRuleError, OutputError, PreparationMismatchError, TracingError, UnsupportedOperationError,
)
from ._errors import ConditioningWarning, ConditionsNotSatisfiedError, IllConditionedError
from ._trees import ravel_pytree, tree_flatten, tree_index_map, tree_paths, tree_unflatten
from .backends import (
    AutoAutograd, AutoFiniteDiff, AutoJax, AutoNumPy, AutoTorch, Backend, MixedMode, SecondOrder,
    resolve_backend,
)
from ._recommend import Recommendation, recommend
from .operators import (
    DerivativePrep, GradientPrep, HessianPrep, HVPPrep, JacobianPrep, Prep, PullbackPrep,
    PushforwardPrep, SecondDerivativePrep, TreePrep,
    derivative, flat_jacobian, gradient, gradient_and_hvp, hessian, hvp, jacobian,
    prepare_derivative, prepare_gradient, prepare_hessian, prepare_hvp, prepare_hvp_same_point,
    prepare_jacobian, prepare_pullback, prepare_pullback_same_point, prepare_pushforward,
    prepare_pushforward_same_point, prepare_second_derivative, pullback, pushforward,
    second_derivative, value_and_derivative, value_and_gradient, value_and_jacobian,
    value_and_pullback, value_and_pushforward, value_derivative_and_second_derivative,
    value_gradient_and_hessian,
)
from .operators._core import clear_cache
from .implicit import (
    ImplicitFunction, ImplicitInfo, fixed_point_conditions, implicit_function, optimality_conditions,
)
from . import scipy  # noqa: E402,F401 - anydiff.scipy (SciPy glue); not in __all__: it would shadow SciPy

if _TYPE_CHECKING:  # the sparse machinery imports numba: loaded on first use (see __getattr__)
    from .sparse import (
        AutoSparse, DenseSparsityDetector, GreedyColoring, JaxSparsityDetector, KnownSparsityDetector,
        TorchSparsityDetector, TracerLocalSparsityDetector, TracerSparsityDetector, coloring, hessian_sparsity,
        jacobian_sparsity, show_colors,
    )

#: Public names loaded on first access, and the submodule that defines them.
_LAZY = {
    name: "sparse"
    for name in (
        "AutoSparse", "DenseSparsityDetector", "GreedyColoring", "JaxSparsityDetector",
        "KnownSparsityDetector", "TorchSparsityDetector", "TracerLocalSparsityDetector",
        "TracerSparsityDetector", "coloring", "hessian_sparsity", "jacobian_sparsity", "show_colors",
    )
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'anydiff' has no attribute {name!r}")
    value = getattr(_import_module(f"anydiff.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


try:
    __version__ = _version("anydiff")
except _PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    # contexts, differentiate_with, custom rules
    "Cache", "Constant", "differentiate_with", "DifferentiateWith", "custom_rule", "CustomRule",
    # errors
    "AnyDiffError", "BackendNotInstalledError", "ColoringError", "InputError", "MissingPrimalError",
    "MissingRuleError", "OutputError", "PreparationMismatchError", "TracingError",
    "ConditionsNotSatisfiedError", "IllConditionedError", "ConditioningWarning",
    "UnsupportedOperationError",
    # pytrees
    "ravel_pytree", "tree_flatten", "tree_unflatten", "tree_index_map", "tree_paths",
    # backends
    "Backend", "AutoJax", "AutoNumPy", "AutoTorch", "AutoAutograd", "AutoFiniteDiff", "SecondOrder", "MixedMode",
    "resolve_backend", "clear_cache", "recommend", "Recommendation",
    # operators
    "pushforward", "value_and_pushforward", "prepare_pushforward", "prepare_pushforward_same_point",
    "pullback", "value_and_pullback", "prepare_pullback", "prepare_pullback_same_point",
    "derivative", "value_and_derivative", "prepare_derivative",
    "gradient", "value_and_gradient", "prepare_gradient",
    "jacobian", "value_and_jacobian", "prepare_jacobian", "flat_jacobian",
    "second_derivative", "value_derivative_and_second_derivative", "prepare_second_derivative",
    "hvp", "gradient_and_hvp", "prepare_hvp", "prepare_hvp_same_point",
    "hessian", "value_gradient_and_hessian", "prepare_hessian",
    "Prep", "PushforwardPrep", "PullbackPrep", "DerivativePrep", "GradientPrep", "JacobianPrep",
    "SecondDerivativePrep", "HVPPrep", "HessianPrep", "TreePrep",
    # sparsity
    "AutoSparse", "KnownSparsityDetector", "DenseSparsityDetector", "JaxSparsityDetector",
    "TracerSparsityDetector", "TracerLocalSparsityDetector", "TorchSparsityDetector",
    "jacobian_sparsity", "hessian_sparsity", "coloring", "GreedyColoring", "show_colors",
    # implicit functions
    "implicit_function", "ImplicitFunction", "ImplicitInfo", "fixed_point_conditions", "optimality_conditions",
]
