"""Reverse mode over optimality conditions: the conditions take an AutoNumPy gradient inside a
reverse pass (reverse over the inner gradient), checked against closed forms and finite differences."""

import numpy as np
import pytest

import anydiff as ad

A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.5]])
B = np.array([1.0, -1.0, 0.5])


def objective(lam, y):  # ½ yᵀAy − bᵀy + ½ λ₀‖y‖² + λ₁ Σy
    return 0.5 * np.sum(y * (A @ y)) - np.sum(B * y) + 0.5 * lam[0] * np.sum(y * y) + lam[1] * np.sum(y)


def solver(lam):
    return np.linalg.solve(A + lam[0] * np.eye(3), B - lam[1])


def jacobian_exact(lam):
    """dy/dλ₀ = −M⁻¹ y, dy/dλ₁ = −M⁻¹ 1 with M = A + λ₀ I."""
    M = A + lam[0] * np.eye(3)
    return -np.linalg.solve(M, np.stack([solver(lam), np.ones(3)], axis=1))


def loss(y, xp=np):
    return xp.sum(xp.sin(y) * y)


def grad_exact(lam):
    y = solver(lam)
    return (np.cos(y) * y + np.sin(y)) @ jacobian_exact(lam)


LAM = np.array([0.5, 0.3])
INNER = {"auto": ad.AutoNumPy(), "forward": ad.AutoNumPy(mode="forward"), "reverse": ad.AutoNumPy(mode="reverse")}


@pytest.mark.parametrize("inner", sorted(INNER))
@pytest.mark.parametrize("outer", ["auto", "reverse", "forward", "autograd"])
def test_gradient_through_optimality_conditions(inner, outer):
    backend = {"auto": ad.AutoNumPy(), "reverse": ad.AutoNumPy(mode="reverse"),
               "forward": ad.AutoNumPy(mode="forward"), "autograd": "autograd"}[outer]
    # autograd traces autograd.numpy (plain NumPy ufuncs on its boxes only from autograd 1.9 on)
    xp = pytest.importorskip("autograd.numpy") if outer == "autograd" else np
    g = ad.implicit_function(solver, ad.optimality_conditions(objective, INNER[inner]))
    f = lambda lam: loss(g(lam), xp)
    for lam in (LAM, LAM + 0.4):  # called twice, at two points
        np.testing.assert_allclose(ad.gradient(f, backend, lam), grad_exact(lam), rtol=1e-10)
    np.testing.assert_allclose(ad.jacobian(g, backend, LAM), jacobian_exact(LAM), rtol=1e-10)
    (tx,) = ad.pullback(g, backend, LAM, (np.array([1.0, 2.0, -1.0]),))
    np.testing.assert_allclose(tx, np.array([1.0, 2.0, -1.0]) @ jacobian_exact(LAM), rtol=1e-10)


def test_reverse_only_backend_for_the_conditions_is_a_clear_error():
    """∂F/∂y of optimality conditions is a Hessian: AutoNumPy(mode='reverse') cannot build it."""
    rev = ad.AutoNumPy(mode="reverse")
    g = ad.implicit_function(solver, ad.optimality_conditions(objective, rev), backend=rev)
    with pytest.raises(ad.UnsupportedOperationError, match=r"(?s)∂F/∂y could not be built.*Hint: .*backend=ad.AutoNumPy\(\)"):
        ad.gradient(lambda lam: loss(g(lam)), ad.AutoNumPy(), LAM)
    g = ad.implicit_function(solver, ad.optimality_conditions(objective, rev), backend=ad.AutoNumPy(mode="forward"))
    np.testing.assert_allclose(ad.gradient(lambda lam: loss(g(lam)), rev, LAM), grad_exact(LAM), rtol=1e-10)


