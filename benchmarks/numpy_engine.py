"""AutoNumPy (anydiff's forward and reverse modes) vs SciPy finite differences, autograd and JAX.

Run: ``.venv/bin/python -m benchmarks.numpy_engine`` (``--quick`` skips n = 1e6, ``--render``
rewrites the markdown and plot from the saved JSON without measuring). Writes
``benchmarks/results/numpy_engine.{json,md,png}`` and prints the ratios.

* Dense Jacobian of a coupled nonlinear NumPy function (n = 100, 1000): prepared
  ``ad.jacobian`` with ``AutoNumPy()`` (one evaluation carrying n tangents) vs
  ``scipy.optimize._numdiff.approx_derivative`` (2-point) vs ``autograd.jacobian``.
* Sparse Jacobian of the 2-D Brusselator (N = 32, n = 2048, np.roll stencil): prepared
  ``ad.jacobian`` with ``AutoSparse(AutoNumPy())`` (the colored seeds pushed as one batch)
  vs ``approx_derivative(..., sparsity=(pattern, groups))`` with the same column groups.
* Gradients (reverse mode) and sparse Hessians: see ``benchmarks/_numpy_gradients.py``.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import scipy.sparse as sp
from scipy.optimize._numdiff import approx_derivative, group_columns

import anydiff as ad
from anydiff import AutoNumPy
from anydiff.testing import brusselator_2d, brusselator_point

from . import _numpy_gradients as grads
from ._common import RESULTS, fmt_time, machine_info, time_min, write_results


def coupled(xp, x):
    """Dense Jacobian: cumulative sums, a global sum and a shifted copy couple every entry."""
    n = x.shape[0]
    s = xp.cumsum(xp.sin(x)) / n
    return xp.tanh(x) * s + xp.roll(x, 1) ** 2 - xp.exp(-x) * xp.sum(x * x) / n


def dense_rows(n):
    x = np.random.default_rng(0).uniform(0.5, 1.5, n)
    f = lambda v: coupled(np, v)  # noqa: E731
    f_ag = autograd.jacobian(lambda v: coupled(anp, v))
    prep = ad.prepare_jacobian(f, AutoNumPy(), x)
    J_ag = f_ag(x)
    J = ad.jacobian(f, AutoNumPy(), x, prep=prep)
    J_fd = approx_derivative(f, x, method="2-point")
    slow = n >= 1000
    t_np = time_min(lambda: ad.jacobian(f, AutoNumPy(), x, prep=prep), repeat=5)
    t_fd = time_min(lambda: approx_derivative(f, x, method="2-point"), repeat=5)
    t_ag = time_min(lambda: f_ag(x), repeat=3 if slow else 5, target=0.0 if slow else 0.02)
    return {
        "problem": "dense coupled", "n": n,
        "anydiff_numpy": t_np, "scipy_fd": t_fd, "autograd": t_ag,
        "err_anydiff_vs_autograd": float(np.max(np.abs(J - J_ag))),
        "err_scipy_vs_autograd": float(np.max(np.abs(J_fd - J_ag))),
    }


def brusselator_row(N=32):
    x = brusselator_point(N)
    n = x.size
    f = brusselator_2d(np, N)
    backend = ad.AutoSparse(AutoNumPy())
    prep = ad.prepare_jacobian(f, backend, x)
    J = ad.jacobian(f, backend, x, prep=prep)
    pattern = sp.csr_array(J != 0).astype(np.int8)
    groups = np.asarray(prep.coloring.colors)  # the same groups for both
    J_fd = approx_derivative(f, x, method="2-point", sparsity=(pattern, groups))
    J_ref = autograd.jacobian(brusselator_2d(anp, N))(x)  # exact reference (dense)
    t_np = time_min(lambda: ad.jacobian(f, backend, x, prep=prep), repeat=7)
    t_fd = time_min(lambda: approx_derivative(f, x, method="2-point", sparsity=(pattern, groups)), repeat=7)
    return {
        "problem": f"Brusselator N={N} (sparse)", "n": n, "nnz": int(J.nnz), "colors": int(groups.max() + 1),
        "scipy_own_colors": int(group_columns(pattern).max() + 1),
        "anydiff_numpy": t_np, "scipy_fd": t_fd, "autograd": None,
        "err_anydiff_vs_autograd": float(np.max(np.abs(J.toarray() - J_ref))),
        "err_scipy_vs_autograd": float(np.max(np.abs(J_fd.toarray() - J_ref))),
    }


def main():
    import json
    import os
    import sys

    if "--render" in sys.argv:  # the markdown and plot again from the saved JSON (no measurement)
        payload = json.loads((RESULTS / "numpy_engine.json").read_text())
    else:
        if "--quick" in sys.argv:
            grads.SIZES = grads.SIZES[:2]
        load_before = os.getloadavg()
        grad_rows = grads.gradient_rows()
        hess_rows = [grads.hessian_row(10_000), grads.hessian_row(100_000), grads.dense_hessian_row(2000)]
        rows = [dense_rows(100), dense_rows(1000), brusselator_row(32)]
        payload = {"machine": machine_info(), "rows": rows, "gradients": grad_rows, "sparse_hessians": hess_rows,
                   "load_average": {"before": load_before, "after": os.getloadavg()}}
    grads.plot(payload["gradients"], RESULTS / "numpy_engine.png")
    text = render(payload["rows"], payload["gradients"], payload["sparse_hessians"])
    if "load_average" in payload:
        before, after = payload["load_average"]["before"], payload["load_average"]["after"]
        text += (f"\nLoad average (1, 5, 15 min) when the run started: {', '.join(f'{v:.2f}' for v in before)}; "
                 f"when it ended: {', '.join(f'{v:.2f}' for v in after)}.\n")
    write_results("numpy_engine", payload, text)


def render(rows, grad_rows, hess_rows):
    """The markdown report of measured rows."""
    lines = [
        "# AutoNumPy engine: Jacobians of plain NumPy code",
        "",
        "Prepared `ad.jacobian` with `AutoNumPy()` (dense) or `AutoSparse(AutoNumPy())` (Brusselator) vs "
        "SciPy `approx_derivative` (2-point; with SciPy's column groups for the sparse case) and "
        "`autograd.jacobian`. Minimum time per call; errors are max |J - J_autograd|.",
        "",
        "| problem | n | AutoNumPy | SciPy FD | autograd | SciPy / AutoNumPy | autograd / AutoNumPy | error AutoNumPy | error SciPy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        r["scipy_over_anydiff"] = r["scipy_fd"] / r["anydiff_numpy"]
        r["autograd_over_anydiff"] = None if r["autograd"] is None else r["autograd"] / r["anydiff_numpy"]
        ag = "—" if r["autograd"] is None else f"{r['autograd_over_anydiff']:.1f}×"
        lines.append(
            f"| {r['problem']} | {r['n']} | {fmt_time(r['anydiff_numpy'])} | {fmt_time(r['scipy_fd'])} | "
            f"{fmt_time(r['autograd']) if r['autograd'] else '—'} | {r['scipy_over_anydiff']:.1f}× | {ag} | "
            f"{r['err_anydiff_vs_autograd']:.1e} | {r['err_scipy_vs_autograd']:.1e} |"
        )
    sparse = rows[-1]
    lines += [
        "",
        f"Brusselator (`anydiff.testing.brusselator_2d`): {sparse['colors']} colors (anydiff's coloring, "
        f"passed to SciPy as its groups too; SciPy's own `group_columns` gives {sparse['scipy_own_colors']}) "
        f"for {sparse['n']} columns ({sparse['nnz']} nonzeros). "
        f"Targets: ≥ 3× faster than SciPy's colored finite differences (got {sparse['scipy_over_anydiff']:.1f}×), "
        "within 2× of autograd or faster on dense Jacobians (got "
        + ", ".join(f"{r['autograd_over_anydiff']:.1f}× at n={r['n']}" for r in rows if r["autograd"])
        + ").",
        "",
    ]
    lines += grads.markdown(grad_rows, hess_rows, fmt_time)
    lines += ["![gradient times relative to AutoNumPy](numpy_engine.png)", "",
              "The machine was shared with other jobs while this ran (2 cores): times are noisy, ratios of "
              "interleaved rounds are the numbers to read.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
