"""torch products: same-point preparations (linearized or taped once) and HVPs by reverse over reverse."""

import numpy as np
import pytest

import anydiff as ad
from anydiff.testing import (
    brusselator_2d,
    brusselator_point,
    rosenbrock_chain,
    rosenbrock_chain_hessian,
)

torch = pytest.importorskip("torch")


def _f(x):
    return torch.sin(x) * x[0] + torch.roll(x, 1) ** 2


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_same_point_pushforward_and_pullback_match_the_jacobian(mode):
    b = ad.AutoTorch(mode=mode)
    x = np.array([0.3, -0.7, 1.1, 2.0])
    J = np.cos(x)[:, None] * x[0] * np.eye(4)
    J[:, 0] += np.sin(x)
    J += 2 * np.roll(x, 1)[:, None] * np.roll(np.eye(4), 1, axis=0)
    T = tuple(np.random.default_rng(0).standard_normal((3, 4)))
    pf = ad.prepare_pushforward_same_point(_f, b, x)
    pb = ad.prepare_pullback_same_point(_f, b, x)
    for _ in range(2):  # called twice: the linearization is reused, not consumed
        assert np.allclose(np.stack(ad.pushforward(_f, b, x, T, prep=pf)), np.stack(T) @ J.T, rtol=1e-13)
        assert np.allclose(np.stack(ad.pullback(_f, b, x, T, prep=pb)), np.stack(T) @ J, rtol=1e-13)
    y, ty = ad.value_and_pushforward(_f, b, x, T, prep=pf)
    assert np.allclose(y, np.sin(x) * x[0] + np.roll(x, 1) ** 2)
    moved = x.copy()
    moved[0] = 5.0
    with pytest.raises(ad.PreparationMismatchError, match="same_point"):
        ad.pushforward(_f, b, moved, T, prep=pf)


def test_same_point_hvp_torch():
    def g(x):
        return torch.sum(torch.sin(x) ** 2 * x[0])

    b = ad.AutoTorch()
    x = np.array([0.3, -0.7, 1.1])
    H = np.diag(2 * x[0] * np.cos(2 * x))  # analytic: g = x0 * sum(sin(x)^2)
    H[0, :] += np.sin(2 * x)
    H[:, 0] += np.sin(2 * x)
    prep = ad.prepare_hvp_same_point(g, b, x)
    for _ in range(2):
        assert np.allclose(np.stack(ad.hvp(g, b, x, tuple(np.eye(3)), prep=prep)), H, rtol=1e-12)


def test_same_point_with_a_constant_and_a_larger_function():
    N = 8
    f = brusselator_2d(torch, N)
    x = brusselator_point(N)
    b = ad.AutoTorch(mode="forward")
    J = ad.jacobian(brusselator_2d(np, N), ad.AutoNumPy(), x)  # the NumPy twin, another engine
    T = tuple(np.eye(x.size)[:5])
    pf = ad.prepare_pushforward_same_point(f, b, x)
    assert np.allclose(np.stack(ad.pushforward(f, b, x, T, prep=pf)), J[:, :5].T, rtol=1e-13)

    def scaled(x, c):
        return c * torch.tanh(x)

    xs = np.array([0.1, 0.2])
    ps = ad.prepare_pushforward_same_point(scaled, b, xs, ad.Constant(3.0))
    (t,) = ad.pushforward(scaled, b, xs, (np.ones(2),), ad.Constant(3.0), prep=ps)
    assert np.allclose(t, 3.0 / np.cosh(xs) ** 2)
    with pytest.raises(ad.PreparationMismatchError):
        ad.pushforward(scaled, b, xs, (np.ones(2),), ad.Constant(4.0), prep=ps)


@pytest.mark.parametrize("prepare", [ad.prepare_pushforward_same_point, ad.prepare_pullback_same_point])
def test_same_point_calls_do_not_run_f_again(prepare):
    calls = []

    def f(x):
        calls.append(1)
        return torch.exp(x) * x[1]

    b = ad.AutoTorch(mode="forward")
    x = np.array([0.5, 1.5])
    prep = prepare(f, b, x)
    op = ad.pushforward if prepare is ad.prepare_pushforward_same_point else ad.pullback
    before = len(calls)
    result = op(f, b, x, (np.array([1.0, 0.0]), np.array([0.0, 1.0])), prep=prep)
    assert len(calls) == before  # linearized / taped once at preparation
    J = np.diag(np.exp(x) * x[1])
    J[:, 1] += np.exp(x)
    expected = J if op is ad.pushforward else J.T
    assert np.allclose(np.stack(result), expected.T, rtol=1e-14)


_rosenbrock = rosenbrock_chain(torch)
_rosenbrock_hessian = rosenbrock_chain_hessian


@pytest.mark.parametrize("outer_mode", ["reverse", "forward"])
def test_hvp_reverse_over_reverse_and_forward_over_reverse_agree_with_analytic(outer_mode):
    x = np.random.default_rng(1).uniform(0.5, 1.5, 7)
    H = _rosenbrock_hessian(x)
    outer = ad.AutoTorch(mode=outer_mode)
    assert outer.hvp_mode == outer_mode
    b = ad.SecondOrder(outer, ad.AutoTorch())
    V = tuple(np.random.default_rng(2).standard_normal((3, 7)))
    prep = ad.prepare_hvp(_rosenbrock, b, x)
    for _ in range(2):
        assert np.allclose(np.stack(ad.hvp(_rosenbrock, b, x, V, prep=prep)), np.stack(V) @ H, rtol=1e-12)
    assert np.allclose(ad.hessian(_rosenbrock, b, x), H, rtol=1e-12)


