"""jaxpr detector: exact patterns of JAX functions, unsupported primitives, Hessians;
DenseSparsityDetector: thresholded dense derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from anydiff._errors import MissingRuleError, UnsupportedOperationError
from anydiff.sparse.detect import DenseSparsityDetector, JaxSparsityDetector, TracerSparsityDetector

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy
J = JaxSparsityDetector()


def dense(S):
    return S.toarray().astype(int)


def brusselator_2d(xp, N):
    A, B, alpha = 3.4, 1.0, 10.0
    g = np.linspace(0.0, 1.0, N)
    X, Y = np.meshgrid(g, g, indexing="ij")
    forcing = np.where((X - 0.3) ** 2 + (Y - 0.6) ** 2 <= 0.01, 5.0, 0.0)

    def lap(w):
        return xp.roll(w, 1, 0) + xp.roll(w, -1, 0) + xp.roll(w, 1, 1) + xp.roll(w, -1, 1) - 4.0 * w

    def f(x):
        u, v = x[: N * N].reshape(N, N), x[N * N:].reshape(N, N)
        du = alpha * lap(u) + B + u * u * v - (A + 1.0) * u + forcing
        dv = alpha * lap(v) + A * u - u * u * v
        return xp.concatenate([du.ravel(), dv.ravel()])

    return f


@pytest.mark.parametrize("N", [3, 6])
def test_brusselator_same_as_numpy_tracer_and_stencil(N):
    x = np.random.default_rng(1).uniform(size=2 * N * N)
    S = J.jacobian_sparsity(brusselator_2d(jnp, N), jnp.asarray(x))
    T = TracerSparsityDetector().jacobian_sparsity(brusselator_2d(np, N), x)
    assert (S != T).nnz == 0
    # each row: 5 stencil entries in its own species + 1 reaction entry in the other
    assert np.array_equal(dense(S).sum(axis=1), np.full(2 * N * N, 6))


def test_known_patterns():
    x = jnp.arange(1.0, 5.0)
    eye = np.eye(4, dtype=int)
    assert np.array_equal(dense(J.jacobian_sparsity(lambda x: jnp.exp(x) * jnp.sin(x), x)), eye)
    assert dense(J.jacobian_sparsity(lambda x: jnp.diff(x**2), x)).tolist() == [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    assert dense(J.jacobian_sparsity(lambda x: jnp.cumsum(x), x)).tolist() == np.tril(np.ones((4, 4), int)).tolist()
    assert dense(J.jacobian_sparsity(lambda x: x[jnp.array([3, 0])], x)).tolist() == [[0, 0, 0, 1], [1, 0, 0, 0]]
    assert dense(J.jacobian_sparsity(lambda x: x.at[1].set(2.0) * x[2], x)).tolist() == [
        [1, 0, 1, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 1, 1]]
    assert dense(J.jacobian_sparsity(lambda x: x.at[0].add(x[3]), x)).tolist() == [
        [1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    # colliding indices: x[1], x[2] both into 0; x[3] into 2
    assert dense(J.jacobian_sparsity(lambda x: jnp.zeros(4).at[jnp.array([0, 0, 2])].add(x[1:] ** 2), x)).tolist() == [
        [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert dense(J.jacobian_sparsity(lambda x: jnp.where(x > 2, x, x[::-1]), x)).tolist() == [
        [1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1]]
    assert dense(J.jacobian_sparsity(lambda x: jnp.pad(x[:2], 1), x)).tolist() == [
        [0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    X = lambda x: x.reshape(2, 2)  # noqa: E731
    assert dense(J.jacobian_sparsity(lambda x: (X(x) @ X(x)).ravel(), x)).tolist() == [
        [1, 1, 1, 0], [1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1]]
    assert dense(J.jacobian_sparsity(lambda x: jnp.max(X(x), axis=1), x)).tolist() == [[1, 1, 0, 0], [0, 0, 1, 1]]
    assert dense(J.jacobian_sparsity(lambda x: jnp.outer(x[:2], x[2:]).ravel(), x)).tolist() == [
        [1, 0, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 0, 1]]
    assert dense(J.jacobian_sparsity(lambda x, p: p * jnp.roll(x, 1), x, contexts=(jnp.ones(4),))).tolist() == [
        [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
    assert dense(J.jacobian_sparsity(jax.jit(lambda x: jax.nn.relu(x)[::2]), x)).tolist() == [[1, 0, 0, 0], [0, 0, 1, 0]]


def test_hessian_patterns():
    n = 6
    rosen = lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa: E731
    tri = np.eye(n, dtype=int) + np.eye(n, k=1, dtype=int) + np.eye(n, k=-1, dtype=int)
    assert np.array_equal(dense(J.hessian_sparsity(rosen, jnp.ones(n))), tri)
    assert dense(J.hessian_sparsity(lambda x: jnp.sin(x[0]) + x[1] * x[2], jnp.ones(3))).tolist() == [
        [1, 0, 0], [0, 0, 1], [0, 1, 0]]


def test_errors():
    with pytest.raises(MissingRuleError, match="sort"):
        J.jacobian_sparsity(jnp.sort, jnp.ones(3))
    with pytest.raises(UnsupportedOperationError, match="Hint"):
        J.jacobian_sparsity(lambda y, x: None, jnp.ones(3), y=jnp.ones(3))
    assert J == JaxSparsityDetector() and hash(J) == hash(JaxSparsityDetector())


def test_dense_detector_thresholds_a_dense_jacobian_and_hessian():
    ad = pytest.importorskip("anydiff")
    if not hasattr(ad, "AutoFiniteDiff"):
        pytest.skip("core backends not available")
    D = DenseSparsityDetector(ad.AutoFiniteDiff(method="complex"))
    x = np.arange(1.0, 5.0)
    assert dense(D.jacobian_sparsity(lambda x: x[::-1] * x[0], x)).tolist() == [
        [1, 0, 0, 1], [1, 0, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]]
    # local: x[1] == 0 makes the x[0] * x[1] entry in row 0 vanish at this point
    z = np.array([1.0, 0.0, 2.0])
    assert dense(D.jacobian_sparsity(lambda x: x[:2] * x[1:], z)).tolist() == [
        [0, 1, 0], [0, 1, 0]]
    Dh = DenseSparsityDetector(ad.AutoFiniteDiff(), atol=1e-4)
    H = Dh.hessian_sparsity(lambda x: np.sum(x[1:] * x[:-1]), x)
    assert dense(H).tolist() == [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]]
    assert D == DenseSparsityDetector(ad.AutoFiniteDiff(method="complex")) and hash(D) == hash(D)
