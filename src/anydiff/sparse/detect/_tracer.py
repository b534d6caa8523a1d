"""Index-set tracer for unmodified NumPy code (global and local Jacobian patterns).

A :class:`_Tracer` stands in for an array: it has a shape and, per element, the set of input
elements it may depend on (rows of a boolean sparse matrix ``S`` of shape ``(size, n)``). NumPy
hands every ufunc call (``__array_ufunc__``) and most functions (``__array_function__``) to it:

* elementwise ufuncs: union of the broadcast operands' sets, skipping arguments whose rule
  (``anydiff.rules``) says the derivative is zero;
* structural functions (reshape, slicing, concatenate, roll, pad, take, ...): NumPy itself runs
  on arrays of element ids, which tells which input element each output element is;
* reductions and contractions (sum, prod, max, cumsum, einsum, matmul, ...): unions over the
  reduced indices, from index arrays; ``solve``/``inv``: dense blocks.

The global detector never looks at values: ``if x[0] > 0`` raises ``MissingPrimalError``. The
local detector carries the primal values too and follows the branches taken at ``x``.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..._array_methods import ArrayMethods
from ..._errors import AnyDiffError, MissingPrimalError, MissingRuleError, TracingError
from ...rules import RULES
from ._index_sets import _any_row, _product, _rows

__all__ = ["TracerSparsityDetector", "TracerLocalSparsityDetector"]


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
        self.S = _bool_csr(S)
        self.shape = tuple(shape)
        self.value = value
        self.ctx = ctx

    # ------------------------------------------------------------- basics
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))
    dtype = property(lambda self: np.dtype(float) if self.value is None else np.asarray(self.value).dtype)

    def __repr__(self):
        return f"<traced array shape={self.shape} nnz={self.S.nnz}>"

    def ids(self):
        return np.arange(self.size).reshape(self.shape)

    def _no_value(self, what):
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
        return float(self._no_value("float()"))

    def __int__(self):
        return int(self._no_value("int()"))

    def __index__(self):
        return int(self._no_value("Using as an index"))

    def __array__(self, dtype=None, copy=None):
        self._no_value("Converting to a NumPy array")
        raise TracingError(
            "A traced array was converted to a plain NumPy array (for example written into np.zeros(n)).\n"
            "Hint: create buffers with np.zeros_like(x) / np.empty_like(x)."
        )

    # ----------------------------------------------------------- indexing
    def __getitem__(self, index):
        index = _plain_index(index)
        ids = self.ids()[index]
        value = None if self.value is None else np.asarray(self.value)[index]
        return _Tracer(_rows(self.S, ids), np.shape(ids), value, self.ctx)

    def __setitem__(self, index, new):
        index = _plain_index(index)
        target = self.ids()[index]
        new_t = self.ctx.lift(new)
        src = np.broadcast_to(new_t.ids(), np.shape(target)).ravel()
        mapping = np.full(self.size, -1, dtype=np.int64)
        mapping[np.ravel(target)] = src
        keep = np.where(mapping < 0, np.arange(self.size), -1)
        self.S = _union(_rows(self.S, keep), _rows(new_t.S, mapping))
        if self.value is not None and new_t.value is not None:
            self.value = np.array(self.value, dtype=np.result_type(self.value, new_t.value))
            self.value[index] = new_t.value

    # -------------------------------------------------------- conveniences
    def copy(self):
        return _Tracer(self.S, self.shape, None if self.value is None else np.array(self.value), self.ctx)

    def astype(self, dtype, **kw):
        return self.copy()

    def view(self, *args, **kwargs):  # autograd.numpy wraps results with .view(ndarray)
        return self

    def item(self, *a):
        return self._no_value("item()").item(*a)

    def tolist(self):
        return self._no_value("tolist()").tolist()

    # ------------------------------------------------------------ ufuncs
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        if out is not None:  # in-place operators (y += x) and out= into a traced array
            target = out[0] if isinstance(out, tuple) and len(out) == 1 else out
            if not isinstance(target, _Tracer):
                raise TracingError(
                    f"np.{ufunc.__name__}(..., out=...) into a plain array cannot be traced.\n"
                    "Hint: create the output with np.zeros_like(x), or assign the result instead."
                )
            res = self.__array_ufunc__(ufunc, method, *inputs, **kwargs)
            target.S, target.value = res.S, res.value
            return target
        if method == "at":
            try:
                primals = _primal(inputs) if self.ctx.local else None
            except _NoValue:
                primals = None
            _ufunc_at(self.ctx, ufunc, *inputs)
            if primals is not None:  # local: keep the primal value up to date
                buf = np.array(primals[0])
                ufunc.at(buf, *primals[1:])
                inputs[0].value = buf
            return None
        if method in ("reduce", "accumulate"):
            if method == "reduce":
                if ufunc not in (np.add, np.multiply, np.maximum, np.minimum, np.fmax, np.fmin, np.logical_and, np.logical_or):
                    raise MissingRuleError(f"np.{ufunc.__name__}.reduce has no tracing rule.")
                res = _reduce(self.ctx, inputs[0], kwargs.get("axis", 0), kwargs.get("keepdims", False), ufunc,
                              nonlinear=ufunc is np.multiply)
            else:
                if ufunc not in (np.add, np.multiply, np.maximum, np.minimum, np.fmax, np.fmin):
                    raise MissingRuleError(f"np.{ufunc.__name__}.accumulate has no tracing rule.")
                res = _cumulative(self.ctx, inputs[0], kwargs.get("axis", 0), nonlinear=ufunc is np.multiply)
            return _fill_value(self.ctx, res, lambda: getattr(ufunc, method)(*_primal(inputs), **kwargs))
        if ufunc is np.matmul and method == "__call__":
            return _fill_value(self.ctx, _matmul(self.ctx, *inputs), lambda: ufunc(*_primal(inputs), **kwargs))
        if ufunc in _GUFUNCS and method == "__call__":
            if kwargs.get("axes") is not None or kwargs.get("axis") is not None:
                raise MissingRuleError(f"np.{ufunc.__name__} with axes/axis is not traced.")
            res = _einsum(self.ctx, _GUFUNCS[ufunc], *inputs)
            return _fill_value(self.ctx, res, lambda: ufunc(*_primal(inputs), **kwargs))
        if method != "__call__":
            raise MissingRuleError(f"np.{ufunc.__name__}.{method} has no tracing rule.\nHint: use JaxSparsityDetector or DenseSparsityDetector.")
        return self.ctx.elementwise(ufunc, inputs)

    def __array_function__(self, func, types, args, kwargs):
        handler = _HANDLERS.get(func)
        if handler is None:
            if func in _STRUCTURAL:
                return _structural(self.ctx, func, args, kwargs)
            raise MissingRuleError(
                f"{func.__module__}.{func.__name__} has no sparsity tracing rule.\n"
                "Hint: add it to anydiff/sparse/detect/_tracer.py, or use DenseSparsityDetector(backend)."
            )
        res = handler(self.ctx, *args, **kwargs)
        return _fill_value(self.ctx, res, lambda: func(*_primal(args), **_primal(kwargs)))


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

    def elementwise(self, ufunc, inputs):
        rule = RULES.get(ufunc)
        if rule is None:
            raise MissingRuleError(
                f"np.{ufunc.__name__} has no derivative rule.\n"
                "Hint: add an entry to src/anydiff/rules/numpy_rules.py, or use DenseSparsityDetector(backend)."
            )
        ts = [self.lift(a) for a in inputs]
        shape = np.broadcast_shapes(*(t.shape for t in ts))
        value = None
        if self.local and all(t.value is not None for t in ts):
            value = ufunc(*(np.asarray(t.value) for t in ts))
        parts = []
        for k, t in enumerate(ts):
            if rule.d1_zero[min(k, rule.nargs - 1)] or t.S.nnz == 0:
                continue
            if self.local and value is not None and ufunc in (np.maximum, np.minimum, np.fmax, np.fmin):
                # only the branch taken at x (both on ties)
                other = np.asarray(ts[1 - k].value)
                mine = np.asarray(t.value)
                chosen = (mine >= other) if ufunc in (np.maximum, np.fmax) else (mine <= other)
                ids = np.where(np.broadcast_to(chosen, shape), np.broadcast_to(t.ids(), shape), -1)
            elif t.shape == shape:
                parts.append(t.S)  # same shape: the rows as they are
                ids = None
            else:
                ids = np.broadcast_to(t.ids(), shape)
            if ids is not None:
                parts.append(_rows(t.S, ids))
            if self.hessian and not rule.d2_zero[min(k, rule.nargs - 1)]:
                self.second(parts[-1])  # nonlinear in this argument
        if self.hessian and not rule.cross_zero and len(parts) == 2:
            self.second(parts[0], parts[1])  # mixed term, e.g. x * y
        S = _union(*parts) if parts else sp.csr_array((math.prod(shape), self.n), dtype=bool)
        return _Tracer(S, shape, value, self)


def _has_tracer(seq):
    return any(isinstance(e, _Tracer) or (isinstance(e, (list, tuple)) and _has_tracer(e)) for e in seq)


# ------------------------------------------------------------------ structural
_STRUCTURAL = {
    np.reshape, np.ravel, np.transpose, np.swapaxes, np.moveaxis, np.squeeze, np.expand_dims,
    np.concatenate, np.stack, np.hstack, np.vstack, np.column_stack, np.dstack, np.roll, np.flip,
    np.fliplr, np.flipud, np.tile, np.repeat, np.broadcast_to, np.take, np.pad, np.atleast_1d,
    np.atleast_2d, np.diagonal, np.triu, np.tril, np.append, np.rot90, np.take_along_axis,
    np.copy, np.asarray, np.array, np.ascontiguousarray, np.diag, np.split, np.array_split,
    np.fft.fftshift, np.fft.ifftshift,
}


def _structural(ctx, func, args, kwargs):
    """Run ``func`` on element ids (first argument: an array or a sequence of arrays)."""
    first = args[0]
    offset, blocks, values = 0, [], []

    def ids_of(a):
        nonlocal offset
        t = ctx.lift(a)
        ids = t.ids() + offset + 1  # 0 = depends on nothing (padding, constants filled in)
        offset += t.size
        blocks.append(t.S)
        values.append(t.value)
        return ids

    many = isinstance(first, (list, tuple))
    data = [ids_of(a) for a in first] if many else ids_of(first)
    if func is np.pad:
        kwargs = {**kwargs, "constant_values": 0} if kwargs.get("mode", args[2] if len(args) > 2 else "constant") == "constant" else kwargs
    out = func(data, *args[1:], **kwargs)
    S_all = sp.vstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]
    value = None
    if ctx.local and all(v is not None for v in values):
        value = func([np.asarray(v) for v in values] if many else np.asarray(values[0]), *args[1:], **kwargs)
    if isinstance(out, list):  # split
        return [_Tracer(_rows(S_all, np.asarray(o) - 1), np.shape(o), None, ctx) for o in out]
    out = np.asarray(out)
    return _Tracer(_rows(S_all, out.astype(np.int64) - 1), out.shape, value, ctx)


# ----------------------------------------------------------------- reductions
def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim for a in axes)


def _reduce(ctx, a, axis=None, keepdims=False, ufunc=None, nonlinear=False, **_):
    t = ctx.lift(a)
    axes = _norm_axes(axis, t.ndim)
    keep = [d for d in range(t.ndim) if d not in axes]
    out_shape = tuple(t.shape[d] for d in keep)
    coords = np.indices(t.shape).reshape(t.ndim, -1)
    out_idx = np.ravel_multi_index(tuple(coords[d] for d in keep), out_shape) if keep else np.zeros(t.size, np.int64)
    A = sp.csr_array((np.ones(t.size, dtype=np.int32), (out_idx, np.arange(t.size))), shape=(math.prod(out_shape), t.size))
    S = _product(A, t.S)
    if nonlinear or ufunc is np.multiply:
        ctx.second(S)  # prod, var, norm: every pair inside one reduction interacts
    shape = tuple(1 if d in axes else s for d, s in enumerate(t.shape)) if keepdims else out_shape
    return _Tracer(S, shape, None, ctx)


def _extremum(kind):
    def reduce_extremum(ctx, a, axis=None, out=None, keepdims=False, **_):
        t = ctx.lift(a)
        if not (ctx.local and t.value is not None):
            return _reduce(ctx, t, axis, keepdims)
        axes = _norm_axes(axis, t.ndim)
        v = np.asarray(t.value)
        best = (np.max if kind == "max" else np.min)(v, axis=axes, keepdims=True)
        chosen = np.where(v == best, t.ids(), -1)  # the arg-extrema at x (all of them on ties)
        masked = _Tracer(_rows(t.S, chosen), t.shape, v, ctx)
        res = _reduce(ctx, masked, axis, keepdims)
        res.value = (np.max if kind == "max" else np.min)(v, axis=axes, keepdims=keepdims)
        return res

    return reduce_extremum


def _cumulative(ctx, a, axis=None, nonlinear=False, **_):
    t = ctx.lift(a)
    if axis is None:
        t, axis = np.ravel(t), 0
    axis %= t.ndim
    L = t.shape[axis]
    idx = np.moveaxis(t.ids(), axis, -1).reshape(-1, L)
    src, dst = np.nonzero(np.triu(np.ones((L, L), dtype=bool)))
    A = sp.csr_array((np.ones(idx.shape[0] * src.size, dtype=np.int32), (idx[:, dst].ravel(), idx[:, src].ravel())),
                     shape=(t.size, t.size))
    S = _product(A, t.S)
    if nonlinear:
        ctx.second(S)
    return _Tracer(S, t.shape, None, ctx)


def _diff(ctx, a, n=1, axis=-1, **_):
    t = ctx.lift(a)
    for _ in range(n):
        L = t.shape[axis]
        hi = np.take(t, np.arange(1, L), axis=axis)
        lo = np.take(t, np.arange(0, L - 1), axis=axis)
        t = np.subtract(hi, lo)
    return t


def _norm(ctx, x, ord=None, axis=None, keepdims=False):
    return _reduce(ctx, np.abs(ctx.lift(x)), axis, keepdims, nonlinear=True)


def _where(ctx, cond, a=None, b=None):
    if a is None:
        raise MissingPrimalError("np.where(cond) with one argument needs values.\nHint: use TracerLocalSparsityDetector().")
    c = cond if isinstance(cond, _Tracer) else ctx.lift(cond)
    ta, tb = ctx.lift(a), ctx.lift(b)
    shape = np.broadcast_shapes(c.shape, ta.shape, tb.shape)
    ia, ib = np.broadcast_to(ta.ids(), shape), np.broadcast_to(tb.ids(), shape)
    if c.value is not None and (ctx.local or not isinstance(cond, _Tracer)):
        cv = np.broadcast_to(np.asarray(c.value, dtype=bool), shape)
        S = _union(_rows(ta.S, np.where(cv, ia, -1)), _rows(tb.S, np.where(cv, -1, ib)))
        value = None if ta.value is None or tb.value is None else np.where(cv, ta.value, tb.value)
        return _Tracer(S, shape, value, ctx)
    return _Tracer(_union(_rows(ta.S, ia), _rows(tb.S, ib)), shape, None, ctx)


def _clip(ctx, a, a_min=None, a_max=None, **_):
    t = ctx.lift(a)
    out = t
    if a_min is not None:
        out = np.maximum(out, a_min)
    if a_max is not None:
        out = np.minimum(out, a_max)
    return out


def _like(ctx, a, *args, **kwargs):
    t = ctx.lift(a)
    shape = kwargs.get("shape") or t.shape
    return _Tracer(sp.csr_array((math.prod(shape), ctx.n), dtype=bool), shape,
                   np.zeros(shape) if ctx.local else None, ctx)


# ------------------------------------------------------------- contractions
def _einsum_normalize(subscripts, shapes):
    """Explicit subscripts without ``...``: ``("ij,jk", "ik")`` with ellipses spelled out."""
    subscripts = subscripts.replace(" ", "")
    ins, out = subscripts.split("->") if "->" in subscripts else (subscripts, None)
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise TracingError(f"np.einsum: {len(terms)} subscripts for {len(shapes)} operands.")
    used = set(ins.replace(".", ""))
    free = [c for c in string.ascii_letters if c not in used]
    n_ell = max((len(sh) - len(t.replace("...", "")) for t, sh in zip(terms, shapes) if "..." in t), default=0)
    ell = "".join(free[:n_ell])
    terms = [t.replace("...", ell[n_ell - (len(sh) - len(t.replace("...", ""))):]) if "..." in t else t
             for t, sh in zip(terms, shapes)]
    if out is None:  # implicit mode: broadcast letters, then letters seen once, alphabetically
        counts = {c: "".join(terms).count(c) for c in set("".join(terms))}
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return terms, out


def _contract(ctx, out_shape, out_idx, pairs):
    """Sets of a sum of products: output ``out_idx[p]`` gets, at every grid point ``p``, the
    product of the operands' elements ``src[p]`` (``pairs`` = [(tracer, src)])."""
    parts, per_point = [], []
    size = math.prod(out_shape)
    for t, src in pairs:
        if t.S.nnz == 0:
            continue
        A = sp.csr_array((np.ones(src.size, dtype=np.int32), (out_idx, src)), shape=(size, t.size))
        parts.append(_product(A, t.S))
        if ctx.hessian:
            per_point.append(_rows(t.S, src))
    for i in range(len(per_point)):  # products of traced operands: mixed second derivatives
        for j in range(i + 1, len(per_point)):
            ctx.second(per_point[i], per_point[j])
    return _union(*parts) if parts else sp.csr_array((size, ctx.n), dtype=bool)


