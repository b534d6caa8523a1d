"""Bidirectional colorings of Jacobians: forward colors on columns and reverse colors on rows.

Two constructions; :func:`bidirectional_coloring` keeps the one with fewer products.

* Star bicoloring: a star coloring of the symmetric bipartite matrix ``[[0, J^T], [J, 0]]``
  (columns and rows are its vertices). Each entry ``J[i, j]`` is an edge and can be read
  directly at row ``i`` of the forward product of ``color(j)`` or at column ``j`` of the
  reverse product of ``color(i)``. Colors that no entry is read from (on either side) become
  neutral. Its cost grows with paths of length three, so it is skipped on patterns with very
  dense rows *and* columns.
* Split: rows much denser than the median go to reverse mode (row coloring among them), the
  rest to forward mode (column coloring of the remaining rows); several thresholds are tried,
  including none (pure column coloring) and all rows (pure row coloring).
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from .greedy import best_of, partial_coloring
from .orders import vertex_order
from .problem import bipartite_adjacency, edge_ids, rows_cols
from .result import ColoringResult
from .star import alone_in_row, greedy_star_hubs

__all__ = ["bidirectional_coloring"]

#: Work bound (paths of length 3 in the bipartite graph) above which star bicoloring is skipped.
MAX_STAR_WORK = 3e8


def bidirectional_coloring(P, names, algorithm) -> ColoringResult:
    candidates = _split_candidates(P, names, algorithm)
    if _star_work(P) <= MAX_STAR_WORK:
        candidates += [star_bicoloring(P, name, algorithm) for name in names]
    return min(candidates, key=lambda r: r.ncolors)


def _star_work(P) -> float:
    """Rough count of the steps of the greedy star coloring of the bipartite graph."""
    row_nnz = np.diff(P.indptr).astype(np.float64)
    col_nnz = np.bincount(P.indices, minlength=P.shape[1]).astype(np.float64)
    Pf = sp.csr_array(P, dtype=np.float64)
    # sum over edges (i, j) of deg(i) * (sum of degrees of j's rows) + the symmetric term
    return float(row_nnz @ (Pf @ (Pf.T @ row_nnz)) + col_nnz @ (Pf.T @ (Pf @ col_nnz)))


@numba.njit(cache=True)
def _choose_sides(fwd_ok, rev_ok, cf, cr, kmax):
    """Per entry: True = read from the forward product. Entries with one valid side take it;
    the others prefer a side whose color is already needed, so fewer colors stay seeded."""
    nnz = fwd_ok.size
    need_f = np.zeros(kmax + 1, dtype=np.bool_)
    need_r = np.zeros(kmax + 1, dtype=np.bool_)
    side = np.zeros(nnz, dtype=np.bool_)
    for e in range(nnz):
        if fwd_ok[e] and not rev_ok[e]:
            need_f[cf[e]] = True
        elif rev_ok[e] and not fwd_ok[e]:
            need_r[cr[e]] = True
    for e in range(nnz):
        if fwd_ok[e] and rev_ok[e]:
            if need_f[cf[e]]:
                side[e] = True
            elif need_r[cr[e]]:
                side[e] = False
            else:
                need_f[cf[e]] = True
                side[e] = True
        else:
            side[e] = fwd_ok[e]
    return side


def star_bicoloring(P, name, algorithm) -> ColoringResult:
    m, n = P.shape
    G = bipartite_adjacency(P)
    order = vertex_order(name, G, algorithm.seed)
    eid, ne, _ = edge_ids(G)
    colors = greedy_star_hubs(order, G.indptr, G.indices, eid, ne, n + m)
    rows, cols = rows_cols(P)
    cf, cr = colors[cols], colors[rows + n]  # forward color of the column, reverse color of the row
    k = int(colors.max(initial=-1)) + 1
    # J[i, j] alone in (forward product cf)[i] iff j is the only column of row i with color cf;
    # alone in (reverse product cr)[:, j] iff i is the only row of column j with color cr
    fwd_ok = alone_in_row(P.indptr, P.indices, colors[:n])
    T = sp.csr_array((np.arange(P.nnz), P.indices, P.indptr), shape=P.shape).tocsc()
    T.sort_indices()  # data: CSR position of each entry in CSC order
    rev_ok = np.empty(P.nnz, dtype=bool)
    rev_ok[T.data] = alone_in_row(T.indptr, T.indices, colors[n:])
    side = _choose_sides(fwd_ok, rev_ok, cf, cr, k)
    return _assemble(P, side, cf, cr, colors[:n], colors[n:], name)


def _assemble(P, side, cf, cr, col_colors, row_colors, name):
    """Renumber the needed forward and reverse colors from 0 (others neutral) and build the gather."""
    m, n = P.shape
    rows, cols = rows_cols(P)

    def renumber(c_all, needed):
        used = np.unique(needed)
        remap = np.full(int(c_all.max(initial=-1)) + 2, -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        return np.where(c_all >= 0, remap[np.maximum(c_all, 0)], -1), remap, used.size

    column_colors, remap_f, kc = renumber(col_colors, cf[side])
    row_colors, remap_r, kr = renumber(row_colors, cr[~side])
    gather = np.where(
        side, remap_f[np.maximum(cf, 0)] * m + rows, kc * m + remap_r[np.maximum(cr, 0)] * n + cols
    )
    return ColoringResult(
        P,
        "nonsymmetric",
        "bidirectional",
        np.concatenate([column_colors, row_colors]),
        kc + kr,
        column_colors=column_colors,
        row_colors=row_colors,
        decompression="direct",
        order=name,
        _gather=gather.astype(np.int64),
    )


def _select_rows(P, mask):
    """The pattern restricted to the rows where ``mask`` is True (others empty), same shape."""
    rows, cols = rows_cols(P)
    keep = mask[rows]
    Q = sp.csr_array(
        (np.ones(int(keep.sum()), dtype=bool), (rows[keep], cols[keep])), shape=P.shape
    )
    Q.sort_indices()
    return Q


def _split_candidates(P, names, algorithm):
    m, n = P.shape
    row_nnz = np.diff(P.indptr)
    med = max(1.0, float(np.median(row_nnz))) if m else 1.0
    out, seen = [], set()
    for tau in sorted({-np.inf, np.inf, 4 * med, 16 * med, 64 * med, max(np.sqrt(n), 2 * med)}):
        if tau == np.inf and row_nnz.max(initial=0) > 64 * med and m > 1000:
            continue  # plain column coloring: at least one color per column of a dense row
        if tau == -np.inf and (
            m > 1000 and np.bincount(P.indices, minlength=n).max(initial=0) > 64 * med
        ):
            continue  # plain row coloring: at least one color per row of a dense column
        dense = row_nnz > tau
        key = dense.tobytes()
        if key in seen:
            continue
        seen.add(key)
        out.append(_split(P, dense, names, algorithm))
    return out


def _split(P, dense, names, algorithm):
    m, n = P.shape
    rows, cols = rows_cols(P)
    col_colors, row_colors = np.full(n, -1, dtype=np.int64), np.full(m, -1, dtype=np.int64)
    name = names[0]
    if (~dense).any():
        keep = _select_rows(P, ~dense)
        fwd = best_of(lambda nm: partial_coloring(keep, "column", nm, algorithm), names)
        col_colors, name = fwd.colors, fwd.order
    if dense.any():
        top = _select_rows(P, dense)
        rev = best_of(lambda nm: partial_coloring(top, "row", nm, algorithm), names)
        row_colors = np.where(dense, rev.colors, -1)
    side = ~dense[rows]
    return _assemble(P, side, col_colors[cols], row_colors[rows], col_colors, row_colors, name)
