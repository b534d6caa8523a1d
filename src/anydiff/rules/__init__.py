"""The shared table of elementwise derivative rules (see ``_table.py``)."""

from . import numpy_rules  # noqa: F401  (registers the NumPy entries)
from ._table import RULES, Rule, get_rule, register

__all__ = ["Rule", "RULES", "get_rule", "register"]