def _einsum(ctx, subscripts, *operands, **_):
    if not isinstance(subscripts, str):
        raise MissingRuleError("np.einsum in the interleaved (operand, sublist) form is not traced.\n"
                               "Hint: use the string form, e.g. np.einsum('ij,jk->ik', a, b).")
    ts = [ctx.lift(o) for o in operands]
    terms, out = _einsum_normalize(subscripts, [t.shape for t in ts])
    letters = sorted(set("".join(terms)))
    size = {}
    for term, t in zip(terms, ts):
        if len(term) != t.ndim:
            raise TracingError(f"np.einsum: subscripts {term!r} do not match an operand of shape {t.shape}.")
        for ch, s in zip(term, t.shape):
            size[ch] = max(size.get(ch, 1), s)  # size-1 dimensions broadcast
    grid = np.indices([size[ch] for ch in letters]).reshape(len(letters), -1)
    pos = {ch: k for k, ch in enumerate(letters)}
    out_shape = tuple(size[ch] for ch in out)
    out_idx = np.ravel_multi_index(tuple(grid[pos[ch]] for ch in out), out_shape) if out else np.zeros(grid.shape[1], np.int64)
    pairs = []
    for term, t in zip(terms, ts):
        coords = tuple(np.minimum(grid[pos[ch]], d - 1) for ch, d in zip(term, t.shape))
        pairs.append((t, np.ravel_multi_index(coords, t.shape) if term else np.zeros(grid.shape[1], np.int64)))
    return _Tracer(_contract(ctx, out_shape, out_idx, pairs), out_shape, None, ctx)


