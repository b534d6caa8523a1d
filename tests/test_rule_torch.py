"""Fast paths of ``differentiate_with`` and ``custom_rule`` inside torch code.

A scalar black box computes its value and gradient in one backend call once a gradient has
been prepared for the signature; a backward pass that nothing can differentiate skips the
second ``autograd.Function``; with no ``torch.func`` transform active, the Functions run in
torch's classic form. Every path is checked against analytic derivatives, called several
times, under the classic tape, forward AD and ``torch.func``; second order is still refused.
"""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad

torch = pytest.importorskip("torch")
fwAD = torch.autograd.forward_ad


def f_np(x, c=1.0):
    return c * np.sum(np.sin(x) * np.roll(x, 1)) + np.sum(x**2)


def f_torch(x, c=1.0):
    return torch.as_tensor(c) * torch.sum(torch.sin(x) * torch.roll(x, 1)) + torch.sum(x**2)


def grad_exact(x, c=1.0):
    x = np.asarray(x, dtype=np.float64)
    return c * (np.cos(x) * np.roll(x, 1) + np.roll(np.sin(x), -1)) + 2 * x


BLACK_BOXES = [pytest.param(f_np, ad.AutoNumPy(), id="numpy"), pytest.param(f_torch, ad.AutoTorch(), id="torch"),
               pytest.param(f_np, ad.AutoFiniteDiff(), id="fd")]
X = np.linspace(0.1, 1.0, 7)


def tol(backend):
    return 1e-6 if isinstance(backend, ad.AutoFiniteDiff) else 1e-12


@pytest.mark.parametrize("f, backend", BLACK_BOXES)
def test_scalar_black_box_classic_and_func_grad(f, backend):
    w = ad.differentiate_with(f, backend)
    for k in range(3):  # first call prepares the gradient; later calls fuse value and gradient
        x = X * (1 + 0.1 * k)
        v = torch.tensor(x, requires_grad=True)
        y = w(v, 2.0)
        np.testing.assert_allclose(y.item(), f_np(x, 2.0), rtol=1e-12)
        y.backward()
        np.testing.assert_allclose(v.grad.numpy(), grad_exact(x, 2.0), rtol=tol(backend))
        g = torch.func.grad(lambda t: w(t, 2.0))(torch.tensor(x))
        np.testing.assert_allclose(g.numpy(), grad_exact(x, 2.0), rtol=tol(backend))
        u = torch.tensor(x, requires_grad=True)  # inside a larger graph
        (g,) = torch.autograd.grad(3.0 * w(u * 1.0, 2.0) + u.sum(), u)
        np.testing.assert_allclose(g.numpy(), 3 * grad_exact(x, 2.0) + 1, rtol=tol(backend))


@pytest.mark.parametrize("f, backend", BLACK_BOXES)
def test_held_gradients_are_not_shared_between_calls(f, backend):
    """Two forward passes before either backward: each keeps its own gradient."""
    w = ad.differentiate_with(f, backend)
    a, b = torch.tensor(X, requires_grad=True), torch.tensor(2 * X, requires_grad=True)
    w(a).backward()  # prepares the gradient
    a.grad = None
    ya, yb = w(a), w(b)
    (ya + 10 * yb).backward()
    np.testing.assert_allclose(a.grad.numpy(), grad_exact(X), rtol=tol(backend))
    np.testing.assert_allclose(b.grad.numpy(), 10 * grad_exact(2 * X), rtol=tol(backend))


def test_value_and_gradient_in_one_backend_call():
    """From the second call at a signature, a gradient step evaluates f once (not once for the
    value and once more for the gradient), under the classic tape and torch.func.grad."""
    calls = []

    def f(x):
        calls.append(1)
        return np.sum(x**3)

    w = ad.differentiate_with(f, ad.AutoNumPy())
    for step in range(3):
        calls.clear()
        v = torch.tensor(X, requires_grad=True)
        w(v).backward()
        np.testing.assert_allclose(v.grad.numpy(), 3 * X**2, rtol=1e-12)
        assert len(calls) == 1 or step == 0  # the first step also prepares the gradient
        calls.clear()
        np.testing.assert_allclose(torch.func.grad(w)(torch.tensor(X)).numpy(), 3 * X**2, rtol=1e-12)
        assert len(calls) == 1 or step == 0
    calls.clear()
    with torch.no_grad():  # no gradient wanted: f alone
        w(torch.tensor(X, requires_grad=True))
    assert len(calls) == 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtypes_are_kept(dtype):
    w = ad.differentiate_with(f_np, ad.AutoNumPy())
    for _ in range(3):
        v = torch.tensor(X, dtype=dtype, requires_grad=True)
        y = w(v)
        y.backward()
        assert y.dtype == dtype and v.grad.dtype == dtype
        np.testing.assert_allclose(v.grad.numpy(), grad_exact(X), rtol=1e-5 if dtype == torch.float32 else 1e-12)
        g = torch.func.grad(w)(torch.tensor(X, dtype=dtype))
        assert g.dtype == dtype


