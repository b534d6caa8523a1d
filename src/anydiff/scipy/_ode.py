"""Jacobians for stiff ODE solvers: ``ode_jacobian`` and a one-line ``solve_ivp``."""

from __future__ import annotations

import numpy as np

from .. import operators as ops
from .._contexts import Constant
from .._errors import InputError
from ._common import Problem, Stats, as_contexts, cached, check_finite, check_size, make_flattener
from ._minimize import _sparse_backend

__all__ = ["OdeJacobian", "ode_jacobian", "solve_ivp"]

_IMPLICIT = ("bdf", "radau", "lsoda")


class OdeJacobian:
    """The prepared Jacobian ``∂f/∂y`` of an ODE right-hand side; made by :func:`ode_jacobian`.

    Call it as ``jac(y)`` or ``jac(t, y)`` (the form ``solve_ivp`` uses). Results are
    ``scipy.sparse.csc_matrix`` with an ``AutoSparse`` backend (a fresh matrix per call, with
    exactly the detected pattern and sorted indices: the format ``BDF`` and ``Radau`` convert
    to before ``splu``, so SciPy's conversion copies nothing), dense ``(n, n)`` arrays
    otherwise. Attributes: ``backend``, ``sparsity`` (the detected pattern, or None),
    ``ncolors``, ``stats`` (calls and seconds, as ``res.anydiff_stats``).
    """

    def __init__(self, problem, timed, dense):
        p = problem
        self.backend, self._timed, self._dense = p.backend, timed, dense
        self._p = p
        prep = p.prepare(ops.prepare_jacobian)
        self._prep = prep
        plan = getattr(prep, "details", None)  # AutoSparse: its SparsePlan (pattern and coloring)
        self.sparsity = None if plan is None else plan.pattern
        self.ncolors = None if plan is None else int(plan.ncolors)
        self._csc = None  # (CSR indptr, CSR indices, permutation CSR -> CSC, CSC indices, CSC indptr)
        self._jac = p.stats.timed("jacobian", self._evaluate)
        with p.explain():
            J0 = self._evaluate(p.z0, *p.tail0)
        check_finite(p.func, f"the Jacobian of `{p.arg}`", J0, p.flattener.what)

    def _evaluate(self, z, *tail):
        p = self._p
        J = ops.jacobian(p.flat_f, p.backend, z, *p.contexts[:len(p.contexts) - len(tail)],
                         *(Constant(float(t)) for t in tail), prep=self._prep)
        if hasattr(J, "toarray"):
            return J.toarray() if self._dense else self._as_csc(J)
        return np.array(J, dtype=np.float64).reshape(p.z0.size, p.z0.size)

    def _as_csc(self, J):
        """``J`` (CSR, the prepared pattern) as a fresh ``csc_matrix``: one gather of its values."""
        import scipy.sparse as sp

        if J.format != "csr":
            return sp.csc_matrix(J)
        if self._csc is None or not (np.array_equal(self._csc[0], J.indptr)
                                     and np.array_equal(self._csc[1], J.indices)):
            order = sp.csr_array((np.arange(J.nnz), J.indices, J.indptr), shape=J.shape).tocsc()
            order.sort_indices()
            self._csc = (J.indptr.copy(), J.indices.copy(), order.data, order.indices, order.indptr)
        perm, indices, indptr = self._csc[2:]
        return sp.csc_matrix((J.data[perm], indices.copy(), indptr.copy()), shape=J.shape)

    def __call__(self, *args):
        if len(args) == 2:
            t, y = args
            return self._jac(np.asarray(y, dtype=np.float64), t) if self._timed else self._jac(
                np.asarray(y, dtype=np.float64))
        if len(args) == 1:
            if self._timed:
                raise InputError("This OdeJacobian is for f(t, y, ...): call it as jac(t, y).\n"
                                 "Hint: pass both the time and the state.")
            return self._jac(np.asarray(args[0], dtype=np.float64))
        raise InputError(f"OdeJacobian takes (y) or (t, y), got {len(args)} arguments.\nHint: call jac(t, y).")

    @property
    def stats(self):
        """Calls and seconds of each evaluation kind (a dict, as ``res.anydiff_stats``)."""
        return self._p.stats.as_dict()

    def __repr__(self):
        return f"OdeJacobian(backend={self.backend!r}, ncolors={self.ncolors})"


