"""Implicit differentiation of a 2-D nonlinear PDE: anydiff vs unrolled Newton (JAX), finite
differences and optimistix's ImplicitAdjoint.

Problem (examples/reaction_diffusion.py): -Δu + u³ = Σₖ pₖ φₖ on an N×N grid, 10 parameters.
For n = N² = 1e4 and ~1e5 unknowns it times, side by side and repeated:

- one solver call: Newton with the analytic sparse Jacobian and ``splu`` (the reference);
- ``ad.implicit_function`` (∂F/∂u detected and colored from the NumPy code): the gradient of a
  scalar loss of u with ``AutoNumPy`` (reverse mode: one transposed solve) for each linear solver
  (the default sparse LU, sparse LU with SciPy's defaults as before, ``memory_limit=3`` (the
  budget rule of "auto": CG + MIC(0) here), BiCGSTAB and GMRES with an ILU preconditioner), the gradient through torch autograd, and the Jacobian du/dp (n × 10); all
  *including the solve* and a fresh factorisation; the first call (sparsity detection +
  coloring) separately;
- central finite differences of the solver (20 solves);
- JAX: the gradient through an unrolled Newton solver (inner CG iterations unrolled, jitted;
  n = 1e4 only: the tape of ~10³ CG iterations per Newton step does not fit at 1e5);
- optimistix ``root_find`` (Newton, CG, ``ImplicitAdjoint`` with CG), if installed.

Peak memory: each method runs once in a fresh subprocess; the increase of the peak resident
set size over the state after set-up is reported next to the bytes of the CSR ∂F/∂u, with and
without the solver call (see ``child``).

Run ``python -m benchmarks.implicit [--quick]``; writes benchmarks/results/implicit.{json,md,png}.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads BLAS (see the note in the results)

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))
from benchmarks._common import RESULTS, fmt_time, machine_info, write_results

N_PARAMS = 10
PEERS_MAX_N = 150  # JAX's unrolled solver does not fit beyond; optimistix stopped at its step limit at N = 317


def _example():
    spec = importlib.util.spec_from_file_location("reaction_diffusion", ROOT / "examples" / "reaction_diffusion.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Problem:
    def __init__(self, N):
        self.N, self.n = N, N * N
        self.conditions, self.basis = _example().make_problem(N, N_PARAMS)
        h = 1.0 / (N + 1)
        lap1 = sp.diags([-np.ones(N - 1), 2 * np.ones(N), -np.ones(N - 1)], [-1, 0, 1])
        eye = sp.identity(N)
        self.lap = ((sp.kron(lap1, eye) + sp.kron(eye, lap1)) / h**2).tocsc()
        self.p = np.linspace(1.0, 2.0, N_PARAMS) * 50.0
        self.target = np.zeros(self.n)

    def newton(self, p, tol=1e-8, maxiter=30):
        """Newton with the analytic sparse Jacobian and splu: the reference solver."""
        u = np.zeros(self.n)
        s = self.basis @ p
        for it in range(maxiter):
            F = self.lap @ u + u**3 - s
            if np.max(np.abs(F)) < tol:
                self.newton_iterations = it
                return u
            J = (self.lap + sp.diags(3 * u**2)).tocsc()
            u = u - spla.splu(J).solve(F)
        raise RuntimeError("Newton did not converge")

    def loss(self, u):
        return 0.5 * np.sum((u - self.target) ** 2)


# ------------------------------------------------------------------------ methods
GRAD = "implicit gradient (AutoNumPy, default: splu)"
MEMORY = "implicit gradient (memory_limit=3: auto picks CG + MIC(0))"
VARIANTS = {  # name -> implicit_function keywords; every one is timed and its memory measured
    GRAD: {},
    "implicit gradient (splu, SciPy's defaults: previous default)": {
        "lu_options": {"permc_spec": "COLAMD", "panel_size": None, "relax": None}},
    MEMORY: {"memory_limit": 3},
    "implicit gradient (BiCGSTAB + ILU preconditioner)": {"linear_solver": "bicgstab", "preconditioner": "ilu"},
    "implicit gradient (GMRES + ILU preconditioner)": {"linear_solver": "gmres", "preconditioner": "ilu"},
}


def make_methods(prob, with_jax=True):
    import anydiff as ad

    gs = {k: ad.implicit_function(prob.newton, prob.conditions, **kw) for k, kw in VARIANTS.items()}
    g = gs[GRAD]

    def fresh(fun, g=g):
        def run():
            g._last = None  # no reuse of the previous call's factorisation: every call refactorises
            return fun()
        return run

    def torch_grad():
        import torch

        pt = torch.tensor(prob.p, requires_grad=True)
        u = g(pt)
        (0.5 * torch.sum(u**2)).backward()
        return pt.grad.numpy()

    def fd_central():
        cols = []
        for e in np.eye(N_PARAMS):
            step = 1e-6 * max(1.0, np.max(np.abs(prob.p)))
            cols.append((prob.newton(prob.p + step * e) - prob.newton(prob.p - step * e)) / (2 * step))
        return np.stack(cols, axis=1)

    def grad_of(gk):
        return fresh(lambda: ad.gradient(lambda p: prob.loss(gk(p)), ad.AutoNumPy(), prob.p), gk)

    methods = {"solver call": lambda: prob.newton(prob.p)}
    methods.update({k: grad_of(gk) for k, gk in gs.items()})
    methods.update({
        "implicit gradient (reverse, torch)": fresh(torch_grad),
        "implicit Jacobian (n×10)": fresh(lambda: ad.jacobian(g, ad.AutoNumPy(), prob.p)),
        "finite differences (central, Jacobian or gradient)": fd_central,
    })
    if with_jax:
        methods.update(jax_methods(prob))
    return gs, methods


def _jax_problem(prob):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    N, h = prob.N, 1.0 / (prob.N + 1)
    basis = jnp.asarray(prob.basis)

    def F(u, p):
        U = u.reshape(N, N)
        P = jnp.pad(U, 1)
        lap = (4 * U - P[:-2, 1:-1] - P[2:, 1:-1] - P[1:-1, :-2] - P[1:-1, 2:]) / h**2
        return (lap + U**3).reshape(-1) - basis @ p

    return jax, jnp, F


def jax_methods(prob):
    out = {}
    try:
        jax, jnp, F = _jax_problem(prob)
    except ImportError:
        return out
    newton_its = getattr(prob, "newton_iterations", None) or 5
    cg_its = int(12 * prob.N)  # enough for ~1e-8 on this Laplacian (checked against the solver below)

    def unrolled(p):
        def newton_step(u, _):
            r = F(u, p)
            matvec = lambda v: jax.jvp(lambda u: F(u, p), (u,), (v,))[1]

            def cg_step(state, _):
                x, res, d, rr = state
                Ad = matvec(d)
                alpha = rr / jnp.vdot(d, Ad)
                x, res = x + alpha * d, res - alpha * Ad
                rr_new = jnp.vdot(res, res)
                return (x, res, res + (rr_new / rr) * d, rr_new), None

            z = jnp.zeros_like(u)
            (dx, *_), _ = jax.lax.scan(cg_step, (z, r, r, jnp.vdot(r, r)), None, length=cg_its)
            return u - dx, None

        u, _ = jax.lax.scan(newton_step, jnp.zeros(prob.n), None, length=newton_its + 1)
        return u

    grad = jax.jit(jax.grad(lambda p: 0.5 * jnp.sum(unrolled(p) ** 2)))
    pj = jnp.asarray(prob.p)
    if prob.n <= 20000:
        out["JAX: gradient through unrolled Newton-CG (jit)"] = lambda: grad(pj).block_until_ready()
    try:
        import lineax as lx
        import optimistix as optx
    except ImportError:
        return out
    tags = frozenset({lx.symmetric_tag, lx.positive_semidefinite_tag})
    cg = lx.CG(rtol=1e-10, atol=1e-10, max_steps=100 * prob.N)
    solver = optx.Newton(rtol=1e-10, atol=1e-8, linear_solver=cg)

    def opt_solve(p):
        sol = optx.root_find(lambda u, p: F(u, p), solver, jnp.zeros(prob.n), p, tags=tags,
                             adjoint=optx.ImplicitAdjoint(linear_solver=cg), max_steps=50)
        return sol.value

    ograd = jax.jit(jax.grad(lambda p: 0.5 * jnp.sum(opt_solve(p) ** 2)))
    osolve = jax.jit(opt_solve)
    out["optimistix: root_find (Newton, CG)"] = lambda: osolve(pj).block_until_ready()
    out["optimistix: gradient, ImplicitAdjoint (CG)"] = lambda: ograd(pj).block_until_ready()
    return out


# ------------------------------------------------------------------------ measurement
def run_once_timed(fun):
    t0 = time.perf_counter()
    value = fun()
    return time.perf_counter() - t0, value


def _status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


def _memo(solver):
    """The solver remembering its last answer: the derivative's own memory, without the solve's."""
    last = {}

    def solve(p):
        key = np.asarray(p).tobytes()
        if key not in last:
            last.clear()
            last[key] = solver(p)
        return last[key]

    return solve


def child(N, name, derivative_only=False):
    """Run one method in this fresh process; print its peak-RSS increase over the state before it.

    Methods with one-time work (JIT compilation, sparsity detection) run once first. The peak
    is reset through /proc/self/clear_refs (Linux), so it covers only the measured call. The
    parent starts this process with a fixed glibc mmap threshold, so freed large blocks go back
    to the system at once and the high-water mark is the call's own peak, not hidden by heap
    space an earlier call left behind. ``derivative_only``: the solver's answer at the point is
    computed before the peak is reset (only the implicit derivative is measured).
    """
    import gc

    prob = Problem(N)
    if derivative_only:
        prob.newton = _memo(prob.newton)
    gs, methods = make_methods(prob, with_jax=name.startswith(("JAX", "optimistix")))
    fun = methods[name]
    prob.newton(prob.p)
    if not name.startswith(("finite", "solver")):
        fun()  # one-time work: JIT, sparsity detection and coloring, imports
    for g in gs.values():
        g._last = None  # drop the warm-up's factorisation: its memory must not be reused unseen
    prob.p = prob.p * 1.01  # another point: nothing cached
    if derivative_only:
        prob.newton(prob.p)
    gc.collect()
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    fun()
    peak = _status("VmHWM")
    print(json.dumps({"peak_increase": peak - before, "base": before}))


def peak_memory(N, name, derivative_only=False):
    """Peak RSS of one call, measured as the growth of a fresh process's high-water mark."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.implicit import child; "
            f"child({N}, {name!r}, {derivative_only!r})")
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "65536"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600, check=False,
                         env=env)
    try:
        return json.loads(res.stdout.strip().splitlines()[-1])["peak_increase"]
    except (IndexError, ValueError, KeyError):
        return None


