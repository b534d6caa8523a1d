"""The rule table is verified, not trusted: every flag against finite differences of the function."""

from __future__ import annotations

import numpy as np
import pytest

from anydiff.rules import RULES

#: Sampling interval per function name (default (0.2, 0.9)); every registered rule is checked.
DOMAINS = {
    "np.arccosh": (1.2, 2.5),
    "scipy.special.ndtri": (0.2, 0.8),
    "scipy.special.erfinv": (-0.8, 0.8),
    "scipy.special.logit": (0.2, 0.8),
}
H = 1e-4


def points(rule, k, rng):
    lo, hi = DOMAINS.get(rule.name, (0.2, 0.9))
    return rng.uniform(lo, hi, (k, rule.nargs))


def call(func, args):
    with np.errstate(all="ignore"):
        return np.asarray(func(*args), dtype=float)


@pytest.mark.parametrize("func", list(RULES), ids=[r.name for r in RULES.values()])
def test_flags_match_finite_differences(func):
    rule = RULES[func]
    rng = np.random.default_rng(0)
    P = points(rule, 40, rng)
    for i in range(rule.nargs):
        e = np.zeros(rule.nargs)
        e[i] = H
        f0 = call(func, P.T)
        fp, fm = call(func, (P + e).T), call(func, (P - e).T)
        d1 = np.abs(fp - fm) / (2 * H)
        d2 = np.abs(fp - 2 * f0 + fm) / H**2
        ok = np.isfinite(d1) & np.isfinite(d2)
        assert ok.sum() > 20, f"{rule.name}: domain gives too few finite samples"
        if rule.d1_zero[i]:
            assert np.median(d1[ok]) < 1e-8, f"{rule.name}: d1_zero[{i}] but the function varies"
        else:
            assert d1[ok].max() > 1e-6, f"{rule.name}: derivative {i} looks identically zero"
        if rule.d2_zero[i]:
            assert np.median(d2[ok]) < 1e-3, f"{rule.name}: d2_zero[{i}] but the function is curved"
        else:
            assert d2[ok].max() > 1e-6, f"{rule.name}: second derivative {i} looks identically zero"
    if rule.nargs == 2:
        a, b = np.array([H, 0.0]), np.array([0.0, H])
        mixed = np.abs(call(func, (P + a + b).T) - call(func, (P + a - b).T)
                       - call(func, (P - a + b).T) + call(func, (P - a - b).T)) / (4 * H**2)
        ok = np.isfinite(mixed)
        if rule.cross_zero:
            assert np.median(mixed[ok]) < 1e-3, f"{rule.name}: cross_zero but a mixed derivative appears"
        elif not (rule.d1_zero[0] or rule.d1_zero[1]):
            assert mixed[ok].max() > 1e-2, f"{rule.name}: mixed derivative looks identically zero"
