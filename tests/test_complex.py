"""Real-valued functions of complex inputs: JAX's convention on every backend, or a clear error."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import all_backends

import anydiff as ad
from anydiff.testing import namespace_for

jax = pytest.importorskip("jax")
jnp = jax.numpy

Z = np.array([1.0 + 2.0j, 0.5 - 1.0j, -0.3 + 0.2j])


def make(xp):
    def f(z):
        re, im = xp.real(z), xp.imag(z)
        return xp.sum(re**3 + re * im**2) + im[0] * re[1]

    return f


def make_vector(xp):
    return lambda z: xp.real(z * xp.conj(z)) + xp.imag(z) ** 3


def _xp(backend):
    if backend.library in ("jax", "torch"):
        return namespace_for(backend.library)
    return namespace_for("autograd" if backend.name == "autograd" else "numpy")


def _refuses(backend):
    return getattr(backend, "method", None) == "complex"  # the complex step needs real inputs


@pytest.mark.parametrize("backend", all_backends())
def test_gradient_follows_jax(backend):
    want = jax.grad(make(jnp))(Z)
    f = make(_xp(backend))
    if _refuses(backend):
        with pytest.raises(ad.InputError, match="Hint"):
            ad.gradient(f, backend, Z)
        return
    rtol = 1e-12 if backend.exact else 1e-5
    np.testing.assert_allclose(ad.gradient(f, backend, Z), want, rtol=rtol, atol=rtol)
    prep = ad.prepare_gradient(f, backend, Z)
    for _ in range(2):
        np.testing.assert_allclose(ad.gradient(f, backend, Z, prep=prep), want, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(ad.pullback(f, backend, Z, (1.0,))[0], want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("backend", all_backends())
def test_jacobian_follows_jax(backend):
    want = jax.jacrev(make_vector(jnp))(Z)
    f = make_vector(_xp(backend))
    if _refuses(backend):
        with pytest.raises(ad.InputError, match="Hint"):
            ad.jacobian(f, backend, Z)
        return
    rtol = 1e-12 if backend.exact else 1e-5
    np.testing.assert_allclose(ad.jacobian(f, backend, Z), want, rtol=rtol, atol=rtol)


def test_issue_example_finite_differences_and_numpy():
    f = lambda z: (z * z.conj()).real.sum()
    z = np.array([1 + 2j, 0.5 - 1j])
    for backend in ("fd", ad.AutoNumPy()):
        np.testing.assert_allclose(ad.gradient(f, backend, z), 2 * z.conj(), rtol=1e-6)


def test_autograd_method_call_is_a_clear_error():
    pytest.importorskip("autograd")
    with pytest.raises(ad.TracingError, match="Hint: call the autograd.numpy function"):
        ad.gradient(lambda z: (z * z.conj()).real.sum(), "autograd", Z)


@pytest.mark.parametrize("op", ["hessian", "hvp"])
def test_second_order_refused_with_workaround(op):
    f = make(np)
    args = (Z, (Z,)) if op == "hvp" else (Z,)
    with pytest.raises(ad.UnsupportedOperationError, match="Hint: pass the real and imaginary parts"):
        getattr(ad, op)(f, ad.AutoNumPy(), *args)
    (_Haa, Hab), (_Hba, _Hbb) = ad.hessian(lambda a, b: f(a + 1j * b), ad.AutoNumPy(), Z.real, Z.imag)
    ref = jax.hessian(lambda a, b: make(jnp)(a + 1j * b), argnums=(0, 1))(Z.real, Z.imag)
    np.testing.assert_allclose(Hab, ref[0][1], atol=1e-12)
