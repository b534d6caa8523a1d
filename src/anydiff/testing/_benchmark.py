"""``benchmark_differentiation``: time every backend × scenario × operator, prepared and not.

Each record counts the calls of ``f`` per operator call, the fastest and median time, the
preparation time, the JAX compile time of the preparation, the peak of Python-tracked memory
(NumPy buffers included; JAX and torch device buffers are not seen by ``tracemalloc``), the
time relative to one evaluation of ``f``, and for sparse results the colors and how close the
time comes to the compressed limit (``colors`` evaluations of ``f``).
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import scipy.sparse as sp

from .. import operators as ops
from ..backends import resolve_backend
from ._check import backend_label, _make_call, declared_gap
from ._compiles import CompileCounter
from ._records import COLUMNS, BenchmarkRecords
from ._scenarios import Scenario, default_scenarios

__all__ = ["benchmark_differentiation", "COLUMNS", "BenchmarkRecords"]


def _timed(fn, seconds: float, min_runs: int = 3):
    """Times of repeated calls of ``fn`` for about ``seconds`` (at least ``min_runs``), after one warm-up."""
    fn()
    times, t_end = [], time.perf_counter() + seconds
    while len(times) < min_runs or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return np.asarray(times)


def _peak_memory(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return int(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def _f_time(scenario: Scenario, seconds: float) -> float:
    """Fastest evaluation of the scenario's NumPy function: the unit of ``time_ratio``."""
    f, ctx = scenario.make(np), scenario.contexts()
    args = [*scenario.actives, *(c.value for c in ctx)]
    if scenario.inplace:
        y = np.zeros(scenario.y_shape, dtype=np.asarray(scenario.y).dtype)
        return float(_timed(lambda: f(y, *args), seconds).min())
    return float(_timed(lambda: f(*args), seconds).min())


def _counting(f):
    count = [0]

    def counted(*args):
        count[0] += 1
        return f(*args)

    return counted, count


def _sparsity(prep, scenario, op):
    """``(colors, lower bound on colors)`` of a sparse preparation, else ``(None, None)``."""
    try:  # sparse preparations expose their coloring; the others raise
        coloring = prep.coloring
    except Exception:  # noqa: BLE001 - not a sparse preparation
        coloring = None
    if coloring is None or not hasattr(coloring, "ncolors"):
        return None, None
    S = sp.csr_array(coloring.pattern)
    per_row, per_col = np.diff(S.indptr), np.bincount(S.indices, minlength=S.shape[1])
    bound = per_col.max(initial=0) if coloring.partition == "row" else per_row.max(initial=0)
    return int(coloring.ncolors), int(max(bound, 1))


def _bench_one(backend, scenario, op, seconds, f_time):
    """Unprepared and prepared records of one combination."""
    call = _make_call(backend, scenario, op, "plain")
    counted, count = _counting(call.f)
    call.f = counted
    operator, prepare = getattr(ops, op), getattr(ops, f"prepare_{op}")
    with CompileCounter() as compiling:
        t0 = time.perf_counter()
        prep = prepare(counted, *call.prep_args(scenario, scenario.x))
        prep_time = time.perf_counter() - t0
        operator(counted, *call.args(scenario), prep=prep)
    colors, bound = _sparsity(prep, scenario, op)
    rows = []
    for prepared in (False, True):
        run = (lambda: operator(counted, *call.args(scenario), prep=prep)) if prepared else (
            lambda: operator(counted, *call.args(scenario)))
        run()
        count[0] = 0
        run()
        calls = count[0]
        times = _timed(run, seconds)
        row = dict(backend=backend_label(backend), scenario=scenario.name, operator=op, prepared=prepared, f_calls=calls,
                   time_min=float(times.min()), time_median=float(np.median(times)), samples=len(times),
                   prep_time=prep_time if prepared else None,
                   compile_time=compiling.seconds if compiling.jax else None,
                   peak_memory=_peak_memory(run), time_ratio=float(times.min()) / f_time,
                   colors=colors, color_bound=bound,
                   compressed_ratio=None if colors is None else float(times.min()) / (colors * f_time),
                   error=None)
        rows.append(row)
    return rows


def benchmark_differentiation(backends, scenarios=None, operators=None, *, seconds: float = 1.0,
                              progress=None) -> BenchmarkRecords:
    """Time every backend × scenario × operator, unprepared and prepared.

    Parameters
    ----------
    backends : list of Backend or str
    scenarios : list of Scenario, optional
        Defaults to :func:`default_scenarios`. Pytree and multi-argument scenarios
        (:func:`structured_scenarios`) give records with the same columns.
    operators : list of str, optional
        Restrict to these operators.
    seconds : float
        Time budget of each timing loop (at least 3 calls after a warm-up).
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).

    Returns
    -------
    BenchmarkRecords
        A list of dicts with the columns :data:`COLUMNS` (see :class:`BenchmarkRecords` for
        their meaning); exports with ``to_csv``, ``to_markdown``, ``to_json``, ``to_pandas``
        and ``plot``. A combination that raises gets one record with ``error`` set.

    Examples
    --------
    >>> import anydiff as ad
    >>> from anydiff.testing import benchmark_differentiation, default_scenarios
    >>> records = benchmark_differentiation([ad.AutoNumPy()], default_scenarios()[2:3], ["gradient"], seconds=0.01)
    >>> [(r["operator"], r["prepared"], r["f_calls"]) for r in records]
    [('gradient', False, 1), ('gradient', True, 1)]
    """
    from ._harness import _combinations, _progress

    scenarios = default_scenarios() if scenarios is None else list(scenarios)
    backends = [resolve_backend(b) for b in backends]
    todo = [(b, sc, op) for b, sc, op, _ in _combinations(backends, scenarios, operators, ("plain",))
            if declared_gap(b, sc, op) is None]
    f_times = {sc.name: _f_time(sc, min(seconds, 0.05)) for sc in scenarios}
    bar, records = _progress(len(todo), progress), BenchmarkRecords()
    try:
        for b, sc, op in todo:
            try:
                records += _bench_one(b, sc, op, seconds, f_times[sc.name])
            except Exception as err:  # noqa: BLE001 - the record says what went wrong
                text = f"{type(err).__name__}: {err}".splitlines()[0]
                records.append({**dict.fromkeys(COLUMNS), "backend": backend_label(b), "scenario": sc.name, "operator": op,
                                "error": text})
            if bar is not None:
                bar.step()
    finally:
        if bar is not None:
            bar.stop()
    return records
