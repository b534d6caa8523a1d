"""``anydiff.scipy.minimize``: ``scipy.optimize.minimize`` with exact derivatives from any backend."""

from __future__ import annotations

import numpy as np

from .. import operators as ops
from .._errors import InputError
from ._common import Problem, Stats, as_contexts, check_finite, make_flattener
from ._constraints import convert_constraints

__all__ = ["minimize"]

_DERIVATIVE_FREE = ("nelder-mead", "powell", "cobyla", "cobyqa")
#: how each second-order method gets curvature: "hess" (a matrix, sparse when the backend is
#: AutoSparse), "hess_dense" (a dense matrix only) or "hessp" (products; for a sparse backend
#: the products use the sparse Hessian, computed once per point)
_SECOND_ORDER = {
    "newton-cg": "hess", "trust-constr": "hess", "trust-ncg": "hessp", "trust-krylov": "hessp",
    "dogleg": "hess_dense", "trust-exact": "hess_dense",
}


def minimize(fun, x0, backend="auto", *, method=None, args=(), jac=None, hess=None, hessp=None,
             bounds=None, constraints=(), **kwargs):
    """``scipy.optimize.minimize`` with exact gradients, Hessians and constraint derivatives.

    Everything is prepared once (``ad.prepare_gradient``, ``prepare_hessian`` or
    ``prepare_hvp``, ``prepare_jacobian`` for each constraint) and reused at every iteration.
    Methods that use curvature get it exactly: ``trust-constr`` and ``Newton-CG`` a Hessian
    (``scipy.sparse`` when ``backend`` is ``ad.AutoSparse(...)``, otherwise Hessian-vector
    products), ``trust-ncg``/``trust-krylov`` Hessian-vector products, ``dogleg``/``trust-exact``
    a dense Hessian. ``trust-constr`` also gets every nonlinear constraint's Jacobian and the
    Hessian of ``v · c(x)`` from the same backend, so SciPy assembles the exact Hessian of the
    Lagrangian. Derivative-free methods only get the function.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> scalar``. Plain NumPy code (with ``AutoNumPy``), ``jax.numpy`` code
        (``AutoJax``) or torch code (``AutoTorch``).
    x0 : array_like or pytree
        Starting point: an array of any shape, or a dict/list/tuple of arrays. SciPy sees one
        flat float64 vector; ``fun`` always receives the structure of ``x0``.
    backend : Backend or str
        ``"auto"`` (default): ``AutoNumPy()``, ``AutoJax()`` or ``AutoTorch()`` after the code
        of ``fun``, wrapped in ``AutoSparse`` for methods using Hessians with at least 100
        unknowns; for NumPy code with fewer unknowns ``ad.recommend`` times the forward and
        reverse NumPy engine (``res.anydiff_recommendation``). The choice is recorded in
        ``res.anydiff_backend`` and ``res.anydiff_backend_reason`` (docs/scipy.md: the rule).
    method : str, optional
        As in SciPy (default: ``BFGS``, ``L-BFGS-B`` with bounds, ``SLSQP`` with constraints).
    args : tuple
        Extra arguments of ``fun`` (not differentiated).
    jac, hess, hessp : optional
        Leave out to get anydiff's; a callable (called with the flat vector and ``args``) or a
        SciPy strategy such as ``scipy.optimize.BFGS()`` replaces anydiff's.
    bounds, constraints
        As in SciPy. Bounds refer to the flattened ``x0``. Constraints are dicts
        ``{"type": "eq" | "ineq", "fun": c, "args": ()}``, ``NonlinearConstraint`` (their
        functions take the structure of ``x0``) or ``LinearConstraint``.
    **kwargs
        Passed to ``scipy.optimize.minimize`` (``tol``, ``options``, ``callback`` ...).

    Returns
    -------
    scipy.optimize.OptimizeResult
        SciPy's result; ``res.x`` has the structure of ``x0`` (``res.x_flat`` is SciPy's
        vector when they differ). Added: ``res.anydiff_backend`` (the backend used),
        ``res.anydiff_backend_reason`` and ``res.anydiff_stats``, a dict with the calls and
        seconds of each evaluation kind (``"fun"``, ``"gradient"``, ``"hessian"``, ``"hvp"``,
        ``"constraint_jacobian"``, ``"constraint_hessian"``, ``"prepare"``).

    Raises
    ------
    InputError
        Before SciPy starts: ``fun`` not returning a scalar, NaN or inf in ``x0``, ``fun(x0)``
        or the first derivatives at ``x0``, a constraint of the wrong form or size.
    UnsupportedOperationError
        The backend cannot run or differentiate ``fun`` (e.g. NumPy code under ``AutoJax``).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> rosen = lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    >>> res = ad.scipy.minimize(rosen, np.zeros(5), ad.AutoNumPy(), method="trust-exact")
    >>> res.success, np.allclose(res.x, 1.0)
    (True, True)
    >>> res.anydiff_stats["hessian"]["calls"] == res.nhev
    True
    """
    meth = _method_name(method, constraints, bounds)
    fl = make_flattener(x0, "x0", "minimize")
    stats = Stats()
    needs_hessian = meth in _SECOND_ORDER
    operator = None if meth in _DERIVATIVE_FREE else "hessian" if needs_hessian else "gradient"
    p = Problem("minimize", "fun", fun, fl, as_contexts(args, "minimize"), backend, scalar=True,
                sparse=needs_hessian, stats=stats, operator=operator)
    sparse = _sparse_backend(p.backend)
    cons = convert_constraints(constraints, meth, p, sparse)
    objective = _Objective(p)
    derivs = {}
    if meth not in _DERIVATIVE_FREE:
        derivs["jac"] = _user(jac, args) or objective.prepare_gradient()
    if needs_hessian and hess is None and hessp is None:
        derivs.update(objective.prepare_curvature(_SECOND_ORDER[meth], sparse))
    else:
        derivs.update({k: _user(v, args) for k, v in (("hess", hess), ("hessp", hessp)) if v is not None})
    import scipy.optimize as so

    res = so.minimize(objective.fun, fl.z0, method=method, bounds=bounds, constraints=cons, **derivs, **kwargs)
    return finish(res, p)


