"""np.fft and matrix decompositions (pinv, eigh, eigvalsh, svd, svdvals, qr) on duals,
against JAX forward mode (64-bit) and jax.hessian for nested duals."""

from __future__ import annotations

import numpy as np
import pytest
from jaxref import jax, jax_jvps

import anydiff as ad
from anydiff.dual import Dual

RNG = np.random.default_rng(11)
X = RNG.uniform(0.5, 1.5, (3, 4))
X3 = RNG.normal(size=(2, 3, 4))
TOL = {"rtol": 1e-10, "atol": 1e-12}


def _cat(xp, parts):
    return xp.concatenate([xp.ravel(p) for p in parts])


FFT_CASES = [
    ("fft-1d", lambda xp, x: _cat(xp, [xp.fft.fft(x), xp.fft.ifft(x, axis=0, norm="ortho"), xp.fft.fft(x, n=6),
                                       xp.fft.ifft(x, n=2, axis=0, norm="forward"), xp.fft.fft(x * (1 + 2j))]), X),
    ("rfft-1d", lambda xp, x: _cat(xp, [xp.fft.rfft(x), xp.fft.irfft(x), xp.fft.irfft(x, n=5, axis=0),
                                        xp.fft.rfft(x, n=7, axis=0), xp.fft.irfft(x * (1 - 1j))]), X),
    ("hfft", lambda xp, x: _cat(xp, [xp.fft.hfft(x), xp.fft.ihfft(x, axis=0), xp.fft.hfft(x * 1j, n=4)]), X),
    ("fft-2d", lambda xp, x: _cat(xp, [xp.fft.fft2(x), xp.fft.ifft2(x, s=(4, 5)), xp.fft.rfft2(x),
                                       xp.fft.irfft2(x), xp.fft.fft2(x, axes=(1, 0))]), X),
    ("fft-nd", lambda xp, x: _cat(xp, [xp.fft.fftn(x), xp.fft.ifftn(x, axes=(0, 2)), xp.fft.rfftn(x, s=(3, 4), axes=(1, 2)),
                                       xp.fft.irfftn(x), xp.fft.fftn(x, s=(2, 2), axes=(0, 1)), xp.fft.ifftn(x, axes=(-1,))]), X3),
    ("fftshift", lambda xp, x: _cat(xp, [xp.fft.fftshift(x), xp.fft.ifftshift(x, axes=1), xp.fft.fftshift(x, axes=(0, 2))]), X3),
]


@pytest.mark.parametrize("name, fn, x", FFT_CASES, ids=[c[0] for c in FFT_CASES])
def test_fft_matches_jax_jvp(name, fn, x):
    T = RNG.normal(size=(3,) + x.shape)
    y = fn(np, Dual(x, T))
    y_ref, ty_ref = jax_jvps(fn, x, T)
    np.testing.assert_allclose(y.value, y_ref, **TOL)
    np.testing.assert_allclose(y.tangent, ty_ref, **TOL)
    np.testing.assert_allclose(y.value, fn(np, x), **TOL)


@pytest.mark.parametrize("name, fn, x", FFT_CASES, ids=[c[0] for c in FFT_CASES])
def test_fft_float32_preserved(name, fn, x):
    x32 = x.astype(np.float32)
    y = fn(np, Dual(x32, np.ones((1,) + x.shape, np.float32)))
    assert y.value.dtype == fn(np, x32).dtype == y.tangent.dtype


def test_fft_hessian_nested_duals():
    w = RNG.normal(size=X.shape)

    def f(xp, x):
        z = xp.fft.rfft2(x**2)
        return xp.sum(w * xp.real(xp.fft.fft(xp.sin(x)))) + xp.sum(xp.real(z * xp.conj(z))) + xp.sum(xp.fft.irfft(x * x[0]))

    import jax.numpy as jnp

    H = ad.hessian(lambda v: f(np, v), ad.AutoNumPy(), X)
    np.testing.assert_allclose(H, jax.hessian(lambda v: f(jnp, v))(X), rtol=1e-9, atol=1e-10)


# ------------------------------------------------------------------ decompositions
def _jax_jvp_tree(fn, x, T):
    import jax.numpy as jnp

    y = fn(jnp, jnp.asarray(x))
    tys = [jax.jvp(lambda v: fn(jnp, v), (jnp.asarray(x),), (jnp.asarray(t),))[1] for t in T]
    return y, tys


