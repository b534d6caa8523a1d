"""Hyper-parameter gradient: tune the L2 penalty of a logistic regression by gradient descent.

The inner problem, w(λ) = argmin_w Σ log(1 + exp(−sᵢ xᵢᵀw)) + ½ e^λ ‖w‖², is solved by
``scipy.optimize.minimize`` (L-BFGS-B). Its optimality conditions (gradient = 0) are written
with ``ad.optimality_conditions``; ``ad.implicit_function`` then gives the exact gradient of the
validation loss with respect to the log-penalty λ, without differentiating through L-BFGS.
A few steps of gradient descent on λ lower the validation loss.

Run ``python examples/hyperparameter.py``.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

import anydiff as ad


def make(n=120, d=30, seed=1):
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=d) * (rng.random(d) < 0.3)
    X = rng.normal(size=(2 * n, d))
    s = np.sign(X @ w_true + 0.5 * rng.normal(size=2 * n))
    Xtr, str_, Xva, sva = X[:n], s[:n], X[n:], s[n:]

    def objective(lam, w):
        return np.sum(np.logaddexp(0.0, -str_ * (Xtr @ w))) + 0.5 * np.exp(lam[0]) * np.sum(w**2)

    def solver(lam):
        fun = lambda w: objective(lam, w)
        jac = lambda w: ad.gradient(fun, ad.AutoNumPy(), w)
        res = scipy.optimize.minimize(fun, np.zeros(d), jac=jac, method="L-BFGS-B",
                                      options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 10_000})
        return res.x

    def validation_loss(w):
        return np.mean(np.logaddexp(0.0, -sva * (Xva @ w)))

    return solver, objective, validation_loss


def main(steps=6, lr=10.0, **kw):
    solver, objective, validation_loss = make(**kw)
    w_of = ad.implicit_function(solver, ad.optimality_conditions(objective), residual_tol=1e-5)
    h = lambda lam: validation_loss(w_of(lam))
    lam = np.array([2.0])
    history = []
    for _ in range(steps):
        value, grad = ad.value_and_gradient(h, ad.AutoNumPy(), lam)
        history.append((float(lam[0]), float(value), float(grad[0])))
        lam = lam - lr * grad
    for lam_k, v, gk in history:
        print(f"log λ = {lam_k:7.4f}   validation loss = {v:.5f}   d/dlog λ = {gk:+.5f}")
    return history


if __name__ == "__main__":
    main()
