"""Decompression: from compressed products back to the sparse matrix.

Direct decompression (column, row, star, bidirectional colorings) is one vectorized gather of
indices precomputed by the coloring. Substitution (acyclic colorings of Hessians) solves for
the entries tree by tree, leaves first, in a numba sweep.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from .._errors import InputError

__all__ = ["decompress", "decompress_data"]


def decompress(result, B, Br=None, out=None):
    """Recover the sparse matrix of a coloring from its compressed products.

    Parameters
    ----------
    result : ColoringResult
    B : numpy.ndarray or tuple
        ``m × ncolors`` (column), ``ncolors × n`` (row), ``n × ncolors`` (symmetric); for a
        bidirectional result the pair ``(Bc, Br)`` (or ``Bc`` with ``Br`` separately).
    Br : numpy.ndarray, optional
        Bidirectional only: the reverse products ``k_r × n``.
    out : scipy.sparse.csr_array or scipy.sparse.csc_array, optional
        A matrix with exactly the pattern of ``result``; its ``data`` is filled in place (no
        reallocation) and it is returned.

    Returns
    -------
    scipy.sparse.csr_array
        Exactly the nonzeros of ``result.pattern``, with their values.

    Raises
    ------
    InputError
        If ``B`` does not have the shape the coloring produces, or ``out`` another pattern.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from anydiff.sparse import coloring
    >>> from anydiff.sparse.decompression import decompress
    >>> J = sp.csr_array(np.array([[1.0, 0, 2], [0, 3, 0]]))
    >>> res = coloring.color(J != 0)
    >>> res.colors
    array([0, 0, 1])
    >>> decompress(res, res.compress(J)).toarray()
    array([[1., 0., 2.],
           [0., 3., 0.]])
    """
    if isinstance(B, tuple):
        B, Br = B
    data = decompress_data(result, B, Br)
    P = result.pattern
    if out is None:
        return sp.csr_array((data, P.indices.copy(), P.indptr.copy()), shape=P.shape)
    _check_out(result, out)
    if out.format == "csr":
        out.data[:] = data
    else:
        out.data[:] = data[_csc_permutation(result)]
    return out


def decompress_data(result, B, Br=None) -> np.ndarray:
    """Values of the nonzeros of ``result.pattern``, in its CSR order."""
    m, n = result.pattern.shape
    if result.partition == "bidirectional":
        if isinstance(B, tuple):
            B, Br = B
        kc = int(result.column_colors.max(initial=-1)) + 1
        kr = int(result.row_colors.max(initial=-1)) + 1
        B = _check_shape(B, (m, kc), "forward products (J @ column_seeds)")
        Br = _check_shape(Br, (kr, n), "reverse products (row_seeds.T @ J)")
        flat = np.concatenate([np.ravel(B.T), np.ravel(Br)])
        return np.take(flat, result._gather)
    if result.partition == "row":
        B = _check_shape(B, (result.ncolors, n), "compressed matrix (seeds.T @ J)")
        return np.take(np.ravel(B), result._gather)
    B = _check_shape(B, (m, result.ncolors), "compressed matrix (J @ seeds)")
    if result.decompression == "substitution":
        plan = result._plan
        data = np.zeros(result.pattern.nnz, dtype=np.result_type(B.dtype, np.float64))
        _substitute(
            np.ascontiguousarray(B, dtype=data.dtype),
            plan["colors"],
            plan["tree_ptr"],
            plan["child"],
            plan["parent"],
            plan["pos_cp"],
            plan["pos_pc"],
            plan["diag_vertex"],
            plan["diag_pos"],
            data,
        )
        return data
    return np.take(np.ravel(B.T), result._gather)


@numba.njit(cache=True)
def _substitute(B, colors, tree_ptr, child, parent, pos_cp, pos_pc, diag_vertex, diag_pos, data):
    """Entries of a symmetric matrix from ``B = H @ seeds`` of an acyclic coloring.

    Diagonal entries are read directly (no neighbor shares a vertex's color). In each
    two-colored tree, pairs ``(child, parent)`` are listed in breadth-first order from a root;
    sweeping them backwards, the child's other tree edges are already known, so
    ``H[child, parent] = B[child, color(parent)] - (sum of the child's known entries)``.
    """
    n = B.shape[0]
    acc = np.zeros(n, dtype=B.dtype)
    for d in range(diag_pos.size):
        v = diag_vertex[d]
        data[diag_pos[d]] = B[v, colors[v]]
    for t in range(tree_ptr.size - 1):
        start, stop = tree_ptr[t], tree_ptr[t + 1]
        for k in range(start, stop):
            acc[child[k]] = 0
            acc[parent[k]] = 0
        for k in range(stop - 1, start - 1, -1):
            u = child[k]
            p = parent[k]
            value = B[u, colors[p]] - acc[u]
            data[pos_cp[k]] = value
            data[pos_pc[k]] = value
            acc[p] += value


def _check_shape(B, shape, what):
    if B is None:
        raise InputError(
            f"The {what} are missing.\nHint: pass the pair returned by result.compress."
        )
    B = np.asarray(B)
    if B.shape != tuple(shape):
        raise InputError(
            f"The {what} has shape {B.shape}, expected {tuple(shape)}.\n"
            "Hint: compress with the same coloring result (result.compress or its seeds)."
        )
    return B


def _check_out(result, out):
    P = result.pattern
    ok = (
        sp.issparse(out)
        and out.format in ("csr", "csc")
        and out.shape == P.shape
        and out.nnz == P.nnz
    )
    if ok:
        ref = P if out.format == "csr" else _csc_pattern(result)
        ok = np.array_equal(out.indptr, ref.indptr) and np.array_equal(out.indices, ref.indices)
    if not ok:
        raise InputError(
            f"out must be a CSR or CSC array with the coloring's pattern ({P.shape}, {P.nnz} nonzeros, sorted "
            f"indices), got {type(out).__name__} {getattr(out, 'shape', None)}.\n"
            "Hint: pass a matrix returned by an earlier result.decompress (or its .tocsc())."
        )


def _csc_pattern(result):
    cache = result.__dict__.setdefault("_csc_cache", {})
    if "pattern" not in cache:
        P = result.pattern
        order = np.arange(P.nnz, dtype=np.int64)
        C = sp.csr_array((order, P.indices, P.indptr), shape=P.shape).tocsc()
        C.sort_indices()
        cache["pattern"], cache["perm"] = C, C.data.astype(np.int64)
    return cache["pattern"]


def _csc_permutation(result):
    _csc_pattern(result)
    return result.__dict__["_csc_cache"]["perm"]
