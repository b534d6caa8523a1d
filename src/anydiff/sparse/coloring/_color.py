"""``color``: validate the problem, run the coloring, return a ColoringResult."""

from __future__ import annotations

from ..._errors import ColoringError
from .acyclic import acyclic_coloring
from .bicoloring import bidirectional_coloring
from .exact import ExactColoring, exact_coloring
from .greedy import GreedyColoring, best_of, partial_coloring
from .problem import ColoringProblem, as_pattern
from .result import ColoringResult
from .star import star_coloring

__all__ = ["color"]


def color(S, structure="nonsymmetric", partition="column", algorithm=None) -> ColoringResult:
    """Color a sparsity pattern for compressed differentiation.

    Parameters
    ----------
    S : scipy.sparse array or array_like
        ``m × n`` pattern (nonzero = structurally nonzero).
    structure : {"nonsymmetric", "symmetric"} or ColoringProblem
        ``"symmetric"``: a Hessian pattern (square, symmetric), colored by star coloring
        (``decompression="direct"``) or acyclic coloring (``"substitution"``).
    partition : {"column", "row", "bidirectional"}
        Column coloring (forward mode, ``J @ seeds``), row coloring (reverse mode,
        ``seeds.T @ J``) or bidirectional (forward colors on columns and reverse colors on
        rows, for Jacobians with dense rows and dense columns).
    algorithm : GreedyColoring or ExactColoring, optional
        Defaults to ``GreedyColoring()`` (natural order, direct decompression).

    Returns
    -------
    ColoringResult

    Raises
    ------
    ColoringError
        Pattern not 2-D; symmetric problem with a non-square or asymmetric pattern; unknown
        structure, partition or order; a symmetric problem with a row/bidirectional partition.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from anydiff.sparse import coloring
    >>> S = sp.diags_array([np.ones(5), np.ones(4)], offsets=[0, 1])
    >>> res = coloring.color(S)
    >>> res.ncolors, res.colors
    (2, array([0, 1, 0, 1, 0]))
    >>> J = S.toarray() * np.arange(1.0, 6.0)[:, None]
    >>> np.array_equal(res.decompress(res.compress(J)).toarray(), J)
    True
    >>> H = sp.diags_array([np.ones(6), np.ones(5), np.ones(5)], offsets=[0, 1, -1])
    >>> coloring.color(H, "symmetric", algorithm=coloring.GreedyColoring(decompression="substitution")).ncolors
    2
    """
    algorithm = GreedyColoring() if algorithm is None else algorithm
    if not isinstance(algorithm, (GreedyColoring, ExactColoring)):
        raise ColoringError(
            f"algorithm must be a GreedyColoring or ExactColoring, got {type(algorithm).__name__}.\n"
            "Hint: pass coloring.GreedyColoring(order=...)."
        )
    problem = (
        structure
        if isinstance(structure, ColoringProblem)
        else ColoringProblem(structure, partition)
    )
    P = as_pattern(S)
    problem.validate(P)
    if isinstance(algorithm, ExactColoring):
        if problem.partition == "bidirectional":
            raise ColoringError("ExactColoring supports column, row and star colorings.\n"
                                "Hint: use GreedyColoring for bidirectional colorings.")
        greedy = color(P, problem, algorithm=GreedyColoring(order="largest_first"))
        return exact_coloring(P, problem, algorithm, upper_bound=greedy.ncolors)
    names = algorithm.orders
    if problem.structure == "symmetric":
        make = acyclic_coloring if algorithm.decompression == "substitution" else star_coloring
        return best_of(lambda name: make(P, name, algorithm), names)
    if problem.partition == "bidirectional":
        return bidirectional_coloring(P, names, algorithm)
    return best_of(lambda name: partial_coloring(P, problem.partition, name, algorithm), names)
