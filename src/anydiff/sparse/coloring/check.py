"""Slow, obviously correct checkers of colorings (oracles for the tests)."""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp

__all__ = ["is_structurally_orthogonal", "is_star_coloring", "recovers_exactly"]


def is_structurally_orthogonal(S, colors, partition="column") -> bool:
    """No two columns (rows) of the same color share a row (column)."""
    A = sp.csr_array(S, dtype=bool).toarray()
    if partition == "row":
        A = A.T
    for c in np.unique(colors[colors >= 0]):
        members = np.flatnonzero(colors == c)
        if np.any(A[:, members].sum(axis=1) > 1):
            return False
    return True


def is_star_coloring(S, colors) -> bool:
    """Distance-1 coloring with no bicolored path on four vertices (checked by brute force)."""
    A = sp.csr_array(S, dtype=bool).toarray()
    np.fill_diagonal(A, False)
    n = A.shape[0]
    nbrs = [np.flatnonzero(A[i]) for i in range(n)]
    for i in range(n):
        for j in nbrs[i]:
            if colors[i] == colors[j] and colors[i] >= 0:
                return False
    for b in range(n):
        for c in nbrs[b]:
            for a, d in itertools.product(nbrs[b], nbrs[c]):
                if len({a, b, c, d}) == 4 and colors[a] == colors[c] and colors[b] == colors[d]:
                    return False
    return True


def recovers_exactly(result, J) -> bool:
    """decompress(compress(J)) reproduces J exactly on the pattern."""
    J = sp.csr_array(J)
    comp = result.compress(J)
    R = result.decompress(*comp) if isinstance(comp, tuple) else result.decompress(comp)
    return np.allclose(R.toarray(), J.toarray(), rtol=1e-12, atol=0)
