"""Sparse nonlinear least squares with many parameters: recover a 2-D field from blurred data.

The unknown is a field ``u`` on an N×N grid (N² parameters). We observe
``d = blur(exp(u)) + noise`` (a 5-point blur of a nonlinear transform) and fit ``u`` with a
smoothness penalty on its differences: residuals ``[blur(exp(u)) - d, λ ∂x u, λ ∂y u]``,
written in plain NumPy. Every residual depends on at most 5 parameters, so the Jacobian is
sparse: ``ad.scipy.least_squares`` detects and colors its pattern once, and each iteration
gets the exact ``scipy.sparse`` Jacobian (SciPy's ``trf`` with ``tr_solver="lsmr"``).

Run: ``python examples/sparse_least_squares.py`` (``N = 58``: 3364 parameters, 10092 residuals).
"""

from __future__ import annotations

import time

import numpy as np

import anydiff as ad


def blur(w, xp=np):
    return 0.5 * w + 0.125 * (xp.roll(w, 1, 0) + xp.roll(w, -1, 0) + xp.roll(w, 1, 1) + xp.roll(w, -1, 1))


def make_problem(N, lam=0.3, noise=0.01, seed=0, xp=np):
    """``(residuals, u0, u_true)`` for an N×N grid; ``xp`` is NumPy or ``jax.numpy``."""
    g = np.linspace(0.0, 1.0, N)
    X, Y = np.meshgrid(g, g, indexing="ij")
    u_true = np.sin(2 * np.pi * X) * np.cos(np.pi * Y)
    data = blur(np.exp(u_true)) + noise * np.random.default_rng(seed).standard_normal((N, N))

    def residuals(p):
        u = xp.reshape(p, (N, N))
        misfit = blur(xp.exp(u), xp) - data
        return xp.concatenate([xp.ravel(misfit), lam * xp.ravel(u - xp.roll(u, 1, 0)),
                               lam * xp.ravel(u - xp.roll(u, 1, 1))])

    return residuals, np.zeros(N * N), u_true.ravel()


def main(N=58, backend=None, verbose=True):
    residuals, u0, u_true = make_problem(N)
    backend = ad.AutoSparse(ad.AutoNumPy()) if backend is None else backend
    start = time.perf_counter()
    res = ad.scipy.least_squares(residuals, u0, backend)
    seconds = time.perf_counter() - start
    out = {
        "parameters": u0.size, "residuals": residuals(u0).size, "seconds": seconds, "nfev": res.nfev,
        "njev": res.njev, "cost": float(res.cost), "status": res.status,
        "rms_error_vs_truth": float(np.sqrt(np.mean((res.x - u_true) ** 2))),
        "jacobian_nnz": int(res.jac.nnz),
    }
    if verbose:
        print(f"{out['parameters']} parameters, {out['residuals']} residuals, Jacobian nnz {out['jacobian_nnz']}")
        print(f"  {seconds:.2f} s, nfev={res.nfev}, njev={res.njev}, cost={res.cost:.4e}, "
              f"rms error vs truth {out['rms_error_vs_truth']:.3f}")
    return out


if __name__ == "__main__":
    main()
