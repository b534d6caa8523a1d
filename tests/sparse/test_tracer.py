"""NumPy tracer: exact patterns on known problems, superset property, local ⊆ global, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special as sc
from hypothesis import given, settings
from hypothesis import strategies as st

import anydiff as ad
from anydiff.testing import (
    banded_diff, banded_pattern, brusselator_2d, brusselator_pattern, brusselator_point,
)

G = ad.TracerSparsityDetector()
L = ad.TracerLocalSparsityDetector()


def dense(S):
    return S.toarray().astype(int)


@pytest.mark.parametrize("N", [4, 8, 16])
def test_brusselator_exact(N):
    assert (G.jacobian_sparsity(brusselator_2d(np, N), brusselator_point(N)) != brusselator_pattern(N)).nnz == 0


@pytest.mark.parametrize("k", [1, 3])
def test_banded_exact(k):
    n = 50
    assert (G.jacobian_sparsity(banded_diff(np, k), np.ones(n)) != banded_pattern(n, k)).nnz == 0


def test_known_patterns():
    x = np.arange(1.0, 5.0)
    assert np.array_equal(dense(G.jacobian_sparsity(np.exp, x)), np.eye(4, dtype=int))
    arrow = lambda x: np.concatenate([np.sum(x)[None], x[1:] * x[0]])  # noqa: E731
    expected = np.eye(4, dtype=int)
    expected[0, :] = 1
    expected[:, 0] = 1
    assert np.array_equal(dense(G.jacobian_sparsity(arrow, x)), expected)
    A = np.arange(6.0).reshape(2, 3)
    M = dense(G.jacobian_sparsity(lambda x: A @ x[:3] + x[3], x))
    assert np.array_equal(M, [[1, 1, 1, 1], [1, 1, 1, 1]])
    X = dense(G.jacobian_sparsity(lambda x: (x.reshape(2, 2) @ x.reshape(2, 2)).ravel(), x))
    assert X.sum() == 4 * 3  # (XX)_ij depends on row i and column j of X: 3 distinct entries
    idx = dense(G.jacobian_sparsity(lambda x: x[[3, 0]] * x[x.shape[0] - 1], x))
    assert np.array_equal(idx, [[0, 0, 0, 1], [1, 0, 0, 1]])
    mask = dense(G.jacobian_sparsity(lambda x: x[np.array([True, False, True, False])], x))
    assert np.array_equal(mask, [[1, 0, 0, 0], [0, 0, 1, 0]])


def test_in_place_and_zeros_like_and_add_at():
    def f(y, x):
        y[0] = x[0] * x[1]
        y[1:] = np.sin(x[1:])

    assert np.array_equal(dense(G.jacobian_sparsity(f, np.ones(3), y=np.zeros(3))), [[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    assert np.array_equal(dense(ad.jacobian_sparsity(f, np.zeros(3), np.ones(3))), [[1, 1, 0], [0, 1, 0], [0, 0, 1]])

    def g(x):
        y = np.zeros_like(x)
        y[1:] = x[:-1] ** 2
        np.add.at(y, [0, 0], x[2])
        return y

    assert np.array_equal(dense(G.jacobian_sparsity(g, np.ones(3))), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


def test_linear_solve_blocks_and_special_functions():
    S = dense(G.jacobian_sparsity(lambda x: np.linalg.solve(np.eye(2) + x[:4].reshape(2, 2), x[4:]), np.ones(6)))
    assert S.all()
    S = dense(G.jacobian_sparsity(lambda x: np.concatenate([np.linalg.inv(x[:4].reshape(2, 2)).ravel(), x[4:] ** 2]), np.ones(6)))
    assert S[:4, :4].all() and not S[:4, 4:].any() and np.array_equal(S[4:, 4:], np.eye(2, dtype=int))


def test_where_and_maximum_global_vs_local():
    x = np.array([1.0, -2.0, 3.0])
    f = lambda x: np.where(x > 0, x**2, x[0]) + np.maximum(x, 0.0)  # noqa: E731
    Sg, Sl = G.jacobian_sparsity(f, x), L.jacobian_sparsity(f, x)
    assert np.array_equal(dense(Sg), [[1, 0, 0], [1, 1, 0], [1, 0, 1]])
    assert np.array_equal(dense(Sl), [[1, 0, 0], [1, 0, 0], [0, 0, 1]])
    assert ((Sl > Sg).nnz == 0)  # local ⊆ global


def test_zero_derivative_functions():
    assert G.jacobian_sparsity(lambda x: np.floor(x) + np.sign(x), np.ones(3)).nnz == 0


def test_value_dependent_control_flow_raises():
    with pytest.raises(ad.MissingPrimalError, match="Hint.*Local"):
        G.jacobian_sparsity(lambda x: x[0] if x[1] > 0 else x[2], np.ones(3))
    S = L.jacobian_sparsity(lambda x: x[0] if x[1] > 0 else x[2], np.array([0.0, 1.0, 0.0]))
    assert np.array_equal(dense(S), [[1, 0, 0]])


def test_unknown_function_and_plain_buffer():
    with pytest.raises(ad.MissingRuleError, match="gradient(.|\n)*Hint.*differentiate_with"):
        G.jacobian_sparsity(lambda x: np.gradient(x), np.ones(3))

    def plain(x, zeros=np.zeros):  # bound where anydiff cannot see it (np.zeros(3) itself works)
        buf = zeros(3)
        buf[0] = x[0]
        return buf

    for detector in (G, L):
        with pytest.raises(ad.TracingError, match="(?s)In: Tracer.*Hint.*differentiate_with"):
            detector.jacobian_sparsity(plain, np.ones(3))


UNARY = [np.sin, lambda v: np.exp(np.sin(v)), np.tanh, np.square, lambda v: v * 2.0, lambda v: np.cumsum(v), lambda v: np.roll(v, 1),
         lambda v: v[::-1] * v, lambda v: np.concatenate([v[:1], np.diff(v)]),
         lambda v: np.sum(v) * v[0] + v, lambda v: np.sqrt(v * v + 1.0), lambda v: np.pad(v[1:], (0, 1)) + v]


def _compose(ops):
    """``x -> UNARY[ops[-1]](... UNARY[ops[0]](x))``."""

    def f(x):
        v = x
        for k in ops:
            v = UNARY[k](v)
        return v

    return f


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(st.sampled_from(range(len(UNARY))), min_size=1, max_size=4), seed=st.integers(0, 1000))
def test_superset_of_numeric_jacobian(ops, seed):
    f = _compose(ops)

    x = np.random.default_rng(seed).uniform(0.5, 1.5, 6)
    J = ad.jacobian(f, ad.AutoFiniteDiff(method="complex"), x)
    S = G.jacobian_sparsity(f, x)
    assert ((sp.csr_array(np.abs(J) > 1e-12) > S).nnz == 0), "a nonzero derivative outside the pattern"
    assert ((L.jacobian_sparsity(f, x) > S).nnz == 0)


def test_autosparse_numpy_default_detector():
    f = brusselator_2d(np, 6)
    x = brusselator_point(6)
    J = ad.jacobian(f, ad.AutoSparse(ad.AutoFiniteDiff(method="complex")), x)
    Jd = ad.jacobian(f, ad.AutoFiniteDiff(method="complex"), x)
    assert np.allclose(J.toarray(), Jd, rtol=1e-12, atol=1e-12)


def test_hessian_patterns():
    from anydiff.testing import rosenbrock_chain, rosenbrock_chain_hessian_pattern

    assert (G.hessian_sparsity(rosenbrock_chain(np), np.ones(30)) != rosenbrock_chain_hessian_pattern(30)).nnz == 0
    # x*y adds the off-diagonal pair; sin(x) + sin(y) does not; linear terms add nothing
    H = dense(G.hessian_sparsity(lambda x: x[0] * x[1] + np.sin(x[2]) + np.sin(x[3]) + x[3], np.ones(4)))
    assert np.array_equal(H, [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    H = dense(G.hessian_sparsity(lambda x: 2 * np.sum(x[:2]) + x[2] / x[3], np.ones(4)))
    assert np.array_equal(H, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 1]])
    H = dense(G.hessian_sparsity(lambda x: x[:2] @ x[2:], np.ones(4)))
    assert np.array_equal(H, [[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]])
    with pytest.raises(ad.OutputError, match="scalar"):
        G.hessian_sparsity(np.sin, np.ones(2))


@settings(max_examples=25, deadline=None)
@given(ops=st.lists(st.sampled_from(range(len(UNARY))), min_size=1, max_size=3), seed=st.integers(0, 1000))
def test_hessian_superset_of_numeric(ops, seed):
    g = _compose(ops)

    def f(x):
        v = g(x)
        return np.sum(v * v[0])

    x = np.random.default_rng(seed).uniform(0.5, 1.5, 5)
    H = ad.hessian(f, ad.AutoFiniteDiff(method="complex"), x)
    S = G.hessian_sparsity(f, x)
    assert (sp.csr_array(np.abs(H) > 1e-5) > S).nnz == 0


def test_scipy_special_functions():
    S = G.jacobian_sparsity(lambda x: sc.erf(x) + sc.xlogy(x[0], x[1]), np.ones(3))
    assert np.array_equal(dense(S), [[1, 1, 0], [1, 1, 0], [1, 1, 1]])
    H = dense(G.hessian_sparsity(lambda x: sc.xlogy(x[0], x[1]) + np.sum(sc.expit(x[2:])), np.ones(4)))
    assert np.array_equal(H, [[0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])  # xlogy is linear in x
    with pytest.raises(ad.MissingRuleError, match="ellipk"):
        G.jacobian_sparsity(sc.ellipk, np.full(2, 0.5))


def test_array_methods_match_functions():
    # the ndarray methods forward to the NumPy functions (shared with the Dual array)
    S = G.jacobian_sparsity(lambda v: v.reshape(2, 3).transpose((1, 0)).sum(1), np.ones(6))
    assert np.array_equal(dense(S), [[1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 0, 1]])
    S = G.jacobian_sparsity(lambda v: v.reshape(2, 3).mT.flatten() * v.conjugate().real, np.ones(6))
    assert np.array_equal(dense(S), np.array(dense(G.jacobian_sparsity(lambda v: v.reshape(2, 3).T.ravel() * v, np.ones(6)))))
