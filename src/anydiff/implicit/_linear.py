"""Linear solves of implicit differentiation: ∂F/∂y · ty = rhs and its transpose.

A *factorisation* is built once per point ``(x, y)`` and reused for every tangent (JVP) and
every cotangent (VJP) at that point. Four kinds:

- ``"splu"``: sparse LU (``scipy.sparse.linalg.splu``) of the Jacobian built by ``AutoSparse``;
  transposed systems reuse the same factors (``trans="T"``). The column ordering is minimum
  degree on ``Aᵀ + A`` for a structurally symmetric pattern (PDE stencils: about half the fill
  of SciPy's default COLAMD), COLAMD otherwise.
- a Krylov method with a preconditioner (``"ilu"``: incomplete LU, ``scipy.sparse.linalg.spilu``;
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

__all__ = ["KRYLOV", "PRECONDITIONERS", "factorize"]

KRYLOV = ("gmres", "bicgstab", "cg", "lsmr")
PRECONDITIONERS = ("ilu", "jacobi")
# SuperLU without supernodes (panel_size=1, relax=1): about half the transient workspace and,
# on 2-D PDE Jacobians, no slower (benchmarks/implicit.py); lu_options= overrides every entry
LU_DEFAULTS = {"panel_size": 1, "relax": 1}
ILU_DEFAULTS = {**LU_DEFAULTS, "drop_tol": 1e-4, "fill_factor": 2.0}
_EPS = np.finfo(np.float64).eps


def _singular(n, cond, how):
    return IllConditionedError(
        f"implicit_function: ∂F/∂y ({n}×{n}) is singular or numerically singular at the solver's y "
        f"({how}; condition estimate {cond:.3g}), so y is not a differentiable function of x there."
        "\nHint: check that the conditions determine y uniquely (as many independent equations as "
        "unknowns, e.g. add regularisation), or pass linear_solver='lsmr' for a least-squares "
        "derivative."
    )


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

    def __init__(self, A, cond_max, options=None):
        A = sp.csc_matrix(A)
        n = A.shape[0]
        self.n, self.nnz = n, A.nnz
        if not np.all(np.isfinite(A.data)):
            raise _singular(n, np.inf, "∂F/∂y has non-finite entries")
        options = {**LU_DEFAULTS, "permc_spec": sparse_ordering(A), **(options or {})}
        self.ordering = options["permc_spec"]
        try:
            self.lu = spla.splu(A, **options)
        except RuntimeError as err:  # "Factor is exactly singular"
            raise _singular(n, np.inf, f"splu: {err}") from None
        self.factor_nnz = int(self.lu.nnz)  # stored entries of L and U (no copy of the factors)
        # one probe solve gives a lower bound of the condition number, ‖A‖₁ ‖A⁻¹b‖₁ / ‖b‖₁; the
        # full estimate (a few more solves) only when that bound looks suspicious
        b = np.random.default_rng(0).uniform(0.5, 1.5, n)
        anorm = spla.norm(A, 1)
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
        out = np.empty_like(cols)
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
    else :class:`IllConditionedError` (never a silently inaccurate derivative).
    """

    def __init__(self, kind, A, preconditioner, rtol, maxiter, options=None):
        A = sp.csc_matrix(A)  # one copy serves spilu, A z (CSC) and Aᵀ w (its CSR transpose view)
        n = A.shape[0]
        self.kind, self.preconditioner, self.n, self.nnz, self.cond = kind, preconditioner, n, A.nnz, None
        self.A, self.rtol, self.maxiter, self.iterations = A, rtol, maxiter, 0
        if not np.all(np.isfinite(A.data)):
            raise _singular(n, np.inf, "∂F/∂y has non-finite entries")
        self.ordering, self.factor_nnz = None, None
        if preconditioner == "ilu":
            options = {**ILU_DEFAULTS, "permc_spec": sparse_ordering(A), **(options or {})}
            self.ordering = options["permc_spec"]
            try:
                ilu = spla.spilu(A, **options)
            except RuntimeError as err:
                raise _singular(n, np.inf, f"spilu: {err}") from None
            self.factor_nnz = int(ilu.nnz)
            self.M = (spla.LinearOperator(A.shape, matvec=ilu.solve, dtype=A.dtype),
                      spla.LinearOperator(A.shape, matvec=lambda b: ilu.solve(b, trans="T"), dtype=A.dtype))
        else:
            d = A.diagonal()
            if not np.all(d != 0):
                raise _singular(n, np.inf, "the Jacobi preconditioner meets a zero diagonal entry")
            inv = 1.0 / d
            jacobi = spla.LinearOperator(A.shape, matvec=lambda b: inv * b, dtype=A.dtype)
            self.M = (jacobi, jacobi)

    def solve(self, B, transpose=False):
        A, M = (self.A.T, self.M[1]) if transpose else (self.A, self.M[0])
        cols = B.reshape(self.n, -1)
        out = np.empty_like(cols, dtype=np.result_type(cols.dtype, np.float64))
        for j in range(cols.shape[1]):
            out[:, j] = self._one(A, M, cols[:, j])
        return out.reshape(B.shape)

    def _one(self, A, M, b):
        bnorm = np.linalg.norm(b)
        if bnorm == 0:
            return np.zeros_like(b, dtype=np.float64)
        count = [0]
        extra = {"callback_type": "pr_norm"} if self.kind == "gmres" else {}
        z, info = getattr(spla, self.kind)(A, b, rtol=self.rtol, atol=0.0, M=M, maxiter=self.maxiter,
                                           callback=lambda *_: count.__setitem__(0, count[0] + 1), **extra)
        self.iterations += count[0]
        res = float(np.linalg.norm(A @ z - b) / bnorm)
        if info != 0 or not res <= 10 * self.rtol:
            raise IllConditionedError(
                f"implicit_function: {self.kind!r} with the {self.preconditioner!r} preconditioner did "
                f"not converge on the {self.n}×{self.n} system ∂F/∂y: relative residual {res:.2g} after "
                f"{count[0]} iterations (asked: {self.rtol:g}).\nHint: pass a larger krylov_maxiter, "
                "a stronger ILU (lu_options={'drop_tol': 1e-5, 'fill_factor': 10}), or "
                "linear_solver='splu' (sparse LU: more memory, no iterations)."
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
              rtol=1e-10, maxiter=None, user=None, preconditioner=None, lu_options=None):
    """One factorisation (or Krylov operator) of ∂F/∂y, reused for all right-hand sides."""
    if kind == "lu":
        return _Dense(matrix, cond_max)
    if kind == "splu":
        return _SparseLU(matrix, cond_max, lu_options)
    if kind in KRYLOV and preconditioner is not None:
        return _SparseKrylov(kind, matrix, preconditioner, rtol, maxiter, lu_options)
    if kind in KRYLOV:
        return _Krylov(kind, matvec, rmatvec, n, dtype, rtol, maxiter)
    if kind == "callable":
        return _Callable(user, matvec, rmatvec, n, dtype)
    raise InputError(  # pragma: no cover - validated by implicit_function
        f"unknown linear solver {kind!r}.\nHint: use 'auto', 'splu', 'lu', one of {KRYLOV} or a callable."
    )
