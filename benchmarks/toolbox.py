"""The benchmark harness on the sparse scenarios, run three times to show the spread.

Run: ``python -m benchmarks.toolbox`` (writes ``benchmarks/results/toolbox.{json,md,png}``).

Every backend × sparse scenario × operator goes through
``anydiff.testing.benchmark_differentiation``; the three runs are interleaved per run (all
combinations once, then again), and the table quotes the best ``time_min`` and the spread
(largest ÷ smallest ``time_min`` over the runs). Also times ``test_differentiation`` on the
default scenarios per backend (the cost of ``anydiff test``).
"""

from __future__ import annotations

import argparse
import time

import anydiff as ad
from anydiff.testing import backend_label, benchmark_differentiation, sparse_scenarios, test_differentiation

from ._common import RESULTS, fmt_time, machine_info, write_results


def backends():
    import jax

    jax.config.update("jax_enable_x64", True)
    return [ad.AutoJax(), ad.AutoTorch(), ad.AutoNumPy(), ad.AutoFiniteDiff(),
            ad.AutoSparse(ad.AutoJax()), ad.AutoSparse(ad.AutoNumPy())]


def merge(runs):
    """Best time and spread per combination over the runs."""
    out = {}
    for records in runs:
        for r in records:
            if r["error"]:
                continue
            key = (r["backend"], r["scenario"], r["operator"], r["prepared"])
            out.setdefault(key, []).append(r)
    merged = []
    for rows in out.values():
        times = [r["time_min"] for r in rows]
        best = dict(min(rows, key=lambda r: r["time_min"]))
        best["spread"] = max(times) / min(times)
        merged.append(best)
    return merged


def harness_cost(bs):
    rows = []
    for b in bs:
        t0 = time.perf_counter()
        results = test_differentiation([b], raise_on_failure=False)
        rows.append({"backend": backend_label(b), "seconds": time.perf_counter() - t0,
                     **{s: sum(r.status == s for r in results) for s in ("pass", "fail", "skip")}})
    return rows


def markdown(merged, cost, info, runs):
    lines = [f"# Benchmark harness on the sparse scenarios ({runs} runs)", "",
             f"Commit {info['commit']}, {info['cpus']} CPUs, shared and loaded machine (other jobs ran at the "
             "same time): compare ratios within a run, not absolute times. `÷ f`: prepared time ÷ one NumPy "
             "evaluation of f; `compressed`: time ÷ (colors × one f); spread: largest ÷ smallest time over runs.",
             "", "| backend | scenario | operator | prepared | f calls | time | ÷ f | colors | compressed | spread |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(merged, key=lambda r: (r["scenario"], r["operator"], r["backend"], r["prepared"])):
        comp = "" if r["compressed_ratio"] is None else f"{r['compressed_ratio']:.2f}"
        lines.append(f"| {r['backend']} | {r['scenario']} | {r['operator']} | {'yes' if r['prepared'] else 'no'} | "
                     f"{r['f_calls']} | {fmt_time(r['time_min'])} | {r['time_ratio']:.3g} | {r['colors'] or ''} | "
                     f"{comp} | {r['spread']:.2f} |")
    lines += ["", "## Cost of `test_differentiation` on the default scenarios", "",
              "| backend | seconds | pass | fail | skip |", "|---|---|---|---|---|"]
    lines += [f"| {c['backend']} | {c['seconds']:.1f} | {c['pass']} | {c['fail']} | {c['skip']} |" for c in cost]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=0.2)
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--grid", type=int, default=8)
    args = parser.parse_args(argv)
    bs, scenarios = backends(), sparse_scenarios(n=args.n, grid=args.grid)
    runs = [benchmark_differentiation(bs, scenarios, seconds=args.seconds) for _ in range(args.runs)]
    runs[0].plot(RESULTS / "toolbox.png", title=f"benchmark_differentiation: sparse scenarios (n={args.n}, "
                 f"Brusselator N={args.grid})")
    merged, cost, info = merge(runs), harness_cost(bs[:4]), machine_info()
    errors = sorted({(r["backend"], r["scenario"], r["operator"], r["error"]) for r in runs[0] if r["error"]})
    write_results("toolbox", {"machine": info, "args": vars(args), "records": merged, "errors": errors,
                              "test_differentiation": cost}, markdown(merged, cost, info, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
