"""Linear solves of implicit differentiation: ∂F/∂y · ty = rhs and its transpose.

A *factorisation* is built once per point ``(x, y)`` and reused for every tangent (JVP) and
every cotangent (VJP) at that point. Four kinds:

- ``"splu"``: sparse LU (``scipy.sparse.linalg.splu``) of the Jacobian built by ``AutoSparse``;
  transposed systems reuse the same factors (``trans="T"``). The column ordering is minimum
  degree on ``Aᵀ + A`` for a structurally symmetric pattern (PDE stencils: about half the fill
  of SciPy's default COLAMD), COLAMD otherwise.
- a Krylov method with a preconditioner (``"ilu"``: incomplete LU, ``scipy.sparse.linalg.spilu``;
  ``"ic"``: modified incomplete Cholesky with zero fill, for symmetric ∂F/∂y, see ``_ichol``;
  ``"jacobi"``: the diagonal) on that sparse Jacobian: memory close to the Jacobian's own.
- ``"lu"``: dense LU (``scipy.linalg.lu_factor``) with a LAPACK condition estimate.
- ``"gmres"``, ``"bicgstab"``, ``"cg"``, ``"lsmr"``: matrix-free Krylov solvers of
  ``scipy.sparse.linalg`` fed with JVPs (``A v``) and VJPs (``Aᵀ w``) of the conditions.
- a user callable ``solve(A, b)`` receiving a ``scipy.sparse.linalg.LinearOperator``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._errors import ConditioningWarning, IllConditionedError, InputError
from .._sparse_lu import sparse_ordering
from ._assemble import norm1

__all__ = ["KRYLOV", "PRECONDITIONERS", "factorize"]

KRYLOV = ("gmres", "bicgstab", "cg", "lsmr")
PRECONDITIONERS = ("ilu", "ic", "jacobi")
# SuperLU without supernodes (panel_size=1, relax=1): about half the transient workspace and,
# on 2-D PDE Jacobians, no slower (benchmarks/implicit.py); lu_options= overrides every entry
LU_DEFAULTS = {"panel_size": 1, "relax": 1}
ILU_DEFAULTS = {**LU_DEFAULTS, "drop_tol": 1e-4, "fill_factor": 2.0}
_EPS = np.finfo(np.float64).eps
REFINEMENTS = 4  # Krylov solves on the sparse ∂F/∂y: at most this many passes of residual refinement


def _singular(n, cond, how):
    return IllConditionedError(
        f"implicit_function: ∂F/∂y ({n}×{n}) is singular or numerically singular at the solver's y "
        f"({how}; condition estimate {cond:.3g}), so y is not a differentiable function of x there."
        "\nHint: check that the conditions determine y uniquely (as many independent equations as "
        "unknowns, e.g. add regularisation), or pass linear_solver='lsmr' for a least-squares "
        "derivative."
    )


def _with_ordering(defaults, A, ordering, options):
    """SuperLU options: ``defaults``, then the column ordering, then the user's ``options``."""
    options = {**defaults, **(options or {})}
    if "permc_spec" not in options:
        options["permc_spec"] = ordering if ordering is not None else sparse_ordering(A)
    return options


def _check_condition(n, cond, cond_max, solver):
    if not np.isfinite(cond) or cond * _EPS >= 1.0:
        raise _singular(n, cond, solver)
    if cond > cond_max:
        warnings.warn(
            f"implicit_function: ∂F/∂y is badly conditioned (condition estimate {cond:.3g} > "
            f"{cond_max:.3g}); derivatives may have lost about {np.log10(cond):.0f} digits.\n"
            "Hint: rescale the unknowns or the conditions, or pass cond_max= to implicit_function.",
            ConditioningWarning,
            stacklevel=4,
        )


