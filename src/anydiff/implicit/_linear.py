"""Linear solves of implicit differentiation: ∂F/∂y · ty = rhs and its transpose.

A *factorisation* is built once per point ``(x, y)`` and reused for every tangent (JVP) and
every cotangent (VJP) at that point. Four kinds:

- ``"splu"``: sparse LU (``scipy.sparse.linalg.splu``) of the Jacobian built by ``AutoSparse``;
  transposed systems reuse the same factors (``trans="T"``).
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

__all__ = ["KRYLOV", "factorize"]

KRYLOV = ("gmres", "bicgstab", "cg", "lsmr")
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

    def __init__(self, A, cond_max):
        A = sp.csc_matrix(A)
        n = A.shape[0]
        self.n, self.nnz = n, A.nnz
        if not np.all(np.isfinite(A.data)):
            raise _singular(n, np.inf, "∂F/∂y has non-finite entries")
        try:
            self.lu = spla.splu(A)
        except RuntimeError as err:  # "Factor is exactly singular"
            raise _singular(n, np.inf, f"splu: {err}") from None
        d = np.abs(self.lu.U.diagonal())
        ratio = d.max() / d.min() if d.min() > 0 else np.inf
        self.cond = None  # only estimated when the pivots look suspicious (it costs a few solves)
        if ratio > min(cond_max, 1e8) ** 0.5 or not np.isfinite(ratio):
            inv = spla.LinearOperator(A.shape, matvec=self.lu.solve, rmatvec=lambda b: self.lu.solve(b, trans="T"))
            self.cond = float(spla.norm(A, 1) * spla.onenormest(inv)) if np.isfinite(ratio) else np.inf
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
              rtol=1e-10, maxiter=None, user=None):
    """One factorisation (or Krylov operator) of ∂F/∂y, reused for all right-hand sides."""
    if kind == "lu":
        return _Dense(matrix, cond_max)
    if kind == "splu":
        return _SparseLU(matrix, cond_max)
    if kind in KRYLOV:
        return _Krylov(kind, matvec, rmatvec, n, dtype, rtol, maxiter)
    if kind == "callable":
        return _Callable(user, matvec, rmatvec, n, dtype)
    raise InputError(  # pragma: no cover - validated by implicit_function
        f"unknown linear solver {kind!r}.\nHint: use 'auto', 'splu', 'lu', one of {KRYLOV} or a callable."
    )
