"""anydiff.scipy vs SciPy's own derivatives, side by side in one run.

Run: ``python -m benchmarks.scipy_integration`` (writes ``benchmarks/results/scipy_integration.{json,md,png}``).

1. ``solve_ivp(method="BDF")`` on the 2-D Brusselator, N = 32 and 64: (a) SciPy's default dense
   finite-difference Jacobian, (b) finite differences with ``jac_sparsity`` = the true pattern,
   (c) ``ad.scipy.solve_ivp`` with the exact sparse Jacobian (NumPy engine and JAX). Wall time of
   the whole call (anydiff's detection, coloring and preparation included), nfev, njev, and the
   distance of the final state to a tight-tolerance reference. Target: (c) ≥ 2× faster than (b)
   and ≥ 20× faster than (a) at N = 64. Also the cost of one Jacobian alone.
2. ``minimize(method="trust-constr")`` on the chained Rosenbrock, n = 1e3 and 1e4: exact sparse
   Hessian (``AutoSparse(AutoJax())``; ``AutoSparse(AutoNumPy())`` at 1e3) vs SciPy's default
   (finite-difference gradient, BFGS Hessian), with a time budget for the default. Target: ≥ 5×
   faster to the same tolerance at n = 1e4.
3. ``least_squares`` with 10 092 residuals (examples/sparse_least_squares.py, 3364 parameters):
   exact sparse Jacobian vs finite differences with ``jac_sparsity``. Target: ≥ 2× faster.

BLAS runs single-threaded (``OPENBLAS_NUM_THREADS=1``, for every contender): on a loaded 2-core
machine OpenBLAS's threads turned a 10k-vector norm from 3 µs into 4 ms.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import importlib.util
import pathlib
import time

import numpy as np

import anydiff as ad
from anydiff.testing import brusselator_2d, brusselator_pattern, brusselator_point, rosenbrock_chain

from ._common import machine_info, write_results

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def _run(fn, repeats):
    """``(results, seconds)`` of ``repeats`` runs of ``fn`` (each a full solver call)."""
    out, times = None, []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, times


def _spread(times):
    return {"min_s": min(times), "median_s": float(np.median(times)), "max_s": max(times), "runs": len(times)}


def _available_gb():
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("inf")


# ------------------------------------------------------------------------------------ ODE
def ode_rows(sizes, repeats, t_end, dense_max_n):
    import scipy.integrate as si
    from scipy.optimize._numdiff import approx_derivative, group_columns

    jnp = _jax().numpy
    rows = []
    for N in sizes:
        f_np, f_j = brusselator_2d(np, N), brusselator_2d(jnp, N)
        y0, S = brusselator_point(N), brusselator_pattern(N)
        span, tol = (0.0, t_end), {"rtol": 1e-6, "atol": 1e-9}
        ref = ad.scipy.solve_ivp(lambda t, y: f_np(y), span, y0, ad.AutoSparse(ad.AutoNumPy()),  # noqa: B023
                                 rtol=1e-10, atol=1e-13)
        cases, dense_case = _ode_cases(si, f_np, f_j, span, y0, S, tol)
        row = {"N": N, "n": y0.size, "t_span": list(span), **tol}
        for name, fn in cases.items():  # warm-up (imports, numba and JAX compilation), then interleaved runs
            fn()
        results = {name: [] for name in cases}
        sols = {}
        for _ in range(repeats):
            for name, fn in cases.items():
                sols[name], t = _run(fn, 1)
                results[name] += t
        dense_ok = y0.size <= dense_max_n and _available_gb() > 4 * (y0.size**2 * 8) / 2**30 + 1.0
        if dense_ok:
            sols["a_dense_fd"], results["a_dense_fd"] = _run(dense_case, 1)
        for name, sol in sols.items():
            row[name] = {**_spread(results[name]), "nfev": int(sol.nfev), "njev": int(sol.njev), "nlu": int(sol.nlu),
                         "success": bool(sol.success),
                         "max_abs_error_vs_reference": float(np.max(np.abs(sol.y[:, -1] - ref.y[:, -1])))}
        if not dense_ok:
            row["a_dense_fd"] = _dense_lower_bound(f_np, y0, row["b_fd_sparsity"])
        row["jacobian_only"] = _jacobian_only(f_np, f_j, y0, S, approx_derivative, group_columns)
        for name in ("c_anydiff_numpy", "c_anydiff_jax"):
            row[name]["speedup_vs_b_median"] = row["b_fd_sparsity"]["median_s"] / row[name]["median_s"]
            if "median_s" in row["a_dense_fd"]:
                row[name]["speedup_vs_a"] = row["a_dense_fd"]["median_s"] / row[name]["median_s"]
                row[name]["speedup_vs_a_is_lower_bound"] = "estimated_lower_bound_s" in row["a_dense_fd"]
        rows.append(row)
        print(row)
    return rows


def _ode_cases(si, f_np, f_j, span, y0, S, tol):
    rhs_np, rhs_j = (lambda t, y: f_np(y)), (lambda t, y: f_j(y))  # one function object per case: reused preparations
    return {
        "b_fd_sparsity": lambda: si.solve_ivp(rhs_np, span, y0, method="BDF", jac_sparsity=S, **tol),
        "c_anydiff_numpy": lambda: ad.scipy.solve_ivp(rhs_np, span, y0, ad.AutoSparse(ad.AutoNumPy()), **tol),
        "c_anydiff_jax": lambda: ad.scipy.solve_ivp(rhs_j, span, y0, ad.AutoSparse(ad.AutoJax()), **tol),
    }, (lambda: si.solve_ivp(rhs_np, span, y0, method="BDF", **tol))


def _dense_lower_bound(f, y0, b):
    """(a) without running it (hours on this machine): one dense finite-difference Jacobian and
    one dense LU factorisation, measured, times the njev and nlu that BDF needs with the same
    tolerances (taken from run (b)). A lower bound: (a)'s own steps, f-evaluations and
    triangular solves are left out."""
    import scipy.linalg as sla
    from scipy.optimize._numdiff import approx_derivative

    need_gb = 2 * y0.size**2 * 8 / 2**30 + 1.5
    if _available_gb() < need_gb:  # a shared machine: never push other jobs into swap or the OOM killer
        return {"skipped": f"dense estimate needs {need_gb:.1f} GB free, {_available_gb():.1f} GB available"}
    start = time.perf_counter()
    J = approx_derivative(f, y0, method="2-point")
    t_jac = time.perf_counter() - start
    A = np.eye(y0.size) - 0.01 * J
    del J
    start = time.perf_counter()
    sla.lu_factor(A, overwrite_a=True, check_finite=False)
    t_lu = time.perf_counter() - start
    seconds = b["njev"] * t_jac + b["nlu"] * t_lu
    return {"estimated_lower_bound_s": seconds, "median_s": seconds, "min_s": seconds, "max_s": seconds,
            "dense_fd_jacobian_s": t_jac, "dense_lu_s": t_lu, "njev": b["njev"], "nlu": b["nlu"], "nfev": None,
            "note": "not run: njev(b) x one dense FD Jacobian + nlu(b) x one dense LU, both measured"}


def _time_call(fn, number=20):
    fn()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def _jacobian_only(f_np, f_j, y0, S, approx_derivative, group_columns):
    """One Jacobian: SciPy's colored finite differences vs anydiff's prepared ode_jacobian."""
    groups = group_columns(S)
    jac_np = ad.scipy.ode_jacobian(f_np, ad.AutoSparse(ad.AutoNumPy()), y0)
    jac_j = ad.scipy.ode_jacobian(f_j, ad.AutoSparse(ad.AutoJax()), y0)
    out = {
        "fd_colored_s": _time_call(lambda: approx_derivative(f_np, y0, sparsity=(S, groups))),
        "fd_groups": int(groups.max() + 1),
        "anydiff_numpy_s": _time_call(lambda: jac_np(y0)),
        "anydiff_jax_s": _time_call(lambda: jac_j(y0)),
        "colors": jac_np.ncolors,
    }
    out["numpy_speedup"] = out["fd_colored_s"] / out["anydiff_numpy_s"]
    out["jax_speedup"] = out["fd_colored_s"] / out["anydiff_jax_s"]
    return out


# ------------------------------------------------------------------------------- minimize
def minimize_rows(sizes, repeats, budget, numpy_max_n):
    import scipy.optimize as so

    jnp = _jax().numpy
    rows = []
    for n in sizes:
        f_np, f_j = rosenbrock_chain(np), rosenbrock_chain(jnp)
        x0 = np.full(n, 0.5)
        row = {"n": n, "x0": "0.5 everywhere (from zeros, trust-constr stalls for thousands of iterations)",
               "gtol": 1e-8}
        cases = _minimize_cases(f_np, f_j, x0, n <= numpy_max_n)
        for name, fn in cases.items():
            runs = repeats if name == "anydiff_jax_sparse" else 1  # AutoNumPy sparse Hessians: minutes, one run
            if runs > 1:
                fn()  # warm-up: JAX compilation
            res, times = _run(fn, runs)
            row[name] = {**_spread(times), "nit": int(res.nit), "status": int(res.status),
                         "final_error_inf": float(np.max(np.abs(res.x - 1.0))), "optimality": float(res.optimality),
                         "evaluations": res.anydiff_stats}
        row["scipy_default"] = _scipy_default(so, f_np, x0, budget, n)
        base = row["scipy_default"]
        for name in cases:
            row[name]["speedup_vs_default"] = base["seconds"] / row[name]["median_s"]
            row[name]["speedup_is_lower_bound"] = not base["converged"]
        rows.append(row)
        print(row)
    return rows


def _minimize_cases(f_np, f_j, x0, with_numpy):
    cases = {"anydiff_jax_sparse": lambda: ad.scipy.minimize(f_j, x0, ad.AutoSparse(ad.AutoJax()), method="trust-constr")}
    if with_numpy:
        cases["anydiff_numpy_sparse"] = lambda: ad.scipy.minimize(f_np, x0, ad.AutoSparse(ad.AutoNumPy()),
                                                                  method="trust-constr")
    return cases


class _Budget(Exception):
    pass


def _scipy_default(so, f, x0, budget, n):
    """SciPy's default trust-constr (2-point gradient, BFGS Hessian), stopped after ``budget`` s."""
    if _available_gb() < 3 * n * n * 8 / 2**30 + 1.0:
        return {"seconds": float("nan"), "converged": False, "skipped": "not enough memory for the dense BFGS matrix"}
    start = time.perf_counter()
    state = {"nit": 0, "x": x0}

    def callback(intermediate_result):
        state["nit"], state["x"] = intermediate_result.nit, intermediate_result.x
        if time.perf_counter() - start > budget:
            raise _Budget

    try:
        res = so.minimize(f, x0, method="trust-constr", callback=callback)
        converged, x, nit, status = res.status in (1, 2), res.x, int(res.nit), int(res.status)
    except _Budget:
        converged, x, nit, status = False, state["x"], state["nit"], None
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "converged": converged, "nit": nit, "status": status, "budget_s": budget,
            "final_error_inf": float(np.max(np.abs(x - 1.0)))}