class _Dense:
    kind = "lu"

    def __init__(self, A, cond_max):
        A = np.asarray(A.toarray() if sp.issparse(A) else A)
        n = A.shape[0]
        self.n, self.nnz = n, int(np.count_nonzero(A))
        if not np.all(np.isfinite(A)):
            raise _singular(n, np.inf, "∂F/∂y has non-finite entries")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sla.LinAlgWarning)
            self.lu = sla.lu_factor(A, check_finite=False)
        gecon = sla.get_lapack_funcs("gecon", (self.lu[0],))
        anorm = np.linalg.norm(A, 1)
        rcond, _ = gecon(self.lu[0], anorm, norm="1")
        self.cond = np.inf if rcond == 0 or anorm == 0 else 1.0 / rcond
        _check_condition(n, self.cond, cond_max, "dense LU")

    def solve(self, B, transpose=False):
        return sla.lu_solve(self.lu, B, trans=1 if transpose else 0, check_finite=False)


class _SparseLU:
    kind = "splu"
    preconditioner = None

    def __init__(self, A, cond_max, options=None, lu=None, ordering=None):
        A = sp.csc_matrix(A)  # no copy of a CSC matrix
        n = A.shape[0]
        self.n, self.nnz = n, A.nnz
        if not np.all(np.isfinite(A.data)):
            raise _singular(n, np.inf, "∂F/∂y has non-finite entries")
        options = _with_ordering(LU_DEFAULTS, A, ordering, options)
        self.ordering = options["permc_spec"]
        try:
            self.lu = spla.splu(A, **options) if lu is None else lu
        except RuntimeError as err:  # "Factor is exactly singular"
            raise _singular(n, np.inf, f"splu: {err}") from None
        self.factor_nnz = int(self.lu.nnz)  # stored entries of L and U (no copy of the factors)
        # one probe solve gives a lower bound of the condition number, ‖A‖₁ ‖A⁻¹b‖₁ / ‖b‖₁; the
        # full estimate (a few more solves) only when that bound looks suspicious
        b = np.random.default_rng(0).uniform(0.5, 1.5, n)
        anorm = norm1(A)
        z = self.lu.solve(b)
        bound = anorm * np.sum(np.abs(z)) / np.sum(b) if np.all(np.isfinite(z)) else np.inf
        self.cond = None
        if not bound <= min(cond_max, 1e8) ** 0.5:
            inv = spla.LinearOperator(A.shape, matvec=self.lu.solve, rmatvec=lambda b: self.lu.solve(b, trans="T"))
            self.cond = float(anorm * spla.onenormest(inv)) if np.isfinite(bound) else np.inf
            _check_condition(n, self.cond, cond_max, "sparse LU")

    def solve(self, B, transpose=False):
        return self.lu.solve(np.asarray(B, dtype=np.float64), trans="T" if transpose else "N")


class _Krylov:
    def __init__(self, kind, matvec, rmatvec, n, dtype, rtol, maxiter):
        self.kind, self.n, self.nnz, self.cond = kind, n, None, None
        self.op = spla.LinearOperator((n, n), matvec=matvec, rmatvec=rmatvec, dtype=dtype)
        self.rtol, self.maxiter, self.iterations = rtol, maxiter, 0

    def solve(self, B, transpose=False):
        op = self.op.H if transpose else self.op
        cols = np.atleast_2d(B.T).T if B.ndim == 1 else B
        out = np.empty_like(cols, dtype=np.result_type(cols.dtype, self.op.dtype))  # complex ∂F/∂y, real b
        for j in range(cols.shape[1]):
            out[:, j] = self._one(op, cols[:, j])
        return out.reshape(B.shape)

    def _one(self, op, b):
        if not np.any(b):
            return np.zeros_like(b)
        count = [0]

        def callback(*_):
            count[0] += 1

        if self.kind == "lsmr":
            maxiter = self.maxiter if self.maxiter is not None else 10 * self.n
            res = spla.lsmr(op, b, atol=self.rtol, btol=self.rtol, maxiter=maxiter)
            z, info, count[0] = res[0], (0 if res[1] in (1, 2, 4, 5) else 1), res[2]
        else:
            solver = getattr(spla, self.kind)
            extra = {"callback_type": "legacy"} if self.kind == "gmres" else {}
            z, info = solver(op, b, rtol=self.rtol, atol=0.0, maxiter=self.maxiter, callback=callback, **extra)
        self.iterations += count[0]
        if info != 0:
            raise IllConditionedError(
                f"implicit_function: the Krylov solver {self.kind!r} did not converge on the "
                f"{self.n}×{self.n} system ∂F/∂y (after {count[0]} iterations, rtol={self.rtol:g})."
                "\nHint: pass linear_solver='splu' (sparse LU) or 'lu', a preconditioned solver as "
                "a callable, or a larger krylov_maxiter."
            )
        return z


