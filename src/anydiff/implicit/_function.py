"""``implicit_function``: a solver whose output is differentiated through its conditions."""

from __future__ import annotations

import hashlib

import numpy as np

from .._arrays import library_of, to_numpy
from .._errors import InputError, UnsupportedOperationError
from ._budget import parse_memory_limit
from ._linear import KRYLOV, PRECONDITIONERS
from ._linearization import ImplicitInfo, Linearization

__all__ = ["ImplicitFunction", "implicit_function"]

_SOLVERS = ("auto", "splu", "lu") + KRYLOV


def implicit_function(solver, conditions, *, backend=None, linear_solver="auto", has_aux=False,
                      residual_tol=1e-6, cond_max=1e12, output_shape=None, krylov_rtol=1e-10,
                      krylov_maxiter=None, preconditioner=None, lu_options=None, memory_limit=None):
    """Make ``y = g(x, *contexts)`` from a solver, differentiable through ``F(x, y) = 0``.

    The derivatives of ``g`` come from the implicit function theorem, never from the solver's
    iterations: with ``A = ∂F/∂y`` and ``B = ∂F/∂x`` at the solver's ``y``, a JVP solves
    ``A ty = -B tx`` and a VJP solves ``Aᵀ z = dy`` then returns ``-Bᵀ z``. ``A`` is built and
    factorised once per point and reused for every tangent and cotangent of that point.

    ``g`` works with every anydiff operator and backend (``AutoNumPy``, ``AutoJax``,
    ``AutoTorch``, ``AutoAutograd``, finite differences, ``AutoSparse``) and directly inside
    JAX code (``jax.jit``, ``jax.grad``, ``jax.jacfwd``, ``jax.vmap``; the solver runs in a
    host callback) and under torch autograd (``torch.func`` and ``.backward()``).

    Parameters
    ----------
    solver : callable
        ``solver(x, *contexts) -> y`` (or ``(y, aux)`` with ``has_aux=True``), called with
        NumPy arrays; any Python code, e.g. ``scipy.optimize.root``.
    conditions : callable
        ``conditions(x, y, *contexts) -> F``, zero at the solution, with ``F.size == y.size``.
        Differentiated with ``backend``; see :func:`fixed_point_conditions` and
        :func:`optimality_conditions` for the common cases.
    backend : Backend or str, optional
        Backend that differentiates ``conditions``. Default: ``AutoNumPy()`` when the
        conditions return NumPy arrays, ``AutoJax()`` when they return JAX arrays.
    linear_solver : str or callable
        ``"auto"`` (dense LU for ``n <= 200``; otherwise the sparsity of ∂F/∂y is detected once
        and the Jacobian, built by ``AutoSparse``, is factorised with sparse LU; matrix-free
        GMRES when detection fails on large problems), ``"splu"``, ``"lu"``, ``"gmres"``,
        ``"bicgstab"``, ``"cg"`` (∂F/∂y symmetric positive definite), ``"lsmr"`` (the Krylov
        methods are matrix-free, fed with JVPs and VJPs of the conditions, unless a
        ``preconditioner`` is given), or a callable ``solve(A, b) -> z`` with ``A`` a
        ``scipy.sparse.linalg.LinearOperator``.
    has_aux : bool
        The solver returns ``(y, aux)``; ``g`` returns ``(y, aux)`` and ``aux`` is not
        differentiated (not supported inside JAX-traced code).
    residual_tol : float or None
        ``max|F(x, y)|`` above this raises :class:`~anydiff.ConditionsNotSatisfiedError` when
        derivatives are requested; ``None`` disables the check.
    cond_max : float
        Condition estimates of ∂F/∂y above this warn (:class:`~anydiff.ConditioningWarning`);
        numerically singular matrices raise :class:`~anydiff.IllConditionedError`.
    output_shape : tuple of int, optional
        Shape of ``y``, needed when ``g`` is traced without values (inside ``jax.jit`` or by the
        global sparsity tracer) before any call on concrete values.
    krylov_rtol, krylov_maxiter : float, int
        Tolerance and iteration cap of the Krylov solvers.
    preconditioner : {None, "ilu", "ic", "jacobi"}
        With ``linear_solver="gmres"``, ``"bicgstab"`` (or ``"cg"`` with ``"ic"`` or ``"jacobi"``):
        build the sparse ∂F/∂y (detected pattern, ``AutoSparse``) and precondition the Krylov
        method by its incomplete LU (``scipy.sparse.linalg.spilu``, default ``drop_tol=1e-4``,
        ``fill_factor=2``), its modified incomplete Cholesky with zero fill (``"ic"``, for a
        symmetric ∂F/∂y; the diagonal if it breaks down) or its diagonal. Memory stays within a few times that of ∂F/∂y (sparse
        LU's fill-in grows faster on 2-D and 3-D grids) at the price of iterations. Each solve is
        checked: a true relative residual above ``10 · krylov_rtol`` raises
        :class:`~anydiff.IllConditionedError`.
    lu_options : dict, optional
        Keyword arguments for ``splu`` (sparse LU) or ``spilu`` (the ILU preconditioner), e.g.
        ``{"permc_spec": "COLAMD"}`` or ``{"drop_tol": 1e-5, "fill_factor": 10}``. The default
        ordering is ``"MMD_AT_PLUS_A"`` for structurally symmetric patterns, else ``"COLAMD"``.
    memory_limit : float or str, optional
        With ``linear_solver="auto"``: a budget for what the linear solver stores (∂F/∂y, its
        factors or preconditioner, the Krylov work vectors), as a multiple of the bytes of the
        sparse ∂F/∂y (``memory_limit=3``) or a size (``"500 MB"``). Sparse LU is used when its
        factors fit (capped fill probe); otherwise CG preconditioned by a modified incomplete
        Cholesky factor with zero fill, MIC(0), when ∂F/∂y is real, symmetric and has a positive
        diagonal (Jacobi if MIC(0) breaks down or does not fit), else BiCGSTAB with an ILU
        preconditioner sized to the budget (Jacobi when none fits; GMRES if BiCGSTAB fails).
        ``g.info.reason`` says which and why. The default ``None`` favours speed: sparse LU,
        whose fill-in grows like ``n log n`` on 2-D grids (8-12× the Jacobian's bytes at
        n = 1e4-1e5 for a 5-point stencil, against 2.2-2.9× with ``memory_limit=3``).
        Evaluating the conditions to build ∂F/∂y comes on top of the budget.

    Returns
    -------
    ImplicitFunction
        Callable ``g(x, *contexts)``; ``g.info`` (:class:`ImplicitInfo`) tells which linear
        solver the last derivative used, the residual, the condition estimate and counts.

    Raises
    ------
    ConditionsNotSatisfiedError
        The solver's ``y`` does not satisfy the conditions (message states ``max|F|``).
    IllConditionedError
        ∂F/∂y is singular or numerically singular (message states the condition estimate).

    Examples
    --------
    Ridge regression ``y(λ) = argmin ‖Xy − t‖² + λ‖y‖²``, differentiated w.r.t. ``λ``:

    >>> import numpy as np, anydiff as ad
    >>> rng = np.random.default_rng(0)
    >>> X, t = rng.normal(size=(20, 3)), rng.normal(size=20)
    >>> def solver(lam):
    ...     return np.linalg.solve(X.T @ X + lam[0] * np.eye(3), X.T @ t)
    >>> def conditions(lam, y):                   # gradient of the objective / 2
    ...     return X.T @ (X @ y - t) + lam[0] * y
    >>> g = ad.implicit_function(solver, conditions)
    >>> lam = np.array([0.5])
    >>> J = ad.jacobian(g, ad.AutoNumPy(), lam)   # shape (3, 1)
    >>> exact = -np.linalg.solve(X.T @ X + 0.5 * np.eye(3), solver(lam))
    >>> np.allclose(J[:, 0], exact)
    True
    >>> g.info.linear_solver
    'lu'
    """
    return ImplicitFunction(
        solver, conditions, backend=backend, linear_solver=linear_solver, has_aux=has_aux,
        residual_tol=residual_tol, cond_max=cond_max, output_shape=output_shape,
        krylov_rtol=krylov_rtol, krylov_maxiter=krylov_maxiter, preconditioner=preconditioner,
        lu_options=lu_options, memory_limit=memory_limit,
    )


