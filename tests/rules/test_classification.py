"""The rule table is verified, not trusted.

For every registered rule, at random points of a per-function domain:
* ``partials`` agree with central differences of the function itself;
* ``d1_zero[i]``  <=> partial ``i`` is zero;
* ``d2_zero[i]``  <=> partial ``i`` does not depend on argument ``i`` (its differences vanish);
* ``cross_zero``  <=> partial 0 does not depend on argument 1.
A rule without an entry in ``DOMAINS`` fails: new rules must come with a test domain.
Piecewise functions (abs, maximum, mod, floor, ...) are checked "almost everywhere": at least
90% of the points must agree, which tolerates a sample that straddles a kink or a jump.
"""

from __future__ import annotations

import numpy as np
import pytest

from anydiff.rules import RULES

W = (-2.0, 2.0)  # wide
P = (0.2, 3.0)  # positive
U = (-0.9, 0.9)  # inside (-1, 1)
#: Sampling interval per function name: one interval for all arguments, or one per argument.
DOMAINS = {
    # NumPy, nonlinear unary
    "np.exp": W, "np.exp2": W, "np.expm1": W, "np.log": P, "np.log2": P, "np.log10": P,
    "np.log1p": (-0.5, 3.0), "np.sqrt": P, "np.cbrt": P, "np.square": W, "np.reciprocal": P,
    "np.sin": W, "np.cos": W, "np.tan": (-1.2, 1.2), "np.arcsin": U, "np.arccos": U,
    "np.arctan": W, "np.sinh": W, "np.cosh": W, "np.tanh": W, "np.arcsinh": W,
    "np.arccosh": (1.2, 3.0), "np.arctanh": U,
    # piecewise linear / linear unary
    "np.absolute": W, "np.fabs": W, "np.negative": W, "np.positive": W, "np.conjugate": W,
    "np.deg2rad": W, "np.radians": W, "np.rad2deg": W, "np.degrees": W,
    # zero derivative
    "np.sign": W, "np.floor": (-3.0, 3.0), "np.ceil": (-3.0, 3.0), "np.trunc": (-3.0, 3.0),
    "np.rint": (-3.0, 3.0), "np.isnan": W, "np.isinf": W, "np.isfinite": W,
    "np.logical_not": W, "np.signbit": W, "np.spacing": P,
    # binary
    "np.add": W, "np.subtract": W, "np.multiply": W, "np.divide": (W, P),
    "np.power": ((0.2, 2.0), W), "np.float_power": ((0.2, 2.0), W), "np.arctan2": (W, P),
    "np.hypot": (P, W), "np.logaddexp": W, "np.logaddexp2": W, "np.maximum": W,
    "np.fmax": W, "np.minimum": W, "np.fmin": W, "np.copysign": W,
    "np.remainder": ((-3.0, 3.0), (0.3, 0.9)), "np.fmod": ((-3.0, 3.0), (0.3, 0.9)),
    "np.floor_divide": ((-3.0, 3.0), (0.3, 0.9)), "np.greater": W, "np.greater_equal": W,
    "np.less": W, "np.less_equal": W, "np.equal": W, "np.not_equal": W,
    "np.logical_and": W, "np.logical_or": W, "np.logical_xor": W, "np.heaviside": W,
    # scipy.special
    "scipy.special.erf": W, "scipy.special.erfc": W, "scipy.special.erfcx": W,
    "scipy.special.erfinv": (-0.8, 0.8), "scipy.special.gamma": (0.5, 4.0),
    "scipy.special.gammaln": (0.5, 4.0), "scipy.special.psi": (0.5, 4.0),
    "scipy.special.expit": W, "scipy.special.logit": (0.1, 0.9),
    "scipy.special.log_expit": W, "scipy.special.ndtr": W, "scipy.special.log_ndtr": W,
    "scipy.special.ndtri": (0.1, 0.9), "scipy.special.j0": (0.5, 5.0),
    "scipy.special.j1": (0.5, 5.0), "scipy.special.y0": (0.5, 5.0),
    "scipy.special.y1": (0.5, 5.0), "scipy.special.i0": W, "scipy.special.i1": W,
    "scipy.special.i0e": (-3.0, 3.0), "scipy.special.i1e": (-3.0, 3.0),
    "scipy.special.expm1": W, "scipy.special.log1p": (-0.5, 3.0), "scipy.special.cbrt": P,
    "scipy.special.exp10": (-1.0, 1.0), "scipy.special.exp2": W,
    "scipy.special.sindg": (-200.0, 200.0), "scipy.special.cosdg": (-200.0, 200.0),
    "scipy.special.dawsn": W, "scipy.special.spence": (0.2, 0.9), "scipy.special.entr": P,
    "scipy.special.xlogy": (W, P), "scipy.special.xlog1py": (W, (-0.5, 2.0)),
    "scipy.special.rel_entr": P, "scipy.special.kl_div": P,
    "scipy.special.beta": (0.5, 3.0), "scipy.special.betaln": (0.5, 3.0),
}
K = 60  # sample points per rule
H = 1e-6  # step for derivatives of the function
H2 = 1e-5  # step for derivatives of the partials
AE = 0.9  # fraction of points that must agree ("almost everywhere")

