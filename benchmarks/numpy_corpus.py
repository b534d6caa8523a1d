"""Which real-style NumPy code anydiff's NumPy engines differentiate exactly (the corpus).

Run: ``.venv/bin/python -m benchmarks.numpy_corpus [--baseline-src PATH/src]``. Writes
``benchmarks/results/numpy_corpus.{json,md}``.

Every function of ``benchmarks/corpus`` (benchmark test functions, multi-objective problems,
simulation codes; see that package) is differentiated, unchanged, by

* ``AutoNumPy()``: ``ad.gradient`` (scalar functions, plus ``ad.hessian``) or ``ad.jacobian``;
* ``AutoNumPy(mode="reverse")`` when the installed anydiff has it;
* ``TracerSparsityDetector()`` and ``TracerLocalSparsityDetector()``: the Jacobian pattern and,
  for scalar functions, the Hessian pattern.

A result counts as *exact* when it matches an independent reference: complex step where it
agrees with Richardson-extrapolated central differences (complex step is silently wrong through
``abs``), central differences otherwise; a pattern is correct when it contains every nonzero of
the reference (of the exact forward Jacobian/Hessian when that one is exact). Outcomes: ``exact``,
``refused`` (an ``anydiff.AnyDiffError``, whose message is kept), ``crash`` (any other exception)
and ``WRONG`` (no error, wrong numbers: must never happen).

``--baseline-src`` runs the same corpus a second time in a subprocess against another anydiff
source tree (e.g. ``git worktree add /tmp/base f9bc4b9``) and reports both.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

from ._common import machine_info, write_results

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ references
def _richardson_jacobian(f, x):
    x = np.asarray(x, dtype=float)
    cols = []
    for k in range(x.size):
        h = 1e-3 * max(1.0, abs(x.flat[k]))

        def d(step):
            e = np.zeros_like(x)
            e.flat[k] = step
            return (np.ravel(f(x + e)) - np.ravel(f(x - e))) / (2.0 * step)

        cols.append((4.0 * d(h / 2.0) - d(h)) / 3.0)
    return np.stack(cols, axis=1)


def _complex_step_jacobian(f, x, h=1e-30):
    cols = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning means imaginary parts were dropped
        for k in range(x.size):
            xc = np.array(x, dtype=complex)
            xc.flat[k] += 1j * h
            y = np.asarray(f(xc))
            if y.dtype.kind != "c":
                raise TypeError("real output")
            cols.append(np.ravel(y.imag) / h)
    return np.stack(cols, axis=1)


def reference_jacobian(f, x):
    """(J, method): complex step when it agrees with central differences, else central differences."""
    fd = _richardson_jacobian(f, x)
    try:
        cs = _complex_step_jacobian(f, x)
    except Exception:  # noqa: BLE001 - math.* on complex, comparisons, float(): no complex step
        return fd, "central differences"
    if np.allclose(cs, fd, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(fd).max())):
        return cs, "complex step"
    return fd, "central differences"


def _close(a, b, method):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(1.0, float(np.abs(b).max()) if b.size else 1.0)
    if method == "complex step":
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-10 * scale)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=1e-6 * scale)


# ---------------------------------------------------------------------- checks
def _outcome(run):
    import anydiff as ad

    try:
        ok, detail = run()
    except ad.AnyDiffError as err:
        return {"outcome": "refused", "error": type(err).__name__, "message": str(err)}
    except Exception as err:  # noqa: BLE001 - reported as a crash: an unclear error for a user
        return {"outcome": "crash", "error": type(err).__name__, "message": str(err)[:400]}
    return {"outcome": "exact" if ok else "WRONG", "detail": detail}


def check_case(case, engines):
    import anydiff as ad

    f, x = case.f, np.array(case.x, dtype=float)
    scalar = case.scalar
    J_ref, method = reference_jacobian(lambda v: np.atleast_1d(f(v)), x)
    out = {"name": case.name, "family": case.family, "n": int(x.size), "m": int(J_ref.shape[0]),
           "scalar": bool(scalar), "reference": method, "note": case.note, "engines": {}}
    exact = {}

    def forward(backend):
        def run():
            if scalar:
                J = ad.gradient(f, backend, x)[None, :]
            else:
                J = np.reshape(ad.jacobian(f, backend, x), J_ref.shape)
            exact["J"] = J if _close(J, J_ref, method) else None
            return exact["J"] is not None, f"max error {np.abs(J - J_ref).max():.1e} vs {method}"
        return run

    def pattern(detector):
        def run():
            S = ad.jacobian_sparsity(f, x, detector=detector).toarray()
            J = exact.get("J") if exact.get("J") is not None else J_ref
            tol = 0.0 if exact.get("J") is not None else 1e-6 * max(1.0, np.abs(J).max())
            ok = S.shape == J.shape and bool(np.all(S[np.abs(J) > tol]))
            detail = f"{int(S.sum())} of {S.size} entries"
            if scalar:
                H = ad.hessian_sparsity(f, x, detector=detector).toarray()
                H_ref = exact.get("H")
                if H_ref is None:
                    H_ref = _richardson_jacobian(lambda v: reference_jacobian(f, v)[0].ravel(), x)
                    H_ref = np.where(np.abs(H_ref) > 1e-5 * max(1.0, np.abs(H_ref).max()), H_ref, 0.0)
                ok = ok and bool(np.all(H[H_ref != 0]))
                detail += f"; Hessian {int(H.sum())} of {H.size}"
            return ok, detail
        return run

    def hessian():
        H = ad.hessian(f, ad.AutoNumPy(), x)
        H_ref = _richardson_jacobian(lambda v: reference_jacobian(f, v)[0].ravel(), x)
        ok = _close(H, H_ref, "central differences")
        exact["H"] = H if ok else None
        return ok, f"max error {np.abs(H - H_ref).max():.1e} vs differences of the reference gradient"

    for name, backend in engines:
        out["engines"][name] = _outcome(forward(backend))
    if scalar:
        out["engines"]["AutoNumPy hessian"] = _outcome(hessian)
    out["engines"]["global tracer"] = _outcome(pattern(ad.TracerSparsityDetector()))
    out["engines"]["local tracer"] = _outcome(pattern(ad.TracerLocalSparsityDetector()))
    return out


def run_corpus():
    import anydiff as ad

    from .corpus import all_cases

    engines = [("AutoNumPy", ad.AutoNumPy())]
    try:
        engines.append(("AutoNumPy reverse", ad.AutoNumPy(mode="reverse")))
    except TypeError:
        pass
    return [check_case(case, engines) for case in all_cases()]


# --------------------------------------------------------------------- report
def summary(rows):
    engines = sorted({e for r in rows for e in r["engines"]}, key=_ENGINE_ORDER.index)
    table = {}
    for e in engines:
        results = [r["engines"][e]["outcome"] for r in rows if e in r["engines"]]
        table[e] = {k: results.count(k) for k in ("exact", "refused", "crash", "WRONG")} | {"cases": len(results)}
    every = [all(v["outcome"] == "exact" for v in r["engines"].values()) for r in rows]
    table["all engines"] = {"exact": sum(every), "cases": len(rows)}
    return table


_ENGINE_ORDER = ["AutoNumPy", "AutoNumPy reverse", "AutoNumPy hessian", "global tracer", "local tracer"]


def _markdown(runs, info):
    lines = ["# NumPy corpus: real-style NumPy code under anydiff's NumPy engines", "",
             f"{len(runs['after']['rows'])} functions from `benchmarks/corpus` (benchmark test functions, "
             "multi-objective problems, simulation codes), differentiated unchanged. *exact*: matches an "
             "independent reference (complex step checked against central differences, or central "
             "differences); patterns must contain every nonzero. Machine: "
             f"{info['cpus']} CPUs, Python {info['python']}, NumPy {info['versions']['numpy']}.", "",
             "| engine | " + " | ".join(f"{label} ({runs[label]['commit']})" for label in runs) + " |",
             "|---|" + "---|" * len(runs)]
    engines = list(runs["after"]["summary"])
    for e in engines:
        cells = []
        for label in runs:
            s = runs[label]["summary"].get(e)
            if s is None:
                cells.append("—")
                continue
            extra = "".join(f", {s[k]} {k}" for k in ("crash", "WRONG") if s.get(k))
            cells.append(f"{s['exact']}/{s['cases']} exact ({100.0 * s['exact'] / s['cases']:.0f} %){extra}")
        lines.append(f"| {e} | " + " | ".join(cells) + " |")
    lines += ["", "## Cases not exact in every engine (after)", "",
              "| case | engine | outcome | why |", "|---|---|---|---|"]
    for r in runs["after"]["rows"]:
        for e, v in r["engines"].items():
            if v["outcome"] != "exact":
                why = r["note"] or v.get("message", v.get("detail", "")).splitlines()[0][:160]
                lines.append(f"| {r['name']} | {e} | {v['outcome']} ({v.get('error', '')}) | {why} |")
    lines += ["", "## Per case (after)", "", "| case | family | n | m | reference | " +
              " | ".join(engines[:-1]) + " |", "|---|---|---|---|---|" + "---|" * (len(engines) - 1)]
    for r in runs["after"]["rows"]:
        cells = [r["engines"].get(e, {}).get("outcome", "—") for e in engines[:-1]]
        lines.append(f"| {r['name']} | {r['family']} | {r['n']} | {r['m']} | {r['reference']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _worker(src):
    """Run the corpus in a fresh interpreter against the anydiff sources in ``src``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), str(ROOT)]))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.numpy_corpus", "--worker"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def _commit(src):
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=src, capture_output=True,
                          text=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", help="anydiff src/ directory to compare against")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        warnings.simplefilter("ignore")  # NumPy's overflow warnings in finite differences
        print(json.dumps(run_corpus(), default=str))
        return
    runs = {}
    if args.baseline_src:
        rows = _worker(Path(args.baseline_src).resolve())
        runs["before"] = {"commit": _commit(args.baseline_src), "rows": rows, "summary": summary(rows)}
    rows = _worker(ROOT / "src")
    runs["after"] = {"commit": _commit(ROOT), "rows": rows, "summary": summary(rows)}
    info = machine_info()
    write_results("numpy_corpus", {"machine": info, "runs": runs}, _markdown(runs, info))


if __name__ == "__main__":
    main()
