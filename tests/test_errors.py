"""Bad input gets a clear anydiff error (with a hint), never a silent wrong answer."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from conftest import all_backends, installed

X = np.array([1.0, 2.0, 3.0])


def sumsq(x):
    return (x**2).sum()


def test_unknown_backend_string():
    with pytest.raises(ad.InputError, match="Hint"):
        ad.gradient(sumsq, "tensorflow", X)


def test_not_a_backend():
    with pytest.raises(ad.InputError, match="Hint"):
        ad.gradient(sumsq, 42, X)


def test_string_aliases_resolve():
    assert ad.resolve_backend("fd") == ad.AutoFiniteDiff()
    assert isinstance(ad.resolve_backend("JAX"), ad.AutoJax)


@pytest.mark.parametrize("x", [np.array([1, 2, 3]), np.array([True, False]), 3])
def test_integer_input(x):
    with pytest.raises(ad.InputError, match="Hint"):
        ad.gradient(sumsq, ad.AutoFiniteDiff(), x)


@pytest.mark.parametrize("bad", [{"a": "text"}, {1, 2}, object()])
def test_object_input(bad):
    with pytest.raises(ad.InputError, match="Hint"):
        ad.gradient(sumsq, ad.AutoFiniteDiff(), bad)


@pytest.mark.parametrize("bad", [lambda x: "text", lambda x: [x[0], "text"]])
def test_function_returning_non_array(bad):
    with pytest.raises(ad.OutputError, match="Hint"):
        ad.jacobian(bad, ad.AutoFiniteDiff(), X)


def test_integer_output():
    with pytest.raises(ad.OutputError, match="Hint"):
        ad.jacobian(lambda x: np.zeros(2, dtype=int), ad.AutoFiniteDiff(), X)


def test_gradient_of_vector_function():
    with pytest.raises(ad.OutputError, match="scalar"):
        ad.gradient(lambda x: x * 2, ad.AutoFiniteDiff(), X)


def test_derivative_needs_scalar_input():
    with pytest.raises(ad.InputError, match="scalar input"):
        ad.derivative(np.sin, ad.AutoFiniteDiff(), X)


def test_hessian_needs_scalar_output():
    with pytest.raises(ad.OutputError, match="scalar"):
        ad.hessian(lambda x: x * 2, ad.AutoFiniteDiff(), X)


def test_extra_positional_argument_is_active():
    gx, ga = ad.gradient(lambda x, a: a * sumsq(x), ad.AutoFiniteDiff(), X, 2.0)
    np.testing.assert_allclose(gx, 4 * X, rtol=1e-6)
    np.testing.assert_allclose(ga, sumsq(X), rtol=1e-6)


def test_integer_extra_argument_suggests_constant():
    with pytest.raises(ad.InputError, match="Constant"):
        ad.gradient(lambda x, k: k * sumsq(x), ad.AutoFiniteDiff(), X, 2)


@pytest.mark.parametrize("tx", [(np.ones(2),), ()])
def test_bad_tangents(tx):
    with pytest.raises(ad.InputError, match="Hint"):
        ad.pushforward(np.sin, ad.AutoFiniteDiff(), X, tx)


def test_complex_tangent_for_real_input():
    with pytest.raises(ad.InputError, match="complex"):
        ad.pushforward(np.sin, ad.AutoFiniteDiff(), X, (np.ones(3) * 1j,))


def test_out_wrong_shape():
    with pytest.raises(ad.InputError, match="shape"):
        ad.gradient(sumsq, ad.AutoFiniteDiff(), X, out=np.zeros(4))


def test_in_place_not_allowed_for_gradient():
    with pytest.raises(ad.InputError):
        ad.gradient(lambda y, x: None, np.zeros(1), ad.AutoFiniteDiff(), X)


def test_bad_backend_options():
    with pytest.raises(ad.InputError):
        ad.AutoFiniteDiff(method="backward")
    with pytest.raises(ad.InputError):
        ad.AutoFiniteDiff(step=-1.0)


def test_complex_step_needs_complex_safe_function():
    with pytest.raises(ad.OutputError, match="complex-safe"):
        ad.gradient(lambda x: np.sum(np.abs(x) ** 2).real, ad.AutoFiniteDiff(method="complex"), X)


def test_complex_step_rejects_complex_input():
    with pytest.raises(ad.InputError, match="real input"):
        ad.pushforward(np.sin, ad.AutoFiniteDiff(method="complex"), X + 0j, (X + 0j,))


# ------------------------------------------------------------------ preparation
def test_prep_mismatch_shape_dtype_backend_operator_function():
    b = ad.AutoFiniteDiff()
    prep = ad.prepare_gradient(sumsq, b, X)
    with pytest.raises(ad.PreparationMismatchError, match="shape"):
        ad.gradient(sumsq, b, np.ones(4), prep=prep)
    with pytest.raises(ad.PreparationMismatchError, match="dtype"):
        ad.gradient(sumsq, b, X.astype(np.float32), prep=prep)
    with pytest.raises(ad.PreparationMismatchError, match="backend"):
        ad.gradient(sumsq, ad.AutoFiniteDiff(method="forward"), X, prep=prep)
    with pytest.raises(ad.PreparationMismatchError, match="operator"):
        ad.jacobian(sumsq, b, X, prep=prep)
    with pytest.raises(ad.PreparationMismatchError, match="function"):
        ad.gradient(lambda x: sumsq(x), b, X, prep=prep)
    with pytest.raises(ad.PreparationMismatchError, match="contexts"):
        ad.gradient(sumsq, b, X, ad.Constant(1.0), prep=prep)
    assert np.allclose(ad.gradient(sumsq, "finite_diff", X, prep=prep), 2 * X)  # alias of the same backend


def test_prep_mismatch_in_place_form():
    def f(y, x):
        y[:] = x

    b = ad.AutoFiniteDiff()
    prep = ad.prepare_jacobian(f, np.zeros(3), b, X)
    with pytest.raises(ad.PreparationMismatchError, match="output shape"):
        ad.jacobian(f, np.zeros(4), b, X, prep=prep)
    prep2 = ad.prepare_jacobian(np.sin, b, X)
    with pytest.raises(ad.PreparationMismatchError, match="in-place"):
        ad.jacobian(np.sin, np.zeros(3), b, X, prep=prep2)


def test_same_point_preparation_checks_the_point():
    b = ad.AutoFiniteDiff()
    prep = ad.prepare_pushforward_same_point(np.sin, b, X)
    assert np.allclose(ad.pushforward(np.sin, b, X.copy(), (np.ones(3),), prep=prep)[0], np.cos(X), atol=1e-6)
    with pytest.raises(ad.PreparationMismatchError, match="same_point"):
        ad.pushforward(np.sin, b, X + 1, (np.ones(3),), prep=prep)


# ------------------------------------------------------------ backend-specific
def test_backend_not_installed(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    with pytest.raises(ad.BackendNotInstalledError, match=r"anydiff\[jax\]"):
        ad.gradient(sumsq, ad.AutoJax(), X)


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_jax_float64_without_x64_is_an_error():
    import jax

    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ad.InputError, match="jax_enable_x64"):
            ad.gradient(sumsq, ad.AutoJax(), X)
        g = ad.gradient(sumsq, ad.AutoJax(), X.astype(np.float32))  # float32 is fine
        assert g.dtype == np.float32
    finally:
        jax.config.update("jax_enable_x64", True)


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_jax_float64_constant_without_x64_is_an_error():
    """In 32-bit mode a float64 constant would be rounded to float32 silently (x float32)."""
    import jax
    import jax.numpy as jnp

    x, c = X.astype(np.float32), np.linspace(0.1, 0.9, X.size)
    f = lambda x, c: jnp.sum(x * c)
    assert np.allclose(ad.gradient(f, ad.AutoJax(), x, ad.Constant(c)), c)  # x64 on: prepared and cached
    jax.config.update("jax_enable_x64", False)
    try:
        calls = [lambda: ad.gradient(f, ad.AutoJax(), x, ad.Constant(c)),  # the cached preparation
                 lambda: ad.prepare_gradient(f, ad.AutoJax(), x, ad.Constant(c)),
                 lambda: ad.gradient(lambda t, c: jnp.sum(t["a"] * c), ad.AutoJax(), {"a": x}, ad.Constant(c)),
                 lambda: ad.gradient(lambda a, b, c: jnp.sum(a * b * c), ad.AutoJax(), x, x, ad.Constant(c))]
        for call in calls:
            with pytest.raises(ad.InputError, match="jax_enable_x64"):
                call()
        g = ad.gradient(f, ad.AutoJax(), x, ad.Constant(c.astype(np.float32)))  # float32 is fine
        assert g.dtype == np.float32 and np.allclose(g, c, rtol=1e-6)
        assert np.allclose(ad.gradient(f, ad.AutoJax(), x, ad.Constant(2.0)), 2.0)  # a Python float
    finally:
        jax.config.update("jax_enable_x64", True)


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_jax_in_place_and_cache_unsupported():
    def f(y, x):
        y[:] = x

    with pytest.raises(ad.UnsupportedOperationError, match="Hint"):
        ad.jacobian(f, np.zeros(3), ad.AutoJax(), X)
    with pytest.raises(ad.UnsupportedOperationError, match="Hint"):
        ad.gradient(lambda x, c: x.sum(), ad.AutoJax(), X, ad.Cache(np.zeros(3)))


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_jax_function_writing_into_array():
    def f(x):
        x[0] = 1.0
        return x.sum()

    with pytest.raises(ad.UnsupportedOperationError, match="Hint"):
        ad.gradient(f, ad.AutoJax(), X)


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_out_cannot_be_jax_array():
    import jax.numpy as jnp

    with pytest.raises(ad.UnsupportedOperationError, match="immutable"):
        ad.gradient(lambda x: jnp.sum(x**2), ad.AutoJax(), X, out=jnp.zeros(3))


@pytest.mark.skipif(not installed("autograd"), reason="autograd not installed")
def test_autograd_in_place_unsupported():
    with pytest.raises(ad.UnsupportedOperationError, match="AutoTorch"):
        ad.jacobian(lambda y, x: None, np.zeros(3), ad.AutoAutograd(), X)


@pytest.mark.skipif(not installed("torch"), reason="torch not installed")
def test_wrong_library_for_backend():
    import torch

    with pytest.raises(ad.InputError, match="Hint"):
        ad.gradient(sumsq, ad.AutoJax(), torch.ones(3, dtype=torch.float64))
    with pytest.raises(ad.InputError, match="Hint"):
        ad.gradient(sumsq, ad.AutoAutograd(), torch.ones(3, dtype=torch.float64))


# ------------------------------------------------- NaN, mutation, result types
@pytest.mark.parametrize("backend", all_backends())
def test_nan_input_does_not_crash(backend):
    from anydiff.testing import namespace_for

    name = type(backend).__name__
    xp = namespace_for("autograd" if name == "AutoAutograd" else backend.library)
    x = np.array([np.nan, 2.0, 3.0])
    g = ad.gradient(lambda x: xp.sum(x * x), backend, x)
    assert np.isnan(np.asarray(g)[0]) or name == "AutoFiniteDiff"
    if name == "AutoNumPy" and backend.mode == "forward":
        # forward mode: every tangent of sum(x * x) picks up 0 * nan, as with jax.jacfwd
        assert np.isnan(np.asarray(g)).all()
    elif backend.exact:
        assert np.allclose(np.asarray(g)[1:], [4.0, 6.0])


@pytest.mark.parametrize("backend", all_backends())
def test_input_not_mutated_and_numpy_out(backend):
    from anydiff.testing import namespace_for

    xp = namespace_for("autograd" if type(backend).__name__ == "AutoAutograd" else backend.library)
    x = X.copy()
    J = ad.jacobian(lambda x: xp.sin(x) * x[0], backend, x)
    g = ad.gradient(lambda x: xp.sum(xp.sin(x)), backend, x)
    assert np.array_equal(x, X)
    assert type(J) is np.ndarray and J.shape == (3, 3)
    assert type(g) is np.ndarray and g.shape == (3,)


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_jax_in_jax_out():
    import jax
    import jax.numpy as jnp

    x = jnp.array([1.0, 2.0])
    g = ad.gradient(lambda x: jnp.sum(x**3), ad.AutoJax(), x)
    J = ad.jacobian(lambda x: x**3, ad.AutoJax(), x)
    tx = ad.pushforward(lambda x: x**3, ad.AutoJax(), x, (jnp.ones(2),))
    assert isinstance(g, jax.Array) and isinstance(J, jax.Array) and isinstance(tx[0], jax.Array)
    assert np.allclose(g, [3.0, 12.0]) and np.allclose(J, np.diag([3.0, 12.0]))


@pytest.mark.skipif(not installed("torch"), reason="torch not installed")
def test_torch_in_torch_out_and_out_buffer():
    import torch

    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    g = ad.gradient(lambda x: torch.sum(x**3), ad.AutoTorch(), x)
    assert isinstance(g, torch.Tensor) and torch.allclose(g, torch.tensor([3.0, 12.0], dtype=torch.float64))
    out = torch.zeros(2, dtype=torch.float64)
    res = ad.gradient(lambda x: torch.sum(x**3), ad.AutoTorch(), x, out=out)
    assert res is out and torch.allclose(out, g)
    H = ad.hessian(lambda x: torch.sum(x**3), ad.AutoTorch(), x)
    assert isinstance(H, torch.Tensor) and torch.allclose(H, torch.diag(6 * x))
    # finite differences on a torch function, torch in -> torch out
    g_fd = ad.gradient(lambda x: torch.sum(x**3), ad.AutoFiniteDiff(), x)
    assert isinstance(g_fd, torch.Tensor) and torch.allclose(g_fd, g, atol=1e-6)


@pytest.mark.skipif(not installed("torch"), reason="torch not installed")
def test_float32_preserved():
    import torch

    x = np.array([1.0, 2.0], dtype=np.float32)
    g = ad.gradient(lambda x: torch.sum(x**2), ad.AutoTorch(), x)
    assert g.dtype == np.float32 and np.allclose(g, [2.0, 4.0])
    g_fd = ad.gradient(lambda x: np.sum(x**2), ad.AutoFiniteDiff(), x)
    assert g_fd.dtype == np.float32 and np.allclose(g_fd, [2.0, 4.0], rtol=1e-3)


def test_second_order_mixing_libraries_is_an_error():
    pytest.importorskip("jax")
    pytest.importorskip("torch")
    with pytest.raises(ad.UnsupportedOperationError, match="Hint"):
        ad.hessian(sumsq, ad.SecondOrder(ad.AutoTorch(), ad.AutoJax()), X)


def test_second_order_fd_over_ad():
    pytest.importorskip("jax")
    import jax.numpy as jnp

    H = ad.hessian(lambda x: jnp.sum(x**3), ad.SecondOrder(ad.AutoFiniteDiff(), ad.AutoJax()), X)
    assert np.allclose(H, np.diag(6 * X), rtol=1e-6)


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_cached_unprepared_call_rechecks_jax_x64():
    import jax
    import jax.numpy as jnp

    def f(x):
        return jnp.sum(x**2)

    assert np.allclose(ad.gradient(f, ad.AutoJax(), X), 2 * X)  # cached preparation
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ad.InputError, match="jax_enable_x64"):
            ad.gradient(f, ad.AutoJax(), X)
    finally:
        jax.config.update("jax_enable_x64", True)


def test_unprepared_calls_reuse_preparation():
    calls = []

    def f(x):
        calls.append(1)
        return (x**2).sum()

    ad.clear_cache()
    ad.gradient(f, ad.AutoFiniteDiff(), X)
    first = len(calls)
    ad.gradient(f, ad.AutoFiniteDiff(), X + 1.0)
    # both calls evaluate f for the value and the differences only: the first guesses the scalar
    # output (checked) instead of probing f, the second reuses that preparation
    assert len(calls) - first == first == 2 * X.size + 1


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_same_point_preparations_jax():
    import jax.numpy as jnp

    def f(x):
        return jnp.sum(jnp.sin(x) * x[0])

    x = np.array([0.3, -0.7, 1.1])
    b = ad.AutoJax()
    H = np.asarray(ad.hessian(f, b, x))
    prep = ad.prepare_hvp_same_point(f, b, x)
    V = tuple(np.eye(3))
    for _ in range(2):
        hv = ad.hvp(f, b, x, V, prep=prep)
        assert np.allclose(np.stack(hv), H, rtol=1e-12)
    g = lambda x: jnp.sin(x) * x[0]  # noqa: E731
    J = np.asarray(ad.jacobian(g, b, x))
    pf = ad.prepare_pushforward_same_point(g, b, x)
    assert np.allclose(ad.pushforward(g, b, x, (np.ones(3),), prep=pf)[0], J @ np.ones(3))
    pb = ad.prepare_pullback_same_point(g, b, x)
    assert np.allclose(ad.pullback(g, b, x, (np.ones(3),), prep=pb)[0], np.ones(3) @ J)
    x[0] = 5.0  # mutated in place after preparation: must not silently reuse the linearization
    with pytest.raises(ad.PreparationMismatchError, match="same_point"):
        ad.pushforward(g, b, x, (np.ones(3),), prep=pf)


def test_same_point_checks_context_values():
    b = ad.AutoFiniteDiff()
    f = lambda x, a: a * np.sin(x)  # noqa: E731
    prep = ad.prepare_pushforward_same_point(f, b, X, ad.Constant(2.0))
    ad.pushforward(f, b, X, (np.ones(3),), ad.Constant(2.0), prep=prep)
    with pytest.raises(ad.PreparationMismatchError, match="context"):
        ad.pushforward(f, b, X, (np.ones(3),), ad.Constant(3.0), prep=prep)
