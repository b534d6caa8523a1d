"""Modified incomplete Cholesky with zero fill, MIC(0): the CG preconditioner of ``memory_limit``.

``A ≈ L Lᵀ`` with ``L`` on the lower pattern of the symmetric ``A`` (no fill); the entries an
exact Cholesky would create outside the pattern are added to the diagonal instead of dropped
(row sums kept), which on diffusion stencils turns the preconditioned condition number from
``O(h⁻²)`` into ``O(h⁻¹)``: about 10× fewer CG iterations than Jacobi on the 2-D benchmark at
n = 1e5. It stores the values of ``A``'s lower part and two integers per row (the row indices
are ``A``'s own).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["IncompleteCholesky"]


@numba.njit(cache=True)
def _lower(indptr, indices, diag, lptr):
    """Where each column's diagonal entry is (``diag``) and where its lower part starts in the
    compact values of ``L`` (``lptr``); ``False`` if a diagonal entry is missing."""
    n = indptr.size - 1
    lptr[0] = 0
    for j in range(n):
        diag[j] = -1
        for e in range(indptr[j], indptr[j + 1]):
            if indices[e] == j:
                diag[j] = e
        if diag[j] < 0:
            return False
        lptr[j + 1] = lptr[j] + indptr[j + 1] - diag[j]
    return True


@numba.njit(cache=True)
def _factor(indptr, indices, data, diag, lptr, L):
    """MIC(0) into ``L``: column ``j``'s entries ``diag[j]:indptr[j+1]`` of ``A`` (rows ``>= j``)
    at ``lptr[j]:lptr[j+1]``, the diagonal first, stored inverted; ``False`` on a breakdown."""
    n = indptr.size - 1
    for j in range(n):
        for e in range(diag[j], indptr[j + 1]):
            L[lptr[j] + e - diag[j]] = data[e]
    for k in range(n):
        dk = L[lptr[k]]
        if not dk > 0.0:
            return False
        dk = np.sqrt(dk)
        L[lptr[k]] = dk
        for q in range(lptr[k] + 1, lptr[k + 1]):
            L[q] /= dk
        for q1 in range(lptr[k] + 1, lptr[k + 1]):  # update column j > k
            j = indices[diag[k] + q1 - lptr[k]]
            p = diag[j]
            for q2 in range(q1, lptr[k + 1]):
                i = indices[diag[k] + q2 - lptr[k]]
                v = L[q2] * L[q1]
                while p < indptr[j + 1] and indices[p] < i:
                    p += 1
                if p < indptr[j + 1] and indices[p] == i:
                    L[lptr[j] + p - diag[j]] -= v
                else:  # fill outside the pattern: moved to the diagonal (modified IC)
                    L[lptr[i]] -= v
                    L[lptr[j]] -= v
    for k in range(n):  # 1 / L[k, k]: the solves multiply
        L[lptr[k]] = 1.0 / L[lptr[k]]
    return True


@numba.njit(cache=True)
def _solve(indices, diag, lptr, L, b):
    """``(L Lᵀ)⁻¹ b``: forward substitution with ``L``, backward with ``Lᵀ`` (both by columns)."""
    n = lptr.size - 1
    y = b.copy()
    for j in range(n):
        yj = y[j] * L[lptr[j]]
        y[j] = yj
        for q in range(lptr[j] + 1, lptr[j + 1]):
            y[indices[diag[j] + q - lptr[j]]] -= L[q] * yj
    for j in range(n - 1, -1, -1):
        s = y[j]
        for q in range(lptr[j] + 1, lptr[j + 1]):
            s -= L[q] * y[indices[diag[j] + q - lptr[j]]]
        y[j] = s * L[lptr[j]]
    return y


class IncompleteCholesky:
    """MIC(0) of a symmetric CSC matrix with sorted indices and a positive diagonal.

    ``ok`` is ``False`` when a pivot is not positive (the matrix is not close enough to an
    M-matrix); use another preconditioner then.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csc_matrix(sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(5, 5)))
    >>> ic = IncompleteCholesky(A)
    >>> ic.ok, np.allclose(A @ ic.solve(np.ones(5)), 1.0)   # tridiagonal: no fill, exact
    (True, True)
    """

    def __init__(self, A):
        A.sort_indices()
        n = A.shape[0]
        self.indices = A.indices
        self.diag = np.empty(n, dtype=np.int64 if A.nnz >= 2**31 else np.int32)
        self.lptr = np.empty(n + 1, dtype=self.diag.dtype)
        self.ok = bool(_lower(A.indptr, A.indices, self.diag, self.lptr))
        self.L = np.zeros(int(self.lptr[-1]) if self.ok else 0)  # the lower part's values only
        if self.ok:
            data = np.asarray(A.data, dtype=np.float64)
            self.ok = bool(_factor(A.indptr, A.indices, data, self.diag, self.lptr, self.L))
        self.nbytes = self.L.nbytes + self.diag.nbytes + self.lptr.nbytes

    def solve(self, b):
        return _solve(self.indices, self.diag, self.lptr, self.L, np.ascontiguousarray(b, dtype=np.float64))
