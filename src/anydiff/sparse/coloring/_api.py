"""Coloring problems, the greedy algorithm and the result object (compress / decompress)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..._errors import ColoringError, InputError
from . import _kernels
from ._orders import check_order, vertex_order

__all__ = ["GreedyColoring", "ColoringResult", "color", "seed_matrix"]

STRUCTURES = ("nonsymmetric", "symmetric")
#: Largest column intersection graph built for degree-driven orders.
MAX_GRAPH_EDGES = 50_000_000
PARTITIONS = ("column", "row", "bidirectional")


@dataclass(frozen=True)
class GreedyColoring:
    """Greedy coloring algorithm settings.

    Parameters
    ----------
    order : str or tuple of str
        Vertex order: ``"natural"``, ``"largest_first"``, ``"smallest_last"``,
        ``"incidence_degree"``, ``"dynamic_largest_first"``, ``"random"`` (uses ``seed``), or
        ``"best"`` / a tuple of names: try each and keep the fewest colors.
    decompression : {"direct"}
        Direct recovery (each entry read from one compressed product). ``"substitution"``
        (acyclic coloring) is not implemented and raises.
    postprocessing : bool
        For symmetric problems, drop colors that no entry is read from.
    seed : int, optional
        Seed of the ``"random"`` order.

    Examples
    --------
    >>> import anydiff as ad
    >>> ad.GreedyColoring(order="smallest_last")
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
                f"decompression={self.decompression!r} is not known.\nHint: use 'direct'."
            )


@dataclass(frozen=True, eq=False)
class ColoringResult:
    """A coloring and everything decompression needs.

    Attributes
    ----------
    pattern : scipy.sparse.csr_array
        Boolean pattern (sorted, canonical CSR); results of ``decompress`` have its structure.
    structure, partition : str
    colors : numpy.ndarray
        Column colors (column partition, symmetric), row colors (row partition). For the
        bidirectional partition: see ``column_colors``/``row_colors`` (``-1`` = not seeded).
    ncolors : int
        Number of compressed products per evaluation (forward + reverse for bidirectional).
    seeds : numpy.ndarray
        Compression matrix: ``n × ncolors`` (column, symmetric) or ``m × ncolors`` (row).
    """

    pattern: sp.csr_array
    structure: str
    partition: str
    colors: np.ndarray
    ncolors: int
    column_colors: np.ndarray | None = None
    row_colors: np.ndarray | None = None
    _source: np.ndarray = field(repr=False, default=None)  # per nonzero: 0 forward, 1 reverse
    _gather: np.ndarray = field(repr=False, default=None)  # per nonzero: flat index into products

    # ------------------------------------------------------------------ seeds
    @property
    def groups(self) -> list:
        """Index arrays of the vertices of each color."""
        return [np.flatnonzero(self.colors == c) for c in range(int(self.colors.max(initial=-1)) + 1)]

    @property
    def seeds(self) -> np.ndarray:
        if self.partition == "bidirectional":
            raise ColoringError("A bidirectional result has column_seeds and row_seeds.\nHint: use those.")
        return seed_matrix(self.colors, self.ncolors)

    @property
    def column_seeds(self) -> np.ndarray:
        cc = self.colors if self.partition != "bidirectional" else self.column_colors
        return seed_matrix(cc, int(cc.max(initial=-1)) + 1)

    @property
    def row_seeds(self) -> np.ndarray:
        rc = self.colors if self.partition == "row" else self.row_colors
        return seed_matrix(rc, int(rc.max(initial=-1)) + 1)

    # ---------------------------------------------------------- compression
    def compress(self, J):
        """Compressed products of a matrix with this pattern: ``J @ seeds`` (column, symmetric),
        ``seeds.T @ J`` (row), or ``(J @ column_seeds, row_seeds.T @ J)`` (bidirectional)."""
        J = sp.csr_array(J) if not sp.issparse(J) else J.tocsr()
        if J.shape != self.pattern.shape:
            raise InputError(f"J has shape {J.shape}, the pattern {self.pattern.shape}.")
        if self.partition == "row":
            return np.asarray((sp.csr_array(self.seeds.T) @ J).toarray())
        if self.partition == "bidirectional":
            return np.asarray(J @ self.column_seeds), np.asarray((sp.csr_array(self.row_seeds.T) @ J).toarray())
        return np.asarray(J @ self.seeds)

    def decompress(self, B, Br=None, out=None):
        """Rebuild the sparse matrix from its compressed products (one vectorized gather).

        Parameters
        ----------
        B : numpy.ndarray
            ``m × ncolors`` (column), ``ncolors × n`` (row), ``n × ncolors`` (symmetric), or the
            forward products ``m × k_c`` (bidirectional, with ``Br`` the ``k_r × n`` reverse ones).
        out : scipy.sparse.csr_array, optional
            A matrix with this result's structure (e.g. an earlier result) filled in place.

        Returns
        -------
        scipy.sparse.csr_array
        """
        data = self.decompress_data(B, Br)
        if out is not None:
            if out.shape != self.pattern.shape or out.nnz != self.pattern.nnz:
                raise InputError(
                    f"out has shape {out.shape} and {out.nnz} nonzeros; expected {self.pattern.shape} and "
                    f"{self.pattern.nnz}.\nHint: pass a result of an earlier decompress with this coloring."
                )
            out.data[:] = data
            return out
        J = object.__new__(type(self.pattern))
        J.__dict__.update(self.pattern.__dict__)
        J.data = data
        return J

    def decompress_data(self, B, Br=None):
        """Values of the nonzeros, in the CSR order of ``pattern``."""
        m, n = self.pattern.shape
        if self.partition == "bidirectional":
            kc = int(self.column_colors.max(initial=-1)) + 1
            kr = int(self.row_colors.max(initial=-1)) + 1
            B, Br = _check_shape(B, (m, kc), "forward products"), _check_shape(Br, (kr, n), "reverse products")
            flat = np.concatenate([np.ravel(B.T), np.ravel(Br)])
            return np.take(flat, self._gather)
        expected = {"column": (m, self.ncolors), "row": (self.ncolors, n)}.get(self.partition, (n, self.ncolors))
        B = _check_shape(B, expected, "compressed matrix")
        products = B.T if self.partition != "row" else B  # one product per color, rows of length m or n
        return np.take(np.ravel(products), self._gather)

    def gather_index(self):
        """Flat indices into the stacked products (``ncolors × length``) giving the nonzeros."""
        return self._gather


