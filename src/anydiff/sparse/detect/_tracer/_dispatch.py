"""How the tracer handles each NumPy call: one generic handler per kind of the rule table.

Elementwise ufuncs: the union of the operands' sets, from the rule's flags (``_core.py``).
``"zero"``: a result that depends on nothing; ``"composite"``: the table's NumPy-terms
implementation run on tracers; ``"linear"`` with ``select``: NumPy run on element ids;
``"dense"``: every output depends on every input. The remaining linear and custom entries have
a tracer rule of their own (:data:`OWN`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...._errors import MissingRuleError, TracingError
from ....rules import RULES, engine_handler, function_rule, missing_rule_hint
from .._index_sets import _product, _rows
from ._contract import _convolve, _einsum, _matmul
from ._core import _NoValue, _Tracer, _fill_value, _plain_index, _primal, _union
from ._fft import _fft_handlers
from ._linalg import dense_handler
from ._reduce import _cumulative, _extremum, _interp, _order_statistic, _reduce, _sort
from ._shape import _copyto, _imag, _like, _structural, _unique, _where, _zero_like_result, _zeros_of

__all__ = ["OWN", "array_function", "array_ufunc", "handler_for"]


def _cumulative_sum(ctx, x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    res = _cumulative(ctx, x, axis)
    if include_initial:
        axis = 0 if axis is None else axis
        first = np.zeros_like(np.take(res, [0], axis=axis))
        res = np.concatenate([first, res], axis=axis)
    return res


#: Function -> tracer rule of its own (linear without ``select``, custom).
OWN = {
    np.sum: lambda ctx, a, axis=None, dtype=None, out=None, keepdims=False, **k: _reduce(ctx, a, axis, keepdims),
    np.prod: lambda ctx, a, axis=None, dtype=None, out=None, keepdims=False, **k: _reduce(
        ctx, a, axis, keepdims, nonlinear=True),
    np.max: _extremum("max"), np.amax: _extremum("max"), np.min: _extremum("min"), np.amin: _extremum("min"),
    np.cumsum: lambda ctx, a, axis=None, dtype=None, out=None: _cumulative(ctx, a, axis),
    np.where: _where, **{f: _like(f) for f in (np.zeros_like, np.empty_like, np.ones_like, np.full_like)},
    np.copyto: _copyto, np.imag: _imag, np.einsum: _einsum, np.matmul: _matmul,
    np.convolve: _convolve, np.correlate: lambda ctx, a, v, mode="valid": _convolve(ctx, a, v, mode, correlate=True),
    np.sort: _sort, np.interp: _interp, np.unique: _unique,
    **{f: _order_statistic(f) for f in (np.median, np.percentile, np.quantile, np.nanmedian, np.nanpercentile,
                                     np.nanquantile)},
    **_fft_handlers(),
}
if hasattr(np, "cumulative_sum"):  # NumPy >= 2.1
    OWN[np.cumulative_sum] = _cumulative_sum

_GENERIC: dict = {}


def _meta(func):
    def handler(ctx, *args, **kwargs):  # shapes and dtypes only: exact without values
        return func(*_zeros_of(args), **_zeros_of(kwargs))

    return handler


def _composite(impl):
    def handler(ctx, *args, **kwargs):
        return impl(*args, **kwargs)

    return handler


def _select(func):
    def handler(ctx, *args, **kwargs):
        return _structural(ctx, func, args, kwargs)

    return handler


def handler_for(func):
    """The tracer handler of a table entry (None if the tracer does not cover it)."""
    return engine_handler(func, OWN, _GENERIC, _by_kind)


def _by_kind(func, rule):
    if rule.kind == "zero":
        return _meta(func) if rule.meta else _zero_like_result(func)
    if rule.kind == "composite":
        return _composite(rule.impl)
    if rule.kind == "linear" and rule.select:
        return _select(func)
    if rule.kind == "dense":
        return dense_handler(func, rule)
    return None


def array_function(ctx, func, args, kwargs):
    handler = handler_for(func)
    if handler is None:
        rule = function_rule(func)  # raises MissingRuleError with the user's options
        raise MissingRuleError(f"The sparsity tracer has no rule for {rule.name}.\n" + missing_rule_hint())
    res = handler(ctx, *args, **kwargs)
    return _fill_value(ctx, res, lambda: func(*_primal(args), **_primal(kwargs)))


def array_ufunc(self, ufunc, method, inputs, kwargs):
    out = kwargs.pop("out", None)
    if out is not None:  # in-place operators (y += x) and out= into a traced array
        target = out[0] if isinstance(out, tuple) and len(out) == 1 else out
        if not isinstance(target, _Tracer):
            raise TracingError(
                f"np.{ufunc.__name__}(..., out=...) into a plain array cannot be traced.\n"
                "Hint: create the output with np.zeros_like(x), or assign the result instead."
            )
        res = array_ufunc(self, ufunc, method, inputs, kwargs)
        target._store(res.S, res.value)
        return target
    ctx = self.ctx
    if method == "at":
        return _at(ctx, ufunc, inputs)
    if method in ("reduce", "accumulate"):
        res = _reduce_method(ctx, ufunc, method, inputs[0], kwargs)
        return _fill_value(ctx, res, lambda: getattr(ufunc, method)(*_primal(inputs), **kwargs))
    if method == "__call__" and ufunc.signature is not None:  # matmul, vecdot, matvec: the table
        return array_function(ctx, ufunc, inputs, kwargs)
    if method != "__call__":
        raise MissingRuleError(f"np.{ufunc.__name__}.{method} has no sparsity tracing rule.\n" + missing_rule_hint())
    return ctx.elementwise(ufunc, inputs)


def _reduce_method(ctx, ufunc, method, a, kwargs):
    """``ufunc.reduce`` / ``ufunc.accumulate`` of any binary ufunc with a rule."""
    rule = RULES.get(ufunc)
    if rule is None or rule.nargs != 2:
        raise MissingRuleError(f"np.{ufunc.__name__}.{method} has no sparsity tracing rule.\n" + missing_rule_hint())
    nonlinear = not (all(rule.d2_zero) and rule.cross_zero)
    if all(rule.d1_zero):  # comparisons, logical functions: no dependence at all
        a = np.zeros_like(a)
    if method == "reduce":
        return _reduce(ctx, a, kwargs.get("axis", 0), kwargs.get("keepdims", False), nonlinear=nonlinear)
    return _cumulative(ctx, a, kwargs.get("axis", 0), nonlinear=nonlinear)


def _at(ctx, ufunc, inputs):
    try:
        primals = _primal(inputs) if ctx.local else None
    except _NoValue:
        primals = None
    _ufunc_at(ctx, ufunc, *inputs)
    if primals is not None:  # local: keep the primal value up to date
        buf = np.array(primals[0])
        ufunc.at(buf, *primals[1:])
        inputs[0]._store(inputs[0].S, buf)
    return None


def _ufunc_at(ctx, ufunc, a, indices, b=None):
    if not isinstance(a, _Tracer):
        raise TracingError(f"np.{ufunc.__name__}.at into a plain array.\nHint: create it with np.zeros_like(x).")
    tb = ctx.lift(b if b is not None else 0.0)
    target = np.ravel(a.ids()[_plain_index(indices)])
    src = np.broadcast_to(tb.ids(), a.ids()[_plain_index(indices)].shape).ravel()
    rows_new = _rows(tb.S, src)
    A = sp.csr_array((np.ones(target.size, dtype=np.int32), (target, np.arange(target.size))), shape=(a.size, target.size))
    a._store(_union(a.S, _product(A, rows_new)), None)
    return None
