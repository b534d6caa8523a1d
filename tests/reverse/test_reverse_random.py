"""Random expression trees: AutoNumPy's reverse mode agrees with its forward mode (and with
complex-step derivatives) on the same tree, for gradients, pullbacks and Hessian-vector products."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import anydiff as ad
from expression_trees import evaluate_tree, tree_strategy

N = 6
W = np.random.default_rng(3).normal(size=(N, N)) / N
REV, FWD = ad.AutoNumPy(mode="reverse"), ad.AutoNumPy(mode="forward")


def _scatter(a):
    out = np.zeros_like(a)
    out[[0, 2, 4]] = a[[1, 1, 5]] * 2.0
    np.add.at(out, [1, 1, 3], a[:3])
    return out + a


def _buffer_loop(a):
    out = np.zeros_like(a)
    head = out[:3]
    for i in range(N):
        out[i] = a[i] * (out[i - 1] if i else 1.0) * 0.5
    return out + head.sum()


UNARY = {
    "sin": lambda a: np.sin(a),
    "tanh": lambda a: np.tanh(a),
    "exp-tanh": lambda a: np.exp(np.tanh(a)),
    "log1p-sq": lambda a: np.log1p(a * a),
    "sqrt": lambda a: np.sqrt(1.0 + a * a),
    "cube": lambda a: a**3 * 0.1,
    "neg": lambda a: -a,
    "roll": lambda a: np.roll(a, 2),
    "flip": lambda a: np.flip(a),
    "cumsum": lambda a: np.cumsum(a) / N,
    "sum": lambda a: a * 0.0 + np.sum(a) / N,
    "shift": lambda a: np.concatenate([a[1:], a[:1] * 2.0]),
    "matvec": lambda a: W @ a,
    "reshape-T": lambda a: a.reshape(2, 3).T.ravel(),
    "pad-slice": lambda a: np.pad(a, 1)[:-2] + a,
    "stencil": lambda a: np.concatenate([a[:1], a[:-2] - 2.0 * a[1:-1] + a[2:], a[-1:]]),
    "scatter": _scatter,
    "buffer-loop": _buffer_loop,
    "fft": lambda a: np.real(np.fft.fft(a)) / N,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1.0 + b * b),
    "outer-sum": lambda a, b: np.outer(a, b).sum(axis=1) / N,
    "einsum": lambda a, b: np.einsum("i,ij,j->i", a, W, b),
    "stack-mean": lambda a, b: np.mean(np.stack([a, b]), axis=0),
    "arctan2": lambda a, b: np.arctan2(a, 1.0 + b * b),
}


def evaluate(tree, x):
    return evaluate_tree(tree, x, UNARY, BINARY)


@settings(max_examples=40, deadline=None)
@given(tree=tree_strategy(UNARY, BINARY, max_leaves=8), seed=st.integers(0, 2**31))
def test_reverse_matches_forward_on_random_trees(tree, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, N)
    dy = rng.normal(size=N)

    def f(x):
        return evaluate(tree, x)

    def scalar(x):
        return np.sum(np.sin(f(x)) * dy)

    J = ad.jacobian(f, FWD, x)
    np.testing.assert_allclose(ad.pullback(f, REV, x, (dy,))[0], dy @ J, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ad.jacobian(f, REV, x), J, rtol=1e-9, atol=1e-12)
    v = rng.normal(size=N)
    hv = ad.hvp(scalar, REV, x, (v,))[0]
    np.testing.assert_allclose(hv, ad.hvp(scalar, FWD, x, (v,))[0], rtol=1e-8, atol=1e-11)
