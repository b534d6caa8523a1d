"""Sparsity detection time: anydiff's NumPy tracer and jaxpr detector vs asdex, side by side.

Run: ``python -m benchmarks.detection`` (writes ``benchmarks/results/detection.{json,md}``).
Problems: Brusselator 2-D (N = 16, 32, 64; n = 2N²) and banded ``D(x²)`` (n = 1e4, 1e5).
Targets (issue 4): patterns identical to the true ones; detection time ≤ asdex's (ratio ≤ 1).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import anydiff as ad
from anydiff.testing import banded_diff, banded_pattern, brusselator_2d, brusselator_pattern, brusselator_point

from ._common import fmt_time, machine_info, write_results


def best(fn, repeat):
    out, t_best = None, np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, out


def problems(quick):
    for N in ([16] if quick else [16, 32, 64]):
        yield f"Brusselator N={N}", brusselator_2d, (N,), brusselator_point(N), brusselator_pattern(N)
    for n in ([10_000] if quick else [10_000, 100_000]):
        yield f"banded D(x²) n={n}", banded_diff, (1,), np.linspace(0.5, 1.5, n), banded_pattern(n, 1)


def run(quick, repeat):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    rows = []
    for label, make, params, x, truth in problems(quick):
        f_np, f_jax = make(np, *params), make(jnp, *params)
        row = {"problem": label, "n": x.size, "nnz": int(truth.nnz)}
        row["f_numpy_s"], _ = best(lambda: f_np(x), repeat)
        row["tracer_s"], S1 = best(lambda: ad.jacobian_sparsity(f_np, x, detector=ad.TracerSparsityDetector()), repeat)
        row["jaxpr_s"], S2 = best(lambda: ad.jacobian_sparsity(f_jax, x, detector=ad.JaxSparsityDetector()), repeat)
        row["tracer_exact"] = bool((S1 != truth).nnz == 0)
        row["jaxpr_exact"] = bool((S2 != truth).nnz == 0)
        try:
            import asdex

            xj = jnp.asarray(x)
            row["asdex_s"], Sa = best(lambda: asdex.jacobian_sparsity(f_jax, xj), repeat)
            row["tracer_ratio"] = row["tracer_s"] / row["asdex_s"]
            row["jaxpr_ratio"] = row["jaxpr_s"] / row["asdex_s"]
        except ImportError:
            row["asdex_s"] = None
        rows.append(row)
        print({k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()})
    return rows


def markdown(rows, info):
    L = ["# Sparsity detection", "",
         f"Machine: {info['machine']}, {info['cpus']} CPUs, Python {info['python']}, commit {info['commit']}, {info['timestamp']}. "
         "Min over repeats (first call included in the repeats: detection is a one-time cost).", "",
         "| problem | n | f (NumPy) | NumPy tracer | jaxpr detector | asdex | tracer / asdex (≤ 1) | jaxpr / asdex | patterns exact |",
         "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = lambda k: "—" if r.get(k) is None else f"{r[k]:.2f}"  # noqa: E731
        L.append(f"| {r['problem']} | {r['n']} | {fmt_time(r['f_numpy_s'])} | {fmt_time(r['tracer_s'])} | {fmt_time(r['jaxpr_s'])} "
                 f"| {fmt_time(r.get('asdex_s'))} | {ratio('tracer_ratio')} | {ratio('jaxpr_ratio')} | "
                 f"{r['tracer_exact'] and r['jaxpr_exact']} |")
    L.append("")
    return "\n".join(L)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    info = machine_info()
    rows = run(args.quick, 2 if args.quick else 5)
    write_results("detection", {"machine": info, "rows": rows}, markdown(rows, info))


if __name__ == "__main__":
    main()
