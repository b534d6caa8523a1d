"""implicit_function: linear solvers, helpers, sparsity, bad input, second order."""

import importlib.util
import pathlib
import warnings

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import anydiff as ad

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _example(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def pde():
    mod = _example("reaction_diffusion")
    N = 16
    conditions, basis = mod.make_problem(N)
    p = np.linspace(1.0, 2.0, basis.shape[1])
    solver = lambda p: mod.solve(conditions, p, N * N, tol=1e-12)
    return conditions, solver, p, N


def _fd_jacobian(solver, p, step=1e-5):
    cols = [(solver(p + step * e) - solver(p - step * e)) / (2 * step) for e in np.eye(p.size)]
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("linear_solver", ["auto", "splu", "lu", "gmres", "callable"])
def test_pde_every_linear_solver(pde, linear_solver):
    conditions, solver, p, _ = pde
    user = lambda A, b: spla.gmres(A, b, rtol=1e-12, atol=0.0)[0]
    g = ad.implicit_function(solver, conditions, residual_tol=1e-8,
                             linear_solver=user if linear_solver == "callable" else linear_solver)
    J = ad.jacobian(g, ad.AutoNumPy(), p)
    if linear_solver == "auto":
        np.testing.assert_allclose(J, _fd_jacobian(solver, p), rtol=1e-5, atol=1e-8)
        assert g.info.linear_solver == "splu" and "sparsity" in g.info.reason
    else:
        g0 = ad.implicit_function(solver, conditions, linear_solver="splu", residual_tol=1e-8)
        np.testing.assert_allclose(J, ad.jacobian(g0, ad.AutoNumPy(), p), rtol=1e-7, atol=1e-10)
        assert g.info.linear_solver == linear_solver
    # the VJP side (transposed solves): gradient through a reverse-mode engine (torch)
    torch = pytest.importorskip("torch")
    pt = torch.tensor(p, requires_grad=True)
    torch.sum(g(pt) ** 2).backward()
    np.testing.assert_allclose(pt.grad.numpy(), 2 * g(p) @ J, rtol=1e-6)


@pytest.mark.parametrize("linear_solver", ["cg", "bicgstab", "lsmr", "gmres"])
def test_krylov_small_spd(linear_solver):
    n = 40
    A = 2.0 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1) + 0.5 * np.eye(n)
    g = ad.implicit_function(lambda x: np.linalg.solve(A, x**2), lambda x, y: A @ y - x**2,
                             linear_solver=linear_solver)
    x = np.linspace(0.5, 1.5, n)
    J = ad.jacobian(g, ad.AutoNumPy(), x)
    tol = 1e-5 if linear_solver == "lsmr" else 1e-8  # lsmr stops on the normal equations
    np.testing.assert_allclose(J, np.linalg.solve(A, np.diag(2 * x)), rtol=tol, atol=tol)
    assert g.info.linear_solver == linear_solver and g.info.krylov_iterations > 0


def test_one_factorisation_per_point(pde):
    conditions, solver, p, _ = pde
    g = ad.implicit_function(solver, conditions, residual_tol=1e-8)
    ad.jacobian(g, ad.AutoNumPy(), p)
    assert g.info.factorizations == 1 and g.info.solves == p.size
    torch = pytest.importorskip("torch")
    pt = torch.tensor(p, requires_grad=True)
    torch.sum(g(pt) ** 2).backward()      # same point: the factorisation is reused
    assert g.info.factorizations == 1 and g.info.solves == p.size + 1
    np.testing.assert_allclose(pt.grad.numpy(), 2 * solver(p) @ _fd_jacobian(solver, p), rtol=1e-5)