def seed_matrix(colors, k=None) -> np.ndarray:
    """Compression matrix of a coloring: ``S[v, c] = 1`` if vertex ``v`` has color ``c``
    (``-1`` = vertex not seeded). Shape ``(len(colors), k)``, ``k`` = number of colors by default.

    Examples
    --------
    >>> seed_matrix(np.array([0, 1, 0, -1]))
    array([[1., 0.],
           [0., 1.],
           [1., 0.],
           [0., 0.]])
    """
    colors = np.asarray(colors)
    k = int(colors.max(initial=-1)) + 1 if k is None else k
    S = np.zeros((colors.size, k))
    seeded = colors >= 0
    S[np.flatnonzero(seeded), colors[seeded]] = 1.0
    return S


def _check_shape(B, shape, what):
    B = np.asarray(B)
    if B.shape != tuple(shape):
        raise InputError(
            f"The {what} has shape {B.shape}, expected {tuple(shape)}.\n"
            "Hint: compress with the same coloring result (result.compress or the seeds)."
        )
    return B


# --------------------------------------------------------------------- problems
def _as_pattern(S) -> sp.csr_array:
    if sp.issparse(S):
        if S.ndim != 2:
            raise ColoringError("The pattern must be 2-D.\nHint: pass a matrix (m, n).")
        P = sp.csr_array(S, dtype=bool, copy=True)
    else:
        A = np.asarray(S)
        if A.ndim != 2:
            raise ColoringError(f"The pattern must be 2-D, got {A.ndim} dimensions.\nHint: pass a matrix (m, n).")
        P = sp.csr_array(A != 0)
    P.eliminate_zeros()
    P.sum_duplicates()
    P.sort_indices()
    P.data[:] = True
    return P


def _column_graph(P: sp.csr_array) -> sp.csr_array:
    """Column intersection graph (columns sharing a row), without the diagonal."""
    Pi = P.astype(np.int32)
    G = sp.csr_array(Pi.T @ Pi)
    G.setdiag(0)
    G.eliminate_zeros()
    return G


def _adjacency(P: sp.csr_array) -> sp.csr_array:
    """Adjacency graph of a symmetric pattern: the pattern without its diagonal."""
    rows, cols = _rows_cols(P)
    off = rows != cols
    G = sp.csr_array((np.ones(int(off.sum()), dtype=np.int8), (rows[off], cols[off])), shape=P.shape)
    G.sort_indices()
    return G


def _rows_cols(P):
    rows = np.repeat(np.arange(P.shape[0], dtype=np.int64), np.diff(P.indptr))
    return rows, P.indices.astype(np.int64)


