"""anydiff.scipy.ode_jacobian and solve_ivp: exact sparse Jacobians for stiff solvers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp

import anydiff as ad
from anydiff.testing import brusselator_2d, brusselator_pattern, brusselator_point

A = np.array([[-100.0, 1.0, 0.0], [0.5, -2.0, 0.3], [0.0, 0.2, -0.1]])
Y0 = np.array([1.0, 2.0, 3.0])


def test_sparse_brusselator_jacobian_both_call_forms():
    N = 6
    f, y = brusselator_2d(np, N), brusselator_point(N)
    jac = ad.scipy.ode_jacobian(f, ad.AutoSparse(ad.AutoNumPy()), y)
    assert (jac.sparsity != brusselator_pattern(N)).nnz == 0 and jac.ncolors >= 5
    reference = ad.jacobian(f, ad.AutoFiniteDiff(method="complex"), y)  # an independent backend
    for point in (y, 2.0 * y):
        expected = ad.jacobian(f, ad.AutoFiniteDiff(method="complex"), point)
        for J in (jac(point), jac(0.3, point)):  # jac(y) and jac(t, y), called repeatedly
            assert sp.issparse(J)
            np.testing.assert_allclose(J.toarray(), expected, rtol=1e-12, atol=1e-10)
    assert not np.allclose(jac(2.0 * y).toarray(), reference)  # really evaluated at the new point
    assert jac.stats["jacobian"]["calls"] == 5


def test_time_dependent_rhs_with_contexts():
    def f(t, y, scale):
        return scale * np.sin(t) * y**2

    jac = ad.scipy.ode_jacobian(f, ad.AutoNumPy(), Y0, 3.0, t0=0.0)
    np.testing.assert_allclose(jac(0.5, Y0), np.diag(3.0 * np.sin(0.5) * 2 * Y0), rtol=1e-14)
    np.testing.assert_allclose(jac(1.5, Y0), np.diag(3.0 * np.sin(1.5) * 2 * Y0), rtol=1e-14)
    with pytest.raises(ad.InputError, match="jac\\(t, y\\)"):
        jac(Y0)


@pytest.mark.parametrize("method", ["BDF", "Radau", "LSODA", "RK45"])
def test_solve_ivp_linear_system_against_expm(method):
    sol = ad.scipy.solve_ivp(lambda t, y: A @ y, (0.0, 1.0), Y0, ad.AutoNumPy(), method=method,
                             rtol=1e-10, atol=1e-12)
    assert sol.success
    np.testing.assert_allclose(sol.y[:, -1], sla.expm(A) @ Y0, rtol=1e-6, atol=1e-9)
    if method != "RK45":
        assert sol.njev >= 1 and sol.anydiff_stats["jacobian"]["calls"] >= sol.njev
    else:
        assert sol.anydiff_jacobian is None


def test_solve_ivp_brusselator_numpy_and_jax_agree_with_scipy():
    N = 8
    y0 = brusselator_point(N)
    f = brusselator_2d(np, N)
    ref = ad.scipy.solve_ivp(lambda t, y: f(y), (0.0, 0.2), y0, ad.AutoFiniteDiff(method="complex"),
                             rtol=1e-8, atol=1e-10)
    sol = ad.scipy.solve_ivp(lambda t, y: f(y), (0.0, 0.2), y0, "auto", rtol=1e-8, atol=1e-10)
    assert sol.anydiff_backend == ad.AutoSparse(ad.AutoNumPy())
    assert sp.issparse(sol.anydiff_jacobian(0.0, y0))
    np.testing.assert_allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-7, atol=1e-9)
    jax = pytest.importorskip("jax")
    fj = brusselator_2d(jax.numpy, N)
    solj = ad.scipy.solve_ivp(lambda t, y: fj(y), (0.0, 0.2), y0, "auto", rtol=1e-8, atol=1e-10)
    assert solj.anydiff_backend == ad.AutoSparse(ad.AutoJax())
    np.testing.assert_allclose(solj.y[:, -1], ref.y[:, -1], rtol=1e-7, atol=1e-9)


def test_solve_ivp_pytree_state_and_args():
    def f(t, state, k):
        return {"a": -k * state["a"], "b": k * state["a"][0] - state["b"]}

    sol = ad.scipy.solve_ivp(f, (0.0, 1.0), {"a": np.ones(2), "b": 0.0}, ad.AutoNumPy(), args=(2.0,),
                             rtol=1e-10, atol=1e-12)
    a = np.exp(-2.0)
    b = 2.0 * (np.exp(-1.0) - np.exp(-2.0))  # b' = 2a - b, b(0) = 0, a = e^{-2t}
    np.testing.assert_allclose(sol.y[:, -1], [a, a, b], rtol=1e-7)


def test_second_solve_reuses_the_preparation_until_clear_cache():
    rhs = lambda t, y: A @ y
    first = ad.scipy.solve_ivp(rhs, (0.0, 0.1), Y0, ad.AutoNumPy())
    second = ad.scipy.solve_ivp(rhs, (0.0, 0.2), 2.0 * Y0, ad.AutoNumPy())
    assert second.anydiff_jacobian._prep is first.anydiff_jacobian._prep
    ad.clear_cache()
    third = ad.scipy.solve_ivp(rhs, (0.0, 0.1), Y0, ad.AutoNumPy())
    assert third.anydiff_jacobian._prep is not first.anydiff_jacobian._prep
    np.testing.assert_allclose(third.y, first.y)


@pytest.mark.parametrize("method", ["BDF", "Radau"])
def test_solve_ivp_lu_options(method):
    """anydiff's default LU ordering (symmetric pattern: minimum degree on Aᵀ + A), a user's
    override and SciPy's own LU give the same solution; the options used are reported."""
    import scipy.integrate as si

    N = 6
    f, y0 = brusselator_2d(np, N), brusselator_point(N)
    rhs = lambda t, y: f(y)  # noqa: E731
    tol = {"rtol": 1e-8, "atol": 1e-10}
    ref = si.solve_ivp(rhs, (0.0, 0.5), y0, method=method, jac_sparsity=brusselator_pattern(N), **tol)
    sols = {}
    for lu in (None, {"permc_spec": "COLAMD"}, "scipy"):
        sol = ad.scipy.solve_ivp(rhs, (0.0, 0.5), y0, ad.AutoSparse(ad.AutoNumPy()), method=method, lu_options=lu, **tol)
        assert sol.success and sol.njev >= 1 and sol.nlu >= 1
        np.testing.assert_allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-6, atol=1e-9)
        sols[str(lu)] = sol
    assert sols["None"].anydiff_lu_options == {"permc_spec": "MMD_AT_PLUS_A"}
    assert sols[str({"permc_spec": "COLAMD"})].anydiff_lu_options == {"permc_spec": "COLAMD"}
    assert sols["scipy"].anydiff_lu_options is None


def test_solve_ivp_lu_options_leave_dense_and_lsoda_alone():
    sol = ad.scipy.solve_ivp(lambda t, y: A @ y, (0.0, 1.0), Y0, "numpy", method="BDF")
    assert sol.success and sol.anydiff_lu_options is None  # dense Jacobian: SciPy's dense LU
    sol = ad.scipy.solve_ivp(lambda t, y: A @ y, (0.0, 1.0), Y0, "numpy", method="LSODA")
    assert sol.success and sol.anydiff_lu_options is None


def test_solve_ivp_bad_lu_options():
    with pytest.raises(ad.InputError, match="(?s)lu_options.*Hint"):
        ad.scipy.solve_ivp(lambda t, y: A @ y, (0.0, 1.0), Y0, "numpy", lu_options="fast")
