"""anydiff: one interface to every Python automatic-differentiation backend, plus sparse AD.

Examples
--------
>>> import numpy as np, anydiff as ad
>>> ad.gradient(lambda x: np.sum(x**2), ad.AutoFiniteDiff(method="complex"), np.array([1.0, 2.0]))
array([2., 4.])
"""

from ._contexts import Cache, Constant
from ._custom_rule import CustomRule, custom_rule
from ._differentiate_with import DifferentiateWith, differentiate_with
from ._errors import (
    AnyDiffError, BackendNotInstalledError, ColoringError, InputError, MissingPrimalError,
    MissingRuleError, OutputError, PreparationMismatchError, TracingError, UnsupportedOperationError,
)
from ._errors import ConditioningWarning, ConditionsNotSatisfiedError, IllConditionedError

from .backends import (
    AutoAutograd, AutoFiniteDiff, AutoJax, AutoNumPy, AutoTorch, Backend, MixedMode, SecondOrder,
    resolve_backend,
)
from .operators import *  # noqa: F401,F403
from .operators._core import clear_cache
from .implicit import ImplicitFunction, ImplicitInfo, fixed_point_conditions, implicit_function, optimality_conditions  # noqa: E501
from .sparse import (
    AutoSparse, DenseSparsityDetector, GreedyColoring, JaxSparsityDetector, KnownSparsityDetector,
    TorchSparsityDetector, TracerLocalSparsityDetector, TracerSparsityDetector, coloring, hessian_sparsity,
    jacobian_sparsity, show_colors,
)
from .operators import __all__ as _operators

__version__ = "0.1.0"

__all__ = [
    "Cache", "Constant", "differentiate_with", "DifferentiateWith", "custom_rule", "CustomRule",
    "AnyDiffError", "BackendNotInstalledError", "ColoringError", "InputError", "MissingPrimalError",
    "MissingRuleError", "OutputError", "PreparationMismatchError", "TracingError",
    "ConditionsNotSatisfiedError", "IllConditionedError", "ConditioningWarning",
    "UnsupportedOperationError",
    "Backend", "AutoJax", "AutoNumPy", "AutoTorch", "AutoAutograd", "AutoFiniteDiff", "SecondOrder", "MixedMode",
    "resolve_backend", "clear_cache",
    "AutoSparse", "KnownSparsityDetector", "DenseSparsityDetector", "JaxSparsityDetector",
    "TracerSparsityDetector", "TracerLocalSparsityDetector", "TorchSparsityDetector",
    "jacobian_sparsity", "hessian_sparsity", "coloring", "GreedyColoring", "show_colors",
    "implicit_function", "ImplicitFunction", "ImplicitInfo", "fixed_point_conditions", "optimality_conditions",
] + list(_operators)
