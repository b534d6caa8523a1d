"""Random compositions: AutoNumPy's pushforward equals JAX's jvp on the same expression tree.

One tree description is evaluated twice, with ``numpy`` (on duals, through the public
``ad.pushforward``) and with ``jax.numpy`` (``jax.jvp``).
"""

from __future__ import annotations

import numpy as np
import pytest
from jaxref import jax_jvps
from hypothesis import given, settings
from hypothesis import strategies as st

import anydiff as ad
from anydiff.backends._numpy_dual import AutoNumPy

N = 6
W = np.random.default_rng(3).normal(size=(N, N)) / N

UNARY = {
    "sin": lambda xp, a: xp.sin(a),
    "tanh": lambda xp, a: xp.tanh(a),
    "exp-tanh": lambda xp, a: xp.exp(xp.tanh(a)),
    "log1p-sq": lambda xp, a: xp.log1p(a * a),
    "sqrt": lambda xp, a: xp.sqrt(1.0 + a * a),
    "arctan": lambda xp, a: xp.arctan(a),
    "square": lambda xp, a: xp.square(a) * 0.5,
    "cube": lambda xp, a: a**3 * 0.1,
    "neg": lambda xp, a: -a,
    "roll": lambda xp, a: xp.roll(a, 2),
    "flip": lambda xp, a: xp.flip(a),
    "cumsum": lambda xp, a: xp.cumsum(a) / N,
    "sum": lambda xp, a: a * 0.0 + xp.sum(a) / N,
    "max": lambda xp, a: a * xp.max(a),
    "shift": lambda xp, a: xp.concatenate([a[1:], a[:1] * 2.0]),
    "matvec": lambda xp, a: W @ a,
    "reshape-T": lambda xp, a: a.reshape(2, 3).T.ravel(),
    "sort": lambda xp, a: xp.sort(a),
    "pad-slice": lambda xp, a: xp.pad(a, 1)[:-2] + a,
    "norm": lambda xp, a: a / (1.0 + xp.linalg.norm(a)),
    "stencil": lambda xp, a: xp.concatenate([a[:1], a[:-2] - 2.0 * a[1:-1] + a[2:], a[-1:]]),
}
BINARY = {
    "add": lambda xp, a, b: a + b,
    "sub": lambda xp, a, b: a - b,
    "mul": lambda xp, a, b: a * b,
    "div": lambda xp, a, b: a / (1.0 + b * b),
    "hypot": lambda xp, a, b: xp.hypot(a, b),
    "where": lambda xp, a, b: xp.where(a > b, a, b * 2.0),
    "outer-sum": lambda xp, a, b: xp.outer(a, b).sum(axis=1) / N,
    "einsum": lambda xp, a, b: xp.einsum("i,ij,j->i", a, W, b),
    "stack-mean": lambda xp, a, b: xp.mean(xp.stack([a, b]), axis=0),
    "arctan2": lambda xp, a, b: xp.arctan2(a, 1.0 + b * b),
}


def trees():
    leaf = st.just(("x",))
    return st.recursive(
        leaf,
        lambda sub: st.one_of(
            st.tuples(st.just("u"), st.sampled_from(sorted(UNARY)), sub),
            st.tuples(st.just("b"), st.sampled_from(sorted(BINARY)), sub, sub),
        ),
        max_leaves=8,
    )


def evaluate(tree, xp, x):
    if tree[0] == "x":
        return x
    if tree[0] == "u":
        return UNARY[tree[1]](xp, evaluate(tree[2], xp, x))
    return BINARY[tree[1]](xp, evaluate(tree[2], xp, x), evaluate(tree[3], xp, x))


@settings(max_examples=60, deadline=None)
@given(tree=trees(), seed=st.integers(0, 2**31))
def test_pushforward_matches_jax_jvp(tree, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, N)
    T = rng.normal(size=(2, N))
    fn = lambda xp, v: evaluate(tree, xp, v) + 0.0 * v
    tys = ad.pushforward(lambda v: fn(np, v), AutoNumPy(), x, tuple(T))
    _, ty_ref = jax_jvps(fn, x, T)
    scale = 1.0 + np.max(np.abs(ty_ref))
    for ty, ref in zip(tys, ty_ref):
        np.testing.assert_allclose(ty, ref, rtol=1e-9, atol=1e-11 * scale)


@settings(max_examples=25, deadline=None)
@given(tree=trees(), seed=st.integers(0, 2**31))
def test_hvp_matches_jax(tree, seed):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, N)
    v = rng.normal(size=N)
    f_np = lambda u: np.sum(np.sin(evaluate(tree, np, u)))
    f_jax = lambda u: jnp.sum(jnp.sin(evaluate(tree, jnp, u)))
    hv = ad.hvp(f_np, AutoNumPy(), x, (v,))[0]
    ref = jax.jvp(jax.grad(f_jax), (x,), (v,))[1]
    np.testing.assert_allclose(hv, ref, rtol=1e-9, atol=1e-10 * (1.0 + np.max(np.abs(ref))))