# -------------------------------------------------------------------------- least squares
def _example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lsq_rows(N, repeats):
    import scipy.optimize as so

    jnp = _jax().numpy
    ex = _example("sparse_least_squares")
    res_np, x0, _ = ex.make_problem(N)
    res_j = ex.make_problem(N, xp=jnp)[0]
    S = ad.jacobian_sparsity(res_np, x0)  # the exact pattern (checked against the Jacobian below)
    cases = {
        "fd_jac_sparsity": lambda: so.least_squares(res_np, x0, jac_sparsity=S, tr_solver="lsmr"),
        "anydiff_numpy": lambda: ad.scipy.least_squares(res_np, x0, ad.AutoSparse(ad.AutoNumPy())),
        "anydiff_jax": lambda: ad.scipy.least_squares(res_j, x0, ad.AutoSparse(ad.AutoJax())),
    }
    row = {"parameters": x0.size, "residuals": int(res_np(x0).size), "pattern_nnz": int(S.nnz)}
    for fn in cases.values():
        fn()
    times = {name: [] for name in cases}
    results = {}
    for _ in range(repeats):
        for name, fn in cases.items():
            results[name], t = _run(fn, 1)
            times[name] += t
    for name, res in results.items():
        row[name] = {**_spread(times[name]), "nfev": int(res.nfev), "njev": int(res.njev), "cost": float(res.cost),
                     "status": int(res.status)}
    assert results["anydiff_numpy"].jac.nnz == S.nnz
    for name in ("anydiff_numpy", "anydiff_jax"):
        row[name]["speedup_vs_fd_median"] = row["fd_jac_sparsity"]["median_s"] / row[name]["median_s"]
        row[name]["max_abs_x_difference_vs_fd"] = float(np.max(np.abs(results[name].x - results["fd_jac_sparsity"].x)))
    print(row)
    return [row]