class ImplicitFunction:
    """Callable returned by :func:`implicit_function` (see there)."""

    def __init__(self, solver, conditions, *, backend=None, linear_solver="auto", has_aux=False,
                 residual_tol=1e-6, cond_max=1e12, output_shape=None, krylov_rtol=1e-10,
                 krylov_maxiter=None, preconditioner=None, lu_options=None, memory_limit=None):
        from ..backends import resolve_backend

        for name, fun in (("solver", solver), ("conditions", conditions)):
            if not callable(fun):
                raise InputError(f"implicit_function: {name} must be callable, got {type(fun).__name__}.\n"
                                 f"Hint: pass the {name} function itself.")
        if not callable(linear_solver) and linear_solver not in _SOLVERS:
            raise InputError(f"implicit_function: unknown linear_solver {linear_solver!r}.\n"
                             f"Hint: use one of {_SOLVERS} or a callable solve(A, b).")
        _check_preconditioner(linear_solver, preconditioner, lu_options)
        self.memory_limit = parse_memory_limit(memory_limit)
        if memory_limit is not None and linear_solver != "auto":
            raise InputError(
                f"implicit_function: memory_limit applies to linear_solver='auto', not to "
                f"{linear_solver!r}.\nHint: drop linear_solver= to let the budget choose the solver, "
                "or drop memory_limit= to use the solver you named.")
        self.preconditioner, self.lu_options = preconditioner, dict(lu_options or {})
        self.solver, self.conditions, self.has_aux = solver, conditions, bool(has_aux)
        self.backend = None if backend is None else resolve_backend(backend)
        self.linear_solver, self.residual_tol, self.cond_max = linear_solver, residual_tol, float(cond_max)
        self.krylov_rtol, self.krylov_maxiter = float(krylov_rtol), krylov_maxiter
        self.output_shape = None if output_shape is None else tuple(int(k) for k in np.atleast_1d(output_shape))
        self.info = ImplicitInfo()
        self._y_structs = {}  # (x.shape, x.dtype) -> (y.shape, y.dtype) seen so far
        # fixed function objects: anydiff's preparations recognise a function by identity (a bound
        # method is a new object at every attribute access), so the sparse Jacobian's
        # preparation (detection and coloring) is reused at every new point
        self._fy, self._fx = self._y_first, self._x_first
        self._sparse_prep = None
        self._layout = None  # (prep, SparseLayout): index arrays of ∂F/∂y's pattern, built once
        self._last = None  # (key, Linearization) of the last point
        self._jax_fun = None
        self._ag_fun = None
        self.__name__ = getattr(solver, "__name__", "solver")

    def __repr__(self):
        return f"implicit_function({self.__name__}, linear_solver={self.linear_solver!r})"

    # the conditions with y (resp. x) first; stored once as self._fy / self._fx (see __init__)
    def _y_first(self, y, x, *ctx):
        return self.conditions(x, y, *ctx)

    def _x_first(self, x, y, *ctx):
        return self.conditions(x, y, *ctx)

    def _conditions_backend(self, x, y, ctx):
        if self.backend is None:
            from ..backends import AutoJax, AutoNumPy

            lib = library_of(self.conditions(x, y, *ctx))
            self.backend = AutoJax() if lib == "jax" else AutoNumPy()
        return self.backend

    # ------------------------------------------------------------------ calls
    def __call__(self, x, *ctx):
        from .._numpy_scope import plain_numpy
        from . import _engines

        with plain_numpy():  # solvers (the user's, SciPy's Krylov) see plain NumPy in an engine's call
            return _engines.dispatch(self, x, ctx)

    def solve_numpy(self, x, ctx):
        """Run the solver on NumPy ``x``: ``(y, aux)`` with ``y`` a NumPy array."""
        out = self.solver(x, *ctx)
        y, aux = out if self.has_aux else (out, None)
        y = np.asarray(to_numpy(y))
        if y.dtype.kind not in "fc":
            y = y.astype(np.float64)
        self._y_structs[(np.shape(x), np.asarray(x).dtype.str)] = (y.shape, y.dtype)
        return y, aux

    def y_struct(self, shape, dtype):
        """Shape and dtype of ``y`` for inputs of this shape and dtype, without running the solver."""
        known = self._y_structs.get((tuple(shape), np.dtype(dtype).str))
        if known is not None:
            return known[0], np.dtype(dtype)
        if self.output_shape is not None:
            return self.output_shape, np.dtype(dtype)
        raise UnsupportedOperationError(
            f"{self!r} is traced without values (jax.jit or the global sparsity tracer), so the "
            "shape of the solver's output is unknown.\nHint: pass output_shape= to "
            "ad.implicit_function, or call g once on a NumPy array of this shape first."
        )

    def linearize(self, x, y, ctx):
        """The :class:`Linearization` at ``(x, y)``, reused while the point does not change."""
        key = _key(x, y, ctx)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        lin = Linearization(self, x, y, ctx)
        self._last = (key, lin)
        return lin

    def jvp_numpy(self, x, y, ctx, TX):
        return self.linearize(x, y, ctx).jvp(TX)

    def vjp_numpy(self, x, y, ctx, WY):
        return self.linearize(x, y, ctx).vjp(WY)


