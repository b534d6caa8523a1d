"""implicit_function(memory_limit=...): the linear solver chosen to fit a memory budget."""

import importlib.util
import pathlib

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import anydiff as ad
from anydiff.implicit._assemble import SparseLayout, csr_bytes, norm1
from anydiff.implicit._ichol import IncompleteCholesky

ROOT = pathlib.Path(__file__).resolve().parents[1]
N = 16  # 256 unknowns: above the dense-LU threshold of "auto"


@pytest.fixture(scope="module")
def pde():
    spec = importlib.util.spec_from_file_location("reaction_diffusion", ROOT / "examples" / "reaction_diffusion.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    conditions, basis = mod.make_problem(N)
    p = np.linspace(1.0, 2.0, basis.shape[1])
    return conditions, (lambda p: mod.solve(conditions, p, N * N, tol=1e-12)), p


def convection(x, y):
    """−Δy + 5 ∂y/∂s + y³/10 − x on a 16×16 grid: a nonsymmetric 5-point stencil."""
    U = y.reshape(N, N)
    zr, zc = np.zeros_like(U[:1]), np.zeros_like(U[:, :1])
    up, down = np.concatenate([zr, U[:-1]], axis=0), np.concatenate([U[1:], zr], axis=0)
    left, right = np.concatenate([zc, U[:, :-1]], axis=1), np.concatenate([U[:, 1:], zc], axis=1)
    return (4.0 * U - up - down - left - right + 5.0 * (right - left) + 0.1 * U**3).reshape(-1) - x


def convection_solver(x):
    return scipy.optimize.root(lambda y: convection(x, y), np.zeros(N * N), tol=1e-13).x


def _reference(solver, conditions, x):
    g = ad.implicit_function(solver, conditions, linear_solver="splu", residual_tol=1e-8)
    return ad.jacobian(g, ad.AutoNumPy(), x)


def test_memory_limit_symmetric_pde_uses_cg_mic0(pde):
    """A budget of 3× ∂F/∂y leaves no room for LU factors: CG + MIC(0), accurate both ways."""
    conditions, solver, p = pde
    g = ad.implicit_function(solver, conditions, residual_tol=1e-8, memory_limit=3)
    J = ad.jacobian(g, ad.AutoNumPy(mode="forward"), p)
    J0 = _reference(solver, conditions, p)
    np.testing.assert_allclose(J, J0, rtol=1e-8, atol=1e-8 * np.abs(J0).max())
    info = g.info
    assert (info.linear_solver, info.preconditioner) == ("cg", "ic")
    assert info.factor_nnz == (info.nnz + N * N) // 2  # the lower part of a symmetric pattern
    assert "memory_limit" in info.reason and "CG + MIC(0)" in info.reason
    assert info.jacobian_bytes == csr_bytes(info.nnz, N * N) and info.memory_budget == 3 * info.jacobian_bytes
    f = lambda q: np.sum(np.sin(g(q)))  # reverse mode: the transposed system
    grad0 = np.cos(solver(p)) @ J0
    np.testing.assert_allclose(ad.gradient(f, ad.AutoNumPy(), p), grad0, rtol=1e-8, atol=1e-8 * np.abs(grad0).max())
    # called again at another point: same choice, the detected pattern reused
    prep = g._sparse_prep
    ad.jacobian(g, ad.AutoNumPy(), 1.1 * p)
    assert g._sparse_prep is prep and g.info.linear_solver == "cg"


def test_memory_limit_large_enough_for_sparse_lu(pde):
    conditions, solver, p = pde
    for limit in (100, "1 GB"):
        g = ad.implicit_function(solver, conditions, residual_tol=1e-8, memory_limit=limit)
        J = ad.jacobian(g, ad.AutoNumPy(), p)
        np.testing.assert_allclose(J, _reference(solver, conditions, p), rtol=1e-10, atol=1e-14)
        assert g.info.linear_solver == "splu" and "sparse LU fits" in g.info.reason
        assert g.info.factor_nnz > g.info.nnz


@pytest.fixture(scope="module")
def convection_ref():
    x = np.linspace(0.1, 1.0, N * N)
    return x, _reference(convection_solver, convection, x)


def _check_directions(g, x, J0):
    """Three JVPs and one VJP (transposed solves) against the sparse-LU Jacobian."""
    V = np.random.default_rng(2).normal(size=(3, N * N))
    T = ad.pushforward(g, ad.AutoNumPy(), x, tuple(V))
    for t, v in zip(T, V):
        np.testing.assert_allclose(t, J0 @ v, rtol=0, atol=1e-8 * np.abs(J0 @ v).max())
    w = np.cos(np.arange(N * N))
    grad0 = w @ J0
    np.testing.assert_allclose(ad.gradient(lambda q: g(q) @ w, ad.AutoNumPy(), x), grad0, rtol=0,
                               atol=1e-8 * np.abs(grad0).max())


@pytest.mark.parametrize(("limit", "solver", "preconditioner"), [
    (3, "bicgstab", "jacobi"), (6, "bicgstab", "ilu"), (10, "splu", None), ("2 kB", "bicgstab", "jacobi")])
def test_memory_limit_nonsymmetric(convection_ref, limit, solver, preconditioner):
    x, J0 = convection_ref
    g = ad.implicit_function(convection_solver, convection, residual_tol=1e-9, memory_limit=limit)
    _check_directions(g, x, J0)
    assert (g.info.linear_solver, g.info.preconditioner) == (solver, preconditioner)


def test_bicgstab_breakdown_falls_back_to_gmres(convection_ref):
    """BiCGSTAB breaks down on unit right-hand sides with this ILU: GMRES takes over."""
    x, J0 = convection_ref
    g = ad.implicit_function(convection_solver, convection, residual_tol=1e-9, memory_limit=5)
    J = ad.jacobian(g, ad.AutoNumPy(), x)
    np.testing.assert_allclose(J, J0, rtol=0, atol=1e-8 * np.abs(J0).max())
    assert (g.info.linear_solver, g.info.preconditioner) == ("gmres", "ilu")
    assert "bicgstab did not converge: gmres" in g.info.reason


def test_memory_limit_that_cannot_converge_is_a_clear_error(pde):
    conditions, solver, p = pde
    g = ad.implicit_function(solver, conditions, residual_tol=1e-8, memory_limit=3, krylov_maxiter=3)
    with pytest.raises(ad.IllConditionedError, match=r"(?s)did not converge.*relative residual \S+ after.*Hint.*memory_limit"):
        ad.jacobian(g, ad.AutoNumPy(), p)


@pytest.mark.parametrize("bad", [0.5, 0, -3, float("inf"), True, "lots", "10 parsecs", "-1 MB", [3]])
def test_bad_memory_limit(bad):
    with pytest.raises(ad.InputError, match="(?s)memory_limit.*Hint"):
        ad.implicit_function(lambda x: x, lambda x, y: y - x, memory_limit=bad)


def test_memory_limit_needs_auto():
    with pytest.raises(ad.InputError, match="(?s)applies to linear_solver='auto'.*Hint"):
        ad.implicit_function(lambda x: x, lambda x, y: y - x, linear_solver="splu", memory_limit=3)


def test_small_problem_dense_only_if_it_fits():
    """n <= 200: dense LU when the budget holds it, else the sparse path."""
    n = 150
    cond = lambda x, y: 2.0 * y + 0.1 * np.concatenate([y[1:], y[:1] * 0.0]) - x
    A = np.diag(np.full(n, 2.0)) + np.diag(np.full(n - 1, 0.1), 1)
    solver = lambda x: np.linalg.solve(A, x)
    x = np.linspace(0.0, 1.0, n)
    for limit, kind in (("10 MB", "lu"), (3, "bicgstab"), (20, "splu")):
        g = ad.implicit_function(solver, cond, memory_limit=limit, residual_tol=1e-10)
        np.testing.assert_allclose(ad.jacobian(g, ad.AutoNumPy(), x), np.linalg.inv(A), rtol=0, atol=1e-9)
        assert g.info.linear_solver == kind, (limit, g.info.reason)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_sparse_layout_assembles_both_partitions(mode):
    """Column partition (JVPs) and row partition (VJPs): the same matrix as the dense Jacobian."""
    n = 40
    f = lambda y: np.concatenate([np.sum(y)[None] * y[:1], y[1:] * y[:-1] + y[1:] ** 3])  # dense first row
    y = np.random.default_rng(0).uniform(0.5, 1.5, n)
    b = ad.AutoNumPy(mode=mode)
    prep = ad.prepare_jacobian(f, ad.AutoSparse(b), y)
    layout = SparseLayout(prep.sparse)
    assert layout.column == (prep.sparse.partition == "column")
    assert prep.sparse.partition == ("column" if mode == "forward" else "row")
    if layout.column:
        product = lambda seed: ad.pushforward(f, b, y, (seed,))[0]
    else:
        product = lambda seed: ad.pullback(f, b, y, (seed,))[0]
    A = layout.assemble(product)
    np.testing.assert_allclose(A.toarray(), ad.jacobian(f, ad.AutoNumPy(), y), rtol=1e-14)
    assert np.shares_memory(A.indices, layout.indices) and A.format == "csc"
    assert norm1(A) == pytest.approx(spla.norm(A, 1))


def _tridiagonal(n, diagonal, off):
    A = sp.diags([np.full(n - 1, off), np.full(n, diagonal), np.full(n - 1, off)], [-1, 0, 1]).tocsc()
    cond = lambda x, y: diagonal * y + off * (np.concatenate([y[1:], y[:1] * 0.0]) + np.concatenate([y[:1] * 0.0, y[:-1]])) - x
    return A, cond


def test_mic0_matches_a_direct_solve_and_reports_breakdown():
    rng = np.random.default_rng(3)
    A = sp.random(300, 300, density=0.01, random_state=4)
    A = (A + A.T).tocsc()
    A = (sp.diags(np.asarray(abs(A).sum(axis=1)).ravel() + 1.0) - A).tocsc()  # an M-matrix
    ic = IncompleteCholesky(A.copy())
    assert ic.ok and ic.nbytes < 12 * A.nnz
    b = rng.normal(size=300)
    z, info = spla.cg(A, b, rtol=1e-12, atol=0.0, M=spla.LinearOperator(A.shape, matvec=ic.solve))
    np.testing.assert_allclose(z, spla.spsolve(A, b), rtol=1e-9, atol=1e-12)
    assert not IncompleteCholesky(_tridiagonal(300, 1.0, 0.9)[0]).ok  # indefinite: a pivot <= 0


def test_symmetric_indefinite_with_positive_diagonal():
    """MIC(0) breaks down, Jacobi takes over; CG (or its BiCGSTAB fallback) still gives A⁻¹."""
    n = 300
    A, cond = _tridiagonal(n, 1.0, 0.9)
    g = ad.implicit_function(lambda x: spla.spsolve(A, x), cond, memory_limit=4, residual_tol=1e-8)
    V = np.random.default_rng(5).normal(size=(2, n))
    T = ad.pushforward(g, ad.AutoNumPy(), np.linspace(0.1, 1.0, n), tuple(V))
    for t, v in zip(T, V):
        np.testing.assert_allclose(A @ t, v, rtol=0, atol=1e-9 * np.abs(v).max())
    assert g.info.preconditioner == "jacobi" and "MIC(0) broke down" in g.info.reason


def test_requested_cg_with_ic(pde):
    conditions, solver, p = pde
    g = ad.implicit_function(solver, conditions, residual_tol=1e-8, linear_solver="cg", preconditioner="ic")
    J0 = _reference(solver, conditions, p)
    np.testing.assert_allclose(ad.jacobian(g, ad.AutoNumPy(), p), J0, rtol=0, atol=1e-8 * np.abs(J0).max())
    assert (g.info.linear_solver, g.info.preconditioner) == ("cg", "ic")


def test_memory_limit_complex_unknowns():
    """A complex ∂F/∂y never takes the CG + MIC(0) branch; the Krylov solution stays complex."""
    n = 250
    A = sp.diags([np.full(n - 1, 0.5), np.full(n, 2.0 + 1.0j), np.full(n - 1, 0.5)], [-1, 0, 1]).tocsc()
    shifts = lambda y: np.concatenate([y[1:], y[:1] * 0]) + np.concatenate([y[:1] * 0, y[:-1]])
    cond = lambda x, y: (2.0 + 1.0j) * y + 0.5 * shifts(y) - x
    g = ad.implicit_function(lambda x: spla.spsolve(A, x.astype(complex)), cond, memory_limit=3, residual_tol=1e-8)
    V = np.random.default_rng(0).normal(size=(2, n))
    T = ad.pushforward(g, ad.AutoNumPy(), np.linspace(0.1, 1.0, n), tuple(V))
    for t, v in zip(T, V):
        assert np.iscomplexobj(t)
        np.testing.assert_allclose(A @ t, v, rtol=0, atol=1e-8 * np.abs(v).max())
    assert g.info.linear_solver == "bicgstab" and g.info.preconditioner != "ic"
    with pytest.raises(ad.InputError, match="(?s)needs a real.*Hint"):
        h = ad.implicit_function(lambda x: spla.spsolve(A, x.astype(complex)), cond, linear_solver="cg",
                                 preconditioner="ic", residual_tol=1e-8)
        ad.pushforward(h, ad.AutoNumPy(), np.linspace(0.1, 1.0, n), (V[0],))