def test_default_torch_second_order_is_reverse_over_reverse_and_sparse_hessian_exact():
    assert ad.AutoTorch().default_outer().hvp_mode == "reverse"
    assert ad.AutoTorch(compile=True).default_outer().hvp_mode == "forward"  # compiled batched VJPs can fail
    x = np.random.default_rng(3).uniform(0.5, 1.5, 50)
    b = ad.AutoSparse(ad.AutoTorch())
    prep = ad.prepare_hessian(_rosenbrock, b, x)
    for point in (x, x[::-1].copy()):
        Hs = ad.hessian(_rosenbrock, b, point, prep=prep)
        assert np.allclose(Hs.toarray(), _rosenbrock_hessian(point), rtol=1e-12)
    value, grad, H = ad.value_gradient_and_hessian(_rosenbrock, b, x, prep=prep)
    assert np.isclose(value, float(_rosenbrock(torch.from_numpy(x))))
    assert np.allclose(H.toarray(), _rosenbrock_hessian(x), rtol=1e-12)
    assert np.allclose(grad, ad.gradient(_rosenbrock, ad.AutoTorch(), x), rtol=1e-14)


def test_eager_gradient_uses_one_classic_tape_and_matches_analytic():
    b = ad.AutoTorch()
    x = np.linspace(-1.0, 2.0, 6)
    f = lambda x: torch.sum(torch.sin(x) ** 2 * torch.exp(x))  # noqa: E731
    expected = (np.sin(2 * x) + np.sin(x) ** 2) * np.exp(x)
    prep = ad.prepare_gradient(f, b, x)
    for _ in range(2):
        assert np.allclose(ad.gradient(f, b, x, prep=prep), expected, rtol=1e-14)
    y, g = ad.value_and_gradient(f, b, x, prep=prep)
    assert np.isclose(y, np.sum(np.sin(x) ** 2 * np.exp(x))) and np.allclose(g, expected, rtol=1e-14)
    x32 = x.astype(np.float32)
    g32 = ad.gradient(f, b, torch.from_numpy(x32))
    assert g32.dtype == torch.float32 and np.allclose(g32.numpy(), expected, rtol=1e-5)
    # f that ignores x, or uses only part of it: zeros where it does not depend on x
    assert np.array_equal(ad.gradient(lambda x: torch.tensor(2.0, dtype=torch.float64), b, x), np.zeros(6))
    assert np.array_equal(ad.gradient(lambda x: x[0] * 3.0, b, x), np.r_[3.0, np.zeros(5)])
    # the input tensor is not modified nor left requiring grad
    xt = torch.from_numpy(x.copy())
    ad.gradient(f, b, xt)
    assert not xt.requires_grad and np.array_equal(xt.numpy(), x)


def test_eager_tree_and_two_argument_gradients_match_analytic():
    b = ad.AutoTorch()
    rng = np.random.default_rng(4)
    a, c = rng.standard_normal(5), rng.standard_normal(5)
    ga, gc = ad.gradient(lambda a, c, k: torch.sum(a**2 * c) * k, b, a, c, ad.Constant(3.0))
    assert np.allclose(ga, 6 * a * c) and np.allclose(gc, 3 * a**2)
    tree = {"w": a, "v": [c, c[:2]]}
    g = ad.gradient(lambda p: torch.sum(p["w"] * p["v"][0]) + torch.sum(p["v"][1] ** 3), b, tree)
    assert np.allclose(g["w"], c) and np.allclose(g["v"][0], a) and np.allclose(g["v"][1], 3 * c[:2] ** 2)
    ga, gc = ad.gradient(lambda a, c: torch.sum(a**2), b, a, c)  # c unused: zeros
    assert np.allclose(ga, 2 * a) and np.array_equal(gc, np.zeros(5))


def test_gradients_under_inference_mode_and_no_grad_are_not_zero():
    """No tape can be recorded in inference mode: torch.func runs instead (never a zero gradient)."""
    b = ad.AutoTorch()
    f = lambda x: torch.sum(torch.sin(x) * x)  # noqa: E731
    x = torch.linspace(0.1, 1.0, 4, dtype=torch.float64)
    expected = (torch.cos(x) * x + torch.sin(x)).numpy()
    prep = ad.prepare_gradient(f, b, x)
    with torch.no_grad():
        assert np.allclose(ad.gradient(f, b, x, prep=prep).numpy(), expected, rtol=1e-14)
    with torch.inference_mode():
        assert np.allclose(ad.gradient(f, b, x, prep=prep).numpy(), expected, rtol=1e-14)
        assert np.allclose(ad.gradient(f, b, x).numpy(), expected, rtol=1e-14)
        xi = torch.linspace(0.1, 1.0, 4, dtype=torch.float64)  # an inference tensor
        ga, gb = ad.gradient(lambda a, c: torch.sum(a * c), b, xi, xi * 2)
        assert np.allclose(ga.numpy(), 2 * xi.numpy()) and np.allclose(gb.numpy(), xi.numpy())
    with torch.inference_mode():
        xinf = torch.ones(3, dtype=torch.float64)
    assert np.allclose(ad.gradient(lambda v: torch.sum(v**2), b, xinf).numpy(), 2.0)  # inference tensor, outside
