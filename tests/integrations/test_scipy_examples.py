"""The SciPy examples in examples/ run at small size and give the answers they claim."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"anydiff_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_brusselator_ode_example():
    out = load("brusselator_ode").main(N=8, t_end=0.5, verbose=False)
    assert out["anydiff"]["success"] and out["scipy_fd_sparsity"]["success"]
    assert out["anydiff"]["njev"] >= 1 and out["colors"] >= 5
    assert out["max_difference"] < 1e-5


def test_constrained_optimization_example():
    out = load("constrained_optimization").main(n=30, verbose=False)
    assert out["status"] in (1, 2) and out["max_constraint_violation"] < 1e-8
    assert out["evaluations"]["constraint_hessian"]["calls"] >= 1
    assert out["evaluations"]["hessian"]["calls"] >= 1


def test_sparse_least_squares_example():
    out = load("sparse_least_squares").main(N=8, verbose=False)
    assert out["status"] > 0 and out["parameters"] == 64 and out["residuals"] == 192
    assert out["rms_error_vs_truth"] < 0.5 and out["jacobian_nnz"] == 64 * 5 + 2 * 2 * 64


@pytest.mark.parametrize("name", ["brusselator_ode", "constrained_optimization", "sparse_least_squares"])
def test_examples_have_a_main_and_docstring(name):
    module = load(name)
    assert module.__doc__ and callable(module.main)