def test_fixed_point_and_aux():
    T = lambda x, y: 0.5 * np.cos(y) + x

    def solver(x):
        y = np.zeros_like(x)
        for it in range(200):
            y = T(x, y)
        return y, {"iterations": it + 1}

    g = ad.implicit_function(solver, ad.fixed_point_conditions(T), has_aux=True)
    x = np.array([0.2, 0.9])
    y, aux = g(x)
    assert aux == {"iterations": 200}
    J = ad.jacobian(lambda x: g(x)[0], ad.AutoNumPy(), x)
    np.testing.assert_allclose(J, np.diag(1.0 / (1.0 + 0.5 * np.sin(y))), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_optimality_conditions(backend):
    pytest.importorskip({"numpy": "numpy", "jax": "jax", "torch": "torch"}[backend])
    if backend == "jax":
        import jax
        import jax.numpy as xp

        jax.config.update("jax_enable_x64", True)
    elif backend == "torch":
        import torch as xp
    else:
        xp = np
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    At, bt = (xp.asarray(A), xp.asarray(b)) if backend != "torch" else (xp.tensor(A), xp.tensor(b))

    def objective(lam, y):   # ½ yᵀAy − bᵀy + ½ λ‖y‖²
        return 0.5 * xp.sum(y * (At @ y)) - xp.sum(bt * y) + 0.5 * lam[0] * xp.sum(y * y)

    solver = lambda lam: np.linalg.solve(A + lam[0] * np.eye(2), b)
    g = ad.implicit_function(solver, ad.optimality_conditions(objective, backend), backend=backend)
    lam = np.array([0.5])
    J = ad.jacobian(g, ad.AutoNumPy(), lam)
    exact = -np.linalg.solve(A + 0.5 * np.eye(2), solver(lam))
    np.testing.assert_allclose(J[:, 0], exact, rtol=1e-10)


def test_sparsity_of_an_implicit_function():
    g = ad.implicit_function(lambda x: x / 2.0, lambda x, y: 2.0 * y - x, output_shape=(3,))
    S = ad.jacobian_sparsity(lambda x: g(x[:2]) * x[2], np.ones(3))
    assert S.shape == (3, 3) and S.toarray().all()   # conservative: y depends on all of x


def test_residual_not_satisfied():
    g = ad.implicit_function(lambda x: x, lambda x, y: y - 2.0 * x)
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(g(x), x)  # plain calls only run the solver
    with pytest.raises(ad.ConditionsNotSatisfiedError, match=r"(?s)max\|F\(x, y\)\| = 2 .*Hint"):
        ad.jacobian(g, ad.AutoNumPy(), x)


def test_singular_and_badly_conditioned():
    g = ad.implicit_function(lambda x: np.zeros(2), lambda x, y: np.stack([y[0] + y[1], y[0] + y[1]]) - 0 * x)
    with pytest.raises(ad.IllConditionedError, match="(?s)condition estimate.*Hint"):
        ad.jacobian(g, ad.AutoNumPy(), np.array([0.0, 0.0]))
    eps = 1e-13
    g = ad.implicit_function(lambda x: x / np.array([1.0, eps]), lambda x, y: y * np.array([1.0, eps]) - x,
                             residual_tol=1e-3)
    with pytest.warns(ad.ConditioningWarning, match=r"condition estimate 1e\+13"):
        ad.jacobian(g, ad.AutoNumPy(), np.array([1.0, 1e-13]))


def test_krylov_failure_is_an_error():
    n = 300
    A = np.diag(np.linspace(1.0, 1e6, n)) + np.triu(np.ones((n, n)), 1)
    g = ad.implicit_function(lambda x: np.linalg.solve(A, x), lambda x, y: A @ y - x,
                             linear_solver="gmres", krylov_maxiter=2, residual_tol=1e-6)
    with pytest.raises(ad.IllConditionedError, match="(?s)did not converge.*Hint"):
        ad.jacobian(g, ad.AutoNumPy(), np.ones(n))


def test_bad_arguments():
    with pytest.raises(ad.InputError, match="Hint"):
        ad.implicit_function(lambda x: x, lambda x, y: y - x, linear_solver="qr")
    with pytest.raises(ad.InputError, match="Hint"):
        ad.implicit_function(lambda x: x, None)
    g = ad.implicit_function(lambda x: x[:1], lambda x, y: y - x)
    with pytest.raises(ad.InputError, match="one equation per unknown"):
        ad.jacobian(g, ad.AutoNumPy(), np.ones(2))


def test_second_order_is_a_clear_error():
    g = ad.implicit_function(lambda x: x / 2.0, lambda x, y: 2.0 * y - x)
    f = lambda x: np.sum(g(x) ** 2)
    with pytest.raises(ad.UnsupportedOperationError, match="(?s)second derivatives.*Hint"):
        ad.hessian(f, ad.AutoNumPy(), np.ones(2))
    H = ad.hessian(f, ad.SecondOrder(ad.AutoFiniteDiff(), ad.AutoNumPy()), np.ones(2))
    np.testing.assert_allclose(H, 0.5 * np.eye(2), atol=1e-6)


def test_hessian_inside_jax_is_a_clear_error():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    g = ad.implicit_function(lambda x: x / 2.0, lambda x, y: 2.0 * y - x, output_shape=(2,))
    with pytest.raises(ad.UnsupportedOperationError, match="second derivatives"):
        jax.hessian(lambda x: jax.numpy.sum(g(x) ** 2))(jax.numpy.ones(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.allclose(jax.grad(lambda x: jax.numpy.sum(g(x) ** 2))(jax.numpy.ones(2)), 0.5)


@pytest.mark.parametrize(("linear_solver", "preconditioner"), [("bicgstab", "ilu"), ("gmres", "ilu"),
                                                               ("bicgstab", "jacobi"), ("cg", "jacobi")])
def test_pde_preconditioned_krylov_on_the_sparse_jacobian(pde, linear_solver, preconditioner):
    """Krylov + ILU/Jacobi on the detected sparse ∂F/∂y: same derivatives as sparse LU, both sides."""
    conditions, solver, p, _ = pde
    g = ad.implicit_function(solver, conditions, residual_tol=1e-8, linear_solver=linear_solver,
                             preconditioner=preconditioner, krylov_rtol=1e-12)
    g0 = ad.implicit_function(solver, conditions, residual_tol=1e-8)
    J0 = ad.jacobian(g0, ad.AutoNumPy(), p)
    np.testing.assert_allclose(ad.jacobian(g, ad.AutoNumPy(mode="forward"), p), J0, rtol=1e-8, atol=1e-12)
    f = lambda q: np.sum(np.sin(g(q)))  # the transposed solve (reverse mode)
    np.testing.assert_allclose(ad.gradient(f, ad.AutoNumPy(), p), np.cos(solver(p)) @ J0, rtol=1e-8)
    info = g.info
    assert (info.linear_solver, info.preconditioner) == (linear_solver, preconditioner)
    assert info.krylov_iterations > 0 and info.nnz is not None
    assert (info.factor_nnz is not None) == (preconditioner == "ilu")


def test_sparse_lu_ordering_and_options(pde):
    conditions, solver, p, _ = pde
    g = ad.implicit_function(solver, conditions, residual_tol=1e-8, linear_solver="splu")
    J = ad.jacobian(g, ad.AutoNumPy(), p)
    assert g.info.ordering == "MMD_AT_PLUS_A"  # the 5-point stencil's pattern is symmetric
    mmd_fill = g.info.factor_nnz
    g2 = ad.implicit_function(solver, conditions, residual_tol=1e-8, linear_solver="splu",
                              lu_options={"permc_spec": "COLAMD", "panel_size": None, "relax": None})
    np.testing.assert_allclose(ad.jacobian(g2, ad.AutoNumPy(), p), J, rtol=1e-10, atol=1e-14)
    assert g2.info.ordering == "COLAMD" and g2.info.factor_nnz > mmd_fill > g.info.nnz


def test_nonsymmetric_pattern_uses_colamd():
    n = 300
    conditions = lambda x, y: 3.0 * y + np.concatenate([y[1:] ** 2, np.zeros_like(y[:1])]) - x  # upper bidiagonal
    solver = lambda x: _back_substitute(x, n)
    g = ad.implicit_function(solver, conditions, linear_solver="splu", residual_tol=1e-9)
    x = np.linspace(0.1, 0.5, n)
    J = ad.jacobian(g, ad.AutoNumPy(), x)
    y = solver(x)
    A = np.diag(np.full(n, 3.0)) + np.diag(2.0 * y[1:], 1)
    np.testing.assert_allclose(J, np.linalg.inv(A), rtol=1e-10, atol=1e-14)
    assert g.info.ordering == "COLAMD"


def _back_substitute(x, n):
    y = np.zeros(n)
    for i in range(n - 1, -1, -1):
        y[i] = (x[i] - (y[i + 1] ** 2 if i + 1 < n else 0.0)) / 3.0
    return y


def test_preconditioned_krylov_that_does_not_converge_is_an_error(pde):
    conditions, solver, p, _ = pde
    g = ad.implicit_function(solver, conditions, residual_tol=1e-8, linear_solver="bicgstab",
                             preconditioner="jacobi", krylov_maxiter=2)
    with pytest.raises(ad.IllConditionedError, match=r"(?s)did not converge.*relative residual.*Hint"):
        ad.jacobian(g, ad.AutoNumPy(), p)


def test_bad_preconditioner_arguments():
    ok = (lambda x: x, lambda x, y: y - x)
    with pytest.raises(ad.InputError, match="(?s)unknown preconditioner.*Hint"):
        ad.implicit_function(*ok, linear_solver="gmres", preconditioner="amg")
    with pytest.raises(ad.InputError, match="(?s)does not apply.*Hint"):
        ad.implicit_function(*ok, linear_solver="splu", preconditioner="ilu")
    with pytest.raises(ad.InputError, match="(?s)does not apply.*Hint"):
        ad.implicit_function(*ok, linear_solver="cg", preconditioner="ilu")
    with pytest.raises(ad.InputError, match="(?s)lu_options must be a dict.*Hint"):
        ad.implicit_function(*ok, lu_options=["COLAMD"])


def test_sparse_lu_condition_checks():
    """The sparse LU's probe solve flags a badly conditioned ∂F/∂y; a singular one is an error."""
    n = 300
    d = np.ones(n)
    d[-1] = 1e-13
    g = ad.implicit_function(lambda x: x / d, lambda x, y: y * d - x, residual_tol=1e-3, linear_solver="splu")
    with pytest.warns(ad.ConditioningWarning, match=r"condition estimate 1e\+13"):
        J = ad.jacobian(g, ad.AutoNumPy(), np.full(n, 1e-13))
    np.testing.assert_allclose(np.diag(J), 1.0 / d, rtol=1e-6)
    g = ad.implicit_function(lambda x: np.zeros(n), lambda x, y: y * np.where(np.arange(n) < n - 1, 1.0, 0.0) - 0 * x,
                             residual_tol=None, linear_solver="splu")
    with pytest.raises(ad.IllConditionedError, match="(?s)singular.*Hint"):
        ad.jacobian(g, ad.AutoNumPy(), np.ones(n))
