"""The narrow backend contract: a backend with one primitive gets every operator right.

References are analytic. ``f(v) = v0 (sin v0 + sin v1)`` (scalar) and
``h(v) = (sin v0 · v1, v0²  v1, exp v1)`` (vector), at ``x = (0.5, 2.0)``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

import anydiff as ad
from anydiff.backends import Backend
from anydiff.backends._base import FAST_PATHS

X = np.array([0.5, 2.0])


def f(v):
    return v[0] * (np.sin(v[0]) + np.sin(v[1]))


def grad_f(v):
    return np.array([np.sin(v[0]) + np.sin(v[1]) + v[0] * np.cos(v[0]), v[0] * np.cos(v[1])])


def hess_f(v):
    return np.array([
        [2 * np.cos(v[0]) - v[0] * np.sin(v[0]), np.cos(v[1])],
        [np.cos(v[1]), -v[0] * np.sin(v[1])],
    ])


def h(v):
    return np.stack([np.sin(v[0]) * v[1], v[0] ** 2 * v[1], np.exp(v[1])])


def jac_h(v):
    return np.array([
        [np.cos(v[0]) * v[1], np.sin(v[0])],
        [2 * v[0] * v[1], v[0] ** 2],
        [0.0, np.exp(v[1])],
    ])


def _complex_step_jacobian(fun, x, ctx):
    """Columns ``Im fun(x + i h e_j) / h``: exact to rounding for these analytic functions."""
    step = 1e-30
    cols = [np.imag(fun(x + 1j * step * e, *ctx)) / step for e in np.eye(x.size).reshape((x.size,) + x.shape)]
    return np.stack(cols, axis=-1).reshape(np.shape(fun(x, *ctx)) + x.shape)


@dataclass(frozen=True)
class OnlyPushforward(Backend):
    """Forward mode by the complex step: ``build_pushforward`` and nothing else."""

    name: ClassVar[str] = "only_pushforward_test"
    has_forward: ClassVar[bool] = True

    def build_pushforward(self, fun, spec):
        def pushforward(x, T, ctx):
            y = fun(x, *ctx)
            return y, np.stack([np.imag(fun(x + 1e-30j * t, *ctx)) / 1e-30 for t in T])

        return pushforward


@dataclass(frozen=True)
class OnlyPullback(Backend):
    """Reverse mode (``DY @ J``, J by the complex step): ``build_pullback`` and nothing else."""

    name: ClassVar[str] = "only_pullback_test"
    has_reverse: ClassVar[bool] = True

    def build_pullback(self, fun, spec):
        def pullback(x, DY, ctx):
            y = fun(x, *ctx)
            J = _complex_step_jacobian(fun, x, ctx).reshape(np.size(y), x.size)
            TX = DY.reshape(DY.shape[0], -1) @ J
            return y, TX.reshape((DY.shape[0],) + x.shape)

        return pullback


MINIMAL = [OnlyPushforward(), OnlyPullback()]


@pytest.mark.parametrize("b", MINIMAL, ids=type)
def test_first_order_operators_are_derived(b):
    np.testing.assert_allclose(ad.gradient(f, b, X), grad_f(X), rtol=1e-12)
    y, g = ad.value_and_gradient(f, b, X)
    np.testing.assert_allclose([y], [f(X)], rtol=1e-14)
    np.testing.assert_allclose(g, grad_f(X), rtol=1e-12)
    np.testing.assert_allclose(ad.jacobian(h, b, X), jac_h(X), rtol=1e-12)
    t1, t2 = np.array([1.0, -2.0]), np.array([0.3, 0.7])
    ty = ad.pushforward(h, b, X, (t1, t2))
    np.testing.assert_allclose(ty[0], jac_h(X) @ t1, rtol=1e-12)
    np.testing.assert_allclose(ty[1], jac_h(X) @ t2, rtol=1e-12)
    w = np.array([1.0, 0.5, -1.0])
    (tx,) = ad.pullback(h, b, X, (w,))
    np.testing.assert_allclose(tx, w @ jac_h(X), rtol=1e-12)
    d = ad.derivative(lambda t: np.stack([np.sin(t), t**3]), b, 0.7)
    np.testing.assert_allclose(d, [np.cos(0.7), 3 * 0.7**2], rtol=1e-12)


@pytest.mark.parametrize("b", MINIMAL, ids=type)
def test_prepared_calls_twice_and_out(b):
    prep = ad.prepare_gradient(f, b, np.zeros(2))
    for x in (X, X + 1.0):
        np.testing.assert_allclose(ad.gradient(f, b, x, prep=prep), grad_f(x), rtol=1e-12)
    buf = np.full(2, np.nan)
    assert ad.gradient(f, b, X, prep=prep, out=buf) is buf
    np.testing.assert_allclose(buf, grad_f(X), rtol=1e-12)
    jprep = ad.prepare_jacobian(h, b, X)
    for x in (X, 2 * X):
        np.testing.assert_allclose(ad.jacobian(h, b, x, prep=jprep), jac_h(x), rtol=1e-12)
    with pytest.raises(ad.PreparationMismatchError, match="Hint"):
        ad.gradient(f, b, np.zeros(3), prep=prep)


@pytest.mark.parametrize("b", MINIMAL, ids=type)
def test_structured_calls_are_derived(b):
    ga, gb = ad.gradient(lambda a, c: np.sum(a * c) * a[0], b, X, np.array([3.0, -1.0]))
    np.testing.assert_allclose(ga, [2 * 3.0 * 0.5 - 2.0, 0.5 * -1.0], rtol=1e-12)
    np.testing.assert_allclose(gb, [0.5 * 0.5, 0.5 * 2.0], rtol=1e-12)
    J = ad.jacobian(lambda t: {"u": h(t["v"])}, b, {"v": X})
    np.testing.assert_allclose(J["u"]["v"], jac_h(X), rtol=1e-12)


@pytest.mark.parametrize("b", MINIMAL, ids=type)
def test_second_order_with_finite_differences_outside(b):
    so = ad.SecondOrder(ad.AutoFiniteDiff(), b)
    np.testing.assert_allclose(ad.hessian(f, so, X), hess_f(X), atol=1e-6)
    v = np.array([1.0, -1.0])
    np.testing.assert_allclose(ad.hvp(f, so, X, (v,))[0], hess_f(X) @ v, atol=1e-6)
    np.testing.assert_allclose(ad.second_derivative(lambda t: t**4, so, 1.5), 12 * 1.5**2, atol=1e-5)


@pytest.mark.parametrize("b", MINIMAL, ids=type)
def test_second_order_alone_is_a_clear_error(b):
    with pytest.raises(ad.UnsupportedOperationError, match=r"Hint: .*SecondOrder\(ad.AutoFiniteDiff\(\)"):
        ad.hessian(f, b, X)


def test_a_backend_without_primitives_is_refused():
    @dataclass(frozen=True)
    class Nothing(Backend):
        name: ClassVar[str] = "nothing_test"

    with pytest.raises(ad.UnsupportedOperationError, match="Hint: a backend implements build_pushforward"):
        ad.gradient(f, Nothing(), X)


def test_the_base_class_is_the_documented_contract():
    """Primitives, conversion hooks and the fast-path table: nothing derived lives on the class."""
    methods = {name for name, _ in inspect.getmembers(Backend, inspect.isfunction)}
    conversions = {"check_available", "check_input", "check_contexts", "to_native", "output_spec", "array_namespace",
                   "from_numpy_native", "__repr__"}
    primitives = {"build_pushforward", "build_pullback"}
    policy = {"jacobian_mode", "default_outer", "can_differentiate"}
    assert methods == conversions | primitives | policy | set(FAST_PATHS)
    b = OnlyPushforward()
    for name in ("fast_gradient", "fast_hessian"):
        assert getattr(b, name)(f, None) is None
    assert b.fast_jacobian(f, None, "forward") is None
    assert b.fast_tree_gradient(f, 0, None, None) is None


def test_preparations_and_derivative_functions_are_typed():
    """No state on function attributes: sparse plans live on the preparation, AutoNumPy's
    derivative functions are small typed objects."""
    from anydiff.backends import FunctionSpec
    from anydiff.backends._base import Built, DerivativeFunction
    from anydiff.backends._numpy_dual import ForwardGradient
    from anydiff.backends._numpy_reverse import ReverseGradient, ReversePullback
    from anydiff.operators import _derive
    from anydiff.sparse import SparsePlan

    prep = ad.prepare_jacobian(lambda v: v[1:] * v[:-1], ad.AutoSparse(ad.AutoNumPy()), np.ones(5))
    assert isinstance(prep.details, SparsePlan) and prep.sparse is prep.details and prep.ncolors == 2
    assert not hasattr(prep.run_only, "coloring") and not hasattr(prep.run_only, "sparse_plan")
    spec = FunctionSpec((2,), np.dtype(float), (), np.dtype(float), False, (), "numpy")
    g_fwd, g_rev = ad.AutoNumPy(mode="forward").raw_gradient(f, spec), ad.AutoNumPy().raw_gradient(f, spec)
    assert isinstance(g_fwd, ForwardGradient) and isinstance(g_fwd, DerivativeFunction) and g_fwd.batch == 2
    assert isinstance(g_rev, ReverseGradient) and g_rev.batch == 1
    for g in (g_fwd, g_rev):
        np.testing.assert_allclose(g(X), grad_f(X), rtol=1e-12)
    assert isinstance(ad.AutoNumPy().build_pullback(f, spec), ReversePullback)
    built = _derive.gradient(ad.AutoNumPy(), f, spec)
    assert isinstance(built, Built) and built.only is not None
    np.testing.assert_allclose(built.only(X, ()), grad_f(X), rtol=1e-12)


def test_capability_flags_default_to_refusal_with_a_hint():
    """A backend that declares no complex support gets a clear anydiff error for complex input
    or output (not a wrong number from its primitive); the built-in backends declare theirs."""
    assert Backend.supports_complex is False and Backend.supports_second_order is False
    z = np.array([1.0 + 2.0j, 0.5 - 1.0j])
    for b in MINIMAL:
        assert not b.supports_complex and not b.supports_second_order
        with pytest.raises(ad.UnsupportedOperationError, match=r"supports_complex = False.*\n.*Hint:"):
            ad.gradient(lambda v: np.sum(np.abs(v) ** 2), b, z)
        with pytest.raises(ad.UnsupportedOperationError, match=r"f returns dtype complex128.*\n.*Hint:"):
            ad.jacobian(lambda v: v * (1 + 1j), b, X)  # complex output of a real input
        with pytest.raises(ad.UnsupportedOperationError, match=r"supports_second_order = False.*\n.*Hint:"):
            ad.hvp(f, b, X, (np.ones(2),))
    # declaring it is all it takes: the complex convention is derived from the primitive
    # (here central differences, valid on complex points), checked against JAX's convention,
    # ∂f/∂Re z − i ∂f/∂Im z = 2 conj(z) for f = Σ|z|²
    @dataclass(frozen=True)
    class Central(Backend):
        name: ClassVar[str] = "central_test"
        has_forward: ClassVar[bool] = True
        supports_complex: ClassVar[bool] = True

        def build_pushforward(self, fun, spec):
            def pushforward(x, T, ctx):
                return fun(x, *ctx), np.stack([(fun(x + 1e-6 * t, *ctx) - fun(x - 1e-6 * t, *ctx)) / 2e-6 for t in T])

            return pushforward

    np.testing.assert_allclose(ad.gradient(lambda v: np.sum(np.abs(v) ** 2), Central(), z), 2 * z.conj(), rtol=1e-8)
    flags = {type(b).__name__: (b.supports_complex, b.supports_second_order)
             for b in (ad.AutoNumPy(), ad.AutoFiniteDiff(), ad.AutoJax(), ad.AutoTorch(), ad.AutoAutograd())}
    assert all(c and s for c, s in flags.values())
    assert not ad.AutoFiniteDiff(method="complex").supports_complex
    assert ad.SecondOrder(ad.AutoFiniteDiff(), MINIMAL[0]).supports_second_order
    assert not ad.AutoSparse(MINIMAL[0]).supports_complex
