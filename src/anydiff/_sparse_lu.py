"""Sparse LU settings shared by implicit differentiation and the stiff ODE solvers."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["sparse_ordering"]


def sparse_ordering(A):
    """SuperLU's column ordering for ``A``: ``"MMD_AT_PLUS_A"`` (minimum degree on ``Aᵀ + A``)
    when the pattern is structurally symmetric, else ``"COLAMD"`` (SciPy's default).

    On structurally symmetric matrices (PDE stencils, ``I - cJ`` of reaction–diffusion systems)
    minimum degree on ``Aᵀ + A`` stores about half the fill-in of COLAMD, and factorises and
    solves faster.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from anydiff._sparse_lu import sparse_ordering
    >>> sparse_ordering(sp.diags([1.0, 2.0, 1.0], [-1, 0, 1], shape=(4, 4)))
    'MMD_AT_PLUS_A'
    >>> sparse_ordering(sp.diags([2.0, 1.0], [0, 1], shape=(4, 4)))
    'COLAMD'
    """
    A = sp.csc_matrix(A)
    A.sort_indices()
    At = A.T.tocsc()  # the transpose's pattern: only index arrays are compared
    At.sort_indices()
    same = np.array_equal(A.indptr, At.indptr) and np.array_equal(A.indices, At.indices)
    return "MMD_AT_PLUS_A" if same else "COLAMD"
