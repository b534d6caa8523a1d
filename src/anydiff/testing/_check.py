"""Run operators on scenarios and compare with the analytic references."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import operators as ops
from .._arrays import to_numpy
from ..backends import Backend, SecondOrder, resolve_backend
from ._scenarios import Scenario, default_scenarios, namespace_for

__all__ = ["VARIANTS", "expected_result", "run_operator", "check_operator", "test_differentiation", "CheckResult"]

#: Call variants exercised for every operator.
VARIANTS = ("plain", "value_and", "prepared_twice", "out")


def _namespace(backend: Backend):
    """Array namespace to write a scenario's function with, for ``backend`` (and its members)."""
    members = [backend]
    for attr in ("inner", "outer", "forward", "reverse", "dense_backend"):
        member = getattr(backend, attr, None)
        if isinstance(member, Backend):
            members.append(member)
    names = {m.name for m in members} | {m.library for m in members}
    for library in ("jax", "torch", "autograd"):  # these also accept NumPy inputs
        if library in names:
            return namespace_for(library)
    return namespace_for("numpy")


def seeds_for(scenario: Scenario, op: str, count: int = 2):
    """Deterministic tangents (x-shaped) or cotangents (y-shaped)."""
    rng = np.random.default_rng(1)
    shape = scenario.y_shape if op == "pullback" else scenario.x.shape
    dtype = scenario.x.dtype
    out = []
    for _ in range(count):
        s = rng.standard_normal(shape)
        if scenario.complex:
            s = s + 1j * rng.standard_normal(shape)
        out.append(np.asarray(s, dtype=np.result_type(dtype, s.dtype)))
    return tuple(out)


def expected_result(scenario: Scenario, op: str, seeds=None):
    """The reference result of ``op`` on ``scenario`` (NumPy)."""
    x = scenario.x
    y = np.asarray(scenario.value(x))
    n, m = x.size, y.size
    J = np.asarray(scenario.jacobian(x)).reshape(m, n)
    if op == "pushforward":
        return tuple((J @ np.ravel(v)).reshape(y.shape) for v in seeds)
    if op == "pullback":
        return tuple((np.ravel(w) @ J).reshape(x.shape) for w in seeds)
    if op == "derivative":
        return J.reshape(y.shape)
    if op == "gradient":
        return J.reshape(x.shape)
    if op == "jacobian":
        return J.reshape(y.shape + x.shape)
    H = None if scenario.hessian is None else np.asarray(scenario.hessian(x)).reshape(n, n)
    if op == "hvp":
        return tuple((H @ np.ravel(v)).reshape(x.shape) for v in seeds)
    if op == "hessian":
        return H.reshape(x.shape + x.shape)
    if op == "second_derivative":
        return np.asarray(scenario.second_derivative(x)).reshape(y.shape)
    raise ValueError(op)


_VALUE_AND = {
    "pushforward": ops.value_and_pushforward,
    "pullback": ops.value_and_pullback,
    "derivative": ops.value_and_derivative,
    "gradient": ops.value_and_gradient,
    "jacobian": ops.value_and_jacobian,
    "hvp": ops.gradient_and_hvp,
    "hessian": ops.value_gradient_and_hessian,
    "second_derivative": ops.value_derivative_and_second_derivative,
}
_SEEDED = ("pushforward", "pullback", "hvp")


def run_operator(backend, scenario: Scenario, op: str, variant: str = "plain"):
    """Run ``op`` with ``backend`` on ``scenario`` in the given call variant.

    Returns ``(results, value)``: a list of results (two for ``prepared_twice``) in NumPy,
    and the function value when the variant returns it (else None).
    """
    backend = resolve_backend(backend)
    f = scenario.make(_namespace(backend))
    x = scenario.x
    seeds = seeds_for(scenario, op) if op in _SEEDED else None
    operator = getattr(ops, op)
    prepare = getattr(ops, f"prepare_{op}")

    def args(point):
        lead = (np.zeros(scenario.y_shape, dtype=_y_dtype(scenario)),) if scenario.inplace else ()
        tail = (seeds,) if seeds is not None else ()
        return lead + (backend, point) + tail + scenario.contexts()

    def prep_args(point):
        lead = (np.zeros(scenario.y_shape, dtype=_y_dtype(scenario)),) if scenario.inplace else ()
        return lead + (backend, point) + scenario.contexts()

    value = None
    if variant == "plain":
        results = [operator(f, *args(x))]
    elif variant == "value_and":
        out = _VALUE_AND[op](f, *args(x))
        value, results = out[0], [out[-1]]
    elif variant == "prepared_twice":
        other = x + 0.25 * np.ones_like(x)  # prepare elsewhere: preparation must not bake in x
        prep = prepare(f, *prep_args(other))
        results = [operator(f, *args(x), prep=prep), operator(f, *args(x), prep=prep)]
    elif variant == "out":
        ref = expected_result(scenario, op, seeds)
        if isinstance(ref, tuple):
            buf = tuple(np.full(r.shape, np.nan, dtype=r.dtype) for r in ref)
        else:
            buf = np.full(np.shape(ref), np.nan, dtype=np.result_type(ref))
        returned = operator(f, *args(x), out=buf)
        if isinstance(buf, tuple):
            assert all(r is b for r, b in zip(returned, buf)), "out= buffers were not returned"
        else:
            assert returned is buf, "out= buffer was not returned"
        results = [buf]
    else:
        raise ValueError(variant)
    return [_np(r) for r in results], (None if value is None else _np(value))


