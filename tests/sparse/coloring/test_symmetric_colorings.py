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
