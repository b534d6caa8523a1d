"""Sparse Jacobians and Hessians: anydiff's AutoSparse vs dense AD, asdex and SciPy, side by side.

Run: ``python -m benchmarks.sparse`` (writes ``benchmarks/results/sparse.{json,md,png}``).

1. Brusselator 2-D (N = 32, 64, 128; no dense reference at 128): prepared ``AutoSparse(AutoJax())`` Jacobian vs dense jitted
   ``jax.jacfwd`` (target ≥ 50× faster at N = 32), vs asdex's prepared sparse Jacobian (target
   ratio ≤ 1.0), vs SciPy ``approx_derivative`` with ``group_columns`` (colored FD, and
   ``AutoSparse(AutoFiniteDiff())`` doing the same); colors vs asdex (target ≤).
2. Rosenbrock-chain Hessian (n = 1e3, 1e4): ``AutoSparse(AutoJax())`` vs dense ``jax.hessian``
   and asdex.
3. Coloring alone: ``benchmarks.coloring`` (run separately; its table is linked).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import anydiff as ad
from anydiff.testing import brusselator_2d, brusselator_pattern, brusselator_point, rosenbrock_chain

from ._common import fmt_time, machine_info, time_min, time_pair, write_results

DENSE_MAX_N = 64  # larger Brusselators: no dense reference (32768² doubles = 8 GB)


def _block(a):
    import jax

    return jax.block_until_ready(a)


def _versus_asdex(row, operator, prepare, f, b, prep, x, asdex_fn, rounds):
    """anydiff (scipy output, prepared ``prep``) and ``AutoSparse(AutoJax(), sparse_output="jax")``
    (values stay on the device, like asdex's BCOO) vs the jitted ``asdex_fn``, each pair timed
    interleaved round by round: the ratios are robust to machine drift."""
    row["anydiff_s"], row["asdex_s"], r = time_pair(
        lambda: operator(f, b, x, prep=prep), lambda: _block(asdex_fn(x)), rounds=rounds)
    row["ratio_vs_asdex_median"] = 1.0 / r
    bj = ad.AutoSparse(ad.AutoJax(), sparse_output="jax")
    prep_j = prepare(f, bj, x)
    row["anydiff_jaxout_s"], asdex_s, r = time_pair(
        lambda: operator(f, bj, x, prep=prep_j).data.block_until_ready(), lambda: _block(asdex_fn(x)), rounds=rounds)
    row["jaxout_ratio_vs_asdex"] = row["anydiff_jaxout_s"] / asdex_s
    row["jaxout_ratio_vs_asdex_median"] = 1.0 / r


def _max_abs_diff(bcoo, csr):
    """max |A - B| of asdex's BCOO and a scipy matrix, without densifying (8 GB at N = 128)."""
    import scipy.sparse as sp

    idx = np.asarray(bcoo.indices)
    A = sp.coo_array((np.asarray(bcoo.data), (idx[:, 0], idx[:, 1])), shape=bcoo.shape).tocsr()
    D = abs(A - sp.csr_array(csr))
    return float(D.max()) if D.nnz else 0.0


def jacobian_rows(sizes, repeat):
    import jax
    import jax.numpy as jnp
    from scipy.optimize._numdiff import approx_derivative, group_columns

    rows = []
    for N in sizes:
        f_jax, f_np = brusselator_2d(jnp, N), brusselator_2d(np, N)
        x_np = brusselator_point(N)
        x = jnp.asarray(x_np)
        S_true = brusselator_pattern(N)
        row = {"problem": "brusselator", "N": N, "n": x.size}
        f_jit = jax.jit(f_jax)
        row["f_jit_s"] = time_min(lambda: _block(f_jit(x)), repeat)
        row["f_numpy_s"] = time_min(lambda: f_np(x_np), repeat)

        # anydiff AutoSparse(AutoJax()) -------------------------------------------------
        b = ad.AutoSparse(ad.AutoJax())
        t0 = time.perf_counter()
        prep = ad.prepare_jacobian(f_jax, b, x)
        row["anydiff_prepare_s"] = time.perf_counter() - t0
        J = ad.jacobian(f_jax, b, x, prep=prep)
        row["anydiff_colors"] = int(prep.coloring.ncolors)
        row["pattern_exact"] = bool((prep.pattern != S_true).nnz == 0)
        row["anydiff_s"] = time_min(lambda: ad.jacobian(f_jax, b, x, prep=prep), repeat)
        t0 = time.perf_counter()
        S = ad.jacobian_sparsity(f_jax, x, detector=ad.JaxSparsityDetector())
        row["anydiff_detect_s"] = time.perf_counter() - t0

        # dense jacfwd (skipped above N = 64: the dense Jacobian alone would take 8 GB) -----------
        Jd = None
        if N <= DENSE_MAX_N:
            dense = jax.jit(jax.jacfwd(f_jax))
            Jd = np.asarray(dense(x))
            row["dense_jacfwd_s"] = time_min(lambda: _block(dense(x)), max(3, repeat // 2))
            row["max_abs_error_vs_dense"] = float(np.max(np.abs(J.toarray() - Jd)))
        else:
            row["dense_jacfwd_s"] = None

        # asdex -----------------------------------------------------------------------------
        try:
            import asdex

            t0 = time.perf_counter()
            col = asdex.jacobian_coloring(f_jax, x)
            row["asdex_detect_color_s"] = time.perf_counter() - t0
            jf = jax.jit(asdex.jacobian_from_coloring(f_jax, col))
            Ja = jf(x)
            row["asdex_colors"] = int(col.num_colors)
            _versus_asdex(row, ad.jacobian, ad.prepare_jacobian, f_jax, b, prep, x, jf, 3 * repeat)
            row["max_abs_error_vs_asdex"] = _max_abs_diff(Ja, J)
        except ImportError:
            row["asdex_s"] = None

        # SciPy colored finite differences and AutoSparse(AutoFiniteDiff()) ----------------------
        groups = group_columns(S_true)
        row["scipy_groups"] = int(groups.max()) + 1
        row["scipy_fd_s"] = time_min(
            lambda: approx_derivative(f_np, x_np, method="2-point", sparsity=(S_true, groups)), max(3, repeat // 2))
        # colored forward differences given the same pattern as SciPy
        bfd = ad.AutoSparse(ad.AutoFiniteDiff(method="forward"), sparsity_detector=ad.KnownSparsityDetector(S_true))
        prep_fd = ad.prepare_jacobian(f_np, bfd, x_np)
        row["anydiff_fd_s"] = time_min(lambda: ad.jacobian(f_np, bfd, x_np, prep=prep_fd), max(3, repeat // 2))
        if hasattr(ad, "AutoNumPy"):
            bnp = ad.AutoSparse(ad.AutoNumPy(), sparsity_detector=ad.KnownSparsityDetector(S_true))
            prep_np = ad.prepare_jacobian(f_np, bnp, x_np)
            Jn = ad.jacobian(f_np, bnp, x_np, prep=prep_np)
            row["anydiff_numpy_s"] = time_min(lambda: ad.jacobian(f_np, bnp, x_np, prep=prep_np), repeat)
            row["numpy_max_abs_error"] = float(abs(Jn - J).max())
        row["speedup_vs_dense"] = row["dense_jacfwd_s"] / row["anydiff_s"] if row["dense_jacfwd_s"] else None
        row["ratio_vs_asdex"] = row["anydiff_s"] / row["asdex_s"] if row.get("asdex_s") else None
        rows.append(row)
        print({k: (round(v, 7) if isinstance(v, float) else v) for k, v in row.items()})
    return rows


def hessian_rows(sizes, repeat):
    import jax
    import jax.numpy as jnp

    rows = []
    f = rosenbrock_chain(jnp)
    for n in sizes:
        x = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, n))
        row = {"problem": "rosenbrock_hessian", "n": n}
        b = ad.AutoSparse(ad.AutoJax())
        t0 = time.perf_counter()
        prep = ad.prepare_hessian(f, b, x)
        row["anydiff_prepare_s"] = time.perf_counter() - t0
        H = ad.hessian(f, b, x, prep=prep)
        row["anydiff_colors"] = int(prep.coloring.ncolors)
        row["anydiff_s"] = time_min(lambda: ad.hessian(f, b, x, prep=prep), repeat)
        if n <= 3000:
            dense = jax.jit(jax.hessian(f))
            Hd = np.asarray(dense(x))
            row["dense_hessian_s"] = time_min(lambda: _block(dense(x)), max(3, repeat // 2))
            row["max_abs_error_vs_dense"] = float(np.max(np.abs(H.toarray() - Hd)))
        else:
            row["dense_hessian_s"] = None  # n² = 1e8 entries: skipped (memory), reported as such
        try:
            import asdex

            t0 = time.perf_counter()
            col = asdex.hessian_coloring(f, x)
            row["asdex_detect_color_s"] = time.perf_counter() - t0
            hf = jax.jit(asdex.hessian_from_coloring(f, col))
            hf(x)
            row["asdex_colors"] = int(col.num_colors)
            _versus_asdex(row, ad.hessian, ad.prepare_hessian, f, b, prep, x, hf, 3 * repeat)
        except ImportError:
            row["asdex_s"] = None
        row["ratio_vs_asdex"] = row["anydiff_s"] / row["asdex_s"] if row.get("asdex_s") else None
        rows.append(row)
        print({k: (round(v, 7) if isinstance(v, float) else v) for k, v in row.items()})
    return rows


def _times(v):
    return "—" if v is None else f"{v:.0f}×"


def _ratio_cell(r, key, median_label="median "):
    """``min-ratio (median of rounds)`` for the markdown table, or a dash."""
    if r.get(key) is None:
        return "—"
    return f"{r[key]:.2f} ({median_label}{r[key + '_median']:.2f})"


def markdown(jac, hess, info):
    L = [
        "# Sparse Jacobians and Hessians",
        "",
        f"Machine: {info['machine']}, {info['cpus']} CPUs, Python {info['python']}, commit {info['commit']}, "
        f"{info['timestamp']}. Min over repeats after warm-up; prepared calls; JAX jitted and blocked. anydiff and asdex are timed interleaved, round by round (ratio of minima, and the median of per-round ratios). "
        "Default output: scipy.sparse CSR on the host (the values are copied off the device); "
        "`AutoSparse(AutoJax(), sparse_output=\"jax\")` returns a `jax.experimental.sparse.BCSR` on the device, like asdex's BCOO.",
        "",
        "## Brusselator 2-D Jacobian",
        "",
        "| N (n) | colors anydiff / asdex / SciPy | anydiff (JAX) | dense jacfwd | speed-up (≥ 50× at N=32) | asdex | ratio min (median of rounds), ≤ 1 | anydiff, BCSR output | ratio (median) | SciPy colored FD | anydiff colored FD | AutoNumPy | pattern exact |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in jac:
        ratio = _ratio_cell(r, "ratio_vs_asdex")
        L.append(
            f"| {r['N']} ({r['n']}) | {r['anydiff_colors']} / {r.get('asdex_colors', '—')} / {r['scipy_groups']} "
            f"| {fmt_time(r['anydiff_s'])} | {fmt_time(r['dense_jacfwd_s'])} | "
            f"{_times(r['speedup_vs_dense'])} "
            f"| {fmt_time(r.get('asdex_s'))} | {ratio} | {fmt_time(r.get('anydiff_jaxout_s'))} | {_ratio_cell(r, 'jaxout_ratio_vs_asdex', '')} "
            f"| {fmt_time(r['scipy_fd_s'])} | {fmt_time(r['anydiff_fd_s'])} "
            f"| {fmt_time(r.get('anydiff_numpy_s'))} | {r['pattern_exact']} |"
        )
    L += ["", "Preparation (detect + color + seeds + jit) and detection alone:", "",
          "| N | anydiff prepare | anydiff detect (jaxpr) | asdex detect + color |", "|---|---|---|---|"]
    for r in jac:
        L.append(f"| {r['N']} | {fmt_time(r['anydiff_prepare_s'])} | {fmt_time(r['anydiff_detect_s'])} "
                 f"| {fmt_time(r.get('asdex_detect_color_s'))} |")
    L += ["", "## Rosenbrock-chain Hessian", "",
          "| n | colors anydiff / asdex | anydiff | dense jax.hessian | asdex | ratio min (median of rounds) | anydiff, BCSR output | ratio (median) | anydiff prepare | asdex detect + color |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in hess:
        ratio = _ratio_cell(r, "ratio_vs_asdex")
        L.append(f"| {r['n']} | {r['anydiff_colors']} / {r.get('asdex_colors', '—')} | {fmt_time(r['anydiff_s'])} "
                 f"| {fmt_time(r.get('dense_hessian_s'))} | {fmt_time(r.get('asdex_s'))} | {ratio} "
                 f"| {fmt_time(r.get('anydiff_jaxout_s'))} | {_ratio_cell(r, 'jaxout_ratio_vs_asdex', '')} "
                 f"| {fmt_time(r['anydiff_prepare_s'])} | {fmt_time(r.get('asdex_detect_color_s'))} |")
    L += ["", "Coloring alone: see [coloring.md](coloring.md) (`python -m benchmarks.coloring`).", ""]
    return "\n".join(L)


def plot(jac, hess):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    labels = [f"N={r['N']}" for r in jac]
    keys = [("anydiff_s", "anydiff AutoSparse(JAX)"), ("asdex_s", "asdex"), ("dense_jacfwd_s", "dense jacfwd"),
            ("scipy_fd_s", "SciPy colored FD"), ("anydiff_fd_s", "anydiff colored FD"), ("anydiff_numpy_s", "AutoSparse(AutoNumPy)")]
    width = 0.13
    for i, (k, name) in enumerate(keys):
        vals = [r.get(k) or np.nan for r in jac]
        ax.bar(np.arange(len(jac)) + i * width, vals, width, label=name)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(jac)) + 2.5 * width, labels)
    ax.set_ylabel("seconds per Jacobian (log)")
    ax.set_title("Brusselator 2-D sparse Jacobian")
    ax.legend(fontsize=7)
    fig.tight_layout()
    from ._common import RESULTS

    fig.savefig(RESULTS / "sparse.png", dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)
    repeat = 3 if args.quick else 9
    info = machine_info()
    jac = jacobian_rows([16] if args.quick else [32, 64, 128], repeat)
    hess = hessian_rows([1000] if args.quick else [1000, 10000], repeat)
    write_results("sparse", {"machine": info, "jacobian": jac, "hessian": hess}, markdown(jac, hess, info))
    plot(jac, hess)


if __name__ == "__main__":
    main()