def test_scalar_black_box_under_other_transforms():
    w = ad.differentiate_with(f_np, ad.AutoNumPy())
    w(torch.tensor(X, requires_grad=True)).backward()  # gradient prepared: fused from now on
    for _ in range(2):
        np.testing.assert_allclose(torch.func.jacrev(w)(torch.tensor(X)).numpy(), grad_exact(X), rtol=1e-12)
        np.testing.assert_allclose(torch.func.jacfwd(w)(torch.tensor(X)).numpy(), grad_exact(X), rtol=1e-12)
        XX = torch.tensor(np.stack([X, 2 * X]))
        G = torch.func.vmap(torch.func.grad(w))(XX)
        np.testing.assert_allclose(G.numpy(), np.stack([grad_exact(X), grad_exact(2 * X)]), rtol=1e-12)
        out, pull = torch.func.vjp(w, torch.tensor(X))
        np.testing.assert_allclose(pull(torch.tensor(3.0, dtype=torch.float64))[0].numpy(), 3 * grad_exact(X), rtol=1e-12)
        with fwAD.dual_level():
            t = torch.ones(7, dtype=torch.float64)
            y = w(fwAD.make_dual(torch.tensor(X), t))
            np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.item(), grad_exact(X).sum(), rtol=1e-12)


def test_tensor_needing_grad_below_torch_func_grad():
    """torch.func.grad over a leaf that itself requires grad: the general path (no shortcut)."""
    w = ad.differentiate_with(f_np, ad.AutoNumPy())
    for _ in range(2):
        leaf = torch.tensor(X, requires_grad=True)
        g = torch.func.grad(w)(leaf)
        np.testing.assert_allclose(g.detach().numpy(), grad_exact(X), rtol=1e-12)


def test_second_order_is_still_refused():
    w = ad.differentiate_with(f_np, ad.AutoNumPy())
    for _ in range(2):  # the second time through the fused value-and-gradient path
        v = torch.tensor(X, requires_grad=True)
        (g,) = torch.autograd.grad(w(v), v, create_graph=True)
        np.testing.assert_allclose(g.detach().numpy(), grad_exact(X), rtol=1e-12)
        with pytest.raises(ad.UnsupportedOperationError, match="first derivatives"):
            torch.autograd.grad(g.sum(), v)
    with pytest.raises(ad.UnsupportedOperationError, match="nested torch.func|first derivatives"):
        torch.func.hessian(w)(torch.tensor(X))
    with pytest.raises(ad.UnsupportedOperationError, match="nested torch.func|first derivatives"):
        torch.func.grad(lambda t: torch.func.grad(w)(t).sum())(torch.tensor(X))
    with fwAD.dual_level():  # forward over reverse
        v = fwAD.make_dual(torch.tensor(X), torch.ones(7, dtype=torch.float64)).requires_grad_(True)
        with pytest.raises(ad.UnsupportedOperationError, match="first derivatives"):
            torch.autograd.grad(w(v), v)


def test_vector_black_box_backward_without_second_function():
    """A vector-valued black box: the pullback goes straight to the backend when nothing can
    differentiate the backward pass (classic and one torch.func.grad level)."""
    w = ad.differentiate_with(lambda x: np.sin(x) * x[0], ad.AutoNumPy())
    exact = lambda x: np.cos(x) * x[0] * 2 * np.sin(x) * x[0] + np.eye(len(x))[0] * np.sum(2 * np.sin(x) ** 2 * x[0])
    loss = lambda t: (w(t) ** 2).sum()
    for _ in range(2):
        v = torch.tensor(X, requires_grad=True)
        loss(v).backward()
        np.testing.assert_allclose(v.grad.numpy(), exact(X), rtol=1e-12)
        np.testing.assert_allclose(torch.func.grad(loss)(torch.tensor(X)).numpy(), exact(X), rtol=1e-12)


