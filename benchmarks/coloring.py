"""Coloring alone: anydiff's greedy colorings vs networkx and SciPy's group_columns.

Run: ``python -m benchmarks.coloring`` (writes ``benchmarks/results/coloring.{json,md,png}``
and ``coloring_example.png``). Targets: each coloring ≤ 1 s at n = 1e5; ≥ 20× faster than
networkx with no more colors; bidirectional coloring of banded ±5 + 5 dense rows + 5 dense
columns ≤ 20 colors in total.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import numpy as np
import scipy.sparse as sp

from anydiff.sparse import coloring

from ._common import RESULTS, fmt_time, machine_info, write_results

ORDERS = ("natural", "largest_first", "smallest_last", "incidence_degree", "dynamic_largest_first")
SYM_ORDERS = ("natural", "largest_first", "smallest_last")
SLOW_S = 5.0  # a first run slower than this is not repeated
SCIPY_TIMEOUT_S = 60.0


def patterns(scale=1.0):
    n = int(1e5 * scale)
    rng = np.random.default_rng(0)
    k = 2 * n  # random symmetric, ~5 nonzeros per row with the diagonal
    r, c = rng.integers(0, n, k), rng.integers(0, n, k)
    R = sp.coo_array((np.ones(k, bool), (r, c)), shape=(n, n))
    rand = sp.csr_array(((R + R.T) + sp.eye_array(n, dtype=bool)) > 0)
    band = sp.csr_array(
        sp.diags_array(
            [np.ones(n - abs(d), bool) for d in range(-2, 3)],
            offsets=list(range(-2, 3)),
            dtype=bool,
        )
    )
    g = int(300 * np.sqrt(scale))
    T = sp.diags_array([np.ones(g - 1), np.ones(g), np.ones(g - 1)], offsets=[-1, 0, 1])
    I = sp.eye_array(g)
    lap = sp.csr_array((sp.kron(T, I) + sp.kron(I, T)) != 0)
    na = int(1e4 * scale)
    arrow = sp.lil_array((na, na), dtype=bool)
    arrow[0, :] = True
    arrow[:, 0] = True
    arrow.setdiag(True)
    arrow = sp.csr_array(arrow)
    wide = sp.lil_array(
        sp.diags_array(
            [np.ones(n - abs(d), bool) for d in range(-5, 6)],
            offsets=list(range(-5, 6)),
            dtype=bool,
        )
    )
    dense_idx = rng.choice(n, 5, replace=False)
    wide[dense_idx, :] = True
    wide[:, dense_idx] = True
    wide = sp.csr_array(wide)
    k7 = 3 * n  # ~7 nonzeros per row with the diagonal
    r7, c7 = rng.integers(0, n, k7), rng.integers(0, n, k7)
    R7 = sp.coo_array((np.ones(k7, bool), (r7, c7)), shape=(n, n))
    rand7 = sp.csr_array(((R7 + R7.T) + sp.eye_array(n, dtype=bool)) > 0)
    return {
        f"random symmetric ({n})": (rand, True),
        f"random symmetric, ~7/row ({n})": (rand7, True),
        f"banded, 5 diagonals ({n})": (band, True),
        f"2-D Laplacian {g}x{g}": (lap, True),
        f"arrowhead ({na})": (arrow, True),
        f"banded ±5 + 5 dense rows + 5 dense cols ({n})": (wide, False),
    }


def timed(fn, repeat=3):
    """Min over ``repeat`` runs (one run if the first is slower than SLOW_S)."""
    best, out = np.inf, None
    for i in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
        if i == 0 and best > SLOW_S:
            break
    return best, out


def _record(fn, repeat):
    try:
        t, res = timed(fn, repeat)
    except Exception as err:  # noqa: BLE001 - reported in the table
        return {"skipped": str(err).splitlines()[0]}
    out = {"time_s": t, "colors": int(res.ncolors), "order": res.order}
    if res.partition == "bidirectional":
        out["forward"] = int(res.column_colors.max(initial=-1)) + 1
        out["reverse"] = int(res.row_colors.max(initial=-1)) + 1
    return out


def _group_columns(S, queue):
    from scipy.optimize._numdiff import group_columns

    t = time.perf_counter()
    groups = group_columns(S)
    queue.put((time.perf_counter() - t, int(groups.max()) + 1))


def scipy_group_columns(S):
    """SciPy's group_columns in a child process, killed after SCIPY_TIMEOUT_S."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_group_columns, args=(S, queue))
    proc.start()
    proc.join(SCIPY_TIMEOUT_S)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return {"skipped": f"timeout > {SCIPY_TIMEOUT_S:.0f} s"}
    t, k = queue.get()
    return {"time_s": t, "colors": k}


