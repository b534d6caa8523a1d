"""The one table of NumPy/SciPy *functions* anydiff knows, each with its kind.

Elementwise ufuncs have their :class:`~anydiff.rules.Rule` (partials and flags) in
``_table.py``; every other function has one :class:`FunctionRule` here. The kind says how an
engine handles the function, so that each engine (the dual numbers of ``AutoNumPy``, the
sparsity tracer, reverse mode) writes one generic handler per kind instead of one per function:

``"zero"``
    Derivative zero (``argmax``, ``round``, ``isclose``, ``shape``): computed on the value.
    ``meta=True`` marks results that do not depend on the values at all (``shape``, ``ndim``).
``"linear"``
    Linear in its array arguments. ``axes`` names the axis parameters (and ``none`` what
    ``axis=None`` means), so a batch of tangents is transformed by the function itself with
    its axes shifted past the batch axis. ``select=True``: every output element is a copy of
    at most one input element (reshape, slicing, padding), so a tracer can run the function
    on element ids.
``"composite"``
    Written once in NumPy terms (``impl``), run unchanged by every engine.
``"dense"``
    Every output element depends on every input element (``solve``, ``inv``, ``det``,
    decompositions). ``zero_outputs`` lists outputs with a zero derivative (``slogdet``'s sign).
``"custom"``
    A hand-written rule per engine (``max``, ``sort``, ``where``, ``interp``, ...), kept rare.

This module imports nothing from the engines: it is the leaf every engine reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .._errors import MissingRuleError

__all__ = ["FunctionRule", "FUNCTIONS", "KINDS", "engine_handler", "function_rule", "register_function",
           "missing_rule_hint"]

KINDS = ("elementwise", "zero", "linear", "composite", "dense", "custom")


@dataclass(frozen=True)
class FunctionRule:
    """How anydiff differentiates one NumPy/SciPy function (see the module docstring).

    Parameters
    ----------
    name : str
        Name used in messages and in the coverage table (``"np.cumsum"``).
    kind : str
        One of ``"zero"``, ``"linear"``, ``"composite"``, ``"dense"``, ``"custom"``.
    impl : callable or None
        ``"composite"``: the implementation in NumPy terms.
    axes : tuple of str
        ``"linear"``: names of the axis parameters (empty when the rule is written per engine).
    none : str
        ``"linear"``: meaning of ``axis=None``: ``"all"``, ``"flatten"``, ``"reverse"``
        (``transpose``) or ``"unit"`` (``squeeze``).
    select : bool
        ``"linear"``: each output element is one input element or a constant.
    meta : bool
        ``"zero"``: the result does not depend on the values (only on shapes and dtypes).
    zero_outputs : tuple of int
        ``"dense"``: outputs whose derivative is zero.
    """

    name: str
    kind: str
    impl: Callable | None = None
    axes: tuple = ()
    none: str = "all"
    select: bool = False
    meta: bool = False
    zero_outputs: tuple = ()


#: function -> FunctionRule, for every non-elementwise function anydiff knows.
FUNCTIONS: dict[object, FunctionRule] = {}


def register_function(func, kind, name=None, **fields) -> FunctionRule:
    """Add ``func`` to the table with its ``kind`` (one entry per function)."""
    if kind not in KINDS[1:]:
        raise ValueError(f"unknown kind {kind!r}")
    rule = FunctionRule(name or display_name(func), kind, **fields)
    if func in FUNCTIONS:  # NumPy aliases (np.permute_dims is np.transpose) register once
        if FUNCTIONS[func] != rule:
            raise ValueError(f"conflicting entries for {rule.name}")
        return FUNCTIONS[func]
    FUNCTIONS[func] = rule
    return rule


def engine_handler(func, own, made, make):
    """An engine's handler of ``func``: its own rule (``own``), else the one ``make(func, rule)``
    builds from the table entry's kind, built once and kept in ``made`` (None if not covered)."""
    handler = own.get(func) or made.get(func)
    if handler is not None or func not in FUNCTIONS:
        return handler
    handler = make(func, FUNCTIONS[func])
    if handler is not None:
        made[func] = handler
    return handler


def display_name(func) -> str:
    """``np.linalg.solve``-style name of a NumPy/SciPy function."""
    module = getattr(func, "__module__", None) or "numpy"
    name = getattr(func, "__name__", repr(func))
    public = [p for p in module.split(".") if not p.startswith("_")]
    if public and public[0] == "numpy":
        return ".".join(["np"] + public[1:] + [name])
    if public[:2] == ["scipy", "special"]:
        return f"scipy.special.{name}"
    return ".".join(public + [name])


def missing_rule_hint() -> str:
    """What a user can do about a function no table entry covers."""
    return (
        "Hint: wrap the step in ad.differentiate_with(func, backend) to differentiate it with "
        "another backend, give it a rule with ad.custom_rule, use DenseSparsityDetector(backend) "
        "for sparsity patterns, or pick a backend that needs no rules (AutoJax(), AutoTorch(), "
        "AutoFiniteDiff())."
    )


def function_rule(func) -> FunctionRule:
    """The table entry of ``func``, or :class:`MissingRuleError` naming what to do.

    Examples
    --------
    >>> import numpy as np
    >>> from anydiff.rules import function_rule
    >>> function_rule(np.linalg.solve).kind
    'dense'
    """
    try:
        return FUNCTIONS[func]
    except (KeyError, TypeError):
        raise MissingRuleError(
            f"anydiff has no derivative rule for {display_name(func)}.\n" + missing_rule_hint()
        ) from None
