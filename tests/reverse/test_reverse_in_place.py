"""The backward pass's memory savings give exactly the numbers of the plain transposes.

The sweep reuses a cotangent it owns for scalings, negations and subtractions, fills only the
slabs outside a slice, views a sum's cotangent with stride 0, and a square keeps ``x`` on the
tape (``(ct * x) * 2``, not ``ct * (2 * x)``). Each is switched off here (monkeypatched back to
the plain transpose) and the derivatives must agree bit for bit on random expression trees.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anydiff as ad
from anydiff.reverse import _linear, _ops, _tape
from expression_trees import evaluate_tree, tree_strategy

N = 7
W = np.random.default_rng(5).normal(size=(N, N)) / N
REV = ad.AutoNumPy(mode="reverse")

UNARY = {
    "square": lambda a: a**2,
    "scaled-square": lambda a: 0.5 * (1.0 - a) ** 2,
    "tanh": np.tanh,
    "exp-neg": lambda a: np.exp(-a),
    "div": lambda a: a / 3.0,
    "shift": lambda a: np.concatenate([a[1:] - a[:-1] ** 2, a[:1]]),
    "window": lambda a: np.concatenate([a[2:5] * 2.0, a[:2], a[5:]]),
    "sum": lambda a: a * np.sum(a**2) / N,
    "mean-keep": lambda a: a - np.mean(a.reshape(1, N), axis=1, keepdims=True).ravel(),
    "matvec": lambda a: W @ a,
    "vecmat": lambda a: np.tanh(a @ W),
    "outer": lambda a: (np.reshape(a[:3], (3, 1)) @ np.reshape(a[3:6], (1, 3))).sum(axis=0).repeat(3)[:N],
    "block": lambda a: np.reshape(np.reshape(a[:6], (2, 3))[:, 1:] * 3.0, (4,)).sum() + a,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "rsub": lambda a, b: (1.0 - a) - b * 2.0,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (2.0 + b * b),
}


def _plain_transposes(monkeypatch):
    """Switch every saving off: the reference the optimized sweep must match."""
    monkeypatch.setattr(_tape, "INPLACE", {})
    monkeypatch.setattr(_ops, "_embed", lambda ct, idx, shape: None)

    def spread(ct, axes, target):
        return np.broadcast_to(ct.reshape(tuple(1 if d in axes else s for d, s in enumerate(target))), target)

    monkeypatch.setattr(_linear, "_spread", spread)
    monkeypatch.setattr(_tape.Lin, "_anydiff_scale", lambda self, p, c=None: _ops.scale(self, p if c is None else p * c))


def _derivatives(f, x, dy):
    def scalar(x):
        return np.sum(f(x) * dy)

    return ad.gradient(scalar, REV, x), ad.jacobian(f, REV, x), ad.pullback(f, REV, x, (dy, 2.0 * dy))


@settings(max_examples=30, deadline=None)
@given(tree=tree_strategy(UNARY, BINARY, max_leaves=6), seed=st.integers(0, 2**31))
def test_savings_give_the_same_numbers_as_the_plain_transposes(tree, seed):
    rng = np.random.default_rng(seed)
    x, dy = rng.uniform(-1.0, 1.0, N), rng.normal(size=N)

    def f(x):
        return evaluate_tree(tree, x, UNARY, BINARY)

    fast = _derivatives(f, x, dy)
    with pytest.MonkeyPatch.context() as mp:
        _plain_transposes(mp)
        plain = _derivatives(f, x, dy)
    for a, b in zip(fast[:2] + tuple(fast[2]), plain[:2] + tuple(plain[2])):
        np.testing.assert_array_equal(a, b)


def test_the_savings_are_used_and_the_gradient_is_right(monkeypatch):
    f = lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa: E731
    x = np.random.default_rng(0).uniform(-1.0, 1.0, 9)
    calls = []
    for plain, in_place in list(_tape.INPLACE.items()):
        def spy(ct, data, in_place=in_place, name=plain.__name__):
            out = in_place(ct, data)
            calls.append((name, out is not None))
            return out

        monkeypatch.setitem(_tape.INPLACE, plain, spy)
    prep = ad.prepare_gradient(f, REV, x)
    g = [ad.gradient(f, REV, x, prep=prep) for _ in range(2)]  # prepared, called twice
    d = x[1:] - x[:-1] ** 2
    ref = np.zeros_like(x)
    ref[1:] += 200.0 * d
    ref[:-1] += -400.0 * d * x[:-1] - 2.0 * (1.0 - x[:-1])
    for gi in g:
        np.testing.assert_allclose(gi, ref, rtol=1e-13, atol=1e-13)
    assert {"_t_scale_by", "_t_neg", "_t_add"} <= {name for name, done in calls if done}


def test_an_owned_cotangent_is_never_shared():
    """``a + b`` hands the same cotangent to both inputs: neither may then scale it in place."""
    def f(x):
        y = x * 2.0
        return np.sum((y + y) * x + 3.0 * (y - y**2))

    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(ad.gradient(f, REV, x), 8.0 * x + 6.0 - 24.0 * x, rtol=1e-14)
