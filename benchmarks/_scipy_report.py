"""Markdown table and plot of ``benchmarks/scipy_integration.py``'s results."""

from __future__ import annotations

import numpy as np


def _s(value):
    return "—" if value is None or np.isnan(value) else (f"{value:.3f} s" if value >= 0.1 else f"{value * 1e3:.1f} ms")


def markdown(payload):
    m = payload["machine"]
    lines = ["# anydiff.scipy vs SciPy's own derivatives", "",
             f"Machine: {m['cpus']} CPUs (shared with other jobs: expect noise), commit {m['commit']}, BLAS "
             f"single-threaded for every contender. Times: median (min–max) over {payload['repeats']} runs "
             "interleaved, whole solver calls after one warm-up run. anydiff's one-time preparation (sparsity "
             "detection, coloring, JAX compilation) is reused by the timed runs, as when a user solves the same "
             "system again; its cost for a new function is listed separately.", ""]
    if payload.get("status"):
        lines += [f"**Status: {payload['status']}**", ""]
    lines += ["## solve_ivp(BDF), 2-D Brusselator", ""]
    lines += _ode_table(payload["ode"])
    lines += ["", "Where the time goes (one more run of each case, its parts timed; the medians above do not "
              "include it). `setup`: anydiff's work before SciPy's solver starts; `rest`: the solver's own "
              "Python and vector work. LU fill: nnz(L) + nnz(U) of the last `splu`.", ""]
    lines += _split_table(payload["ode"] + payload.get("ode_extra", []))
    lines += [""] + _bound_lines(payload["ode"] + payload.get("ode_extra", []))
    lines += ["", "One Jacobian alone (prepared), and anydiff's one-time preparation for a new function:", "",
              "| N | SciPy colored FD | anydiff NumPy | anydiff JAX | colors (FD groups) | first ode_jacobian NumPy | "
              "first ode_jacobian JAX (compilation) |", "|---|---|---|---|---|---|---|"]
    for r in payload["ode"]:
        j, c = r["jacobian_only"], r.get("anydiff_preparation", {})
        first = [_s(c[k]["seconds"]) if k in c else "—" for k in ("numpy", "jax")]
        lines.append(f"| {r['N']} | {_s(j['fd_colored_s'])} | {_s(j['anydiff_numpy_s'])} ({j['numpy_speedup']:.1f}×) | "
                     f"{_s(j['anydiff_jax_s'])} ({j['jax_speedup']:.1f}×) | {j['colors']} ({j['fd_groups']}) | "
                     f"{first[0]} | {first[1]} |")
    if payload.get("ode_ordering"):
        lines += ["", "### Like for like with anydiff's default LU: both with `permc_spec='MMD_AT_PLUS_A'`", "",
                  "`ad.scipy.solve_ivp` passes BDF/Radau a subclass whose `splu` uses minimum degree on Aᵀ + A "
                  "when `I - cJ` is structurally symmetric (here), COLAMD otherwise (`lu_options=`). Here (b) "
                  "gets the same LU through a BDF subclass in the benchmark, so the ratio isolates the "
                  "Jacobian: the speed of (c) over SciPy's default (b) in the first table comes from the LU "
                  "ordering, not from the exact Jacobian.", "",
                  "| N (n) | case | time | nfev | njev | nlu | max rel. difference vs (b) | speedup vs (b) with the same LU |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in payload["ode_ordering"]:
            for name in ("b_fd_sparsity", "c_anydiff_numpy"):
                c = r[name]
                vs = f"{c['speedup_vs_b_median']:.2f}×" if "speedup_vs_b_median" in c else "baseline"
                diff = f"{c['max_rel_difference_vs_b']:.1e}" if "max_rel_difference_vs_b" in c else ""
                lines.append(f"| {r['N']} ({r['n']}) | {name} | {_s(c['median_s'])} ({_s(c['min_s'])}–{_s(c['max_s'])}) | "
                             f"{c['nfev']} | {c['njev']} | {c['nlu']} | {diff} | {vs} |")
    if payload.get("ode_extra"):
        lines += ["", "### Additional case (not the issue's target): Radau, a longer span — more Jacobians", ""]
        lines += _ode_table(payload["ode_extra"])
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
              "| residuals × parameters | case | time | nfev | njev | Jacobian time per solve | cost | "
              "speedup vs FD + jac_sparsity |", "|---|---|---|---|---|---|---|---|"]
    for r in payload["least_squares"]:
        for name in ("fd_jac_sparsity", "anydiff_numpy", "anydiff_jax"):
            c = r[name]
            jac = (f"≈ {_s(c['jacobian_s_estimate'])} (njev × one colored FD Jacobian {_s(c['one_fd_jacobian_s'])}, "
                   f"{c['fd_groups']} groups)" if "jacobian_s_estimate" in c else
                   f"{_s(c['jacobian_s'])} ({c['jacobian_calls']} calls)" if "jacobian_s" in c else "")
            lines.append(f"| {r['residuals']} × {r['parameters']} | {name} | {_s(c['median_s'])} "
                         f"({_s(c['min_s'])}–{_s(c['max_s'])}) | {c['nfev']} | {c['njev']} | {jac} | {c['cost']:.6e} | "
                         f"{c.get('speedup_vs_fd_median', 1.0):.2f}× |")
    if payload.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in payload["notes"]]
    return "\n".join(lines) + "\n"


