"""The sparsity tracer's array stand-in and its tracing context.

A :class:`_Tracer` stands in for an array: it has a shape and, per element, the set of input
elements it may depend on (rows of a boolean sparse matrix ``S`` of shape ``(size, n)``);
the local detector also carries the primal values. NumPy hands every ufunc call and most
functions to it (``_dispatch.py``), which reads the one rule table (:mod:`anydiff.rules`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ...._array_methods import ArrayMethods
from ...._errors import MissingPrimalError, MissingRuleError, TracingError
from ....rules import RULES, missing_rule_hint
from .._index_sets import _product, _rows

__all__ = ["_Tracer", "_Context", "_NoValue", "_primal", "_fill_value", "_plain_index", "_union", "_bool_csr",
           "_has_tracer", "_empty"]


def _union(*mats):
    out = mats[0]
    for M in mats[1:]:
        if M.nnz:
            out = out + M if out.nnz else M
    return _bool_csr(out)


def _bool_csr(S):
    return S if isinstance(S, sp.csr_array) and S.dtype == bool else sp.csr_array(S, dtype=bool)


class _Tracer(ArrayMethods, np.lib.mixins.NDArrayOperatorsMixin):
    """Array stand-in carrying index sets (and, for the local detector, values)."""

    __array_priority__ = 1000

    def __init__(self, S, shape, value=None, ctx=None):
        self._S = _bool_csr(S)
        self.shape = tuple(shape)
        self._value = value
        self.ctx = ctx
        # NumPy view semantics: a view (basic indexing, reshape, transpose, ...) reads its buffer
        # again after the buffer is written, and a write into a view writes into the buffer
        self._root = None  # the array this one is a view of (never itself a view)
        self._rids = None  # flat element ids in the root, shaped like this view
        self._seen = 0  # the root's version this view last read
        self._version = 0  # bumped by every write into this array (as a root)

    @classmethod
    def view_of(cls, base, positions, ctx):
        """A view of ``base`` whose elements are ``base``'s flat ``positions`` (shaped like the view)."""
        root = base._root if base._root is not None else base
        rids = np.asarray(positions, dtype=np.int64)
        if base._root is not None:
            rids = base._rids.reshape(-1)[rids]
        rv = root.value
        t = cls(_rows(root.S, rids), rids.shape, None if rv is None else np.asarray(rv).reshape(-1)[rids], ctx)
        t._root, t._rids, t._seen = root, rids, root._version
        return t

    def _sync(self):
        root = self._root
        if root is not None and root._version != self._seen:
            self._S = _rows(root._S, self._rids)
            rv = root._value
            self._value = None if rv is None else np.asarray(rv).reshape(-1)[self._rids]
            self._seen = root._version

    @property
    def S(self):
        self._sync()
        return self._S

    @property
    def value(self):
        self._sync()
        return self._value

    @value.setter
    def value(self, value):  # the primal of a fresh result (a cache: not a write into a buffer)
        self._value = value

    def _store(self, S, value):
        """Replace every element (an in-place operation): in a view, the buffer's elements."""
        if self._root is None:
            self._S, self._value = _bool_csr(S), value
            self._version += 1
            return
        values = None if value is None else np.broadcast_to(np.asarray(value), self.shape).ravel()
        self._root._write(self._rids.ravel(), _bool_csr(S), values)

    def _write(self, target, rows, values):
        """Write ``rows`` (and ``values``) into the flat elements ``target`` of this root array."""
        mapping = np.full(self.size, -1, dtype=np.int64)
        mapping[target] = np.arange(target.size)  # repeated targets: the last write wins, as in NumPy
        keep = np.where(mapping < 0, np.arange(self.size), -1)
        self._S = _union(_rows(self._S, keep), _rows(rows, mapping))
        if self._value is not None and values is not None:
            v = np.array(self._value, dtype=np.result_type(self._value, values))
            v.reshape(-1)[target] = values
            self._value = v
        self._version += 1

    # ------------------------------------------------------------- basics
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))
    dtype = property(lambda self: np.dtype(float) if self.value is None else np.asarray(self.value).dtype)

    def __repr__(self):
        return f"<traced array shape={self.shape} nnz={self.S.nnz}>"

    def ids(self):
        return np.arange(self.size).reshape(self.shape)

    def _no_value(self, what, lossy=False):
        if lossy and self.S.nnz:  # the value would leave the trace without its dependencies
            raise TracingError(
                f"{what} of a traced array that depends on x drops its dependencies (float(x[0]), "
                "x.item(), a math function bound before the call, or writing x[i] into an integer "
                "array).\nHint: call math/NumPy functions through their module (math.sin, np.zeros), "
                "or wrap that piece with ad.differentiate_with(...)."
            )
        if self.ctx.local and self.value is not None:
            return np.asarray(self.value)
        raise MissingPrimalError(
            f"{what} of a traced array: the global sparsity detector does not know values "
            "(value-dependent control flow or a conversion to a Python number), or a traced value "
            "was written into a plain NumPy array.\nHint: use TracerLocalSparsityDetector() for a "
            "pattern at this x, and create buffers with np.zeros_like(x) instead of np.zeros(n)."
        )

    def __bool__(self):
        return bool(self._no_value("bool()"))

    def __float__(self):
        return float(self._no_value("float()", lossy=True))

    def __complex__(self):
        return complex(self._no_value("complex()", lossy=True))

    def __int__(self):
        return int(self._no_value("int()", lossy=True))

    def __index__(self):
        return int(self._no_value("Using as an index"))

    def __array__(self, dtype=None, copy=None):
        raise TracingError(
            "A traced array was converted to a plain NumPy array (written into an array that cannot "
            "hold it, or passed to compiled code or a function bound before the call).\n"
            "Hint: call NumPy through its module (np.zeros, np.asarray) inside f, or wrap that piece "
            "with ad.differentiate_with(...)."
        )

    # ----------------------------------------------------------- indexing
    def __getitem__(self, index):
        index = _plain_index(index)
        all_ids = self.ids()
        ids = all_ids[index]
        if isinstance(ids, np.ndarray) and np.may_share_memory(ids, all_ids):  # basic indexing: a view
            return _Tracer.view_of(self, ids, self.ctx)
        value = None if self.value is None else np.asarray(self.value)[index]
        return _Tracer(_rows(self.S, ids), np.shape(ids), value, self.ctx)

    def __setitem__(self, index, new):
        index = _plain_index(index)
        positions = self.ids()[index]
        target, shape = np.ravel(positions), np.shape(positions)
        new_t = self.ctx.lift(new)
        rows = _rows(new_t.S, np.broadcast_to(new_t.ids(), shape).ravel())
        values = None if new_t.value is None else np.broadcast_to(np.asarray(new_t.value), shape).ravel()
        if self._root is None:
            self._write(target, rows, values)
        else:
            self._root._write(self._rids.reshape(-1)[target], rows, values)

    # -------------------------------------------------------- conveniences
    def copy(self):
        return _Tracer(self.S, self.shape, None if self.value is None else np.array(self.value), self.ctx)

    def astype(self, dtype, **kw):
        return self.copy()

    def view(self, *args, **kwargs):  # autograd.numpy wraps results with .view(ndarray)
        return self

    def item(self, *a):
        return self._no_value("item()", lossy=True).item(*a)

    def tolist(self):
        return self._no_value("tolist()", lossy=True).tolist()

    # ------------------------------------------------------------ ufuncs
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from ._dispatch import array_ufunc

        return array_ufunc(self, ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from ._dispatch import array_function

        return array_function(self.ctx, func, args, kwargs)


class _NoValue(Exception):
    """Some traced input has no primal value (local detector after an untracked operation)."""


def _primal(obj):
    """Replace tracers by their primal values, recursively in lists, tuples and dicts."""
    if isinstance(obj, _Tracer):
        if obj.value is None:
            raise _NoValue
        return np.asarray(obj.value)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_primal(e) for e in obj)
    if isinstance(obj, dict):
        return {k: _primal(v) for k, v in obj.items()}
    return obj


