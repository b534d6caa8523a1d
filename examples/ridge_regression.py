"""Ridge regression: the optimum w(λ) differentiated with respect to the regularisation λ.

w(λ) = argmin ‖Xw − t‖² + λ‖w‖² solves (XᵀX + λI) w = Xᵀt, so dw/dλ = −(XᵀX + λI)⁻¹ w has a
closed form to check against. The solver here is SciPy's iterative least-squares solver
(``scipy.sparse.linalg.lsqr`` with damping √λ), which anydiff never differentiates through.

Run ``python examples/ridge_regression.py``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as spla

import anydiff as ad


def make(n_samples=200, n_features=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    t = X @ rng.normal(size=n_features) + 0.5 * rng.normal(size=n_samples)

    def solver(lam):
        return spla.lsqr(X, t, damp=np.sqrt(lam[0]), atol=1e-14, btol=1e-14, iter_lim=10_000)[0]

    def conditions(lam, w):  # half the gradient of the objective
        return X.T @ (X @ w - t) + lam[0] * w

    def exact_derivative(lam):
        A = X.T @ X + lam[0] * np.eye(n_features)
        return -np.linalg.solve(A, np.linalg.solve(A, X.T @ t))

    return solver, conditions, exact_derivative


def main(**kw):
    solver, conditions, exact = make(**kw)
    g = ad.implicit_function(solver, conditions)
    lam = np.array([3.0])
    dw = ad.jacobian(g, ad.AutoNumPy(), lam)[:, 0]
    err = np.max(np.abs(dw - exact(lam))) / np.max(np.abs(exact(lam)))
    print(f"dw/dλ (first 4): {np.round(dw[:4], 6)}; max relative error vs closed form {err:.1e}; "
          f"linear solver: {g.info.linear_solver}")
    return dw, exact(lam)


if __name__ == "__main__":
    main()
