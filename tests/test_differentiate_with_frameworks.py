"""differentiate_with inside JAX code (jit, grad, vmap, jacfwd, jacrev) and torch code
(autograd, forward AD, torch.func); references are analytic."""

from __future__ import annotations

import math

import numpy as np
import pytest

import anydiff as ad


def opaque(x, a=1.0):
    """Only plain floats: the math module cannot take JAX tracers or tensors."""
    return np.array([math.sin(x[0]) * x[1] * a, math.exp(x[1]) + x[2] ** 2])


def opaque_jac(x, a=1.0):
    return np.array([[math.cos(x[0]) * x[1] * a, math.sin(x[0]) * a, 0.0], [0.0, math.exp(x[1]), 2 * x[2]]])


def loss_grad(x, a):
    return 2 * opaque(x, a) @ opaque_jac(x, a)


x0 = np.array([0.3, -0.7, 1.1])
X = np.stack([x0, 0.5 * x0, -x0])
BACKENDS = [ad.AutoFiniteDiff(), ad.AutoNumPy()]
TOL = {"rtol": 1e-7, "atol": 1e-9}


@pytest.fixture
def jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


@pytest.mark.parametrize("backend", BACKENDS, ids=["fd", "numpy"])
def test_jax_transforms(jax, backend):
    if isinstance(backend, ad.AutoNumPy):  # the exact engine needs NumPy-traceable code
        g = ad.differentiate_with(lambda x, a: np.stack([np.sin(x[0]) * x[1] * a, np.exp(x[1]) + x[2] ** 2]), backend)
    else:
        g = ad.differentiate_with(opaque, backend)
    jnp = jax.numpy
    loss = lambda x, a: jnp.sum(g(x, a) ** 2)
    run = jax.jit(jax.grad(loss))
    for a in (2.0, 3.0):  # called twice; the constant is a traced array here
        assert np.allclose(run(x0, a), loss_grad(x0, a), **TOL)
    assert np.allclose(jax.jacfwd(g)(x0, 2.0), opaque_jac(x0, 2.0), **TOL)
    assert np.allclose(jax.jit(jax.jacrev(g))(x0, 2.0), opaque_jac(x0, 2.0), **TOL)
    assert np.allclose(jax.vmap(g, in_axes=(0, None))(X, 2.0), np.stack([opaque(x, 2.0) for x in X]))
    G = jax.jit(jax.vmap(jax.grad(loss), in_axes=(0, None)))(X, 2.0)
    assert np.allclose(G, np.stack([loss_grad(x, 2.0) for x in X]), **TOL)
    J = jax.vmap(jax.jacfwd(g), in_axes=(0, None))(X, 2.0)
    assert np.allclose(J, np.stack([opaque_jac(x, 2.0) for x in X]), **TOL)
    assert run(x0, 2.0).dtype == np.float64


def test_jax_errors(jax):
    g = ad.differentiate_with(opaque, ad.AutoFiniteDiff())
    loss = lambda x, a: jax.numpy.sum(g(x, a) ** 2)
    with pytest.raises(ad.UnsupportedOperationError, match="first derivatives"):
        jax.hessian(loss)(x0, 2.0)
    with pytest.raises(ad.UnsupportedOperationError, match="first derivatives"):
        jax.grad(loss, argnums=1)(x0, 2.0)
    no_shape = ad.differentiate_with(lambda x: np.log(x[0] - 1.0) if x[0] != 1.0 else 1 / 0, ad.AutoFiniteDiff())
    with pytest.raises(ad.OutputError, match="output_shape="):
        jax.jit(no_shape)(x0)
    shaped = ad.differentiate_with(lambda x: np.log(x - 1.0) if x[0] != 1.0 else 1 / 0, ad.AutoFiniteDiff(), output_shape=(3,))
    assert np.allclose(jax.jit(jax.jacfwd(shaped))(x0 + 2.0), np.diag(1 / (x0 + 1.0)), **TOL)


