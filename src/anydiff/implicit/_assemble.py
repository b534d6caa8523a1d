"""∂F/∂y as a sparse CSC matrix, assembled one color at a time with little transient memory.

The index arrays of the detected pattern are built once per implicit function (a
:class:`SparseLayout`) and shared by every matrix assembled from it: a new point only allocates
the matrix's values (8 bytes per stored entry) and one compressed product at a time.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["SparseLayout", "csr_bytes", "norm1"]


def csr_bytes(nnz, n):
    """Bytes of an ``n × n`` float64 CSR (or CSC) matrix with 32-bit indices.

    Examples
    --------
    >>> csr_bytes(10, 4)   # values 80, column indices 40, row pointers 20
    140
    """
    return 12 * int(nnz) + 4 * (int(n) + 1)


def norm1(A):
    """``‖A‖₁`` (largest column sum of ``|A|``) of a CSC matrix without copying all its values.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> norm1(sp.csc_matrix([[1.0, -2.0], [3.0, 0.0]]))
    4.0
    """
    best, block = 0.0, 1 << 16
    for c0 in range(0, A.shape[1], block):
        ptr = A.indptr[c0:c0 + block + 1]
        vals = np.abs(A.data[ptr[0]:ptr[-1]])
        if vals.size:
            sums = np.add.reduceat(vals, np.minimum(ptr[:-1] - ptr[0], vals.size - 1))
            sums[np.diff(ptr) == 0] = 0.0  # reduceat reads one entry for an empty column
            best = max(best, float(sums.max()))
    return best


class SparseLayout:
    """CSC index arrays of ∂F/∂y's pattern and the color of every stored entry.

    Parameters
    ----------
    plan : SparsePlan
        ``prep.sparse`` of an ``AutoSparse`` Jacobian preparation with a ``"column"`` or
        ``"row"`` partition.

    Attributes
    ----------
    symmetric_pattern : bool
        The pattern equals its transpose (PDE stencils): sparse LU orders it by minimum degree
        on ``Aᵀ + A`` (``"MMD_AT_PLUS_A"``), else by ``"COLAMD"`` (see :attr:`ordering`).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> from anydiff.implicit._assemble import SparseLayout
    >>> f = lambda y: 2.0 * y + np.concatenate([y[1:], y[:1] * 0.0])    # upper bidiagonal
    >>> prep = ad.prepare_jacobian(f, ad.AutoSparse(ad.AutoNumPy()), np.ones(4))
    >>> layout = SparseLayout(prep.sparse)
    >>> A = layout.assemble(lambda seed: ad.pushforward(f, ad.AutoNumPy(), np.ones(4), (seed,))[0])
    >>> A.toarray()
    array([[2., 1., 0., 0.],
           [0., 2., 1., 0.],
           [0., 0., 2., 1.],
           [0., 0., 0., 2.]])
    >>> layout.ordering
    'COLAMD'
    """

    def __init__(self, plan):
        P = sp.csr_matrix(plan.pattern)
        P.sort_indices()
        S = P.tocsc()
        S.sort_indices()
        self.shape, self.nnz = S.shape, int(S.nnz)
        self.indices = S.indices.astype(np.int32, copy=False)
        self.indptr = S.indptr.astype(np.int32, copy=False)
        self.symmetric_pattern = bool(np.array_equal(P.indptr, S.indptr) and np.array_equal(P.indices, S.indices))
        self.ordering = "MMD_AT_PLUS_A" if self.symmetric_pattern else "COLAMD"
        self.column = plan.partition == "column"
        colors = np.asarray(plan.coloring.colors)
        self.ncolors = int(colors.max(initial=-1)) + 1
        self.colors = colors.astype(np.min_scalar_type(max(self.ncolors, 1)))
        # the color of every stored entry: its column's (column partition) or its row's (row partition)
        self.entry_color = (np.repeat(self.colors, np.diff(self.indptr)) if self.column
                            else self.colors[self.indices])

    def assemble(self, product, dtype=np.float64):
        """The CSC matrix from one compressed product per color.

        ``product(seed)`` returns ``J @ seed`` (column partition) or ``Jᵀ @ seed`` (row
        partition) for the 0/1 ``seed`` of one color. The result shares this layout's index
        arrays; only its values are new.
        """
        data = np.zeros(self.nnz, dtype=dtype)
        for c in range(self.ncolors):
            on = self.colors == c
            t = np.asarray(product(on.astype(dtype))).reshape(-1)
            del on
            at = np.flatnonzero(self.entry_color == c)
            if self.column:  # entry (i, j), j of color c: J[i, j] = (J seed)[i]
                data[at] = t[self.indices[at]]
            else:  # entry (i, j), i of color c: J[i, j] = (Jᵀ seed)[j]
                data[at] = t[np.searchsorted(self.indptr, at, side="right") - 1]
            del t, at  # not alive during the next color's product
        return sp.csc_matrix((data, self.indices, self.indptr), shape=self.shape)
