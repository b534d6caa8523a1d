"""Convolutions, cross, interp, trapezoid, order statistics, polyval, nan reductions on duals:
JAX forward mode (64-bit) as the reference, first and second order, float32 preserved."""

from __future__ import annotations

import numpy as np
import pytest
from jaxref import jax, jax_jvps

import anydiff as ad
from anydiff.dual import Dual

RNG = np.random.default_rng(7)
X = RNG.uniform(0.5, 1.5, (3, 4))
V7 = RNG.normal(size=7)
K3 = np.array([0.5, -1.0, 2.0])
XP = np.array([0.0, 0.3, 0.7, 1.0, 1.6])
FP = np.array([1.0, -0.5, 2.0, 0.3, 0.9])
XN = X.copy()
XN[0, 1] = XN[2, 3] = np.nan
ATOL = {"rtol": 1e-10, "atol": 1e-12}

CASES = [
    # convolutions, all modes, both operands differentiated, either one longer
    ("convolve-modes", lambda xp, x: xp.concatenate([xp.convolve(x, K3, m) for m in ("full", "same", "valid")]), V7),
    ("convolve-both", lambda xp, x: xp.concatenate([xp.convolve(x[:3], x, m) for m in ("full", "same", "valid")]), V7),
    ("convolve-short-first", lambda xp, x: xp.convolve(K3[:2], x, "same") + xp.convolve(x, x[::-1], "same"), V7),
    ("correlate-modes", lambda xp, x: xp.concatenate([xp.correlate(x, K3, m) for m in ("full", "same", "valid")]
                                                     + [xp.correlate(K3, x, m) for m in ("full", "same", "valid")]), V7),
    ("correlate-both", lambda xp, x: xp.concatenate([xp.correlate(x, x[1:4] ** 2, m) for m in ("full", "same", "valid")]), V7),
    ("correlate-complex", lambda xp, x: xp.correlate(x * (1 + 1j), x[:3] * (2 - 1j), "full"), V7),
    # cross products
    ("cross-3", lambda xp, x: xp.cross(x[:, :3], x[::-1, 1:]) + xp.cross(x[0, :3], K3), X),
    ("cross-axes", lambda xp, x: xp.cross(x[:, :3].T, x[:, 1:], axisa=0, axisc=0), X),
    ("cross-axis", lambda xp, x: xp.cross(x[:, :3], x[:, 1:].T.T, axis=1) + xp.linalg.cross(x[:, 1:], x[:, :3]), X),
    # interp: in x (slope), fp (weights), xp (segment ends), outside the range, left/right, period
    ("interp-x", lambda xp, x: xp.interp(x.ravel() * 0.9 - 0.2, XP, FP), X),
    ("interp-fp", lambda xp, x: xp.interp(np.array([-0.1, 0.2, 0.3, 0.9, 1.6, 2.0]), XP, x.ravel()[:5]), X),
    ("interp-xp", lambda xp, x: xp.interp(np.array([0.1, 0.5, 0.9, 1.3]), xp.cumsum(x[0]) - 0.5, FP[:4]), X),
    ("interp-left-right", lambda xp, x: xp.interp(x.ravel() * 1.4 - 0.3, XP, FP * x[0, 0], left=-2.0, right=x[1, 1]), X),
    ("interp-period", lambda xp, x: xp.interp(x.ravel() * 4.0, XP, FP * x[0, 0], period=1.7), X),
    # trapezoid
    ("trapezoid", lambda xp, x: xp.trapezoid(x) + xp.trapezoid(x, dx=0.3, axis=0).sum(), X),
    ("trapezoid-x", lambda xp, x: xp.trapezoid(x ** 2, x=xp.cumsum(x[0])) + xp.trapezoid(x, x=xp.cumsum(x, axis=0), axis=0).sum(), X),
    # order statistics
    ("median", lambda xp, x: xp.median(x) + xp.median(x, axis=0).sum() + xp.median(x, axis=1, keepdims=True), X),
    ("median-tuple-axis", lambda xp, x: xp.median(x.reshape(3, 2, 2), axis=(0, 2)), X),
    ("percentile", lambda xp, x: xp.percentile(x, 30.0) + xp.percentile(x, xp.array([10.0, 50.0, 95.0]), axis=1).sum(0), X),
    ("quantile", lambda xp, x: xp.quantile(x, xp.array([0.0, 0.25, 0.6, 1.0]), axis=0, keepdims=True).sum((0, 1)), X),
    ("quantile-methods", lambda xp, x: sum(xp.quantile(x, 0.37, axis=1, method=m)
                                           for m in ("linear", "lower", "higher", "midpoint", "nearest")), X),
    ("ptp", lambda xp, x: xp.ptp(x, axis=1) + xp.ptp(x), X),
    # polynomials and small extras
    ("polyval", lambda xp, x: xp.polyval(x[0], x[1:].ravel()) + xp.polyval(K3, x[0, :2]).sum(), X),
    ("diag", lambda xp, x: xp.diag(x[0]) + xp.diag(x[0, :3], 1)[:4] + xp.diag(x, 1).sum() + xp.diagflat(x[:2, :2]), X),
    *([("matvec-vecmat", lambda xp, x: xp.matvec(x, x[0]) + xp.vecmat(x[:, 0], x)[:3] + xp.matvec(x[None], x[1:2]).sum(0), X)]
      if hasattr(np, "matvec") else []),  # NumPy >= 2.2
    ("i0-nan_to_num", lambda xp, x: xp.i0(x) + xp.nan_to_num(xp.where(x > 1.2, xp.nan, xp.where(x < 0.8, xp.inf, x))), X),
]

