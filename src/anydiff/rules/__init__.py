"""The shared table of elementwise derivative rules (see ``_table.py``)."""

from . import numpy_rules, scipy_rules  # noqa: F401  (register the NumPy and SciPy entries)
from ._table import RULES, Rule, get_rule, register

__all__ = ["Rule", "RULES", "get_rule", "register"]