def _convolve(ctx, a, v, mode="full", correlate=False):
    ta, tv = ctx.lift(a), ctx.lift(v)
    if ta.ndim != 1 or tv.ndim != 1:
        raise TracingError("np.convolve/np.correlate take 1-D arrays.")
    na, nv = ta.size, tv.size
    j, i = (g.ravel() for g in np.indices((na, nv)))
    k = j + i  # correlate(a, v) = convolve(a, v[::-1]): i indexes the (reversed) second operand  # full convolution index
    L = na + nv - 1
    if mode == "full":
        lo, hi = 0, L
    elif mode == "same":
        m = max(na, nv)
        lo = (L - m) // 2
        hi = lo + m
    elif mode == "valid":
        lo, hi = min(na, nv) - 1, max(na, nv)
    else:
        raise TracingError(f"np.convolve: unknown mode {mode!r}.")
    keep = (k >= lo) & (k < hi)
    src_v = i if not correlate else nv - 1 - i
    S = _contract(ctx, (hi - lo,), k[keep] - lo, [(ta, j[keep]), (tv, src_v[keep])])
    return _Tracer(S, (hi - lo,), None, ctx)


def _subs(k, start=0):
    return string.ascii_letters[start:start + k]


def _matmul(ctx, a, b, **_):
    ta, tb = ctx.lift(a), ctx.lift(b)
    if ta.ndim == 1 and tb.ndim == 1:
        return _einsum(ctx, "i,i->", ta, tb)
    if ta.ndim == 1:
        return _einsum(ctx, "j,jk->k", ta, tb)
    if tb.ndim == 1:
        return _einsum(ctx, "ij,j->i", ta, tb)
    return _einsum(ctx, "...ij,...jk->...ik", ta, tb)


