"""Sparse Jacobians of PyTorch code: ``AutoSparse(AutoTorch())`` with the ATen-graph detector.

Run: ``python -m benchmarks.sparse_torch`` (writes ``benchmarks/results/sparse_torch.{json,md}``).

Brusselator 2-D written with ``torch`` (N = 32, 64), side by side in one run:

* detection time of ``TorchSparsityDetector`` vs ``JaxSparsityDetector`` on the ``jax.numpy`` twin;
* prepared sparse Jacobian vs dense ``torch.func.jacfwd`` (target ≥ 50× faster; chunks of 1024
  basis tangents above n = 1024 to bound memory);
* prepared sparse Jacobian vs the *compressed limit*: one ``vmap`` of ``ncolors`` torch products
  of the mode AutoSparse chose (VJPs for rows, JVPs for columns), the product any compressed
  method of that mode must compute (target ≤ 1.5×); and vs the JVP limit of earlier runs.

Pairs are timed interleaved (``time_pair``): the ratios are medians of per-round ratios.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import anydiff as ad
from anydiff.testing import brusselator_2d, brusselator_pattern, brusselator_point

from ._common import fmt_time, machine_info, time_pair, write_results


def _best(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def dense_jacfwd(f, x, chunk=1024):
    """``torch.func.jacfwd(f)(x)`` computed over chunks of the basis (the same forward-mode work,
    with memory bounded: at N = 64 one unchunked vmap over 8192 tangents needs > 10 GB)."""
    import torch

    n = x.numel()
    if n <= chunk:
        return torch.func.jacfwd(f)(x)
    push = torch.func.vmap(lambda t: torch.func.jvp(f, (x,), (t,))[1])
    eye = torch.eye(n, dtype=x.dtype)
    return torch.cat([push(eye[i:i + chunk]) for i in range(0, n, chunk)]).T


def _seeds(S, partition):
    """One 0/1 seed per color of AutoSparse's default coloring of ``S`` (columns: JVP seeds, rows: VJP seeds)."""
    import torch

    colors = ad.coloring.color(S, partition=partition, algorithm=ad.GreedyColoring(order="largest_first")).colors
    k = int(np.max(colors)) + 1
    return torch.from_numpy((np.arange(k)[:, None] == colors[None, :]).astype(np.float64))


def _compiled_limit(f, partition, jvp_seeds, vjp_seeds):
    """The compressed limit compiled as ``AutoTorch(compile=True)`` compiles its products: ``x`` an
    argument, ``y = f(x)`` computed too (compiling a bare vmap over a function that captures
    tensors trips a dynamo guard bug in torch 2.13)."""
    import torch

    def jvps(x, T):
        y = f(x)
        return y, torch.func.vmap(lambda t: torch.func.jvp(f, (x,), (t,))[1])(T)

    def vjps(x, DY):
        y, pull = torch.func.vjp(f, x)
        return y, torch.func.vmap(pull)(DY)

    if partition == "row":
        return torch.compile(vjps), vjp_seeds
    return torch.compile(jvps), jvp_seeds


def dense_jacrev(f, x, chunk=1024):
    """The dense Jacobian by reverse mode (``vmap`` of VJPs over chunks of the output basis), for
    context: the target is against ``jacfwd``; this says whether dense reverse mode would be faster."""
    import torch

    y, pull = torch.func.vjp(f, x)
    eye = torch.eye(y.numel(), dtype=y.dtype)
    batched = torch.func.vmap(pull)
    return torch.cat([batched(eye[i:i + chunk])[0] for i in range(0, y.numel(), chunk)])


