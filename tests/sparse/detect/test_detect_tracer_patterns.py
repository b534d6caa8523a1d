"""NumPy tracer (global and local): exact patterns on problems whose answer is known by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from anydiff._errors import MissingPrimalError, MissingRuleError, OutputError, TracingError
from anydiff.sparse.detect import (
    TracerLocalSparsityDetector, TracerSparsityDetector, hessian_sparsity, jacobian_sparsity,
)

G = TracerSparsityDetector()
L = TracerLocalSparsityDetector()


def dense(S):
    assert isinstance(S, sp.csr_array) and S.dtype == bool
    return S.toarray().astype(int)


def brusselator_2d(x, N):
    """The 2-D Brusselator right-hand side (asdex / DifferentialEquations.jl benchmark)."""
    A, B, alpha = 3.4, 1.0, 10.0
    g = np.linspace(0.0, 1.0, N)
    X, Y = np.meshgrid(g, g, indexing="ij")
    forcing = np.where((X - 0.3) ** 2 + (Y - 0.6) ** 2 <= 0.01, 5.0, 0.0)
    u, v = x[: N * N].reshape(N, N), x[N * N:].reshape(N, N)

    def lap(w):
        return np.roll(w, 1, 0) + np.roll(w, -1, 0) + np.roll(w, 1, 1) + np.roll(w, -1, 1) - 4.0 * w

    du = alpha * (N - 1) ** 2 * lap(u) + B + u * u * v - (A + 1.0) * u + forcing
    dv = alpha * (N - 1) ** 2 * lap(v) + A * u - u * u * v
    return np.concatenate([du.ravel(), dv.ravel()])


def brusselator_truth(N):
    """From the stencil with modular index arithmetic (no tracer, no np.roll)."""
    i, j = np.divmod(np.arange(N * N), N)
    cols = [i * N + j, ((i + 1) % N) * N + j, ((i - 1) % N) * N + j, i * N + (j + 1) % N, i * N + (j - 1) % N]
    M = np.zeros((2 * N * N, 2 * N * N), dtype=bool)
    r = np.arange(N * N)
    for c in cols:
        M[r, c] = True  # du on u's stencil
        M[r + N * N, c + N * N] = True  # dv on v's stencil
    M[r, r + N * N] = M[r + N * N, r] = True  # reactions: same grid point
    return M.astype(int)


@pytest.mark.parametrize("N", [3, 5, 8])
def test_brusselator_2d(N):
    x = np.random.default_rng(0).uniform(size=2 * N * N)
    assert np.array_equal(dense(G.jacobian_sparsity(lambda x: brusselator_2d(x, N), x)), brusselator_truth(N))


def test_diagonal_banded_arrowhead():
    x = np.linspace(0.5, 1.5, 6)
    assert np.array_equal(dense(jacobian_sparsity(lambda x: np.exp(x) * np.sin(x), x)), np.eye(6, dtype=int))
    D = lambda w: w - np.concatenate([np.zeros(1), w[:-1]])  # noqa: E731
    band = np.eye(6, dtype=int) + np.eye(6, k=-1, dtype=int)
    assert np.array_equal(dense(jacobian_sparsity(lambda x: D(x**2), x)), band)
    assert np.array_equal(dense(jacobian_sparsity(lambda x: np.diff(x**2), x)),
                          (np.eye(6, k=1, dtype=int) + np.eye(6, dtype=int))[:5])
    arrow = lambda x: np.concatenate([[np.sum(x**2)], x[0] * x[1:]])  # noqa: E731
    expected = np.eye(6, dtype=int)
    expected[0, :] = expected[:, 0] = 1
    assert np.array_equal(dense(jacobian_sparsity(arrow, x)), expected)


def test_reductions_with_axis():
    x = np.arange(1.0, 7.0)
    M = lambda x: x.reshape(2, 3)  # noqa: E731
    rows = [[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]]
    cols = [[1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 0, 1]]
    for red in (np.sum, np.prod, np.mean, np.max, np.min):
        assert np.array_equal(dense(G.jacobian_sparsity(lambda x: red(M(x), axis=1), x)), rows), red
        assert np.array_equal(dense(G.jacobian_sparsity(lambda x: red(M(x), axis=0, keepdims=True).ravel(), x)), cols), red
    assert np.array_equal(dense(G.jacobian_sparsity(lambda x: np.linalg.norm(M(x), axis=1), x)), rows)
    assert dense(G.jacobian_sparsity(lambda x: np.linalg.norm(x)[None], x)).sum() == 6
    cs = dense(G.jacobian_sparsity(lambda x: np.cumsum(M(x), axis=1).ravel(), x))
    assert np.array_equal(cs[:3, :3], np.tril(np.ones((3, 3), int))) and not cs[:3, 3:].any()
    cp = dense(G.jacobian_sparsity(lambda x: np.cumprod(x), x))
    assert np.array_equal(cp, np.tril(np.ones((6, 6), int)))
    d2 = dense(G.jacobian_sparsity(lambda x: np.diff(M(x), axis=0).ravel(), x))
    assert np.array_equal(d2, [[1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 0, 1]])


def test_linear_algebra():
    x = np.arange(1.0, 5.0)
    A = np.arange(6.0).reshape(3, 2) + 1.0
    X = lambda x: x.reshape(2, 2)  # noqa: E731
    assert dense(G.jacobian_sparsity(lambda x: A @ x[:2], x)).tolist() == [[1, 1, 0, 0]] * 3
    assert dense(G.jacobian_sparsity(lambda x: np.dot(x[:2], x[2:])[None], x)).tolist() == [[1, 1, 1, 1]]
    xx = dense(G.jacobian_sparsity(lambda x: (X(x) @ X(x)).ravel(), x))
    # (X X)_ij = sum_k X_ik X_kj: row i of X and column j of X
    expected = [[1, 1, 1, 0], [1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1]]
    assert xx.tolist() == expected
    assert dense(G.jacobian_sparsity(lambda x: np.einsum("ij,jk->ik", X(x), X(x)).ravel(), x)).tolist() == expected
    assert dense(G.jacobian_sparsity(lambda x: np.tensordot(X(x), X(x), axes=1).ravel(), x)).tolist() == expected
    assert dense(G.jacobian_sparsity(lambda x: np.outer(x[:2], x[2:]).ravel(), x)).tolist() == [
        [1, 0, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 0, 1]]
    assert dense(G.jacobian_sparsity(lambda x: np.inner(x[:2], x[2:])[None], x)).tolist() == [[1, 1, 1, 1]]
    kr = dense(G.jacobian_sparsity(lambda x: np.kron(x[:2], x[2:]), x))
    assert kr.tolist() == [[1, 0, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 0, 1]]
    y = np.arange(1.0, 9.0)
    blocks = dense(G.jacobian_sparsity(lambda y: np.concatenate([np.linalg.solve(np.eye(2) + X(y[:4]), y[4:6]), y[6:] ** 2]), y))
    assert blocks[:2, :6].all() and not blocks[:2, 6:].any() and np.array_equal(blocks[2:, 6:], np.eye(2, dtype=int))
    inv = dense(G.jacobian_sparsity(lambda y: np.linalg.inv(X(y[:4])).ravel(), y))
    assert inv[:, :4].all() and not inv[:, 4:].any()


def test_structural_functions_and_indexing():
    x = np.arange(1.0, 7.0)
    perm = lambda f: dense(G.jacobian_sparsity(f, x))  # noqa: E731
    for f, src in [
        (lambda x: x[::-1], [5, 4, 3, 2, 1, 0]),
        (lambda x: np.flip(x), [5, 4, 3, 2, 1, 0]),
        (lambda x: np.roll(x, 2), [4, 5, 0, 1, 2, 3]),
        (lambda x: x.reshape(2, 3).T.ravel(), [0, 3, 1, 4, 2, 5]),
        (lambda x: np.swapaxes(x.reshape(2, 3), 0, 1).ravel(), [0, 3, 1, 4, 2, 5]),
        (lambda x: x[[5, 0, 0]], [5, 0, 0]),
        (lambda x: x[np.array([1, 0, 1, 0, 0, 1], bool)], [0, 2, 5]),
        (lambda x: x.reshape(2, 3)[:, 1], [1, 4]),
        (lambda x: x.reshape(2, 3)[-1, [0, 2]], [3, 5]),
        (lambda x: x.reshape(2, 3)[..., None][1, 2], [5]),
        (lambda x: np.take(x, [2, 3]), [2, 3]),
        (lambda x: np.repeat(x[:2], 2), [0, 0, 1, 1]),
        (lambda x: np.tile(x[:2], 2), [0, 1, 0, 1]),
        (lambda x: np.broadcast_to(x[:1], (3,)), [0, 0, 0]),
        (lambda x: np.stack([x[:2], x[4:]]).ravel(), [0, 1, 4, 5]),
        (lambda x: np.hstack([x[4:], x[:1]]), [4, 5, 0]),
        (lambda x: np.vstack([x[:2], x[2:4]]).ravel(), [0, 1, 2, 3]),
    ]:
        expected = np.zeros((len(src), 6), int)
        expected[np.arange(len(src)), src] = 1
        assert np.array_equal(perm(f), expected)
    padded = perm(lambda x: np.pad(x[:2], 1))
    assert padded.tolist() == [[0] * 6, [1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0] * 6]


def test_in_place_buffers_and_add_at():
    x = np.arange(1.0, 5.0)

    def f_inplace(y, x):
        y[:] = 0.0
        y[0] = x[0] * x[1]
        y[1:] = np.sin(x[1:])

    expected = [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    assert dense(G.jacobian_sparsity(f_inplace, x, y=np.zeros(4))).tolist() == expected
    assert dense(jacobian_sparsity(f_inplace, np.zeros(4), x)).tolist() == expected  # (f, y, x)

    def g(x):
        y = np.zeros_like(x)
        y[1:] = x[:-1] ** 2
        y[0] = x[3]
        z = x.copy()
        z[2] = 1.0  # overwritten: no longer depends on x[2]
        w = np.empty_like(x)
        w[:] = z
        np.add.at(w, [0, 0], x[1])
        return y + w

    assert dense(G.jacobian_sparsity(g, x)).tolist() == [[1, 1, 0, 1], [1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]


def test_contexts_are_constants():
    x = np.ones(3)
    S = G.jacobian_sparsity(lambda x, p: p * np.roll(x, 1), x, contexts=(np.arange(3.0),))
    assert dense(S).tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]


def test_where_maximum_abs_clip_global_vs_local():
    x = np.array([1.0, -2.0, 3.0])
    both = np.ones((3, 3), int)
    np.fill_diagonal(both, 1)
    f = lambda x: np.where(x > 0, x, x[::-1])  # noqa: E731
    assert dense(G.jacobian_sparsity(f, x)).tolist() == [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    assert dense(L.jacobian_sparsity(f, x)).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    m = lambda x: np.maximum(x, x[0])  # noqa: E731
    assert dense(G.jacobian_sparsity(m, x)).tolist() == [[1, 0, 0], [1, 1, 0], [1, 0, 1]]
    assert dense(L.jacobian_sparsity(m, x)).tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 1]]
    mx = lambda x: np.max(x)[None]  # noqa: E731
    assert dense(G.jacobian_sparsity(mx, x)).tolist() == [[1, 1, 1]]
    assert dense(L.jacobian_sparsity(mx, x)).tolist() == [[0, 0, 1]]
    c = lambda x: np.clip(x, -1.0, 2.0)  # noqa: E731
    assert dense(G.jacobian_sparsity(c, x)).tolist() == np.eye(3, dtype=int).tolist()
    assert dense(L.jacobian_sparsity(c, x)).tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 0]]

    def branchy(x):
        if x[0] > 0:
            return x**2
        return np.sum(x)[None]

    assert dense(L.jacobian_sparsity(branchy, x)).tolist() == np.eye(3, dtype=int).tolist()
    assert dense(L.jacobian_sparsity(branchy, -x)).tolist() == [[1, 1, 1]]


def test_value_dependent_indexing_in_the_local_detector():
    x = np.array([0.3, -1.0, 2.0, 0.5])
    S = L.jacobian_sparsity(lambda x: x[np.argsort(x)][:2] * x[np.argmax(x)], x)
    assert dense(S).tolist() == [[0, 1, 1, 0], [1, 0, 1, 0]]
    S = L.jacobian_sparsity(lambda x: x[np.nonzero(x > 0.4)], x)
    assert dense(S).tolist() == [[0, 0, 1, 0], [0, 0, 0, 1]]
    assert dense(L.jacobian_sparsity(lambda x: np.sort(x)[:1], x)).tolist() == [[0, 1, 0, 0]]
    assert dense(G.jacobian_sparsity(lambda x: np.sort(x)[:1], x)).tolist() == [[1, 1, 1, 1]]


def test_more_numpy_functions():
    x = np.arange(1.0, 7.0)
    conv = dense(G.jacobian_sparsity(lambda x: np.convolve(x, [1.0, -1.0], mode="valid"), x))
    assert np.array_equal(conv, (np.eye(6, k=1, dtype=int) + np.eye(6, dtype=int))[:5])
    assert dense(G.jacobian_sparsity(lambda x: np.cross(x[:3], x[3:]), x)).tolist() == [
        [0, 1, 1, 0, 1, 1], [1, 0, 1, 1, 0, 1], [1, 1, 0, 1, 1, 0]]
    assert dense(G.jacobian_sparsity(lambda x: np.einsum("...i,...i", x.reshape(3, 2), x.reshape(3, 2)), x)).tolist() == [
        [1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]]
    bm = dense(G.jacobian_sparsity(lambda x: (x.reshape(3, 1, 2) @ x.reshape(3, 2, 1)).ravel(), x))
    assert bm.tolist() == [[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]]
    assert dense(G.jacobian_sparsity(lambda x: np.round(x) + np.sinc(x[0]), x))[:, 0].all()
    assert dense(G.jacobian_sparsity(lambda x: np.round(x) + np.sinc(x[0]), x))[:, 1:].sum() == 0


def test_hessian_patterns():
    n = 7
    x = np.linspace(-1.0, 1.0, n)
    rosen = lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa: E731
    tri = np.eye(n, dtype=int) + np.eye(n, k=1, dtype=int) + np.eye(n, k=-1, dtype=int)
    assert np.array_equal(dense(hessian_sparsity(rosen, x, detector=G)), tri)
    h = lambda f: dense(G.hessian_sparsity(f, np.ones(3)))  # noqa: E731
    assert h(lambda x: np.sin(x[0]) + np.sin(x[1])).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert h(lambda x: x[0] * x[1] + x[2]).tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 0]]
    assert h(lambda x: x[0] / x[1]).tolist() == [[0, 1, 0], [1, 1, 0], [0, 0, 0]]
    assert h(lambda x: np.sum(x) * 2.0 + 1.0).tolist() == [[0] * 3] * 3
    assert h(lambda x: np.prod(x[:2])).tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]  # a superset of [[0,1],[1,0]]
    assert h(lambda x: x @ x).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert h(lambda x: np.exp(np.sum(x))).tolist() == [[1] * 3] * 3
    with pytest.raises(OutputError):
        G.hessian_sparsity(lambda x: x**2, np.ones(3))


def test_errors_name_the_problem():
    def branchy(x):
        if x[0] > 0:
            return x
        return -x

    with pytest.raises(MissingPrimalError, match="Hint.*TracerLocalSparsityDetector"):
        G.jacobian_sparsity(branchy, np.ones(3))
    with pytest.raises(TracingError, match="float.*drops its dependencies(.|\n)*Hint"):  # local too
        G.jacobian_sparsity(lambda x: x * float(x[0]), np.ones(3))
    with pytest.raises(MissingRuleError, match="gradient(.|\n)*Hint.*differentiate_with"):
        G.jacobian_sparsity(lambda x: np.gradient(x), np.ones(3))
    with pytest.raises(MissingPrimalError, match="Hint.*Local"):
        G.jacobian_sparsity(lambda x: x[np.argsort(x)], np.ones(3))
    with pytest.raises(MissingPrimalError, match="value-dependent shape"):
        G.jacobian_sparsity(lambda x: x[np.nonzero(x)], np.ones(3))
    with pytest.raises(MissingRuleError, match="frexp|rule"):
        G.jacobian_sparsity(lambda x: np.frexp(x)[0], np.ones(3))
    with pytest.raises(TracingError, match="differentiate_with"):
        def writes_into_plain(x, zeros=np.zeros):  # np.zeros(3) works; a bound default does not
            y = zeros(3)
            y[0] = x[0]
            return y
        G.jacobian_sparsity(writes_into_plain, np.ones(3))


def test_detectors_are_hashable_frozen_dataclasses():
    assert G == TracerSparsityDetector() and hash(G) == hash(TracerSparsityDetector())
    assert L != G and len({G, L}) == 2


def test_many_paths_to_one_input_are_not_lost():
    # 256 (or 2**16) contributions of x[0] to one output: counts must not wrap around to zero
    for k in (256, 2**16):
        S = G.jacobian_sparsity(lambda x: np.sum(np.broadcast_to(x[0], (k,)))[None], np.ones(3))
        assert dense(S).tolist() == [[1, 0, 0]]
        H = G.hessian_sparsity(lambda x: np.sum(np.broadcast_to(x[0], (k,)) ** 2), np.ones(3))
        assert dense(H).tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 0]]
    A = np.ones((300, 300))
    assert dense(G.jacobian_sparsity(lambda x: A @ np.broadcast_to(x[:1], (300,)), np.ones(2)))[:, 0].all()