def color(S, structure="nonsymmetric", partition="column", algorithm=None) -> ColoringResult:
    """Color a sparsity pattern for compressed differentiation.

    Parameters
    ----------
    S : scipy.sparse array or array_like
        Boolean ``m × n`` pattern (nonzero = structurally nonzero).
    structure : {"nonsymmetric", "symmetric"}
        ``"symmetric"``: a Hessian pattern (square, symmetric); star coloring with direct
        recovery from ``H @ seeds``.
    partition : {"column", "row", "bidirectional"}
        Column coloring (forward mode, ``J @ seeds``), row coloring (reverse mode,
        ``seeds.T @ J``) or bidirectional (rows with many nonzeros by reverse mode, the rest by
        forward mode, for Jacobians with both dense rows and dense columns).
    algorithm : GreedyColoring, optional

    Returns
    -------
    ColoringResult

    Raises
    ------
    ColoringError
        For patterns that are not 2-D, non-square or asymmetric symmetric problems, unknown
        orders or partitions.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from anydiff.sparse import coloring
    >>> S = sp.diags_array([np.ones(5), np.ones(4)], offsets=[0, 1])
    >>> res = coloring.color(S)
    >>> res.ncolors, res.colors
    (2, array([0, 1, 0, 1, 0]))
    >>> J = S.toarray() * np.arange(1.0, 6.0)[:, None]
    >>> np.allclose(res.decompress(res.compress(J)).toarray(), J)
    True
    """
    algorithm = GreedyColoring() if algorithm is None else algorithm
    if not isinstance(algorithm, GreedyColoring):
        raise ColoringError(f"algorithm must be a GreedyColoring, got {algorithm!r}.")
    if structure not in STRUCTURES:
        raise ColoringError(f"Unknown structure {structure!r}.\nHint: use 'nonsymmetric' or 'symmetric'.")
    if partition not in PARTITIONS:
        raise ColoringError(f"Unknown partition {partition!r}.\nHint: use 'column', 'row' or 'bidirectional'.")
    if algorithm.decompression == "substitution":
        raise ColoringError(
            "Acyclic coloring with substitution decompression is not implemented yet.\n"
            "Hint: use GreedyColoring(decompression='direct') (star coloring)."
        )
    P = _as_pattern(S)
    names = check_order(algorithm.order)
    if structure == "symmetric":
        if partition != "column":
            raise ColoringError("Symmetric problems use partition='column'.\nHint: drop the partition argument.")
        if P.shape[0] != P.shape[1]:
            raise ColoringError(f"A symmetric pattern must be square, got {P.shape}.\nHint: use structure='nonsymmetric'.")
        if (P != P.T).nnz:
            raise ColoringError("The pattern is not symmetric.\nHint: use structure='nonsymmetric' or symmetrize it (S + S.T).")
        return _best(names, lambda name: _star(P, name, algorithm))
    if partition == "bidirectional":
        return _bidirectional(P, names, algorithm)
    return _best(names, lambda name: _partial(P, partition, name, algorithm))


def _best(names, make):
    best = None
    for name in names:
        res = make(name)
        if best is None or res.ncolors < best.ncolors:
            best = res
    return best


def _partial(P, partition, name, algorithm, graph=None):
    """Column (or row: columns of the transpose) distance-2 coloring, direct decompression."""
    Q = P if partition == "column" else sp.csr_array(P.T)
    Q.sort_indices()
    m, n = Q.shape
    C = sp.csc_array(Q)
    C.sort_indices()
    if name == "largest_first":
        order = _largest_first_d2(Q)
    elif name in ("natural", "random"):
        order = vertex_order(name, _empty(n), algorithm.seed)
    else:  # degree-driven orders need the column intersection graph
        edges = int(np.sum(np.diff(Q.indptr).astype(np.int64) ** 2))
        if edges > MAX_GRAPH_EDGES:
            raise ColoringError(
                f"The order {name!r} needs the column intersection graph, which has ~{edges:.1e} edges here "
                "(dense rows).\nHint: use order='largest_first' or 'natural', or partition='bidirectional'."
            )
        order = vertex_order(name, _column_graph(Q), algorithm.seed)
    colors = _kernels.greedy_distance2(order, C.indptr, C.indices, Q.indptr, Q.indices, n).astype(np.int64)
    k = int(colors.max(initial=-1)) + 1
    rows, cols = _rows_cols(P)
    if partition == "column":
        gather = colors[cols] * m + rows
    else:
        gather = colors[rows] * P.shape[1] + cols
    return ColoringResult(P, "nonsymmetric", partition, colors, k, _gather=gather)


