"""Dual arrays: NumPy values carrying a batch of tangents (anydiff's forward mode).

``Dual(value, tangent)`` runs through unmodified NumPy code via ``__array_ufunc__`` and
``__array_function__``; elementwise derivatives come from the shared rule table
(:mod:`anydiff.rules`). Used by :class:`anydiff.AutoNumPy`.
"""

from . import _functions  # noqa: F401  (registers the NumPy functions)
from ._core import Dual, level, primal

__all__ = ["Dual", "level", "primal"]
