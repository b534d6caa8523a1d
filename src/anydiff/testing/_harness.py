"""``test_differentiation``: every backend × scenario × operator × variant, one report of failures."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import operators as ops
from ..backends import resolve_backend
from ._check import backend_label, VARIANTS, CheckResult, _compare, _make_call, check_operator, declared_gap
from ._scenarios import Scenario, default_scenarios

__all__ = ["test_differentiation", "differentiation_cases", "check_case", "format_failures"]


def _combinations(backends, scenarios, operators, variants):
    for b in backends:
        for sc in scenarios:
            for op in sc.operators():
                if operators is None or op in operators:
                    for v in variants:
                        yield b, sc, op, v


def _progress(total, enabled):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from rich.progress import Progress

    bar = Progress(transient=True)
    bar.start()
    task = bar.add_task("test_differentiation", total=total)
    bar.step = lambda: bar.advance(task)
    return bar


def test_differentiation(backends, scenarios=None, operators=None, variants=VARIANTS, *, rtol=None, atol=None,
                         threads: int = 0, skip=None, progress=None, raise_on_failure: bool = True):
    """Check every operator × call variant of ``backends`` on ``scenarios`` against references.

    Each combination checks the result (``rtol``/``atol``), that x, the seeds and constant
    contexts are unchanged, that the dtype is kept (float32 in, float32 out), that the result
    is in the input's array library, that a prepared call does not compile again on its second
    run (JAX/torch), and the nonzeros of sparse results. Combinations a backend declares it
    cannot do (its capability flags, see :func:`declared_gap`) are skipped, not failed.

    Parameters
    ----------
    backends : list of Backend or str
    scenarios : list of Scenario, optional
        Defaults to :func:`default_scenarios` plus :func:`float32_scenarios` plus
        :func:`structured_scenarios` (pytrees and several active arguments; results are
        compared leaf by leaf after checking the tree structure). Call variants that anydiff
        refuses for structured calls (``out=``, in-place ``f``, ``second_derivative``) are
        skipped with the reason.
    operators : list of str, optional
        Restrict to these operator names.
    variants : tuple of str
        Subset of :data:`VARIANTS`.
    rtol, atol : float, optional
        Override the default tolerances (:func:`tolerances`).
    threads : int
        If positive, also call each prepared operator from this many threads at once with one
        preparation (variant ``"threads"``).
    skip : callable, optional
        ``skip(backend, scenario, op) -> str | None``: further combinations to skip, with a reason.
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).
    raise_on_failure : bool
        Raise (default) or only return the failures.

    Returns
    -------
    list of CheckResult
        One per combination, with ``status`` ``"pass"``, ``"fail"`` or ``"skip"``.

    Raises
    ------
    AssertionError
        One error listing every failure: backend, scenario, operator, variant and what was wrong.

    Examples
    --------
    >>> import anydiff as ad
    >>> from anydiff.testing import test_differentiation, default_scenarios
    >>> results = test_differentiation([ad.AutoFiniteDiff()], default_scenarios()[:1], ["derivative"])
    >>> sorted({r.status for r in results})  # "native" (JAX/torch inputs) is skipped for NumPy backends
    ['pass', 'skip']
    """
    scenarios = _default() if scenarios is None else list(scenarios)
    backends = [resolve_backend(b) for b in backends]
    variants = tuple(variants) + (("threads",) if threads > 0 else ())
    todo = list(_combinations(backends, scenarios, operators, variants))
    bar, out = _progress(len(todo), progress), []
    try:
        for b, sc, op, v in todo:
            reason = skip(b, sc, op) if skip is not None else None
            if reason:
                out.append(CheckResult(backend_label(b), sc.name, op, v, True, 0.0, skipped=reason))
            elif v == "threads":
                out.append(check_threads(b, sc, op, threads, rtol=rtol, atol=atol))
            else:
                out.append(check_operator(b, sc, op, v, rtol=rtol, atol=atol, catch=True))
            if bar is not None:
                bar.step()
    finally:
        if bar is not None:
            bar.stop()
    failures = [r for r in out if r.status == "fail"]
    if failures and raise_on_failure:
        raise AssertionError(format_failures(failures, len(out)))
    return out


test_differentiation.__test__ = False  # not a pytest test when imported into test modules


def _default():
    from ._transform import float32_scenarios

    from ._structured_scenarios import structured_scenarios

    return default_scenarios() + float32_scenarios() + structured_scenarios()


def format_failures(failures, total: int) -> str:
    """The text of :func:`test_differentiation`'s AssertionError."""
    lines = [f"{len(failures)} of {total} combinations failed:"]
    lines += [f"  {r.backend} | {r.scenario} | {r.operator} | {r.variant}: {r.message}" for r in failures]
    return "\n".join(lines)


def check_threads(backend, scenario: Scenario, op: str, threads: int = 4, *, rtol=None, atol=None) -> CheckResult:
    """Call one prepared operator from ``threads`` threads at once and check every result."""
    backend = resolve_backend(backend)
    label = (backend_label(backend), scenario.name, op, "threads")
    gap = declared_gap(backend, scenario, op)
    if gap or scenario.contexts() or scenario.inplace:
        return CheckResult(*label, True, 0.0, skipped=gap or "threads: out-of-place scenarios without contexts")
    try:
        call = _make_call(backend, scenario, op, "plain")
        prep = getattr(ops, f"prepare_{op}")(call.f, *call.prep_args(scenario, scenario.x))
        operator = getattr(ops, op)
        with ThreadPoolExecutor(threads) as pool:
            futures = [pool.submit(operator, call.f, *call.args(scenario), prep=prep) for _ in range(2 * threads)]
            results = [fu.result() for fu in futures]
    except Exception as err:  # noqa: BLE001 - a failure of this combination
        return CheckResult(*label, False, np.inf, f"raised {type(err).__name__}: {err}".splitlines()[0])
    worst, problems = _compare(backend, scenario, op, results, None, rtol, atol, what="concurrent call")
    return CheckResult(*label, not problems, worst, "; ".join(problems))


def differentiation_cases(backends, scenarios=None, operators=None, variants=VARIANTS):
    """``pytest.param`` cases, one per combination, for ``@pytest.mark.parametrize("case", ...)``.

    Use with :func:`check_case`; declared gaps become pytest skips.

    Examples
    --------
    >>> import anydiff as ad
    >>> from anydiff.testing import differentiation_cases, default_scenarios
    >>> cases = differentiation_cases([ad.AutoFiniteDiff()], default_scenarios()[:1], ["derivative"])
    >>> cases[0].id
    'AutoFiniteDiff()-scalar->scalar-derivative-plain'
    """
    import pytest

    backends = [resolve_backend(b) for b in backends]
    scenarios = default_scenarios() if scenarios is None else scenarios
    return [pytest.param((b, sc, op, v), id=f"{backend_label(b)}-{sc.name}-{op}-{v}")
            for b, sc, op, v in _combinations(backends, scenarios, operators, variants)]


def check_case(case, *, rtol=None, atol=None) -> CheckResult:
    """Check one case from :func:`differentiation_cases`: skip declared gaps, fail with the reason."""
    import pytest

    result = check_operator(*case, rtol=rtol, atol=atol, catch=False)
    if result.skipped:
        pytest.skip(result.skipped)
    if not result.ok:
        pytest.fail(f"{result.backend} | {result.scenario} | {result.operator} | {result.variant}: {result.message}",
                    pytrace=False)
    return result
