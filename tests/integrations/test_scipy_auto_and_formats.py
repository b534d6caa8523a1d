"""anydiff.scipy: the formats handed to SciPy, backend="auto" and the recommender, pytrees, the cache."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
import scipy.integrate as si
import scipy.sparse as sp

import anydiff as ad
from anydiff.testing import brusselator_2d, brusselator_pattern, brusselator_point


def test_ode_jacobian_is_a_fresh_csc_matrix_with_the_exact_pattern():
    N = 5
    f, y = brusselator_2d(np, N), brusselator_point(N)
    jac = ad.scipy.ode_jacobian(f, ad.AutoSparse(ad.AutoNumPy()), y)
    J1, J2 = jac(0.0, y), jac(0.0, 1.5 * y)
    assert isinstance(J1, sp.csc_matrix) and J1.has_sorted_indices
    pattern = sp.csc_matrix(brusselator_pattern(N))
    pattern.sort_indices()
    np.testing.assert_array_equal(J1.indptr, pattern.indptr)  # exactly the pattern: no explicit zeros added
    np.testing.assert_array_equal(J1.indices, pattern.indices)
    assert J1.data is not J2.data and J1.indices is not J2.indices  # SciPy may keep or modify each one
    np.testing.assert_allclose(J2.toarray(), ad.jacobian(f, ad.AutoFiniteDiff(method="complex"), 1.5 * y),
                               rtol=1e-12, atol=1e-10)
    assert np.shares_memory(sp.csc_matrix(J1, dtype=np.float64).data, J1.data)  # SciPy's BDF/Radau conversion: no copy


def test_nan_in_a_sparse_jacobian_is_found_without_densifying():
    def f(y):  # sqrt'(0) is infinite: inf (and NaN = inf * 0 in the compressed products) in row 137
        return -np.sqrt(y) + 0.1 * np.roll(y, 1)

    y0 = np.ones(200)
    y0[137] = 0.0
    for call in (lambda: ad.scipy.ode_jacobian(f, ad.AutoSparse(ad.AutoNumPy()), y0),
                 lambda: ad.scipy.least_squares(f, y0, ad.AutoSparse(ad.AutoNumPy()))):
        with pytest.raises(ad.InputError, match=r"Jacobian of `(f|fun)` is not finite(.|\n)*stored(.|\n)*index \(137, 13[67]\)"
                                                r"(.|\n)*Hint"):
            call()


def test_solve_ivp_with_a_subclass_of_bdf_gets_the_jacobian():
    class MyBDF(si.BDF):
        pass

    A = np.array([[-100.0, 1.0], [0.5, -2.0]])
    sol = ad.scipy.solve_ivp(lambda t, y: A @ y, (0.0, 1.0), np.ones(2), ad.AutoNumPy(), method=MyBDF,
                             rtol=1e-10, atol=1e-12)
    assert sol.success and sol.njev >= 1 and sol.anydiff_stats["jacobian"]["calls"] >= sol.njev
    ref = si.solve_ivp(lambda t, y: A @ y, (0.0, 1.0), np.ones(2), method="BDF", jac=A, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-8)


def test_auto_asks_the_recommender_for_small_numpy_problems():
    def f(x):
        return np.sum((x - 3.0) ** 2) + np.sum(x[1:] * x[:-1]) * 0.1

    res = ad.scipy.minimize(f, np.zeros(6))
    assert res.anydiff_backend in (ad.AutoNumPy(mode="forward"), ad.AutoNumPy(mode="reverse"))
    assert "ad.recommend(operator='gradient')" in res.anydiff_backend_reason
    report = res.anydiff_recommendation
    assert isinstance(report, ad.Recommendation) and report.best == res.anydiff_backend
    assert {r["verdict"] for r in report.rows} == {"best", "ok"}  # both modes ran and agreed
    assert res.anydiff_stats["choose_backend"]["calls"] == 1
    again = ad.scipy.minimize(f, np.ones(6))  # the choice is remembered for this function and shape
    assert again.anydiff_recommendation is report
    np.testing.assert_allclose(again.x, res.x, atol=1e-5)
    lsq = ad.scipy.least_squares(lambda p: {"r": p[0] * np.exp(-p[1] * np.arange(4.0)) - 1.0}, np.ones(2))
    assert "ad.recommend(operator='jacobian')" in lsq.anydiff_backend_reason
    assert lsq.anydiff_recommendation.best == lsq.anydiff_backend


def test_auto_rule_without_the_recommender():
    big = ad.scipy.least_squares(lambda x: x**2 - 2.0, np.ones(150))
    assert big.anydiff_backend == ad.AutoSparse(ad.AutoNumPy()) and big.anydiff_recommendation is None
    assert "150 >= 100 unknowns: sparse" in big.anydiff_backend_reason
    np.testing.assert_allclose(big.x, np.sqrt(2.0), rtol=1e-8)
    free = ad.scipy.minimize(lambda x: np.sum((x - 1.0) ** 2), np.zeros(3), method="Nelder-Mead")
    assert free.anydiff_recommendation is None and "no derivative used" in free.anydiff_backend_reason
    first_order = ad.scipy.minimize(lambda x: np.sum((x - 1.0) ** 2), np.zeros(300), method="L-BFGS-B")
    assert first_order.anydiff_backend == ad.AutoNumPy() and "300 >= 100 unknowns" in first_order.anydiff_backend_reason
    jax = pytest.importorskip("jax")
    res = ad.scipy.minimize(lambda x: jax.numpy.sum((x - 1.0) ** 2), np.zeros(3))
    assert res.anydiff_backend == ad.AutoJax() and "not timed" in res.anydiff_backend_reason


def test_auto_with_a_function_that_fails_reports_the_function():
    with pytest.raises(ad.AnyDiffError, match=r"could not evaluate `fun`(.|\n)*NameError(.|\n)*Hint"):
        ad.scipy.minimize(lambda x: np.sum(x) + undefined_name, np.zeros(3))  # noqa: F821
    with pytest.raises(ad.AnyDiffError, match=r"ode_jacobian(.|\n)*could not evaluate `f`(.|\n)*Hint"):
        ad.scipy.ode_jacobian(lambda y: y + undefined_name, "auto", np.zeros(3))  # noqa: F821


class Params(NamedTuple):
    scale: np.ndarray
    rate: float


def test_pytrees_follow_anydiffs_tree_order_and_number_lists_are_arrays():
    t = np.linspace(0.0, 1.0, 15)
    data = 2.0 * np.exp(-1.5 * t)
    res = ad.scipy.least_squares(lambda p: p.scale[0] * np.exp(-p.rate * t) - data, Params(np.ones(1), 1.0),
                                 ad.AutoNumPy())
    assert isinstance(res.x, Params)
    np.testing.assert_allclose([res.x.scale[0], res.x.rate], [2.0, 1.5], rtol=1e-8)
    start = {"b": np.zeros(2), "a": 0.0}  # flat order: dict keys sorted, as ad.tree_index_map says
    res = ad.scipy.minimize(lambda p: (p["a"] - 1.0) ** 2 + np.sum((p["b"] - 2.0) ** 2), start, ad.AutoNumPy())
    assert ad.tree_index_map(start) == {"x['a']": slice(0, 1), "x['b']": slice(1, 3)}
    np.testing.assert_allclose(res.x_flat, [1.0, 2.0, 2.0], atol=1e-6)
    seen = []
    res = ad.scipy.minimize(lambda x: seen.append(type(x)) or np.sum((x - 3.0) ** 2), [0.0, 1.0], ad.AutoNumPy())
    assert isinstance(res.x, np.ndarray) and np.allclose(res.x, 3.0)  # a list of numbers is one array
    with pytest.raises(ad.InputError, match=r"x0\['k'\] is a str(.|\n)*Hint"):
        ad.scipy.minimize(lambda p: 0.0, {"k": "text"}, ad.AutoNumPy())


def test_clear_cache_empties_the_scipy_store():
    from anydiff.scipy import _common

    ad.scipy.least_squares(lambda x: x**2 - 2.0, np.ones(3), ad.AutoNumPy())
    assert len(_common._CACHE) > 0
    ad.clear_cache()
    assert len(_common._CACHE) == 0
