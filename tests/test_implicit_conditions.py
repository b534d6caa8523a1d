"""optimality_conditions carries the pattern of ∂F/∂y as a typed field (no function attribute)."""

import numpy as np

import anydiff as ad
from anydiff.implicit._conditions import Conditions


def test_optimality_conditions_know_the_hessian_pattern():
    def obj(p, y):
        return 0.5 * np.sum((y[1:] - y[:-1]) ** 2) + p[0] * np.sum(y**4)

    F = ad.optimality_conditions(obj)
    assert isinstance(F, Conditions) and "obj" in repr(F)
    assert not hasattr(F, "_anydiff_sparsity")
    p, y = np.array([0.5]), np.linspace(0.0, 1.0, 6)
    S = F.dy_sparsity(p, y).toarray()
    expected = (np.abs(np.subtract.outer(np.arange(6), np.arange(6))) <= 1)  # tridiagonal Hessian
    np.testing.assert_array_equal(S, expected)
    # the values: the gradient in y (analytic)
    d = np.diff(y)
    grad = np.concatenate([[0.0], d]) - np.concatenate([d, [0.0]]) + 4 * p[0] * y**3
    np.testing.assert_allclose(F(p, y), grad, rtol=1e-12)


def test_fixed_point_conditions_stay_a_plain_function():
    F = ad.fixed_point_conditions(lambda x, y: 0.5 * y + x)
    assert not isinstance(F, Conditions)
    np.testing.assert_allclose(F(np.array([1.0]), np.array([2.0])), [0.0])
