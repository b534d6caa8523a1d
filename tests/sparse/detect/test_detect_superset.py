"""Superset property on random compositions: detected patterns contain every nonzero of the
true derivative (computed exactly by ``jax.jacfwd``/``jax.hessian`` on a ``jax.numpy`` twin of
the same code) at random points; local patterns sit between the numeric and the global ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anydiff.sparse.detect import JaxSparsityDetector, TracerLocalSparsityDetector, TracerSparsityDetector

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

n = 6
M = np.where(np.arange(36).reshape(6, 6) % 4 == 0, 0.0, np.linspace(-1, 1, 36).reshape(6, 6))

#: Building blocks written once for NumPy and jax.numpy (``xp``); each maps R^6 -> R^6.
OPS = {
    "sin": lambda xp, v: xp.sin(v),
    "exp": lambda xp, v: xp.exp(0.1 * v),
    "shift-product": lambda xp, v: v * xp.roll(v, 1),
    "reverse": lambda xp, v: v[::-1],
    "cumsum": lambda xp, v: xp.cumsum(v),
    "diff": lambda xp, v: xp.concatenate([v[:1], xp.diff(v)]),
    "maximum": lambda xp, v: xp.maximum(v, xp.roll(v, 2)),
    "where": lambda xp, v: xp.where(v > 0, v, v**2),
    "matvec": lambda xp, v: xp.asarray(M) @ v,
    "sum-scale": lambda xp, v: xp.sum(v[:3]) * v,
    "transpose": lambda xp, v: v.reshape(2, 3).T.ravel(),
    "outer": lambda xp, v: xp.concatenate([xp.outer(v[:2], v[4:]).ravel(), v[2:4]]),
    "hypot": lambda xp, v: xp.sqrt(v * v + 1.0) / (1.0 + v[0] ** 2),
    "prod-axis": lambda xp, v: xp.repeat(xp.prod(v.reshape(3, 2), axis=1), 2),
    "clip": lambda xp, v: xp.clip(v, -0.5, 0.5) + xp.tanh(v[::2]).repeat(2),
    "norm": lambda xp, v: xp.linalg.norm(v[:2]) * v,
    "gather": lambda xp, v: v[xp.asarray([0, 0, 5, 2, 3, 1])],
    "abs": lambda xp, v: xp.abs(v - 0.3) * v[1],
    "matmul": lambda xp, v: (v.reshape(2, 3) @ v.reshape(3, 2)).ravel()[:4].repeat(2)[:6],
    "mean-keepdims": lambda xp, v: (v.reshape(2, 3) - xp.mean(v.reshape(2, 3), axis=1, keepdims=True)).ravel(),
    "divide": lambda xp, v: v / (2.0 + xp.roll(v, -1) ** 2),
    "convolve": lambda xp, v: xp.convolve(v, v[:3] ** 2, mode="same"),
    "correlate": lambda xp, v: xp.concatenate([xp.correlate(v, v[4:], mode="valid"), v[:1]]),
    "convolve-const": lambda xp, v: xp.convolve(v, xp.asarray([1.0, -2.0, 1.0]))[1:-1],
    "sort": lambda xp, v: xp.sort(v.reshape(2, 3), axis=1).ravel() * v[0],
    "median": lambda xp, v: xp.concatenate([xp.median(v.reshape(2, 3), axis=0), v[3:]]),
    "cross": lambda xp, v: xp.cross(v[:3], v[3:]).repeat(2),
    "einsum-ellipsis": lambda xp, v: xp.einsum("...i,...i", v.reshape(3, 2), v[::-1].reshape(3, 2)).repeat(2),
    "batched-matmul": lambda xp, v: (v.reshape(2, 1, 3) @ v.reshape(2, 3, 1)).ravel().repeat(3),
    "interp": lambda xp, v: xp.interp(v, xp.linspace(-2.0, 2.0, 6), v ** 2),
    "trapezoid": lambda xp, v: xp.trapezoid(v.reshape(2, 3) ** 2, axis=0).repeat(2),
    "average": lambda xp, v: xp.average(v.reshape(3, 2), axis=0, weights=xp.asarray([1.0, 2.0, 0.5])).repeat(3),
    "sinc-round": lambda xp, v: xp.sinc(v) + xp.round(v),
    "vecdot": lambda xp, v: xp.vecdot(v.reshape(3, 2), v.reshape(3, 2)[::-1]).repeat(2),
    "setitem": lambda xp, v: _setitem(xp, v),
}


def _setitem(xp, v):
    if xp is np:
        y = np.zeros_like(v)
        y[1:] = v[:-1] * v[1:]
        y[0] = v[5]
        return y
    return xp.zeros_like(v).at[1:].set(v[:-1] * v[1:]).at[0].set(v[5])
chains = st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=4)


def compose(xp, names):
    def f(x):
        for name in names:
            x = OPS[name](xp, x)
        return x

    return f


def nonzero(A):
    return np.abs(np.asarray(A)).reshape(A.shape[0], -1) > 0


def contains(S, A):
    return not np.any(A & ~S.toarray())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains, st.integers(0, 2**16))
def test_jacobian_patterns_are_supersets(names, seed):
    x = np.random.default_rng(seed).uniform(-1.5, 1.5, n)
    J = nonzero(jax.jacfwd(compose(jnp, names))(jnp.asarray(x)))
    glob = TracerSparsityDetector().jacobian_sparsity(compose(np, names), x)
    loc = TracerLocalSparsityDetector().jacobian_sparsity(compose(np, names), x)
    jaxpr = JaxSparsityDetector().jacobian_sparsity(compose(jnp, names), jnp.asarray(x))
    assert contains(glob, J) and contains(jaxpr, J), names
    assert contains(loc, J), names  # local: still every nonzero at this x
    assert contains(glob, loc.toarray()), names  # local ⊆ global


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains, st.integers(0, 2**16))
def test_hessian_patterns_are_supersets(names, seed):
    x = np.random.default_rng(seed).uniform(-1.5, 1.5, n)
    w = np.linspace(0.5, 1.5, n)

    def scalar(xp):
        g = compose(xp, names)
        return lambda x: xp.sum(w * xp.sin(g(x)) + g(x) * xp.roll(g(x), 1))

    H = nonzero(jax.hessian(scalar(jnp))(jnp.asarray(x)))
    glob = TracerSparsityDetector().hessian_sparsity(scalar(np), x)
    loc = TracerLocalSparsityDetector().hessian_sparsity(scalar(np), x)
    assert contains(glob, H) and contains(loc, H), names
    assert contains(glob, loc.toarray()), names
    assert (glob != glob.T).nnz == 0
