"""differentiate_with of a scalar f inside JAX code: value and gradient come from one host call
for backends with a reverse mode (``jax.value_and_grad`` evaluates f once); every transform
is checked against the analytic gradient, with constants given as arrays and as Python floats."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

x0 = np.array([0.3, -0.7, 1.1, 0.4])
X = np.stack([x0, 0.5 * x0, -x0])
TOL = {"rtol": 1e-7, "atol": 1e-9}


def value(x, c):
    return np.sum(np.sin(x) * c) + np.sum(x**2)


def grad(x, c):
    return np.cos(x) * c + 2 * x


def _wrapped(kind):
    """(wrapped function, evaluation counter) for a NumPy, finite-difference or torch f."""
    calls = [0]
    if kind == "torch":
        torch = pytest.importorskip("torch")

        def f(x, c):
            calls[0] += 1
            assert isinstance(x, torch.Tensor) and not isinstance(c, np.ndarray)  # native arrays
            return torch.sum(torch.sin(x) * c) + torch.sum(x**2)

        return ad.differentiate_with(f, ad.AutoTorch()), calls

    def f(x, c):
        calls[0] += 1
        return np.sum(np.sin(x) * c) + np.sum(x**2)

    backend = ad.AutoNumPy() if kind == "numpy" else ad.AutoFiniteDiff()
    return ad.differentiate_with(f, backend), calls


KINDS = ["numpy", "fd", "torch"]


@pytest.mark.parametrize("kind", KINDS)
def test_grad_and_value_and_grad_under_jit(kind):
    g, calls = _wrapped(kind)
    for c in (2.0, jnp.asarray(3.0)):  # a Python float (a constant of the trace) and an array
        vg = jax.jit(jax.value_and_grad(lambda x: g(x, c)))
        gr = jax.jit(jax.grad(lambda x: g(x, c)))
        for _ in range(2):  # called twice: the prepared host side is reused
            v, d = vg(x0)
            assert np.isclose(v, value(x0, float(c)), **TOL)
            assert np.allclose(d, grad(x0, float(c)), **TOL)
            assert np.allclose(gr(x0), grad(x0, float(c)), **TOL)
        calls[0] = 0
        vg(x0)
        if kind != "fd":  # one host call computes f and its gradient together
            assert calls[0] == 1
        else:  # forward mode only: f, then central differences (2n points, and f(x) at most once more)
            assert 1 + 2 * x0.size <= calls[0] <= 2 + 2 * x0.size


@pytest.mark.parametrize("kind", KINDS)
def test_forward_mode_and_batches(kind):
    g, _ = _wrapped(kind)
    t = np.arange(1.0, 5.0)
    y, ty = jax.jvp(lambda x: g(x, 2.0), (jnp.asarray(x0),), (jnp.asarray(t),))
    assert np.isclose(y, value(x0, 2.0), **TOL) and np.isclose(ty, grad(x0, 2.0) @ t, **TOL)
    assert np.allclose(jax.jacfwd(lambda x: g(x, 2.0))(x0), grad(x0, 2.0), **TOL)
    assert np.allclose(jax.jit(jax.jacrev(lambda x: g(x, 2.0)))(x0), grad(x0, 2.0), **TOL)
    per_point = jax.jit(jax.vmap(jax.value_and_grad(lambda x: g(x, 2.0))))(X)
    assert np.allclose(per_point[0], [value(x, 2.0) for x in X], **TOL)
    assert np.allclose(per_point[1], np.stack([grad(x, 2.0) for x in X]), **TOL)
    cs = jnp.asarray([1.0, 3.0])
    per_constant = jax.vmap(jax.grad(g), in_axes=(None, 0))(x0, cs)
    assert np.allclose(per_constant, np.stack([grad(x0, 1.0), grad(x0, 3.0)]), **TOL)
    empty = jax.vmap(jax.value_and_grad(lambda x: g(x, 2.0)))(jnp.zeros((0, x0.size)))
    assert empty[0].shape == (0,) and empty[1].shape == (0, x0.size)


@pytest.mark.parametrize("kind", KINDS)
def test_second_order_is_refused(kind):
    g, _ = _wrapped(kind)
    with pytest.raises(ad.UnsupportedOperationError, match="first derivatives"):
        jax.hessian(lambda x: g(x, 2.0))(x0)


def test_a_jax_function_wrapped_for_jax_code():
    """f written with jax.numpy: the output-shape probe runs eagerly even inside jit."""
    g = ad.differentiate_with(lambda x, c: jnp.sum(jnp.sin(x) * c) + jnp.sum(x**2), ad.AutoJax())
    v, d = jax.jit(jax.value_and_grad(lambda x: g(x, 2.0)))(x0)
    assert np.isclose(v, value(x0, 2.0), **TOL) and np.allclose(d, grad(x0, 2.0), **TOL)


@pytest.mark.parametrize(("used", "expected"), [((True, True), "anydiff_value_grad"),
                                                ((False, True), "anydiff_grad"),
                                                ((True, False), "anydiff_call")])
def test_dead_code_elimination_keeps_only_what_is_used(used, expected):
    """jax.grad drops the value: the fused equation becomes the gradient alone (and the value
    alone when only it is used), so jit(grad) computes and copies one result."""
    from jax.interpreters import partial_eval as pe

    g, _ = _wrapped("numpy")
    closed = jax.make_jaxpr(jax.value_and_grad(lambda x: g(x, 2.0)))(x0)
    jaxpr, _ = pe.dce_jaxpr(closed.jaxpr, list(used))
    names = [e.primitive.name for e in jaxpr.eqns if e.primitive.name.startswith("anydiff_")]
    assert names == [expected]
    from jax.extend.core import ClosedJaxpr, jaxpr_as_fun

    run = jax.jit(jaxpr_as_fun(ClosedJaxpr(jaxpr, closed.consts)))
    out = run(x0)
    want = [v for v, u in zip((value(x0, 2.0), grad(x0, 2.0)), used) if u]
    assert all(np.allclose(o, w, **TOL) for o, w in zip(out, want))
