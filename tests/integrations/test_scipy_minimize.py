"""anydiff.scipy.minimize: exact derivatives reach SciPy, for every method family and backend."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse as sp

import anydiff as ad
from anydiff.scipy._common import Problem, make_flattener
from anydiff.scipy._minimize import _Objective
from anydiff.testing import rosenbrock_chain


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_grad(x):  # analytic, independent of anydiff (SciPy's rosen_der is the same function)
    return so.rosen_der(x)


X0 = np.array([-1.2, 1.0, -0.5, 0.8, 0.3, 1.1])


_HESS = {"trust-exact": "hess", "dogleg": "hess", "Newton-CG": "hessp", "trust-ncg": "hessp",
         "trust-krylov": "hessp", "trust-constr": "hessp"}


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B", "CG", "Newton-CG", "trust-ncg", "trust-krylov",
                                    "trust-exact", "dogleg", "trust-constr", "SLSQP", "TNC"])
def test_methods_follow_scipy_with_analytic_derivatives(method):
    """Same iterates as SciPy given the analytic gradient and Hessian (an independent reference)."""
    options = {"options": {"maxfun" if method == "TNC" else "maxiter": 5000}}
    res = ad.scipy.minimize(rosen, X0, ad.AutoNumPy(), method=method, **options)
    extra = {"hess": so.rosen_hess} if _HESS.get(method) == "hess" else (
        {"hessp": so.rosen_hess_prod} if method in _HESS else {})
    ref = so.minimize(rosen, X0, method=method, jac=rosen_grad, **options, **extra)
    # long first-order runs amplify rounding differences; second-order runs match closely
    atol = 1e-8 if method in _HESS else 1e-3
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=atol, err_msg=method)
    assert res.success == ref.success and (res.nit == ref.nit or method not in _HESS)
    stats = res.anydiff_stats
    assert stats["gradient"]["calls"] >= 1 and stats["gradient"]["seconds"] >= 0.0
    assert res.anydiff_backend == ad.AutoNumPy() and res.anydiff_backend_reason == "given"
    if _HESS.get(method) == "hessp":
        assert stats["hvp"]["calls"] >= 1
    if _HESS.get(method) == "hess":
        assert stats["hessian"]["calls"] == res.nhev


def test_gradient_and_hessian_given_to_scipy_are_exact():
    res = ad.scipy.minimize(rosen, X0, ad.AutoNumPy(), method="trust-exact", options={"maxiter": 3})
    np.testing.assert_allclose(res.jac, rosen_grad(res.x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.hess, so.rosen_hess(res.x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lib", ["numpy", "jax"])
def test_sparse_hessian_for_trust_constr(lib):
    if lib == "jax":
        pytest.importorskip("jax")
        import jax.numpy as xp

        backend = ad.AutoSparse(ad.AutoJax())
    else:
        xp, backend = np, ad.AutoSparse(ad.AutoNumPy())
    f = rosenbrock_chain(xp)
    x = np.linspace(-0.5, 1.5, 40)
    p = Problem("minimize", "fun", f, make_flattener(x), (), backend, scalar=True, sparse=True)
    hess = _Objective(p).prepare_curvature("hess", sparse=True)["hess"]
    for point in (x, x[::-1].copy()):  # a prepared closure, called twice at different points
        H = hess(point)
        assert sp.issparse(H) and H.nnz == 3 * 40 - 2
        np.testing.assert_allclose(H.toarray(), so.rosen_hess(point), rtol=1e-12, atol=1e-9)
    res = ad.scipy.minimize(f, np.zeros(40), backend, method="trust-constr")
    assert res.success and np.allclose(res.x, 1.0, atol=1e-5)
    assert res.anydiff_stats["hessian"]["calls"] == res.nhev
    assert res.anydiff_stats["prepare"]["calls"] == 2  # gradient + Hessian, once for all iterations


def test_sparse_hessian_products_for_trust_ncg():
    res = ad.scipy.minimize(rosen, X0, ad.AutoSparse(ad.AutoNumPy()), method="trust-ncg")
    assert res.success and np.allclose(res.x, 1.0, atol=1e-5)
    assert res.anydiff_stats["hessian"]["calls"] <= res.nit + 1  # one sparse Hessian per point


def test_constraints_trust_constr_slsqp_and_forms():
    # min x0 + x1 on the unit circle: x = -(1, 1)/sqrt(2); Jacobian of c at x: 2x
    f = lambda x: x[0] + x[1]
    circle = lambda x: x[0] ** 2 + x[1] ** 2 - 1.0
    expected = -np.ones(2) / np.sqrt(2.0)
    forms = [
        ("trust-constr", {"type": "eq", "fun": circle}),
        ("trust-constr", [so.NonlinearConstraint(lambda x: x[0] ** 2 + x[1] ** 2, -np.inf, 1.0)]),
        ("SLSQP", ({"type": "ineq", "fun": lambda x: 1.0 - x[0] ** 2 - x[1] ** 2},)),
        ("COBYLA", {"type": "ineq", "fun": lambda x: np.atleast_1d(1.0 - x[0] ** 2 - x[1] ** 2)}),
    ]
    for method, cons in forms:
        res = ad.scipy.minimize(f, np.array([0.5, -0.2]), ad.AutoNumPy(), method=method, constraints=cons, tol=1e-10)
        np.testing.assert_allclose(res.x, expected, atol=1e-4, err_msg=method)
        if method == "trust-constr":
            np.testing.assert_allclose(np.asarray(res.jac[0]).ravel(), 2.0 * res.x, rtol=1e-10)
            assert res.anydiff_stats["constraint_hessian"]["calls"] >= 1


def test_constraint_hessian_is_exact_and_sparse():
    c = lambda x: np.stack([x[0] * x[1] ** 2, np.sin(x[2]) + x[3] ** 3])
    v = np.array([2.0, -1.0])
    res = ad.scipy.minimize(lambda x: np.sum(x**2), np.ones(4), ad.AutoSparse(ad.AutoNumPy()), method="trust-constr",
                            constraints=so.NonlinearConstraint(c, 0.5, 2.0), options={"maxiter": 2})
    assert res.anydiff_stats["constraint_hessian"]["calls"] >= 1
    from anydiff.scipy._constraints import convert_constraints

    x = np.array([0.3, -1.2, 0.7, 2.0])
    p = Problem("minimize", "fun", lambda x: np.sum(x**2), make_flattener(x), (), ad.AutoSparse(ad.AutoNumPy()),
                scalar=True, sparse=True)
    (con,) = convert_constraints(so.NonlinearConstraint(c, 0.5, 2.0), "trust-constr", p, True)
    H = con.hess(x, v)
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 0] = 2.0 * 2 * x[1]
    expected[1, 1] = 2.0 * 2 * x[0]
    expected[2, 2] = -1.0 * -np.sin(x[2])
    expected[3, 3] = -1.0 * 6 * x[3]
    assert sp.issparse(H)
    np.testing.assert_allclose(H.toarray(), expected, rtol=1e-12, atol=1e-14)
    J = con.jac(x)
    np.testing.assert_allclose(J.toarray(), [[x[1] ** 2, 2 * x[0] * x[1], 0, 0], [0, 0, np.cos(x[2]), 3 * x[3] ** 2]])


def test_pytree_start_and_args():
    def f(params, scale):
        return scale * (np.sum((params["w"] - 2.0) ** 2) + (params["b"] + 1.0) ** 2)

    x0 = {"w": np.zeros((2, 3)), "b": 0.5}
    res = ad.scipy.minimize(f, x0, ad.AutoNumPy(), args=(3.0,))
    assert set(res.x) == {"w", "b"} and res.x["w"].shape == (2, 3) and res.x_flat.shape == (7,)
    np.testing.assert_allclose(res.x["w"], 2.0, atol=1e-6)
    np.testing.assert_allclose(res.x["b"], -1.0, atol=1e-6)


def test_jax_and_torch_functions_with_auto_backend():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    ref = ad.scipy.minimize(rosen, X0, ad.AutoNumPy(), method="trust-exact")
    res = ad.scipy.minimize(rosenbrock_chain(jnp), X0, "auto", method="trust-exact")
    assert res.anydiff_backend == ad.AutoJax() and res.nit == ref.nit
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-10)
    torch = pytest.importorskip("torch")
    res = ad.scipy.minimize(rosenbrock_chain(torch), X0, "auto", method="trust-exact")
    assert res.anydiff_backend == ad.AutoTorch() and res.nit == ref.nit
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-10)
    x0 = {"a": torch.zeros(3, dtype=torch.float64)}
    res = ad.scipy.minimize(lambda p: torch.sum((p["a"] - 1.0) ** 2), x0, "auto")
    assert res.anydiff_backend == ad.AutoTorch() and np.allclose(res.x["a"], 1.0, atol=1e-6)


def test_auto_rule_uses_sparse_hessians_for_large_problems():
    res = ad.scipy.minimize(rosen, np.zeros(120), "auto", method="trust-constr", options={"maxiter": 3})
    assert res.anydiff_backend == ad.AutoSparse(ad.AutoNumPy())
    assert "sparse" in res.anydiff_backend_reason
    res = ad.scipy.minimize(rosen, np.zeros(120), "auto", method="L-BFGS-B", options={"maxiter": 3})
    assert res.anydiff_backend == ad.AutoNumPy()


def test_same_result_twice_and_user_strategy_passes_through():
    a = ad.scipy.minimize(rosen, X0, ad.AutoNumPy(), method="trust-constr")
    b = ad.scipy.minimize(rosen, X0, ad.AutoNumPy(), method="trust-constr")
    np.testing.assert_array_equal(a.x, b.x)
    c = ad.scipy.minimize(rosen, X0, ad.AutoNumPy(), method="trust-constr", hess=so.BFGS(),
                          options={"maxiter": 3000})
    assert "hvp" not in c.anydiff_stats and "hessian" not in c.anydiff_stats
    assert np.allclose(c.x, 1.0, atol=1e-3)