NAN_CASES = [
    ("nansum-nanmean", lambda xp, x: xp.nansum(x, axis=0) + xp.nanmean(x, axis=1).sum() + xp.nansum(x), XN),
    ("nanprod-nanmax-nanmin", lambda xp, x: xp.nanprod(x, axis=1) + xp.nanmax(x, axis=1) * xp.nanmin(x), XN),
    ("nanvar-nanstd", lambda xp, x: xp.nanvar(x, axis=1) + xp.nanstd(x, axis=1, ddof=1) + xp.nanvar(x), XN),
    ("nancumsum-nancumprod", lambda xp, x: xp.nancumsum(x, axis=1) + xp.nancumprod(x, axis=0), XN),
    ("nanmedian-nanquantile", lambda xp, x: xp.nanmedian(x, axis=1) + xp.nanquantile(x, 0.3, axis=1)
                                           + xp.nanpercentile(x, 80.0, axis=1) + xp.nanmedian(x), XN),
]


@pytest.mark.parametrize("name, fn, x", CASES + NAN_CASES, ids=[c[0] for c in CASES + NAN_CASES])
def test_matches_jax_jvp(name, fn, x):
    T = RNG.normal(size=(3,) + x.shape)
    y = fn(np, Dual(x, T))
    y_ref, ty_ref = jax_jvps(fn, x, T)
    np.testing.assert_allclose(y.value, y_ref, **ATOL)
    np.testing.assert_allclose(y.tangent, ty_ref, **ATOL)
    np.testing.assert_allclose(y.value, fn(np, x), **ATOL)  # the value is NumPy's


SMOOTH = ["convolve-both", "correlate-both", "cross-3", "interp-fp", "interp-xp", "trapezoid-x", "median",
          "quantile", "polyval", "nanvar-nanstd", "nanmedian-nanquantile"]


@pytest.mark.parametrize("name", SMOOTH)
def test_hessian_nested_duals_match_jax(name):
    fn, x = next((f, x) for n, f, x in CASES + NAN_CASES if n == name)
    w = RNG.normal(size=np.shape(fn(np, x)))

    def f_np(v):
        return np.sum(np.sin(fn(np, v)) * w)

    def f_jax(v):
        import jax.numpy as jnp

        return jnp.sum(jnp.sin(fn(jnp, v)) * w)

    H = ad.hessian(f_np, ad.AutoNumPy(), x)
    H_ref = np.asarray(jax.hessian(f_jax)(x))
    if np.isnan(x).any():  # NaN entries: JAX's reverse-over-forward gives NaN rows there
        ok = ~np.isnan(x).ravel()
        H, H_ref = H.reshape(x.size, x.size)[np.ix_(ok, ok)], H_ref.reshape(x.size, x.size)[np.ix_(ok, ok)]
    np.testing.assert_allclose(H, H_ref, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name, fn, x", CASES + NAN_CASES, ids=[c[0] for c in CASES + NAN_CASES])
def test_float32_preserved(name, fn, x):
    x32 = x.astype(np.float32)
    y = fn(np, Dual(x32, np.ones((1,) + x.shape, np.float32)))
    y_np = fn(np, x32)
    assert y.value.dtype == y_np.dtype, (y.value.dtype, y_np.dtype)
    assert y.tangent.dtype == y_np.dtype


def test_interp_repeated_sample_point_and_scalar_x():
    xp_ = np.array([0.0, 0.5, 0.5, 1.0])
    d = Dual(np.array([0.25, 0.5, 0.75]), np.ones((1, 3)))
    y = np.interp(d, xp_, np.array([0.0, 1.0, 3.0, 4.0]))
    np.testing.assert_allclose(y.value, np.interp(d.value, xp_, [0.0, 1.0, 3.0, 4.0]))
    np.testing.assert_allclose(y.tangent[0], [2.0, 2.0, 2.0])
    s = np.interp(Dual(np.array(0.4), np.ones((1,))), XP, FP)
    np.testing.assert_allclose(s.tangent, [(FP[2] - FP[1]) / (XP[2] - XP[1])])


def test_unsupported_options_raise_missing_rule_error():
    d = Dual(X, np.ones((1,) + X.shape))
    with pytest.raises(ad.MissingRuleError, match="method"):
        np.quantile(d, 0.3, method="weibull")
    with pytest.raises(ad.MissingRuleError, match="q"):
        np.quantile(d, Dual(np.array(0.3), np.ones((1,))))
    with pytest.raises(ad.MissingRuleError, match="out="):
        np.median(d, out=np.empty(()))


def test_real_if_close():
    z = Dual(X + 0j, np.ones((1,) + X.shape, complex))
    r = np.real_if_close(z * (1 + 1e-18j))
    assert r.value.dtype == np.float64 and r.tangent.dtype == np.float64
    assert np.real_if_close(z * (1 + 1j)).value.dtype == np.complex128
