"""ad.recommend: the decision tree on real functions, with verdicts and reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

import anydiff as ad
from anydiff.backends import Backend
from conftest import installed


def energy(x):
    return np.sum((x[1:] - x[:-1] ** 2) ** 2) + np.sum(np.cos(x))


def energy_gradient(x):
    g = -np.sin(x)
    d = x[1:] - x[:-1] ** 2
    g[1:] += 2 * d
    g[:-1] += -4 * x[:-1] * d
    return g


@dataclass(frozen=True)
class OffByOnePercent(Backend):
    """Runs, but its pushforward is 1 % off: must be judged wrong, never best."""

    has_forward: ClassVar[bool] = True

    def build_pushforward(self, f, spec):
        def pushforward(x, T, ctx):
            TY = [np.imag(f(x + 1e-30j * t, *ctx)) / 1e-30 for t in T]
            return f(x, *ctx), 1.01 * np.stack(TY)

        return pushforward


def test_gradient_of_numpy_code():
    x = np.linspace(0.5, 1.5, 12)
    candidates = ["numpy", "fd", "complex_step", OffByOnePercent()] + (["jax"] if installed("jax") else [])
    report = ad.recommend(energy, x, candidates=candidates, budget_s=0.1)
    rows = {r["label"]: r for r in report.rows}
    assert report.mode == "reverse" and (report.n, report.m) == (12, 1)
    assert "complex step" in report.reference
    assert rows["OffByOnePercent()"]["verdict"] == "wrong" and rows["OffByOnePercent()"]["max_error"] > 1e-3
    assert rows["AutoFiniteDiff()"]["verdict"] == "ok" and "not exact" in rows["AutoFiniteDiff()"]["reason"]
    if installed("jax"):  # NumPy code under JAX: the backend's own error and the fix
        jax_row = rows["AutoJax()"]
        assert jax_row["verdict"] == "fails" and "jax.numpy" in jax_row["fix"] and jax_row["error"]
    best = next(r for r in report.rows if r["verdict"] == "best")
    assert best["backend"] is report.best and best["time_prepared"] > 0 and best["prep_time"] > 0
    assert np.allclose(ad.gradient(energy, report.best, x), energy_gradient(x), rtol=1e-12)
    text = str(report)
    assert "gradient of f: R^12 → R^1" in text and "OffByOnePercent()" in text and "wrong" in text


def test_sparse_jacobian_is_detected_and_sparse_candidates_run():
    f = lambda x: np.diff(x**2) + np.sin(x[:-1])  # noqa: E731 - banded, 2 colors
    report = ad.recommend(f, np.linspace(0.5, 1.5, 40), operator="jacobian", budget_s=0.2,
                          candidates=_numpy_candidates(sparse=True))
    assert report.sparsity["nnz"] == 78 and report.sparsity["colors"] == 2
    assert report.mode == "reverse"  # n = 40 > m = 39
    sparse_rows = [r for r in report.rows if r["label"].startswith("AutoSparse")]
    assert sparse_rows and all(r["verdict"] in ("ok", "best") for r in sparse_rows)
    assert "2 colors" in str(report)


def _numpy_candidates(sparse):
    from anydiff._recommend import default_candidates

    return [b for b in default_candidates("jacobian", sparse) if "Jax" not in repr(b) and "Torch" not in repr(b)
            and "Autograd" not in repr(b)]


def test_default_candidates_add_sparse_when_pattern_is_sparse():
    from anydiff._recommend import default_candidates

    dense = default_candidates("jacobian")
    sparse = default_candidates("jacobian", sparse=True)
    assert not any(isinstance(b, ad.AutoSparse) for b in dense)
    assert any(isinstance(b, ad.AutoSparse) for b in sparse)
    assert any(isinstance(b, ad.AutoFiniteDiff) for b in dense) and any(isinstance(b, ad.AutoNumPy) for b in dense)


def test_hessian_and_mode_for_tall_jacobian():
    x = np.linspace(0.5, 1.5, 6)
    report = ad.recommend(energy, x, operator="hessian", candidates=["numpy", "fd"], budget_s=0.05)
    assert report.mode == "forward-over-reverse" and report.best is not None
    tall = ad.recommend(lambda t: np.concatenate([t, t**2, np.sin(t)]), x[:2], operator="jacobian",
                        candidates=["numpy"], budget_s=0.05)
    assert tall.mode == "forward"  # n = 2 ≤ m = 6


def test_lone_candidate_is_unchecked_and_bad_operator_raises():
    report = ad.recommend(energy, np.ones(4), candidates=[OffByOnePercent()], budget_s=0.02)
    assert "unchecked" in report.rows[0]["reason"]  # alone, it is its own reference: nothing to compare with
    with pytest.raises(ad.InputError, match="Hint: use one of gradient"):
        ad.recommend(energy, np.ones(4), operator="curl")