def _check_preconditioner(linear_solver, preconditioner, lu_options):
    if preconditioner is None:
        pass
    elif preconditioner not in PRECONDITIONERS:
        raise InputError(f"implicit_function: unknown preconditioner {preconditioner!r}.\n"
                         f"Hint: use one of {PRECONDITIONERS} or None.")
    elif linear_solver not in ("gmres", "bicgstab", "cg") or (linear_solver == "cg" and preconditioner == "ilu"):
        raise InputError(
            f"implicit_function: preconditioner={preconditioner!r} does not apply to "
            f"linear_solver={linear_solver!r}.\nHint: use linear_solver='gmres' or 'bicgstab' "
            "(any preconditioner) or 'cg' with preconditioner='ic' or 'jacobi' (CG needs a "
            "symmetric one)."
        )
    if lu_options is not None and not isinstance(lu_options, dict):
        raise InputError(f"implicit_function: lu_options must be a dict, got {type(lu_options).__name__}.\n"
                         "Hint: pass keyword arguments of scipy.sparse.linalg.splu / spilu as a dict.")


def _key(x, y, ctx):
    h = hashlib.blake2b(digest_size=16)
    for a in (x, y):
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.data)
    parts = []
    for c in ctx:
        if isinstance(c, np.ndarray):
            h.update(np.ascontiguousarray(c).data)
            parts.append((c.shape, c.dtype.str))
        elif isinstance(c, (int, float, complex, str, bool)) or c is None:
            parts.append(c)
        else:
            parts.append(id(c))
    return h.hexdigest(), tuple(parts)
