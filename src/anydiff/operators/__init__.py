"""Operators, derived once from the backends' primitives."""

from .first_order import *  # noqa: F401,F403
from .first_order import __all__ as _first
from ._prep import (  # noqa: F401
    DerivativePrep, GradientPrep, HessianPrep, HVPPrep, JacobianPrep, Prep, PullbackPrep,
    PushforwardPrep, SecondDerivativePrep,
)
from .second_order import *  # noqa: F401,F403
from .second_order import __all__ as _second

__all__ = list(_first) + list(_second) + [
    "Prep", "PushforwardPrep", "PullbackPrep", "DerivativePrep", "GradientPrep", "JacobianPrep",
    "SecondDerivativePrep", "HVPPrep", "HessianPrep",
]
