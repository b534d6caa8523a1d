"""Sparse part of ``anydiff demo``: Brusselator 2-D, detection, coloring, sparse vs dense timings."""

from __future__ import annotations

import importlib.util
import time

import numpy as np

from . import operators as ops
from .backends import AutoFiniteDiff, AutoJax
from .sparse import AutoSparse, JaxSparsityDetector, KnownSparsityDetector, jacobian_sparsity
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
    S_true = brusselator_pattern(N)
    fd_dense, fd_sparse = AutoFiniteDiff(method="forward"), AutoSparse(
        AutoFiniteDiff(method="forward"), sparsity_detector=KnownSparsityDetector(S_true))
    p_dense = ops.prepare_jacobian(f_np, fd_dense, x)
    p_sparse = ops.prepare_jacobian(f_np, fd_sparse, x)
    Jd = ops.jacobian(f_np, fd_dense, x, prep=p_dense)
    Js = ops.jacobian(f_np, fd_sparse, x, prep=p_sparse)
    err = float(np.max(np.abs(Js.toarray() - Jd)))
    ok &= err < 1e-3 * max(1.0, float(np.max(np.abs(Jd))))
    rows.append(("finite differences (forward)", p_sparse.run.coloring.ncolors,
                 best_time(lambda: ops.jacobian(f_np, fd_dense, x, prep=p_dense), budget=0.5),
                 best_time(lambda: ops.jacobian(f_np, fd_sparse, x, prep=p_sparse), budget=0.3), err))
    table = Table(title="Sparse vs dense Jacobian (prepared calls)")
    for col in ("backend", "colors", "dense", "sparse", "speed-up", "max |sparse - dense|"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    for name, colors, td, ts, e in rows:
        table.add_row(name, str(colors), _fmt(td), _fmt(ts), f"{td / ts:.0f}×", f"{e:.1e}")
    console.print(table)
    return ok
