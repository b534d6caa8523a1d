"""The fast paths of ufuncs on level-1 duals (unary, binary with constants, constant powers)
give exactly the numbers of the general path, which a keyword argument forces."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff.dual import Dual
from anydiff.dual._ufuncs import apply_ufunc

R = np.random.default_rng(3)
X = R.uniform(0.2, 0.9, (3, 4))
T = R.normal(size=(2, 3, 4))
C = R.uniform(0.5, 1.5, (3, 4))

UNARY = [np.sin, np.tanh, np.exp, np.log1p, np.sqrt, np.negative, np.square, np.arctan, np.reciprocal]
BINARY = [np.add, np.subtract, np.multiply, np.true_divide, np.maximum, np.hypot, np.arctan2]
OTHERS = [C, 2.0, 3, np.float64(0.7), np.arange(1, 13).reshape(3, 4)]


def _both(ufunc, *args):
    fast = apply_ufunc(ufunc, args, {})
    general = apply_ufunc(ufunc, args, {"casting": "same_kind"})  # any keyword: the general path
    return fast, general


def _same(fast, general):
    assert type(fast) is type(general)
    if isinstance(fast, Dual):
        np.testing.assert_array_equal(fast.value, general.value)
        np.testing.assert_array_equal(fast.tangent, general.tangent)
    else:
        np.testing.assert_array_equal(fast, general)


@pytest.mark.parametrize("ufunc", UNARY, ids=lambda u: u.__name__)
def test_unary(ufunc):
    _same(*_both(ufunc, Dual(X, T)))


@pytest.mark.parametrize("ufunc", BINARY, ids=lambda u: u.__name__)
@pytest.mark.parametrize("other", range(len(OTHERS)))
def test_binary_with_constants_and_two_duals(ufunc, other):
    d, c = Dual(X, T), OTHERS[other]
    _same(*_both(ufunc, d, c))
    _same(*_both(ufunc, c, d))
    _same(*_both(ufunc, d, Dual(C, -T)))


@pytest.mark.parametrize("e", [2, 2.0, 3, 0.5, -1.5])
def test_constant_powers(e):
    _same(*_both(np.power, Dual(X, T), e))


def test_broadcast_duals_and_aliasing_take_the_right_path():
    row = Dual(X[0], T[:, 0])  # broadcast against a (3, 4) constant: the general path lifts it
    _same(*_both(np.multiply, row, C))
    d = Dual(X, T)
    out = np.add(d, 0.0)  # partial +1: the tangent is copied, never the input's own array
    assert out.tangent is not d.tangent and np.shares_memory(out.tangent, d.tangent) is False


def test_gradients_through_the_fast_paths_match_the_analytic_one():
    f = lambda x: np.sum(np.tanh(x) * x + np.exp(-x) / (1.0 + x**2) - 3 * x**3)  # noqa: E731
    g = lambda x: (1 - np.tanh(x) ** 2) * x + np.tanh(x) - np.exp(-x) / (1 + x**2) \
        - np.exp(-x) * 2 * x / (1 + x**2) ** 2 - 9 * x**2  # noqa: E731
    x = R.uniform(-1, 1, 7)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(ad.gradient(f, ad.AutoNumPy(mode=mode), x), g(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ufunc", [np.tanh, np.exp, np.log1p, np.negative])
def test_zero_dimensional_values_of_full_reductions(ufunc):
    s = np.sum(Dual(X, T))  # a NumPy scalar value with (B,) tangents
    assert type(s.value) is np.float64
    _same(*_both(ufunc, s))
    for other in (2.0, 3, np.float64(0.7), C):
        _same(*_both(np.true_divide, s, other))
        _same(*_both(np.multiply, other, s))


def test_matmul_of_plain_level_one_operands_matches_the_general_split(monkeypatch):
    from anydiff.dual import _linalg

    a, b, v = Dual(X, T), Dual(C.T, -T.transpose(0, 2, 1)), Dual(X[:, 0], T[:, :, 0])
    cases = [(a, b), (X, b), (a, C.T), (a, X[0]), (C.T, v), (v, a), (a, np.ones(4))]
    fast = [np.matmul(p, q) for p, q in cases]
    monkeypatch.setattr(_linalg, "_flat_operands", lambda p, q: None)
    for (p, q), got in zip(cases, fast):
        _same(got, np.matmul(p, q))
