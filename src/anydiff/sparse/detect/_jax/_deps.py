"""Index sets of the jaxpr detector (``_Deps``: lazy unions of row selections)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._index_sets import _rows

__all__: list = []


class _Deps:
    """Index sets of an array's elements: ``S[k, j]`` = element k may depend on input j.

    Stored lazily as a union of *terms* ``(base, ids, full)``: element k depends on row
    ``ids[k]`` of the boolean CSR matrix ``base`` (``-1`` = no row; ``full``: no ``-1``).
    Structural primitives (slices, concatenations, reshapes: ``roll``) only move integer ids,
    elementwise primitives only collect terms (a union is taken once, when an operation needs
    the matrix ``S``), so chains of cheap primitives create no sparse matrices.
    """

    __slots__ = ("_S", "n", "size", "terms")

    def __init__(self, S=None, terms=(), size=0, n=0):
        if S is not None:
            S = S if isinstance(S, sp.csr_array) and S.dtype == bool else sp.csr_array(S, dtype=bool)
            size, n = S.shape
            terms = ((S, np.arange(size), True),) if S.nnz else ()
        self.terms, self.size, self.n, self._S = terms, size, n, S

    @property
    def S(self):
        if self._S is None:
            self._S = _union_terms(self.terms, self.size, self.n)
        return self._S


def _gather(base, ids, full):
    """Rows ``ids`` of ``base`` as ``(row, column)`` pairs, rows ascending (``-1``: no row)."""
    indptr = base.indptr
    one = getattr(base, "_anydiff_one_per_row", None)  # bases are never modified: check once
    if one is None:
        one = bool(base.nnz == base.shape[0] and indptr[-1] == indptr.size - 1
                   and np.array_equal(indptr, np.arange(indptr.size)))
        base._anydiff_one_per_row = one
    if one:
        # one entry per row (the identity, permutations): no segments to expand
        if full:
            return np.arange(ids.size), base.indices[ids]
        rows = np.flatnonzero(ids >= 0)
        return rows, base.indices[ids[rows]]
    if full:
        starts, lengths = indptr[ids], indptr[ids + 1] - indptr[ids]
    else:
        safe = np.where(ids >= 0, ids, 0)
        starts = indptr[safe]
        lengths = np.where(ids >= 0, indptr[safe + 1] - starts, 0)
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if ends.size else 0
    rows = np.repeat(np.arange(ids.size), lengths)
    src = np.repeat(starts - (ends - lengths), lengths) + np.arange(total)
    return rows, base.indices[src]


def _union_terms(terms, size, n):
    """The boolean CSR matrix of a union of terms (sorted indices, no duplicates)."""
    if not terms or n == 0:
        return sp.csr_array((size, n), dtype=bool)
    if len(terms) == 1:
        base, ids, full = terms[0]
        return _rows(base, ids)
    shift = int(n - 1).bit_length()  # key = row << shift | column: sorted by row, then column
    keys = []
    for base, ids, full in terms:
        rows, cols = _gather(base, ids, full)
        keys.append((rows << shift) | cols)
    k = np.concatenate(keys)
    k.sort(kind="stable")  # concatenated sorted runs: a merge
    if k.size:
        keep = np.empty(k.size, dtype=bool)
        keep[0] = True
        np.not_equal(k[1:], k[:-1], out=keep[1:])
        k = k[keep]
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(k >> shift, minlength=size), out=indptr[1:])
    return sp.csr_array((np.ones(k.size, dtype=bool), k & ((1 << shift) - 1), indptr), shape=(size, n))


#: terms kept lazily before a union is materialized (bounds the work per elementwise primitive)
_MAX_TERMS = 8


def _add_term(terms, term):
    """Add ``term`` to the list ``terms``, merged into a term of the same base when the two
    agree wherever both have a row (same views, or complementary parts of one view)."""
    base, ids, full = term
    for k, (b, other, other_full) in enumerate(terms):
        if b is not base:
            continue
        if other is ids:
            return
        if full and other_full:
            if ids[0] == other[0] and np.array_equal(ids, other):
                return
            continue
        both = (ids >= 0) & (other >= 0)
        if np.array_equal(ids[both], other[both]):
            merged = np.where(other >= 0, other, ids)
            terms[k] = (b, merged, full or other_full or bool((merged >= 0).all()))
            return
    terms.append(term)


def _lazy(terms, size, n):
    """A ``_Deps`` of ``terms`` (materialized once there are too many of them)."""
    if len(terms) > _MAX_TERMS:
        return _Deps(_union_terms(terms, size, n))
    return _Deps(terms=tuple(terms), size=size, n=n)


def _identity(n):
    ids = np.arange(n)
    return sp.csr_array((np.ones(n, dtype=bool), ids, np.arange(n + 1)), shape=(n, n))


def _as_csr(v, n):
    if isinstance(v, _Deps):
        return v.S  # built during this detection: not shared
    size = int(np.size(v))
    return sp.csr_array((size, n), dtype=bool)


def _size(aval):
    return int(np.prod(aval.shape, dtype=int))


def _empty(aval, n):
    return _Deps(size=_size(aval), n=n)


def _deps_of(v, size, n):
    """The index-set matrix of operand ``v`` (concrete values depend on nothing)."""
    if isinstance(v, _Deps):
        return v.S
    return sp.csr_array((size, n), dtype=bool)


def _ids1(v, aval):
    """1-based element ids of an operand as float64 (0 = depends on nothing)."""
    if isinstance(v, _Deps):
        return np.arange(1, _size(aval) + 1, dtype=np.float64).reshape(aval.shape)
    return np.zeros(aval.shape, dtype=np.float64)