def test_prepared_reverse_gradient_called_twice():
    g = ad.implicit_function(solver, ad.optimality_conditions(objective))
    f = lambda lam: loss(g(lam))
    rev = ad.AutoNumPy(mode="reverse")
    prep = ad.prepare_gradient(f, rev, LAM)
    for lam in (LAM, LAM * 2.0, LAM * 2.0):
        np.testing.assert_allclose(ad.gradient(f, rev, lam, prep=prep), grad_exact(lam), rtol=1e-10)


def test_under_torch_backward():
    torch = pytest.importorskip("torch")
    g = ad.implicit_function(solver, ad.optimality_conditions(objective))
    lam = torch.tensor(LAM, requires_grad=True)
    y = g(lam)
    torch.sum(torch.sin(y) * y).backward()
    np.testing.assert_allclose(lam.grad.numpy(), grad_exact(LAM), rtol=1e-10)


def test_inside_jax_grad():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    g = ad.implicit_function(solver, ad.optimality_conditions(objective), output_shape=(3,))
    f = lambda lam: jax.numpy.sum(jax.numpy.sin(g(lam)) * g(lam))
    np.testing.assert_allclose(jax.grad(f)(jax.numpy.asarray(LAM)), grad_exact(LAM), rtol=1e-10)


def test_large_nonlinear_minimiser_against_finite_differences():
    """n = 300 > the dense-LU size: the conditions' Jacobian is detected sparse (tridiagonal)."""
    n = 300
    c = np.linspace(-1.0, 1.0, n)

    def obj(p, y):  # a nonlinear chain: ½ Σ (y_{i+1} − y_i)² + p₀ Σ y⁴/4 + ½ e^{p₁} Σ y² − cᵀy
        return (0.5 * np.sum((y[1:] - y[:-1]) ** 2) + p[0] * np.sum(y**4) / 4
                + 0.5 * np.exp(p[1]) * np.sum(y**2) - np.sum(c * y))

    def newton(p):
        y = np.zeros(n)
        D = 2.0 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)
        D[0, 0] = D[-1, -1] = 1.0
        for _ in range(50):
            r = D @ y + p[0] * y**3 + np.exp(p[1]) * y - c
            if np.max(np.abs(r)) < 1e-13:
                break
            y = y - np.linalg.solve(D + np.diag(3 * p[0] * y**2 + np.exp(p[1])), r)
        return y

    g = ad.implicit_function(newton, ad.optimality_conditions(obj), residual_tol=1e-9)
    w = np.linspace(0.0, 1.0, n)
    f = lambda p: np.sum(w * g(p) ** 3)
    p = np.array([0.8, -0.5])
    eps = 1e-5
    fd = np.array([(np.sum(w * newton(p + eps * e) ** 3) - np.sum(w * newton(p - eps * e) ** 3)) / (2 * eps)
                   for e in np.eye(2)])
    for backend in (ad.AutoNumPy(), ad.AutoNumPy(mode="reverse")):
        np.testing.assert_allclose(ad.gradient(f, backend, p), fd, rtol=1e-6)
    assert g.info.linear_solver == "splu"
    np.testing.assert_allclose(ad.gradient(f, ad.AutoNumPy(mode="forward"), p), ad.gradient(f, ad.AutoNumPy(), p),
                               rtol=1e-10)


def test_two_reverse_passes_never_mix_silently():
    """Tangents of two tapes meeting in one operation raise instead of giving a wrong derivative."""
    from anydiff.reverse import NotTransposableError
    from anydiff.reverse._tape import Lin, Tape

    a = Lin.leaf(Tape(), (1, 3), np.float64)
    b = Lin.leaf(Tape(), (1, 3), np.float64)
    for op in (lambda: a + b, lambda: np.concatenate([a, b], axis=1), lambda: np.where(np.ones(3, bool), a, b)):
        with pytest.raises(NotTransposableError, match="(?s)two different reverse passes.*Hint"):
            op()
    with pytest.raises(NotTransposableError, match="Hint"):
        a[0] = b[0]
