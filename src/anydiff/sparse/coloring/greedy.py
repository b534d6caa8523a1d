"""The greedy coloring algorithm (settings) and the partial distance-2 coloring of columns/rows."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from ..._errors import ColoringError
from .orders import check_order, vertex_order
from .problem import column_graph, transpose
from .result import ColoringResult

__all__ = ["GreedyColoring", "best_of", "partial_coloring"]

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
    portfolio : bool
        Star coloring: run two greedy kernels on each order (forbidding two-colored paths, and
        keeping two-colored stars with their hubs) and keep the one with fewer colors. About
        twice the time of one kernel; ``False`` runs the first only.

    Raises
    ------
    ColoringError
        For an unknown order or decompression.

    Examples
    --------
    >>> from anydiff.sparse.coloring import GreedyColoring
    >>> GreedyColoring(order="smallest_last")
    GreedyColoring(order='smallest_last', decompression='direct', postprocessing=False, seed=None, portfolio=True)
    """

    order: object = "natural"
    decompression: str = "direct"
    postprocessing: bool = False
    seed: int | None = None
    portfolio: bool = True

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

    Reference kernel (the tests check :func:`greedy_distance2_masks`, which
    :func:`partial_coloring` runs, against it). Works on the bipartite graph (CSC ``col_ptr/col_rows`` and CSR ``row_ptr/row_cols``),
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


#: ``_LOWBIT[(b * 0x03F79D71B4CB0A89 mod 2**64) >> 58]`` is the index of the single set bit of
#: the 64-bit word ``b`` (de Bruijn sequence).
_LOWBIT = np.zeros(64, dtype=np.int64)
for _i in range(64):
    _LOWBIT[(((1 << _i) * 0x03F79D71B4CB0A89) & 0xFFFFFFFFFFFFFFFF) >> 58] = _i
del _i


@numba.njit(cache=True)
def _ordered_csc(row_ptr, row_cols, order, n):
    """CSC of the pattern with its columns renumbered by their position in ``order``.

    Column ``k`` of the result (``ptr[k]:ptr[k + 1]`` of ``rows``, rows sorted) is column
    ``order[k]`` of the pattern, so the greedy sweep reads it sequentially whatever the order.
    """
    m = row_ptr.size - 1
    pos = np.empty(n, dtype=row_cols.dtype)
    for k in range(n):
        pos[order[k]] = k
    label = np.empty(row_cols.size, dtype=row_cols.dtype)  # position of each entry's column
    fill = np.zeros(n + 1, dtype=row_ptr.dtype)
    for p in range(row_cols.size):
        k = pos[row_cols[p]]
        label[p] = k
        fill[k + 1] += 1
    for k in range(n):
        fill[k + 1] += fill[k]
    ptr = fill.copy()
    rows = np.empty(row_cols.size, dtype=row_cols.dtype)
    start = row_ptr[0]
    for i in range(m):
        end = row_ptr[i + 1]
        for p in range(start, end):
            k = label[p]
            rows[fill[k]] = i
            fill[k] += 1
        start = end
    return ptr, rows


@numba.njit(cache=True)
def greedy_distance2_masks(order, ptr, rows, row_ptr, row_cols, n, lowbit):
    """Same coloring as :func:`greedy_distance2`, O(nnz) while colors stay below 64.

    ``ptr/rows`` is :func:`_ordered_csc` of the pattern (column ``k`` = ``order[k]``); each row
    keeps a 64-bit mask of the colors < 64 taken by its colored columns. A column ORs the masks
    of its rows and takes the lowest free bit, instead of visiting every column of its rows.
    Only when colors 0-63 are all taken does it scan its rows (``row_ptr/row_cols``, the CSR)
    for the smallest free color >= 64, stamping a ``forbidden`` array with its position.
    """
    m = row_ptr.size - 1
    colors = np.full(n, -1, dtype=np.int32)
    used = np.zeros(m, dtype=np.uint64)
    forbidden = np.full(n + 65, -1, dtype=np.int64)
    one = np.uint64(1)
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    debruijn = np.uint64(0x03F79D71B4CB0A89)
    shift = np.uint64(58)
    start = ptr[0]
    for k in range(n):
        end = ptr[k + 1]
        acc = np.uint64(0)
        for p in range(start, end):
            acc |= used[rows[p]]
        if acc != full:
            free = ~acc
            low = free & (~free + one)  # lowest free color, as a bit
            c = lowbit[(low * debruijn) >> shift]
            for p in range(start, end):
                used[rows[p]] |= low
        else:  # colors 0-63 all taken: look for the smallest free one above
            for p in range(start, end):
                i = rows[p]
                for q in range(row_ptr[i], row_ptr[i + 1]):
                    cw = colors[row_cols[q]]
                    if cw >= 64:
                        forbidden[cw] = k
            c = 64
            while forbidden[c] == k:
                c += 1
        colors[order[k]] = c
        start = end
    return colors


#: Rows with more nonzeros than this keep a bitset of their colors instead of being scanned.
DENSE_ROW = 256
_FULL = np.uint64(0xFFFFFFFFFFFFFFFF)