def _dot(ctx, a, b, out=None):
    ta, tb = ctx.lift(a), ctx.lift(b)
    if ta.ndim == 0 or tb.ndim == 0:
        return np.multiply(ta, tb)
    if tb.ndim > 2:  # dot(a, b)[i, j, k, m] = sum(a[i, j, :] * b[k, :, m])
        return _tensordot(ctx, ta, tb, axes=([ta.ndim - 1], [tb.ndim - 2]))
    return _matmul(ctx, ta, tb)


def _inner(ctx, a, b):
    ta, tb = ctx.lift(a), ctx.lift(b)
    return _einsum(ctx, f"{_subs(ta.ndim - 1)}z,{_subs(tb.ndim - 1, 10)}z->{_subs(ta.ndim - 1)}{_subs(tb.ndim - 1, 10)}", ta, tb)


def _outer(ctx, a, b, out=None):
    return _einsum(ctx, "i,j->ij", np.ravel(ctx.lift(a)), np.ravel(ctx.lift(b)))


def _tensordot(ctx, a, b, axes=2):
    ta, tb = ctx.lift(a), ctx.lift(b)
    if isinstance(axes, int):
        ax_a, ax_b = list(range(ta.ndim - axes, ta.ndim)), list(range(axes))
    else:
        ax_a, ax_b = [list(np.atleast_1d(x)) for x in axes]
    sa, sb = list(_subs(ta.ndim)), list(_subs(tb.ndim, 20))
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in ax_a] + [c for k, c in enumerate(sb) if k not in ax_b]
    return _einsum(ctx, f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", ta, tb)


def _kron(ctx, a, b):
    ta, tb = ctx.lift(a), ctx.lift(b)
    ia = np.kron(ta.ids() + 1, np.ones(tb.shape, dtype=np.int64)) - 1
    ib = np.kron(np.ones(ta.shape, dtype=np.int64), tb.ids() + 1) - 1
    ctx.second(_rows(ta.S, ia), _rows(tb.S, ib))
    return _Tracer(_union(_rows(ta.S, ia), _rows(tb.S, ib)), ia.shape, None, ctx)


def _dense_block(ctx, *arrays):
    return _any_row([ctx.lift(a).S for a in arrays], ctx.n)


def _inv(ctx, a):
    t = ctx.lift(a)
    row = _dense_block(ctx, t)
    ctx.second(row)
    return _Tracer(_rows(row, np.zeros(t.size, np.int64)), t.shape, None, ctx)


def _solve(ctx, a, b):
    ta, tb = ctx.lift(a), ctx.lift(b)
    row = _dense_block(ctx, ta, tb)
    ctx.second(row)
    return _Tracer(_rows(row, np.zeros(tb.size, np.int64)), tb.shape, None, ctx)


def _det(ctx, a):
    t = ctx.lift(a)
    ctx.second(_dense_block(ctx, t))
    return _Tracer(_dense_block(ctx, t), (), None, ctx)


def _ufunc_at(ctx, ufunc, a, indices, b=None):
    if not isinstance(a, _Tracer):
        raise TracingError(f"np.{ufunc.__name__}.at into a plain array.\nHint: create it with np.zeros_like(x).")
    tb = ctx.lift(b if b is not None else 0.0)
    target = np.ravel(a.ids()[_plain_index(indices)])
    src = np.broadcast_to(tb.ids(), a.ids()[_plain_index(indices)].shape).ravel()
    rows_new = _rows(tb.S, src)
    A = sp.csr_array((np.ones(target.size, dtype=np.int32), (target, np.arange(target.size))), shape=(a.size, target.size))
    a.S = _union(a.S, _product(A, rows_new))
    a.value = None
    return None


def _along_axis(ctx, a, axis):
    """Every element depends on every element of its line along ``axis`` (``None``: all)."""
    t = ctx.lift(a)
    if axis is None:
        t = np.ravel(t)
        axis = 0
    red = _reduce(ctx, t, axis, keepdims=True)
    return np.broadcast_to(red, t.shape)


def _sort(ctx, a, axis=-1, kind=None, order=None, **_):
    """Global: each sorted element may be any element of its line; local: the permutation at x."""
    t = ctx.lift(a)
    if ctx.local and t.value is not None:
        v = np.asarray(t.value)
        if axis is None:
            t, v, axis = np.ravel(t), v.ravel(), 0
        perm = np.argsort(v, axis=axis, kind="stable")
        ids = np.take_along_axis(t.ids(), perm, axis=axis)
        return _Tracer(_rows(t.S, ids), ids.shape, np.take_along_axis(v, perm, axis=axis), ctx)
    return _along_axis(ctx, t, axis)


def _order_statistic(ctx, a, *args, axis=None, keepdims=False, **kwargs):
    """median / percentile / quantile: any element of the reduced lines (global and local)."""
    return _reduce(ctx, a, axis, keepdims)


_VALUE_SHAPED = {np.nonzero, np.flatnonzero, np.argwhere}


def _zero_like_result(func):
    """Handler for functions whose result has a zero derivative (argsort, argmax, round, any,
    ...). Local detector: the NumPy result itself (an integer/boolean array can then index or
    branch) or, for float results, a tracer with empty sets carrying the value. Global: a tracer
    with empty sets and NumPy's result shape; using it as an index or in ``if`` then raises
    ``MissingPrimalError``."""
    def handler(ctx, *args, **kwargs):
        if ctx.local:
            try:
                value = func(*_primal(args), **_primal(kwargs))
            except _NoValue:
                value = None
            if value is not None:
                if isinstance(value, tuple) or np.asarray(value).dtype.kind in "biu":
                    return value
                value = np.asarray(value)
                return _Tracer(sp.csr_array((value.size, ctx.n), dtype=bool), value.shape, value, ctx)
        if func in _VALUE_SHAPED:
            raise MissingPrimalError(
                f"np.{func.__name__} of a traced array has a value-dependent shape.\n"
                "Hint: use TracerLocalSparsityDetector() for a pattern at this x."
            )
        shape = np.shape(func(*_zeros_of(args), **_zeros_of(kwargs)))
        return _Tracer(sp.csr_array((math.prod(shape), ctx.n), dtype=bool), shape, None, ctx)

    return handler


def _zeros_of(obj):
    if isinstance(obj, _Tracer):
        return np.zeros(obj.shape)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_zeros_of(e) for e in obj)
    if isinstance(obj, dict):
        return {k: _zeros_of(v) for k, v in obj.items()}
    return obj


