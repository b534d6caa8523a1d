"""anydiff.scipy: bad input is reported before SciPy iterates, naming the argument, with a hint."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so

import anydiff as ad

X0 = np.array([0.5, 1.5, 2.0])


def quadratic(x):
    return np.sum((x - 1.0) ** 2)


def test_objective_returning_a_vector():
    with pytest.raises(ad.InputError, match=r"`fun` must return a scalar(.|\n)*Hint"):
        ad.scipy.minimize(lambda x: x**2, X0, ad.AutoNumPy())


def test_nan_in_start_value_or_gradient():
    with pytest.raises(ad.InputError, match=r"x0 is not finite(.|\n)*Hint"):
        ad.scipy.minimize(quadratic, np.array([1.0, np.nan, 0.0]), ad.AutoNumPy())
    with pytest.raises(ad.InputError, match=r"`fun` is not finite at x0"):
        ad.scipy.minimize(lambda x: np.sum(np.where(x > 1.0, x, np.nan)), X0, ad.AutoNumPy())
    with pytest.raises(ad.InputError, match=r"`fun` is not finite at x0"):
        ad.scipy.least_squares(lambda x: np.where(x > 1.0, x, np.inf), X0, ad.AutoNumPy())
    with pytest.raises(ad.InputError, match=r"gradient of `fun` is not finite at x0"):
        # forward mode gives the nan tangent silently (reverse mode warns, an error under pytest's settings)
        ad.scipy.minimize(lambda x: np.sum(np.abs(x - 0.5) ** 0.5), X0, ad.AutoNumPy(mode="forward"))


def test_backend_that_cannot_run_the_function():
    pytest.importorskip("jax")

    def numpy_only(x):
        return float(np.sum(np.asarray(x) ** 2))  # converts to NumPy: not traceable by JAX

    with pytest.raises(ad.UnsupportedOperationError, match=r"AutoJax(.|\n)*`fun`(.|\n)*Hint"):
        ad.scipy.minimize(numpy_only, X0, ad.AutoJax())
    with pytest.raises(ad.AnyDiffError, match=r"`fun`(.|\n)*Hint"):
        ad.scipy.minimize(lambda x: np.sum(np.linalg.eigvals(np.outer(x, x)).real), X0, ad.AutoNumPy())
    with pytest.raises(ad.InputError, match=r"backend(.|\n)*Unknown backend"):
        ad.scipy.minimize(quadratic, X0, "no-such-backend")


def test_constraints_of_the_wrong_form():
    circle = lambda x: np.sum(x**2) - 1.0
    bad = [
        (lambda x: x, r"constraints is a function"),
        ([lambda x: x], r"constraints\[0\] is a function"),
        ({"type": "equal", "fun": circle}, r"constraints\[0\]\['type'\] is 'equal'"),
        ({"type": "eq"}, r"constraints\[0\]\['fun'\] is missing"),
        ([{"type": "eq", "fun": circle}, {"type": "ineq", "fun": circle, "jacobian": None}],
         r"constraints\[1\] has unknown keys"),
        (so.NonlinearConstraint(lambda x: x[:2], np.zeros(3), 1.0), r"constraints\[0\]\.lb has 3 entries"),
    ]
    for cons, message in bad:
        with pytest.raises(ad.InputError, match=message + r"(.|\n)*Hint"):
            ad.scipy.minimize(quadratic, X0, ad.AutoNumPy(), method="trust-constr", constraints=cons)
    with pytest.raises(ad.InputError, match=r"method 'bfgs' cannot handle constraints(.|\n)*Hint"):
        ad.scipy.minimize(quadratic, X0, ad.AutoNumPy(), method="BFGS", constraints={"type": "eq", "fun": circle})
    with pytest.raises(ad.InputError, match=r"constraints\[0\]\['fun'\]` is not finite"):
        ad.scipy.minimize(quadratic, X0, ad.AutoNumPy(), method="SLSQP",
                          constraints={"type": "eq", "fun": lambda x: x[0] * np.nan})


def test_wrong_sizes_for_root_and_odes():
    with pytest.raises(ad.InputError, match=r"fun\(x0\) has 2 entries, expected 3(.|\n)*Hint"):
        ad.scipy.root(lambda x: x[:2], X0, ad.AutoNumPy())
    with pytest.raises(ad.InputError, match=r"`fun`\(y0\) has 2 entries, expected 3"):
        ad.scipy.solve_ivp(lambda t, y: y[:2], (0.0, 1.0), X0, ad.AutoNumPy())
    with pytest.raises(ad.InputError, match=r"y0 is not finite"):
        ad.scipy.ode_jacobian(lambda y: -y, ad.AutoNumPy(), np.array([np.inf, 1.0]))
    with pytest.raises(ad.InputError, match=r"sparse_output(.|\n)*Hint"):
        ad.scipy.least_squares(lambda x: x**2 - 1.0, X0, ad.AutoSparse(ad.AutoJax(), sparse_output="jax"))
