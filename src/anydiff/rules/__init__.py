"""The one table of derivative rules that every NumPy engine reads.

* :data:`RULES`: elementwise ufuncs (``np.sin``, ``scipy.special.erf``, ...) with their partial
  derivatives and zero/linear flags (``_table.py``, entries in ``numpy_rules.py`` and
  ``scipy_rules.py``);
* :data:`FUNCTIONS`: every other NumPy/SciPy function, with its kind (zero-derivative, linear,
  composite, dense block, custom; ``_functions.py``, entries in ``numpy_functions.py``).

This package is a leaf: it imports nothing from the engines (``anydiff.dual``, the sparsity
tracer, reverse mode), which all read it.
"""

from . import numpy_functions, numpy_rules, scipy_rules  # noqa: F401  (register the entries)
from ._functions import (
    FUNCTIONS, KINDS, FunctionRule, engine_handler, function_rule, missing_rule_hint, register_function,
)
from ._table import RULES, Rule, get_rule, register
from .numpy_functions import PYTHON_LEVEL

__all__ = ["FUNCTIONS", "KINDS", "PYTHON_LEVEL", "FunctionRule", "RULES", "Rule", "engine_handler", "function_rule",
           "get_rule",
           "missing_rule_hint", "register", "register_function"]