def test_jax_32_bit_mode_refuses_float64(jax):
    g = ad.differentiate_with(lambda x: x.astype(np.float64) * 2.0, ad.AutoFiniteDiff())
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ad.InputError, match="32-bit"):
            jax.jit(g)(np.float32(x0))  # f returns float64: never truncated silently
    finally:
        jax.config.update("jax_enable_x64", True)


def test_torch_autograd_and_func():
    torch = pytest.importorskip("torch")
    g = ad.differentiate_with(opaque, ad.AutoFiniteDiff())
    loss = lambda x: (g(x, 2.0) ** 2).sum()
    for _ in range(2):
        x = torch.tensor(x0, requires_grad=True)
        loss(x).backward()
        assert np.allclose(x.grad.numpy(), loss_grad(x0, 2.0), **TOL)
    assert g(torch.tensor(x0)).dtype == torch.float64
    assert np.allclose(torch.func.grad(loss)(torch.tensor(x0)).numpy(), loss_grad(x0, 2.0), **TOL)
    for transform in (torch.func.jacrev, torch.func.jacfwd):
        assert np.allclose(transform(g)(torch.tensor(x0)).numpy(), opaque_jac(x0), **TOL)
    G = torch.func.vmap(torch.func.grad(loss))(torch.tensor(X))
    assert np.allclose(G.numpy(), np.stack([loss_grad(x, 2.0) for x in X]), **TOL)
    fwAD = torch.autograd.forward_ad
    with fwAD.dual_level():
        y = g(fwAD.make_dual(torch.tensor(x0), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)))
        assert np.allclose(fwAD.unpack_dual(y).tangent.numpy(), opaque_jac(x0)[:, 1], **TOL)
    with pytest.raises(ad.UnsupportedOperationError, match="nested torch.func"):
        torch.func.hessian(loss)(torch.tensor(x0))
    with pytest.raises(ad.UnsupportedOperationError, match="held constant"):
        g(torch.tensor(x0), torch.tensor(2.0, dtype=torch.float64, requires_grad=True))


def test_jaxpr_detector_treats_host_calls_as_dense():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    g = ad.differentiate_with(lambda x: np.sin(x) * x[0], ad.AutoNumPy())
    S = ad.JaxSparsityDetector().jacobian_sparsity(lambda x: g(x[:2]).sum() + x**2, jnp.ones(3)).toarray()
    assert S[:, :2].all() and (S[:, 2] == np.array([0, 0, 1], bool)).all()


def test_jax_jit_grad_of_a_torch_function_and_read_only_buffers(jax):
    """JAX hands the host callback read-only buffers; torch must not see them (it warns, and
    warnings are errors here). Reference: the gradient outside JAX, and the analytic one."""
    torch = pytest.importorskip("torch")
    f = lambda x: torch.sum(torch.sin(x) * torch.roll(x, 1)) + torch.sum(x**2)
    g = ad.differentiate_with(f, ad.AutoTorch())
    x = np.linspace(0.1, 1.0, 7)
    exact = np.cos(x) * np.roll(x, 1) + np.roll(np.sin(x), -1) + 2 * x
    run = jax.jit(jax.grad(lambda v: g(v)))
    for _ in range(2):  # the host preparation is reused on the second call
        np.testing.assert_allclose(run(jax.numpy.asarray(x)), exact, rtol=1e-12)
    frozen = x.copy()
    frozen.flags.writeable = False
    np.testing.assert_allclose(ad.gradient(f, ad.AutoTorch(), frozen), exact, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(jax.vmap(jax.grad(lambda v: g(v))))(np.stack([x, x])), [exact, exact], rtol=1e-12)


def test_torch_scalar_output_keeps_its_shape():
    """A scalar f gives a 0-d tensor (torch.func.grad needs one); reference: analytic 2 x."""
    torch = pytest.importorskip("torch")
    g = ad.differentiate_with(lambda x: np.sum(x**2), ad.AutoNumPy())
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    assert g(x).shape == ()
    for _ in range(2):
        torch.testing.assert_close(torch.func.grad(g)(x), 2 * x)
    v = x.clone().requires_grad_(True)
    g(v).backward()
    torch.testing.assert_close(v.grad, 2 * x)