def test_conjugate_views_reach_the_host_as_values():
    """``z.conj()`` is a lazy view torch cannot hand to NumPy as is; reference: |z|^2 and its
    gradient 2 z under the JAX convention for real f of complex z (conjugated for torch)."""
    w = ad.differentiate_with(lambda x: np.sum(np.abs(x) ** 2), ad.AutoNumPy())
    z = torch.tensor([1 + 2j, 0.5 - 1j], dtype=torch.complex128)
    torch.testing.assert_close(w(z.conj()), torch.tensor(6.25, dtype=torch.float64))
    torch.testing.assert_close(w(-z), torch.tensor(6.25, dtype=torch.float64))
    v = z.clone().requires_grad_(True)
    w(v.conj()).backward()
    u = z.clone().requires_grad_(True)
    (u.abs() ** 2).sum().backward()  # torch's own answer for the same function
    torch.testing.assert_close(v.grad, u.grad)


# ------------------------------------------------------------------ custom_rule
softplus_jvp = lambda x, t: t * torch.sigmoid(x)
RULES = {"jvp": dict(jvp=softplus_jvp), "vjp": dict(vjp=softplus_jvp), "both": dict(jvp=softplus_jvp, vjp=softplus_jvp)}


@pytest.mark.parametrize("given", sorted(RULES))
def test_custom_rule_classic_and_func(given):
    rule = ad.custom_rule(lambda x: torch.nn.functional.softplus(x), **RULES[given])
    sig = lambda x: 1 / (1 + np.exp(-x))
    loss = lambda v: torch.sum(rule(v) * v)
    exact = lambda x: sig(x) * x + np.log1p(np.exp(x))
    for dtype in (torch.float64, torch.float32):
        x = torch.linspace(-3.0, 3.0, 9, dtype=dtype)
        rtol = 1e-12 if dtype == torch.float64 else 1e-5
        for _ in range(2):
            v = x.clone().requires_grad_(True)
            loss(v).backward()
            assert v.grad.dtype == dtype
            np.testing.assert_allclose(v.grad.numpy(), exact(x.double().numpy()), rtol=rtol)
            np.testing.assert_allclose(torch.func.grad(loss)(x).numpy(), exact(x.double().numpy()), rtol=rtol)
            for transform in (torch.func.jacrev, torch.func.jacfwd):
                np.testing.assert_allclose(transform(rule)(x).numpy(), np.diag(sig(x.double().numpy())), rtol=rtol)
            with fwAD.dual_level():
                y = rule(fwAD.make_dual(x, torch.ones_like(x)))
                np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.numpy(), sig(x.double().numpy()), rtol=rtol)
            # second order: the rule is torch code, so torch differentiates the rule itself
            (g,) = torch.autograd.grad(rule(v).sum(), v, create_graph=True)
            (h,) = torch.autograd.grad(g.sum(), v)
            s = sig(x.double().numpy())
            np.testing.assert_allclose(h.numpy(), s * (1 - s), rtol=rtol)


@pytest.mark.parametrize("given", sorted(RULES))
def test_custom_rule_second_order_under_torch_func(given):
    """Nested transforms take the general road (torch.func.vjp for a missing vjp); reference:
    softplus'' = s (1 - s) with s the logistic sigmoid."""
    rule = ad.custom_rule(lambda x: torch.nn.functional.softplus(x), **RULES[given])
    loss = lambda v: rule(v).sum()
    x = torch.linspace(-2.0, 2.0, 5, dtype=torch.float64)
    s = torch.sigmoid(x)
    for _ in range(2):
        torch.testing.assert_close(torch.func.hessian(loss)(x), torch.diag(s * (1 - s)))
        torch.testing.assert_close(torch.func.grad(lambda v: torch.func.grad(loss)(v).sum())(x), s * (1 - s))
        _, hv = torch.func.jvp(torch.func.grad(loss), (x,), (torch.ones_like(x),))
        torch.testing.assert_close(hv, s * (1 - s))
        G = torch.func.vmap(torch.func.grad(loss))(torch.stack([x, 2 * x]))
        torch.testing.assert_close(G, torch.stack([s, torch.sigmoid(2 * x)]))


