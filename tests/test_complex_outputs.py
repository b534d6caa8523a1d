"""Complex outputs and mixed real/complex leaves: jax.vjp's convention on every backend, or a clear error.

References are analytic. Before these fixes, finite differences and AutoNumPy(mode="forward")
returned complex pullbacks for real inputs, torch returned the conjugate cotangent convention,
reverse-mode Jacobians of complex outputs dropped the imaginary part, gradients of complex outputs
were silently the real part (or a holomorphic derivative), and a tree mixing a complex and a real
leaf had wrong gradients under finite differences, forward-only AutoNumPy and torch.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import installed

import anydiff as ad
from anydiff.testing import namespace_for


def _backends(reverse_too=True):
    out = [
        pytest.param(ad.AutoFiniteDiff(), "numpy", id="fd"),
        pytest.param(ad.AutoNumPy(), "numpy", id="numpy"),
        pytest.param(ad.AutoNumPy(mode="forward"), "numpy", id="numpy-fwd"),
        pytest.param(ad.AutoNumPy(mode="reverse"), "numpy", id="numpy-rev"),
    ]
    if installed("jax"):
        out += [pytest.param(ad.AutoJax(), "jax", id="jax"), pytest.param(ad.AutoJax(mode="forward"), "jax", id="jax-fwd")]
    if installed("torch"):
        out += [pytest.param(ad.AutoTorch(), "torch", id="torch"),
                pytest.param(ad.AutoTorch(mode="forward"), "torch", id="torch-fwd")]
    if installed("autograd"):
        out.append(pytest.param(ad.AutoAutograd(), "autograd", id="autograd"))
    return out


C = np.array([1.0 + 2.0j, 3.0 - 1.0j])
X = np.array([0.5, -1.0])
CT = np.array([0.3 + 0.7j, -1.1 + 0.2j])
Z = np.array([1.0 + 2.0j, 0.5 - 1.0j])


def _c(lib):
    return namespace_for("torch").asarray(C) if lib == "torch" else C


def _tol(backend):
    return 1e-6 if isinstance(backend, ad.AutoFiniteDiff) else 1e-12


@pytest.mark.parametrize(("backend", "lib"), _backends())
def test_complex_outputs_refused_by_gradient_hessian_hvp(backend, lib):
    c = _c(lib)
    f = lambda x: (c * x**3).sum()  # real x, complex scalar
    for call in (lambda: ad.gradient(f, backend, X), lambda: ad.hessian(f, backend, X),
                 lambda: ad.hvp(f, backend, X, (X,)), lambda: ad.value_and_gradient(f, backend, X)):
        with pytest.raises(ad.OutputError, match="real-valued f.*\n.*Hint"):
            call()
    with pytest.raises(ad.OutputError, match="real-valued f"):  # complex in, complex out (JAX refuses too)
        ad.gradient(lambda z: (z * z).sum(), backend, Z)


@pytest.mark.parametrize(("backend", "lib"), _backends())
def test_real_to_complex_pullback_and_jacobian(backend, lib):
    c = _c(lib)
    f = lambda x: c * x**2
    J = C * 2 * X  # diagonal of the complex Jacobian
    (tx,) = ad.pullback(f, backend, X, (CT,))
    assert np.isrealobj(np.asarray(tx))  # jax.vjp: real cotangent for a real input, Re(ctᵀ J)
    np.testing.assert_allclose(np.asarray(tx), (CT * J).real, rtol=_tol(backend), atol=_tol(backend))
    np.testing.assert_allclose(np.asarray(ad.jacobian(f, backend, X)), np.diag(J), rtol=_tol(backend), atol=_tol(backend))


@pytest.mark.parametrize(("backend", "lib"), _backends())
def test_complex_pullbacks_holomorphic_and_not(backend, lib):
    xp = namespace_for(lib)
    (tx,) = ad.pullback(lambda z: z**2, backend, Z, (CT,))
    np.testing.assert_allclose(np.asarray(tx), CT * 2 * Z, rtol=_tol(backend), atol=_tol(backend))  # ctᵀ J
    if lib == "autograd":
        return
    (tx,) = ad.pullback(lambda z: 2 * xp.conj(z), backend, Z, (CT,))
    np.testing.assert_allclose(np.asarray(tx), 2 * np.conj(CT), rtol=_tol(backend), atol=_tol(backend))


@pytest.mark.parametrize(("backend", "lib"), _backends())
def test_tree_mixing_complex_and_real_leaves(backend, lib):
    xp = namespace_for(lib)

    def f(p):  # real-valued; |z|^2 Re z + Im z * r0
        z, r = p["z"], p["r"]
        return xp.sum(xp.real(z * xp.conj(z)) * xp.real(z)) + xp.imag(z)[0] * r[0] + xp.sum(r**2)

    p = {"z": Z, "r": np.array([0.7, -0.4])}
    x, y = Z.real, Z.imag
    gz = (3 * x**2 + y**2) - 1j * (2 * x * y + np.array([p["r"][0], 0.0]))  # ∂f/∂Re z − i ∂f/∂Im z
    gr = 2 * p["r"] + np.array([y[0], 0.0])
    if lib == "autograd":
        pytest.skip("autograd's boxes have no .conj() method")
    g = ad.gradient(f, backend, p)
    np.testing.assert_allclose(np.asarray(g["z"]), gz, rtol=_tol(backend), atol=_tol(backend))
    assert np.isrealobj(np.asarray(g["r"]))
    np.testing.assert_allclose(np.asarray(g["r"]), gr, rtol=_tol(backend), atol=_tol(backend))
    g1, g2 = ad.gradient(lambda z, r: f({"z": z, "r": r}), backend, Z, p["r"])  # two active arguments
    np.testing.assert_allclose(np.asarray(g1), gz, rtol=_tol(backend), atol=_tol(backend))
    np.testing.assert_allclose(np.asarray(g2), gr, rtol=_tol(backend), atol=_tol(backend))


def test_sparse_jacobians_with_complex_sides():
    """AutoSparse colored real-seed pushforwards for a real f of complex x (dropping ∂f/∂Im x) and
    real-cotangent pullbacks for a complex f of real x (dropping Im f): silently wrong Jacobians."""
    z = np.array([1.0 + 2.0j, 0.5 - 1.0j, -0.3 + 0.2j])
    realf = lambda v: np.real(v * np.conj(v)) + np.imag(v) ** 3
    want = np.diag(2 * z.real - 1j * (2 * z.imag + 3 * z.imag**2))  # ∂f/∂Re z − i ∂f/∂Im z
    for partition in ("auto", "row"):
        J = ad.jacobian(realf, ad.AutoSparse(ad.AutoNumPy(), partition=partition), z)
        np.testing.assert_allclose(J.toarray(), want, atol=1e-12)
    J = ad.jacobian(lambda x: x * (1 + 2j), ad.AutoSparse(ad.AutoNumPy()), X)
    np.testing.assert_allclose(J.toarray(), np.eye(2) * (1 + 2j), atol=1e-12)
    with pytest.raises(ad.UnsupportedOperationError, match="partition='column'.*\n.*Hint"):
        ad.jacobian(realf, ad.AutoSparse(ad.AutoNumPy(), partition="column"), z)
    with pytest.raises(ad.UnsupportedOperationError, match="partition='row'.*\n.*Hint"):
        ad.jacobian(lambda x: x * (1 + 2j), ad.AutoSparse(ad.AutoNumPy(), partition="row"), X)
    with pytest.raises(ad.UnsupportedOperationError, match="no pullback.*\n.*Hint"):
        ad.jacobian(realf, ad.AutoSparse(ad.AutoFiniteDiff()), z)
