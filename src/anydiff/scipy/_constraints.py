"""Constraints for ``anydiff.scipy.minimize``: exact Jacobians (and Hessians for trust-constr).

Accepted forms are SciPy's: ``{"type": "eq" | "ineq", "fun": c, "args": (...)}`` dicts,
``NonlinearConstraint`` and ``LinearConstraint`` (passed through). Each nonlinear constraint
gets a prepared Jacobian from the objective's backend (``scipy.sparse`` with ``AutoSparse``,
dense for SLSQP) and, for ``trust-constr``, a prepared Hessian of ``v · c(x)``.
"""

from __future__ import annotations

import numpy as np

from .. import operators as ops
from .._contexts import Constant
from .._errors import InputError
from ._common import Problem, as_contexts, cached, check_finite

__all__ = ["CONSTRAINED_METHODS", "convert_constraints"]

CONSTRAINED_METHODS = ("cobyla", "cobyqa", "slsqp", "trust-constr")
_FORM_HINT = (
    "pass a dict {'type': 'eq' or 'ineq', 'fun': callable, 'args': tuple}, a "
    "scipy.optimize.NonlinearConstraint or a scipy.optimize.LinearConstraint (or a list of them)."
)


def convert_constraints(constraints, method, objective, sparse):
    """SciPy constraints with anydiff derivatives, checked at ``x0``; ``[]`` when there are none."""
    items = _as_list(constraints)
    if items and method not in CONSTRAINED_METHODS and method != "_custom":
        raise InputError(
            f"anydiff.scipy.minimize: method {method!r} cannot handle constraints.\n"
            f"Hint: use method='trust-constr' or 'SLSQP' (or 'COBYLA'/'COBYQA') with constraints."
        )
    return [_convert_one(c, i, method, objective, sparse) for i, c in enumerate(items)]


def _as_list(constraints):
    import scipy.optimize as so

    if constraints is None:
        return []
    if isinstance(constraints, (dict, so.NonlinearConstraint, so.LinearConstraint)):
        return [constraints]
    if isinstance(constraints, (list, tuple)):
        return list(constraints)
    raise InputError(f"anydiff.scipy.minimize: constraints is a {type(constraints).__name__}.\nHint: {_FORM_HINT}")


def _convert_one(con, i, method, objective, sparse):
    import scipy.optimize as so

    name = f"constraints[{i}]"
    if isinstance(con, so.LinearConstraint):
        return con
    if isinstance(con, so.NonlinearConstraint):
        fun, args, lb, ub = con.fun, (), con.lb, con.ub
        own_jac = con.jac if callable(con.jac) else None
        own_hess = con.hess if callable(con.hess) else None
        arg, kind = f"{name}.fun", None
    elif isinstance(con, dict):
        kind, fun, args = _check_dict(con, name)
        lb, ub = 0.0, (0.0 if kind == "eq" else np.inf)
        own_jac, own_hess, arg = con.get("jac"), None, f"{name}['fun']"
        if own_jac is not None and not callable(own_jac):
            raise InputError(f"anydiff.scipy.minimize: {name}['jac'] is not callable.\n"
                             "Hint: leave 'jac' out: anydiff computes it.")
    else:
        raise InputError(f"anydiff.scipy.minimize: {name} is a {type(con).__name__}.\nHint: {_FORM_HINT}")
    p = Problem("minimize", arg, fun, objective.flattener, as_contexts(args, "minimize"), objective.backend,
                scalar=False, sparse=sparse, stats=objective.stats)
    _check_bounds(name, lb, ub, p.y0.size)
    needs_jac = method in ("slsqp", "trust-constr", "_custom")
    jac = own_jac if own_jac is not None else (_jacobian(p, dense=method == "slsqp", name=name) if needs_jac else None)
    if method == "trust-constr":
        hess = own_hess if own_hess is not None else _lagrangian_hessian(p, name)
        return so.NonlinearConstraint(p.value, lb, ub, jac=jac, hess=hess, keep_feasible=_keep(con))
    if isinstance(con, so.NonlinearConstraint):
        return so.NonlinearConstraint(p.value, lb, ub, jac=jac if jac is not None else "2-point")
    out = {"type": kind, "fun": p.value}
    if jac is not None:
        out["jac"] = jac
    return out


def _keep(con):
    return getattr(con, "keep_feasible", False)


def _check_dict(con, name):
    kind, fun = con.get("type"), con.get("fun")
    unknown = set(con) - {"type", "fun", "jac", "args"}
    if kind not in ("eq", "ineq"):
        raise InputError(f"anydiff.scipy.minimize: {name}['type'] is {kind!r}, expected 'eq' or 'ineq'.\n"
                         f"Hint: {_FORM_HINT}")
    if not callable(fun):
        raise InputError(f"anydiff.scipy.minimize: {name}['fun'] is missing or not callable.\nHint: {_FORM_HINT}")
    if unknown:
        raise InputError(f"anydiff.scipy.minimize: {name} has unknown keys {sorted(unknown)}.\nHint: {_FORM_HINT}")
    return kind, fun, tuple(con.get("args", ()))


def _check_bounds(name, lb, ub, m):
    for side, value in (("lb", lb), ("ub", ub)):
        size = np.size(value)
        if size not in (1, m):
            raise InputError(
                f"anydiff.scipy.minimize: {name}.{side} has {size} entries but the constraint function "
                f"returns {m} values at x0.\nHint: give one bound per constraint value, or a scalar."
            )


def _writable(J, dense):
    if hasattr(J, "toarray"):
        if dense:
            return J.toarray()
        return J if J.data.flags.writeable else J.copy()
    return np.array(J, dtype=np.float64)


def _jacobian(p, dense, name):
    prep = p.prepare(ops.prepare_jacobian)
    f, b, ctx = p.flat_f, p.backend, p.contexts

    def jac(z):
        return _writable(ops.jacobian(f, b, z, *ctx, prep=prep), dense)

    jac = p.stats.timed("constraint_jacobian", jac)
    with p.explain():
        J0 = jac(p.z0)
    check_finite("minimize", f"the Jacobian of {name}", J0, "x0")
    return jac


def _weighted(f, k):
    def weighted(z, *args):
        return (args[k] * f(z, *args[:k])).sum()

    return weighted


def _lagrangian_hessian(p, name):
    """``hess(x, v)``: Hessian of ``v · c(x)``, prepared once with ``v`` as a constant."""
    f, m, k = p.flat_f, p.y0.size, len(p.contexts)
    weighted = cached(("weighted", f, k), lambda: _weighted(f, k))
    prep = p.prepare(ops.prepare_hessian, weighted, Constant(np.ones(m)))
    b, ctx = p.backend, p.contexts

    def hess(z, v):
        v = np.asarray(v, dtype=np.float64)
        return _writable(ops.hessian(weighted, b, z, *ctx, Constant(v), prep=prep), dense=False)

    return p.stats.timed("constraint_hessian", hess)
