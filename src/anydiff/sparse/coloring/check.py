"""Slow, obviously correct checkers of colorings (oracles for the tests).

Dense matrices and brute force on purpose: these are written to be read, not to be fast.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp

__all__ = [
    "is_acyclic_coloring",
    "is_directly_recoverable",
    "is_star_coloring",
    "is_structurally_orthogonal",
    "recovers_exactly",
]


def _dense(S):
    return sp.csr_array(S).toarray() != 0


def is_structurally_orthogonal(S, colors, partition="column") -> bool:
    """No two columns (rows) of the same color share a row (column); every vertex colored."""
    A = _dense(S)
    if partition == "row":
        A = A.T
    colors = np.asarray(colors)
    if colors.shape != (A.shape[1],) or np.any(colors < 0):
        return False
    for c in np.unique(colors):
        if np.any(A[:, colors == c].sum(axis=1) > 1):
            return False
    return True


def _symmetric_graph(S):
    A = _dense(S)
    np.fill_diagonal(A, False)
    return [np.flatnonzero(A[i]) for i in range(A.shape[0])]


def _distance1(nbrs, colors) -> bool:
    return all(colors[i] >= 0 for i in range(len(nbrs))) and all(
        colors[i] != colors[j] for i in range(len(nbrs)) for j in nbrs[i]
    )


def is_star_coloring(S, colors) -> bool:
    """Distance-1 coloring in which every path on four vertices uses at least three colors."""
    nbrs = _symmetric_graph(S)
    if not _distance1(nbrs, colors):
        return False
    for b in range(len(nbrs)):
        for c in nbrs[b]:
            for a, d in itertools.product(nbrs[b], nbrs[c]):
                if len({a, b, c, d}) == 4 and colors[a] == colors[c] and colors[b] == colors[d]:
                    return False
    return True


def is_acyclic_coloring(S, colors) -> bool:
    """Distance-1 coloring in which the subgraph of any two colors has no cycle
    (a graph is a forest iff #edges = #vertices - #components)."""
    from scipy.sparse import csgraph

    nbrs = _symmetric_graph(S)
    if not _distance1(nbrs, colors):
        return False
    A = _dense(S)
    np.fill_diagonal(A, False)
    colors = np.asarray(colors)
    for a, b in itertools.combinations(np.unique(colors), 2):
        keep = np.flatnonzero((colors == a) | (colors == b))
        sub = A[np.ix_(keep, keep)]
        edges = int(sub.sum()) // 2
        ncomp = csgraph.connected_components(sp.csr_array(sub), directed=False)[0]
        if edges != keep.size - ncomp:
            return False
    return True


def is_directly_recoverable(S, column_colors, row_colors) -> bool:
    """Bicoloring check: every nonzero ``(i, j)`` is alone in its forward product (``j`` seeded
    and the only seeded column of row ``i`` with its color) or in its reverse product."""
    A = _dense(S)
    cc, rc = np.asarray(column_colors), np.asarray(row_colors)
    for i, j in zip(*np.nonzero(A)):
        fwd = cc[j] >= 0 and np.sum(A[i] & (cc == cc[j])) == 1
        rev = rc[i] >= 0 and np.sum(A[:, j] & (rc == rc[i])) == 1
        if not (fwd or rev):
            return False
    return True


def recovers_exactly(result, J, rtol=0.0) -> bool:
    """decompress(compress(J)) reproduces J on the pattern (exactly by default) and has exactly
    the pattern's nonzeros."""
    J = sp.csr_array(J)
    R = result.decompress(result.compress(J))
    same_structure = np.array_equal(R.indptr, result.pattern.indptr) and np.array_equal(
        R.indices, result.pattern.indices
    )
    return same_structure and np.allclose(R.toarray(), J.toarray(), rtol=rtol, atol=0)
