"""Operators, derived once from the backends' primitives."""

from ._prep import (
    DerivativePrep, GradientPrep, HessianPrep, HVPPrep, JacobianPrep, Prep, PullbackPrep,
    PushforwardPrep, SecondDerivativePrep,
)
from ._structured import TreePrep
from ._tree_ops import flat_jacobian
from .first_order import (
    derivative, gradient, jacobian, prepare_derivative, prepare_gradient, prepare_jacobian,
    prepare_pullback, prepare_pullback_same_point, prepare_pushforward, prepare_pushforward_same_point,
    pullback, pushforward, value_and_derivative, value_and_gradient, value_and_jacobian,
    value_and_pullback, value_and_pushforward,
)
from .second_order import (
    gradient_and_hvp, hessian, hvp, prepare_hessian, prepare_hvp, prepare_hvp_same_point,
    prepare_second_derivative, second_derivative, value_derivative_and_second_derivative,
    value_gradient_and_hessian,
)

__all__ = [
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
]