def bench_size(N, repeats):
    import anydiff as ad

    load_start, started = os.getloadavg()[0], time.strftime("%H:%M")
    prob = Problem(N)
    gs, methods = make_methods(prob, with_jax=N <= PEERS_MAX_N)
    g = gs[GRAD]
    t_first, _ = run_once_timed(lambda: ad.gradient(lambda p: prob.loss(g(p)), ad.AutoNumPy(), prob.p))
    info = dict(vars(g.info))
    fd_name = "finite differences (central, Jacobian or gradient)"
    failed = {}
    for k, fun in list(methods.items()):  # warm-up (JIT compilation, caches of anydiff)
        if k != fd_name:
            try:
                fun()
            except Exception as err:  # a peer's solver that fails at this size is reported, not timed
                if k.startswith(("anydiff", "implicit", "solver")):
                    raise
                lines = [s.strip() for s in str(err).splitlines() if s.strip().strip("-")]
                why = next((s for s in reversed(lines) if "Error" in s), lines[-1] if lines else "")
                failed[k] = f"{type(err).__name__}: {why[:160]}"
                del methods[k]
    times = {k: [] for k in methods}
    fd_repeats = repeats if prob.n <= 20000 else 1  # 20 solves of 1e5 unknowns each time
    Jfd = None
    for r in range(repeats):  # interleaved: every repeat runs every method once
        for k, fun in methods.items():
            if k == fd_name and r >= fd_repeats:
                continue
            t, value = run_once_timed(fun)
            times[k].append(t)
            if k == fd_name:
                Jfd = value
    J = methods["implicit Jacobian (n×10)"]()
    errors = {"implicit vs FD (max rel)": float(np.max(np.abs(J - Jfd)) / np.max(np.abs(J)))}
    gi = methods[GRAD]()
    infos = {}
    for k in methods:
        if k in VARIANTS and k != GRAD:
            gv = methods[k]()
            errors[f"{k} vs splu (max rel)"] = float(np.max(np.abs(gv - gi)) / np.max(np.abs(gi)))
        if k in VARIANTS:
            infos[k] = {f: getattr(gs[k].info, f) for f in ("linear_solver", "preconditioner", "ordering",
                                                           "factor_nnz", "krylov_iterations", "nnz")}
        if k.startswith(("JAX", "optimistix: gradient")):
            gj = np.asarray(methods[k]())
            errors[f"{k} vs implicit (max rel)"] = float(np.max(np.abs(gj - gi)) / np.max(np.abs(gi)))
    Jcsr = ad.jacobian(g._fy, ad.AutoSparse(ad.AutoNumPy()), prob.newton(prob.p), ad.Constant(prob.p))
    jac_bytes = int(Jcsr.data.nbytes + Jcsr.indices.nbytes + Jcsr.indptr.nbytes)
    return {"N": N, "n": prob.n, "newton_iterations": prob.newton_iterations, "first_call": t_first, "failed": failed,
            "load_1min": [load_start, os.getloadavg()[0]], "started": started,
            "info_first_call": {k: v for k, v in info.items()}, "times": times, "errors": errors, "infos": infos,
            "jacobian_nnz": int(Jcsr.nnz), "jacobian_csr_bytes": jac_bytes}