ITEMS = [pytest.param(func, id=rule.name) for func, rule in RULES.items()]


def sample(rule, rng):
    dom = DOMAINS[rule.name]
    doms = dom if isinstance(dom[0], tuple) else (dom,) * rule.nargs
    assert len(doms) == rule.nargs
    return [rng.uniform(lo, hi, K) for lo, hi in doms]


def value(func, args):
    with np.errstate(all="ignore"):
        return np.asarray(func(*args), dtype=float)


def partials(rule, func, args):
    """Partials as float arrays of shape (K,) (``None`` -> zeros)."""
    out = func(*args)
    with np.errstate(all="ignore"):
        ps = rule.partials(*args, out=out) if rule.partials is not None else (None,) * rule.nargs
    assert isinstance(ps, tuple) and len(ps) == rule.nargs, f"{rule.name}: one partial per argument"
    return [np.zeros(K) if p is None else np.broadcast_to(np.asarray(p, dtype=float), (K,)) for p in ps]


def shifted(args, i, h):
    return [a + h if j == i else a for j, a in enumerate(args)]


def partial_derivative_of_partial(rule, func, args, i, j):
    """Central difference of partial ``i`` with respect to argument ``j``."""
    plus = partials(rule, func, shifted(args, j, H2))[i]
    minus = partials(rule, func, shifted(args, j, -H2))[i]
    return (plus - minus) / (2 * H2)


def vanishes(d):
    ok = np.isfinite(d)
    return np.mean(np.abs(d[ok]) < 1e-6) >= AE


def test_every_rule_has_a_test_domain():
    missing = [r.name for r in RULES.values() if r.name not in DOMAINS]
    assert not missing, f"rules without a test domain in DOMAINS: {missing}"


@pytest.mark.parametrize("func", ITEMS)
def test_partials_match_central_differences(func):
    rule = RULES[func]
    assert rule.name in DOMAINS, f"{rule.name} has no test domain: add one to DOMAINS"
    args = sample(rule, np.random.default_rng(1))
    ps = partials(rule, func, args)
    for i in range(rule.nargs):
        fd = (value(func, shifted(args, i, H)) - value(func, shifted(args, i, -H))) / (2 * H)
        ok = np.isfinite(fd) & np.isfinite(ps[i])
        assert ok.mean() >= AE, f"{rule.name}: too few finite samples in its domain"
        agree = np.abs(fd[ok] - ps[i][ok]) <= 1e-4 * (1.0 + np.abs(ps[i][ok]))
        assert agree.mean() >= AE, f"{rule.name}: partial {i} disagrees with central differences"


@pytest.mark.parametrize("func", ITEMS)
def test_flags_match_the_partials(func):
    rule = RULES[func]
    assert rule.name in DOMAINS, f"{rule.name} has no test domain: add one to DOMAINS"
    assert len(rule.d2_zero) == rule.nargs
    assert (rule.partials is None) == all(rule.d1_zero), f"{rule.name}: partials iff a nonzero derivative"
    args = sample(rule, np.random.default_rng(2))
    ps = partials(rule, func, args)
    for i in range(rule.nargs):
        zero = not np.any(np.abs(ps[i]) > 1e-12)
        assert rule.d1_zero[i] == zero, f"{rule.name}: d1_zero[{i}]={rule.d1_zero[i]} but partial zero={zero}"
        constant = vanishes(partial_derivative_of_partial(rule, func, args, i, i))
        assert rule.d2_zero[i] == constant, f"{rule.name}: d2_zero[{i}]={rule.d2_zero[i]} but partial independent={constant}"
    if rule.nargs == 2:
        no_mixed = vanishes(partial_derivative_of_partial(rule, func, args, 0, 1))
        assert rule.cross_zero == no_mixed, f"{rule.name}: cross_zero={rule.cross_zero} but mixed term absent={no_mixed}"
        other = vanishes(partial_derivative_of_partial(rule, func, args, 1, 0))
        assert no_mixed == other, f"{rule.name}: mixed partials disagree (symmetry)"
    elif rule.nargs == 1:
        assert rule.cross_zero, f"{rule.name}: one argument, no mixed term"