def _spd(xp, x):
    return x @ x.T + xp.diag(xp.array([1.0, 2.0, 3.0], dtype=x.dtype))


DECOMP_CASES = [  # outputs invariant to the sign/phase choices of the decomposition
    ("pinv-tall", lambda xp, x: xp.linalg.pinv(x.T), X),
    ("pinv-wide", lambda xp, x: xp.linalg.pinv(x) @ x[:, :2], X),
    ("pinv-square", lambda xp, x: xp.linalg.pinv(x[:, 1:]), X),
    ("pinv-rank-deficient", lambda xp, x: xp.linalg.pinv(xp.outer(x[0], x[1]) + xp.outer(x[1], x[2])), X),
    ("eigvalsh", lambda xp, x: xp.linalg.eigvalsh(_spd(xp, x)), X),
    ("eigh-values", lambda xp, x: xp.linalg.eigh(_spd(xp, x))[0], X),
    ("eigh-matrix-function", lambda xp, x: (lambda w, V: (V * xp.exp(w)) @ V.T)(*xp.linalg.eigh(_spd(xp, x))), X),
    ("eigh-projector", lambda xp, x: (lambda V: V[:, :2] @ V[:, :2].T)(xp.linalg.eigh(_spd(xp, x))[1]), X),
    ("eigh-upper", lambda xp, x: xp.linalg.eigvalsh(_spd(xp, x), UPLO="U"), X),
    ("svdvals", lambda xp, x: xp.linalg.svd(x, compute_uv=False) + xp.linalg.svd(x.T, compute_uv=False), X),
    ("svd-tall", lambda xp, x: (lambda U, s, Vh: (U * xp.sin(s)) @ Vh)(*xp.linalg.svd(x.T, full_matrices=False)), X),
    ("svd-wide", lambda xp, x: (lambda U, s, Vh: _cat(xp, [(U * s**3) @ Vh, Vh.T @ Vh]))(*xp.linalg.svd(x, full_matrices=False)), X),
    ("svd-square", lambda xp, x: (lambda U, s, Vh: U @ U.T * s[0] + Vh.T @ (Vh * s[:, None]))(*xp.linalg.svd(x[:, :3])), X),
    ("qr-r", lambda xp, x: _cat(xp, [xp.abs(xp.linalg.qr(x.T)[1]), (lambda Q, R: xp.abs(Q) @ xp.abs(R) + Q @ Q.T @ x.T)(*xp.linalg.qr(x.T))]), X),
]


