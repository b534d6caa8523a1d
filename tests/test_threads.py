"""Prepared operators called from several threads at once give the same answers as serially."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import anydiff as ad
from anydiff.testing import namespace_for
from conftest import all_backends

THREADS, CALLS = 4, 8


def _xp(backend):
    if backend.library in ("jax", "torch"):
        return namespace_for(backend.library)
    return namespace_for("autograd" if backend.name == "autograd" else "numpy")


def _run_parallel(call, points):
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(call, points))


@pytest.mark.parametrize("backend", all_backends())
def test_prepared_operators_from_threads(backend):
    xp = _xp(backend)
    f = lambda x: xp.sum(xp.sin(x) * x)  # noqa: E731
    g = lambda x: xp.sin(x) * x[0]  # noqa: E731
    rng = np.random.default_rng(0)
    points = [rng.standard_normal(3) for _ in range(THREADS * CALLS)]
    grad_prep = ad.prepare_gradient(f, backend, points[0])
    jac_prep = ad.prepare_jacobian(g, backend, points[0])
    push_prep = ad.prepare_pushforward(g, backend, points[0])
    tangent = (np.array([1.0, -1.0, 0.5]),)

    def work(x):
        return (
            ad.gradient(f, backend, x, prep=grad_prep),
            ad.jacobian(g, backend, x, prep=jac_prep),
            ad.pushforward(g, backend, x, tangent, prep=push_prep)[0],
            ad.gradient(f, backend, x),  # unprepared calls share anydiff's preparation cache
        )

    serial = [work(x) for x in points]
    parallel = _run_parallel(work, points)
    for s, p in zip(serial, parallel):
        for a, b in zip(s, p):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)
    x = points[3]
    np.testing.assert_allclose(serial[3][0], np.sin(x) + x * np.cos(x), rtol=1e-5)


def test_structured_prepared_calls_from_threads():
    f = lambda t, s: np.sum(t["a"] ** 2) * s  # noqa: E731
    prep = ad.prepare_gradient(f, ad.AutoNumPy(), {"a": np.ones(3)}, 2.0)
    points = [({"a": np.full(3, float(i))}, float(i + 1)) for i in range(THREADS * CALLS)]
    results = _run_parallel(lambda p: ad.gradient(f, ad.AutoNumPy(), *p, prep=prep), points)
    for (t, s), (gt, gs) in zip(points, results):
        np.testing.assert_allclose(gt["a"], 2 * t["a"] * s)
        np.testing.assert_allclose(gs, np.sum(t["a"] ** 2))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_torch_inplace_from_threads(mode):
    """In-place functions use torch's classic engines (forward-mode dual levels, tape)."""
    pytest.importorskip("torch")

    def f(y, x):
        y[0] = x[0] * x[1]
        y[1] = x[1] ** 2

    backend = ad.AutoTorch(mode=mode)
    prep = ad.prepare_jacobian(f, np.zeros(2), backend, np.ones(2))
    points = [np.array([1.0 + i, 2.0 - i]) for i in range(THREADS * CALLS)]
    results = _run_parallel(lambda x: ad.jacobian(f, np.zeros(2), backend, x, prep=prep), points)
    for x, J in zip(points, results):
        np.testing.assert_allclose(J, [[x[1], x[0]], [0.0, 2 * x[1]]])
