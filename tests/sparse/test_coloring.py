"""Colorings are valid for their problem and decompression is exact (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import anydiff as ad
from anydiff.sparse import coloring
from anydiff.sparse.coloring.check import is_star_coloring, is_structurally_orthogonal, recovers_exactly

ORDERS = ["natural", "largest_first", "smallest_last", "incidence_degree", "dynamic_largest_first", "random"]


@st.composite
def patterns(draw, symmetric=False):
    m = draw(st.integers(1, 25))
    n = m if symmetric else draw(st.integers(1, 25))
    density = draw(st.floats(0.0, 0.5))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    A = rng.random((m, n)) < density
    if symmetric:
        A = A | A.T | np.eye(n, dtype=bool)
    return sp.csr_array(A)


def random_values(S, seed=0, symmetric=False):
    J = sp.csr_array(S, dtype=float)
    J.data = np.random.default_rng(seed).standard_normal(J.nnz)
    return sp.csr_array((J + J.T) / 2) if symmetric else J


@settings(max_examples=60, deadline=None)
@given(S=patterns(), order=st.sampled_from(ORDERS), partition=st.sampled_from(["column", "row"]))
def test_partial_colorings_valid_and_exact(S, order, partition):
    res = coloring.color(S, partition=partition, algorithm=ad.GreedyColoring(order=order, seed=3))
    assert is_structurally_orthogonal(S, res.colors, partition)
    assert recovers_exactly(res, random_values(S))
    degree = np.diff(sp.csr_array(S).indptr) if partition == "column" else np.diff(sp.csc_array(S).indptr)
    assert res.ncolors >= degree.max(initial=0)  # a row's columns need distinct colors


@settings(max_examples=60, deadline=None)
@given(S=patterns(symmetric=True), order=st.sampled_from(ORDERS), post=st.booleans())
def test_star_colorings_valid_and_exact(S, order, post):
    res = coloring.color(S, structure="symmetric", algorithm=ad.GreedyColoring(order=order, postprocessing=post))
    if not post:
        assert is_star_coloring(S, res.colors)
    assert recovers_exactly(res, random_values(S, symmetric=True))


@settings(max_examples=40, deadline=None)
@given(S=patterns())
def test_bidirectional_exact(S):
    res = coloring.color(S, partition="bidirectional")
    Bc, Br = res.compress(random_values(S))
    assert recovers_exactly(res, random_values(S))
    assert Bc.shape[1] + Br.shape[0] == res.ncolors


def test_same_seed_same_coloring():
    S = sp.random_array((40, 40), density=0.1, rng=np.random.default_rng(0)) != 0
    a = coloring.color(S, algorithm=ad.GreedyColoring(order="random", seed=7))
    b = coloring.color(S, algorithm=ad.GreedyColoring(order="random", seed=7))
    assert np.array_equal(a.colors, b.colors)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_banded_optimal(k):
    n = 200
    S = sp.diags_array([np.ones(n - abs(d)) for d in range(-k, k + 1)], offsets=list(range(-k, k + 1)))
    assert coloring.color(S).ncolors == 2 * k + 1


def test_arrowhead_star_two_colors():
    n = 300
    A = np.eye(n, dtype=bool)
    A[0, :] = A[:, 0] = True
    res = coloring.color(A, structure="symmetric", algorithm=ad.GreedyColoring(order="largest_first"))
    assert res.ncolors == 2
    assert recovers_exactly(res, random_values(sp.csr_array(A), symmetric=True))


def test_dense_rows_and_columns_bidirectional():
    n = 2000
    A = sp.lil_array(sp.diags_array([np.ones(n - abs(d)) for d in range(-2, 3)], offsets=list(range(-2, 3))))
    A[[3, 700], :] = True
    A[:, [10, 1500]] = True
    res = coloring.color(sp.csr_array(A), partition="bidirectional", algorithm=ad.GreedyColoring(order="best"))
    assert res.ncolors <= 5 + 2 + 2 + 2  # band + dense columns (forward) + dense rows (reverse) + slack
    assert recovers_exactly(res, random_values(sp.csr_array(A)))


@pytest.mark.parametrize("strategy", ["largest_first", "smallest_last"])
def test_no_more_colors_than_networkx(strategy):
    nx = pytest.importorskip("networkx")
    rng = np.random.default_rng(1)
    for _ in range(5):
        S = sp.csr_array(rng.random((80, 80)) < 0.05)
        G = sp.csr_array(S.astype(int).T @ S.astype(int))
        G.setdiag(0)
        G.eliminate_zeros()
        ours = coloring.color(S, algorithm=ad.GreedyColoring(order="best")).ncolors
        theirs = max(nx.greedy_color(nx.from_scipy_sparse_array(G), strategy=strategy).values(), default=-1) + 1
        assert ours <= theirs


def test_decompress_into_existing_array_and_errors():
    S = sp.csr_array(np.eye(4, dtype=bool) | np.eye(4, k=1, dtype=bool))
    res = coloring.color(S)
    J = random_values(S)
    B = res.compress(J)
    out = res.decompress(B)
    data_id = id(out.data)
    res.decompress(2 * B, out=out)
    assert id(out.data) == data_id and np.allclose(out.toarray(), 2 * J.toarray())
    with pytest.raises(ad.InputError, match="expected"):
        res.decompress(np.zeros((4, 7)))


@pytest.mark.parametrize("bad,kwargs", [
    (np.ones((2, 3)), dict(structure="symmetric")),
    (np.triu(np.ones((3, 3))), dict(structure="symmetric")),
    (np.ones(3), {}),
    (np.ones((3, 3)), dict(algorithm=None, partition="diagonal")),
    (np.ones((3, 3)), dict(structure="hermitian")),
])
def test_bad_input(bad, kwargs):
    with pytest.raises(ad.ColoringError, match="Hint"):
        coloring.color(bad, **kwargs)


def test_unknown_order_and_substitution():
    with pytest.raises(ad.ColoringError, match="Hint"):
        ad.GreedyColoring(order="alphabetical")
    with pytest.raises(ad.ColoringError, match="not implemented"):
        coloring.color(np.eye(3), structure="symmetric", algorithm=ad.GreedyColoring(decompression="substitution"))


def test_show_colors_png(tmp_path):
    S = sp.diags_array([np.ones(20), np.ones(19), np.ones(19)], offsets=[0, 1, -1])
    for res in (coloring.color(S), coloring.color(S, structure="symmetric"), coloring.color(S, partition="bidirectional")):
        path = ad.show_colors(res, tmp_path / f"{res.partition}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
