"""Dual arrays against JAX's forward mode, one NumPy function at a time."""

from __future__ import annotations

import numpy as np
import pytest
from jaxref import jax, jax_jvps

from anydiff.dual import Dual

RNG = np.random.default_rng(0)
X = RNG.uniform(0.5, 1.5, (3, 4))  # positive: log, sqrt, powers are defined
S = RNG.normal(size=(4, 4))
SPD = S @ S.T + 4 * np.eye(4)
C = RNG.normal(size=(4, 3))
IDX = np.array([2, 0, 2])
MASK = X > 1.0

# (id, fn(xp, x), x): fn is written once and run with numpy on duals and with jax.numpy.
CASES = [
    # elementwise ufuncs (rule table) and operators
    ("sin-exp", lambda xp, x: xp.sin(x) * xp.exp(-x), X),
    ("log-sqrt", lambda xp, x: xp.log(x) + xp.sqrt(x) / x, X),
    ("pow", lambda xp, x: x**3 - 2.0**x + x**x, X),
    ("tanh-arctan2", lambda xp, x: xp.tanh(x) + xp.arctan2(x, x[::-1]), X),
    ("abs-max", lambda xp, x: xp.abs(x - 1.0) + xp.maximum(x, 1.0) - xp.minimum(x, 0.9), X),
    ("hypot-logaddexp", lambda xp, x: xp.hypot(x, 2.0) + xp.logaddexp(x, -x), X),
    ("operators", lambda xp, x: -x / (1 + x) * 3 - (x @ x.T) @ x + abs(x) ** 2, X),
    ("broadcast", lambda xp, x: x * x[0] + x[:, :1] * x.sum(axis=0), X),
    ("comparison-where", lambda xp, x: xp.where(x > 1.0, x**2, -x), X),
    # reductions
    ("sum", lambda xp, x: xp.sum(x, axis=1) + xp.sum(x, axis=0, keepdims=True).sum() + x.sum(), X),
    ("sum-tuple-axis", lambda xp, x: xp.sum(x.reshape(3, 2, 2), axis=(0, 2)), X),
    ("prod", lambda xp, x: xp.prod(x, axis=1) + xp.prod(x), X),
    ("prod-with-zero", lambda xp, x: xp.prod(x - x[0, 0], axis=0), X),
    ("max-min", lambda xp, x: xp.max(x, axis=0) * xp.min(x, axis=1, keepdims=True) + xp.amax(x), X),
    ("mean-var-std", lambda xp, x: xp.mean(x, axis=0) + xp.var(x, axis=1).sum() + xp.std(x), X),
    ("cumsum-cumprod", lambda xp, x: xp.cumsum(x, axis=1) + xp.cumprod(x, axis=0), X),
    ("cumsum-flat", lambda xp, x: xp.cumsum(x), X),
    ("diff", lambda xp, x: xp.diff(x, axis=1).sum(axis=1) + xp.diff(x, n=2, axis=0).ravel()[:3], X),
    ("norm", lambda xp, x: xp.linalg.norm(x) + xp.linalg.norm(x, axis=1) + xp.linalg.norm(x, ord=1, axis=0)[:3], X),
    ("norm-matrix", lambda xp, x: xp.linalg.norm(x, ord="fro") + xp.linalg.norm(x, ord=xp.inf), X),
    # structure
    ("reshape-ravel", lambda xp, x: x.reshape(4, 3) @ x.ravel().reshape(-1, 1)[:3], X),
    ("reshape-F", lambda xp, x: xp.reshape(x, (2, 6), order="F") + xp.ravel(x, order="F")[:6], X),
    ("transpose-swap-move", lambda xp, x: xp.transpose(x[None], (2, 0, 1)) + xp.swapaxes(x[None], 0, 2) + xp.moveaxis(x[..., None], 0, -1).reshape(4, 1, 3), X),
    ("squeeze-expand", lambda xp, x: xp.squeeze(xp.expand_dims(x, 1)) + xp.expand_dims(x, -1)[..., 0], X),
    ("concat-stack", lambda xp, x: xp.concatenate([x, 2 * x, xp.ones((1, 4))]).sum(0) + xp.stack([x, x**2], axis=-1).sum(-1).sum(0), X),
    ("concat-none", lambda xp, x: xp.concatenate([x, xp.ones(2)], axis=None), X),
    ("hstack-vstack", lambda xp, x: xp.hstack([x, x]).sum(1) + xp.vstack([x, x[0]]).sum(0)[:3] + xp.column_stack([x[0], x[1]]).sum(1)[:3], X),
    ("roll", lambda xp, x: xp.roll(x, 1, axis=0) - 2 * x + xp.roll(x, -1, axis=1) + xp.roll(x, 2).reshape(3, 4), X),
    ("pad", lambda xp, x: xp.pad(x, ((1, 1), (2, 0))) + xp.pad(x, 1, mode="edge") + xp.pad(x, ((2, 0), (0, 2)), mode="wrap") + xp.pad(x, ((0, 2), (1, 1)), mode="reflect"), X),
    ("flip-tile-repeat", lambda xp, x: xp.flip(x) + xp.flip(x, axis=1) + xp.tile(x[0], (3, 1)) + xp.repeat(x[:, :2], 2, axis=1), X),
    ("broadcast_to-take", lambda xp, x: xp.broadcast_to(x[0], (3, 4)) + xp.take(x, IDX, axis=1)[:, :1] + xp.take(x, IDX)[:, None][:3], X),
    ("clip-sort", lambda xp, x: xp.clip(x, 0.8, 1.2) + xp.sort(x, axis=0) + xp.sort(x, axis=None).reshape(3, 4), X),
    ("append-split", lambda xp, x: xp.append(x, x[0]) .sum() + sum(p.sum() for p in xp.split(x, 2, axis=1)) * x, X),
    ("tril-diag-trace", lambda xp, x: xp.tril(x @ x.T) + xp.triu(x @ x.T, 1) + xp.trace(x @ x.T) + xp.diagonal(x, 1).sum(), X),
    ("real-imag-conj", lambda xp, x: xp.real(x * (1 + 2j)) + xp.imag(x * (1 - 1j)) + xp.real(xp.conj(x * 1j)), X),
    ("sinc-average", lambda xp, x: xp.sinc(x - 1.0) + xp.average(x, axis=0, weights=xp.array([1.0, 2.0, 3.0])) + xp.average(x), X),
    ("rot90-select-dstack", lambda xp, x: xp.rot90(x[:3, :3], 1) + xp.select([x[:3, :3] > 1.1, x[:3, :3] < 0.8], [x[:3, :3] ** 2, -x[:3, :3]], 0.5) + xp.dstack([x[:3, :3], x[:3, 1:]]).sum(-1), X),
    ("take_along-atleast-array_split", lambda xp, x: xp.take_along_axis(x, xp.argsort(x, axis=1), axis=1) + xp.atleast_2d(x[0]) + (xp.array_split(x, 3, axis=1)[0].sum(1) * xp.cumprod(x)[:3])[:, None], X),
    ("matrix_power-multi_dot", lambda xp, x: xp.linalg.matrix_power(x[:, :3], 3) + xp.linalg.multi_dot([x, C, x[:, :3]]), X),
    ("copy-likes", lambda xp, x: xp.copy(x) + xp.ones_like(x) * xp.sum(xp.zeros_like(x) + x) + xp.full_like(x, 2.0), X),
    # indexing
    ("index-basic", lambda xp, x: x[1:, ::2].sum() + x[-1] + x[..., 1][:, None][0], X),
    ("index-fancy", lambda xp, x: x[IDX] + x[:, IDX][:, :1] + x[IDX, IDX][:, None], X),
    ("index-mask", lambda xp, x: x[MASK].sum() + x[MASK[:, 0]].sum(0)[0], X),
    ("index-separated", lambda xp, x: x[None][0, :, IDX].sum(0) + x[IDX, 1:3].sum(1), X),
    # contractions and linear algebra
    ("matmul", lambda xp, x: (x @ C).sum(1) + (C.T @ x.T @ x).sum(0)[:3] + x[0] @ C, X),
    ("matmul-stacked", lambda xp, x: xp.matmul(x[None].repeat(2, 0), x.T[None]) .sum(0), X),
    ("dot-inner-outer", lambda xp, x: xp.dot(x, x[0]) + xp.inner(x, x).sum() + xp.outer(x[0], x[1]).sum(1)[:3] + xp.vdot(x, x), X),
    ("einsum", lambda xp, x: xp.einsum("ij,kj->ik", x, x) + xp.einsum("ij,jk", x, C) + xp.einsum("ii", x[:, :3]), X),
    ("einsum-ellipsis", lambda xp, x: xp.einsum("...j,j->...", x, x[0]), X),
    ("tensordot-kron", lambda xp, x: xp.tensordot(x, x, axes=([1], [1])) + xp.kron(x[:2, :2], x[:1, :3]).sum(), X),
    ("solve", lambda xp, x: xp.linalg.solve(x @ x.T + 3 * xp.eye(3), x), X),
    ("solve-vector", lambda xp, x: xp.linalg.solve(SPD, x[0]) + xp.linalg.solve(x[:, :3] + 2 * xp.eye(3), x[:, 0]).sum(), X),
    ("inv-det", lambda xp, x: xp.linalg.inv(x @ x.T + xp.eye(3)) * xp.linalg.det(x[:, :3] + xp.eye(3)), X),
    ("slogdet", lambda xp, x: xp.linalg.slogdet(x @ x.T)[1], X),
    ("cholesky", lambda xp, x: xp.linalg.cholesky(x @ x.T + xp.eye(3)), X),
]


