"""SecondOrder, MixedMode and backend options against references."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff.testing import default_scenarios, structured_scenarios, test_differentiation
from conftest import installed

SECOND_ORDER = [s for s in default_scenarios() if s.hessian is not None or s.second_derivative is not None]


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
@pytest.mark.parametrize("outer_mode", ["forward", "reverse"])
def test_second_order_jax_combinations(outer_mode):
    b = ad.SecondOrder(ad.AutoJax(mode=outer_mode), ad.AutoJax())
    results = test_differentiation([b], SECOND_ORDER, ["hvp", "hessian", "second_derivative"])
    assert len(results) > 0


@pytest.mark.skipif(not installed("torch"), reason="torch not installed")
def test_second_order_fd_over_torch():
    b = ad.SecondOrder(ad.AutoFiniteDiff(), ad.AutoTorch())
    results = test_differentiation([b], SECOND_ORDER, ["hvp", "hessian"])
    assert all(r.ok for r in results) and results


@pytest.mark.skipif(not installed("autograd"), reason="autograd not installed")
def test_second_order_autograd_reverse_over_reverse():
    b = ad.SecondOrder(ad.AutoAutograd(), ad.AutoAutograd())
    assert test_differentiation([b], SECOND_ORDER, ["hvp", "hessian"])


def test_second_order_first_order_ops_use_inner():
    b = ad.SecondOrder(ad.AutoFiniteDiff(), ad.AutoFiniteDiff(method="complex"))
    g = ad.gradient(lambda x: np.sum(x**3), b, np.array([1.0, 2.0]))
    assert np.array_equal(g, [3.0, 12.0])  # complex step is exact here


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_mixed_mode_jacobians():
    b = ad.MixedMode(ad.AutoFiniteDiff(method="complex"), ad.AutoJax())
    scen = [s for s in default_scenarios() if not s.complex and not s.inplace and "cache" not in s.name]
    assert test_differentiation([b], scen, ["pushforward", "pullback", "jacobian"])


@pytest.mark.skipif(not installed("torch"), reason="torch not installed")
def test_torch_compile_gradient():
    import torch

    x = np.linspace(0.0, 1.0, 5)
    g = ad.gradient(lambda x: torch.sum(torch.sin(x) ** 2), ad.AutoTorch(compile=True), x)
    assert np.allclose(g, 2 * np.sin(x) * np.cos(x), rtol=1e-12)


def test_fd_custom_step_and_forward_method():
    x = np.array([0.5, 1.5])
    g = ad.gradient(lambda x: np.sum(np.exp(x)), ad.AutoFiniteDiff(method="forward", step=1e-7), x)
    assert np.allclose(g, np.exp(x), rtol=1e-6)
    g = ad.gradient(lambda x: np.sum(np.exp(x)), ad.AutoFiniteDiff(step=1e-4), x)
    assert np.allclose(g, np.exp(x), rtol=1e-7)


def test_fd_scales_step_with_x():
    # a large |x| needs a relative step; an absolute 1e-5 step would lose all digits here
    x = np.array([1e8])
    d = ad.derivative(lambda t: t**2, ad.AutoFiniteDiff(), x[0])
    assert np.isclose(d, 2e8, rtol=1e-8)


def test_combinators_on_pytree_and_multiarg_scenarios():
    backends = [ad.AutoSparse(ad.AutoNumPy())]  # structured Jacobians/Hessians: the flat sparse matrix
    if installed("autograd"):  # both accept functions written with autograd.numpy
        backends += [ad.SecondOrder(ad.AutoAutograd(), ad.AutoAutograd()),
                     ad.MixedMode(ad.AutoFiniteDiff(method="complex"), ad.AutoAutograd())]
    results = test_differentiation(backends, structured_scenarios(), variants=("plain", "prepared_twice"),
                                   skip=lambda b, sc, op: "MixedMode: first order only (complex step over "
                                   "reverse mode is not a second-order method)"
                                   if isinstance(b, ad.MixedMode) and op in ("hvp", "hessian", "second_derivative") else None)
    assert sum(r.status == "pass" for r in results) >= 100


def test_complex_step_over_a_real_only_gradient_is_refused():
    """Complex-step differences of a JAX/torch/autograd gradient: a clear error, not the library's TypeError."""
    x = np.array([0.3, 0.5])
    inners = [b for name, b in (("jax", "AutoJax"), ("autograd", "AutoAutograd")) if installed(name)]
    for inner in inners:
        inner = getattr(ad, inner)()
        for backend in (ad.SecondOrder(ad.AutoFiniteDiff(method="complex"), inner),
                        ad.MixedMode(ad.AutoFiniteDiff(method="complex"), inner)):
            with pytest.raises(ad.UnsupportedOperationError, match=r"(?s)complex step.*Hint: use AutoFiniteDiff"):
                ad.hessian(lambda x: (x**3).sum(), backend, x)
    # over AutoNumPy the complex step is exact and allowed
    H = ad.hessian(lambda x: np.sum(x**3), ad.SecondOrder(ad.AutoFiniteDiff(method="complex"), ad.AutoNumPy()), x)
    assert np.allclose(H, np.diag(6 * x), rtol=1e-10)
