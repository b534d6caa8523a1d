"""Sparse part of ``anydiff demo``: Brusselator 2-D, detection, coloring, sparse vs dense timings."""

from __future__ import annotations

import importlib.util
import time

import numpy as np

from . import operators as ops
from .backends import AutoFiniteDiff, AutoJax, AutoNumPy
from .sparse import (
    AutoSparse, JaxSparsityDetector, KnownSparsityDetector, TracerSparsityDetector, jacobian_sparsity,
)
from ._demo import best_time
from .testing import brusselator_2d, brusselator_pattern, brusselator_point

__all__ = ["run_sparse_demo"]


def run_sparse_demo(console, args) -> bool:
    """Print the sparse table; return True when every sparse Jacobian matches the dense one."""
    from rich.table import Table

    from .cli import _fmt

    N = args.grid
    x = brusselator_point(N)
    n = x.size
    console.print(f"\n[bold]Sparse Jacobians[/bold]: 2-D Brusselator, N = {N} (n = {n}).")
    rows, ok, preps = [], True, []
    if importlib.util.find_spec("jax") is not None:
        import jax.numpy as jnp

        f = brusselator_2d(jnp, N)
        _, exact = _detect(console, f, x, N, JaxSparsityDetector(), "from the jaxpr")
        ok &= exact
        row, prep, _ = _sparse_vs_dense(f, AutoJax(), AutoSparse(AutoJax()), x, dense_budget=0.3)
        ok &= row[-1] < 1e-10
        rows.append(("jax",) + row)
        preps.append((row, prep))
    f_np = brusselator_2d(np, N)
    S_np, exact = _detect(console, f_np, x, N, TracerSparsityDetector(), "of the plain NumPy version by tracing")
    ok &= exact
    known = KnownSparsityDetector(S_np)  # detection is timed above; reuse its result below
    for name, dense_b, rtol in [("numpy (AutoNumPy, exact)", AutoNumPy(), 1e-10),
                                ("finite differences (forward)", AutoFiniteDiff(method="forward"), 1e-3)]:
        row, prep, scale = _sparse_vs_dense(f_np, dense_b, AutoSparse(dense_b, sparsity_detector=known), x,
                                            dense_budget=0.5)
        preps.append((row, prep))
        ok &= row[-1] < rtol * max(1.0, scale)
        rows.append((name,) + row)
    table = Table(title="Sparse vs dense Jacobian (prepared calls)")
    for col in ("backend", "colors", "dense", "sparse", "speed-up", "max |sparse - dense|"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    for name, colors, td, ts, e in rows:
        table.add_row(name, str(colors), _fmt(td), _fmt(ts), f"{td / ts:.0f}×", f"{e:.1e}")
    console.print(table)
    if args.png:
        from pathlib import Path

        from .sparse import show_colors

        row, prep = preps[0]
        path = show_colors(prep.coloring, args.png, title=f"Brusselator N={N}: {row[0]} colors")
        console.print(f"Picture of the coloring written to {Path(path).resolve()}")
    return ok


def _detect(console, f, x, N, detector, how):
    """Detect the Jacobian pattern (timed), report it and whether it equals the stencil's."""
    from .cli import _fmt

    t0 = time.perf_counter()
    S = jacobian_sparsity(f, x, detector=detector)
    detect_s = time.perf_counter() - t0
    exact = (S != brusselator_pattern(N)).nnz == 0
    console.print(f"Detected the pattern {how} in {_fmt(detect_s)}: {S.nnz} nonzeros "
                  f"({100 * S.nnz / x.size**2:.2f} % dense), identical to the stencil's: {exact}.")
    return S, exact


def _sparse_vs_dense(f, dense_b, sparse_b, x, dense_budget):
    """Prepared dense and sparse Jacobians: ``((colors, dense time, sparse time, max error),
    sparse preparation, max |dense entry|)``."""
    p_dense = ops.prepare_jacobian(f, dense_b, x)
    p_sparse = ops.prepare_jacobian(f, sparse_b, x)
    Jd = np.asarray(ops.jacobian(f, dense_b, x, prep=p_dense))
    Js = ops.jacobian(f, sparse_b, x, prep=p_sparse)
    err = float(np.max(np.abs(Js.toarray() - Jd)))
    td = best_time(lambda: ops.jacobian(f, dense_b, x, prep=p_dense), budget=dense_budget)
    ts = best_time(lambda: ops.jacobian(f, sparse_b, x, prep=p_sparse), budget=0.3)
    return (p_sparse.coloring.ncolors, td, ts, err), p_sparse, float(np.max(np.abs(Jd)))
