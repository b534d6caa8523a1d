"""Random expression trees over table functions: the engines agree.

AutoNumPy's Jacobian and Hessian (forward mode) have no nonzero outside the sparsity tracer's
global and local patterns, and the local pattern lies inside the global one.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import anydiff as ad
from expression_trees import evaluate_tree, tree_strategy

N = 6
W = np.random.default_rng(4).normal(size=(N, N)) / N
G, L = ad.TracerSparsityDetector(), ad.TracerLocalSparsityDetector()

UNARY = {
    "sin": np.sin, "tanh": np.tanh, "square": np.square, "abs": np.abs,
    "cumsum": lambda a: np.cumsum(a) / N, "cumprod": lambda a: np.cumprod(1.0 + 0.1 * a),
    "roll": lambda a: np.roll(a, 2), "diff-pad": lambda a: np.pad(np.diff(a), (1, 0)),
    "sort": np.sort, "clip": lambda a: np.clip(a, -0.5, 0.5), "max": lambda a: a * np.max(a),
    "nansum": lambda a: a + np.nansum(a * a) / N, "var": lambda a: a * np.var(a),
    "polyval": lambda a: np.polyval(np.array([0.3, -0.2, 1.0]), a),
    "select": lambda a: np.select([a < -0.3, a < 0.3], [a * a, np.sin(a)], 2.0 * a),
    "matvec": lambda a: W @ a, "reshape-T": lambda a: a.reshape(2, 3).T.ravel(),
    "stencil": lambda a: np.concatenate([a[:1], a[:-2] - 2.0 * a[1:-1] + a[2:], a[-1:]]),
    "norm": lambda a: a / (1.0 + np.linalg.norm(a)),
    "fft": lambda a: np.real(np.fft.ifft(np.fft.fft(a) * np.arange(N))),
    "median": lambda a: a - np.median(a), "trapezoid": lambda a: a * np.trapezoid(a),
}
BINARY = {
    "add": np.add, "mul": np.multiply, "div": lambda a, b: a / (1.0 + b * b),
    "maximum": np.maximum, "hypot": np.hypot, "where": lambda a, b: np.where(a > b, a, 2.0 * b),
    "outer": lambda a, b: np.outer(a, b).sum(axis=1) / N, "kron": lambda a, b: np.kron(a[:2], b[:3]),
    "cross": lambda a, b: np.concatenate([np.cross(a[:3], b[3:]), a[3:]]),
    "solve": lambda a, b: np.linalg.solve(np.eye(3) * 3.0 + np.outer(a[:3], b[:3]) * 0.1, b[3:]).repeat(2),
}


def evaluate(tree, x):
    return evaluate_tree(tree, x, UNARY, BINARY)


def _inside(M, P):
    return not np.any((np.abs(M) > 1e-12) & ~P.toarray())


@settings(max_examples=40, deadline=None)
@given(tree=tree_strategy(UNARY, BINARY, max_leaves=6), seed=st.integers(0, 2**31))
def test_forward_mode_inside_tracer_patterns(tree, seed):
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, N)

    def f(v):
        return evaluate(tree, v) + 0.0 * v

    J = ad.jacobian(f, ad.AutoNumPy(), x)
    PG, PL = G.jacobian_sparsity(f, x), L.jacobian_sparsity(f, x)
    assert _inside(J, PL) and _inside(J, PG)
    assert not np.any(PL.toarray() & ~PG.toarray())

    def g(v):
        return np.sum(np.sin(f(v)))

    H = ad.hessian(g, ad.AutoNumPy(), x)
    HG, HL = G.hessian_sparsity(g, x), L.hessian_sparsity(g, x)
    assert _inside(H, HL) and _inside(H, HG)
