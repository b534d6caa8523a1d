"""Every entry of the rule table, in every engine, against an independent reference.

For each table entry (elementwise ufuncs and the other functions) one function ``f`` calling
it (``table_cases.py``; ufuncs from the sampling domains of ``test_classification.py``):

* forward mode (``AutoNumPy``) and reverse mode (``AutoNumPy(mode="reverse")``, which must
  transpose every entry without falling back): the Jacobian equals the complex-step Jacobian
  (central differences where ``f`` is not complex-analytic: ``abs``, ``max``, ``sort`` ...);
* the sparsity tracer: the global and local Jacobian patterns contain every nonzero of that
  reference Jacobian, and so does the Hessian pattern of ``sum(w * f(x))`` for the Hessian by
  differences of the reference gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff.rules import FUNCTIONS, RULES

from table_cases import CASES
from test_classification import DOMAINS

G, L = ad.TracerSparsityDetector(), ad.TracerLocalSparsityDetector()
#: Value-dependent output shapes: the global tracer raises MissingPrimalError (a landed promise).
VALUE_SHAPED = {"np.nonzero", "np.flatnonzero", "np.argwhere", "np.unique"}


def _ufunc_case(func, rule):
    dom = DOMAINS[rule.name]
    doms = dom if isinstance(dom[0], tuple) else (dom,) * rule.nargs
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(lo + 0.05 * (hi - lo), hi - 0.05 * (hi - lo), 3) for lo, hi in doms])
    if rule.nargs == 1:
        return (lambda v: func(v) * 1.0), x
    return (lambda v: func(v[:3], v[3:]) * 1.0), x


def _all_cases():
    cases = {}
    for func, rule in RULES.items():
        if isinstance(func, np.ufunc):
            cases[rule.name] = _ufunc_case(func, rule)
    for func, rule in FUNCTIONS.items():
        if rule.name in CASES:
            cases[rule.name] = CASES[rule.name]
    return cases


ALL = _all_cases()


def test_every_table_entry_has_a_case():
    missing = sorted({r.name for r in FUNCTIONS.values()} - set(CASES))
    assert not missing, f"table entries without a test case in table_cases.py: {missing}"


def _plain(f, x):
    with np.errstate(all="ignore"):
        return np.asarray(f(x), dtype=float).ravel()


def _complex_step(f, x, h=1e-30):
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size, dtype=complex)
        e[j] = 1j * h
        with np.errstate(all="ignore"):
            cols.append(np.imag(np.asarray(f(x + e))).ravel() / h)
    return np.stack(cols, axis=1)


def _central(f, x, h=1e-6):
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = h
        cols.append((_plain(f, x + e) - _plain(f, x - e)) / (2 * h))
    return np.stack(cols, axis=1)


def reference_jacobian(f, x):
    """Complex step where it agrees with central differences (f analytic), else central."""
    fd = _central(f, x)
    try:
        cs = _complex_step(f, x)
    except (TypeError, ValueError, np.linalg.LinAlgError):
        return fd, 1e-5
    if cs.shape == fd.shape and np.allclose(cs, fd, rtol=1e-4, atol=1e-5):
        return cs, 1e-9
    return fd, 1e-5


def reference_hessian(g, x, h=1e-3):
    def grad(v):
        return reference_jacobian(g, v)[0].ravel()

    H = np.stack([(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in np.eye(x.size)], axis=1)
    return H


def _support(M, tol):
    M = np.abs(np.asarray(M, dtype=float))
    return M > tol * max(1.0, M.max(initial=0.0))


def _contains(pattern, support):
    return not np.any(support & ~np.asarray(pattern.toarray(), dtype=bool))


@pytest.mark.parametrize("name", sorted(ALL))
def test_forward_mode_matches_reference(name):
    f, x = ALL[name]
    J_ref, tol = reference_jacobian(f, x)
    J = ad.jacobian(f, ad.AutoNumPy(), x)
    assert np.allclose(np.reshape(J, J_ref.shape), J_ref, rtol=1e-5, atol=max(tol, 1e-7)), name


@pytest.mark.parametrize("name", sorted(ALL))
def test_reverse_mode_matches_reference(name):
    """Reverse mode transposes the forward rules' tangent operations: every entry, no fallback."""
    f, x = ALL[name]
    J_ref, tol = reference_jacobian(f, x)
    J = ad.jacobian(f, ad.AutoNumPy(mode="reverse"), x)
    assert np.allclose(np.reshape(J, J_ref.shape), J_ref, rtol=1e-5, atol=max(tol, 1e-7)), name


@pytest.mark.parametrize("name", sorted(ALL))
def test_tracer_patterns_contain_reference(name):
    f, x = ALL[name]
    J_ref, _ = reference_jacobian(f, x)
    support = _support(J_ref, 1e-6)
    detectors = (G, L)
    if name in VALUE_SHAPED:
        with pytest.raises(ad.MissingPrimalError, match="TracerLocalSparsityDetector"):
            ad.jacobian_sparsity(f, x, detector=G)
        detectors = (L,)
    for detector in detectors:
        P = ad.jacobian_sparsity(f, x, detector=detector)
        assert P.shape == J_ref.shape and _contains(P, support), (name, detector)
    w = np.random.default_rng(5).uniform(0.5, 1.5, J_ref.shape[0])

    def g(v):
        return np.sum(w * np.ravel(f(v)))

    H_support = _support(reference_hessian(g, x), 1e-4)
    for detector in detectors:
        P = ad.hessian_sparsity(g, x, detector=detector)
        assert _contains(P, H_support), (name, detector)
