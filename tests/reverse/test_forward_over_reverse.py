"""Forward-over-reverse HVPs of AutoNumPy's reverse engine (the tape outermost, the backward
pass on forward-mode duals) against forward-over-forward, the old reverse-over-forward path
and analytic Hessians; prepared calls; and the fallback to reverse-over-forward."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff.dual import Dual
from anydiff.reverse import gradient
from anydiff.testing import rosenbrock_chain_hessian

FWD = ad.AutoNumPy(mode="forward")
RNG = np.random.default_rng(5)
A0 = RNG.normal(size=(3, 3)) + 3.0 * np.eye(3)
W = RNG.normal(size=(9, 4))


def _buffers(x):
    out = np.zeros_like(x)
    head = out[:4]  # a view: sees the writes below
    out[1:] = x[:-1] * x[1:]
    np.add.at(out, [0, 0, 2], x[:3] ** 2)
    out[[3, 5]] = np.sin(x[[1, 1]])
    for i in range(2, 5):
        out[i] = out[i] * out[i - 1] + x[i]
    return np.sum(out * out) + np.sum(head ** 3)


def _loop(x):
    y = np.zeros(len(x))  # a buffer of the user's own, as NumPy code writes it
    for i in range(len(x)):
        y[i] = np.sin(x[i]) * (y[i - 1] if i else 1.0)
    return y.sum()


FUNCTIONS = {
    "elementwise": lambda x: np.sum(np.sin(x) * np.exp(x) / (1 + x**2) + np.tanh(x) * np.log1p(x * x) + x**3),
    "broadcast": lambda x: np.sum((x[:, None] * x[None, :] + x[:, None]) ** 2),
    "reductions": lambda x: np.prod(x[:3]) + np.max(x) * np.mean(x**2) + np.sum(x.reshape(3, 3).sum(axis=0) ** 2),
    "indexing": lambda x: np.sum(x[[0, 2, 2, 5]] ** 2 * x[::2][:4]) + np.sum(x[x > 0] ** 3),
    "buffers": _buffers,
    "loop": _loop,
    "matmul": lambda x: np.sum((x.reshape(3, 3) @ x.reshape(3, 3)) ** 2) + x[:3] @ A0 @ x[3:6] + np.sum(np.tanh(x @ W)),
    "einsum": lambda x: np.einsum("ij,jk,ki->", x.reshape(3, 3), A0, x.reshape(3, 3)) ** 2,
    "solve": lambda x: np.sum(np.linalg.solve(A0 + x.reshape(3, 3), x[:3]) ** 2),
    "det": lambda x: np.linalg.det(A0 + x.reshape(3, 3)),
    "scans-fft": lambda x: np.sum(np.cumsum(x) ** 2) + np.sum(np.abs(np.fft.fft(x)) ** 2) + np.sum(np.roll(x, 2) * x**2),
    "complex-inside": lambda x: np.sum(np.abs(np.exp(1j * x) * (1 + 2j) * x + x**2) ** 2),
}


def _hessian_fwd(f, x):
    return ad.hessian(f, FWD, x)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_hvp_matches_forward_over_forward_and_the_old_path(name):
    f = FUNCTIONS[name]
    x = RNG.uniform(-1.0, 1.0, 9)
    V = RNG.normal(size=(3, 9))
    H = _hessian_fwd(f, x)
    new = gradient(f, Dual(x, V), (), nested="forward_over_reverse")  # no fallback: this path itself
    old = gradient(f, Dual(x, V), (), nested="reverse_over_forward")
    np.testing.assert_allclose(new.value, ad.gradient(f, FWD, x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(new.tangent, (H @ V.T).T, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(new.tangent, old.tangent, rtol=1e-9, atol=1e-10)


def test_analytic_rosenbrock_hessian_dense_and_sparse_prepared_twice():
    def f(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    analytic = rosenbrock_chain_hessian

    x1, x2 = RNG.uniform(-1.0, 1.0, 12), RNG.uniform(-1.0, 1.0, 12)
    for backend in (ad.AutoNumPy(), ad.AutoSparse(ad.AutoNumPy())):
        prep = ad.prepare_hessian(f, backend, x1)
        for x in (x1, x2, x1):
            H = ad.hessian(f, backend, x, prep=prep)
            H = H.toarray() if hasattr(H, "toarray") else H
            np.testing.assert_allclose(H, analytic(x), rtol=1e-12, atol=1e-9)
    prep = ad.prepare_hvp(f, ad.AutoNumPy(), x1)
    v = RNG.normal(size=12)
    for _ in range(2):
        np.testing.assert_allclose(ad.hvp(f, ad.AutoNumPy(), x1, (v,), prep=prep)[0], analytic(x1) @ v, rtol=1e-12)


def test_float32_stays_float32():
    def f(x):
        return np.sum(np.sin(x) * x**2)

    x = RNG.uniform(-1.0, 1.0, 5).astype(np.float32)
    H = ad.hessian(f, ad.AutoNumPy(), x)
    assert H.dtype == np.float32
    np.testing.assert_allclose(H, _hessian_fwd(f, x.astype(np.float64)), rtol=1e-5, atol=1e-5)


def test_complex_input_matches_the_old_path():
    """JAX's convention for complex x: both paths push forward the same gradient."""
    z = RNG.normal(size=4) + 1j * RNG.normal(size=4)
    V = RNG.normal(size=(2, 4)) + 1j * RNG.normal(size=(2, 4))
    for f in (lambda z: np.sum(np.abs(z**2 + np.sin(z)) ** 2), lambda z: np.real(np.sum(z * z * np.conj(z)))):
        new = gradient(f, Dual(z, V), (), nested="forward_over_reverse")
        old = gradient(f, Dual(z, V), (), nested="reverse_over_forward")
        np.testing.assert_allclose(new.value, ad.gradient(f, ad.AutoNumPy(), z), rtol=1e-12)
        np.testing.assert_allclose(new.tangent, old.tangent, rtol=1e-10, atol=1e-12)