def _user(value, args):
    """A user-supplied derivative: callables get ``args`` appended; strategies pass through."""
    if value is None or not callable(value):
        return value
    return lambda *a: value(*a, *args)


def _method_name(method, constraints, bounds):
    if callable(method):
        return "_custom"
    if method is None:
        return "slsqp" if constraints else "l-bfgs-b" if bounds is not None else "bfgs"
    if not isinstance(method, str):
        raise InputError(f"anydiff.scipy.minimize: method must be a string, got {type(method).__name__}.\n"
                         "Hint: e.g. method='trust-constr'.")
    return method.lower()


def _sparse_backend(backend):
    if not getattr(backend, "sparse_results", False):
        return False
    if backend.sparse_output is True:
        return True
    if backend.sparse_output is False:
        return False
    raise InputError(
        f"anydiff.scipy: AutoSparse(sparse_output={backend.sparse_output!r}) results cannot be passed to SciPy.\n"
        "Hint: use ad.AutoSparse(..., sparse_output=True) (scipy.sparse, the default)."
    )


class _Objective:
    """Value, gradient and curvature of the objective, prepared once; the last gradient is kept
    with its value so that SciPy's ``fun`` and ``jac`` at the same point cost one evaluation."""

    def __init__(self, p):
        self.p = p
        self._z = self._value = self._grad = None

    def fun(self, z):
        if self._z is not None and np.array_equal(z, self._z):
            return self._value
        return float(self.p.value(z))

    def prepare_gradient(self):
        p = self.p
        prep = p.prepare(ops.prepare_gradient)
        run = p.stats.timed("gradient", lambda z: ops.value_and_gradient(p.flat_f, p.backend, z, *p.contexts,
                                                                          prep=prep))

        def jac(z):
            if self._z is None or not np.array_equal(z, self._z):
                value, grad = run(z)
                self._z, self._value, self._grad = np.array(z), float(value), np.array(grad, dtype=np.float64)
            return self._grad.copy()

        with p.explain():
            g0 = jac(p.z0)
        check_finite("minimize", "the gradient of `fun`", g0, "x0")
        return jac

    def prepare_curvature(self, kind, sparse):
        """``{"hess": ...}`` or ``{"hessp": ...}`` for SciPy, after ``kind`` and the backend."""
        p = self.p
        if not sparse and kind != "hess_dense":
            prep = p.prepare(ops.prepare_hvp)
            hvp = p.stats.timed("hvp", lambda z, v: ops.hvp(p.flat_f, p.backend, z, (np.asarray(v, dtype=np.float64),),
                                                               *p.contexts, prep=prep)[0])
            return {"hessp": lambda z, v: np.array(hvp(z, v), dtype=np.float64)}
        prep = p.prepare(ops.prepare_hessian)
        dense = kind == "hess_dense" or not sparse
        hessian = p.stats.timed("hessian", lambda z: _as_scipy(
            ops.hessian(p.flat_f, p.backend, z, *p.contexts, prep=prep), dense, p.z0.size))
        if kind != "hessp":
            return {"hess": hessian}
        cache = {}

        def hessp(z, v):  # one sparse Hessian per point, then products
            if cache.get("z") is None or not np.array_equal(z, cache["z"]):
                cache["z"], cache["H"] = np.array(z), hessian(z)
            return cache["H"] @ np.asarray(v, dtype=np.float64)

        return {"hessp": hessp}


def _as_scipy(H, dense, n):
    if hasattr(H, "toarray"):
        if dense:
            return H.toarray()
        return H if H.data.flags.writeable else H.copy()
    return np.array(H, dtype=np.float64).reshape(n, n)


def finish(res, p):
    """Add anydiff's fields to a SciPy result and give ``x`` the structure of the start."""
    res.anydiff_backend = p.backend
    res.anydiff_backend_reason = p.reason
    res.anydiff_recommendation = p.recommendation
    res.anydiff_stats = p.stats.as_dict()
    if not p.flattener.trivial and "x" in res:
        res.x_flat = res.x
        res.x = p.flattener.unflatten(res.x)
    return res
