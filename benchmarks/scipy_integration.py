"""anydiff.scipy vs SciPy's own derivatives, side by side in one run.

Run: ``python -m benchmarks.scipy_integration`` (writes ``benchmarks/results/scipy_integration.{json,md,png}``).

1. ``solve_ivp(method="BDF")`` on the 2-D Brusselator, N = 32 and 64: (a) SciPy's default dense
   finite-difference Jacobian, (b) finite differences with ``jac_sparsity`` = the true pattern,
   (c) ``ad.scipy.solve_ivp`` with the exact sparse Jacobian (NumPy engine and JAX). Wall time of
   the whole call, nfev, njev, and the distance of the final state to a tight-tolerance
   reference. anydiff's preparation (detection, coloring, JAX compilation) happens in the warm-up
   run and is reused by the timed runs; its cost for a new function is reported separately.
   One more run per case times the parts (``_ode_split``: Jacobian, LU factorisations, LU solves,
   f, anydiff's set-up, the rest). Target: (c) ≥ 2× faster than (b) and ≥ 20× faster than (a)
   at N = 64. Also the cost of one Jacobian alone, and, as additional information (not the
   target), Radau over a longer span at N = 32, where the solver asks for more Jacobians.
2. ``minimize(method="trust-constr")`` on the chained Rosenbrock, n = 1e3 and 1e4: exact sparse
   Hessian (``AutoSparse(AutoJax())``; ``AutoSparse(AutoNumPy())`` at 1e3) vs SciPy's default
   (finite-difference gradient, BFGS Hessian), with a time budget for the default. Target: ≥ 5×
   faster to the same tolerance at n = 1e4.
3. ``least_squares`` with 10 092 residuals (examples/sparse_least_squares.py, 3364 parameters):
   exact sparse Jacobian vs finite differences with ``jac_sparsity``, with the Jacobian time
   per solve. Target: ≥ 2× faster.

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
from ._ode_split import ordered_solver, run_split, split_solver, timed_rhs
from ._scipy_report import markdown, plot

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
def ode_rows(sizes, repeats, t_end, dense_max_n, method="BDF"):
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
        cases, dense_case = _ode_cases(si, f_np, f_j, span, y0, S, tol, method)
        row = {"N": N, "n": y0.size, "t_span": list(span), "method": method, **tol}
        cold = {name: _run(lambda fn=fn: fn(method), 1)[1][0] for name, fn in cases.items()}  # warm-up
        results = {name: [] for name in cases}
        sols = {}
        for _ in range(repeats):  # interleaved runs
            for name, fn in cases.items():
                sols[name], t = _run(lambda fn=fn: fn(method), 1)
                results[name] += t
        dense_ok = method == "BDF" and y0.size <= dense_max_n and _available_gb() > 4 * (y0.size**2 * 8) / 2**30 + 1.0
        if dense_ok:
            sols["a_dense_fd"], results["a_dense_fd"] = _run(dense_case, 1)
        for name, sol in sols.items():
            row[name] = {**_spread(results[name]), "nfev": int(sol.nfev), "njev": int(sol.njev), "nlu": int(sol.nlu),
                         "success": bool(sol.success),
                         "max_abs_error_vs_reference": float(np.max(np.abs(sol.y[:, -1] - ref.y[:, -1])))}
            if name in cold:
                row[name]["first_call_s"] = cold[name]
        for name, fn in cases.items():  # one more run each, with the time split (not in the medians)
            row[name]["split"] = run_split(lambda fn=fn: fn(split_solver(getattr(si, method))))[1]
        if not dense_ok and method == "BDF":
            row["a_dense_fd"] = _dense_lower_bound(f_np, y0, row["b_fd_sparsity"])
        row["jacobian_only"] = _jacobian_only(f_np, f_j, y0, S, approx_derivative, group_columns)
        row["anydiff_preparation"] = _cold_preparation(f_np, f_j, y0)
        yb = sols["b_fd_sparsity"].y[:, -1]
        for name in ("c_anydiff_numpy", "c_anydiff_jax", "c_anydiff_numpy_scipy_lu"):
            row[name]["speedup_vs_b_median"] = row["b_fd_sparsity"]["median_s"] / row[name]["median_s"]
            row[name]["max_rel_difference_vs_b"] = float(np.max(np.abs(sols[name].y[:, -1] - yb)) / np.max(np.abs(yb)))
            row[name]["lu_options"] = getattr(sols[name], "anydiff_lu_options", None)
            if "median_s" in row.get("a_dense_fd", {}):
                row[name]["speedup_vs_a"] = row["a_dense_fd"]["median_s"] / row[name]["median_s"]
                row[name]["speedup_vs_a_is_lower_bound"] = "estimated_lower_bound_s" in row["a_dense_fd"]
        rows.append(row)
        print(row)
    return rows


def _ode_cases(si, f_np, f_j, span, y0, S, tol, method):
    # one function object per case (prepared once, reused by later calls); timed_rhs counts f for the split runs
    rhs_np, rhs_np2, rhs_np3, rhs_j = (timed_rhs(lambda t, y: f_np(y)), timed_rhs(lambda t, y: f_np(y)),
                                       timed_rhs(lambda t, y: f_np(y)), timed_rhs(lambda t, y: f_j(y)))
    return {
        "b_fd_sparsity": lambda m: si.solve_ivp(rhs_np, span, y0, method=m, jac_sparsity=S, **tol),
        "c_anydiff_numpy": lambda m: ad.scipy.solve_ivp(rhs_np2, span, y0, ad.AutoSparse(ad.AutoNumPy()), method=m,
                                                        **tol),
        "c_anydiff_jax": lambda m: ad.scipy.solve_ivp(rhs_j, span, y0, ad.AutoSparse(ad.AutoJax()), method=m, **tol),
        # like for like with (b): anydiff's Jacobian with SciPy's own LU (COLAMD)
        "c_anydiff_numpy_scipy_lu": lambda m: ad.scipy.solve_ivp(rhs_np3, span, y0, ad.AutoSparse(ad.AutoNumPy()),
                                                                 method=m, lu_options="scipy", **tol),
    }, (lambda: si.solve_ivp(rhs_np, span, y0, method=method, **tol))


def ordering_rows(sizes, repeats, t_end):
    """Like for like with anydiff's default LU: (b) again with a BDF whose ``splu`` uses the
    MMD_AT_PLUS_A ordering (the matrices are structurally symmetric), against (c) with
    anydiff's default ``lu_options`` (which picks that ordering for these matrices)."""
    import scipy.integrate as si

    rows = []
    for N in sizes:
        f_np = brusselator_2d(np, N)
        y0, S = brusselator_point(N), brusselator_pattern(N)
        span, tol = (0.0, t_end), {"rtol": 1e-6, "atol": 1e-9}
        method = ordered_solver(si.BDF)
        rhs_b, rhs_c = (lambda t, y, f=f_np: f(y)), (lambda t, y, f=f_np: f(y))
        kw = {"t_span": span, "y0": y0, "method": method, **tol}
        cases = {
            "b_fd_sparsity": lambda kw=kw, S=S, rhs=rhs_b: si.solve_ivp(rhs, jac_sparsity=S, **kw),
            "c_anydiff_numpy": lambda kw=kw, rhs=rhs_c: ad.scipy.solve_ivp(
                rhs, backend=ad.AutoSparse(ad.AutoNumPy()), **{**kw, "method": "BDF"}),
        }
        for fn in cases.values():
            fn()
        times, sols = {name: [] for name in cases}, {}
        for _ in range(repeats):
            for name, fn in cases.items():
                sols[name], t = _run(fn, 1)
                times[name] += t
        row = {"N": N, "n": y0.size, "t_span": list(span), "method": "BDF, splu(permc_spec='MMD_AT_PLUS_A')", **tol}
        for name, sol in sols.items():
            row[name] = {**_spread(times[name]), "nfev": int(sol.nfev), "njev": int(sol.njev), "nlu": int(sol.nlu)}
        row["c_anydiff_numpy"]["speedup_vs_b_median"] = row["b_fd_sparsity"]["median_s"] / row["c_anydiff_numpy"]["median_s"]
        yb = sols["b_fd_sparsity"].y[:, -1]
        row["c_anydiff_numpy"]["max_rel_difference_vs_b"] = float(np.max(np.abs(sols["c_anydiff_numpy"].y[:, -1] - yb))
                                                                  / np.max(np.abs(yb)))
        row["c_anydiff_numpy"]["lu_options"] = sols["c_anydiff_numpy"].anydiff_lu_options
        rows.append(row)
        print(row)
    return rows


