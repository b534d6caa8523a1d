"""Contractions on the tracer: ``einsum``, ``matmul``, convolutions (sums of products)."""

from __future__ import annotations

import math
import string

import numpy as np
import scipy.sparse as sp

from ...._errors import MissingRuleError, TracingError
from .._index_sets import _product, _rows
from ._core import _Tracer, _union


def _einsum_normalize(subscripts, shapes):
    """Explicit subscripts without ``...``: ``("ij,jk", "ik")`` with ellipses spelled out."""
    subscripts = subscripts.replace(" ", "")
    ins, out = subscripts.split("->") if "->" in subscripts else (subscripts, None)
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise TracingError(
            f"np.einsum: {len(terms)} subscripts for {len(shapes)} operands.\n"
            "Hint: give one subscript term per operand (np.einsum fails on this call too)."
        )
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
            raise TracingError(
                f"np.einsum: subscripts {term!r} do not match an operand of shape {t.shape}.\n"
                "Hint: one subscript letter per axis of the operand (np.einsum fails on this call too)."
            )
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
        raise TracingError("np.convolve/np.correlate take 1-D arrays.\nHint: ravel the operands or use np.einsum.")
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
        raise TracingError(f"np.convolve: unknown mode {mode!r}.\nHint: use mode='full', 'same' or 'valid'.")
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