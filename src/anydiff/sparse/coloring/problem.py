"""Coloring problems: which matrix (structure) and which of its slices (partition) are colored.

Also the conversions of a pattern into the graphs the algorithms work on, all from CSR index
arrays (no dense matrices, no ``S.T @ S`` unless an order asks for degrees in that graph).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from ..._errors import ColoringError

__all__ = ["PARTITIONS", "STRUCTURES", "ColoringProblem"]

STRUCTURES = ("nonsymmetric", "symmetric")
PARTITIONS = ("column", "row", "bidirectional")


@dataclass(frozen=True)
class ColoringProblem:
    """What to color.

    Parameters
    ----------
    structure : {"nonsymmetric", "symmetric"}
        ``"symmetric"``: a Hessian pattern (square, symmetric); ``"general"`` is accepted as an
        alias of ``"nonsymmetric"``.
    partition : {"column", "row", "bidirectional"}
        Symmetric problems only take ``"column"``.

    Raises
    ------
    ColoringError
        For unknown names and combinations that make no sense (``symmetric`` with ``row``).

    Examples
    --------
    >>> from anydiff.sparse.coloring import ColoringProblem
    >>> ColoringProblem("symmetric")
    ColoringProblem(structure='symmetric', partition='column')
    """

    structure: str = "nonsymmetric"
    partition: str = "column"

    def __post_init__(self):
        if self.structure == "general":
            object.__setattr__(self, "structure", "nonsymmetric")
        if self.structure not in STRUCTURES:
            raise ColoringError(
                f"Unknown structure {self.structure!r}.\nHint: use 'nonsymmetric' (Jacobians) or 'symmetric' (Hessians)."
            )
        if self.partition not in PARTITIONS:
            raise ColoringError(
                f"Unknown partition {self.partition!r}.\nHint: use 'column', 'row' or 'bidirectional'."
            )
        if self.structure == "symmetric" and self.partition != "column":
            raise ColoringError(
                f"A symmetric problem cannot use partition={self.partition!r}: rows and columns are the same.\n"
                "Hint: use partition='column' (the default) with structure='symmetric'."
            )

    def validate(self, P: sp.csr_array) -> None:
        """Check that the pattern fits the problem (square and symmetric for Hessians)."""
        if self.structure != "symmetric":
            return
        if P.shape[0] != P.shape[1]:
            raise ColoringError(
                f"A symmetric pattern must be square, got shape {P.shape}.\nHint: use structure='nonsymmetric'."
            )
        if not _is_symmetric(P.indptr, P.indices, P.shape[0]):
            raise ColoringError(
                "The pattern is not symmetric.\nHint: use structure='nonsymmetric', or symmetrize it (S + S.T)."
            )


def as_pattern(S) -> sp.csr_array:
    """Canonical boolean CSR copy of a pattern (sorted indices, no duplicates, no explicit zeros)."""
    if sp.issparse(S):
        if S.ndim != 2:
            raise ColoringError(
                f"The pattern must be 2-D, got {S.ndim} dimensions.\nHint: pass an (m, n) matrix."
            )
        fast = _canonical_csr_copy(S)
        if fast is not None:
            return fast
        P = sp.csr_array(S, copy=True)
    else:
        A = np.asarray(S)
        if A.ndim != 2:
            raise ColoringError(
                f"The pattern must be 2-D, got {A.ndim} dimensions.\nHint: pass an (m, n) matrix."
            )
        if A.dtype == object:
            raise ColoringError(
                "The pattern has dtype object.\nHint: pass a boolean array or a scipy.sparse matrix."
            )
        P = sp.csr_array(A != 0)
    P.sum_duplicates()
    P.eliminate_zeros()
    P.sort_indices()
    small = P.nnz < 2**31 - 1 and max(P.shape, default=0) < 2**31 - 1
    idx = np.int32 if small else np.int64  # int32 halves the memory traffic of the kernels
    P = sp.csr_array(
        (np.ones(P.nnz, dtype=bool), P.indices.astype(idx), P.indptr.astype(idx)), shape=P.shape
    )
    P.has_sorted_indices = True
    return P


def _canonical_csr_copy(S):
    """:func:`as_pattern` of a CSR input that is already canonical (sorted indices, no
    duplicates, no explicit zeros), checked in one pass without scipy's copies; ``None`` when
    it is not (the general path then canonicalizes a copy)."""
    if S.format != "csr" or S.indices.dtype.kind not in "iu" or S.indptr.dtype.kind not in "iu":
        return None
    m, n = S.shape
    indptr = S.indptr
    nnz = int(indptr[-1]) if indptr.size else 0
    if (
        indptr.size != m + 1
        or nnz > S.indices.size
        or nnz > S.data.size
        or nnz >= 2**31 - 1
        or max(m, n) >= 2**31 - 1
    ):
        return None
    if not np.all(S.data[:nnz]):  # explicit zeros
        return None
    if not _is_canonical(indptr, S.indices, n):
        return None
    P = sp.csr_array(
        (
            np.ones(nnz, dtype=bool),
            S.indices[:nnz].astype(np.int32, copy=True),
            indptr.astype(np.int32, copy=True),
        ),
        shape=(m, n),
    )
    P.has_sorted_indices = True
    return P


@numba.njit(cache=True)
def _is_canonical(indptr, indices, n):
    """Row pointers nondecreasing from 0, column indices in ``[0, n)`` strictly increasing in
    each row. Flat passes over the entries (a decrease is allowed only at a row start)."""
    m = indptr.size - 1
    if indptr[0] != 0:
        return False
    nnz = indptr[m]
    inner = np.ones(nnz + 1, dtype=np.bool_)  # False at the first entry of each row
    for i in range(m):
        if indptr[i + 1] < indptr[i]:
            return False
        inner[indptr[i]] = False
    bad = False
    for p in range(nnz):
        bad |= (indices[p] < 0) | (indices[p] >= n)
    for p in range(1, nnz):
        bad |= (indices[p] <= indices[p - 1]) & inner[p]
    return not bad


@numba.njit(cache=True)
def _is_symmetric(ptr, adj, n):
    """Is a canonical CSR pattern (sorted, no duplicates) symmetric? One pass: sweeping rows ``u``
    in increasing order must meet the entries ``(w, u)`` of each row ``w`` in its sorted order
    (the cursor scheme of :func:`_edge_ids`); no scipy transpose and comparison."""
    cursor = ptr[:-1].astype(np.int64)
    for u in range(n):
        for p in range(ptr[u], ptr[u + 1]):
            w = adj[p]
            q = cursor[w]
            if q >= ptr[w + 1] or adj[q] != u:
                return False
            cursor[w] = q + 1
    return True


def rows_cols(P: sp.csr_array):
    """Row and column index of every stored entry, in CSR order (int64)."""
    rows = np.repeat(np.arange(P.shape[0], dtype=np.int64), np.diff(P.indptr))
    return rows, P.indices.astype(np.int64)


def transpose(P: sp.csr_array) -> sp.csr_array:
    """CSR of the transpose (sorted indices)."""
    T = sp.csr_array(P.T)
    T.sort_indices()
    return T


def adjacency(P: sp.csr_array) -> sp.csr_array:
    """Adjacency graph of a symmetric pattern: the pattern without its diagonal (CSR, sorted)."""
    if not P.has_sorted_indices:
        P = sp.csr_array(P)
        P.sort_indices()
    indptr, indices = _drop_diagonal(P.indptr, P.indices)
    G = sp.csr_array((np.ones(indices.size, dtype=np.int8), indices, indptr), shape=P.shape)
    G.has_sorted_indices = True
    return G


@numba.njit(cache=True)
def _drop_diagonal(indptr, indices):
    """CSR arrays of the pattern without its diagonal entries (order kept)."""
    m = indptr.size - 1
    out_ptr = np.zeros(m + 1, dtype=indptr.dtype)
    out = np.empty(indices.size, dtype=indices.dtype)
    k = 0
    for i in range(m):
        for p in range(indptr[i], indptr[i + 1]):
            if indices[p] != i:
                out[k] = indices[p]
                k += 1
        out_ptr[i + 1] = k
    return out_ptr, out[:k].copy()


def column_graph(P: sp.csr_array) -> sp.csr_array:
    """Column intersection graph (columns sharing a row), without the diagonal. Forms S^T S."""
    Pi = sp.csr_array(P, dtype=np.int32)
    G = sp.csr_array(Pi.T @ Pi)
    G.setdiag(0)
    G.eliminate_zeros()
    G.sort_indices()
    return G


def bipartite_adjacency(P: sp.csr_array) -> sp.csr_array:
    """Adjacency of the symmetric ``(n + m) × (n + m)`` matrix ``[[0, S^T], [S, 0]]``.

    Vertices ``0..n-1`` are the columns of ``S``, ``n..n+m-1`` its rows.
    """
    m, n = P.shape
    rows, cols = rows_cols(P)
    i = np.concatenate([cols, rows + n])
    j = np.concatenate([rows + n, cols])
    G = sp.csr_array((np.ones(i.size, dtype=np.int8), (i, j)), shape=(n + m, n + m))
    G.sort_indices()
    return G


def edge_ids(G: sp.csr_array):
    """Undirected edge numbers of a symmetric adjacency with sorted indices.

    Returns ``(eid, ne, mirror)``: ``eid[p]`` numbers the edge of entry ``p`` (both directions
    share it), ``ne`` edges in all, ``mirror[p]`` the position of the transposed entry.
    """
    eid, mirror, ne = _edge_ids(G.indptr, G.indices, G.shape[0])
    return eid, int(ne), mirror


@numba.njit(cache=True)
def _edge_ids(ptr, adj, n):
    """One pass: sweeping rows ``u`` in increasing order meets the entries of each row ``w``
    in its sorted order, so a cursor per row gives the mirror of every entry."""
    eid = np.empty(adj.size, dtype=np.int64)
    mirror = np.empty(adj.size, dtype=np.int64)
    cursor = ptr[:-1].astype(np.int64)
    ne = 0
    for u in range(n):
        for p in range(ptr[u], ptr[u + 1]):
            w = adj[p]
            q = cursor[w]
            cursor[w] = q + 1
            mirror[p] = q
            if u < w:
                eid[p] = ne
                ne += 1
            elif u > w:
                eid[p] = eid[q]
            else:
                eid[p] = -1
    return eid, mirror, ne
