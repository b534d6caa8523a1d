"""Constrained optimisation with the exact sparse Hessian of the Lagrangian (``trust-constr``).

Chained Rosenbrock with trigonometric-exponential constraints (Lukšan and Vlček's test problem
5.1), written in plain NumPy. ``ad.scipy.minimize(..., method="trust-constr")`` gives SciPy the
exact gradient, the sparse Hessian of the objective, the sparse Jacobian of the ``n - 2``
equality constraints and the sparse Hessian of ``v · c(x)``, all detected, colored and
prepared once: SciPy adds them into the Hessian of the Lagrangian at every iteration.

Run: ``python examples/constrained_optimization.py`` (``n = 1000``).
"""

from __future__ import annotations

import time

import numpy as np

import anydiff as ad


def objective(x):
    return np.sum(100.0 * (x[:-1] ** 2 - x[1:]) ** 2 + (x[:-1] - 1.0) ** 2)


def constraints(x):
    a, b, c = x[:-2], x[1:-1], x[2:]
    return 3.0 * b**3 + 2.0 * c - 5.0 + np.sin(b - c) * np.sin(b + c) + 4.0 * b - a * np.exp(a - b) - 3.0


def main(n=1000, backend=None, verbose=True):
    """Solve with exact sparse derivatives; returns the key numbers of the run."""
    backend = ad.AutoSparse(ad.AutoNumPy()) if backend is None else backend
    x0 = np.zeros(n)
    start = time.perf_counter()
    res = ad.scipy.minimize(objective, x0, backend, method="trust-constr",
                            constraints={"type": "eq", "fun": constraints}, options={"maxiter": 500})
    seconds = time.perf_counter() - start
    out = {
        "n": n, "seconds": seconds, "status": res.status, "iterations": res.nit, "objective": float(res.fun),
        "max_constraint_violation": float(np.max(np.abs(constraints(res.x)))),
        "optimality": float(res.optimality), "backend": repr(res.anydiff_backend),
        "evaluations": res.anydiff_stats,
    }
    if verbose:
        print(f"n={n}: status {res.status} ({res.message})")
        print(f"  {res.nit} iterations, {seconds:.2f} s, f = {res.fun:.8f}, "
              f"max |c(x)| = {out['max_constraint_violation']:.1e}, optimality {res.optimality:.1e}")
        for name, s in res.anydiff_stats.items():
            print(f"  {name:22s} {s['calls']:5d} calls  {s['seconds']:.3f} s")
    return out


if __name__ == "__main__":
    main()
