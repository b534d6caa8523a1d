"""ad.custom_rule: one rule honoured by every backend, inside ad.* operators and under the
libraries' own transforms (jax.grad/jit/vmap, torch.autograd, torch.func)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp

import anydiff as ad

# A deliberately "wrong" rule (twice the true derivative of x**3): a backend that honours the
# rule gives the rule's answer, one that differentiates f itself (finite differences) does not.
doubled = ad.custom_rule(lambda x: x * x * x, jvp=lambda x, t: 6 * x * x * t)
exact_jvp = ad.custom_rule(lambda x, c: c * x * x * x, jvp=lambda x, t, c: 3 * c * x * x * t)
exact_vjp = ad.custom_rule(lambda x, c: c * x * x * x, vjp=lambda x, ct, c: 3 * c * x * x * ct)

x0 = np.array([0.5, -1.2, 2.0])


def loss(x):
    return (doubled(x) * x).sum()  # rule: d/dx = 6x^3 + x^3 = 7x^3; truth: 4x^3


def installed(name):
    return importlib.util.find_spec(name) is not None


def native_backends():
    out = [pytest.param(ad.AutoNumPy(), id="numpy"), pytest.param(ad.AutoNumPy(mode="reverse"), id="numpy-rev")]
    if installed("jax"):
        out += [pytest.param(ad.AutoJax(), id="jax"), pytest.param(ad.AutoJax(mode="forward", jit=False), id="jax-fwd")]
    if installed("torch"):
        out += [pytest.param(ad.AutoTorch(), id="torch"), pytest.param(ad.AutoTorch(mode="forward"), id="torch-fwd")]
    if installed("autograd"):
        out += [pytest.param(ad.AutoAutograd(), id="autograd")]
    return out


@pytest.mark.parametrize("backend", native_backends())
def test_every_backend_honours_the_rule(backend):
    prep = ad.prepare_gradient(loss, backend, x0)
    for _ in range(2):  # prepared, called twice
        assert np.allclose(ad.gradient(loss, backend, x0, prep=prep), 7 * x0**3, rtol=1e-12)
    # finite differences see f only
    assert np.allclose(ad.gradient(loss, ad.AutoFiniteDiff(), x0), 4 * x0**3, rtol=1e-6)


@pytest.mark.parametrize("backend", native_backends())
@pytest.mark.parametrize("rule", [exact_jvp, exact_vjp], ids=["jvp-given", "vjp-given"])
def test_missing_direction_by_transposition(backend, rule):
    c = 1.5
    J_ref = np.diag(3 * c * x0**2)
    assert np.allclose(ad.jacobian(rule, backend, x0, ad.Constant(c)), J_ref, rtol=1e-12)
    (ty,) = ad.pushforward(rule, backend, x0, (np.ones(3),), ad.Constant(c))
    (tx,) = ad.pullback(rule, backend, x0, (np.ones(3),), ad.Constant(c))
    assert np.allclose(ty, J_ref.sum(axis=1)) and np.allclose(tx, J_ref.sum(axis=0))


def _float32(a):
    return a.float() if type(a).__module__.startswith("torch") else a.astype(np.float32)


narrow_jvp = ad.custom_rule(lambda x: x * x, jvp=lambda x, t: _float32(2 * x * t))
narrow_vjp = ad.custom_rule(lambda x: x * x, vjp=lambda x, ct: _float32(2 * x * ct))


@pytest.mark.parametrize("backend", native_backends())
@pytest.mark.parametrize("rule", [narrow_jvp, narrow_vjp], ids=["jvp", "vjp"])
def test_rule_returning_a_narrower_dtype_is_refused(backend, rule):
    """A float32 result for float64 arguments used to truncate the derivative silently."""
    x = np.array([0.1 + 1e-12, 2.0])
    for call in (lambda: ad.jacobian(rule, backend, x), lambda: ad.gradient(lambda v: rule(v).sum(), backend, x)):
        with pytest.raises(ad.OutputError, match="returned dtype .*float32.*\n.*Hint"):
            call()


def test_decorator_form_and_plain_call():
    @ad.custom_rule(vjp=lambda x, ct: ct * 2.0)
    def twice(x):
        return 2.0 * x

    assert np.array_equal(twice(x0), 2 * x0)
    assert "twice" in repr(twice) and twice.vjp is not None and twice.jvp is None
    assert np.allclose(ad.jacobian(twice, ad.AutoNumPy(), x0), 2 * np.eye(3))


def test_sparsity_declared_pattern_else_dense():
    S = sp.eye_array(3, dtype=bool, format="csr")
    diag = ad.custom_rule(lambda x: x * x * x, jvp=lambda x, t: 3 * x * x * t, jacobian_sparsity=S, output_shape=(3,))
    opaque = ad.custom_rule(lambda x: x * x * x, jvp=lambda x, t: 3 * x * x * t, output_shape=(3,))
    assert np.array_equal(ad.jacobian_sparsity(diag, x0).toarray(), np.eye(3, dtype=bool))
    assert ad.jacobian_sparsity(opaque, x0).toarray().all()
    J = ad.jacobian(diag, ad.AutoSparse(ad.AutoNumPy()), x0)
    assert sp.issparse(J) and np.allclose(J.toarray(), np.diag(3 * x0**2))


def test_bad_rules():
    with pytest.raises(ad.InputError, match="neither jvp= nor vjp="):
        ad.custom_rule(lambda x: x)
    bad = ad.custom_rule(lambda x: x * x, jvp=lambda x, t: (x * t).sum())
    with pytest.raises(ad.OutputError, match=r"jvp returned shape \(\)"):
        ad.jacobian(bad, ad.AutoNumPy(), x0)
    bad_vjp = ad.custom_rule(lambda x: x * x, vjp=lambda x, ct: ct[:2])
    with pytest.raises(ad.OutputError, match="vjp returned shape"):
        ad.jacobian(bad_vjp, ad.AutoNumPy(), x0)


# ------------------------------------------------------------------ the libraries' own transforms
def test_jax_transforms_directly():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    x = jnp.asarray(x0)
    assert np.allclose(jax.jit(jax.grad(loss))(x), 7 * x0**3, rtol=1e-12)
    X = jnp.stack([x, 2 * x])
    assert np.allclose(jax.jit(jax.vmap(jax.grad(loss)))(X), 7 * np.asarray(X) ** 3, rtol=1e-12)
    for rule in (exact_jvp, exact_vjp):
        for transform in (jax.jacfwd, jax.jacrev):
            J = jax.jit(transform(rule), static_argnums=1)(x, 2.0)
            assert np.allclose(J, np.diag(6 * x0**2), rtol=1e-12)
    # an array context: held constant, and differentiating with respect to it is refused
    assert np.allclose(jax.grad(lambda x, c: exact_vjp(x, c).sum())(x, jnp.ones(3)), 3 * x0**2)
    with pytest.raises(ad.UnsupportedOperationError, match="held constant"):
        jax.grad(lambda c: exact_jvp(x, c).sum())(jnp.ones(3))
    bad = ad.custom_rule(lambda x: x * x, jvp=lambda x, t: (x * t).sum())
    with pytest.raises(ad.OutputError, match="jvp returned shape"):
        jax.jit(jax.jacfwd(bad))(x)


def test_jax_untransposable_vjp_is_a_clear_error():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    nonlinear = ad.custom_rule(lambda x: x * x, vjp=lambda x, ct: ct * ct * x)  # not linear in ct
    with pytest.raises(ad.UnsupportedOperationError, match="give both jvp= and vjp="):
        jax.jacfwd(nonlinear)(jax.numpy.asarray(x0))


def test_torch_transforms_directly():
    torch = pytest.importorskip("torch")
    x = torch.tensor(x0, requires_grad=True)
    (g,) = torch.autograd.grad(loss(x), x)
    assert np.allclose(g.numpy(), 7 * x0**3, rtol=1e-12)
    assert np.allclose(torch.func.grad(loss)(torch.tensor(x0)).numpy(), 7 * x0**3, rtol=1e-12)
    X = torch.tensor(np.stack([x0, 2 * x0]))
    assert np.allclose(torch.func.vmap(torch.func.grad(loss))(X).numpy(), 7 * X.numpy() ** 3, rtol=1e-12)
    for rule in (exact_jvp, exact_vjp):
        for transform in (torch.func.jacfwd, torch.func.jacrev):
            J = transform(lambda x, r=rule: r(x, 2.0))(torch.tensor(x0))
            assert np.allclose(J.numpy(), np.diag(6 * x0**2), rtol=1e-12)
    fwAD = torch.autograd.forward_ad
    with fwAD.dual_level():
        y = exact_vjp(fwAD.make_dual(torch.tensor(x0), torch.ones(3, dtype=torch.float64)), 1.0)
        assert np.allclose(fwAD.unpack_dual(y).tangent.numpy(), 3 * x0**2)
    with pytest.raises(ad.UnsupportedOperationError, match="held constant"):
        exact_jvp(torch.tensor(x0), torch.ones(3, dtype=torch.float64, requires_grad=True))


def test_autograd_directly():
    autograd = pytest.importorskip("autograd")
    assert np.allclose(autograd.grad(loss)(x0), 7 * x0**3, rtol=1e-12)
    assert np.allclose(autograd.jacobian(lambda x: exact_vjp(x, 2.0))(x0), np.diag(6 * x0**2))
    with pytest.raises(ad.UnsupportedOperationError, match="held constant"):
        autograd.grad(lambda c: exact_jvp(x0, c).sum())(1.0)


# ------------------------------------------------------------------ anydiff.testing.check_rule
def test_check_rule_passes_good_rules_under_every_installed_backend():
    from anydiff.testing import check_rule

    for rule in (exact_jvp, exact_vjp):
        checks = check_rule(rule, x0, 1.5)
        names = {c.backend for c in checks}
        assert "finite differences" in names and "AutoNumPy()" in names
        assert all(c.ok for c in checks) and len(checks) >= 3
    both = ad.custom_rule(lambda x: x * x * x, jvp=lambda x, t: 3 * x * x * t, vjp=lambda x, c: 3 * x * x * c)
    assert any(c.what == "jvp vs vjp" for c in check_rule(both, x0, backends=["numpy"]))


def test_check_rule_finds_wrong_rules():
    from anydiff.testing import check_rule

    with pytest.raises(AssertionError, match="finite differences / jvp"):
        check_rule(doubled, x0, backends=[])
    inconsistent = ad.custom_rule(lambda x: x * x * x, jvp=lambda x, t: 3 * x * x * t, vjp=lambda x, c: 3 * x * c)
    with pytest.raises(AssertionError, match="jvp vs vjp"):
        check_rule(inconsistent, x0, backends=[])
    bad_shape = ad.custom_rule(lambda x: x * x, jvp=lambda x, t: (x * t).sum())
    with pytest.raises(AssertionError, match="OutputError"):
        check_rule(bad_shape, x0, backends=["numpy"])
    with pytest.raises(ad.InputError, match="custom_rule"):
        check_rule(lambda x: x, x0)
