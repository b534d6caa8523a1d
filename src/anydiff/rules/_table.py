"""The one table of elementwise derivative rules.

Each NumPy ufunc / SciPy special function that anydiff can differentiate or trace has
exactly one :class:`Rule`. Two consumers read it:

* the sparsity tracer (``anydiff.sparse.detect``) uses only the boolean flags;
* the dual-number engine (``anydiff.dual``) uses ``partials``.

``partials(*args, out)`` returns one array per argument: the elementwise partial derivative
of the output with respect to that argument, evaluated at ``args`` (``out`` is the already
computed value, handy for ``exp``/``sqrt``/``tanh``). ``partials`` must be written with NumPy
functions only (``np.cos``, ``np.where``, arithmetic), never with Python ``math``, so that it
also works when its arguments are themselves dual numbers: nesting duals then gives second
derivatives for free (forward-over-forward). ``None`` in the returned tuple means "zero".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .._errors import MissingRuleError
from ._functions import missing_rule_hint

__all__ = ["Rule", "RULES", "get_rule", "register"]


@dataclass(frozen=True)
class Rule:
    """Derivative facts about one elementwise function.

    Parameters
    ----------
    name : str
        Name used in error messages (``"np.sin"``).
    d1_zero : tuple of bool
        Per argument: is the first derivative identically zero (``floor``, comparisons)?
    d2_zero : tuple of bool
        Per argument: is the second derivative with respect to that argument identically
        zero (the function is linear in it, e.g. ``add``, ``multiply`` in each argument)?
    cross_zero : bool
        For two-argument functions: is the mixed second derivative identically zero
        (``add``: yes; ``multiply``: no)?
    partials : callable or None
        ``partials(*args, out) -> tuple`` of elementwise partial derivatives (``None`` = 0).
        ``None`` when every first derivative is zero.
    local : callable or None
        Local (value-dependent) sparsity: ``local(*args) -> tuple`` with, per argument, a
        boolean array "the partial may be nonzero here" (``None``: everywhere). ``multiply``:
        ``(y != 0, x != 0)``. Read by the local sparsity detector only.
    """

    name: str
    d1_zero: tuple[bool, ...]
    d2_zero: tuple[bool, ...]
    cross_zero: bool = True
    partials: Callable | None = None
    local: Callable | None = None

    @property
    def nargs(self) -> int:
        return len(self.d1_zero)


RULES: dict[object, Rule] = {}


def register(func: object, rule: Rule) -> None:
    """Add ``rule`` for ``func`` (a ufunc or callable) to the table."""
    if func in RULES:
        raise ValueError(f"duplicate rule for {rule.name}")
    RULES[func] = rule


def get_rule(func: object) -> Rule:
    """Return the rule of ``func`` or raise :class:`MissingRuleError`."""
    try:
        return RULES[func]
    except (KeyError, TypeError):
        name = getattr(func, "__name__", repr(func))
        raise MissingRuleError(f"anydiff has no derivative rule for {name}.\n" + missing_rule_hint()) from None