def _ode_table(rows):
    lines = ["(b): SciPy's colored finite differences with `jac_sparsity` and SciPy's own LU (COLAMD). (c): "
             "`ad.scipy.solve_ivp` with its defaults (exact sparse Jacobian, LU ordering chosen by anydiff); "
             "`c_anydiff_numpy_scipy_lu`: anydiff's Jacobian with SciPy's own LU (`lu_options='scipy'`), like "
             "for like with (b).", "",
             "| N (n) | method, span | case | time | nfev | njev | nlu | max error vs reference | "
             "max rel. difference vs (b) | speedup vs (b) | vs (a) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        where = f"{r['N']} ({r['n']}) | {r.get('method', 'BDF')}, t ≤ {r['t_span'][1]:g}"
        for name in ("a_dense_fd", "b_fd_sparsity", "c_anydiff_numpy", "c_anydiff_jax", "c_anydiff_numpy_scipy_lu"):
            c = r.get(name)
            if c is None:
                continue
            if "skipped" in c:
                lines.append(f"| {where} | {name} | skipped: {c['skipped']} | | | | | | | |")
            elif "estimated_lower_bound_s" in c:
                lines.append(f"| {where} | {name} (estimated, not run) | ≥ {_s(c['median_s'])}: {c['njev']} × dense FD "
                             f"Jacobian {_s(c['dense_fd_jacobian_s'])} + {c['nlu']} × dense LU {_s(c['dense_lu_s'])} | | "
                             f"{c['njev']} | {c['nlu']} | | | | |")
            else:
                vs_b = (f"{c['speedup_vs_b_median']:.2f}×" if "speedup_vs_b_median" in c
                        else "baseline" if name == "b_fd_sparsity" else "")
                vs_a = (f"{'≥ ' if c.get('speedup_vs_a_is_lower_bound') else ''}{c['speedup_vs_a']:.1f}×"
                        if "speedup_vs_a" in c else "")
                diff = f"{c['max_rel_difference_vs_b']:.1e}" if "max_rel_difference_vs_b" in c else ""
                lines.append(f"| {where} | {name} | {_s(c['median_s'])} ({_s(c['min_s'])}–{_s(c['max_s'])}) | "
                             f"{c['nfev']} | {c['njev']} | {c['nlu']} | {c['max_abs_error_vs_reference']:.1e} | {diff} | "
                             f"{vs_b} | {vs_a} |")
    return lines


def _bound_lines(rows):
    """How much faster than (b) any Jacobian could make the run: (b)'s wall time over (b)'s wall
    time without its Jacobian evaluations (a free Jacobian, everything else unchanged)."""
    out = []
    for r in rows:
        sp = r.get("b_fd_sparsity", {}).get("split")
        if sp is None:
            continue
        jac, wall = sp["jacobian"]["seconds"], sp["wall_s"]
        lu = sp["lu"]["seconds"] + sp["lu_solve"]["seconds"]
        out.append(f"- N = {r['N']}, {r.get('method', 'BDF')}: (b)'s finite-difference Jacobians take {100 * jac / wall:.1f}% "
                   f"of its run, LU factorisations and solves {100 * lu / wall:.0f}%: a Jacobian costing nothing would "
                   f"make it at most {wall / (wall - jac):.2f}× faster.")
    return out


def _split_table(rows):
    lines = ["| N, method | case | wall | Jacobian (calls) | LU factorisations (calls) | LU solves (calls) | f (calls) | "
             "setup | rest | LU fill |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for name in ("b_fd_sparsity", "c_anydiff_numpy", "c_anydiff_jax", "c_anydiff_numpy_scipy_lu"):
            sp = r.get(name, {}).get("split")
            if sp is None:
                continue
            wall = sp["wall_s"]

            def part(k, sp=sp, wall=wall):
                calls = sp[k].get("calls")
                return f"{_s(sp[k]['seconds'])} {100 * sp[k]['seconds'] / wall:.0f}%" + (
                    f" ({calls})" if calls is not None and k != "setup" else "")

            lines.append(f"| {r['N']}, {r.get('method', 'BDF')} | {name} | {_s(wall)} | {part('jacobian')} | {part('lu')} | "
                         f"{part('lu_solve')} | {part('f')} | {part('setup')} | {part('rest')} | "
                         f"{sp.get('lu_fill_nnz') or '—'} |")
    return lines


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