def summarize(results):
    lines = ["# Implicit differentiation: 2-D reaction–diffusion (10 parameters)", "",
             ("Machine shared with other jobs (2 cores): times are the min over repeats; "
              "spread = max/min."),
             "Every implicit timing includes the solver call and a fresh factorisation (or preconditioner). "
             "BLAS single-threaded (OPENBLAS_NUM_THREADS=1) for every method: on the loaded machine OpenBLAS's "
             "threads made vector operations 10-100× slower.",
             ("Peak memory: increase of a fresh process's peak RSS during one call (glibc mmap threshold "
              "fixed at 64 KiB so freed blocks are returned at once); 'derivative only': the solver's "
              "answer was computed before the peak was reset. tracemalloc is not used: it does not see "
              "SuperLU's factors (allocated in C)."), ""]
    for r in results:
        t = {k: min(v) for k, v in r["times"].items()}
        spread = {k: max(v) / min(v) for k, v in r["times"].items()}
        solve = t["solver call"]
        grad = t[GRAD]
        lines += [(f"## n = {r['n']} (N = {r['N']}, started {r.get('started', '?')} UTC, Newton iterations: {r['newton_iterations']}, "
                   f"∂F/∂u: {r['jacobian_nnz']} nonzeros, CSR {r['jacobian_csr_bytes'] / 1e6:.2f} MB)"), "",
                  (f"Load average (1 min) at the start and end of the timings: {r['load_1min'][0]:.1f}, "
                   f"{r['load_1min'][1]:.1f}; memory runs at load {r.get('load_memory', [0, 0])[0]:.1f}-"
                   f"{r.get('load_memory', [0, 0])[1]:.1f}.") if "load_1min" in r else "", "",
                  (f"First call (sparsity detection + coloring + everything): {fmt_time(r['first_call'])}; "
                   f"linear solver: {r['info_first_call']['linear_solver']} ({r['info_first_call']['reason']})."), "",
                  ("| method | time (min) | spread | × one solver call | × default implicit gradient | "
                   "peak memory (incl. solve) | × CSR ∂F/∂u | peak memory (derivative only) | × CSR ∂F/∂u |"),
                  "|---|---|---|---|---|---|---|---|---|"]
        csr = r["jacobian_csr_bytes"]
        for k, v in t.items():
            cells = []
            for key in ("memory", "memory_derivative"):
                mem = r.get(key, {}).get(k)
                cells += ["—", "—"] if mem is None else [f"{mem / 1e6:.1f} MB", f"{mem / csr:.1f}"]
            lines.append(f"| {k} | {fmt_time(v)} | {spread[k]:.2f} | {v / solve:.2f} | {v / grad:.2f} | "
                         + " | ".join(cells) + " |")
        for k, why in r.get("failed", {}).items():
            lines.append(f"| {k} | failed: {why} | | | | | | | |")
        if r["N"] > PEERS_MAX_N:
            lines += ["", ("Not run at this size: the JAX unrolled Newton–CG (its tape does not fit) and "
                           "optimistix (its Newton-CG stops at the CG step limit at n ≈ 1e5: see the notes).")]
        for k, runs in r.get("memory_derivative_runs", {}).items():
            ok = [m / csr for m in runs if m is not None]
            if ok:
                lines += ["", f"Derivative-only peak of '{k}' over {len(ok)} fresh processes: "
                          + ", ".join(f"{v:.2f}" for v in ok) + " × CSR ∂F/∂u."]
        lines += ["", "Accuracy: " + "; ".join(f"{k}: {v:.1e}" for k, v in r["errors"].items()), ""]
        for k, inf in r.get("infos", {}).items():
            fill = "" if not inf["factor_nnz"] else f", factors L+U {inf['factor_nnz']} nonzeros"
            lines.append(f"- {k}: {inf['linear_solver']}, preconditioner {inf['preconditioner']}, ordering "
                         f"{inf['ordering']}{fill}, Krylov iterations {inf['krylov_iterations']}")
        lines.append("")
    return "\n".join(lines) + "\n"


