"""ExactColoring (CP-SAT): minimum colorings of small patterns, never more colors than greedy."""

import numpy as np
import pytest
from _coloring_strategies import arrowhead, banded, laplacian_2d, random_pattern, random_values

from anydiff import BackendNotInstalledError, ColoringError
from anydiff.sparse import coloring
from anydiff.sparse.coloring.check import is_star_coloring, is_structurally_orthogonal, recovers_exactly

pytest.importorskip("ortools")


def test_column_coloring_is_minimum_on_known_patterns():
    # a row with k nonzeros forces k colors; tridiagonal needs exactly 3
    res = coloring.color(banded(30, 1), algorithm=coloring.ExactColoring())
    assert res.ncolors == 3 and res.order == "exact"
    assert is_structurally_orthogonal(banded(30, 1), res.colors)


def test_star_coloring_minimum_and_valid():
    lap = laplacian_2d(6)
    greedy = coloring.color(lap, "symmetric", algorithm=coloring.GreedyColoring(order="largest_first"))
    exact = coloring.color(lap, "symmetric", algorithm=coloring.ExactColoring(time_limit=20))
    assert is_star_coloring(lap, exact.colors)
    assert exact.ncolors <= greedy.ncolors
    assert recovers_exactly(exact, random_values(lap, symmetric=True))
    assert coloring.color(arrowhead(12), "symmetric", algorithm=coloring.ExactColoring()).ncolors == 2


@pytest.mark.parametrize("seed", range(4))
def test_never_more_colors_than_greedy(seed):
    rng = np.random.default_rng(seed)
    S = random_pattern((15, 12), 0.25, rng, format="csr")
    exact = coloring.color(S, partition="row", algorithm=coloring.ExactColoring())
    greedy = coloring.color(S, partition="row", algorithm=coloring.GreedyColoring(order="best"))
    assert exact.ncolors <= greedy.ncolors
    assert is_structurally_orthogonal(S, exact.colors, partition="row")
    assert recovers_exactly(exact, random_values(S))


def test_bad_use():
    with pytest.raises(ColoringError, match="Hint"):
        coloring.color(banded(50, 1), algorithm=coloring.ExactColoring(max_vertices=10))
    with pytest.raises(ColoringError, match="Hint"):
        coloring.color(banded(10, 1), partition="bidirectional", algorithm=coloring.ExactColoring())


def test_missing_ortools_is_a_clear_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ortools" else real(name, *a))
    with pytest.raises(BackendNotInstalledError, match=r"anydiff\[exact\]"):
        coloring.color(banded(10, 1), algorithm=coloring.ExactColoring())
