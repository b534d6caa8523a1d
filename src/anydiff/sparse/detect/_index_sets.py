"""Index sets shared by the detectors: rows of a boolean CSR matrix, one row per array element."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["_rows"]


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
