"""The ``anydiff demo`` job: one real problem, every installed backend, agreement and timings."""

from __future__ import annotations

import importlib.util
import time

import numpy as np

from . import operators as ops
from .backends import AutoFiniteDiff, AutoNumPy
from .testing import namespace_for
from .testing import rosenbrock_chain as rosenbrock
from .testing import rosenbrock_chain_gradient as rosenbrock_gradient
from .testing import rosenbrock_chain_hessian as rosenbrock_hessian

__all__ = ["installed_backends", "rosenbrock", "rosenbrock_gradient", "run_dense_demo", "best_time"]


def installed_backends():
    """One configuration of every backend whose library is importable (JAX switched to float64)."""
    from ._recommend import installed_library_backends

    if importlib.util.find_spec("jax") is not None:
        import jax

        jax.config.update("jax_enable_x64", True)  # the demo works in float64
    return [*installed_library_backends(), AutoNumPy(), AutoFiniteDiff(), AutoFiniteDiff(method="complex")]


def label(backend) -> str:
    """Short human name of a backend configuration."""
    name = backend.name
    for attr in ("mode", "method"):
        if hasattr(backend, attr):
            return f"{name} ({getattr(backend, attr)})"
    return name


def namespace_of(backend):
    return namespace_for("autograd" if backend.name == "autograd" else backend.library)


def best_time(fn, budget=0.2):
    """Fastest of repeated calls of ``fn`` (at least 3, for about ``budget`` seconds) after one warm-up."""
    fn()
    t0, k = time.perf_counter(), 0
    best = np.inf
    while time.perf_counter() - t0 < budget or k < 3:
        s = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - s)
        k += 1
    return best


def run_dense_demo(n=100, seed=0):
    """Gradient and Hessian of the chained Rosenbrock function with every installed backend.

    Returns a list of rows: backend, errors against the analytic derivatives, timings.
    """
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, n)
    g_ref, H_ref = rosenbrock_gradient(x), rosenbrock_hessian(x)
    rows = []
    for b in installed_backends():
        f = rosenbrock(namespace_of(b))
        row = {"backend": label(b)}
        try:
            t0 = time.perf_counter()
            prep = ops.prepare_gradient(f, b, x)
            row["prepare_s"] = time.perf_counter() - t0
            g = np.asarray(ops.gradient(f, b, x, prep=prep))
            row["gradient_error"] = float(np.max(np.abs(g - g_ref)) / np.max(np.abs(g_ref)))
            row["gradient_s"] = best_time(lambda: ops.gradient(f, b, x, prep=prep))
            hprep = ops.prepare_hessian(f, b, x)
            H = np.asarray(ops.hessian(f, b, x, prep=hprep))
            row["hessian_error"] = float(np.max(np.abs(H - H_ref)) / np.max(np.abs(H_ref)))
            row["hessian_s"] = best_time(lambda: ops.hessian(f, b, x, prep=hprep), budget=0.3)
            row["ok"] = row["gradient_error"] < (1e-12 if b.exact else 1e-5) and row["hessian_error"] < (
                1e-12 if b.exact else 1e-3)
        except Exception as err:  # noqa: BLE001 - the demo reports failures in its table
            row["error"] = f"{type(err).__name__}: {err}".splitlines()[0]
            row["ok"] = False
        rows.append(row)
    return rows
