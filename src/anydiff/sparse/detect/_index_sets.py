"""Index sets shared by the detectors: rows of a boolean CSR matrix, one row per array element."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["_rows", "_product", "_any_row"]


def _rows(S, ids):
    """Rows ``ids`` of ``S`` (``-1`` = empty row), as CSR: a vectorized gather of index slices."""
    ids = np.asarray(ids, dtype=np.int64).ravel()
    valid = ids >= 0
    safe = np.where(valid, ids, 0)
    lengths = np.where(valid, S.indptr[safe + 1] - S.indptr[safe], 0)
    indptr = np.zeros(ids.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    total = int(indptr[-1])
    src = np.repeat(S.indptr[safe] - indptr[:-1], lengths) + np.arange(total)
    indices = S.indices[src]
    return sp.csr_array((np.ones(total, dtype=bool), indices, indptr), shape=(ids.size, S.shape[1]))


def _product(A, B):
    """Boolean product ``A @ B`` of 0/1 matrices (sums counted in int32, so no wrap-around)."""
    P = sp.csr_array(sp.csr_array(A).astype(np.int32) @ sp.csr_array(B).astype(np.int32))
    # every stored entry is a positive count: the pattern is the stored structure
    return sp.csr_array((np.ones(P.indices.size, dtype=bool), P.indices, P.indptr), shape=P.shape)


def _any_row(mats, n):
    """One ``(1, n)`` row: every input that any element of any of ``mats`` depends on (for
    results that may depend on all of their operands: solves, opaque functions, gathers at
    indices computed from ``x``). Broadcast it to ``k`` elements with ``_rows(row, zeros(k))``."""
    cols = np.zeros(n, dtype=bool)
    for S in mats:
        cols[S.indices[S.data.astype(bool, copy=False)]] = True
    return sp.csr_array(cols[None, :])