def _empty(n):
    return sp.csr_array((n, n), dtype=np.int8)


def _largest_first_d2(Q):
    """Largest-first by an upper bound of the distance-2 degree (no S^T S product needed)."""
    row_nnz = np.diff(Q.indptr)
    weight = np.asarray(sp.csr_array(Q, dtype=np.int64).T @ row_nnz).ravel()
    return np.argsort(-weight, kind="stable").astype(np.int64)


def _star(P, name, algorithm):
    n = P.shape[0]
    G = _adjacency(P)
    order = vertex_order(name, G, algorithm.seed)
    colors = _kernels.greedy_star(order, G.indptr, G.indices, n).astype(np.int64)
    rows, cols = _rows_cols(P)
    k = int(colors.max(initial=-1)) + 1
    # read H[i, j] at (row i, color of j) if j is the only vertex of its color in row i's
    # pattern; otherwise at (row j, color of i). Star colorings make one of the two work.
    key = rows * k + colors[cols]
    uniq, counts = np.unique(key, return_counts=True)
    count = counts[np.searchsorted(uniq, key)]
    direct = count == 1
    key_t = cols * k + colors[rows]
    pos = np.searchsorted(uniq, key_t)
    pos = np.minimum(pos, uniq.size - 1)
    count_t = np.where(uniq[pos] == key_t, counts[pos], 0)
    if not np.all(direct | (count_t == 1)):
        raise ColoringError("Internal error: the star coloring does not allow direct recovery.")  # pragma: no cover
    gather = np.where(direct, colors[cols] * n + rows, colors[rows] * n + cols)
    if algorithm.postprocessing:
        used = np.unique(gather // n)
        remap = np.full(k, -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        # vertices whose color is unused keep a neutral color: no seed, never read
        colors = np.where(colors >= 0, remap[colors], -1)
        gather = remap[gather // n] * n + gather % n
        k = used.size
    return ColoringResult(P, "symmetric", "column", colors, k, _gather=gather)


def _bidirectional(P, names, algorithm):
    """Dense rows by reverse mode (row coloring among them), the rest by forward mode.

    The threshold on the row degree is chosen among a few candidates (no row, rows denser than
    4× / 16× the median, ...) to minimize the total number of colors.
    """
    m, n = P.shape
    row_nnz = np.diff(P.indptr)
    med = max(1.0, float(np.median(row_nnz))) if m else 1.0
    candidates = sorted({np.inf, 4 * med, 16 * med, 64 * med, max(np.sqrt(n), 2 * med)})
    best, seen = None, set()
    for tau in candidates:
        dense = row_nnz > tau
        if np.isinf(tau) and row_nnz.max(initial=0) > 64 * med and m > 1000:
            continue  # plain column coloring would be quadratic in the dense rows
        key = dense.tobytes()
        if key in seen:  # several thresholds may select the same rows
            continue
        seen.add(key)
        res = _split(P, dense, names, algorithm)
        if best is None or res.ncolors < best.ncolors:
            best = res
    return best


def _select_rows(P, mask):
    """The pattern with only the rows where ``mask`` is True (others empty), same shape."""
    rows, cols = _rows_cols(P)
    keep = mask[rows]
    Q = sp.csr_array((np.ones(int(keep.sum()), dtype=bool), (rows[keep], cols[keep])), shape=P.shape)
    Q.sort_indices()
    return Q


def _split(P, dense, names, algorithm):
    m, n = P.shape
    keep, top = _select_rows(P, ~dense), _select_rows(P, dense)
    fwd = _best(names, lambda name: _partial(keep, "column", name, algorithm)) if (~dense).any() else None
    rev = _best(names, lambda name: _partial(top, "row", name, algorithm)) if dense.any() else None
    column_colors = fwd.colors if fwd is not None else np.full(n, -1)
    row_colors = np.where(dense, rev.colors, -1) if rev is not None else np.full(m, -1)
    kc = int(column_colors.max(initial=-1)) + 1
    kr = int(row_colors.max(initial=-1)) + 1
    rows, cols = _rows_cols(P)
    from_rev = dense[rows]
    gather = np.where(from_rev, kc * m + np.maximum(row_colors[rows], 0) * n + cols,
                      np.maximum(column_colors[cols], 0) * m + rows)
    colors = np.concatenate([column_colors, row_colors])
    return ColoringResult(P, "nonsymmetric", "bidirectional", colors, kc + kr,
                          column_colors=column_colors, row_colors=row_colors, _gather=gather)