class _SparseKrylov:
    """A Krylov method on the explicit sparse ∂F/∂y with an ILU or Jacobi preconditioner.

    Every solve is checked: the true residual ``‖A z − b‖`` must be within ``10 · rtol · ‖b‖``,
    else :class:`IllConditionedError` (never a silently inaccurate derivative). With a
    ``fallback`` method, a solve that fails is retried once with it (CG on a matrix that is not
    positive definite), and the fallback serves every later solve.
    """

    def __init__(self, kind, A, preconditioner, rtol, maxiter, options=None, ordering=None, fallback=None):
        A = sp.csc_matrix(A)  # one matrix serves spilu, A z (CSC) and Aᵀ w (its CSR transpose view)
        n = A.shape[0]
        self.kind, self.preconditioner, self.n, self.nnz, self.cond = kind, preconditioner, n, A.nnz, None
        self.A, self.rtol, self.maxiter, self.iterations, self.fallback = A, rtol, maxiter, 0, fallback
        if not np.all(np.isfinite(A.data)):
            raise _singular(n, np.inf, "∂F/∂y has non-finite entries")
        self.ordering, self.factor_nnz = None, None
        self.M = (self._ilu(options, ordering) if preconditioner == "ilu"
                  else self._ic() if preconditioner == "ic" else self._jacobi())

    def _ilu(self, options, ordering):
        A = self.A
        options = _with_ordering(ILU_DEFAULTS, A, ordering, options)
        self.ordering = options["permc_spec"]
        try:
            ilu = spla.spilu(A, **options)
        except RuntimeError as err:
            raise _singular(self.n, np.inf, f"spilu: {err}") from None
        self.factor_nnz = int(ilu.nnz)
        return (spla.LinearOperator(A.shape, matvec=ilu.solve, dtype=A.dtype),
                spla.LinearOperator(A.shape, matvec=lambda b: ilu.solve(b, trans="T"), dtype=A.dtype))

    def _ic(self):
        from ._ichol import IncompleteCholesky

        if not np.isrealobj(self.A.data):
            raise InputError(
                "implicit_function: preconditioner='ic' needs a real ∂F/∂y, this one is complex.\n"
                "Hint: use preconditioner='ilu' or 'jacobi' for complex unknowns.")
        ic = IncompleteCholesky(self.A)
        if not ic.ok:  # a pivot that is not positive: precondition by the diagonal instead
            self.preconditioner = "jacobi"
            return self._jacobi()
        self.factor_nnz = int(ic.L.size)  # stored entries of L (A's lower part: zero fill)
        op = spla.LinearOperator(self.A.shape, matvec=ic.solve, dtype=self.A.dtype)
        return op, op  # L Lᵀ is symmetric: the transposed systems use it as well

    def _jacobi(self):
        d = self.A.diagonal()
        if not np.all(d != 0):
            raise _singular(self.n, np.inf, "the Jacobi preconditioner meets a zero diagonal entry")
        inv = 1.0 / d
        jacobi = spla.LinearOperator(self.A.shape, matvec=lambda b: inv * b, dtype=self.A.dtype)
        return jacobi, jacobi

    def solve(self, B, transpose=False):
        A, M = (self.A.T, self.M[1]) if transpose else (self.A, self.M[0])
        cols = B.reshape(self.n, -1)
        out = np.empty_like(cols, dtype=np.result_type(cols.dtype, self.A.dtype, np.float64))
        for j in range(cols.shape[1]):
            try:
                out[:, j] = self._one(A, M, cols[:, j])
            except IllConditionedError:
                if self.fallback is None:
                    raise
                self.kind, self.fallback = self.fallback, None  # e.g. CG met an indefinite matrix
                out[:, j] = self._one(A, M, cols[:, j])
        return out.reshape(B.shape)

    def _one(self, A, M, b):
        """One solve, refined while the true residual (not the Krylov method's recursively
        updated one, which drifts) is above ``10 · rtol · ‖b‖``: ``z += A⁻¹ (b − A z)``."""
        bnorm = np.linalg.norm(b)
        if bnorm == 0:
            return np.zeros_like(b, dtype=np.float64)
        count, target = [0], self.rtol * bnorm
        extra = {"callback_type": "pr_norm"} if self.kind == "gmres" else {}
        z, r, res, info = None, b, bnorm, 0
        for _ in range(REFINEMENTS):
            d, info = getattr(spla, self.kind)(A, r, rtol=0.0, atol=target, M=M, maxiter=self.maxiter,
                                               callback=lambda *_: count.__setitem__(0, count[0] + 1), **extra)
            z = d if z is None else z + d
            r = b - A @ z
            last, res = res, float(np.linalg.norm(r))
            if res <= 10 * target or not res < last:  # converged, or no longer improving (a breakdown
                break  # of BiCGSTAB often is: the next pass starts from another residual)
        self.iterations += count[0]
        if not res <= 10 * target:
            raise IllConditionedError(
                f"implicit_function: {self.kind!r} with the {self.preconditioner!r} preconditioner did "
                f"not converge on the {self.n}×{self.n} system ∂F/∂y: relative residual {res / bnorm:.2g} "
                f"after {count[0]} iterations (asked: {self.rtol:g}).\nHint: pass a larger krylov_maxiter, "
                "a stronger ILU (lu_options={'drop_tol': 1e-5, 'fill_factor': 10}) or a larger "
                "memory_limit, or linear_solver='splu' (sparse LU: more memory, no iterations)."
            )
        return z