def _cold_preparation(f_np, f_j, y0):
    """Seconds of anydiff's one-time set-up (detection, coloring, JAX compilation) for a new
    function: the timed solves above reuse it, as a user solving the same system again would."""
    out = {}
    for name, f, backend in (("numpy", f_np, ad.AutoSparse(ad.AutoNumPy())), ("jax", f_j, ad.AutoSparse(ad.AutoJax()))):
        g = lambda y, f=f: f(y)  # a new function object: nothing cached
        start = time.perf_counter()
        jac = ad.scipy.ode_jacobian(g, backend, y0)
        out[name] = {"seconds": time.perf_counter() - start, "prepare_s": jac.stats["prepare"]["seconds"]}
    return out


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
    _lsq_split(row, results, res_np, x0, S)
    for name in ("anydiff_numpy", "anydiff_jax"):
        row[name]["speedup_vs_fd_median"] = row["fd_jac_sparsity"]["median_s"] / row[name]["median_s"]
        row[name]["max_abs_x_difference_vs_fd"] = float(np.max(np.abs(results[name].x - results["fd_jac_sparsity"].x)))
    print(row)
    return [row]


def _lsq_split(row, results, res_np, x0, S):
    """Jacobian seconds per solve: anydiff's own count; for SciPy's colored finite differences
    njev × one colored FD Jacobian at x0 (an estimate: SciPy times nothing itself)."""
    from scipy.optimize._numdiff import approx_derivative, group_columns

    groups = group_columns(S)
    one_fd = _time_call(lambda: approx_derivative(res_np, x0, sparsity=(S, groups)), number=3)
    fd = row["fd_jac_sparsity"]
    fd["jacobian_s_estimate"] = fd["njev"] * one_fd
    fd["one_fd_jacobian_s"], fd["fd_groups"] = one_fd, int(groups.max() + 1)
    for name in ("anydiff_numpy", "anydiff_jax"):
        stats = results[name].anydiff_stats
        row[name]["jacobian_s"] = stats["jacobian"]["seconds"]
        row[name]["jacobian_calls"] = stats["jacobian"]["calls"]
        row[name]["fun_s"] = stats["fun"]["seconds"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for SciPy's default trust-constr")
    parser.add_argument("--status", default="", help="a line for the markdown (e.g. the load average seen)")
    parser.add_argument("--rewrite", action="store_true",
                        help="only rewrite the markdown from the stored JSON (with --status), no measurement")
    parser.add_argument("--only-ode", action="store_true",
                        help="measure the solve_ivp sections only; keep the other sections of the stored JSON")
    args = parser.parse_args(argv)
    if args.rewrite:
        _rewrite(args.status)
        return
    quick = args.quick
    if args.only_ode:
        _only_ode(args, quick)
        return
    payload = {
        "machine": machine_info(), "repeats": args.repeats, "status": args.status,
        "ode": ode_rows([8, 16] if quick else [32, 64], args.repeats, 1.0, 300 if quick else 2048),
        "ode_extra": ode_rows([8] if quick else [32], args.repeats, 10.0, 0, method="Radau"),
        "ode_ordering": ordering_rows([8, 16] if quick else [32, 64], args.repeats, 1.0),
        "minimize": minimize_rows([100, 300] if quick else [1000, 10000], args.repeats,
                                  20.0 if quick else args.budget, 300 if quick else 1000),
        "least_squares": lsq_rows(12 if quick else 58, args.repeats),
    }
    if quick:  # a smoke test: print, do not overwrite the stored results
        print(markdown(payload))
        return
    write_results("scipy_integration", payload, markdown(payload))
    plot(payload, ROOT / "benchmarks" / "results" / "scipy_integration.png")


def _only_ode(args, quick):
    import json

    path = ROOT / "benchmarks" / "results" / "scipy_integration.json"
    payload = json.loads(path.read_text())
    payload.update({"machine": machine_info(), "repeats": args.repeats, "status": args.status,
                    "ode": ode_rows([8, 16] if quick else [32, 64], args.repeats, 1.0, 300 if quick else 2048),
                    "ode_extra": ode_rows([8] if quick else [32], args.repeats, 10.0, 0, method="Radau"),
                    "ode_ordering": ordering_rows([8, 16] if quick else [32, 64], args.repeats, 1.0)})
    if quick:
        print(markdown(payload))
        return
    write_results("scipy_integration", payload, markdown(payload))
    plot(payload, ROOT / "benchmarks" / "results" / "scipy_integration.png")


def _rewrite(status):
    import json

    path = ROOT / "benchmarks" / "results" / "scipy_integration"
    payload = json.loads(path.with_suffix(".json").read_text())
    if status:
        payload["status"] = status
    path.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    path.with_suffix(".md").write_text(markdown(payload))


if __name__ == "__main__":
    main()
