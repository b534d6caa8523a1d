"""The local detector reads the table's local flags: sharp at the points where a partial
vanishes (``x * y`` at ``y == 0``, ``maximum``/``minimum``, ``abs``, ``where``, ``clip``), and
still a superset of the Jacobian and Hessian that AutoNumPy computes there."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad

L, G = ad.TracerLocalSparsityDetector(), ad.TracerSparsityDetector()
X = np.array([0.0, 2.0, -1.0, 0.5])

CASES = [  # f, expected local Jacobian pattern at X
    (lambda x: x[:2] * x[2:][::-1], [[1, 0, 0, 0], [0, 1, 1, 0]]),  # x0*x3, x1*x2 at x0 == 0
    (lambda x: np.maximum(x[:2], x[2:]), [[1, 0, 0, 0], [0, 1, 0, 0]]),
    (lambda x: np.minimum(x[:2], x[2:]), [[0, 0, 1, 0], [0, 0, 0, 1]]),
    (lambda x: np.abs(x), np.diag([0, 1, 1, 1])),
    (lambda x: np.where(x > 0.2, x, 2 * x[::-1]), [[0, 0, 0, 1], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]),
    (lambda x: np.clip(x, -0.5, 1.0), np.diag([1, 0, 0, 1])),
    (lambda x: x[0] / x[1:], [[1, 0, 0, 0]] * 3),  # numerator zero: no dependence on x[1:]
]


@pytest.mark.parametrize("k", range(len(CASES)))
def test_local_pattern_is_sharp_and_contains_the_jacobian(k):
    f, expected = CASES[k]
    P = L.jacobian_sparsity(f, X).toarray()
    J = ad.jacobian(f, ad.AutoNumPy(), X)
    assert np.array_equal(P, np.asarray(expected, dtype=bool))
    assert not np.any((J != 0) & ~P)
    assert np.all(G.jacobian_sparsity(f, X).toarray() >= P)  # global: a superset


def test_local_hessian_keeps_second_order_terms_of_masked_partials():
    # d(x0 * x1)/dx1 = x0 = 0 at X, but the mixed second derivative is 1
    H = L.hessian_sparsity(lambda x: x[0] * x[1] + np.square(x[0]), X).toarray()
    assert np.array_equal(H, [[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    Hd = ad.hessian(lambda x: x[0] * x[1] + np.square(x[0]), ad.AutoNumPy(), X)
    assert not np.any((Hd != 0) & ~H)


def test_nan_keeps_both_branches():
    f = lambda x: np.fmax(x[:2], x[2:])  # noqa: E731
    P = L.jacobian_sparsity(f, np.array([np.nan, 1.0, 1.0, np.nan])).toarray()
    assert P[0, 2] and P[1, 1]
