"""``scipy.linalg.lu_factor`` of a matrix computed in ``f`` (and ``lu_solve`` with its factors):
SciPy's values and pivots, exact derivatives in forward and reverse mode (complex step through
SciPy itself and JAX's ``lu_factor`` as references), second order, and the sparsity tracers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla

import anydiff as ad
from anydiff.rules._composites_scipy_linalg import lu_factor as composite

N = 4
R = np.random.default_rng(11)
X = R.normal(size=N * N + N)
BACKENDS = (ad.AutoNumPy(mode="forward"), ad.AutoNumPy(mode="reverse"))


def matrix(x):
    return np.reshape(x[: N * N], (N, N)) + 0.3 * np.outer(np.sin(x[:N]), x[N : 2 * N])


def factors(x):
    lu, piv = sla.lu_factor(matrix(x))
    return np.ravel(lu) * (1.0 + piv[0])


def solved(x):
    lu_piv = sla.lu_factor(matrix(x))
    b = np.cos(x[:N]) * x[-N:]
    return np.concatenate([sla.lu_solve(lu_piv, b), sla.lu_solve(lu_piv, np.outer(b, x[-2:]), trans=1).ravel()])


def complex_step(f, x, h=1e-30):
    """Through SciPy's own (complex) LU: an independent reference."""
    return np.stack([np.imag(f(x + 1j * h * e)) / h for e in np.eye(x.size)], axis=1)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (1, 1)])
@pytest.mark.parametrize("kind", [np.float64, np.complex128, np.float32])
def test_values_and_pivots_are_scipys(shape, kind):
    a = (R.normal(size=shape) + (1j * R.normal(size=shape) if kind is np.complex128 else 0.0)).astype(kind)
    lu, piv = composite(a)
    ref_lu, ref_piv = sla.lu_factor(a)
    np.testing.assert_array_equal(piv, ref_piv)
    assert piv.dtype == ref_piv.dtype and lu.dtype == ref_lu.dtype
    tol = 1e-5 if kind is np.float32 else 1e-13
    np.testing.assert_allclose(lu, ref_lu, rtol=tol, atol=tol)


@pytest.mark.parametrize("f", [factors, solved])
@pytest.mark.parametrize("backend", BACKENDS, ids=str)
def test_jacobians_prepared_and_called_twice(f, backend):
    J_ref = complex_step(f, X)
    prep = ad.prepare_jacobian(f, backend, X)
    for _ in range(2):
        np.testing.assert_allclose(ad.jacobian(f, backend, X, prep=prep), J_ref, rtol=1e-10, atol=1e-12)
    x2 = X[::-1].copy()  # other values, other pivots: nothing of the first point is kept
    assert not np.array_equal(sla.lu_factor(matrix(x2))[1], sla.lu_factor(matrix(X))[1])
    np.testing.assert_allclose(ad.jacobian(f, backend, x2, prep=prep), complex_step(f, x2), rtol=1e-10, atol=1e-12)


def test_pullback_and_gradient_and_hessian():
    dy = R.normal(size=solved(X).size)
    J = complex_step(solved, X)
    np.testing.assert_allclose(ad.pullback(solved, ad.AutoNumPy(), X, (dy,))[0], dy @ J, rtol=1e-10)

    def g(x):
        return np.sum(solved(x) ** 2)

    grad = ad.gradient(g, ad.AutoNumPy(), X)
    np.testing.assert_allclose(grad, complex_step(lambda x: np.atleast_1d(g(x)), X)[0], rtol=1e-10)
    H = ad.hessian(g, ad.AutoNumPy(), X)  # forward over the reverse gradient
    h = 1e-5
    H_fd = np.stack([(ad.gradient(g, ad.AutoNumPy(), X + h * e) - ad.gradient(g, ad.AutoNumPy(), X - h * e)) / (2 * h)
                     for e in np.eye(X.size)], axis=1)
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-6 * np.abs(H).max())
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-12)


def test_jax_lu_factor_agrees():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import jax.scipy.linalg as jsl

    def f_jax(x):
        a = jnp.reshape(x[: N * N], (N, N)) + 0.3 * jnp.outer(jnp.sin(x[:N]), x[N : 2 * N])
        return jnp.ravel(jsl.lu_factor(a)[0])

    J_jax = np.asarray(jax.jacfwd(f_jax)(jnp.asarray(X)))
    for backend in BACKENDS:
        np.testing.assert_allclose(ad.jacobian(lambda x: np.ravel(sla.lu_factor(matrix(x))[0]), backend, X), J_jax,
                                   rtol=1e-10, atol=1e-12)


def test_sparsity_tracers():
    support = np.abs(complex_step(solved, X)) > 1e-12
    local = ad.jacobian_sparsity(solved, X, detector=ad.TracerLocalSparsityDetector()).toarray()
    assert not np.any(support & ~local)
    dense = ad.jacobian_sparsity(solved, X).toarray()  # global: no pivots, every entry of the block
    assert not np.any(support & ~dense) and dense[:, : 2 * N].all()
    with pytest.raises(ad.MissingPrimalError, match="TracerLocalSparsityDetector"):
        ad.jacobian_sparsity(lambda x: x[sla.lu_factor(matrix(x))[1]], X)  # indexing with unknown pivots
