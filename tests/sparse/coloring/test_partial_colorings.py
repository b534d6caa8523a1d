"""Column and row colorings (partial distance-2): validity, exact recovery, counts, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _coloring_strategies import FIXED, ORDERS, banded, patterns, random_values
from hypothesis import given, settings
from hypothesis import strategies as st

from anydiff._errors import ColoringError
from anydiff.sparse import coloring
from anydiff.sparse.coloring.check import is_structurally_orthogonal, recovers_exactly


@settings(max_examples=80, deadline=None)
@given(
    S=patterns(),
    order=st.sampled_from(ORDERS + ["best"]),
    partition=st.sampled_from(["column", "row"]),
    seed=st.integers(0, 100),
)
def test_valid_exact_and_lower_bound(S, order, partition, seed):
    res = coloring.color(
        S, partition=partition, algorithm=coloring.GreedyColoring(order=order, seed=seed)
    )
    assert is_structurally_orthogonal(S, res.colors, partition)
    assert recovers_exactly(res, random_values(S, seed))
    # the nonzeros of one row (column) need distinct column (row) colors
    degree = np.diff(S.indptr) if partition == "column" else np.diff(sp.csc_array(S).indptr)
    assert res.ncolors >= degree.max(initial=0)
    expected_len = S.shape[1] if partition == "column" else S.shape[0]
    assert res.colors.shape == (expected_len,)
    assert res.seeds.shape == (expected_len, res.ncolors)
    assert sorted(np.concatenate(res.groups).tolist()) == list(range(expected_len))


@pytest.mark.parametrize("k", [0, 1, 2, 5, 9])
def test_banded_natural_is_optimal(k):
    res = coloring.color(banded(300, k))
    assert res.ncolors == 2 * k + 1
    assert np.array_equal(res.colors, np.arange(300) % (2 * k + 1))


def test_same_seed_same_output_and_seed_matters():
    S = FIXED["random"]
    a, b = (
        coloring.color(S, algorithm=coloring.GreedyColoring(order="random", seed=7))
        for _ in range(2)
    )
    assert np.array_equal(a.colors, b.colors)
    others = [
        coloring.color(S, algorithm=coloring.GreedyColoring(order="random", seed=s)).colors
        for s in range(5)
    ]
    assert any(not np.array_equal(a.colors, c) for c in others)


def test_best_is_min_over_orders():
    S = FIXED["random"]
    each = {
        o: coloring.color(S, algorithm=coloring.GreedyColoring(order=o)).ncolors for o in ORDERS[:5]
    }
    best = coloring.color(S, algorithm=coloring.GreedyColoring(order="best"))
    assert best.ncolors == min(each.values()) and each[best.order] == best.ncolors
    pair = coloring.color(
        S, algorithm=coloring.GreedyColoring(order=("largest_first", "smallest_last"))
    )
    assert pair.ncolors == min(each["largest_first"], each["smallest_last"])


NX_STRATEGIES = {"largest_first": "largest_first", "smallest_last": "smallest_last"}


@pytest.mark.parametrize("name", sorted(FIXED))
@pytest.mark.parametrize("order", sorted(NX_STRATEGIES))
def test_no_more_colors_than_networkx(name, order):
    nx = pytest.importorskip("networkx")
    S = FIXED[name]
    G = sp.csr_array(sp.csr_array(S, dtype=np.int32).T @ sp.csr_array(S, dtype=np.int32))
    G.setdiag(0)
    G.eliminate_zeros()
    theirs = (
        max(nx.greedy_color(nx.from_scipy_sparse_array(G), strategy=NX_STRATEGIES[order]).values())
        + 1
    )
    ours = coloring.color(S, algorithm=coloring.GreedyColoring(order=order))
    assert is_structurally_orthogonal(S, ours.colors)
    assert ours.ncolors <= theirs


def test_dense_input_and_matrix_types():
    A = np.array([[1, 0, 1], [0, 1, 1]])
    for S in (A, A.astype(bool), sp.coo_matrix(A), sp.csc_array(A), sp.lil_matrix(A)):
        res = coloring.color(S)
        assert res.ncolors == 2 and res.pattern.format == "csr" and res.pattern.dtype == bool


def test_explicit_zeros_are_not_nonzeros():
    S = sp.csr_array((np.array([1.0, 0.0]), np.array([0, 1]), np.array([0, 2])), shape=(1, 2))
    assert coloring.color(S).ncolors == 1


def test_empty_patterns():
    for shape in [(0, 3), (3, 0), (4, 4)]:
        res = coloring.color(sp.csr_array(shape, dtype=bool))
        assert res.ncolors <= 1 and res.decompress(res.compress(np.zeros(shape))).nnz == 0


@pytest.mark.parametrize(
    "bad,kwargs",
    [
        (np.ones(3), {}),
        (np.ones((2, 2, 2)), {}),
        (np.ones((2, 3)), {"structure": "symmetric"}),
        (np.triu(np.ones((3, 3))), {"structure": "symmetric"}),
        (np.ones((3, 3)), {"partition": "diagonal"}),
        (np.ones((3, 3)), {"structure": "hermitian"}),
        (np.ones((3, 3)), {"structure": "symmetric", "partition": "row"}),
        (np.ones((3, 3)), {"structure": "symmetric", "partition": "bidirectional"}),
        (np.ones((3, 3)), {"algorithm": "greedy"}),
    ],
)
def test_bad_input_raises_with_hint(bad, kwargs):
    with pytest.raises(ColoringError, match="Hint"):
        coloring.color(bad, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"order": "alphabetical"},
        {"order": ()},
        {"order": ("natural", "x")},
        {"decompression": "magic"},
    ],
)
def test_bad_algorithm_raises_with_hint(kwargs):
    with pytest.raises(ColoringError, match="Hint"):
        coloring.GreedyColoring(**kwargs)


def test_coloring_error_is_value_error():
    with pytest.raises(ValueError):
        coloring.color(np.ones(3))


@settings(max_examples=40, deadline=None)
@given(
    S=patterns(max_size=30),
    order=st.sampled_from(["natural", "largest_first", "random"]),
    partition=st.sampled_from(["column", "row"]),
)
def test_dense_row_bitsets_give_the_same_coloring(S, order, partition):
    from anydiff.sparse.coloring import greedy

    algo = coloring.GreedyColoring(order=order, seed=4)
    plain = coloring.color(S, partition=partition, algorithm=algo)
    saved = greedy.DENSE_ROW
    greedy.DENSE_ROW = 2  # almost every row takes the bitset path
    try:
        bitsets = coloring.color(S, partition=partition, algorithm=algo)
    finally:
        greedy.DENSE_ROW = saved
    assert np.array_equal(plain.colors, bitsets.colors)


def test_dense_rows_are_not_quadratic():
    n = 3000
    S = sp.lil_array(banded(n, 2))
    S[[5, 2000], :] = True
    S = sp.csr_array(S)
    res = coloring.color(S, algorithm=coloring.GreedyColoring(order="largest_first"))
    assert res.ncolors == n and np.unique(res.colors).size == n  # the dense rows see every column
    J = random_values(S)
    B = np.zeros((n, n))[:0]  # (the dense seed matrix would be n x n: check the gather instead)
    rows = np.repeat(np.arange(n), np.diff(res.pattern.indptr))
    flat = np.zeros(n * n)
    flat[res.colors[res.pattern.indices] * n + rows] = J.data
    assert B.size == 0 and np.array_equal(res.decompress(flat.reshape(n, n).T).data, J.data)


def test_best_skips_orders_that_cannot_run_but_one_order_raises():
    n = 9000
    S = sp.lil_array(banded(n, 1))
    S[0, :] = True  # the column intersection graph would have ~n^2 edges
    S = sp.csr_array(S)
    res = coloring.color(S, algorithm=coloring.GreedyColoring(order="best"))
    assert res.order in ("natural", "largest_first") and res.ncolors == n
    with pytest.raises(ColoringError, match="Hint"):
        coloring.color(S, algorithm=coloring.GreedyColoring(order="smallest_last"))
    bi = coloring.color(
        S, partition="bidirectional", algorithm=coloring.GreedyColoring(order="best")
    )
    assert bi.ncolors <= 3 + 1


def _reference_colors(S, order):
    """The plain greedy kernel (scan every column of each row) on the same pattern and order."""
    from anydiff.sparse.coloring import greedy, problem

    P = problem.as_pattern(S)
    C = problem.transpose(P)
    return greedy.greedy_distance2(
        np.asarray(order, dtype=np.int32), C.indptr, C.indices, P.indptr, P.indices, P.shape[1]
    )


@settings(max_examples=60, deadline=None)
@given(S=patterns(max_size=40), seed=st.integers(0, 1000))
def test_row_mask_kernel_matches_the_plain_greedy(S, seed):
    from anydiff.sparse.coloring import greedy, problem

    P = problem.as_pattern(S)
    n = P.shape[1]
    for order in (np.arange(n), np.random.default_rng(seed).permutation(n)):
        order = order.astype(np.int32)
        ptr, rows = greedy._ordered_csc(P.indptr, P.indices, order, n)
        got = greedy.greedy_distance2_masks(order, ptr, rows, P.indptr, P.indices, n, greedy._LOWBIT)
        assert np.array_equal(got, _reference_colors(S, order))


@pytest.mark.parametrize("k", [31, 40, 70])
def test_row_mask_kernel_beyond_64_colors(k):
    # 2k + 1 colors with rows of 2k + 1 < DENSE_ROW entries: the > 64 colors fallback
    n = 600
    S = sp.lil_array(banded(n, k))
    rng = np.random.default_rng(k)
    S[rng.integers(0, n, 300), rng.integers(0, n, 300)] = True
    S = sp.csr_array(S)
    for order in ("natural", "largest_first", "random"):
        res = coloring.color(S, algorithm=coloring.GreedyColoring(order=order, seed=1))
        assert is_structurally_orthogonal(S, res.colors, "column")
        assert res.ncolors >= 2 * k + 1
        if order != "random":
            from anydiff.sparse.coloring import greedy, problem

            P = problem.as_pattern(S)
            o = np.arange(n) if order == "natural" else greedy._largest_first_d2(P)
            assert np.array_equal(res.colors, _reference_colors(S, o))


def test_canonical_csr_fast_path_matches_the_general_path():
    from anydiff.sparse.coloring import problem

    rng = np.random.default_rng(3)
    for _ in range(300):
        m, n = rng.integers(0, 8, 2)
        A = (rng.random((m, n)) < 0.4) * rng.integers(-1, 3, (m, n))
        S = sp.csr_array(A.astype(rng.choice([float, bool, np.int8, complex])))
        if rng.random() < 0.3 and S.nnz:
            S.data[rng.integers(0, S.nnz)] = 0  # explicit zero
        if rng.random() < 0.3 and S.nnz > 1:  # unsorted / duplicated indices
            S = sp.csr_array((np.ones(S.nnz), S.indices[::-1].copy(), S.indptr), shape=S.shape)
        if rng.random() < 0.3:
            S = sp.csr_matrix(S)
        ref = sp.csr_array(S, copy=True)
        ref.sum_duplicates()
        ref.eliminate_zeros()
        ref.sort_indices()
        P = problem.as_pattern(S)
        assert P.shape == ref.shape and P.dtype == bool and P.has_sorted_indices
        assert np.array_equal(P.indptr, ref.indptr) and np.array_equal(P.indices, ref.indices)
        assert not np.shares_memory(P.indices, S.indices)
