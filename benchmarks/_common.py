"""Shared helpers of the benchmark scripts: timing side by side, machine info, writing results."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import timeit
from importlib import metadata
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info(packages=("numpy", "scipy", "jax", "torch", "autograd", "numba", "asdex", "networkx")) -> dict:
    versions = {}
    for p in packages:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        commit = ""
    return {
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "versions": versions,
    }


def autorange(fn, target=0.02) -> int:
    """Number of calls taking about ``target`` seconds."""
    fn()
    number = 1
    while True:
        t = timeit.timeit(fn, number=number)
        if t >= target or number >= 1 << 20:
            return max(1, int(number * target / max(t, 1e-9)))
        number *= 4


def time_min(fn, repeat=7, target=0.02) -> float:
    """Minimum seconds per call over ``repeat`` rounds after warm-up."""
    number = autorange(fn, target)
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def time_pair(fn_a, fn_b, rounds=15, target=0.01):
    """Time two functions interleaved round by round (the machine drifts; ratios stay honest).

    Returns ``(min_a, min_b, median of per-round ratios b/a)`` in seconds per call.
    """
    na, nb = autorange(fn_a, target), autorange(fn_b, target)
    ta, tb, ratios = [], [], []
    for _ in range(rounds):
        a = timeit.timeit(fn_a, number=na) / na
        b = timeit.timeit(fn_b, number=nb) / nb
        ta.append(a)
        tb.append(b)
        ratios.append(b / a)
    return min(ta), min(tb), float(np.median(ratios))


def write_results(name: str, payload: dict, markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)


def fmt_time(t: float) -> str:
    if t is None or not np.isfinite(t):
        return "—"
    if t < 1e-3:
        return f"{t * 1e6:.1f} µs"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def time_groups(groups, targets, rounds, repeats, width=40):
    """Rows for ``groups`` of ``(kind, n, cases)`` with ``cases`` of ``(name, base, ours)``: each pair
    timed side by side (:func:`time_pair`) ``repeats`` times; the target of ``kind`` (or None)
    applies to the median over repeats of the per-repeat median ratio."""
    rows = []
    for kind, n, cases in groups:
        for name, base, ours in cases:
            medians, mins = [], []
            for _ in range(repeats):
                t_base, t_ours, med = time_pair(base, ours, rounds=rounds)
                medians.append(med)
                mins.append(t_ours / t_base)
            row = {"kind": kind, "case": name, "n": n, "base_s": t_base, "ours_s": t_ours,
                   "ratio_median": float(np.median(medians)), "ratio_spread": [float(min(medians)), float(max(medians))],
                   "ratio_min_per_repeat": mins, "target": targets[kind]}
            row["meets_target"] = None if row["target"] is None else bool(row["ratio_median"] <= row["target"])
            rows.append(row)
            print(f"{name:{width}s} n={n:<7d} base {fmt_time(t_base):>10s} ours {fmt_time(t_ours):>10s} "
                  f"median ratio x{row['ratio_median']:.3f} (spread {min(medians):.3f}-{max(medians):.3f})")
    return rows


def ratio_table(rows, label=lambda r: r["case"]) -> list[str]:
    """Markdown table lines (header included) for rows from :func:`time_groups`."""
    lines = ["| case | n | base | ours | ratio (median) | spread | target |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        target = "—" if r["target"] is None else f"≤ {r['target']:.2f} {'✓' if r['meets_target'] else '✗'}"
        lo, hi = r["ratio_spread"]
        lines.append(f"| {label(r)} | {r['n']} | {fmt_time(r['base_s'])} | {fmt_time(r['ours_s'])} | "
                     f"{r['ratio_median']:.3f} | {lo:.3f}–{hi:.3f} | {target} |")
    return lines