def row_for(N, rounds):
    import jax.numpy as jnp
    import torch

    f = brusselator_2d(torch, N)
    x = torch.from_numpy(brusselator_point(N))
    row = {"N": N, "n": x.numel()}
    row["detect_torch_s"] = _best(lambda: ad.TorchSparsityDetector().jacobian_sparsity(f, x))
    fj = brusselator_2d(jnp, N)
    row["detect_jaxpr_s"] = _best(lambda: ad.JaxSparsityDetector().jacobian_sparsity(fj, jnp.asarray(x.numpy())))
    S = ad.TorchSparsityDetector().jacobian_sparsity(f, x)
    row["pattern_exact"] = bool((S != brusselator_pattern(N)).nnz == 0)
    b = ad.AutoSparse(ad.AutoTorch())
    t = time.perf_counter()
    prep = ad.prepare_jacobian(f, b, x)
    row["prepare_s"] = time.perf_counter() - t
    J = ad.jacobian(f, b, x, prep=prep)
    dense = dense_jacfwd(f, x)
    row["max_abs_error"] = float(np.abs(J.toarray() - dense.numpy()).max())
    plan = prep.sparse
    row["partition"] = plan.partition
    row["ncolors"] = plan.ncolors
    jvp_seeds = _seeds(S, "column")
    vjp_seeds = _seeds(S, "row")
    row["ncolors_column"], row["ncolors_row"] = len(jvp_seeds), len(vjp_seeds)
    jvp_limit = torch.func.vmap(lambda t: torch.func.jvp(f, (x,), (t,))[1])

    def vjp_limit(DY):
        _, pull = torch.func.vjp(f, x)
        return torch.func.vmap(pull)(DY)

    limit = (lambda: vjp_limit(vjp_seeds)) if plan.partition == "row" else (lambda: jvp_limit(jvp_seeds))
    row["sparse_s"], row["dense_jacfwd_s"], r = time_pair(
        lambda: ad.jacobian(f, b, x, prep=prep), lambda: dense_jacfwd(f, x), rounds=max(3, rounds // 3))
    row["speedup_vs_dense_median"] = r
    row["dense_jacrev_s"] = _best(lambda: dense_jacrev(f, x))
    row["sparse_s2"], row["limit_s"], r = time_pair(lambda: ad.jacobian(f, b, x, prep=prep), limit, rounds=rounds)
    row["ratio_vs_limit_median"] = 1.0 / r
    row["sparse_s3"], row["limit_jvp_s"], r = time_pair(
        lambda: ad.jacobian(f, b, x, prep=prep), lambda: jvp_limit(jvp_seeds), rounds=rounds)
    row["ratio_vs_jvp_limit_median"] = 1.0 / r
    bt = ad.AutoSparse(ad.AutoTorch(), sparse_output="torch")
    prep_t = ad.prepare_jacobian(f, bt, x)
    row["sparse_torchcsr_s"], _, r = time_pair(lambda: ad.jacobian(f, bt, x, prep=prep_t), limit, rounds=rounds)
    row["torchcsr_ratio_vs_limit_median"] = 1.0 / r
    # the same under torch.compile (AutoTorch(compile=True)): vs the compiled compressed limit and dense jacfwd
    bc = ad.AutoSparse(ad.AutoTorch(compile=True))
    t = time.perf_counter()
    prep_c = ad.prepare_jacobian(f, bc, x)
    row["prepare_compiled_s"] = time.perf_counter() - t
    Jc = ad.jacobian(f, bc, x, prep=prep_c)
    row["max_abs_error_compiled"] = float(np.abs(Jc.toarray() - dense.numpy()).max())
    limit_c, seeds_c = _compiled_limit(f, prep_c.sparse.partition, jvp_seeds, vjp_seeds)
    limit_c(x, seeds_c)
    row["sparse_compiled_s"], row["limit_compiled_s"], r = time_pair(
        lambda: ad.jacobian(f, bc, x, prep=prep_c), lambda: limit_c(x, seeds_c), rounds=rounds)
    row["compiled_ratio_vs_limit_median"] = 1.0 / r
    row["sparse_compiled_s2"], row["dense_jacfwd_s2"], r = time_pair(
        lambda: ad.jacobian(f, bc, x, prep=prep_c), lambda: dense_jacfwd(f, x), rounds=max(3, rounds // 3))
    row["compiled_speedup_vs_dense_median"] = r
    row.update(_linearize_row(f, x, jvp_seeds, rounds))
    return row


def _linearize_row(f, x, seeds, rounds):
    """Linearize once: the ncolors JVPs of a same-point preparation (``torch.func.linearize`` at
    preparation) vs a general preparation (``vmap(jvp)``, the primal recomputed each call), and
    what linearizing at every call would cost (why AutoSparse, whose x changes, does not)."""
    import torch

    b = ad.AutoTorch(mode="forward")
    xn = x.numpy()
    T = tuple(seeds.numpy())
    general = ad.prepare_pushforward(f, b, xn)
    same = ad.prepare_pushforward_same_point(f, b, xn)
    err = max(float(np.abs(a - c).max()) for a, c in zip(
        ad.pushforward(f, b, xn, T, prep=same), ad.pushforward(f, b, xn, T, prep=general)))
    t_same, t_general, r = time_pair(lambda: ad.pushforward(f, b, xn, T, prep=same),
                                     lambda: ad.pushforward(f, b, xn, T, prep=general), rounds=rounds)

    def linearize_each_call():
        _, jvp_fun = torch.func.linearize(f, x)
        return torch.func.vmap(jvp_fun)(seeds)

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_each = _best(linearize_each_call)
    return {"same_point_s": t_same, "general_pushforward_s": t_general, "same_point_speedup_median": r,
            "linearize_each_call_s": t_each, "same_point_max_abs_diff": err}


def _rosenbrock(x):
    import torch

    return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def hessian_row(n, rounds):
    """Chained Rosenbrock sparse Hessian with ``AutoSparse(AutoTorch())`` (HVPs by reverse over
    reverse) vs the same with forward-over-reverse HVPs, vs the compressed limit (one ``vmap`` of
    ``ncolors`` reverse-over-reverse HVPs), and vs dense ``torch.func.hessian`` (n ≤ 1e3)."""
    import torch

    x = np.random.default_rng(0).uniform(0.5, 1.5, n)
    xt = torch.from_numpy(x)
    row = {"n": n}
    b = ad.AutoSparse(ad.AutoTorch())
    bf = ad.AutoSparse(ad.SecondOrder(ad.AutoTorch(mode="forward"), ad.AutoTorch()))
    prep, prep_f = ad.prepare_hessian(_rosenbrock, b, x), ad.prepare_hessian(_rosenbrock, bf, x)
    H = ad.hessian(_rosenbrock, b, x, prep=prep)
    row["ncolors"] = prep.sparse.ncolors
    row["max_abs_diff_modes"] = float(abs(H - ad.hessian(_rosenbrock, bf, x, prep=prep_f)).max())
    k = prep.sparse.ncolors
    V = torch.from_numpy((np.arange(k)[:, None] == (np.asarray(prep.sparse.coloring.colors))[None, :]).astype(np.float64))
    grad = torch.func.grad(_rosenbrock)

    def limit():
        _, pull = torch.func.vjp(grad, xt)
        return torch.func.vmap(pull)(V)

    row["sparse_s"], row["sparse_fwd_s"], row["speedup_vs_fwd_median"] = time_pair(
        lambda: ad.hessian(_rosenbrock, b, x, prep=prep), lambda: ad.hessian(_rosenbrock, bf, x, prep=prep_f), rounds=rounds)
    row["sparse_s2"], row["limit_s"], r = time_pair(lambda: ad.hessian(_rosenbrock, b, x, prep=prep), limit, rounds=rounds)
    row["ratio_vs_limit_median"] = 1.0 / r
    row["f_s"] = _best(lambda: _rosenbrock(xt), repeat=20)
    if n <= 1000:
        dense = torch.func.hessian(_rosenbrock)
        row["dense_s"] = _best(lambda: dense(xt))
        row["max_abs_error_dense"] = float(np.abs(H.toarray() - dense(xt).numpy()).max())
    return row


def markdown(rows, info):
    lines = [
        "# Sparse Jacobians of torch code (`AutoSparse(AutoTorch())`)", "",
        (f"Machine: {info['machine']}, {info['cpus']} CPUs, torch {info['versions'].get('torch')}, "
         f"commit {info['commit']}, {info['timestamp']}. Medians of interleaved rounds; the machine was shared "
         "with other jobs while this ran, so absolute times are noisy: read the ratios. torch runs with "
         f"{info.get('torch_threads', '?')} intra-op thread(s)."), "",
        ("| N (n) | colors (partition) | pattern exact | detect: torch graph / jaxpr (JAX twin) | prepare | sparse (scipy) | "
         "dense `jacfwd` | speed-up vs dense (target ≥ 50×) | compressed limit, same mode | sparse ÷ limit (target ≤ 1.5) "
         "| torch CSR ÷ limit | JVP limit | sparse ÷ JVP limit | dense `jacrev` (context) | max error |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['N']} ({r['n']}) | {r['ncolors']} ({r['partition']}) | {r['pattern_exact']} | "
            f"{fmt_time(r['detect_torch_s'])} / {fmt_time(r['detect_jaxpr_s'])} | {fmt_time(r['prepare_s'])} | "
            f"{fmt_time(r['sparse_s'])} | {fmt_time(r['dense_jacfwd_s'])} | {r['speedup_vs_dense_median']:.0f}× | "
            f"{fmt_time(r['limit_s'])} | {r['ratio_vs_limit_median']:.2f} | {r['torchcsr_ratio_vs_limit_median']:.2f} | "
            f"{fmt_time(r['limit_jvp_s'])} | {r['ratio_vs_jvp_limit_median']:.2f} | {fmt_time(r['dense_jacrev_s'])} | "
            f"{r['max_abs_error']:.1e} |")
    lines += ["", ("Compressed limit: one `vmap` of `ncolors` torch products of the mode `AutoSparse` chose (VJPs for "
                   "a row partition, JVPs for a column partition). With equal column and row colors `AutoSparse(AutoTorch())` "
                   "takes rows: torch's forward mode is slow on code with constants. The JVP limit (`ncolors` batched "
                   "JVPs) is kept for comparison with earlier runs.")]
    lines += ["", "Under `torch.compile` (`AutoSparse(AutoTorch(compile=True))`), against the compiled compressed limit "
              "and the same (uncompiled) dense `jacfwd`:", "",
              "| N (n) | prepare (incl. compilation) | sparse, compiled | compressed limit, compiled | sparse ÷ limit | "
              "speed-up vs dense `jacfwd` | max error |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['N']} ({r['n']}) | {fmt_time(r['prepare_compiled_s'])} | {fmt_time(r['sparse_compiled_s'])} | "
            f"{fmt_time(r['limit_compiled_s'])} | {r['compiled_ratio_vs_limit_median']:.2f} | "
            f"{r['compiled_speedup_vs_dense_median']:.0f}× | {r['max_abs_error_compiled']:.1e} |")
    lines += ["", "Linearize once (`prepare_pushforward_same_point`, `AutoTorch(mode=\"forward\")`, the colors' seeds as "
              "tangents) vs a general `prepare_pushforward` (`vmap(jvp)`, which recomputes the primal each call), and "
              "linearizing at every call (what a preparation whose x changes, like AutoSparse's, would pay):", "",
              "| N (n) | tangents | same point (linearized once) | general (`vmap(jvp)`) | speed-up (median) | "
              "linearize + JVPs each call | max difference |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['N']} ({r['n']}) | {r['ncolors_column']} | {fmt_time(r['same_point_s'])} | "
            f"{fmt_time(r['general_pushforward_s'])} | {r['same_point_speedup_median']:.1f}× | "
            f"{fmt_time(r['linearize_each_call_s'])} | {r['same_point_max_abs_diff']:.1e} |")
    return "\n".join(lines) + "\n"


def hessian_markdown(rows):
    lines = ["", "## Sparse Hessian of torch code (chained Rosenbrock)", "",
             ("`AutoSparse(AutoTorch())` (HVPs by reverse over reverse, the torch default) vs the same with "
              "forward-over-reverse HVPs (`SecondOrder(AutoTorch(mode=\"forward\"), AutoTorch())`), vs the compressed "
              "limit (one `vmap` of `ncolors` reverse-over-reverse HVPs) and dense `torch.func.hessian`:"), "",
             "| n | colors | sparse (rev/rev) | sparse (fwd/rev) | rev/rev speed-up (median) | compressed limit | "
             "sparse ÷ limit | dense `torch.func.hessian` | f | sparse ÷ f | max diff (modes) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        dense = fmt_time(r["dense_s"]) if "dense_s" in r else "—"
        lines.append(
            f"| {r['n']} | {r['ncolors']} | {fmt_time(r['sparse_s'])} | {fmt_time(r['sparse_fwd_s'])} | "
            f"{r['speedup_vs_fwd_median']:.1f}× | {fmt_time(r['limit_s'])} | {r['ratio_vs_limit_median']:.2f} | {dense} | "
            f"{fmt_time(r['f_s'])} | {r['sparse_s'] / r['f_s']:.0f}× | {r['max_abs_diff_modes']:.1e} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    import jax

    jax.config.update("jax_enable_x64", True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[32, 64])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--hessian-sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: on a shared 2-core machine more threads only add noise)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    info = machine_info()
    info["torch_threads"] = args.threads
    rows = [row_for(N, args.rounds) for N in args.sizes]
    hrows = [hessian_row(n, args.rounds) for n in args.hessian_sizes]
    write_results("sparse_torch", {"info": info, "rows": rows, "hessian_rows": hrows},
                  markdown(rows, info) + hessian_markdown(hrows))


if __name__ == "__main__":
    main()
