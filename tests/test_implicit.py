"""implicit_function against ridge regression's closed form, under every backend and engine."""

import numpy as np
import pytest

import anydiff as ad

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 4))
T = RNG.normal(size=30)


def ridge_solver(lam):
    return np.linalg.solve(X.T @ X + lam[0] * np.eye(4), X.T @ T)


def ridge_conditions(lam, w):
    return X.T @ (X @ w - T) + lam[0] * w


def ridge_jacobian(lam):
    """Closed form: dw/dλ = -(XᵀX + λI)⁻¹ w."""
    return -np.linalg.solve(X.T @ X + lam[0] * np.eye(4), ridge_solver(lam))[:, None]


LAM = np.array([0.7])


def loss_np(w):
    return np.sum(np.sin(w) * w)


def dloss(w):
    return np.cos(w) * w + np.sin(w)


@pytest.fixture
def g():
    return ad.implicit_function(ridge_solver, ridge_conditions)


def test_plain_call_is_the_solver(g):
    np.testing.assert_allclose(g(LAM), ridge_solver(LAM))


@pytest.mark.parametrize("backend", ["numpy", "fd", "autograd", "torch", "jax"])
def test_jacobian_every_backend(g, backend):
    pytest.importorskip({"numpy": "numpy", "fd": "numpy", "autograd": "autograd", "torch": "torch", "jax": "jax"}[backend])
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        g.output_shape = (4,)
    for lam in (LAM, LAM + 0.3):  # called twice, at two points
        J = ad.jacobian(g, backend, lam)
        tol = 1e-6 if backend == "fd" else 1e-10
        np.testing.assert_allclose(np.asarray(J), ridge_jacobian(lam), rtol=tol, atol=tol)
    assert g.info.linear_solver == "lu" or backend == "fd"


def test_gradient_and_prepared_calls(g):
    f = lambda lam: loss_np(g(lam))
    prep = ad.prepare_gradient(f, ad.AutoNumPy(), LAM)
    for lam in (LAM, LAM + 1.0):
        grad = ad.gradient(f, ad.AutoNumPy(), lam, prep=prep)
        np.testing.assert_allclose(grad, dloss(ridge_solver(lam)) @ ridge_jacobian(lam), rtol=1e-10)


def test_pushforward_pullback_agree(g):
    (ty,) = ad.pushforward(g, ad.AutoNumPy(), LAM, (np.array([2.0]),))
    np.testing.assert_allclose(ty, 2.0 * ridge_jacobian(LAM)[:, 0], rtol=1e-10)
    dy = np.arange(1.0, 5.0)
    (tx,) = ad.pullback(g, ad.AutoTorch(), LAM, (dy,))
    np.testing.assert_allclose(tx, dy @ ridge_jacobian(LAM), rtol=1e-10)


def test_inside_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    g = ad.implicit_function(ridge_solver, ridge_conditions, output_shape=(4,))
    loss = lambda lam: jnp.sum(jnp.sin(g(lam)) * g(lam))
    lam = jnp.asarray(LAM)
    expected = dloss(ridge_solver(LAM)) @ ridge_jacobian(LAM)
    np.testing.assert_allclose(jax.jit(jax.grad(loss))(lam), expected, rtol=1e-10)
    np.testing.assert_allclose(jax.jit(jax.grad(loss))(lam), expected, rtol=1e-10)  # twice
    np.testing.assert_allclose(jax.jacfwd(g)(lam), ridge_jacobian(LAM), rtol=1e-10)
    np.testing.assert_allclose(jax.jit(jax.jacrev(g))(lam), ridge_jacobian(LAM), rtol=1e-10)
    lams = jnp.array([[0.5], [1.0], [2.0]])
    np.testing.assert_allclose(jax.vmap(g)(lams), np.stack([ridge_solver(np.asarray(v)) for v in lams]))
    for jac in (jax.jacfwd, jax.jacrev):  # nested batching: points and seeds batched
        Js = jax.jit(jax.vmap(jac(g)))(lams)
        for v, Jv in zip(lams, Js):
            np.testing.assert_allclose(Jv, ridge_jacobian(np.asarray(v)), rtol=1e-10)
    grads = jax.vmap(jax.grad(loss))(lams)
    for v, gr in zip(lams, grads):
        v = np.asarray(v)
        np.testing.assert_allclose(gr, dloss(ridge_solver(v)) @ ridge_jacobian(v), rtol=1e-10)


def test_under_torch_autograd():
    torch = pytest.importorskip("torch")
    g = ad.implicit_function(ridge_solver, ridge_conditions)
    lam = torch.tensor(LAM, requires_grad=True)
    w = g(lam)
    torch.sum(torch.sin(w) * w).backward()
    np.testing.assert_allclose(lam.grad.numpy(), dloss(ridge_solver(LAM)) @ ridge_jacobian(LAM), rtol=1e-10)
    lam = torch.tensor(LAM)
    np.testing.assert_allclose(torch.func.jacfwd(g)(lam).numpy(), ridge_jacobian(LAM), rtol=1e-10)
    np.testing.assert_allclose(torch.func.jacrev(g)(lam).numpy(), ridge_jacobian(LAM), rtol=1e-10)
    lams = torch.tensor([[0.5], [2.0]], dtype=torch.float64)
    J = torch.func.vmap(torch.func.jacrev(g))(lams).numpy()
    for v, Jv in zip(lams.numpy(), J):
        np.testing.assert_allclose(Jv, ridge_jacobian(v), rtol=1e-10)


def test_reverse_mode_through_an_implicit_function():
    """AutoNumPy's reverse mode records g as one tape step transposed by the VJP (the transposed solve)."""
    import scipy.optimize

    def conditions(p, u):
        return u + 0.1 * u**3 - p[0] * np.linspace(0.0, 1.0, u.size) - p[1]

    def solver(p):
        return scipy.optimize.root(lambda u: conditions(p, u), np.zeros(40), tol=1e-12).x

    g = ad.implicit_function(solver, conditions)
    p = np.array([1.0, 0.5])
    loss = lambda p: np.sum(g(p) ** 2)  # noqa: E731
    rev = ad.AutoNumPy(mode="reverse")
    g_rev = ad.gradient(loss, rev, p)
    assert np.allclose(g_rev, ad.gradient(loss, ad.AutoNumPy(mode="forward"), p), rtol=1e-9)
    assert np.allclose(g_rev, ad.gradient(loss, ad.AutoFiniteDiff(), p), rtol=1e-6)
    assert np.allclose(ad.jacobian(g, rev, p), ad.jacobian(g, ad.AutoNumPy(mode="forward"), p), rtol=1e-9)
    prep = ad.prepare_gradient(loss, rev, p)
    for q in (p * 1.1, p * 1.1):  # prepared, called twice at a new point
        assert np.allclose(ad.gradient(loss, rev, q, prep=prep), ad.gradient(loss, ad.AutoNumPy(mode="forward"), q),
                           rtol=1e-9)
