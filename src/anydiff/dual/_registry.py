"""How the dual engine handles each entry of the function table (``anydiff.rules``).

One generic handler per kind: ``"zero"`` computes the function on the values, ``"composite"``
runs the table's NumPy-terms implementation on the duals, ``"linear"`` with named axis
parameters applies the function to the tangents with their axes shifted past the batch axis.
The other linear, dense and custom entries have a dual rule of their own (:data:`HANDLED`,
filled with :func:`implements` by the modules of this package).
"""

from __future__ import annotations

import inspect

import numpy as np

from .._errors import MissingRuleError
from ..rules import FUNCTIONS, engine_handler, function_rule
from ._core import Dual, primal

__all__ = ["HANDLED", "dispatch_function", "handler_for", "implements"]

#: Function -> dual rule written for this engine (linear without axis names, dense, custom).
HANDLED: dict = {}
_GENERIC: dict = {}


def implements(*funcs):
    def register(handler):
        for func in funcs:
            HANDLED[func] = handler
        return handler

    return register


def handler_for(func):
    """The dual handler of a table entry (None if the engine does not cover it)."""
    return engine_handler(func, HANDLED, _GENERIC, _by_kind)


def _by_kind(func, rule):
    if rule.kind == "zero":
        return _primal_only(func)
    if rule.kind == "composite":
        return rule.impl
    if rule.kind == "linear" and rule.axes:
        return _axis_linear(func, rule.axes, rule.none)
    return None


def dispatch_function(func, args, kwargs):
    handler = handler_for(func)
    if handler is None:
        function_rule(func)  # raises MissingRuleError with the user's options
        raise MissingRuleError(  # pragma: no cover - the coverage test keeps this unreachable
            f"anydiff's dual numbers have no rule for {FUNCTIONS[func].name}.\n"
            "Hint: wrap the function with ad.differentiate_with(...) or give it a rule with ad.custom_rule(...)."
        )
    return handler(*args, **kwargs)


# ----------------------------------------------------------------- zero derivative
def _primal_only(func):
    def handler(*args, **kwargs):
        args = [primal(a) if isinstance(a, Dual) else _primal_seq(a) for a in args]
        return func(*args, **{k: primal(v) for k, v in kwargs.items()})

    return handler


def _primal_seq(a):
    if isinstance(a, (list, tuple)) and any(isinstance(e, Dual) for e in a):
        return type(a)(primal(e) for e in a)
    return a


# -------------------------------------------------------- linear with named axes
def shift_axis(axis):
    """A value axis (int or sequence) as the same axis of the tangent stack."""
    if isinstance(axis, (tuple, list)):
        return type(axis)(shift_axis(a) for a in axis)
    axis = int(axis)
    return axis + 1 if axis >= 0 else axis


def _axis_linear(func, axis_params, none):
    """``func`` linear in its first argument: the same call on the tangents, axes shifted.

    ``none`` says what ``axis=None`` means: ``"all"`` (every axis), ``"flatten"`` (the array
    is flattened first), ``"reverse"`` (``transpose``) or ``"unit"`` (``squeeze``).
    """
    sig = inspect.signature(func)
    first = next(iter(sig.parameters))
    defaults = {p: sig.parameters[p].default for p in axis_params}

    def handler(*args, **kwargs):
        rest = dict(sig.bind(*args, **kwargs).arguments)
        a = rest.pop(first)
        if not isinstance(a, Dual):
            raise MissingRuleError(
                f"np.{func.__name__} is linear in its first argument only; anydiff cannot "
                "differentiate it with respect to its other arguments.\n"
                "Hint: pass the differentiated array first, or wrap the call in ad.differentiate_with."
            )
        t = a.tangent
        targs = dict(rest)
        for p in axis_params:
            axis = rest.get(p, defaults[p])
            if axis is None and none == "flatten":
                t = np.reshape(t, (t.shape[0], -1))
                targs[p] = 1
            elif axis is None and none == "all":
                targs[p] = tuple(range(1, a.ndim + 1))
            elif axis is None and none == "reverse":
                targs[p] = (0,) + tuple(range(a.ndim, 0, -1))
            elif axis is None and none == "unit":
                targs[p] = tuple(d + 1 for d, s in enumerate(a.shape) if s == 1)
            elif none == "reverse":
                targs[p] = (0,) + tuple(shift_axis(int(d) % a.ndim) for d in axis)
            else:
                targs[p] = shift_axis(axis)
        return Dual(func(a.value, **rest), func(t, **targs))

    return handler
