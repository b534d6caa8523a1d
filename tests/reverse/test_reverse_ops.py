"""AutoNumPy(mode="reverse") on each family of NumPy operations, against complex-step derivatives.

Every case is differentiated in reverse mode with no forward fallback (``mode="reverse"``):
``ad.jacobian`` by rows (one recording, one batched backward pass) and ``ad.gradient`` of a
scalar reduction; the reference is ``AutoFiniteDiff(method="complex")`` (exact to rounding for
analytic code) or central differences for code that is not complex-step safe.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sc

import anydiff as ad

REV = ad.AutoNumPy(mode="reverse")
CSTEP = ad.AutoFiniteDiff(method="complex")
CENTRAL = ad.AutoFiniteDiff()
RNG = np.random.default_rng(7)
X6 = RNG.uniform(0.3, 1.4, 6)
W = RNG.normal(size=(6, 6))
A3 = RNG.normal(size=(3, 3)) + 3 * np.eye(3)

# name -> (f, complex-step safe)
CASES = {
    "elementwise": (lambda x: np.sin(x) * np.exp(-x) + np.log(x) * np.sqrt(x) - x ** 2.5 / (1 + x), True),
    "binary-special": (lambda x: np.arctan2(x, x[::-1] + 1) + np.hypot(x, 2.0) + sc.erf(x) + sc.gammaln(x), False),
    "softplus": (lambda x: np.log1p(np.exp(x)) * np.tanh(x), True),
    "broadcast": (lambda x: np.sum(x[:, None] * np.cos(x[None, :]), axis=0), True),
    "shapes": (lambda x: np.moveaxis(x.reshape(2, 3, 1), 0, 2).squeeze().T.ravel() * x, True),
    "swap-expand": (lambda x: np.swapaxes(np.expand_dims(x.reshape(3, 2), 0), 1, 2).ravel(), True),
    "basic-index": (lambda x: np.concatenate([x[::-2] * x[1::2], x[-1:], x[2:4] ** 2, x[None, 3]]), True),
    "fancy-index": (lambda x: x[[0, 0, 5, 2]] * x[np.array([1, 1, 1, 3])], True),
    "mask-index": (lambda x: x[np.arange(6) % 2 == 0] ** 3, True),
    "reductions": (lambda x: np.stack([np.sum(x), np.mean(x ** 2), np.prod(x), np.var(x), np.std(x)]), False),
    "axis-reductions": (lambda x: np.sum(x.reshape(2, 3) ** 2, axis=1, keepdims=True).ravel() + np.mean(x.reshape(3, 2), 0).sum(), True),
    "max-min": (lambda x: np.array([1.0, 2.0]) * np.max(x) + np.min(x) * x[:2], False),
    "scans": (lambda x: np.cumsum(x) * np.cumprod(x) + np.diff(x, prepend=0.0), True),
    "joins": (lambda x: np.hstack(np.split(x, 3)[::-1]) + np.vstack([x[:3], x[3:]]).sum(axis=0).repeat(2), True),
    "where-clip": (lambda x: np.where(x > 0.8, np.sin(x), x ** 2) + np.clip(x, 0.5, 1.0) + np.maximum(x, 0.9), False),
    "matmul": (lambda x: W @ x + x @ W + (x.reshape(2, 3) @ W[:3, :3]).ravel(), True),
    "contractions": (lambda x: np.einsum("i,ij->j", x, W) + np.dot(W, x) + np.outer(x, x).sum(1) + np.tensordot(W, x, axes=1), True),
    "quadratic-einsum": (lambda x: np.einsum("i,ij,j->i", x, W, x), True),
    "gathers": (lambda x: np.roll(x, 2) * np.flip(x) + np.take(x, [5, 0, 1, 1, 2, 3]) + np.tile(x[:3], 2), True),
    "pad-repeat": (lambda x: np.pad(x, 2)[1:-3] + np.pad(x, (1, 0), mode="edge")[:-1] + np.repeat(x[::2], 2), True),
    "matrix-gathers": (lambda x: np.concatenate([np.diagonal(np.outer(x, x)), np.trace(np.outer(x, x))[None], np.tril(x.reshape(2, 3)).ravel(), np.rot90(x.reshape(2, 3)).ravel()]), True),
    "sort": (lambda x: np.sort(x * x[::-1]) + np.take_along_axis(x, np.argsort(x), 0), False),
    "fft": (lambda x: np.real(np.fft.fft(x)) + np.imag(np.fft.ifft(x * x)) + np.abs(np.fft.fft2(x.reshape(2, 3))).ravel(), False),
    "real-fft": (lambda x: np.abs(np.fft.rfft(x, n=8)).sum() + np.fft.irfft2(np.fft.rfft2(x.reshape(2, 3)) * (1 + 1j), s=(2, 3)).ravel()
                 + np.fft.hfft(x[:4] * (1 - 1j), n=6) + np.abs(np.fft.ihfft(x, norm="ortho")).sum(), False),
    "solve-constant": (lambda x: np.linalg.solve(A3, x[:3] * x[3:]), True),
    "solve-variable": (lambda x: np.linalg.solve(A3 + np.diag(x[:3]), x[3:]), True),
    "inv-det": (lambda x: np.linalg.inv(A3 + np.diag(x[:3])).ravel()[:4] * np.linalg.det(A3 * x[3]), True),
    "norm": (lambda x: x / np.linalg.norm(x) + np.linalg.norm(x.reshape(2, 3), axis=0).sum(), False),
    "convolve": (lambda x: np.convolve(x, x[:3], mode="same") + np.interp(x, np.array([0.0, 1.0, 2.0]), np.array([0.0, 3.0, 1.0])), False),
    "polyval-cross": (lambda x: np.polyval(x[:3], x) + np.cross(x[:3], x[3:]).sum(), True),
    "real-imag": (lambda x: np.real(np.exp(1j * x) * (1 + 2j)) + np.imag(np.conj((x + 1j) ** 2)), False),
    "astype": (lambda x: np.real(x.astype(np.complex128) * (1 + 2j)) ** 2 + x.astype(np.float64), False),
}


def reference(f, safe, x):
    return ad.jacobian(f, CSTEP if safe else CENTRAL, x)


@pytest.mark.parametrize("name", sorted(CASES))
def test_jacobian_rows_and_gradient(name):
    f, safe = CASES[name]
    J = ad.jacobian(f, REV, X6)
    Jref = reference(f, safe, X6)
    tol = {"rtol": 1e-9, "atol": 1e-11} if safe else {"rtol": 2e-6, "atol": 1e-7}
    np.testing.assert_allclose(J, Jref, **tol)
    w = np.linspace(1.0, 2.0, np.size(f(X6)))
    g = ad.gradient(lambda x: np.sum(w * np.ravel(f(x))), REV, X6)
    np.testing.assert_allclose(g, w @ np.reshape(Jref, (len(w), -1)), **tol)
