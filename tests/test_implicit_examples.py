"""The implicit-differentiation examples run (small sizes) and agree with independent references."""

import importlib.util
import pathlib

import numpy as np

import anydiff as ad

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ridge_regression_matches_closed_form(capsys):
    dw, exact = _load("ridge_regression").main(n_samples=50, n_features=8)
    np.testing.assert_allclose(dw, exact, rtol=1e-8, atol=1e-12)
    assert "relative error" in capsys.readouterr().out


def test_hyperparameter_gradient_matches_finite_differences(capsys):
    mod = _load("hyperparameter")
    history = mod.main(steps=2, n=40, d=6)
    assert history[1][1] < history[0][1]  # the validation loss went down
    solver, _, validation_loss = mod.make(n=40, d=6)
    h = lambda lam: validation_loss(solver(lam))
    eps = 1e-4
    fd = (h(np.array([2.0 + eps])) - h(np.array([2.0 - eps]))) / (2 * eps)
    np.testing.assert_allclose(history[0][2], fd, rtol=1e-4)
    capsys.readouterr()


def test_reaction_diffusion(capsys):
    mod = _load("reaction_diffusion")
    J, grad = mod.main(N=15)
    conditions, basis = mod.make_problem(15)
    p = np.linspace(1.0, 2.0, basis.shape[1])
    u = mod.solve(conditions, p, 225, tol=1e-12)
    np.testing.assert_allclose(grad, 2 * u @ J, rtol=1e-8)
    # one column against central differences of the solver
    e = np.zeros(basis.shape[1])
    e[3] = 1e-5
    col = (mod.solve(conditions, p + e, 225, tol=1e-12) - mod.solve(conditions, p - e, 225, tol=1e-12)) / 2e-5
    np.testing.assert_allclose(J[:, 3], col, rtol=1e-5, atol=1e-10)
    assert "splu" in capsys.readouterr().out
    assert isinstance(ad.implicit_function(lambda p: u, conditions), ad.ImplicitFunction)
