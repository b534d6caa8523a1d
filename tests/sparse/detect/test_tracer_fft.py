"""np.fft in the NumPy sparsity tracers: exact patterns (cropping/padding by n and s, axis
arguments, real transforms), no second-order terms, and supersets of jax.jacfwd's nonzeros."""

from __future__ import annotations

import numpy as np
import pytest

from anydiff.sparse.detect._tracer import TracerLocalSparsityDetector, TracerSparsityDetector

G, L = TracerSparsityDetector(), TracerLocalSparsityDetector()
RNG = np.random.default_rng(3)


def dense(S):
    return S.toarray().astype(int)


def both(f, x):
    """The global and the local pattern, which agree for linear transforms."""
    Sg, Sl = dense(G.jacobian_sparsity(f, x)), dense(L.jacobian_sparsity(f, x))
    assert np.array_equal(Sg, Sl)
    return Sg


def ones(m, n, cols=None):
    out = np.zeros((m, n), int)
    out[:, slice(None) if cols is None else slice(0, cols)] = 1
    return out


def depends(in_shape, out_shape, same):
    """Pattern where output index o depends on input index i iff same(o, i) (index tuples)."""
    I, O = list(np.ndindex(*in_shape)), list(np.ndindex(*out_shape))
    return np.array([[int(same(o, i)) for i in I] for o in O])


X6 = RNG.uniform(0.5, 1.5, 6)


@pytest.mark.parametrize("f, expected", [
    (lambda x: np.fft.fft(x).real, ones(6, 6)),
    (lambda x: np.fft.ifft(x, norm="ortho").imag, ones(6, 6)),
    (lambda x: np.fft.fft(x, n=3).real, ones(3, 6, cols=3)),  # cropped: the last inputs are unused
    (lambda x: np.fft.fft(x, n=8).real, ones(8, 6)),  # zero padded
    (lambda x: np.fft.rfft(x).real, ones(4, 6)),
    (lambda x: np.fft.rfft(x, n=4).imag, ones(3, 6, cols=4)),
    (lambda x: np.fft.irfft(x), ones(10, 6)),
    (lambda x: np.fft.irfft(x, n=4), ones(4, 6, cols=3)),  # n // 2 + 1 inputs read
    (lambda x: np.fft.hfft(x, n=5), ones(5, 6, cols=3)),
    (lambda x: np.fft.ihfft(x).real, ones(4, 6)),
    (lambda x: np.fft.fftshift(x), np.roll(np.eye(6, dtype=int), 3, axis=0)),
    (lambda x: np.fft.ifftshift(np.fft.fftshift(x)), np.eye(6, dtype=int)),
])
def test_one_dimensional_patterns(f, expected):
    assert np.array_equal(both(f, X6), expected)


X23 = RNG.uniform(0.5, 1.5, (2, 3))
X232 = RNG.uniform(0.5, 1.5, (2, 3, 2))


@pytest.mark.parametrize("f, x, out_shape, same", [
    (lambda x: np.fft.fft(x, axis=0).real, X23, (2, 3), lambda o, i: o[1] == i[1]),
    (lambda x: np.fft.fft(x).real, X23, (2, 3), lambda o, i: o[0] == i[0]),
    (lambda x: np.fft.rfft(x, axis=0).real, X23, (2, 3), lambda o, i: o[1] == i[1]),
    (lambda x: np.fft.irfft(x, n=3, axis=0), X23, (3, 3), lambda o, i: o[1] == i[1]),
    (lambda x: np.fft.fft2(x).real, X232, (2, 3, 2), lambda o, i: o[0] == i[0]),
    (lambda x: np.fft.ifft2(x, axes=(0, 2)).real, X232, (2, 3, 2), lambda o, i: o[1] == i[1]),
    (lambda x: np.fft.fftn(x).real, X232, (2, 3, 2), lambda o, i: True),
    (lambda x: np.fft.fftn(x, axes=(0,)).real, X232, (2, 3, 2), lambda o, i: o[1:] == i[1:]),
    (lambda x: np.fft.fftn(x, s=(2, 1), axes=(1, 2)).real, X232, (2, 2, 1), lambda o, i: o[0] == i[0] and i[1] < 2 and i[2] == 0),
    (lambda x: np.fft.rfftn(x).real, X232, (2, 3, 2), lambda o, i: True),
    (lambda x: np.fft.rfft2(x, s=(2, 4)).real, X232, (2, 2, 3), lambda o, i: o[0] == i[0] and i[1] < 2),
    (lambda x: np.fft.irfftn(x, axes=(0, 1)), X232, (2, 4, 2), lambda o, i: o[2] == i[2]),
    (lambda x: np.fft.irfft2(x, s=(2, 2)), X232, (2, 2, 2), lambda o, i: o[0] == i[0] and i[1] < 2),
    (lambda x: np.fft.fftshift(x, axes=1), X232, (2, 3, 2),
     lambda o, i: o[0] == i[0] and o[2] == i[2] and o[1] == (i[1] + 1) % 3),
])
def test_multi_axis_patterns(f, x, out_shape, same):
    assert np.shape(f(x)) == out_shape
    assert np.array_equal(both(lambda v: np.ravel(f(v)), x), depends(x.shape, out_shape, same))


def test_imag_of_real_values_is_empty_locally():
    assert L.jacobian_sparsity(lambda x: np.imag(x * 2.0), X6).nnz == 0
    assert both(lambda x: np.imag(x * 1j), X6).sum() == 6


def test_transforms_are_linear_in_the_hessian_pattern():
    H = G.hessian_sparsity(lambda x: np.sum(np.fft.fft(x.reshape(2, 3), axis=0).real), X23.ravel())
    assert H.nnz == 0
    H = G.hessian_sparsity(lambda x: np.sum(np.fft.fft(x.reshape(2, 3), axis=0).real ** 2), X23.ravel())
    assert np.array_equal(dense(H), np.kron(np.ones((2, 2), int), np.eye(3, dtype=int)))


def test_supersets_of_jax_jacobians():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    x = RNG.normal(size=12)
    for fn in (lambda xp, v: xp.fft.rfft2(v.reshape(3, 4), s=(3, 3)).imag.ravel(),
               lambda xp, v: xp.fft.irfft(v.reshape(3, 4), axis=0).ravel(),
               lambda xp, v: xp.fft.fftn(v.reshape(2, 3, 2), axes=(0, 2)).real.ravel() * v[0]):
        S = dense(G.jacobian_sparsity(lambda v: fn(np, v), x))
        J = np.asarray(jax.jacfwd(lambda v: fn(jnp, v))(x))
        assert S.shape == J.shape
        assert not np.any((np.abs(J) > 1e-12) & (S == 0))