class _Callable:
    kind = "callable"

    def __init__(self, solve, matvec, rmatvec, n, dtype):
        self.user, self.n, self.nnz, self.cond = solve, n, None, None
        self.op = spla.LinearOperator((n, n), matvec=matvec, rmatvec=rmatvec, dtype=dtype)

    def solve(self, B, transpose=False):
        op = self.op.H if transpose else self.op
        cols = B.reshape(self.n, -1)
        out = np.stack([np.asarray(self.user(op, cols[:, j]), dtype=B.dtype).reshape(self.n) for j in range(cols.shape[1])], axis=1)
        return out.reshape(B.shape)


def factorize(kind, *, matrix=None, matvec=None, rmatvec=None, n=None, dtype=np.float64, cond_max=1e12,
              rtol=1e-10, maxiter=None, user=None, preconditioner=None, lu_options=None, ordering=None,
              lu=None, fallback=None):
    """One factorisation (or Krylov operator) of ∂F/∂y, reused for all right-hand sides.

    ``ordering``: SuperLU's column ordering when ``lu_options`` names none (default: from the
    pattern); ``lu``: factors already computed (``"splu"``); ``fallback``: a Krylov method for
    solves where ``kind`` fails.
    """
    if kind == "lu":
        return _Dense(matrix, cond_max)
    if kind == "splu":
        return _SparseLU(matrix, cond_max, lu_options, lu=lu, ordering=ordering)
    if kind in KRYLOV and preconditioner is not None:
        return _SparseKrylov(kind, matrix, preconditioner, rtol, maxiter, lu_options, ordering, fallback)
    if kind in KRYLOV:
        return _Krylov(kind, matvec, rmatvec, n, dtype, rtol, maxiter)
    if kind == "callable":
        return _Callable(user, matvec, rmatvec, n, dtype)
    raise InputError(  # pragma: no cover - validated by implicit_function
        f"unknown linear solver {kind!r}.\nHint: use 'auto', 'splu', 'lu', one of {KRYLOV} or a callable."
    )