# ------------------------------------------------------------------------------- report
def _s(value):
    return "—" if value is None or np.isnan(value) else (f"{value:.3f} s" if value >= 0.1 else f"{value * 1e3:.1f} ms")


def markdown(payload):
    lines = ["# anydiff.scipy vs SciPy's own derivatives", "",
             f"Machine: {payload['machine']['cpus']} CPUs (shared with other jobs: expect noise), commit "
             f"{payload['machine']['commit']}, BLAS single-threaded for every contender. Times: median (min–max) "
             f"over {payload['repeats']} runs interleaved; whole solver calls, anydiff's detection/coloring/preparation "
             "included, after one warm-up run (imports, JIT compilation).", "",
             "## solve_ivp(BDF), 2-D Brusselator", "",
             "| N (n) | case | time | nfev | njev | nlu | max error vs reference | speedup vs (b) | vs (a) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in payload["ode"]:
        for name in ("a_dense_fd", "b_fd_sparsity", "c_anydiff_numpy", "c_anydiff_jax"):
            c = r[name]
            if "skipped" in c:
                lines.append(f"| {r['N']} ({r['n']}) | {name} | skipped: {c['skipped']} | | | | | | |")
                continue
            if "estimated_lower_bound_s" in c:
                lines.append(f"| {r['N']} ({r['n']}) | {name} (estimated, not run) | ≥ {_s(c['median_s'])}: "
                             f"{c['njev']} × dense FD Jacobian {_s(c['dense_fd_jacobian_s'])} + {c['nlu']} × dense LU "
                             f"{_s(c['dense_lu_s'])} | | {c['njev']} | {c['nlu']} | | | |")
                continue
            lines.append(f"| {r['N']} ({r['n']}) | {name} | {_s(c['median_s'])} ({_s(c['min_s'])}–{_s(c['max_s'])}) | "
                         f"{c['nfev']} | {c['njev']} | {c['nlu']} | {c['max_abs_error_vs_reference']:.1e} | "
                         f"{c.get('speedup_vs_b_median', float('nan')):.2f}× | "
                         f"{'≥ ' if c.get('speedup_vs_a_is_lower_bound') else ''}{c.get('speedup_vs_a', float('nan')):.1f}× |")
    lines += ["", "One Jacobian alone (prepared):", "", "| N | SciPy colored FD | anydiff NumPy | anydiff JAX | colors (FD groups) |",
              "|---|---|---|---|---|"]
    for r in payload["ode"]:
        j = r["jacobian_only"]
        lines.append(f"| {r['N']} | {_s(j['fd_colored_s'])} | {_s(j['anydiff_numpy_s'])} ({j['numpy_speedup']:.1f}×) | "
                     f"{_s(j['anydiff_jax_s'])} ({j['jax_speedup']:.1f}×) | {j['colors']} ({j['fd_groups']}) |")
    lines += ["", "## minimize(trust-constr), chained Rosenbrock from x0 = 0.5 (SciPy's default gtol)", "",
              "| n | case | time | iterations | final max error | speedup vs SciPy default |", "|---|---|---|---|---|---|"]
    for r in payload["minimize"]:
        d = r["scipy_default"]
        note = "" if d.get("converged") else f" (stopped at the {d.get('budget_s')} s budget)" if "skipped" not in d else ""
        lines.append(f"| {r['n']} | SciPy default (2-point gradient, BFGS) | {_s(d['seconds'])}{note} | {d.get('nit', '—')} | "
                     f"{d.get('final_error_inf', float('nan')):.1e} | 1 |")
        for name in ("anydiff_jax_sparse", "anydiff_numpy_sparse"):
            if name in r:
                c = r[name]
                bound = "≥ " if c["speedup_is_lower_bound"] else ""
                lines.append(f"| {r['n']} | {name} | {_s(c['median_s'])} ({_s(c['min_s'])}–{_s(c['max_s'])}) | {c['nit']} | "
                             f"{c['final_error_inf']:.1e} | {bound}{c['speedup_vs_default']:.1f}× |")
    lines += ["", "## least_squares, sparse residuals", "",
              "| residuals × parameters | case | time | nfev | njev | cost | speedup vs FD + jac_sparsity |",
              "|---|---|---|---|---|---|---|"]
    for r in payload["least_squares"]:
        for name in ("fd_jac_sparsity", "anydiff_numpy", "anydiff_jax"):
            c = r[name]
            lines.append(f"| {r['residuals']} × {r['parameters']} | {name} | {_s(c['median_s'])} "
                         f"({_s(c['min_s'])}–{_s(c['max_s'])}) | {c['nfev']} | {c['njev']} | {c['cost']:.6e} | "
                         f"{c.get('speedup_vs_fd_median', 1.0):.2f}× |")
    return "\n".join(lines) + "\n"


def plot(payload, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values = [], []
    for r in payload["ode"]:
        for name in ("c_anydiff_numpy", "c_anydiff_jax"):
            labels.append(f"BDF N={r['N']}\n{name[10:]} vs (b)")
            values.append(r[name]["speedup_vs_b_median"])
    for r in payload["minimize"]:
        if "anydiff_jax_sparse" in r:
            labels.append(f"trust-constr n={r['n']}\njax vs default")
            values.append(r["anydiff_jax_sparse"]["speedup_vs_default"])
    for r in payload["least_squares"]:
        for name in ("anydiff_numpy", "anydiff_jax"):
            labels.append(f"least_squares\n{name[8:]} vs FD")
            values.append(r[name]["speedup_vs_fd_median"])
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(values)), 4))
    ax.bar(range(len(values)), values, color="tab:blue")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(range(len(values)), labels, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("speedup (median time ratio)")
    ax.set_title("anydiff.scipy vs SciPy's own derivatives")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for SciPy's default trust-constr")
    args = parser.parse_args(argv)
    quick = args.quick
    payload = {
        "machine": machine_info(), "repeats": args.repeats,
        "ode": ode_rows([8, 16] if quick else [32, 64], args.repeats, 1.0, 300 if quick else 2048),
        "minimize": minimize_rows([100, 300] if quick else [1000, 10000], args.repeats,
                                  20.0 if quick else args.budget, 300 if quick else 1000),
        "least_squares": lsq_rows(12 if quick else 58, args.repeats),
    }
    if quick:  # a smoke test: print, do not overwrite the stored results
        print(markdown(payload))
        return
    write_results("scipy_integration", payload, markdown(payload))
    plot(payload, ROOT / "benchmarks" / "results" / "scipy_integration.png")


if __name__ == "__main__":
    main()