def _identity_fn(ctx, a, *args, **kwargs):
    t = ctx.lift(a)
    return _Tracer(t.S, t.shape, None, ctx)


def _elementwise_unary(ctx, a, *args, **kwargs):
    """A nonlinear elementwise function (np.sinc, np.i0): same sets, second order on itself."""
    t = ctx.lift(a)
    ctx.second(t.S)
    return _Tracer(t.S, t.shape, None, ctx)


def _imag(ctx, a):
    """Empty sets when the value is known to be real; otherwise (complex intermediates such as
    FFT outputs, or no value in the global detector) the sets of ``a``."""
    t = ctx.lift(a)
    if t.value is not None and not np.iscomplexobj(t.value):
        return _Tracer(sp.csr_array((t.size, ctx.n), dtype=bool), t.shape, None, ctx)
    return _Tracer(t.S, t.shape, None, ctx)


def _average(ctx, a, axis=None, weights=None, returned=False, keepdims=False):
    if returned:
        raise MissingRuleError("np.average(..., returned=True) is not traced.")
    if weights is None:
        return _reduce(ctx, a, axis, keepdims)
    ta, tw = ctx.lift(a), ctx.lift(weights)
    if tw.shape != ta.shape:
        if axis is None or tw.ndim != 1:
            raise MissingRuleError("np.average with weights of another shape needs axis and 1-D weights.")
        shape = [1] * ta.ndim
        shape[axis % ta.ndim] = tw.size
        tw = np.broadcast_to(np.reshape(tw, shape), ta.shape)
    return np.sum(ta * tw, axis=axis, keepdims=keepdims) / np.sum(tw, axis=axis, keepdims=keepdims)