def default_vs_casadi(S, repeat):
    """anydiff's default star coloring (what AutoSparse runs: largest-first order, two kernels)
    vs CasADi's ``star_coloring`` (largest-first), timed interleaved, min over ``repeat`` rounds."""
    try:
        import casadi
    except ImportError:
        return {"skipped": "casadi not installed (pip install casadi)"}
    C = sp.csc_array(S)
    pattern = casadi.Sparsity(S.shape[0], S.shape[1], C.indptr.tolist(), C.indices.tolist())
    algo = coloring.GreedyColoring(order="largest_first")
    ours, theirs = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        res = coloring.color(S, structure="symmetric", algorithm=algo)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        cas = pattern.star_coloring()
        theirs.append(time.perf_counter() - t)
    return {"anydiff_s": min(ours), "anydiff_colors": int(res.ncolors), "casadi_s": min(theirs),
            "casadi_colors": int(cas.size2()), "time_ratio": min(ours) / min(theirs)}


def small_exact(time_limit=20.0):
    """Greedy colorings vs the CP-SAT optimum (``ExactColoring``) on small patterns."""
    try:
        import ortools  # noqa: F401
    except ImportError:
        return []
    rng = np.random.default_rng(1)
    n = 60
    r, c = rng.integers(0, n, 2 * n), rng.integers(0, n, 2 * n)
    R = sp.coo_array((np.ones(2 * n, bool), (r, c)), shape=(n, n))
    rand = sp.csr_array(((R + R.T) + sp.eye_array(n, dtype=bool)) > 0)
    g = 7
    T = sp.diags_array([np.ones(g - 1), np.ones(g), np.ones(g - 1)], offsets=[-1, 0, 1])
    lap = sp.csr_array((sp.kron(T, sp.eye_array(g)) + sp.kron(sp.eye_array(g), T)) != 0)
    jac = sp.csr_array(sp.random_array((50, 40), density=0.08, rng=rng) != 0)
    out = []
    for label, S, structure in (("random symmetric (60)", rand, "symmetric"), ("2-D Laplacian 7x7", lap, "symmetric"),
                                ("random 50x40 Jacobian, 8 %", jac, "nonsymmetric")):
        greedy = coloring.color(S, structure, algorithm=coloring.GreedyColoring(order="largest_first"))
        best = coloring.color(S, structure, algorithm=coloring.GreedyColoring(order="best"))
        t = time.perf_counter()
        exact = coloring.color(S, structure, algorithm=coloring.ExactColoring(time_limit=time_limit, workers=2))
        out.append({"pattern": label, "kind": "star" if structure == "symmetric" else "column",
                    "greedy_default": int(greedy.ncolors), "greedy_best_order": int(best.ncolors),
                    "exact": int(exact.ncolors), "exact_status": exact.order, "exact_s": time.perf_counter() - t})
    return out


def warm_up():
    """Compile every numba kernel (cached on disk afterwards); the time is reported apart."""
    t0 = time.perf_counter()
    small = sp.csr_array(sp.eye_array(6) + sp.eye_array(6, k=1) + sp.eye_array(6, k=-1))
    for name in ORDERS:
        algo = coloring.GreedyColoring(order=name)
        coloring.color(small, algorithm=algo)
        coloring.color(small, partition="bidirectional", algorithm=algo)
        for dec in ("direct", "substitution"):
            algo = coloring.GreedyColoring(order=name, decompression=dec)
            res = coloring.color(small, structure="symmetric", algorithm=algo)
            res.decompress(res.compress(small.astype(float)))
    return time.perf_counter() - t0


