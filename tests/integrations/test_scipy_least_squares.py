"""anydiff.scipy.least_squares and root: exact (sparse) Jacobians handed to SciPy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse as sp

import anydiff as ad

T = np.linspace(0.0, 2.0, 30)
DATA = 2.0 * np.exp(-1.5 * T) + 0.3


def model_residuals(p, xp=np):
    return p[0] * xp.exp(-p[1] * T) + p[2] - DATA


def model_jacobian(p):  # analytic
    e = np.exp(-p[1] * T)
    return np.stack([e, -p[0] * T * e, np.ones_like(T)], axis=1)


def test_exact_jacobian_matches_analytic_and_fit_is_found():
    res = ad.scipy.least_squares(model_residuals, np.array([1.0, 1.0, 0.0]), ad.AutoNumPy())
    np.testing.assert_allclose(res.x, [2.0, 1.5, 0.3], rtol=1e-8)
    np.testing.assert_allclose(res.jac, model_jacobian(res.x), rtol=1e-12, atol=1e-14)
    assert res.anydiff_stats["jacobian"]["calls"] == res.njev  # the check at x0 is reused by SciPy


@pytest.mark.parametrize("lib", ["numpy", "jax", "torch"])
def test_backends_agree(lib):
    xp = pytest.importorskip(lib) if lib != "numpy" else np
    if lib == "jax":
        xp = xp.numpy
    f = (lambda p: model_residuals(p, xp)) if lib != "torch" else (
        lambda p: p[0] * xp.exp(-p[1] * xp.from_numpy(T)) + p[2] - xp.from_numpy(DATA))
    res = ad.scipy.least_squares(f, np.array([1.0, 1.0, 0.0]), "auto")
    assert res.anydiff_backend.library == lib
    np.testing.assert_allclose(res.x, [2.0, 1.5, 0.3], rtol=1e-8)


def test_sparse_jacobian_uses_lsmr_and_matches_finite_differences():
    n = 300
    target = np.linspace(1.0, 2.0, n)

    def residuals(x):  # periodic tridiagonal Jacobian
        return x**2 + 0.1 * (np.roll(x, 1) + np.roll(x, -1)) - target

    pattern = sp.diags_array([1.0] * 5, offsets=[-n + 1, -1, 0, 1, n - 1], shape=(n, n)).astype(bool)
    x0 = np.ones(n)
    res = ad.scipy.least_squares(residuals, x0, ad.AutoSparse(ad.AutoNumPy()))
    assert sp.issparse(res.jac) and res.jac.nnz == pattern.nnz
    x = res.x
    expected = sp.diags_array([0.1, 0.1, 2 * x, 0.1, 0.1], offsets=[-n + 1, -1, 0, 1, n - 1], shape=(n, n))
    np.testing.assert_allclose(res.jac.toarray(), expected.toarray(), rtol=1e-14, atol=1e-14)
    ref = so.least_squares(residuals, x0, jac_sparsity=pattern, tr_solver="lsmr")
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-10)
    assert res.cost < 1e-20
    res_auto = ad.scipy.least_squares(residuals, x0, "auto")
    assert res_auto.anydiff_backend == ad.AutoSparse(ad.AutoNumPy())
    res_lm = ad.scipy.least_squares(residuals, x0, ad.AutoSparse(ad.AutoNumPy()), method="lm")
    assert isinstance(res_lm.jac, np.ndarray) and res_lm.cost < 1e-20
    torch = pytest.importorskip("torch")
    t_target = torch.from_numpy(target)
    res_torch = ad.scipy.least_squares(lambda x: x**2 + 0.1 * (torch.roll(x, 1) + torch.roll(x, -1)) - t_target,
                                       x0, "auto")
    assert res_torch.anydiff_backend == ad.AutoSparse(ad.AutoTorch()) and sp.issparse(res_torch.jac)
    np.testing.assert_allclose(res_torch.x, ref.x, rtol=1e-10)


def test_pytree_parameters_and_residuals():
    def residuals(p):
        return {"fit": p["amp"] * np.exp(-p["rate"] * T) + p["offset"][0] - DATA, "prior": 1e-6 * p["offset"]}

    x0 = {"amp": 1.0, "rate": 1.0, "offset": np.zeros(1)}
    res = ad.scipy.least_squares(residuals, x0, ad.AutoNumPy())
    assert set(res.x) == {"amp", "rate", "offset"} and res.x["offset"].shape == (1,)
    np.testing.assert_allclose([res.x["amp"], res.x["rate"], res.x["offset"][0]], [2.0, 1.5, 0.3], rtol=1e-6)


def test_root_methods():
    f = lambda x: x**3 + 0.5 * np.roll(x, 1) - np.arange(1.0, 7.0)
    x0 = np.ones(6)
    for method, backend in [("hybr", ad.AutoNumPy()), ("lm", ad.AutoSparse(ad.AutoNumPy())),
                            ("krylov", ad.AutoNumPy())]:
        res = ad.scipy.root(f, x0, backend, method=method, tol=1e-12)
        assert res.success, method
        np.testing.assert_allclose(f(res.x), 0.0, atol=1e-8, err_msg=method)
        assert ("jacobian" in res.anydiff_stats) == (method != "krylov")
    ref = so.root(f, x0, jac=lambda x: np.diag(3 * x**2) + 0.5 * np.roll(np.eye(6), 1, axis=0))
    res = ad.scipy.root(f, x0, ad.AutoNumPy())
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-12)
    assert res.nfev == ref.nfev and res.njev == ref.njev
