"""The greedy coloring algorithm (settings) and the partial distance-2 coloring of columns/rows."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from ..._errors import ColoringError
from .orders import check_order, vertex_order
from .problem import column_graph, rows_cols, transpose
from .result import ColoringResult

__all__ = ["GreedyColoring", "partial_coloring"]

#: Largest column intersection graph (edges) built for the degree-driven orders.
MAX_GRAPH_EDGES = 50_000_000


@dataclass(frozen=True)
class GreedyColoring:
    """Greedy coloring algorithm settings.

    Parameters
    ----------
    order : str or tuple of str
        Vertex order: ``"natural"``, ``"largest_first"``, ``"smallest_last"``,
        ``"incidence_degree"``, ``"dynamic_largest_first"``, ``"random"`` (uses ``seed``), or
        ``"best"`` / a tuple of names: try each and keep the fewest colors.
    decompression : {"direct", "substitution"}
        For symmetric problems: ``"direct"`` = star coloring (each entry read from one
        product), ``"substitution"`` = acyclic coloring (fewer colors, entries solved along
        two-colored trees). Nonsymmetric problems always decompress directly.
    postprocessing : bool
        Symmetric problems: give the neutral color to color classes no entry is read from.
    seed : int, optional
        Seed of the ``"random"`` order.

    Raises
    ------
    ColoringError
        For an unknown order or decompression.

    Examples
    --------
    >>> from anydiff.sparse.coloring import GreedyColoring
    >>> GreedyColoring(order="smallest_last")
    GreedyColoring(order='smallest_last', decompression='direct', postprocessing=False, seed=None)
    """

    order: object = "natural"
    decompression: str = "direct"
    postprocessing: bool = False
    seed: int | None = None

    def __post_init__(self):
        check_order(self.order)
        if self.decompression not in ("direct", "substitution"):
            raise ColoringError(
                f"decompression={self.decompression!r} is not known.\nHint: use 'direct' or 'substitution'."
            )

    @property
    def orders(self) -> tuple:
        """The order names tried."""
        return check_order(self.order)


@numba.njit(cache=True)
def greedy_distance2(order, col_ptr, col_rows, row_ptr, row_cols, n):
    """Color columns so that columns sharing a row differ (partial distance-2 coloring).

    Works on the bipartite graph (CSC ``col_ptr/col_rows`` and CSR ``row_ptr/row_cols``),
    never on ``S^T S``. Each column, in ``order``, takes the smallest color not used by a
    column sharing one of its rows.
    """
    colors = np.full(n, -1, dtype=np.int32)
    forbidden = np.full(n + 1, -1, dtype=np.int32)
    for v in order:
        for p in range(col_ptr[v], col_ptr[v + 1]):
            i = col_rows[p]
            for q in range(row_ptr[i], row_ptr[i + 1]):
                w = row_cols[q]
                if colors[w] >= 0:
                    forbidden[colors[w]] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
    return colors


@numba.njit(cache=True)
def _largest_first_d2_kernel(row_ptr, row_cols, n):
    """Columns by decreasing ``sum of the sizes of their rows`` (ties: natural), counting sort."""
    weight = np.zeros(n, dtype=np.int64)
    for i in range(row_ptr.size - 1):
        size = row_ptr[i + 1] - row_ptr[i]
        for p in range(row_ptr[i], row_ptr[i + 1]):
            weight[row_cols[p]] += size
    top = 0
    for v in range(n):
        top = max(top, weight[v])
    count = np.zeros(top + 2, dtype=np.int64)
    for v in range(n):
        count[top - weight[v] + 1] += 1
    for w in range(1, top + 2):
        count[w] += count[w - 1]
    order = np.empty(n, dtype=np.int32)
    for v in range(n):
        slot = top - weight[v]
        order[count[slot]] = v
        count[slot] += 1
    return order


def _largest_first_d2(Q):
    """Largest-first by the distance-2 degree bound ``sum of the sizes of a column's rows``
    (the exact degree in ``S^T S`` needs the product; the bound orders alike on most patterns)."""
    return _largest_first_d2_kernel(Q.indptr, Q.indices, Q.shape[1])


def partial_coloring(P, partition, name, algorithm) -> ColoringResult:
    """Column (or row: columns of the transpose) coloring with direct decompression."""
    Q = P if partition == "column" else transpose(P)
    m, n = Q.shape
    if name == "largest_first":
        order = _largest_first_d2(Q)
    elif name in ("natural", "random"):
        order = vertex_order(name, sp.csr_array((n, n), dtype=np.int8), algorithm.seed)
    else:  # degree-driven dynamic orders need the column intersection graph
        edges = int(np.sum(np.diff(Q.indptr).astype(np.int64) ** 2))
        if edges > MAX_GRAPH_EDGES:
            raise ColoringError(
                f"The order {name!r} needs the column intersection graph, which has ~{edges:.1e} edges here "
                "(dense rows).\nHint: use order='largest_first' or 'natural', or partition='bidirectional'."
            )
        order = vertex_order(name, column_graph(Q), algorithm.seed)
    C = transpose(Q)  # CSR of Q^T = CSC of Q
    colors = greedy_distance2(order.astype(np.int32), C.indptr, C.indices, Q.indptr, Q.indices, n).astype(np.int64)
    k = int(colors.max(initial=-1)) + 1
    rows, cols = rows_cols(P)
    if partition == "column":
        gather = colors[cols] * P.shape[0] + rows
    else:
        gather = colors[rows] * P.shape[1] + cols
    return ColoringResult(P, "nonsymmetric", partition, colors, k, decompression="direct", order=name,
                          _gather=gather)