def run(scale, repeat, nx_limit):
    import networkx as nx

    compile_s = warm_up()
    rows = []
    for label, (S, symmetric) in patterns(scale).items():
        n = S.shape[1]
        row = {"pattern": label, "n": n, "nnz": int(S.nnz), "column": {}, "star": {}, "acyclic": {}}
        for name in ORDERS:
            algo = coloring.GreedyColoring(order=name)
            row["column"][name] = _record(
                lambda S=S, algo=algo: coloring.color(S, algorithm=algo), repeat
            )
        if symmetric:
            for name in SYM_ORDERS:
                for kind, dec in (("star", "direct"), ("acyclic", "substitution")):
                    algo = coloring.GreedyColoring(order=name, decompression=dec)
                    row[kind][name] = _record(
                        lambda S=S, algo=algo: coloring.color(
                            S, structure="symmetric", algorithm=algo
                        ),
                        repeat,
                    )
            row["default_vs_casadi"] = default_vs_casadi(S, repeat)
        else:
            row["bidirectional"] = {}
            for name in ("natural", "largest_first", "best"):
                algo = coloring.GreedyColoring(order=name)
                row["bidirectional"][name] = _record(
                    lambda S=S, algo=algo: coloring.color(
                        S, partition="bidirectional", algorithm=algo
                    ),
                    repeat,
                )
        row["scipy_group_columns"] = scipy_group_columns(S)
        edges_est = int(np.sum(np.diff(S.indptr).astype(np.int64) ** 2))
        if edges_est <= nx_limit:
            t_build = time.perf_counter()
            Si = sp.csr_array(S, dtype=np.int32)
            G = sp.csr_array(Si.T @ Si)
            G.setdiag(0)
            G.eliminate_zeros()
            graph = nx.from_scipy_sparse_array(G)
            t_build = time.perf_counter() - t_build
            t, col = timed(lambda g=graph: nx.greedy_color(g, strategy="largest_first"), repeat)
            row["networkx_largest_first"] = {
                "time_s": t,
                "build_s": t_build,
                "colors": max(col.values()) + 1,
            }
            ours = row["column"]["largest_first"]
            row["speedup_vs_networkx"] = t / ours["time_s"]
            row["networkx_colors_ok"] = ours["colors"] <= max(col.values()) + 1
        else:
            row["networkx_largest_first"] = {
                "skipped": f"column intersection graph ~{edges_est:.1e} edge entries (too dense for networkx)"
            }
        rows.append(row)
        print(label, {k: v for k, v in row.items() if k != "pattern"}, flush=True)
    return rows, compile_s


def targets(rows):
    out = []
    big = [r for r in rows if r["n"] >= 1e5]
    slow = [
        (r["pattern"], kind, o, d["time_s"])
        for r in big
        for kind in ("column", "star", "acyclic", "bidirectional")
        for o, d in r.get(kind, {}).items()
        if "time_s" in d and d["time_s"] > 1.0
    ]
    out.append(
        {
            "target": "each coloring ≤ 1 s at n = 1e5",
            "pass": not slow,
            "detail": "all within 1 s"
            if not slow
            else "; ".join(f"{p}: {k} {o} {fmt_time(t)}" for p, k, o, t in slow),
        }
    )
    cmp_rows = [r for r in rows if "speedup_vs_networkx" in r]
    ok = all(r["speedup_vs_networkx"] >= 20 and r["networkx_colors_ok"] for r in cmp_rows)
    out.append(
        {
            "target": "≥ 20× faster than networkx largest_first, no more colors",
            "pass": ok,
            "detail": ", ".join(
                f"{r['pattern']}: {r['speedup_vs_networkx']:.0f}×"
                f"{'' if r['networkx_colors_ok'] else ' (more colors)'}"
                for r in cmp_rows
            ),
        }
    )
    cas = [(r["pattern"], r["default_vs_casadi"]) for r in rows if "anydiff_colors" in r.get("default_vs_casadi", {})]
    out.append(
        {
            "target": "default star coloring: no more colors and no more time than CasADi",
            "pass": bool(cas) and all(d["anydiff_colors"] <= d["casadi_colors"] and d["time_ratio"] <= 1.0 for _, d in cas),
            "detail": "; ".join(f"{p}: {d['anydiff_colors']} vs {d['casadi_colors']} colors, "
                                f"{d['time_ratio']:.2f}× CasADi's time" for p, d in cas) or "casadi not installed",
        }
    )
    last = rows[-1].get("bidirectional", {})
    best = min((d["colors"] for d in last.values() if "colors" in d), default=None)
    out.append(
        {
            "target": "bidirectional on banded ±5 + 5 dense rows/cols ≤ 20 colors",
            "pass": best is not None and best <= 20,
            "detail": f"{best} colors",
        }
    )
    return out


