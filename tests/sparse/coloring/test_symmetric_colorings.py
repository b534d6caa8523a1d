"""Star (direct) and acyclic (substitution) colorings of symmetric patterns."""

from __future__ import annotations

import numpy as np
import pytest
from _coloring_strategies import (
    FIXED,
    ORDERS,
    arrowhead,
    banded,
    laplacian_2d,
    patterns,
    random_values,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import anydiff as ad
from anydiff.sparse import coloring
from anydiff.sparse.coloring.check import is_acyclic_coloring, is_star_coloring, recovers_exactly


def _colored(S, decompression, order="natural", post=False, seed=0):
    algo = coloring.GreedyColoring(
        order=order, decompression=decompression, postprocessing=post, seed=seed
    )
    return coloring.color(S, structure="symmetric", algorithm=algo)


@settings(max_examples=60, deadline=None)
@given(S=patterns(symmetric=True, max_size=16), order=st.sampled_from(ORDERS), post=st.booleans())
def test_star_valid_and_exact(S, order, post):
    res = _colored(S, "direct", order, post)
    if post:  # neutralizing classes keeps validity of what is still colored
        plain = _colored(S, "direct", order, False)
        assert is_star_coloring(S, plain.colors)
        assert res.ncolors <= plain.ncolors
    else:
        assert is_star_coloring(S, res.colors)
    assert recovers_exactly(res, random_values(S, symmetric=True))


@settings(max_examples=60, deadline=None)
@given(S=patterns(symmetric=True, max_size=16), order=st.sampled_from(ORDERS), post=st.booleans())
def test_acyclic_valid_and_exact(S, order, post):
    res = _colored(S, "substitution", order, post)
    plain = res if not post else _colored(S, "substitution", order, False)
    assert is_acyclic_coloring(S, plain.colors)
    assert res.ncolors <= plain.ncolors
    assert res.decompression == "substitution"
    assert recovers_exactly(res, random_values(S, symmetric=True), rtol=1e-10)


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_patterns_all_orders(name):
    S = FIXED[name]
    S = ((S + S.T) != 0).tocsr()
    H = random_values(S, symmetric=True)
    for order in ORDERS:
        star, acyc = _colored(S, "direct", order), _colored(S, "substitution", order)
        assert is_star_coloring(S, star.colors) and is_acyclic_coloring(S, acyc.colors)
        assert recovers_exactly(star, H) and recovers_exactly(acyc, H, rtol=1e-10)


def test_known_counts():
    assert _colored(arrowhead(200), "direct", "largest_first").ncolors == 2
    assert _colored(arrowhead(200), "substitution", "largest_first").ncolors == 2
    assert _colored(banded(100, 1), "substitution").ncolors == 2  # a path: acyclic with 2 colors
    assert _colored(banded(100, 1), "direct").ncolors == 3  # a star coloring of a long path needs 3
    lap = laplacian_2d(20)
    assert _colored(lap, "direct", "best").ncolors <= 6
    assert _colored(lap, "substitution", "best").ncolors <= _colored(lap, "direct", "best").ncolors


def test_postprocessing_drops_unread_colors():
    # arrowhead with natural order: the hub gets color 0, the spokes color 1; all entries can be
    # read from the spokes' column (color 1) except the diagonal of the hub
    S = arrowhead(30)
    S.setdiag(False)
    S.eliminate_zeros()
    plain = _colored(S, "direct", "natural", False)
    post = _colored(S, "direct", "natural", True)
    assert plain.ncolors == 2 and post.ncolors == 1
    assert np.sum(post.colors < 0) >= 1
    assert recovers_exactly(post, random_values(S, symmetric=True))


@settings(max_examples=40, deadline=None)
@given(S=patterns(symmetric=True, max_size=20), order=st.sampled_from(ORDERS))
def test_star_kernels_each_valid_and_portfolio_keeps_fewest(S, order):
    from anydiff.sparse.coloring.orders import vertex_order
    from anydiff.sparse.coloring.problem import adjacency, as_pattern, edge_ids
    from anydiff.sparse.coloring.star import greedy_star_hubs, greedy_star_paths

    G = adjacency(as_pattern(S))
    n = G.shape[0]
    ordering = vertex_order(order, G, 0)
    paths = greedy_star_paths(ordering, G.indptr, G.indices, n)
    eid, ne, _ = edge_ids(G)
    hubs = greedy_star_hubs(ordering, G.indptr, G.indices, eid, ne, n)
    assert is_star_coloring(S, paths) and is_star_coloring(S, hubs)
    both = _colored(S, "direct", order)
    assert both.ncolors == min(paths.max(initial=-1), hubs.max(initial=-1)) + 1


@settings(max_examples=30, deadline=None)
@given(S=patterns(symmetric=True, max_size=25), order=st.sampled_from(ORDERS))
def test_paths_kernel_color_counts_match_the_neighbor_scan(S, order):
    """The per-vertex bits of colors seen twice (colors below ``width``) decide exactly as the scan of
    neighbors (``width=0``: every color scanned)."""
    from anydiff.sparse.coloring.orders import vertex_order
    from anydiff.sparse.coloring.problem import adjacency, as_pattern
    from anydiff.sparse.coloring.star import greedy_star_paths

    G = adjacency(as_pattern(S))
    n = G.shape[0]
    ordering = vertex_order(order, G, 0)
    scanned = greedy_star_paths(ordering, G.indptr, G.indices, n, 0)
    assert is_star_coloring(S, scanned)
    for width in (1, 2, 64):  # 64: the default
        assert np.array_equal(greedy_star_paths(ordering, G.indptr, G.indices, n, width), scanned)


@settings(max_examples=40, deadline=None)
@given(S=patterns(max_size=12), flips=st.integers(0, 2))
def test_symmetric_problem_refuses_exactly_the_asymmetric_patterns(S, flips):
    """The one-pass symmetry check agrees with scipy's ``S != S.T`` (square patterns, some made
    symmetric, some with a few entries flipped)."""
    import scipy.sparse as sp

    n = min(S.shape)
    A = S.toarray()[:n, :n]
    A = A | A.T
    rng = np.random.default_rng(flips)
    for _ in range(flips):
        i, j = rng.integers(0, n, 2)
        A[i, j] = not A[i, j]
    P = sp.csr_array(A)
    if (P != P.T).nnz:
        with pytest.raises(ad.ColoringError, match="(?s)not symmetric.*Hint"):
            coloring.color(P, structure="symmetric")
    else:
        assert is_star_coloring(P, coloring.color(P, structure="symmetric").colors)


def test_paths_kernel_fewer_colors_on_a_random_graph():
    # the two-colored-path kernel (GMP 2005) beats the star-and-hub kernel on random graphs
    # (9 vs 13 colors at n = 1e5 in benchmarks/coloring.py); a smaller instance of the same kind
    import scipy.sparse as sp

    from anydiff.sparse.coloring.orders import vertex_order
    from anydiff.sparse.coloring.problem import adjacency, edge_ids
    from anydiff.sparse.coloring.star import greedy_star_hubs

    n = 3000
    rng = np.random.default_rng(0)
    r, c = rng.integers(0, n, 2 * n), rng.integers(0, n, 2 * n)
    R = sp.coo_array((np.ones(2 * n, bool), (r, c)), shape=(n, n))
    S = sp.csr_array(((R + R.T) + sp.eye_array(n, dtype=bool)) > 0)
    G = adjacency(S)
    eid, ne, _ = edge_ids(G)
    hubs = greedy_star_hubs(vertex_order("largest_first", G), G.indptr, G.indices, eid, ne, n).max() + 1
    portfolio = coloring.color(S, structure="symmetric", algorithm=coloring.GreedyColoring(order="largest_first"))
    paths = coloring.color(S, structure="symmetric",
                           algorithm=coloring.GreedyColoring(order="largest_first", portfolio=False))
    assert paths.ncolors < hubs and portfolio.ncolors == min(paths.ncolors, hubs)