def test_custom_rule_wrong_shape_and_contexts_in_classic_form():
    bad = ad.custom_rule(lambda x: x * x, vjp=lambda x, ct: ct[:2])
    v = torch.ones(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ad.OutputError, match="vjp returned shape"):
        bad(v).sum().backward()
    with pytest.raises(ad.OutputError, match="vjp returned shape"):
        torch.func.grad(lambda t: bad(t).sum())(torch.ones(3, dtype=torch.float64))
    narrow = ad.custom_rule(lambda x: x * x, vjp=lambda x, ct: (2 * x * ct).float())
    with pytest.raises(ad.OutputError, match="returned dtype"):  # never truncated silently
        narrow(v).sum().backward()
    with pytest.raises(ad.OutputError, match="returned dtype"):
        torch.func.grad(lambda t: narrow(t).sum())(torch.ones(3, dtype=torch.float64))
    scaled = ad.custom_rule(lambda x, c: c * x, jvp=lambda x, t, c: c * t)
    c = torch.tensor(3.0, dtype=torch.float64)  # a tensor context, with the jvp transposed
    for _ in range(2):
        g = torch.func.grad(lambda t: scaled(t, c).sum())(torch.ones(3, dtype=torch.float64))
        torch.testing.assert_close(g, torch.full((3,), 3.0, dtype=torch.float64))
        (g,) = torch.autograd.grad(scaled(v, c).sum(), v)
        torch.testing.assert_close(g, torch.full((3,), 3.0, dtype=torch.float64))
    with pytest.raises(ad.UnsupportedOperationError, match="held constant"):
        scaled(v, torch.tensor(2.0, requires_grad=True))
    (g,) = torch.autograd.grad(scaled(v, torch.tensor(2.0, dtype=torch.float64)).sum(), v)
    np.testing.assert_allclose(g.numpy(), 2.0)


def test_dispatch_follows_argument_types_on_every_call():
    """The route is cached per argument types: the same function alternates NumPy, torch and
    engine values correctly, and an engine value in a context is still refused."""
    rule = ad.custom_rule(lambda x, c=1.0: c * x * x, jvp=lambda x, t, c=1.0: 2 * c * x * t)
    w = ad.differentiate_with(lambda x, c=1.0: c * np.sum(x**3), ad.AutoNumPy())
    for _ in range(2):
        assert isinstance(rule(X), np.ndarray) and torch.is_tensor(rule(torch.tensor(X)))
        np.testing.assert_allclose(ad.gradient(lambda x: rule(x).sum(), ad.AutoNumPy(), X), 2 * X)
        np.testing.assert_allclose(ad.gradient(lambda x: w(x), ad.AutoNumPy(), X), 3 * X**2)
        assert torch.is_tensor(w(torch.tensor(X))) and np.ndim(w(X)) == 0
        with pytest.raises(ad.UnsupportedOperationError, match="context carries"):
            ad.gradient(lambda c: rule(X, c).sum(), ad.AutoNumPy(), np.array(2.0))
        with pytest.raises(ad.UnsupportedOperationError, match="another argument carries"):
            ad.gradient(lambda c: w(X, c), ad.AutoNumPy(), np.array(2.0))


@pytest.mark.parametrize("batch", [0, 3])
def test_vmap_over_an_empty_batch_keeps_the_core_shapes(batch):
    """torch.func.vmap of a black box and of its gradient: an empty batch gives empty results of
    the right shape (it gave shape (0,) for the call and a shape error for the gradient)."""
    box = ad.differentiate_with(lambda x: np.stack([np.sin(x[0]) * x[1], x[1] ** 2]), ad.AutoNumPy())
    loss = ad.differentiate_with(lambda x: np.sum(x**2), ad.AutoNumPy())
    X = torch.linspace(0.5, 1.5, 2 * batch, dtype=torch.float64).reshape(batch, 2)
    Y = torch.func.vmap(box)(X)
    G = torch.func.vmap(torch.func.grad(loss))(X)
    assert Y.shape == (batch, 2) and G.shape == (batch, 2)
    x = X.numpy()
    torch.testing.assert_close(Y, torch.from_numpy(np.stack([np.sin(x[:, 0]) * x[:, 1], x[:, 1] ** 2], axis=-1)))
    torch.testing.assert_close(G, 2 * X)