@pytest.mark.parametrize("name, fn, x", CASES, ids=[c[0] for c in CASES])
def test_dual_matches_jax_jvp(name, fn, x):
    T = RNG.normal(size=(3,) + x.shape)
    y = fn(np, Dual(x, T))
    y_ref, ty_ref = jax_jvps(fn, x, T)
    np.testing.assert_allclose(y.value, y_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.tangent, ty_ref, rtol=1e-10, atol=1e-12)


def _jax_scatter(x):
    import jax.numpy as jnp

    return jnp.zeros(5).at[np.array([0, 3, 0])].add(x[0, :3])


def test_ufunc_methods():
    T = RNG.normal(size=(2,) + X.shape)
    d = Dual(X, T)
    cases = [  # each with the same function in jax.numpy terms, for an older JAX without ufunc methods (0.4.30)
        (lambda xp, x: xp.add.reduce(x, axis=1) * xp.multiply.reduce(x, axis=0)[:3],
         lambda xp, x: xp.sum(x, axis=1) * xp.prod(x, axis=0)[:3]),
        (lambda xp, x: xp.maximum.accumulate(x, axis=1) + xp.add.accumulate(x, axis=0),
         lambda xp, x: jax.lax.cummax(x, axis=1) + xp.cumsum(x, axis=0)),
        (lambda xp, x: xp.multiply.outer(x[0], x[1]), lambda xp, x: xp.outer(x[0], x[1])),
    ]
    for fn, ref in cases:
        y = fn(np, d)
        _, ty = jax_jvps(fn if hasattr(jax.numpy.add, "reduce") else ref, X, T)
        np.testing.assert_allclose(y.tangent, ty, rtol=1e-10, atol=1e-12)
    buf = np.zeros_like(d, shape=(5,))
    np.add.at(buf, np.array([0, 3, 0]), d[0, :3])
    _, ty = jax_jvps(lambda xp, x: _jax_scatter(x), X, T)
    np.testing.assert_allclose(buf.tangent, ty, rtol=1e-12)


