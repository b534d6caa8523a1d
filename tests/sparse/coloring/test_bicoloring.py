"""Bidirectional colorings: direct recoverability, exact recovery, dense rows and columns."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _coloring_strategies import ORDERS, banded, patterns, random_values
from hypothesis import given, settings
from hypothesis import strategies as st

from anydiff.sparse import coloring
from anydiff.sparse.coloring.bicoloring import star_bicoloring
from anydiff.sparse.coloring.check import is_directly_recoverable, recovers_exactly


@settings(max_examples=60, deadline=None)
@given(S=patterns(), order=st.sampled_from(ORDERS + ["best"]))
def test_bidirectional_valid_and_exact(S, order):
    res = coloring.color(
        S, partition="bidirectional", algorithm=coloring.GreedyColoring(order=order, seed=1)
    )
    assert is_directly_recoverable(S, res.column_colors, res.row_colors)
    assert recovers_exactly(res, random_values(S))
    Bc, Br = res.compress(random_values(S))
    assert Bc.shape[1] + Br.shape[0] == res.ncolors
    assert res.ncolors <= min(
        coloring.color(
            S, partition=p, algorithm=coloring.GreedyColoring(order=order, seed=1)
        ).ncolors
        for p in ("column", "row")
    )


@settings(max_examples=40, deadline=None)
@given(S=patterns(), order=st.sampled_from(ORDERS))
def test_star_bicoloring_alone(S, order):
    res = star_bicoloring(
        coloring.problem.as_pattern(S), order, coloring.GreedyColoring(order=order, seed=2)
    )
    assert is_directly_recoverable(S, res.column_colors, res.row_colors)
    assert recovers_exactly(res, random_values(S, 3))


def _band_dense(n, k, d):
    A = sp.lil_array(banded(n, k))
    rows = np.linspace(0, n - 1, d).astype(int)
    cols = np.linspace(3, n - 4, d).astype(int)
    A[rows, :] = True
    A[:, cols] = True
    return sp.csr_array(A)


@pytest.mark.parametrize("order", ["natural", "largest_first", "best"])
def test_dense_rows_and_columns(order):
    S = _band_dense(2000, 2, 2)
    res = coloring.color(
        S, partition="bidirectional", algorithm=coloring.GreedyColoring(order=order)
    )
    # band (5) + dense columns (2) forward, dense rows (2) reverse
    assert res.ncolors <= 9
    assert coloring.color(S).ncolors == 2000  # column coloring alone needs every column
    assert recovers_exactly(res, random_values(S))


def test_small_star_bicoloring_beats_unidirectional():
    S = _band_dense(60, 1, 1)
    res = coloring.color(
        S, partition="bidirectional", algorithm=coloring.GreedyColoring(order="best")
    )
    assert is_directly_recoverable(S, res.column_colors, res.row_colors)
    assert res.ncolors <= 3 + 1 + 1