@pytest.mark.parametrize("name, fn, x", DECOMP_CASES, ids=[c[0] for c in DECOMP_CASES])
def test_decompositions_match_jax_jvp(name, fn, x):
    T = RNG.normal(size=(3,) + x.shape)
    y = fn(np, Dual(x, T))
    try:
        y_ref, ty_ref = jax_jvps(fn, x, T)
    except NotImplementedError as err:  # older JAX (0.4.30): no JVP of a full square SVD to compare with
        pytest.skip(f"no JAX reference: {err}")
    np.testing.assert_allclose(y.value, y_ref, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(y.tangent, ty_ref, rtol=1e-8, atol=1e-10)


def _align(cols_np, cols_ref, axis):
    """Signs making the singular/eigen vectors of NumPy and JAX agree (``axis``: the vector axis)."""
    return np.sign(np.sum(cols_np * cols_ref, axis=axis, keepdims=True))


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3)])
def test_svd_vectors_match_jax_up_to_sign(shape):
    A = RNG.normal(size=shape)
    T = RNG.normal(size=(2,) + shape)
    U, s, Vh = np.linalg.svd(Dual(A, T), full_matrices=False)
    (Ur, sr, Vhr), tys = _jax_jvp_tree(lambda xp, a: xp.linalg.svd(a, full_matrices=False), A, T)
    su, sv = _align(U.value, np.asarray(Ur), 0), _align(Vh.value, np.asarray(Vhr), 1)
    np.testing.assert_allclose(U.value, np.asarray(Ur) * su, **TOL)
    np.testing.assert_allclose(s.value, sr, **TOL)
    for b, (dU, ds, dVh) in enumerate(tys):
        np.testing.assert_allclose(U.tangent[b], np.asarray(dU) * su, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(s.tangent[b], ds, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(Vh.tangent[b], np.asarray(dVh) * sv, rtol=1e-9, atol=1e-11)


def test_eigh_vectors_match_jax_up_to_sign_and_read_one_triangle():
    A = RNG.normal(size=(4, 4))  # not symmetric: NumPy reads the lower triangle only
    T = RNG.normal(size=(2, 4, 4))
    w, V = np.linalg.eigh(Dual(A, T))

    def ref(xp, a):  # what np.linalg.eigh(a) computes
        return xp.linalg.eigh(xp.tril(a) + xp.tril(a, -1).T)

    (wr, Vr), tys = _jax_jvp_tree(ref, A, T)
    sv = _align(V.value, np.asarray(Vr), 0)
    np.testing.assert_allclose(w.value, wr, **TOL)
    np.testing.assert_allclose(V.value, np.asarray(Vr) * sv, **TOL)
    for b, (dw, dV) in enumerate(tys):
        np.testing.assert_allclose(w.tangent[b], dw, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(V.tangent[b], np.asarray(dV) * sv, rtol=1e-9, atol=1e-11)


def test_qr_matches_jax():
    A = RNG.normal(size=(5, 3))
    T = RNG.normal(size=(2, 5, 3))
    Q, R = np.linalg.qr(Dual(A, T))
    (Qr, Rr), tys = _jax_jvp_tree(lambda xp, a: xp.linalg.qr(a), A, T)
    sr = np.sign(np.diag(R.value) * np.diag(np.asarray(Rr)))  # LAPACK sign conventions
    np.testing.assert_allclose(Q.value, np.asarray(Qr) * sr, **TOL)
    np.testing.assert_allclose(R.value, np.asarray(Rr) * sr[:, None], **TOL)
    for b, (dQ, dR) in enumerate(tys):
        np.testing.assert_allclose(Q.tangent[b], np.asarray(dQ) * sr, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(R.tangent[b], np.asarray(dR) * sr[:, None], rtol=1e-9, atol=1e-11)
    r_only = np.linalg.qr(Dual(A, T), mode="r")
    np.testing.assert_allclose(r_only.tangent, R.tangent, **TOL)


@pytest.mark.parametrize("name", ["pinv-tall", "pinv-wide", "eigvalsh", "eigh-matrix-function", "svdvals",
                                  "svd-tall", "svd-wide", "qr-r"])
def test_decomposition_hessians_nested_duals(name):
    fn, x = next((f, x) for n, f, x in DECOMP_CASES if n == name)
    w = RNG.normal(size=np.shape(fn(np, x)))
    import jax.numpy as jnp

    H = ad.hessian(lambda v: np.sum(np.sin(fn(np, v)) * w), ad.AutoNumPy(), x)
    H_ref = jax.hessian(lambda v: jnp.sum(jnp.sin(fn(jnp, v)) * w))(x)
    np.testing.assert_allclose(H, H_ref, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name, fn, x", DECOMP_CASES, ids=[c[0] for c in DECOMP_CASES])
def test_decompositions_float32_preserved(name, fn, x):
    x32 = x.astype(np.float32)
    y = fn(np, Dual(x32, np.ones((1,) + x.shape, np.float32)))
    assert y.value.dtype == np.float32 and y.tangent.dtype == np.float32


def test_stacked_matrices():
    A = RNG.normal(size=(2, 4, 3))
    T = RNG.normal(size=(2,) + A.shape)

    def fn(xp, a):
        s = xp.linalg.svd(a, compute_uv=False)
        w = xp.linalg.eigvalsh(xp.swapaxes(a, -1, -2) @ a)
        return xp.concatenate([xp.ravel(s), xp.ravel(w), xp.ravel(xp.linalg.pinv(a))])

    y = fn(np, Dual(A, T))
    y_ref, ty_ref = jax_jvps(fn, A, T)
    np.testing.assert_allclose(y.value, y_ref, **TOL)
    np.testing.assert_allclose(y.tangent, ty_ref, rtol=1e-9, atol=1e-11)


def test_unsupported_decomposition_options_raise():
    d = Dual(X, np.ones((1,) + X.shape))
    with pytest.raises(ad.MissingRuleError, match="full_matrices"):
        np.linalg.svd(d)
    with pytest.raises(ad.MissingRuleError, match="complex"):
        np.linalg.svd(d * 1j, full_matrices=False)
    with pytest.raises(ad.MissingRuleError, match="rows"):
        np.linalg.qr(d)
    with pytest.raises(ad.MissingRuleError, match="mode"):
        np.linalg.qr(d.T, mode="complete")
    with pytest.raises(ad.MissingRuleError, match="gradient"):
        np.gradient(d)