def _fill_value(ctx, res, compute):
    """Local detector: give ``res`` (a tracer or a list of tracers) its primal value if missing."""
    if not ctx.local:
        return res
    targets = [r for r in (res if isinstance(res, (list, tuple)) else [res]) if isinstance(r, _Tracer)]
    if not targets or all(t.value is not None for t in targets):
        return res
    try:
        value = compute()
    except _NoValue:
        return res
    values = value if isinstance(res, (list, tuple)) else [value]
    for t, v in zip(targets, values):
        if t.value is None:
            t.value = np.asarray(v)
    return res


def _plain_index(index):
    def conv(i):
        if isinstance(i, _Tracer):
            return i._no_value("Indexing with a traced array")
        return i

    return tuple(conv(i) for i in index) if isinstance(index, tuple) else conv(index)


@dataclass
class _Context:
    n: int
    local: bool
    hessian: bool = False
    H: object = None  # accumulated (n, n) Hessian pattern when tracing second order

    def second(self, A, B=None):
        """Record second-order interactions: Σ_e a_e b_eᵀ for row-aligned index sets A, B."""
        if not self.hessian or A.nnz == 0 or (B is not None and B.nnz == 0):
            return
        P = _product(A.T, A if B is None else B)
        if B is not None:
            P = P + P.T
        self.H = P if self.H is None else sp.csr_array(self.H + P, dtype=bool)

    def lift(self, a):
        if isinstance(a, _Tracer):
            return a
        if isinstance(a, (list, tuple)) and _has_tracer(a):  # e.g. [np.sum(x), x[0]]
            return np.stack([self.lift(e) for e in a])
        arr = np.asarray(a)
        return _Tracer(sp.csr_array((arr.size, self.n), dtype=bool), arr.shape, arr if self.local else None, self)

    def _local_masks(self, rule, ts, value):
        """Local detector: per argument, where its partial may be nonzero at x (the rule's
        ``local`` flags: ``x * y`` does not depend on ``x`` where ``y == 0``)."""
        if not self.local or value is None or rule.local is None:
            return None
        with np.errstate(all="ignore"):
            return rule.local(*(np.asarray(t.value) for t in ts))

    def elementwise(self, ufunc, inputs):
        rule = RULES.get(ufunc)
        if rule is None:
            raise MissingRuleError(f"anydiff has no derivative rule for np.{ufunc.__name__}.\n" + missing_rule_hint())
        ts = [self.lift(a) for a in inputs]
        shape = np.broadcast_shapes(*(t.shape for t in ts))
        value = None
        if self.local and all(t.value is not None for t in ts):
            value = ufunc(*(np.asarray(t.value) for t in ts))
        masks = self._local_masks(rule, ts, value)
        parts, full = [], []  # first-order sets at x (local masks applied) / for second order
        for k, t in enumerate(ts):
            if rule.d1_zero[min(k, rule.nargs - 1)] or t.S.nnz == 0:
                continue
            whole = t.S if t.shape == shape else _rows(t.S, np.broadcast_to(t.ids(), shape))
            full.append(whole)
            if masks is not None and masks[k] is not None:  # partial zero at x: no dependence there
                mask = np.broadcast_to(np.asarray(masks[k], dtype=bool), shape)
                parts.append(_rows(t.S, np.where(mask, np.broadcast_to(t.ids(), shape), -1)))
            else:
                parts.append(whole)
            if self.hessian and not rule.d2_zero[min(k, rule.nargs - 1)]:
                self.second(whole)  # nonlinear in this argument
        if self.hessian and not rule.cross_zero and len(full) == 2:
            self.second(full[0], full[1])  # mixed term, e.g. x * y
        S = _union(*parts) if parts else sp.csr_array((math.prod(shape), self.n), dtype=bool)
        return _Tracer(S, shape, value, self)


def _has_tracer(seq):
    return any(isinstance(e, _Tracer) or (isinstance(e, (list, tuple)) and _has_tracer(e)) for e in seq)


def _empty(ctx, shape, value=None):
    """A tracer of ``shape`` that depends on nothing."""
    return _Tracer(sp.csr_array((math.prod(shape), ctx.n), dtype=bool), shape, value, ctx)
