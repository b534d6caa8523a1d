"""Reverse mode for unmodified NumPy code (used by :class:`anydiff.AutoNumPy`).

``f`` runs once on a dual array whose tangent is a :class:`~anydiff.reverse._tape.Lin`: the
forward-mode rules of :mod:`anydiff.dual` apply linear operations to it, which are recorded
on a tape and transposed in a backward pass (JAX's design: no derivative rule is written
twice). See :mod:`anydiff.reverse._engine` for the entry points.
"""

from ._engine import gradient, pullback
from ._tape import Lin, NotTransposableError, Tape

__all__ = ["Lin", "NotTransposableError", "Tape", "gradient", "pullback"]