NOTES = """## Notes

- Run 23:34-23:49 UTC on the shared 2-core machine (load average per size in its section: about 2
  during the timings, 2.2-4.8 during the memory runs at n ≈ 1e5). Times spread up to 1.4×;
  memory is repeatable (the two target rows: three fresh processes each, quoted above).
- Targets (issue 13) with `memory_limit=3` (the "auto" rule picks CG + MIC(0) here): derivative-only
  peak 2.2-2.4× (n = 1e4) and 2.87-2.89× (n ≈ 1e5) the CSR bytes of ∂F/∂u: ≤ 3×, met. Gradient
  including the solve 1.96× / 2.00× one solver call: ≤ 3×, met. Accuracy against sparse LU 2e-13 /
  8e-14. Finite differences are 9.4× slower than this gradient at n = 1e4 (10.3× for the default):
  the unprepared reverse-mode AutoNumPy gradient evaluates the function once more for its output
  shape, so the solver runs twice in every implicit gradient timed here (torch's gradient, one
  solve, shows the cost of the derivative itself).
- Default (sparse LU): 8.0× / 11.8× (was 10.3× / 13.8× in the previous run): the sparse Jacobian's
  preparation (detection and coloring, with one batched evaluation over all colors) was redone at
  every new point because the conditions were passed as a new bound-method object each time; it
  is now reused, and ∂F/∂u is assembled one color at a time as CSC sharing the pattern's index
  arrays (no CSR → CSC copy). Sparse LU cannot reach 3×: its factors hold 5.6 million entries for
  0.5 million in ∂F/∂u at n ≈ 1e5 (fill grows like n log n on a 2-D grid).
- Where the memory of the `memory_limit=3` path goes at n ≈ 1e5 (phase peaks, RSS, × CSR): building
  ∂F/∂u 2.9 (one dual evaluation of the conditions with one tangent holds about 2.0, the matrix's
  values 0.63, y and the seed 0.25): this phase sets the peak; MIC(0) keeps 0.5 (the lower part's
  values); CG 2.2; the pullback ∂F/∂pᵀ z 2.7. The budget of `memory_limit` covers ∂F/∂u, factors and
  work vectors, not the evaluations of the conditions, which depend on how F is written.
- MIC(0) needs 101 CG iterations at n ≈ 1e5 (53 at 1e4) where a Jacobi preconditioner needs 1084
  (341): the derivative alone then takes ~0.4 s at n ≈ 1e5 against ~0.6-0.9 s for sparse LU.
- optimistix at n ≈ 1e5: not run. Re-tried standalone (23:17-23:50): with lineax CG `max_steps`
  raised from 31700 to 100000 (rtol 1e-10, atol 0) its first Newton step's CG stopped at the step limit after 94 s; with
  400000 steps (atol 1e-10) it did not finish within 500 s; with rtol 1e-8 and 20000 steps, the
  step limit after 28 s. Unpreconditioned CG needs ~1100 iterations here (SciPy), so lineax's
  stopping test is what is not met on this h⁻²-scaled system; no time or memory to report.
"""


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 4.5), squeeze=False)
    for ax, r in zip(axes[0], results):
        names = list(r["times"])
        vals = [min(r["times"][k]) for k in names]
        colors = ["0.5" if k == "solver call" else "C1" if k == MEMORY else "C0" if k.startswith("implicit")
                  else "C3" if k.startswith("finite") else "C2" for k in names]
        ax.barh(range(len(names)), vals, color=colors)
        ax.set_yticks(range(len(names)), [k.replace(" (", "\n(") for k in names], fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("seconds (min over repeats)")
        ax.set_title(f"n = {r['n']}: 2-D reaction–diffusion, 10 parameters")
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--merge", action="store_true", help="keep the other sizes of the last results file")
    ap.add_argument("--sizes", type=int, nargs="*", help="grid sizes N (default 100 317: n = 1e4 and ~1e5)")
    args = ap.parse_args()
    sizes = args.sizes or ([30, 40] if args.quick else [100, 317])
    results = []
    for N in sizes:
        r = bench_size(N, args.repeats)
        if not args.no_memory:
            load0 = os.getloadavg()[0]
            small = N <= PEERS_MAX_N  # at 1e5 only the solver and the implicit gradients (the target)
            r["memory"] = {k: peak_memory(N, k) for k in r["times"] if small or k in VARIANTS or k == "solver call"}
            r["memory_derivative"] = {k: peak_memory(N, k, derivative_only=True) for k in r["times"]
                                      if k.startswith("implicit") and (small or k in VARIANTS)}
            r["memory_derivative_runs"] = {k: [r["memory_derivative"][k]] + [
                peak_memory(N, k, derivative_only=True) for _ in range(2)] for k in (GRAD, MEMORY)}
            r["load_memory"] = [load0, os.getloadavg()[0]]
        results.append(r)
        print(summarize([r]), flush=True)
    name = "implicit_quick" if args.quick else "implicit"
    if args.merge and (RESULTS / f"{name}.json").exists():  # keep the other sizes of an earlier run
        done = {r["N"] for r in results}
        earlier = json.loads((RESULTS / f"{name}.json").read_text())["results"]
        results = sorted([r for r in earlier if r["N"] not in done] + results, key=lambda r: r["N"])
    payload = {"machine": machine_info(("numpy", "scipy", "jax", "torch", "optimistix", "lineax")), "results": results}
    write_results(name, payload, summarize(results) + "\n" + NOTES)
    plot(results, RESULTS / f"{name}.png")


if __name__ == "__main__":
    main()