def test_views_of_a_nested_buffer_see_second_order_writes():
    """A view taken before a write of second-order data (forward-over-forward lost it once)."""

    def f(x):
        out = np.zeros_like(x)
        head = out[:2]
        out[1] = x[1] * x[0]
        return np.sum(np.sin(head))

    x = np.array([0.3, -0.7, 0.2])
    u = x[0] * x[1]
    c, s = np.cos(u), np.sin(u)
    want = np.array([[-s * x[1] ** 2, c - u * s, 0.0], [c - u * s, -s * x[0] ** 2, 0.0], [0.0, 0.0, 0.0]])
    for backend in (ad.AutoNumPy(), FWD):
        np.testing.assert_allclose(ad.hessian(f, backend, x), want, rtol=1e-12, atol=1e-15)


def test_falls_back_to_reverse_over_forward_and_remembers(monkeypatch):
    """A transpose written for plain arrays only (it converts its cotangent): forward-over-reverse
    raises, reverse-over-forward gives the Hessian, and the prepared closure goes there directly."""
    from anydiff.reverse import _linear

    calls = []
    plain = _linear._t_cumsum

    def arrays_only(ct, axis):
        calls.append(type(ct).__name__)
        return plain(ct.__array__(), axis)  # ndarray-only code: a dual refuses the conversion

    monkeypatch.setattr(_linear, "_t_cumsum", arrays_only)

    def f(x):
        return np.sum(np.cumsum(x) ** 3)

    x = RNG.uniform(-1.0, 1.0, 6)
    V = RNG.normal(size=(2, 6))
    with pytest.raises(ad.TracingError):
        gradient(f, Dual(x, V), (), nested="forward_over_reverse")
    H = _hessian_fwd(f, x)
    np.testing.assert_allclose(gradient(f, Dual(x, V), ()).tangent, (H @ V.T).T, rtol=1e-10)
    prep = ad.prepare_hessian(f, ad.AutoNumPy(), x)
    np.testing.assert_allclose(ad.hessian(f, ad.AutoNumPy(), x, prep=prep), H, rtol=1e-10)
    calls.clear()
    np.testing.assert_allclose(ad.hessian(f, ad.AutoNumPy(), x, prep=prep), H, rtol=1e-10)
    assert calls and "Dual" not in calls  # straight to reverse-over-forward: no second try


def test_an_error_of_f_itself_is_raised_and_not_remembered(monkeypatch):
    """f fails at one point (singular matrix): the error comes out; the next point still runs
    forward-over-reverse (the prepared closure did not switch to the fallback)."""
    from anydiff.reverse import _hvp

    def f(x):
        return np.sum(np.linalg.solve(x.reshape(2, 2), np.ones(2)) ** 2)

    good, singular = np.array([2.0, 0.5, 0.3, 1.5]), np.array([1.0, 2.0, 2.0, 4.0])
    prep = ad.prepare_hessian(f, ad.AutoNumPy(), good)
    with pytest.raises(np.linalg.LinAlgError):
        ad.hessian(f, ad.AutoNumPy(), singular, prep=prep)
    calls = []
    original = _hvp.forward_over_reverse

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(_hvp, "forward_over_reverse", spy)
    H = ad.hessian(f, ad.AutoNumPy(), good, prep=prep)
    assert calls
    np.testing.assert_allclose(H, _hessian_fwd(f, good), rtol=1e-10)


def test_a_bare_outer_tangent_is_never_taken_for_a_constant():
    """Were a dual rule to pass an outer tangent nested where NumPy's dispatch does not look,
    the dual engine refuses it (then the fallback runs) instead of treating it as a constant."""
    from anydiff.dual._core import split
    from anydiff.reverse import Lin, Tape

    tape = Tape(outer=True)
    t = Lin.leaf(tape, (1, 3), np.dtype(np.float64))
    with pytest.raises(ad.TracingError):
        split([Dual(Dual(np.ones(3), np.ones((2, 3))), t), t])
    assert split([Dual(np.ones(3), np.ones((2, 3))), np.ones(3)])[0] == 1  # ordinary duals unchanged


def test_assignment_with_repeated_fancy_indices_keeps_the_last_write():
    """``y[[0, 0, 1]] = v``: NumPy keeps v[1] at position 0, so v[0] gets no derivative
    (reverse mode used to give it one, silently)."""
    weights = np.array([1.0, 10.0, 100.0, 1000.0])

    def f(x):
        y = np.zeros(4)
        y[[0, 0, 1]] = x[:3] ** 2
        y[np.array([[3, 3]])] = x[2] * x[:2]
        return np.sum(y * weights)

    x = np.array([0.3, 0.7, 0.2])
    ref = np.array([1000.0 * 0.0, 2 * 0.7 * 1.0 + 1000.0 * 0.2, 2 * 0.2 * 10.0 + 1000.0 * 0.7])
    g = ad.gradient(f, ad.AutoNumPy(mode="reverse"), x)
    assert np.allclose(g, ref, rtol=1e-12)
    assert np.allclose(g, ad.gradient(f, ad.AutoNumPy(mode="forward"), x), rtol=1e-12)
    H = ad.hessian(f, ad.AutoNumPy(), x)  # forward over the reverse pass
    assert np.allclose(H, ad.hessian(f, ad.AutoNumPy(mode="forward"), x), rtol=1e-12, atol=1e-12)