def _cross(ctx, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    ta, tb = ctx.lift(a), ctx.lift(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    ta, tb = np.moveaxis(ta, axisa, -1), np.moveaxis(tb, axisb, -1)
    if ta.shape[-1] != 3 or tb.shape[-1] != 3:
        raise MissingRuleError("np.cross is traced for 3-vectors only.")
    i, j = [1, 2, 0], [2, 0, 1]
    c = ta[..., i] * tb[..., j] - ta[..., j] * tb[..., i]
    return np.moveaxis(c, -1, axisc)


def _interp(ctx, x, xp, fp, left=None, right=None, period=None):
    tx, txp, tfp = ctx.lift(x), ctx.lift(xp), ctx.lift(fp)
    if txp.S.nnz:
        raise MissingRuleError("np.interp with traced sample points xp is not traced.")
    parts = [tx.S]  # slope times dx
    if tfp.S.nnz:
        if ctx.local and tx.value is not None:
            xv, xpv = np.asarray(tx.value).ravel(), np.asarray(txp.value)
            hi = np.clip(np.searchsorted(xpv, xv, side="right"), 1, xpv.size - 1)
            both = np.stack([hi - 1, hi], axis=1)  # the bracketing samples at x
            A = sp.csr_array((np.ones(both.size, dtype=np.int32), (np.repeat(np.arange(xv.size), 2), both.ravel())),
                             shape=(xv.size, tfp.size))
        else:
            A = sp.csr_array(np.ones((tx.size, tfp.size), dtype=np.int32))
        fp_sets = _product(A, tfp.S)
        parts.append(fp_sets)
        ctx.second(tx.S, fp_sets)  # slope depends on fp: mixed with x
    return _Tracer(_union(*parts), tx.shape, None, ctx)


def _trapezoid(ctx, y, x=None, dx=1.0, axis=-1):
    ty = np.moveaxis(ctx.lift(y), axis, -1)
    avg = (ty[..., 1:] + ty[..., :-1]) * 0.5
    if x is None:
        return np.sum(avg * dx, axis=-1)
    tx = ctx.lift(x)
    tx = np.moveaxis(tx, axis, -1) if tx.ndim > 1 else tx
    return np.sum(avg * np.diff(tx, axis=-1), axis=-1)


def _multi_dot(ctx, arrays, **_):
    out = arrays[0]
    for a in arrays[1:]:
        out = _dot(ctx, out, a)
    return out


def _fft_lengths(kind, last, size, n):
    """(input length read, output length) along one transformed axis of the given size."""
    if kind == "c2r" and last:  # irfft, hfft: n outputs from n // 2 + 1 inputs
        n = 2 * (size - 1) if n is None else int(n)
        return n // 2 + 1, n
    n = size if n is None else int(n)
    return n, (n // 2 + 1 if kind == "r2c" and last else n)


def _fft_transform(ctx, kind, a, s, axes, out):
    """np.fft transforms: linear; along the transformed axes every output element depends on
    every input element read (after NumPy's cropping or zero padding to ``n``/``s``)."""
    if out is not None:
        raise MissingRuleError("np.fft.* with out= is not traced.\nHint: assign the result instead.")
    t = ctx.lift(a)
    if axes is None:  # every axis, or the last len(s) ones
        axes = tuple(range(t.ndim)) if s is None else tuple(range(t.ndim - len(s), t.ndim))
    axes = [int(d) % t.ndim for d in axes]
    s = [None] * len(axes) if s is None else list(s)
    out_shape = list(t.shape)
    for k, (d, nk) in enumerate(zip(axes, s)):
        read, out_shape[d] = _fft_lengths(kind, k == len(axes) - 1, t.shape[d], nk)
        if read < t.shape[d]:  # cropped
            t = np.take(t, np.arange(read), axis=d)
        elif read > t.shape[d]:  # zero padded: no dependencies
            widths = [(0, 0)] * t.ndim
            widths[d] = (0, read - t.shape[d])
            t = np.pad(t, widths)
    full = np.broadcast_to(_reduce(ctx, t, tuple(axes), keepdims=True), tuple(out_shape))
    return _Tracer(full.S, full.shape, None, ctx)


def _fft_rule(kind, multi, default_axes=None):
    if multi:
        def transform(ctx, a, s=None, axes=default_axes, norm=None, out=None):
            return _fft_transform(ctx, kind, a, s, axes, out)
    else:
        def transform(ctx, a, n=None, axis=-1, norm=None, out=None):
            return _fft_transform(ctx, kind, a, [n], [axis], out)
    return transform


def _fft_handlers():
    fft = np.fft
    handlers = {}
    for kind, one, two, many in (("c2c", (fft.fft, fft.ifft), (fft.fft2, fft.ifft2), (fft.fftn, fft.ifftn)),
                                 ("r2c", (fft.rfft, fft.ihfft), (fft.rfft2,), (fft.rfftn,)),
                                 ("c2r", (fft.irfft, fft.hfft), (fft.irfft2,), (fft.irfftn,))):
        handlers.update({f: _fft_rule(kind, False) for f in one})
        # default axes: (-2, -1) for the 2-d transforms, None (all or the last len(s)) otherwise
        handlers.update({f: _fft_rule(kind, True, (-2, -1)) for f in two})
        handlers.update({f: _fft_rule(kind, True) for f in many})
    return handlers


#: NumPy >= 2.2 generalized ufuncs (contractions), as einsum subscripts.
_GUFUNCS = {getattr(np, name): subs for name, subs in (
    ("vecdot", "...i,...i->..."), ("matvec", "...ij,...j->...i"), ("vecmat", "...i,...ij->...j"))
    if hasattr(np, name)}

_HANDLERS = {
    np.sum: lambda ctx, a, axis=None, dtype=None, out=None, keepdims=False, **k: _reduce(ctx, a, axis, keepdims),
    np.mean: lambda ctx, a, axis=None, dtype=None, out=None, keepdims=False, **k: _reduce(ctx, a, axis, keepdims),
    np.prod: lambda ctx, a, axis=None, dtype=None, out=None, keepdims=False, **k: _reduce(ctx, a, axis, keepdims, nonlinear=True),
    np.var: lambda ctx, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **k: _reduce(ctx, a, axis, keepdims, nonlinear=True),
    np.std: lambda ctx, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **k: _reduce(ctx, a, axis, keepdims, nonlinear=True),
    np.trace: lambda ctx, a, offset=0, axis1=0, axis2=1, **k: _reduce(ctx, np.diagonal(ctx.lift(a), offset, axis1, axis2), -1),
    np.max: _extremum("max"), np.amax: _extremum("max"), np.min: _extremum("min"), np.amin: _extremum("min"),
    np.cumsum: _cumulative, np.cumprod: lambda ctx, a, axis=None, **k: _cumulative(ctx, a, axis, nonlinear=True),
    np.diff: _diff, np.where: _where, np.clip: _clip,
    np.linalg.norm: _norm,
    np.zeros_like: _like, np.empty_like: _like, np.ones_like: _like, np.full_like: _like,
    np.einsum: _einsum, np.matmul: _matmul, np.dot: _dot, np.inner: _inner, np.outer: _outer,
    np.tensordot: _tensordot, np.kron: _kron, np.vdot: lambda ctx, a, b: _dot(ctx, np.ravel(ctx.lift(a)), np.ravel(ctx.lift(b))),
    np.linalg.inv: _inv, np.linalg.solve: _solve, np.linalg.det: _det, np.linalg.pinv: _inv,
    np.linalg.cholesky: _inv, np.linalg.multi_dot: _multi_dot,
    np.convolve: _convolve, np.correlate: lambda ctx, a, v, mode="valid": _convolve(ctx, a, v, mode, correlate=True),
    np.sort: _sort, np.median: _order_statistic, np.percentile: _order_statistic, np.quantile: _order_statistic,
    np.nanmedian: _order_statistic, np.ptp: lambda ctx, a, axis=None, out=None, keepdims=False: _reduce(ctx, a, axis, keepdims),
    np.average: _average, np.cross: _cross, np.interp: _interp, np.trapezoid: _trapezoid,
    np.real: _identity_fn, np.real_if_close: _identity_fn, np.nan_to_num: _identity_fn, np.imag: _imag,
    np.sinc: _elementwise_unary, np.i0: _elementwise_unary,
    **{f: _zero_like_result(f) for f in (
        np.argsort, np.argmax, np.argmin, np.round, np.around, np.fix, np.count_nonzero, np.nonzero,
        np.flatnonzero, np.argwhere, np.searchsorted, np.any, np.all, np.isclose, np.allclose,
        np.array_equal, np.isreal, np.iscomplex, np.digitize)},
    np.shape: lambda ctx, a: ctx.lift(a).shape, np.ndim: lambda ctx, a: ctx.lift(a).ndim,
    np.size: lambda ctx, a, axis=None: ctx.lift(a).size if axis is None else ctx.lift(a).shape[axis],
}
_HANDLERS.update(_fft_handlers())


# ------------------------------------------------------------------ detectors
def _trace(f, x, contexts, y, local, hessian=False):
    from ..._contexts import Cache, Context

    x = np.asarray(x)
    n = x.size
    ctx = _Context(n, local, hessian)
    xt = _Tracer(sp.eye_array(n, dtype=bool, format="csr"), x.shape, x if local else None, ctx)
    args = []
    for c in contexts:
        if isinstance(c, Cache):  # scratch buffers must be able to hold traced values
            args.append(ctx.lift(np.zeros_like(np.asarray(c.value))))
        else:
            args.append(c.value if isinstance(c, Context) else c)
    try:
        if y is not None:
            yt = ctx.lift(np.zeros(np.shape(y)))
            f(yt, xt, *args)
            out = yt
        else:
            out = f(xt, *args)
    except (ValueError, TypeError) as err:
        if isinstance(err, AnyDiffError):
            raise
        if "sequence" in str(err) or "_Tracer" in str(err) or "traced array" in str(err):
            raise TracingError(
                f"f wrote a traced value into a plain NumPy array or passed it to code NumPy cannot "
                f"dispatch ({err}).\nHint: create buffers with np.zeros_like(x) / np.empty_like(x) "
                "instead of np.zeros(n); for non-NumPy code use DenseSparsityDetector(backend)."
            ) from err
        raise
    if not isinstance(out, _Tracer):
        out = ctx.lift(out)  # does not depend on x
    if hessian:
        if out.size != 1:
            from ..._errors import OutputError

            raise OutputError(f"hessian_sparsity needs a scalar-valued f; f(x) has shape {out.shape}.")
        H = ctx.H if ctx.H is not None else sp.csr_array((n, n), dtype=bool)
        return sp.csr_array((H + H.T) > 0)
    return sp.csr_array(out.S, dtype=bool)


@dataclass(frozen=True)
class TracerSparsityDetector:
    """Global Jacobian sparsity of unmodified NumPy code (valid for every input).

    Value-dependent control flow (``if x[0] > 0``) raises :class:`~anydiff.MissingPrimalError`
    suggesting :class:`TracerLocalSparsityDetector`; NumPy functions without a rule raise
    :class:`~anydiff.MissingRuleError` naming them (never a silently wrong pattern).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> ad.jacobian_sparsity(lambda x: np.diff(x**2), np.ones(4), detector=ad.TracerSparsityDetector()).toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """

    def jacobian_sparsity(self, f, x, contexts=(), y=None):
        return _trace(f, x, contexts, y, local=False)

    def hessian_sparsity(self, f, x, contexts=()):
        """Hessian pattern of a scalar ``f``: second-order interactions recorded along the trace
        from the rule table (nonlinear in one argument: its index set with itself; mixed terms
        such as ``x * y``: the two sets with each other). Accumulated globally, so a superset."""
        return _trace(f, x, contexts, None, local=False, hessian=True)


@dataclass(frozen=True)
class TracerLocalSparsityDetector(TracerSparsityDetector):
    """Jacobian sparsity at this ``x``: follows the branches taken (``maximum``, ``where``, ``if``).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> f = lambda x: np.maximum(x, 0.0)
    >>> ad.jacobian_sparsity(f, np.array([1.0, -1.0]), detector=ad.TracerLocalSparsityDetector()).toarray()
    array([[ True, False],
           [False, False]])
    """

    def jacobian_sparsity(self, f, x, contexts=(), y=None):
        return _trace(f, x, contexts, y, local=True)

    def hessian_sparsity(self, f, x, contexts=()):
        return _trace(f, x, contexts, None, local=True, hessian=True)

