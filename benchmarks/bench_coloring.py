"""Coloring alone: anydiff's greedy colorings vs networkx and SciPy's group_columns.

Run: ``python -m benchmarks.bench_coloring`` (writes ``benchmarks/results/coloring.{json,md,png}``).
Targets (issue 5): each coloring ≤ 1 s at n = 1e5; ≥ 20× faster than networkx with no more
colors; bidirectional coloring of banded + 5 dense rows + 5 dense columns ≤ 20 colors in total.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

from anydiff.sparse import coloring

from ._common import fmt_time, machine_info, write_results

ORDERS = ("natural", "largest_first", "smallest_last", "incidence_degree", "dynamic_largest_first")


def patterns(scale=1.0):
    n = int(1e5 * scale)
    rng = np.random.default_rng(0)
    # random symmetric, ~5 nonzeros per row (with the diagonal)
    k = 2 * n
    r, c = rng.integers(0, n, k), rng.integers(0, n, k)
    R = sp.coo_array((np.ones(k, bool), (r, c)), shape=(n, n))
    rand = sp.csr_array(((R + R.T) + sp.eye_array(n, dtype=bool)) > 0)
    band = sp.csr_array(sp.diags_array([np.ones(n - abs(d), bool) for d in range(-2, 3)], offsets=list(range(-2, 3)), dtype=bool))
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
    wide = sp.lil_array(sp.diags_array([np.ones(n - abs(d), bool) for d in range(-5, 6)], offsets=list(range(-5, 6)), dtype=bool))
    dense_idx = rng.choice(n, 5, replace=False)
    wide[dense_idx, :] = True
    wide[:, dense_idx] = True
    wide = sp.csr_array(wide)
    return {
        f"random symmetric ({n})": (rand, True),
        f"banded, 5 diagonals ({n})": (band, True),
        f"2-D Laplacian {g}x{g}": (lap, True),
        f"arrowhead ({na})": (arrow, True),
        f"banded ±5 + 5 dense rows + 5 dense cols ({n})": (wide, False),
    }


def timed(fn, repeat=3):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def run(scale, repeat, nx_limit):
    import networkx as nx
    from scipy.optimize._numdiff import group_columns

    # compile the numba kernels once, reported separately
    t0 = time.perf_counter()
    small = sp.csr_array(sp.eye_array(5) + sp.eye_array(5, k=1) + sp.eye_array(5, k=-1))
    for name in ORDERS:
        coloring.color(small, algorithm=coloring.GreedyColoring(order=name))
    coloring.color(small, structure="symmetric")
    compile_s = time.perf_counter() - t0
    rows = []
    for label, (S, symmetric) in patterns(scale).items():
        n = S.shape[1]
        row = {"pattern": label, "n": n, "nnz": int(S.nnz), "column": {}, "star": {}}
        for name in ORDERS:
            try:
                t, res = timed(lambda: coloring.color(S, algorithm=coloring.GreedyColoring(order=name)), repeat)
                row["column"][name] = {"time_s": t, "colors": int(res.ncolors)}
            except Exception as err:  # noqa: BLE001 - reported in the table
                row["column"][name] = {"skipped": str(err).splitlines()[0]}
        if symmetric:
            for name in ("natural", "largest_first", "smallest_last"):
                t, res = timed(lambda: coloring.color(S, structure="symmetric", algorithm=coloring.GreedyColoring(order=name)), repeat)
                row["star"][name] = {"time_s": t, "colors": int(res.ncolors)}
        else:
            t, res = timed(lambda: coloring.color(S, partition="bidirectional", algorithm=coloring.GreedyColoring(order="natural")), repeat)
            kc = int(res.column_colors.max()) + 1
            row["bidirectional"] = {"time_s": t, "colors": int(res.ncolors), "forward": kc, "reverse": int(res.ncolors) - kc}
        # SciPy group_columns (skip when it would take minutes: dense rows)
        if S.shape[0] * 0 + np.diff(S.indptr).max() < 1000:
            t, groups = timed(lambda: group_columns(S), 1)
            row["scipy_group_columns"] = {"time_s": t, "colors": int(groups.max()) + 1}
        else:
            row["scipy_group_columns"] = {"skipped": "dense rows: quadratic (13.7 s in ANCHORS.md)"}
        # networkx greedy_color (largest_first) on the column intersection graph
        edges_est = int(np.sum(np.diff(S.indptr).astype(np.int64) ** 2))
        if edges_est <= nx_limit:
            t_build = time.perf_counter()
            G = sp.csr_array(S.astype(np.int32).T @ S.astype(np.int32))
            G.setdiag(0)
            G.eliminate_zeros()
            graph = nx.from_scipy_sparse_array(G)
            t_build = time.perf_counter() - t_build
            t, col = timed(lambda: nx.greedy_color(graph, strategy="largest_first"), 1)
            row["networkx_largest_first"] = {"time_s": t, "build_s": t_build, "colors": max(col.values()) + 1}
            ours = row["column"]["largest_first"]
            row["speedup_vs_networkx"] = t / ours["time_s"]
        else:
            row["networkx_largest_first"] = {"skipped": f"column intersection graph ~{edges_est:.1e} edges"}
        rows.append(row)
        print(label, {k: v for k, v in row.items() if k not in ("pattern",)})
    return rows, compile_s


def markdown(rows, compile_s, info):
    L = ["# Coloring alone", "",
         f"Machine: {info['machine']}, {info['cpus']} CPUs, Python {info['python']}, commit {info['commit']}, {info['timestamp']}. "
         f"Min of 3 runs; numba compilation ({compile_s:.2f} s, cached on disk afterwards) excluded.", "",
         "| pattern | nnz | column: natural | largest_first | smallest_last | incidence_degree | dynamic_largest_first | star (best of 3 orders) | bidirectional | SciPy group_columns | networkx largest_first | speed-up vs networkx |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def cell(d):
        if d is None:
            return "—"
        if "skipped" in d:
            return "skipped"
        return f"{fmt_time(d['time_s'])}, {d['colors']}"

    for r in rows:
        star = min(r["star"].values(), key=lambda d: d["colors"]) if r["star"] else None
        bi = r.get("bidirectional")
        bi_cell = f"{fmt_time(bi['time_s'])}, {bi['colors']} ({bi['forward']} fwd + {bi['reverse']} rev)" if bi else "—"
        sp_ = r.get("speedup_vs_networkx")
        L.append(f"| {r['pattern']} | {r['nnz']} | " + " | ".join(cell(r["column"].get(o)) for o in ORDERS)
                 + f" | {cell(star)} | {bi_cell} | {cell(r.get('scipy_group_columns'))} | {cell(r.get('networkx_largest_first'))} "
                 + f"| {'—' if sp_ is None else f'{sp_:.0f}×'} |")
    L += ["", "Cells: time, number of colors. networkx graph construction time is not included in its time (see JSON).", ""]
    return "\n".join(L)


def plot(rows):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    from ._common import RESULTS

    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [r["pattern"].split(" (")[0][:22] for r in rows]
    for i, o in enumerate(ORDERS):
        vals = [r["column"][o].get("time_s", np.nan) for r in rows]
        ax.bar(np.arange(len(rows)) + i * 0.15, vals, 0.15, label=o)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(rows)) + 0.3, labels, fontsize=7, rotation=15)
    ax.set_ylabel("seconds (log)")
    ax.set_title("Column coloring time by vertex order")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "coloring.png", dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    scale = 0.05 if args.quick else 1.0
    info = machine_info()
    rows, compile_s = run(scale, 1 if args.quick else 3, nx_limit=3e7)
    write_results("coloring", {"machine": info, "numba_compile_s": compile_s, "rows": rows}, markdown(rows, compile_s, info))
    plot(rows)


if __name__ == "__main__":
    main()