def ode_jacobian(f, backend, y0, *contexts, t0=None, dense=False):
    """Prepared Jacobian ``∂f/∂y`` for ``solve_ivp(method="BDF" | "Radau" | "LSODA", jac=...)``.

    Parameters
    ----------
    f : callable
        ``f(y, *contexts)`` for an autonomous system, or, when ``t0`` is given,
        SciPy's form ``f(t, y, *contexts)``. ``y`` is a 1-D array (or a pytree, raveled).
    backend : Backend or str
        ``ad.AutoSparse(ad.AutoNumPy())`` or ``ad.AutoSparse(ad.AutoJax())`` give
        ``scipy.sparse`` Jacobians (sparsity detected and colored once); ``"auto"`` chooses
        after the code of ``f``.
    y0 : array_like or pytree
        A state like the ones the solver will pass (the preparation point).
    *contexts
        Extra arguments of ``f`` (values, or ``ad.Constant``/``ad.Cache``).
    t0 : float, optional
        Start time; its presence means ``f`` takes ``(t, y, ...)``.
    dense : bool
        Return dense arrays even from a sparse backend (``LSODA`` needs them).

    Returns
    -------
    OdeJacobian
        ``jac(t, y)`` (or ``jac(y)`` for an autonomous ``f``).

    Raises
    ------
    InputError
        ``f`` not returning one value per state entry, NaN or inf at ``y0``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> def rober(y):          # Robertson's stiff chemical kinetics
    ...     a, b, c = y[0], y[1], y[2]
    ...     return np.stack([-0.04 * a + 1e4 * b * c, 0.04 * a - 1e4 * b * c - 3e7 * b**2, 3e7 * b**2])
    >>> jac = ad.scipy.ode_jacobian(rober, ad.AutoNumPy(), np.array([1.0, 0.0, 0.0]))
    >>> jac(0.0, np.array([1.0, 0.0, 0.0]))[0]
    array([-0.04,  0.  ,  0.  ])
    """
    fl = make_flattener(y0, "y0", "ode_jacobian")
    ctx = as_contexts(tuple(contexts), "ode_jacobian")
    return _build(f, backend, fl, ctx, t0, dense, Stats(), "ode_jacobian")


def _build(f, backend, fl, ctx, t0, dense, stats, func):
    timed = t0 is not None
    g = cached(("time_last", f), lambda: _time_last(f)) if timed else f
    extra = (Constant(float(t0)),) if timed else ()
    p = Problem(func, "fun" if func == "solve_ivp" else "f", g, fl, ctx + extra, backend, scalar=False,
                sparse=True, stats=stats, varying=len(extra), operator="jacobian")
    check_size(func, f"`{p.arg}`(y0)", p.y0.size, fl.size, "the right-hand side returns dy/dt, one entry per state.")
    return OdeJacobian(p, timed, dense or not _sparse_backend(p.backend))


def _implicit_kind(method):
    """``"bdf"``, ``"radau"``, ``"lsoda"`` (also for subclasses of SciPy's solvers), or None."""
    if isinstance(method, str):
        return method.lower()
    import scipy.integrate as si

    if isinstance(method, type):
        for name, cls in (("lsoda", si.LSODA), ("radau", si.Radau), ("bdf", si.BDF)):
            if issubclass(method, cls):
                return name
    return None


def _with_lu(method, lu_options, made):
    """``method`` (a SciPy ``BDF`` or ``Radau``, or a subclass) whose sparse LU is ``splu`` with
    ``lu_options`` over anydiff's default ordering (:func:`anydiff._sparse_lu.sparse_ordering`,
    chosen once per solve from the pattern of the first matrix). Dense runs are left alone.
    Each instance is appended to ``made`` (the caller reads the options used from it)."""
    import scipy.integrate as si
    from scipy.sparse import issparse
    from scipy.sparse.linalg import splu

    from .._sparse_lu import sparse_ordering

    base = {"bdf": si.BDF, "radau": si.Radau}[method.lower()] if isinstance(method, str) else method
    options = dict(lu_options or {})

    class WithLU(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)
            if issparse(self.J):
                chosen = {}

                def lu(A):
                    self.nlu += 1
                    if not chosen:
                        chosen.update({"permc_spec": sparse_ordering(A), **options})
                        self.anydiff_lu_options = dict(chosen)
                    return splu(A, **chosen)

                self.lu = lu

    WithLU.__name__ = WithLU.__qualname__ = f"{base.__name__}WithLU"
    return WithLU


def _time_last(f):
    """``f(t, y, *c)`` as ``g(y, *c, t)`` (contexts come after the differentiated argument)."""

    def g(y, *args):
        return f(args[-1], y, *args[:-1])

    return g