def markdown(rows, compile_s, info, goals, exact=()):
    L = [
        "# Coloring alone",
        "",
        (
            f"Machine: {info['machine']}, {info['cpus']} CPUs, Python {info['python']}, numba "
            f"{info['versions'].get('numba')}, commit {info['commit']}, {info['timestamp']}. "
            f"Min of 3 runs (1 run when the first takes > {SLOW_S:.0f} s); numba compilation "
            f"({compile_s:.2f} s, cached on disk afterwards) excluded."
        ),
        "",
        "Cells: time, number of colors. Star / acyclic / bidirectional: best of the orders tried (see JSON for each).",
        (
            "networkx: `greedy_color(strategy='largest_first')` on the column intersection graph, "
            "graph construction not included (see `build_s` in the JSON), min of the same number "
            "of runs."
        ),
        (
            "Speed-up vs networkx = networkx largest_first time / anydiff column largest_first "
            "time (same order). The anydiff time is the whole `coloring.color(S, "
            "algorithm=GreedyColoring(order='largest_first'))` call from the scipy CSR pattern: "
            "validation/copy, order, coloring and the decompression gather index."
        ),
        "",
        "| pattern | nnz | column: "
        + " | ".join(ORDERS)
        + " | star | acyclic | bidirectional | SciPy group_columns "
        "| networkx largest_first | speed-up vs networkx |",
        "|---" * (len(ORDERS) + 8) + "|",
    ]

    def cell(d):
        if d is None:
            return "—"
        if "skipped" in d:
            return "skipped"
        extra = f" ({d['forward']} fwd + {d['reverse']} rev)" if "forward" in d else ""
        return f"{fmt_time(d['time_s'])}, {d['colors']}{extra}"

    def best(group):
        vals = [d for d in (group or {}).values() if "colors" in d]
        return min(vals, key=lambda d: (d["colors"], d["time_s"])) if vals else None

    for r in rows:
        sp_ = r.get("speedup_vs_networkx")
        L.append(
            f"| {r['pattern']} | {r['nnz']} | "
            + " | ".join(cell(r["column"].get(o)) for o in ORDERS)
            + f" | {cell(best(r['star']))} | {cell(best(r['acyclic']))} | {cell(best(r.get('bidirectional')))} "
            + f"| {cell(r.get('scipy_group_columns'))} | {cell(r.get('networkx_largest_first'))} "
            + f"| {'—' if sp_ is None else f'{sp_:.0f}×'} |"
        )
    L += ["", "Skipped cells:"]
    for r in rows:
        for key in ("column", "star", "acyclic", "bidirectional"):
            for o, d in (r.get(key) or {}).items():
                if "skipped" in d:
                    L.append(f"- {r['pattern']}, {key} {o}: {d['skipped']}")
        for key in ("scipy_group_columns", "networkx_largest_first"):
            if "skipped" in r.get(key, {}):
                L.append(f"- {r['pattern']}, {key}: {r[key]['skipped']}")
    L += ["", "## Default star coloring vs CasADi", "",
          "anydiff's default (what `AutoSparse` runs for Hessians: largest-first order, the two-colored-path and "
          "star-and-hub kernels, fewer colors kept, plus the decompression index) vs CasADi's "
          "`Sparsity.star_coloring()` (largest-first), interleaved, min of the runs.", "",
          "| pattern | anydiff | CasADi | time ratio |", "|---|---|---|---|"]
    for r in rows:
        d = r.get("default_vs_casadi")
        if d and "anydiff_s" in d:
            L.append(f"| {r['pattern']} | {fmt_time(d['anydiff_s'])}, {d['anydiff_colors']} | "
                     f"{fmt_time(d['casadi_s'])}, {d['casadi_colors']} | {d['time_ratio']:.2f} |")
    if exact:
        L += ["", "## Greedy vs the optimum (CP-SAT, `ExactColoring`) on small patterns", "",
              "| pattern | kind | greedy (largest_first) | greedy (best order) | exact | solver |", "|---|---|---|---|---|---|"]
        L += [f"| {e['pattern']} | {e['kind']} | {e['greedy_default']} | {e['greedy_best_order']} | {e['exact']} | "
              f"{e['exact_status']}, {fmt_time(e['exact_s'])} |" for e in exact]
    L += ["", "## Targets", "", "| target | result | detail |", "|---|---|---|"]
    L += [f"| {g['target']} | {'PASS' if g['pass'] else 'FAIL'} | {g['detail']} |" for g in goals]
    L.append("")
    return "\n".join(L)


