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
    rows, ok = [], True
    if importlib.util.find_spec("jax") is not None:
        import jax.numpy as jnp

        f = brusselator_2d(jnp, N)
        t0 = time.perf_counter()
        S = jacobian_sparsity(f, x, detector=JaxSparsityDetector())
        detect_s = time.perf_counter() - t0
        exact = (S != brusselator_pattern(N)).nnz == 0
        console.print(f"Detected the pattern from the jaxpr in {_fmt(detect_s)}: {S.nnz} nonzeros "
                      f"({100 * S.nnz / n**2:.2f} % dense), identical to the stencil's: {exact}.")
        ok &= exact
        dense_b, sparse_b = AutoJax(), AutoSparse(AutoJax())
        dense_prep = ops.prepare_jacobian(f, dense_b, x)
        sparse_prep = ops.prepare_jacobian(f, sparse_b, x)
        Jd = np.asarray(ops.jacobian(f, dense_b, x, prep=dense_prep))
        Js = ops.jacobian(f, sparse_b, x, prep=sparse_prep)
        err = float(np.max(np.abs(Js.toarray() - Jd)))
        ok &= err < 1e-10
        colors = sparse_prep.run.coloring.ncolors
        td = best_time(lambda: ops.jacobian(f, dense_b, x, prep=dense_prep), budget=0.3)
        ts = best_time(lambda: ops.jacobian(f, sparse_b, x, prep=sparse_prep), budget=0.3)
        rows.append(("jax", colors, td, ts, err))
        if args.png:
            from .sparse import show_colors

            path = show_colors(sparse_prep.run.coloring, args.png, title=f"Brusselator N={N}: {colors} colors")
            console.print(f"Coloring picture written to {path}.")
    f_np = brusselator_2d(np, N)
    t0 = time.perf_counter()
    S_np = jacobian_sparsity(f_np, x, detector=TracerSparsityDetector())
    detect_s = time.perf_counter() - t0
    exact = (S_np != brusselator_pattern(N)).nnz == 0
    console.print(f"Detected the pattern of the plain NumPy version by tracing in {_fmt(detect_s)}: "
                  f"identical to the stencil's: {exact}.")
    ok &= exact
    known = KnownSparsityDetector(S_np)  # detection is timed above; reuse its result below
    for name, dense_b, tol in [("numpy (AutoNumPy, exact)", AutoNumPy(), 1e-10),
                               ("finite differences (forward)", AutoFiniteDiff(method="forward"), 1e-3)]:
        sparse_b = AutoSparse(dense_b, sparsity_detector=known)
        p_dense = ops.prepare_jacobian(f_np, dense_b, x)
        p_sparse = ops.prepare_jacobian(f_np, sparse_b, x)
        Jd = ops.jacobian(f_np, dense_b, x, prep=p_dense)
        Js = ops.jacobian(f_np, sparse_b, x, prep=p_sparse)
        err = float(np.max(np.abs(Js.toarray() - Jd)))
        ok &= err < tol * max(1.0, float(np.max(np.abs(Jd))))
        rows.append((name, p_sparse.run.coloring.ncolors,
                     best_time(lambda: ops.jacobian(f_np, dense_b, x, prep=p_dense), budget=0.5),
                     best_time(lambda: ops.jacobian(f_np, sparse_b, x, prep=p_sparse), budget=0.3), err))
    table = Table(title="Sparse vs dense Jacobian (prepared calls)")
    for col in ("backend", "colors", "dense", "sparse", "speed-up", "max |sparse - dense|"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    for name, colors, td, ts, e in rows:
        table.add_row(name, str(colors), _fmt(td), _fmt(ts), f"{td / ts:.0f}×", f"{e:.1e}")
    console.print(table)
    return ok
