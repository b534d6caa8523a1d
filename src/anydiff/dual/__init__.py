"""Dual arrays: NumPy values carrying a batch of tangents (anydiff's forward mode).

``Dual(value, tangent)`` runs through unmodified NumPy code via ``__array_ufunc__`` and
``__array_function__``; every function comes from the one rule table (:mod:`anydiff.rules`):
elementwise partials, and one generic handler per kind of function (``_registry.py``) or a
dual rule of its own (the other modules here).
"""

from . import _decomp, _fft, _functions, _linalg, _numeric  # noqa: F401  (register the dual rules)
from ._core import Dual, level, primal
from ._registry import handler_for

__all__ = ["Dual", "handler_for", "level", "primal"]
