"""custom_rule and differentiate_with under torch with complex numbers, and differentiate_with
inside autograd. References: analytic derivatives and torch's own differentiation.

Before the fixes: inside torch code a vjp-given rule and a black box returned JAX's cotangent
convention (vᵀJ) where torch expects its own (Jᴴv), so torch.autograd/torch.func got the
conjugate (for real x and complex f(x), a wrong real number); ad.pullback(AutoTorch()) of a
vjp-given rule was the conjugate of every other backend's. A black box inside autograd code
(ad.*(..., AutoAutograd()) or autograd.grad) saw autograd's boxes and returned derivatives
that were silently wrong or zero.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import anydiff as ad

Z = np.array([1.0 + 2.0j, 0.5 - 1.0j])
CT = np.array([1.0 + 1.0j, 2.0 - 0.5j])
X = np.array([0.3, -1.2, 2.0])


def _boxes():
    return [
        ad.differentiate_with(lambda z: z * z, ad.AutoNumPy()),
        ad.custom_rule(lambda z: z * z, vjp=lambda z, c: 2 * z * c),  # vᵀJ, as jax.vjp
        ad.custom_rule(lambda z: z * z, jvp=lambda z, t: 2 * z * t),
    ]


@pytest.mark.parametrize("box", _boxes(), ids=["differentiate_with", "rule-vjp", "rule-jvp"])
def test_torch_sees_its_own_convention_for_complex_numbers(box):
    torch = pytest.importorskip("torch")
    z, ct = torch.tensor(Z), torch.tensor(CT)
    (got,) = torch.func.vjp(box, z)[1](ct)
    (want,) = torch.func.vjp(lambda v: v * v, z)[1](ct)
    torch.testing.assert_close(got, want)  # torch's Jᴴv
    np.testing.assert_allclose(got.numpy(), np.conj(2 * Z) * CT)
    zr = z.clone().requires_grad_(True)
    (box(zr).abs() ** 2).sum().backward()  # a real loss: torch's gradient convention
    zn = z.clone().requires_grad_(True)
    ((zn * zn).abs() ** 2).sum().backward()
    torch.testing.assert_close(zr.grad, zn.grad)
    (tx,) = ad.pullback(box, ad.AutoTorch(), Z, (CT,))  # anydiff's convention: jax.vjp's vᵀJ
    np.testing.assert_allclose(tx, 2 * Z * CT)
    (ty,) = ad.pushforward(box, ad.AutoTorch(mode="forward"), Z, (CT,))
    np.testing.assert_allclose(ty, 2 * Z * CT)


def test_torch_black_box_real_to_complex_and_real_of_complex():
    torch = pytest.importorskip("torch")
    c = 1.0 + 2.0j
    box = ad.differentiate_with(lambda x: x * c, ad.AutoNumPy())
    w = torch.full((3,), 1.0 + 1.0j, dtype=torch.complex128)
    (got,) = torch.func.vjp(box, torch.tensor(X))[1](w)
    (want,) = torch.func.vjp(lambda v: v * c, torch.tensor(X))[1](w)
    torch.testing.assert_close(got, want)
    sq = ad.differentiate_with(lambda z: np.abs(z) ** 2, ad.AutoNumPy())
    for _ in range(2):  # the second call takes the fused value-and-gradient road
        got = torch.func.grad(lambda v: sq(v).sum())(torch.tensor(Z))
        want = torch.func.grad(lambda v: (v.abs() ** 2).sum())(torch.tensor(Z))
        torch.testing.assert_close(got, want)


def _piece(v, s):  # plain floats: nothing can trace it
    return np.array([math.sin(v[0]) * v[1] * s, math.exp(v[1]), v[2] ** 2])


def _jac(v, s):
    return np.array([[math.cos(v[0]) * v[1] * s, math.sin(v[0]) * s, 0.0], [0.0, math.exp(v[1]), 0.0],
                     [0.0, 0.0, 2 * v[2]]])


def test_black_box_inside_autograd():
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    box = ad.differentiate_with(_piece, ad.AutoFiniteDiff())
    J = ad.jacobian(lambda v: box(v, 2.0), ad.AutoAutograd(), X)
    np.testing.assert_allclose(J, _jac(X, 2.0), rtol=1e-7, atol=1e-8)
    w = np.array([1.0, 2.0, 3.0])
    g = autograd.grad(lambda v: anp.sum(box(v, 2.0) * w))(X)
    np.testing.assert_allclose(g, _jac(X, 2.0).T @ w, rtol=1e-7, atol=1e-8)
    (ty,) = ad.pushforward(lambda v: box(v, 2.0), ad.AutoAutograd(), X, (np.ones(3),))
    np.testing.assert_allclose(ty, _jac(X, 2.0).sum(axis=1), rtol=1e-7, atol=1e-8)
    with pytest.raises(ad.UnsupportedOperationError, match="only the first argument"):
        autograd.grad(lambda s: anp.sum(box(X, s)))(2.0)


def test_black_box_real_output_of_complex_input_in_numpy_reverse_mode():
    """The reverse tape handed the black box a complex cotangent for its real output, and the
    backend's pullback refused it (InputError) although the gradient is well defined."""
    box = ad.differentiate_with(lambda v: np.abs(v) ** 2, ad.AutoFiniteDiff())
    w = np.array([1.0, 3.0])
    for backend in (ad.AutoNumPy(), ad.AutoNumPy(mode="reverse"), ad.AutoNumPy(mode="forward")):
        g = ad.gradient(lambda v: (box(v) * w).sum() + np.sum(np.real(v)), backend, Z)
        np.testing.assert_allclose(g, 2 * np.conj(Z) * w + 1, rtol=1e-7)  # JAX's convention