def solve_ivp(fun, t_span, y0, backend="auto", *, method="BDF", args=None, jac=None, lu_options=None, **kwargs):
    """``scipy.integrate.solve_ivp`` with the exact (sparse) Jacobian, in one line.

    For the implicit methods (``BDF``, ``Radau``, ``LSODA``) the Jacobian comes from
    :func:`ode_jacobian` (``scipy.sparse`` with an ``AutoSparse`` backend, dense for
    ``LSODA``); explicit methods only get the function. ``fun`` runs with the backend's array
    library (jitted under JAX), so ``jax.numpy`` and torch right-hand sides work too.

    Parameters
    ----------
    fun : callable
        ``fun(t, y, *args) -> dy/dt``.
    t_span, y0
        As in SciPy; ``y0`` may also be a pytree (``sol.y`` then holds the raveled states).
    backend : Backend or str
        ``"auto"`` picks the backend after the code of ``fun`` and, from 100 unknowns on,
        wraps it in ``AutoSparse``; below that, for NumPy code, ``ad.recommend`` chooses
        between the forward and reverse NumPy engine.
    method : str or OdeSolver subclass
        Default ``"BDF"``. Subclasses of SciPy's ``BDF``, ``Radau`` and ``LSODA`` get the
        Jacobian as their parent does.
    args : tuple, optional
        Extra arguments of ``fun``.
    jac : callable or array, optional
        Replaces anydiff's Jacobian.
    lu_options : dict or "scipy", optional
        The sparse LU of ``BDF`` and ``Radau`` (their Newton matrices ``I - cJ`` with a sparse
        Jacobian, where most of a stiff solve's time goes): keyword arguments for
        ``scipy.sparse.linalg.splu``. By default anydiff passes ``permc_spec="MMD_AT_PLUS_A"``
        (minimum degree on ``Aᵀ + A``) when the matrix is structurally symmetric, else
        SciPy's ``"COLAMD"``; on the 2-D Brusselator (N = 64) this makes the whole solve about
        3× faster than SciPy's default ordering. Entries given here override it;
        ``"scipy"`` keeps SciPy's own LU. Dense Jacobians and ``LSODA`` are not affected.
    **kwargs
        Passed to ``scipy.integrate.solve_ivp`` (``rtol``, ``atol``, ``t_eval`` ...).

    Returns
    -------
    OdeResult
        SciPy's result plus ``anydiff_backend``, ``anydiff_backend_reason``, ``anydiff_stats``,
        ``anydiff_jacobian`` (the :class:`OdeJacobian`, or None) and ``anydiff_lu_options``
        (the ``splu`` options used, or None when SciPy's own LU ran).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> sol = ad.scipy.solve_ivp(lambda t, y: -50.0 * (y - np.cos(t)), (0.0, 1.0), np.zeros(2), "numpy")
    >>> sol.success, sol.njev >= 1, round(float(sol.y[0, -1]), 2)
    (True, True, 0.56)
    """
    fl = make_flattener(y0, "y0", "solve_ivp")
    ctx = as_contexts(tuple(args) if args is not None else (), "solve_ivp")
    meth = _implicit_kind(method)
    t0 = float(t_span[0])
    if meth in _IMPLICIT and jac is None:
        jacobian = _build(fun, backend, fl, ctx, t0, meth == "lsoda", Stats(), "solve_ivp")
        p = jacobian._p
        kwargs["jac"] = jacobian
    else:
        jacobian = None
        g = cached(("time_last", fun), lambda: _time_last(fun))
        p = Problem("solve_ivp", "fun", g, fl, ctx + (Constant(t0),), backend, scalar=False, sparse=False, varying=1)
        if jac is not None:
            kwargs["jac"] = jac if not callable(jac) or args is None else (lambda t, y: jac(t, y, *args))
    value = p.value
    import scipy.integrate as si

    if lu_options is not None and lu_options != "scipy" and not isinstance(lu_options, dict):
        raise InputError(f"solve_ivp: lu_options must be a dict or 'scipy', got {lu_options!r}.\n"
                         "Hint: pass keyword arguments of scipy.sparse.linalg.splu, e.g. "
                         "{'permc_spec': 'COLAMD'}, or 'scipy' for SciPy's own LU.")
    made = []
    if meth in ("bdf", "radau") and lu_options != "scipy":
        method = _with_lu(method, lu_options, made)
    sol = si.solve_ivp(lambda t, z: value(z, float(t)), t_span, fl.z0, method=method, **kwargs)
    sol.anydiff_lu_options = getattr(made[0], "anydiff_lu_options", None) if made else None
    sol.anydiff_backend, sol.anydiff_backend_reason = p.backend, p.reason
    sol.anydiff_recommendation = p.recommendation
    sol.anydiff_stats, sol.anydiff_jacobian = p.stats.as_dict(), jacobian
    return sol
