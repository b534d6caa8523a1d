"""``differentiate_with``: black-box pieces inside AutoNumPy and the NumPy sparsity tracers."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
import scipy.sparse as sp

import anydiff as ad


def opaque(x, a=1.0):
    """Only plain floats: float() cannot carry derivatives (math.* alone would be intercepted)."""
    x = [float(v) for v in x]
    return np.array([math.sin(x[0]) * x[1] * a, math.exp(x[1]) + x[2] ** 2])


def opaque_jac(x, a=1.0):
    return np.array([[math.cos(x[0]) * x[1] * a, math.sin(x[0]) * a, 0.0], [0.0, math.exp(x[1]), 2 * x[2]]])


x0 = np.array([0.3, -0.7, 1.1])


def test_plain_call_and_the_error_it_fixes():
    g = ad.differentiate_with(opaque, ad.AutoFiniteDiff())
    assert np.array_equal(g(x0), opaque(x0))  # plain arrays: f itself
    with pytest.raises(ad.TracingError, match="differentiate_with"):
        ad.jacobian(opaque, ad.AutoNumPy(), x0)  # the hint names the wrapper ...
    J = ad.jacobian(g, ad.AutoNumPy(), x0)  # ... which fixes it
    assert np.allclose(J, opaque_jac(x0), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("backend", [ad.AutoFiniteDiff(), ad.AutoFiniteDiff(method="forward"), "fd"])
def test_inside_autonumpy(backend):
    g = ad.differentiate_with(opaque, backend)

    def f(x, a):
        return np.tanh(g(x * 2.0, a)) * x[:2]

    a = 1.7
    y, J = ad.value_and_jacobian(f, ad.AutoNumPy(), x0, ad.Constant(a))
    inner = opaque(2 * x0, a)
    J_ref = (1 - np.tanh(inner) ** 2)[:, None] * opaque_jac(2 * x0, a) * 2.0 * x0[:2, None]
    J_ref[[0, 1], [0, 1]] += np.tanh(inner)
    assert np.allclose(y, np.tanh(inner) * x0[:2])
    rtol = 1e-4 if getattr(ad.resolve_backend(backend), "method", "") == "forward" else 1e-7
    assert np.allclose(J, J_ref, rtol=rtol, atol=rtol)
    prep = ad.prepare_pushforward(f, ad.AutoNumPy(), x0, ad.Constant(a))
    for _ in range(2):  # prepared, called twice
        ty = ad.pushforward(f, ad.AutoNumPy(), x0, (np.eye(3)[0], np.ones(3)), ad.Constant(a), prep=prep)
        assert np.allclose(ty[0], J_ref[:, 0], rtol=rtol, atol=rtol)
        assert np.allclose(ty[1], J_ref.sum(axis=1), rtol=rtol, atol=rtol)


def test_exact_inner_backend_and_second_order():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    g = ad.differentiate_with(lambda v: jnp.sin(v) * v[0], ad.AutoJax())
    f = lambda x: np.sum(g(x) ** 2)  # noqa: E731
    ref = lambda x: np.sum((np.sin(x) * x[0]) ** 2)  # noqa: E731
    assert np.allclose(ad.gradient(f, ad.AutoNumPy(), x0), ad.gradient(ref, ad.AutoNumPy(), x0), rtol=1e-12)
    with pytest.raises(ad.UnsupportedOperationError, match="SecondOrder"):
        ad.hessian(f, ad.AutoNumPy(), x0)
    H = ad.hessian(f, ad.SecondOrder(ad.AutoFiniteDiff(), ad.AutoNumPy()), x0)
    assert np.allclose(H, ad.hessian(ref, ad.AutoNumPy(), x0), rtol=1e-6, atol=1e-8)


def test_sparse_jacobian_with_declared_pattern():
    n = 12
    block = sp.csr_array(np.array([[1, 1, 0], [0, 1, 1]], dtype=bool))
    g = ad.differentiate_with(opaque, ad.AutoFiniteDiff(), jacobian_sparsity=block, output_shape=(2,))

    def f(x):
        return np.concatenate([g(x[k:k + 3]) for k in range(0, n, 3)]) * 2.0

    x = np.linspace(0.2, 1.4, n)
    S = ad.jacobian_sparsity(f, x)
    truth = sp.block_diag([block] * (n // 3)).toarray()
    assert np.array_equal(S.toarray(), truth)
    J = ad.jacobian(f, ad.AutoSparse(ad.AutoNumPy()), x)
    J_ref = 2.0 * sp.block_diag([opaque_jac(x[k:k + 3]) for k in range(0, n, 3)]).toarray()
    assert np.allclose(J.toarray(), J_ref, rtol=1e-7, atol=1e-9)
    # without a declared pattern: dense in the wrapped piece's inputs
    g_dense = ad.differentiate_with(opaque, ad.AutoFiniteDiff(), output_shape=2)
    S = ad.jacobian_sparsity(lambda x: g_dense(x[3:6]), x).toarray()
    assert S[:, 3:6].all() and not S[:, :3].any() and not S[:, 6:].any()
    H = ad.hessian_sparsity(lambda x: np.sum(g_dense(x[3:6])) + np.sum(x**2), x).toarray()
    assert H[3:6, 3:6].all() and H[0, 0] and not H[0, 1] and not H[0, 3]


def test_tracer_errors_and_local_detector():
    g = ad.differentiate_with(opaque, ad.AutoFiniteDiff())
    with pytest.raises(ad.TracingError, match="output_shape"):
        ad.TracerSparsityDetector().jacobian_sparsity(g, x0)
    if importlib.util.find_spec("jax") is not None:
        # the default falls back to the jaxpr detector, where the host call is a dense block
        assert ad.jacobian_sparsity(g, x0).toarray().all()
    S = ad.TracerLocalSparsityDetector().jacobian_sparsity(g, x0)  # local: runs f on the value
    assert S.shape == (2, 3) and S.toarray().all()
    bad = ad.differentiate_with(opaque, ad.AutoFiniteDiff(), jacobian_sparsity=sp.eye_array(3), output_shape=(2,))
    with pytest.raises(ad.InputError, match="shape"):
        ad.jacobian_sparsity(bad, x0)


def test_bad_arguments():
    with pytest.raises(ad.InputError, match="callable"):
        ad.differentiate_with(3.0, ad.AutoFiniteDiff())
    with pytest.raises(ad.InputError, match="unknown|backend"):
        ad.differentiate_with(opaque, "no-such-backend")
    with pytest.raises(ad.InputError, match="2-D"):
        ad.differentiate_with(opaque, "fd", jacobian_sparsity=np.ones(3))
    g = ad.differentiate_with(lambda x, a: x * a, ad.AutoFiniteDiff())
    with pytest.raises(ad.UnsupportedOperationError, match="first argument"):
        ad.jacobian(lambda x: g(x[:2], x[2:]), ad.AutoNumPy(), np.ones(4))
    assert "differentiate_with" in repr(g)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_black_box_under_every_autonumpy_mode_matches_analytic(mode):
    """Reverse mode records the black box once on its tape; the transpose is the backend's pullback."""
    import math

    def opaque(v):  # the math module: NumPy's dispatch cannot follow it
        return np.array([math.sin(v[0]) * v[1], math.exp(v[1]) + v[2] ** 2])

    box = ad.differentiate_with(opaque, ad.AutoFiniteDiff(method="central"))
    b = ad.AutoNumPy(mode=mode)
    x = np.array([0.3, -0.4, 1.2])

    def f(x):
        return np.sum(box(2.0 * x) ** 2)

    def grad_analytic(x):
        u = 2.0 * x
        y0, y1 = math.sin(u[0]) * u[1], math.exp(u[1]) + u[2] ** 2
        du = np.array([2 * y0 * math.cos(u[0]) * u[1], 2 * y0 * math.sin(u[0]) + 2 * y1 * math.exp(u[1]),
                       2 * y1 * 2 * u[2]])
        return 2.0 * du

    prep = ad.prepare_gradient(f, b, x)
    for point in (x, x + 0.1):  # prepared, called twice at two points
        np.testing.assert_allclose(ad.gradient(f, b, point, prep=prep), grad_analytic(point), rtol=1e-7)
    J = ad.jacobian(lambda x: box(x), b, x)
    J_ref = np.array([[math.cos(x[0]) * x[1], math.sin(x[0]), 0.0], [0.0, math.exp(x[1]), 2 * x[2]]])
    np.testing.assert_allclose(J, J_ref, rtol=1e-7, atol=1e-9)
    with pytest.raises(ad.UnsupportedOperationError, match="first order only"):
        ad.hessian(f, b, x)
