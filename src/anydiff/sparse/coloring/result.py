"""The result of a coloring: colors, seeds, compression, and what decompression needs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..._errors import ColoringError, InputError

__all__ = ["ColoringResult", "seed_matrix"]


@dataclass(frozen=True, eq=False)
class ColoringResult:
    """A coloring and everything decompression needs (index arrays precomputed).

    Attributes
    ----------
    pattern : scipy.sparse.csr_array
        Boolean pattern (canonical CSR); ``decompress`` returns matrices with its structure.
    structure : {"nonsymmetric", "symmetric"}
    partition : {"column", "row", "bidirectional"}
    colors : numpy.ndarray
        One color per column (column partition, symmetric) or per row (row partition); ``-1`` is
        the neutral color (vertex not seeded). Bidirectional: ``column_colors`` then
        ``row_colors`` concatenated.
    ncolors : int
        Number of compressed products (forward + reverse for bidirectional).
    column_colors, row_colors : numpy.ndarray or None
        Bidirectional only: forward colors of columns and reverse colors of rows (``-1`` = not
        seeded), each numbered from 0.
    decompression : {"direct", "substitution"}
    order : str
        The vertex order that gave this coloring (useful with ``order="best"``).
    """

    pattern: sp.csr_array
    structure: str
    partition: str
    colors: np.ndarray
    ncolors: int
    column_colors: np.ndarray | None = None
    row_colors: np.ndarray | None = None
    decompression: str = "direct"
    order: str = "natural"
    _gather: np.ndarray | None = field(repr=False, default=None)  # direct: flat index per nonzero
    _plan: dict | None = field(repr=False, default=None)  # substitution: tree sweep arrays

    # ------------------------------------------------------------------ colors
    @property
    def shape(self) -> tuple:
        return self.pattern.shape

    @property
    def groups(self) -> list:
        """Index arrays of the vertices of each color (bidirectional: column groups, then row groups)."""
        if self.partition == "bidirectional":
            return _groups(self.column_colors) + _groups(self.row_colors)
        return _groups(self.colors, self.ncolors)

    @property
    def seeds(self) -> np.ndarray:
        """Compression matrix: ``n × ncolors`` (column, symmetric) or ``m × ncolors`` (row)."""
        if self.partition == "bidirectional":
            raise ColoringError(
                "A bidirectional result has two seed matrices.\nHint: use result.column_seeds and result.row_seeds."
            )
        return seed_matrix(self.colors, self.ncolors)

    @property
    def column_seeds(self) -> np.ndarray:
        """Forward seeds ``n × k_c`` (column and symmetric partitions: same as ``seeds``)."""
        if self.partition == "row":
            raise ColoringError(
                "A row coloring has no column seeds.\nHint: use result.seeds (m × ncolors)."
            )
        cc = self.column_colors if self.partition == "bidirectional" else self.colors
        return seed_matrix(cc, self.ncolors if self.partition != "bidirectional" else None)

    @property
    def row_seeds(self) -> np.ndarray:
        """Reverse seeds ``m × k_r`` (row partition: same as ``seeds``)."""
        if self.partition in ("column",) or self.structure == "symmetric":
            raise ColoringError(
                "A column coloring has no row seeds.\nHint: use result.seeds (n × ncolors)."
            )
        rc = self.row_colors if self.partition == "bidirectional" else self.colors
        return seed_matrix(rc, self.ncolors if self.partition != "bidirectional" else None)

    # ------------------------------------------------------------ compression
    def compress(self, J):
        """Compressed products of a matrix with this pattern.

        ``J @ seeds`` (column, symmetric), ``seeds.T @ J`` (row), ``(J @ column_seeds,
        row_seeds.T @ J)`` (bidirectional). ``J`` may be dense or sparse; results are dense.

        Raises
        ------
        InputError
            If ``J`` does not have the pattern's shape.
        """
        if not sp.issparse(J):
            J = np.asarray(J)
        if J.ndim != 2 or J.shape != self.pattern.shape:
            raise InputError(
                f"J has shape {J.shape}, the pattern {self.pattern.shape}.\n"
                "Hint: compress the matrix whose sparsity pattern was colored."
            )
        if self.partition == "row":
            return np.asarray((J.T @ self.seeds).T)
        if self.partition == "bidirectional":
            return np.asarray(J @ self.column_seeds), np.asarray((J.T @ self.row_seeds).T)
        return np.asarray(J @ self.seeds)

    def decompress(self, B, Br=None, out=None):
        """The sparse matrix recovered from its compressed products.

        Parameters
        ----------
        B : numpy.ndarray or tuple
            Output of :meth:`compress` (a tuple ``(Bc, Br)`` for bidirectional; the reverse
            products may also be passed as ``Br``).
        out : scipy.sparse.csr_array or csc_array, optional
            A matrix with exactly this pattern; its ``data`` is overwritten in place.

        Returns
        -------
        scipy.sparse.csr_array (or ``out``)
            See :func:`anydiff.sparse.decompression.decompress`.
        """
        from ..decompression import decompress

        return decompress(self, B, Br, out=out)

    def gather_index(self) -> np.ndarray:
        """Flat indices into the stacked products giving the nonzeros (direct decompression).

        The products are stacked one per color (``B.T`` for column/symmetric, ``B`` for row,
        ``[Bc.T, Br]`` for bidirectional) and raveled; ``stacked[gather_index()]`` is the
        CSR ``data`` of the recovered matrix.
        """
        if self._gather is None:
            raise ColoringError(
                "Substitution (acyclic) decompression is a sequential sweep, not one gather.\n"
                "Hint: use result.decompress, or GreedyColoring(decompression='direct')."
            )
        return self._gather


def _groups(colors, k=None) -> list:
    colors = np.asarray(colors)
    k = int(colors.max(initial=-1)) + 1 if k is None else k
    seeded = np.flatnonzero(colors >= 0)
    order = seeded[np.argsort(colors[seeded], kind="stable")]
    bounds = np.searchsorted(colors[order], np.arange(k + 1))
    return [order[bounds[c] : bounds[c + 1]] for c in range(k)]


def seed_matrix(colors, k=None) -> np.ndarray:
    """Compression matrix of a coloring: ``S[v, c] = 1`` if vertex ``v`` has color ``c``.

    ``-1`` marks a vertex that is not seeded. Shape ``(len(colors), k)``; ``k`` defaults to the
    number of colors.

    Examples
    --------
    >>> import numpy as np
    >>> from anydiff.sparse.coloring import seed_matrix
    >>> seed_matrix(np.array([0, 1, 0, -1]))
    array([[1., 0.],
           [0., 1.],
           [1., 0.],
           [0., 0.]])
    """
    colors = np.asarray(colors)
    k = int(colors.max(initial=-1)) + 1 if k is None else k
    S = np.zeros((colors.size, k))
    seeded = np.flatnonzero(colors >= 0)
    S[seeded, colors[seeded]] = 1.0
    return S