def _y_dtype(scenario):
    return np.asarray(scenario.value(scenario.x)).dtype


def _np(r):
    if isinstance(r, tuple):
        return tuple(np.asarray(to_numpy(a)) for a in r)
    return np.asarray(to_numpy(r))


def tolerances(backend: Backend, op: str):
    """``(rtol, atol)``: tight for AD, looser for finite differences (looser still for 2nd order)."""
    backend = resolve_backend(backend)
    if getattr(backend, "exact", True):
        return 1e-8, 1e-10
    second = op in ("hvp", "hessian", "second_derivative")
    return (1e-3, 1e-4) if second else (1e-5, 1e-6)


@dataclass
class CheckResult:
    backend: str
    scenario: str
    operator: str
    variant: str
    ok: bool
    max_error: float
    message: str = ""


def check_operator(backend, scenario: Scenario, op: str, variant: str = "plain") -> CheckResult:
    """Run and compare with the reference; never raises for a wrong result (see ``ok``)."""
    backend = resolve_backend(backend)
    results, value = run_operator(backend, scenario, op, variant)
    seeds = seeds_for(scenario, op) if op in _SEEDED else None
    ref = expected_result(scenario, op, seeds)
    rtol, atol = tolerances(backend, op)
    worst, ok, msg = 0.0, True, ""
    for r in results:
        pairs = zip(r, ref) if isinstance(ref, tuple) else [(r, ref)]
        if isinstance(ref, tuple) and len(r) != len(ref):
            return CheckResult(repr(backend), scenario.name, op, variant, False, np.inf, "wrong number of results")
        for a, b in pairs:
            if np.shape(a) != np.shape(b):
                return CheckResult(repr(backend), scenario.name, op, variant, False, np.inf,
                                   f"shape {np.shape(a)} != expected {np.shape(b)}")
            err = float(np.max(np.abs(a - b), initial=0.0))
            worst = max(worst, err)
            if not np.allclose(a, b, rtol=rtol, atol=atol):
                ok, msg = False, f"max abs error {err:.3g} (rtol={rtol}, atol={atol})"
    if value is not None:
        # gradient_and_hvp returns the gradient first; the other value_and_* return f(x)
        ref_value = expected_result(scenario, "gradient") if op == "hvp" else np.asarray(scenario.value(scenario.x))
        vtol = tolerances(backend, "gradient")
        if np.shape(value) != np.shape(ref_value) or not np.allclose(value, ref_value, rtol=vtol[0], atol=vtol[1]):
            ok, msg = False, f"value {value} != expected {ref_value}"
    return CheckResult(repr(backend), scenario.name, op, variant, ok, worst, msg)


def test_differentiation(backends, scenarios=None, operators=None, variants=VARIANTS, skip=None):
    """Check every operator × variant of ``backends`` on ``scenarios`` against analytic references.

    Parameters
    ----------
    backends : list of Backend or str
    scenarios : list of Scenario, optional
        Defaults to :func:`default_scenarios`.
    operators : list of str, optional
        Restrict to these operator names.
    variants : tuple of str
        Among ``"plain"``, ``"value_and"``, ``"prepared_twice"``, ``"out"``.
    skip : callable, optional
        ``skip(backend, scenario, op) -> str | None``: a reason to skip a declared gap.

    Returns
    -------
    list of CheckResult
        One per combination run.

    Raises
    ------
    AssertionError
        Listing every failing combination.

    Examples
    --------
    >>> import anydiff as ad
    >>> from anydiff.testing import test_differentiation, default_scenarios
    >>> results = test_differentiation([ad.AutoFiniteDiff()], default_scenarios()[:1], ["derivative"])
    >>> all(r.ok for r in results)
    True
    """
    scenarios = default_scenarios() if scenarios is None else scenarios
    out = []
    for b in backends:
        b = resolve_backend(b)
        for sc in scenarios:
            for op in sc.operators():
                if operators is not None and op not in operators:
                    continue
                if skip is not None and skip(b, sc, op):
                    continue
                for v in variants:
                    out.append(check_operator(b, sc, op, v))
    failures = [r for r in out if not r.ok]
    if failures:
        lines = "\n".join(f"{r.backend} {r.scenario} {r.operator} {r.variant}: {r.message}" for r in failures)
        raise AssertionError(f"{len(failures)} failing combinations:\n{lines}")
    return out


test_differentiation.__test__ = False  # not a pytest test when imported into test modules