def plot(rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [
        ("column largest_first", lambda r: r["column"]["largest_first"]),
        ("column smallest_last", lambda r: r["column"]["smallest_last"]),
        (
            "star (best order)",
            lambda r: (
                min(r["star"].values(), key=lambda d: d.get("colors", 1e18)) if r["star"] else {}
            ),
        ),
        (
            "acyclic (best order)",
            lambda r: (
                min(r["acyclic"].values(), key=lambda d: d.get("colors", 1e18))
                if r["acyclic"]
                else {}
            ),
        ),
        (
            "bidirectional (best order)",
            lambda r: (
                min(r["bidirectional"].values(), key=lambda d: d.get("colors", 1e18))
                if r.get("bidirectional")
                else {}
            ),
        ),
        ("SciPy group_columns", lambda r: r["scipy_group_columns"]),
        ("networkx largest_first", lambda r: r["networkx_largest_first"]),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    x = np.arange(len(rows))
    w = 0.8 / len(series)
    for i, (name, get) in enumerate(series):
        ts = [get(r).get("time_s", np.nan) for r in rows]
        ks = [get(r).get("colors", np.nan) for r in rows]
        axes[0].bar(x + i * w, ts, w, label=name)
        axes[1].bar(x + i * w, ks, w, label=name)
    labels = [r["pattern"].split(" (")[0][:24] for r in rows]
    for ax, ylabel in zip(axes, ("seconds (log)", "colors (log)")):
        ax.set_yscale("log")
        ax.set_xticks(x + 0.4, labels, fontsize=7, rotation=15)
        ax.set_ylabel(ylabel)
    axes[0].axhline(1.0, color="k", lw=0.8, ls="--")
    axes[0].set_title("Coloring time (missing bar = skipped / not applicable)")
    axes[1].set_title("Number of colors (compressed products)")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "coloring.png", dpi=120)
    plt.close(fig)


def example_figure():
    """Brusselator-like 2-D pattern (two species on a periodic 8×8 grid) colored three ways."""
    N = 8
    T = sp.diags_array([np.ones(N - 1), np.ones(N), np.ones(N - 1)], offsets=[-1, 0, 1]).tolil()
    T[0, N - 1] = T[N - 1, 0] = 1
    I = sp.eye_array(N)
    lap = (sp.kron(T, I) + sp.kron(I, T)) != 0
    S = sp.csr_array(sp.kron(np.ones((2, 2)), sp.eye_array(N * N)) + sp.block_diag([lap, lap]) != 0)
    res = coloring.color(S, algorithm=coloring.GreedyColoring(order="best"))
    path = coloring.show_colors(
        res,
        RESULTS / "coloring_example.png",
        title=f"Brusselator 2-D (8×8, 2 species): {res.ncolors} column colors ({res.order})",
    )
    return path, res.ncolors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 5e3 instead of 1e5, one run")
    args = parser.parse_args(argv)
    scale = 0.05 if args.quick else 1.0
    info = machine_info()
    rows, compile_s = run(scale, 1 if args.quick else 3, nx_limit=3e7)
    goals = targets(rows)
    for g in goals:
        print(f"[{'PASS' if g['pass'] else 'FAIL'}] {g['target']}: {g['detail']}")
    exact = small_exact()
    example, k = example_figure()
    write_results(
        "coloring",
        {
            "machine": info,
            "numba_compile_s": compile_s,
            "rows": rows,
            "targets": goals,
            "example_png": example.name,
            "example_colors": k,
            "exact": exact,
        },
        markdown(rows, compile_s, info, goals, exact),
    )
    plot(rows)


if __name__ == "__main__":
    main()