@numba.njit(cache=True)
def greedy_distance2_bitsets(order, col_ptr, col_rows, row_ptr, row_cols, n, dense_id, ndense):
    """Same coloring as :func:`greedy_distance2`, but each dense row (``dense_id >= 0``) keeps a
    bitset of the colors of its colored columns. Visiting a column ORs the bitsets of its dense
    rows (64 colors per word) instead of scanning those rows: O(colors / 64) instead of
    O(row length) per visit, which turns the quadratic cost of dense rows into a small one.
    """
    nwords = n // 64 + 2
    bits = np.zeros((max(ndense, 1), nwords), dtype=np.uint64)
    acc = np.zeros(nwords, dtype=np.uint64)
    colors = np.full(n, -1, dtype=np.int32)
    forbidden = np.full(n + 1, -1, dtype=np.int32)
    used_words = 1  # words that may hold a set bit
    for v in order:
        ndv = 0
        for p in range(col_ptr[v], col_ptr[v + 1]):
            i = col_rows[p]
            d = dense_id[i]
            if d >= 0:
                if ndv == 0:
                    for t in range(used_words):
                        acc[t] = bits[d, t]
                else:
                    for t in range(used_words):
                        acc[t] |= bits[d, t]
                ndv += 1
            else:
                for q in range(row_ptr[i], row_ptr[i + 1]):
                    w = row_cols[q]
                    if colors[w] >= 0:
                        forbidden[colors[w]] = v
        c = 0
        if ndv == 0:
            while forbidden[c] == v:
                c += 1
        else:
            while True:
                t = c >> 6
                if t < used_words:
                    if acc[t] == _FULL:
                        c = (t + 1) << 6
                        continue
                    if (acc[t] >> np.uint64(c & 63)) & np.uint64(1):
                        c += 1
                        continue
                if forbidden[c] == v:
                    c += 1
                    continue
                break
        colors[v] = c
        t = c >> 6
        used_words = max(used_words, t + 1)
        for p in range(col_ptr[v], col_ptr[v + 1]):
            d = dense_id[col_rows[p]]
            if d >= 0:
                bits[d, t] |= np.uint64(1) << np.uint64(c & 63)
    return colors


@numba.njit(cache=True)
def _direct_gather(indptr, indices, colors, by_column, m, n):
    """Flat index of every nonzero ``(i, j)`` in the stacked products: ``color(j) * m + i``
    (column partition, products ``B.T``) or ``color(i) * n + j`` (row partition, ``B``)."""
    out = np.empty(indices.size, dtype=np.int64)
    if by_column:
        for i in range(indptr.size - 1):
            out[indptr[i] : indptr[i + 1]] = i
        for p in range(indices.size):
            out[p] += np.int64(colors[indices[p]]) * m
    else:
        for i in range(indptr.size - 1):
            base = np.int64(colors[i]) * n
            for p in range(indptr[i], indptr[i + 1]):
                out[p] = base + indices[p]
    return out


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
    n = Q.shape[1]
    if name == "largest_first":
        order = _largest_first_d2(Q)
    elif name == "natural":
        order = np.arange(n, dtype=np.int32)
    elif name == "random":
        order = vertex_order(name, sp.csr_array((n, n), dtype=np.int8), algorithm.seed)
    else:  # degree-driven dynamic orders need the column intersection graph
        edges = int(np.sum(np.diff(Q.indptr).astype(np.int64) ** 2))
        if edges > MAX_GRAPH_EDGES:
            raise ColoringError(
                f"The order {name!r} needs the column intersection graph, which has ~{edges:.1e} edges here "
                "(dense rows).\nHint: use order='largest_first' or 'natural', or partition='bidirectional'."
            )
        order = vertex_order(name, column_graph(Q), algorithm.seed)
    row_nnz = np.diff(Q.indptr)
    dense = row_nnz > DENSE_ROW
    budget = int(5e7 // (n // 64 + 2))  # at most ~400 MB of bitsets: only the densest rows
    if dense.sum() > budget:
        dense[:] = False
        dense[np.argsort(-row_nnz, kind="stable")[:budget]] = True
    if dense.any():
        C = transpose(Q)  # CSR of Q^T = CSC of Q
        dense_id = np.where(dense, np.cumsum(dense) - 1, -1).astype(np.int32)
        colors = greedy_distance2_bitsets(
            order.astype(np.int32),
            C.indptr,
            C.indices,
            Q.indptr,
            Q.indices,
            n,
            dense_id,
            int(dense.sum()),
        )
    else:
        order = order.astype(np.int32, copy=False)
        ptr, rows = _ordered_csc(Q.indptr, Q.indices, order, n)
        colors = greedy_distance2_masks(order, ptr, rows, Q.indptr, Q.indices, n, _LOWBIT)
    k = int(colors.max(initial=-1)) + 1
    gather = _direct_gather(
        P.indptr, P.indices, colors, partition == "column", P.shape[0], P.shape[1]
    )
    return ColoringResult(
        P,
        "nonsymmetric",
        partition,
        colors.astype(np.int64),
        k,
        decompression="direct",
        order=name,
        _gather=gather,
    )


def best_of(make, names):
    """The result with the fewest colors over the orders ``names``.

    With several orders, an order that cannot run on this pattern (a dynamic order whose
    column intersection graph would be too large) is skipped; with one, its error is raised.
    """
    best, error = None, None
    for name in names:
        try:
            res = make(name)
        except ColoringError as err:
            if len(names) == 1:
                raise
            error = err
            continue
        if best is None or res.ncolors < best.ncolors:
            best = res
    if best is None:
        raise error
    return best
