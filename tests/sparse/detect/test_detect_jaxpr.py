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


def test_lazy_index_sets_exact():
    """Index sets kept as lazy unions of row views: many terms (materialized past the cap),
    partial views (concatenations with constants, ``.at[].set``), concrete operands."""
    n = 12
    x = jnp.linspace(0.5, 1.5, n)
    i = np.arange(n)
    # 12 rolled copies: more terms than kept lazily
    S = J.jacobian_sparsity(lambda x: sum(jnp.roll(x, k) * (k + 1.0) for k in range(12)) * x[0], x).toarray()
    assert S.all()
    S = J.jacobian_sparsity(lambda x: sum(jnp.roll(x, k) for k in range(10)), x).toarray()
    assert np.array_equal(S, ((i[:, None] - i[None, :]) % n) < 10)
    # concatenation with constant blocks, products of two strided views
    S = J.jacobian_sparsity(lambda x: jnp.concatenate([jnp.zeros(2), x[::2] * x[1::2], jnp.full(3, 7.0)]), x).toarray()
    truth = np.zeros((2 + n // 2 + 3, n), dtype=bool)
    truth[2 + np.arange(n // 2), 2 * np.arange(n // 2)] = True
    truth[2 + np.arange(n // 2), 2 * np.arange(n // 2) + 1] = True
    assert np.array_equal(S, truth)
    # partial views of one base merged, then united with the full view
    S = J.jacobian_sparsity(lambda x: x.at[2:].set(x[:-2] ** 2) + jnp.roll(x, 1), x).toarray()
    truth = np.zeros((n, n), dtype=bool)
    truth[i, (i - 1) % n] = True
    truth[i[2:], i[:-2]] = True
    truth[[0, 1], [0, 1]] = True
    assert np.array_equal(S, truth)
    # concrete arithmetic (evaluated with NumPy) feeding a gather and a product
    idx = (jnp.arange(4) * 3 + 1) % n
    S = J.jacobian_sparsity(lambda x: x[idx] * (jnp.arange(4.0) * 2.0 - 2.0), x).toarray()
    assert np.array_equal(S, np.eye(n, dtype=bool)[[1, 4, 7, 10]])
    # Brusselator: the stencil pattern, same as the NumPy tracer's, at a larger size
    N = 8
    z = np.random.default_rng(2).uniform(size=2 * N * N)
    S = J.jacobian_sparsity(brusselator_2d(jnp, N), z)
    T = TracerSparsityDetector().jacobian_sparsity(brusselator_2d(np, N), z)
    assert (S != T).nnz == 0 and S.has_canonical_format


def test_convolutions_sort_and_loops():
    rng = np.random.default_rng(3)
    lap = jnp.asarray([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])[None, None]
    S = J.jacobian_sparsity(lambda x: jax.lax.conv_general_dilated(x.reshape(1, 1, 5, 5), lap, (1, 1), "SAME").ravel(),
                            jnp.ones(25))
    i, j = np.divmod(np.arange(25), 5)
    truth = (np.abs(i[:, None] - i[None, :]) + np.abs(j[:, None] - j[None, :])) <= 1  # 5-point stencil, zero padding
    assert np.array_equal(S.toarray(), truth)  # the kernel's constant zeros are structural
    img = rng.uniform(size=2 * 5 * 4 * 3)
    for f in [
        lambda x: jax.lax.conv_general_dilated(x.reshape(2, 5, 4, 3), x[:72].reshape(2, 3, 3, 4), (1, 2), ((1, 0), (2, 1)),
                                               dimension_numbers=("NHWC", "HWIO", "NHWC"), lhs_dilation=(1, 2)).ravel(),
        lambda x: jax.lax.conv_general_dilated(x.reshape(2, 3, 5, 4), jnp.ones((4, 3, 2, 3)), (1, 1), "SAME").ravel(),
        lambda x: jnp.convolve(x[:7], x[7:10] ** 2, mode="same"),
        lambda x: jax.lax.scan(lambda c, xi: (c + xi, c * xi), 1.0, x)[1],
        lambda x: jax.lax.fori_loop(0, 3, lambda i, c: jnp.roll(c, 1) * c, x),
        lambda x: jax.lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * x[c[0]]), (0, 1.0))[1][None],
    ]:
        S = J.jacobian_sparsity(f, jnp.asarray(img)).toarray()
        Jn = np.abs(np.asarray(jax.jacfwd(f)(jnp.asarray(img)))).reshape(S.shape) > 0
        assert not (Jn & ~S).any()
        assert (S & ~Jn).sum() <= 0.1 * S.sum() + 3  # not just dense
    S = J.jacobian_sparsity(lambda x: jnp.sort(x.reshape(6, 20), axis=0).ravel(), jnp.asarray(img)).toarray()
    column = np.arange(120) % 20
    assert np.array_equal(S, column[:, None] == column[None, :])  # global: any element of its column
    # indices computed from x (argmax): unknown in a global pattern, so any element of the source
    S = J.jacobian_sparsity(lambda x: x[:3][jnp.argmax(x[3:])] * x[4:], jnp.ones(6)).toarray()
    assert np.array_equal(S, [[1, 1, 1, 0, 1, 0], [1, 1, 1, 0, 0, 1]])


def test_hessian_patterns():
    n = 6
    rosen = lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa: E731
    tri = np.eye(n, dtype=int) + np.eye(n, k=1, dtype=int) + np.eye(n, k=-1, dtype=int)
    assert np.array_equal(dense(J.hessian_sparsity(rosen, jnp.ones(n))), tri)
    assert dense(J.hessian_sparsity(lambda x: jnp.sin(x[0]) + x[1] * x[2], jnp.ones(3))).tolist() == [
        [1, 0, 0], [0, 0, 1], [0, 1, 0]]


def test_errors():
    # bit-level reinterpretation (jnp.frexp): no rule, rather than a silently wrong pattern
    with pytest.raises(MissingRuleError, match="bitcast_convert_type(.|\n)*Hint.*differentiate_with"):
        J.jacobian_sparsity(lambda x: jnp.frexp(x)[0], jnp.ones(3))
    with pytest.raises(MissingRuleError, match="while_loop"):
        J.jacobian_sparsity(lambda x: jax.lax.while_loop(lambda c: c[0] < 1.0, lambda c: c * 2.0, x), jnp.ones(3))
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


def test_random_keys_inside_f():
    # PRNG keys have an extended dtype: constants of the walk that must stay JAX arrays
    f = lambda x: x * jax.random.normal(jax.random.PRNGKey(1), (3,)) + jax.random.uniform(jax.random.key(2), (3,)) * x[0]  # noqa: E731
    assert np.array_equal(J.jacobian_sparsity(f, jnp.ones(3)).toarray(), [[1, 0, 0], [1, 1, 0], [1, 0, 1]])


def test_default_detector_falls_back_to_jaxpr_for_numpy_inputs():
    import math

    import anydiff as ad

    x = np.ones(4)  # a NumPy input to jax.numpy code: the NumPy tracer fails, the jaxpr detector runs
    assert np.array_equal(ad.jacobian_sparsity(lambda v: jnp.diff(v**2), x).toarray(), np.eye(3, 4, dtype=bool) | np.eye(3, 4, 1, dtype=bool))
    H = ad.hessian_sparsity(lambda v: jnp.sum(v[1:] * v[:-1]), x).toarray()
    assert np.array_equal(H, np.eye(4, k=1, dtype=bool) | np.eye(4, k=-1, dtype=bool))
    with pytest.raises(ad.TracingError, match="float"):  # float(): no fallback, the tracer's error
        ad.jacobian_sparsity(lambda v: np.array([math.sin(float(v[0]))]), x)

    def plain_buffer(v, zeros=np.zeros):  # np.zeros bound where anydiff cannot see it
        buf = zeros(2)
        buf[0] = v[0]
        return buf

    with pytest.raises(ad.TracingError, match="differentiate_with"):  # neither NumPy- nor JAX-traceable
        ad.jacobian_sparsity(plain_buffer, x)
