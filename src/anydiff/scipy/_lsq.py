"""``anydiff.scipy.least_squares`` and ``anydiff.scipy.root``: exact (sparse) Jacobians for SciPy."""

from __future__ import annotations

import numpy as np

from .. import operators as ops
from .._errors import InputError
from ._common import Problem, as_contexts, check_finite, check_size, make_flattener
from ._minimize import _sparse_backend, _user, finish

__all__ = ["least_squares", "root"]

#: root methods that use the Jacobian (all others are quasi-Newton or Krylov methods)
_ROOT_JACOBIAN = ("hybr", "lm")


def _prepared_jacobian(p, dense, func):
    """SciPy's ``jac(z)``: the prepared Jacobian, checked at the start (that first result is
    returned again to SciPy's first call at the start instead of being recomputed)."""
    prep = p.prepare(ops.prepare_jacobian)
    f, b, ctx, n = p.flat_f, p.backend, p.contexts, p.z0.size

    def jacobian(z):
        J = ops.jacobian(f, b, z, *ctx, prep=prep)
        if hasattr(J, "toarray"):
            return J.toarray() if dense else (J if J.data.flags.writeable else J.copy())
        return np.array(J, dtype=np.float64).reshape(-1, n)

    jacobian = p.stats.timed("jacobian", jacobian)
    with p.explain():
        first = [p.z0.copy(), jacobian(p.z0)]
    check_finite(func, f"the Jacobian of `{p.arg}`", first[1], p.flattener.what)

    def jac(z):
        if first and np.array_equal(z, first[0]):
            J = first[1]
            first.clear()  # returned once: SciPy may modify it
            return J
        first.clear()
        return jacobian(z)

    return jac


def least_squares(fun, x0, backend="auto", *, args=(), jac=None, method="trf", tr_solver=None, **kwargs):
    """``scipy.optimize.least_squares`` with the exact Jacobian (``scipy.sparse`` when sparse).

    The Jacobian is prepared once (``ad.prepare_jacobian``: with ``ad.AutoSparse(...)`` the
    sparsity pattern is detected and colored once) and each SciPy call costs one compressed
    evaluation. With a sparse Jacobian ``tr_solver="lsmr"`` is chosen (SciPy's ``"exact"``
    needs dense matrices); ``method="lm"`` gets the dense matrix.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> residuals`` (an array of any shape, or a pytree: raveled).
    x0 : array_like or pytree
        Starting point (see :func:`minimize` for pytrees).
    backend : Backend or str
        ``"auto"`` picks the backend after the code of ``fun`` and, from 100 unknowns on,
        wraps it in ``AutoSparse``; below that, for NumPy code, ``ad.recommend`` chooses
        between the forward and reverse NumPy engine.
    args : tuple
        Extra arguments of ``fun`` (not differentiated).
    jac : callable, optional
        Replaces anydiff's Jacobian (SciPy's ``"2-point"`` etc. also pass through).
    method, tr_solver, **kwargs
        As in ``scipy.optimize.least_squares``.

    Returns
    -------
    scipy.optimize.OptimizeResult
        With ``anydiff_backend``, ``anydiff_backend_reason`` and ``anydiff_stats`` as in
        :func:`minimize`.

    Raises
    ------
    InputError
        NaN or inf in ``x0``, the residuals or the Jacobian at ``x0``.
    UnsupportedOperationError
        The backend cannot run or differentiate ``fun``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> t = np.linspace(0.0, 1.0, 20)
    >>> data = 2.0 * np.exp(-1.5 * t)
    >>> res = ad.scipy.least_squares(lambda p: p[0] * np.exp(-p[1] * t) - data, np.ones(2), ad.AutoNumPy())
    >>> np.round(res.x, 6)
    array([2. , 1.5])
    """
    fl = make_flattener(x0, "x0", "least_squares")
    p = Problem("least_squares", "fun", fun, fl, as_contexts(args, "least_squares"), backend,
                scalar=False, sparse=True, operator="jacobian")
    if jac is None:
        sparse = _sparse_backend(p.backend) and method != "lm"
        jac = _prepared_jacobian(p, dense=not sparse, func="least_squares")
        if sparse and tr_solver is None:
            tr_solver = "lsmr"
    else:
        jac = _user(jac, args)
    if tr_solver is not None:
        kwargs["tr_solver"] = tr_solver
    import scipy.optimize as so

    res = so.least_squares(p.value, fl.z0, jac=jac, method=method, **kwargs)
    return finish(res, p)


def root(fun, x0, backend="auto", *, method="hybr", args=(), jac=None, **kwargs):
    """``scipy.optimize.root`` with the exact Jacobian for the methods that use one.

    ``hybr`` and ``lm`` get the prepared Jacobian (dense: MINPACK takes dense matrices; with
    ``ad.AutoSparse(...)`` it is computed by colored products and then densified). The other
    methods (Broyden, Anderson, Krylov, ...) do not use a Jacobian: they only get the function,
    run with the backend's array library.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> residuals`` with as many entries as ``x`` (at least as many for
        ``method="lm"``).
    x0 : array_like or pytree
        Starting point.
    backend : Backend or str
        As in :func:`least_squares`.
    method : str
        As in ``scipy.optimize.root``.
    args, jac, **kwargs
        As in :func:`least_squares` and ``scipy.optimize.root``.

    Returns
    -------
    scipy.optimize.OptimizeResult
        With ``anydiff_backend``, ``anydiff_backend_reason`` and ``anydiff_stats``.

    Raises
    ------
    InputError
        ``fun`` returning the wrong number of values, NaN or inf at ``x0``.
    UnsupportedOperationError
        The backend cannot run or differentiate ``fun``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> res = ad.scipy.root(lambda x: x**3 - np.array([8.0, 27.0]), np.ones(2), ad.AutoNumPy())
    >>> np.round(res.x, 8)
    array([2., 3.])
    """
    meth = method.lower() if isinstance(method, str) else method
    uses_jac = meth in _ROOT_JACOBIAN
    fl = make_flattener(x0, "x0", "root")
    p = Problem("root", "fun", fun, fl, as_contexts(args, "root"), backend, scalar=False, sparse=uses_jac,
                operator="jacobian" if uses_jac else None)
    n, m = fl.size, p.y0.size
    if meth == "lm" and m < n:
        raise InputError(f"anydiff.scipy.root: `fun` returns {m} values for {n} unknowns; method='lm' needs at "
                         "least as many.\nHint: add residuals, or use least_squares.")
    if meth != "lm":
        check_size("root", "fun(x0)", m, n, "root finding needs as many equations as unknowns; for "
                   "over-determined systems use ad.scipy.least_squares.")
    if uses_jac:
        jac = _user(jac, args) or _prepared_jacobian(p, dense=True, func="root")
        kwargs["jac"] = jac
    import scipy.optimize as so

    res = so.root(p.value, fl.z0, method=method, **kwargs)
    return finish(res, p)
