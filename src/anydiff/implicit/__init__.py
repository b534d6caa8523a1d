"""Implicit differentiation: derivatives of solver outputs through their optimality conditions.

``ad.implicit_function(solver, conditions)`` returns ``g`` with ``y = g(x, *contexts)``
differentiable by every anydiff operator and backend, inside JAX code and under torch
autograd, by the implicit function theorem applied to ``conditions(x, y, *contexts) = 0``.
"""

from ._conditions import fixed_point_conditions, optimality_conditions
from ._function import ImplicitFunction, implicit_function
from ._linearization import ImplicitInfo

__all__ = [
    "ImplicitFunction",
    "ImplicitInfo",
    "fixed_point_conditions",
    "implicit_function",
    "optimality_conditions",
]
