"""Exact (minimum) colorings of small patterns with the OR-Tools CP-SAT solver.

Greedy colorings are fast but not optimal. For small patterns, a constraint solver finds the
minimum number of colors (or proves how far the greedy result is from it), which is how
``benchmarks/coloring.py`` measures the quality of the greedy orders. Needs the optional
dependency ``ortools`` (``pip install "anydiff[exact]"``).

* column (row) coloring: columns sharing a row get different colors (``AllDifferent`` per row);
* star coloring of a symmetric pattern: a distance-1 coloring in which no path on four
  vertices ``a-b-c-d`` has ``color(a) == color(c)`` and ``color(b) == color(d)``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

from ..._errors import BackendNotInstalledError, ColoringError
from .problem import adjacency, rows_cols, transpose
from .result import ColoringResult

__all__ = ["ExactColoring", "exact_coloring"]


@dataclass(frozen=True)
class ExactColoring:
    """Minimum coloring by the CP-SAT solver (small patterns only).

    Parameters
    ----------
    time_limit : float
        Seconds given to the solver. When it stops before proving optimality, the best coloring
        found is returned with ``result.order == "exact (not proven optimal)"``.
    max_vertices : int
        Larger patterns raise :class:`ColoringError` (use :class:`GreedyColoring`).
    workers : int
        Solver threads.

    Examples
    --------
    >>> import numpy as np
    >>> from anydiff.sparse import coloring
    >>> S = np.eye(6, dtype=bool) | np.eye(6, k=1, dtype=bool) | np.eye(6, k=-1, dtype=bool)
    >>> res = coloring.color(S, "symmetric", algorithm=coloring.ExactColoring())
    >>> res.ncolors, res.order
    (3, 'exact')
    """

    time_limit: float = 10.0
    max_vertices: int = 500
    workers: int = 1

    decompression = "direct"


def exact_coloring(P, problem, algorithm: ExactColoring, upper_bound: int) -> ColoringResult:
    """Minimum coloring of the canonical pattern ``P`` for ``problem`` (column, row or star)."""
    if importlib.util.find_spec("ortools") is None:
        raise BackendNotInstalledError("ExactColoring", "ortools", "exact")
    from ortools.sat.python import cp_model

    symmetric = problem.structure == "symmetric"
    Q = P if symmetric or problem.partition == "column" else transpose(P)
    n = Q.shape[1]
    if n > algorithm.max_vertices:
        raise ColoringError(
            f"ExactColoring is for small patterns: {n} vertices > max_vertices={algorithm.max_vertices}.\n"
            "Hint: use GreedyColoring(order=...) for large patterns, or raise max_vertices."
        )
    model = cp_model.CpModel()
    k = max(1, upper_bound)
    c = [model.NewIntVar(0, k - 1, f"c{j}") for j in range(n)]
    bound = model.NewIntVar(0, k - 1, "max_color")
    for v in c:
        model.Add(v <= bound)
    if symmetric:
        _star_constraints(model, adjacency(Q), c)
    else:
        for i in range(Q.shape[0]):
            cols = Q.indices[Q.indptr[i]: Q.indptr[i + 1]]
            if cols.size > 1:
                model.AddAllDifferent([c[j] for j in cols])
    model.Minimize(bound)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(algorithm.time_limit)
    solver.parameters.num_workers = int(algorithm.workers)
    status = solver.Solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise ColoringError(
            f"CP-SAT found no coloring within {algorithm.time_limit} s.\nHint: raise time_limit or use GreedyColoring."
        )
    colors = _compact(np.array([solver.Value(v) for v in c], dtype=np.int64))
    label = "exact" if status == cp_model.OPTIMAL else "exact (not proven optimal)"
    return _result(P, problem, colors, label)


def _star_constraints(model, G, c):
    """Distance-1 plus: no two-colored path on four vertices."""
    nbrs = [G.indices[G.indptr[v]: G.indptr[v + 1]] for v in range(G.shape[0])]
    rows, cols = rows_cols(G)
    for a, b in zip(rows, cols):
        if a < b:
            model.Add(c[a] != c[b])
    same = {}

    def eq(u, v):
        key = (min(u, v), max(u, v))
        if key not in same:
            flag = model.NewBoolVar(f"eq{key}")
            model.Add(c[u] == c[v]).OnlyEnforceIf(flag)
            model.Add(c[u] != c[v]).OnlyEnforceIf(flag.Not())
            same[key] = flag
        return same[key]

    for b in range(len(nbrs)):  # paths a-b-c-d: middle edge b-cc, a in N(b), d in N(cc)
        for cc in nbrs[b]:
            if cc <= b:
                continue
            for a in nbrs[b]:
                for d in nbrs[cc]:
                    if len({a, b, cc, d}) == 4:
                        model.AddBoolOr([eq(a, cc).Not(), eq(b, d).Not()])


def _compact(colors):
    """Renumber the colors used as 0..k-1."""
    _, inverse = np.unique(colors, return_inverse=True)
    return inverse.astype(np.int64)


def _result(P, problem, colors, label):
    from .greedy import _direct_gather
    from .star import direct_symmetric_gather

    k = int(colors.max(initial=-1)) + 1
    if problem.structure == "symmetric":
        gather = direct_symmetric_gather(P, colors)
        if np.any(gather < 0):  # pragma: no cover - the model enforces the star property
            raise ColoringError("Internal error: the exact star coloring does not allow direct recovery.")
        return ColoringResult(P, "symmetric", "column", colors, k, decompression="direct", order=label,
                              _gather=gather)
    gather = _direct_gather(P.indptr, P.indices, colors, problem.partition == "column", P.shape[0], P.shape[1])
    return ColoringResult(P, "nonsymmetric", problem.partition, colors, k, decompression="direct", order=label,
                          _gather=gather)