def test_setitem_slices_masks_and_fancy():
    T = RNG.normal(size=(2,) + X.shape)

    def fill(xp, x):
        if xp is np:
            y = np.zeros_like(x)
            y[0] = x[1] ** 2
            y[1:, 1:] = x[:2, :3] * 2.0
            y[2, 0] = 5.0  # a constant: zero tangent there
            y[MASK] = y[MASK] + 1.0
            y[:, IDX[:2]] = np.sin(x[:, :2])
            y[IDX[:1], :] += x[0]
            return y
        import jax.numpy as jnp

        y = jnp.zeros_like(x)
        y = y.at[0].set(x[1] ** 2)
        y = y.at[1:, 1:].set(x[:2, :3] * 2.0)
        y = y.at[2, 0].set(5.0)
        y = y.at[MASK].set(y[MASK] + 1.0)
        y = y.at[:, IDX[:2]].set(jnp.sin(x[:, :2]))
        y = y.at[IDX[:1], :].add(x[0])
        return y

    y = fill(np, Dual(X, T))
    y_ref, ty_ref = jax_jvps(fill, X, T)
    np.testing.assert_allclose(y.value, y_ref, rtol=1e-12)
    np.testing.assert_allclose(y.tangent, ty_ref, rtol=1e-12)


def test_views_share_writes_like_numpy():
    d = Dual(X.copy(), np.ones((1,) + X.shape))
    row = d[0]
    row[:] = 0.0  # writes through the view, as for an ndarray
    assert np.all(d.value[0] == 0.0) and np.all(d.tangent[:, 0] == 0.0)
    assert np.all(d.tangent[:, 1] == 1.0)


def test_array_attributes_and_iteration():
    d = Dual(X, np.zeros((2,) + X.shape))
    assert d.shape == X.shape and d.ndim == 2 and d.size == 12 and d.dtype == X.dtype and len(d) == 3
    rows = list(d)
    assert len(rows) == 3 and rows[1].shape == (4,)
    np.testing.assert_array_equal(d.T.value, X.T)
    assert isinstance(d > 1.0, np.ndarray) and (d > 1.0).dtype == bool
    np.testing.assert_array_equal(np.argmax(d, axis=0), np.argmax(X, axis=0))
    assert bool(d[0, 0] > 0)


def test_nested_duals_give_second_derivatives():
    # f(x) = sin(x) * x**2 on a dual of duals: value of the inner tangent is f'(x), outer f''(x)
    x0 = np.array([0.3, 1.1])
    outer = Dual(x0, np.ones((1, 2)))
    inner = Dual(outer, np.ones((1, 2)))
    y = np.sin(inner) * inner**2
    d1 = y.tangent.value[0]
    d2 = y.tangent.tangent[0, 0]
    np.testing.assert_allclose(d1, np.cos(x0) * x0**2 + 2 * x0 * np.sin(x0), rtol=1e-13)
    np.testing.assert_allclose(d2, -np.sin(x0) * x0**2 + 4 * x0 * np.cos(x0) + 2 * np.sin(x0), rtol=1e-13)


def test_float32_and_complex_preserved():
    x = X.astype(np.float32)
    y = np.exp(Dual(x, np.ones((1,) + x.shape, np.float32))) * 2.0
    assert y.value.dtype == np.float32 and y.tangent.dtype == np.float32
    z = X + 1j * X[::-1]
    w = np.sin(Dual(z, np.ones((1,) + z.shape, complex)))
    np.testing.assert_allclose(w.tangent[0], np.cos(z), rtol=1e-13)
