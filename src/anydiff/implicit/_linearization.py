"""The linearisation of ``F(x, y) = 0`` at one solution: JVPs and VJPs of ``y(x)``.

By the implicit function theorem, with ``A = ∂F/∂y`` and ``B = ∂F/∂x`` at ``(x, y)``:
``ty = -A⁻¹ B tx`` (JVP) and ``tx = -Bᵀ A⁻ᵀ dy`` (VJP). ``A`` is factorised once per point
and reused for every tangent and cotangent; products with ``B`` and ``Bᵀ`` are batched
pushforwards and pullbacks of the conditions with the conditions' backend.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .. import operators as ops
from .._contexts import Constant
from .._errors import (
    AnyDiffError,
    ConditionsNotSatisfiedError,
    InputError,
    PreparationMismatchError,
    UnsupportedOperationError,
)
from ._assemble import SparseLayout, csr_bytes
from ._budget import factorize_within
from ._linear import KRYLOV, factorize

__all__ = ["ImplicitInfo", "Linearization"]

DENSE_MAX = 200  # "auto": dense LU up to this many unknowns
DENSE_FALLBACK_MAX = 3000  # "auto": dense LU when sparsity detection fails, up to this size
DENSE_FRACTION = 0.2  # "auto": a detected pattern denser than this is factorised densely


@dataclass
class ImplicitInfo:
    """What the last derivative computation of an implicit function did.

    Attributes
    ----------
    linear_solver : str
        ``"splu"`` (sparse LU), ``"lu"`` (dense LU), a Krylov method (``"gmres"``,
        ``"bicgstab"``, ``"cg"``, ``"lsmr"``) or ``"callable"``.
    reason : str
        Why ``"auto"`` chose it (or ``"requested"``).
    n : int
        Number of unknowns ``y.size``.
    nnz : int or None
        Stored entries of ∂F/∂y (``None`` for matrix-free solvers).
    residual_norm : float
        Max-norm of ``F(x, y)`` at the solver's ``y``.
    condition_estimate : float or None
        1-norm condition estimate of ∂F/∂y (dense LU always; sparse LU when its pivots look
        suspicious; ``None`` otherwise).
    factorizations : int
        Factorisations (or Krylov operators) built so far by this function.
    solves : int
        Right-hand sides solved so far (tangents plus cotangents).
    krylov_iterations : int
        Total Krylov iterations of the last factorisation (0 for direct solvers).
    seconds_factorize : float
        Time spent building ∂F/∂y and factorising it, last factorisation.
    preconditioner : str or None
        ``"ilu"``, ``"ic"`` (MIC(0)) or ``"jacobi"`` for a preconditioned Krylov method on the
        sparse ∂F/∂y.
    ordering : str or None
        SuperLU's column ordering (``permc_spec``) of the sparse LU or ILU factors.
    factor_nnz : int or None
        Stored entries of the sparse LU (or ILU) factors ``L + U`` (of ``L`` for MIC(0)): their
        memory is about ``12 · factor_nnz`` bytes (8 for MIC(0)), against ``12 · nnz`` for ∂F/∂y.
    jacobian_bytes : int or None
        Bytes of the sparse ∂F/∂y (CSR/CSC with 32-bit indices), when it was built.
    memory_budget : int or None
        The budget in bytes that ``memory_limit=`` set for the linear solver (``None``: no limit).
    """

    linear_solver: str = ""
    reason: str = ""
    n: int = 0
    nnz: int | None = None
    residual_norm: float = float("nan")
    condition_estimate: float | None = None
    factorizations: int = 0
    solves: int = 0
    krylov_iterations: int = 0
    seconds_factorize: float = 0.0
    preconditioner: str | None = None
    ordering: str | None = None
    factor_nnz: int | None = None
    jacobian_bytes: int | None = None
    memory_budget: int | None = None


class Linearization:
    """∂F/∂y factorised at ``(x, y)``, with batched JVPs and VJPs of ``y(x)``."""

    def __init__(self, owner, x, y, ctx):
        x, y = np.array(x), np.array(y)  # own writable copies (backends may wrap them)
        self.owner, self.x, self.y, self.ctx = owner, x, y, ctx
        self.cctx = tuple(Constant(c) for c in ctx)
        backend = owner._conditions_backend(x, y, ctx)
        self.backend = backend
        r = np.asarray(_to_numpy(owner.conditions(_native(backend, x), _native(backend, y), *ctx)))
        if r.size != y.size:
            raise InputError(
                f"implicit_function: the conditions return {r.size} values but y has {y.size} "
                "entries; F(x, y) = 0 must have one equation per unknown.\nHint: return an array "
                "with as many elements as y (a least-squares problem is written as its "
                "optimality conditions, ad.optimality_conditions)."
            )
        self.f_shape, self.n = r.shape, y.size
        res = float(np.max(np.abs(r))) if r.size else 0.0
        del r  # not alive while ∂F/∂y is built
        owner.info.residual_norm = res
        tol = owner.residual_tol
        if tol is not None and not res <= tol:
            raise ConditionsNotSatisfiedError(
                f"implicit_function: the conditions are not satisfied at the solver's output: "
                f"max|F(x, y)| = {res:.3g} > residual_tol = {tol:.3g} (y has {y.size} entries).\n"
                "Hint: solve more accurately (tighter solver tolerance), check that the conditions "
                "match the solver, or raise residual_tol= in implicit_function (None disables "
                "the check)."
            )
        t0 = time.perf_counter()
        try:
            self.fac = self._factorize()
        except UnsupportedOperationError as err:
            raise _unsupported_backend(backend, err) from err
        info = owner.info
        info.factorizations += 1
        info.seconds_factorize = time.perf_counter() - t0
        info.linear_solver, info.n = self.fac.kind, self.n
        info.nnz, info.condition_estimate = self.fac.nnz, self.fac.cond
        info.preconditioner = getattr(self.fac, "preconditioner", None)
        info.ordering = getattr(self.fac, "ordering", None)
        info.factor_nnz = getattr(self.fac, "factor_nnz", None)
        info.jacobian_bytes = None if self.fac.nnz is None or self.fac.kind == "lu" else csr_bytes(self.fac.nnz, self.n)
        info.krylov_iterations = 0

    # ------------------------------------------------------------------ factorisation
    def _factorize(self):
        owner, n = self.owner, self.n
        kind = owner.linear_solver
        opts = {"cond_max": owner.cond_max, "rtol": owner.krylov_rtol, "maxiter": owner.krylov_maxiter,
                "n": n, "dtype": np.result_type(self.y.dtype, np.float64), "lu_options": owner.lu_options}
        owner.info.reason, owner.info.memory_budget = "requested", None
        if callable(kind):
            return factorize("callable", matvec=self._matvec, rmatvec=self._rmatvec, user=kind, **opts)
        if kind in KRYLOV and owner.preconditioner is not None:
            J, ordering = self._sparse_matrix()
            return factorize(kind, matrix=J, preconditioner=owner.preconditioner, ordering=ordering, **opts)
        if kind in KRYLOV:
            return factorize(kind, matvec=self._matvec, rmatvec=self._rmatvec, **opts)
        if kind == "lu":
            return factorize("lu", matrix=self._dense_matrix(), **opts)
        if kind == "splu":
            J, ordering = self._sparse_matrix()
            return factorize("splu", matrix=J, ordering=ordering, **opts)
        return self._auto(opts)

    def _auto(self, opts):
        owner, n, limit = self.owner, self.n, self.owner.memory_limit
        if n <= DENSE_MAX and (limit is None or 16 * n * n <= (limit[1] or 0)):
            owner.info.reason = f"n = {n} <= {DENSE_MAX}: dense LU"
            return factorize("lu", matrix=self._dense_matrix(), **opts)
        try:
            J, ordering = self._sparse_matrix()
        except AnyDiffError as err:  # no sparsity pattern (missing rule, opaque code)
            if n <= DENSE_FALLBACK_MAX and limit is None:
                owner.info.reason = f"sparsity detection failed ({type(err).__name__}); n = {n}: dense LU"
                return factorize("lu", matrix=self._dense_matrix(), **opts)
            owner.info.reason = f"sparsity detection failed ({type(err).__name__}); n = {n}: matrix-free GMRES"
            return factorize("gmres", matvec=self._matvec, rmatvec=self._rmatvec, **opts)
        if limit is not None:
            fac, owner.info.reason, owner.info.memory_budget = factorize_within(J, ordering, limit, opts)
            return fac
        if J.nnz > DENSE_FRACTION * n * n and n <= DENSE_FALLBACK_MAX:
            owner.info.reason = f"detected pattern is dense ({J.nnz} of {n * n}): dense LU"
            return factorize("lu", matrix=J.toarray(), **opts)
        owner.info.reason = f"detected sparsity: {J.nnz} nonzeros of {n}×{n}: sparse LU"
        return factorize("splu", matrix=J, ordering=ordering, **opts)

    def _dense_matrix(self):
        J = ops.jacobian(self.owner._fy, self.backend, self.y, Constant(self.x), *self.cctx)
        return np.asarray(_to_numpy(J)).reshape(self.n, self.n)

    def _sparse_matrix(self):
        """``(J, ordering)``: ∂F/∂y as CSC (pattern detected and colored once per function,
        assembled one color at a time) and SuperLU's column ordering for its pattern."""
        import scipy.sparse as sp

        from ..sparse import AutoSparse

        owner = self.owner
        rest = (self.y, Constant(self.x), *self.cctx)
        prep = owner._sparse_prep
        if prep is not None:  # checked with its own backend (the detector it was prepared with)
            try:
                prep.check(owner._fy, prep.backend, rest[0], rest[1:])
            except PreparationMismatchError:
                prep = owner._sparse_prep = None
        if prep is None:
            b = AutoSparse(self.backend, sparsity_detector=self._known_sparsity())
            prep = owner._sparse_prep = ops.prepare_jacobian(owner._fy, b, *rest)
        args = (owner._fy, prep.backend, *rest)
        plan = prep.sparse
        if plan.partition not in ("column", "row"):
            return sp.csc_matrix(ops.jacobian(*args, prep=prep)), None
        if owner._layout is None or owner._layout[0] is not prep:
            owner._layout = (prep, SparseLayout(plan))
        layout = owner._layout[1]
        return layout.assemble(self._product(layout.column), np.result_type(self.y.dtype, np.float64)), layout.ordering

    def _product(self, column):
        """``seed -> J seed`` (pushforwards) or ``seed -> Jᵀ seed`` (pullbacks) at this point."""
        shape, fun = (self.y.shape, ops.pushforward) if column else (self.f_shape, ops.pullback)
        args = (self.owner._fy, self.backend, self.y)
        prep = (ops.prepare_pushforward if column else ops.prepare_pullback)(*args, Constant(self.x), *self.cctx)

        def product(seed):
            (t,) = fun(*args, (seed.reshape(shape),), Constant(self.x), *self.cctx, prep=prep)
            return np.asarray(_to_numpy(t)).reshape(-1)

        return product

    def _known_sparsity(self):
        """The pattern of ∂F/∂y when the conditions know it (``optimality_conditions``: the
        objective's Hessian pattern, where tracing the inner gradient would fail), else ``None``."""
        from ..sparse import KnownSparsityDetector
        from ._conditions import Conditions

        conditions = self.owner.conditions
        hook = conditions.dy_sparsity if isinstance(conditions, Conditions) else None
        if hook is None or self.owner._sparse_prep is not None:
            return None
        try:
            return KnownSparsityDetector(hook(self.x, self.y, *self.ctx))
        except AnyDiffError:
            return None

    def _matvec(self, v):
        (t,) = ops.pushforward(self.owner._fy, self.backend, self.y, (np.array(v).reshape(self.y.shape),),
                               Constant(self.x), *self.cctx)
        return np.asarray(_to_numpy(t)).reshape(-1)

    def _rmatvec(self, w):
        (t,) = ops.pullback(self.owner._fy, self.backend, self.y, (np.array(w).reshape(self.f_shape),),
                            Constant(self.x), *self.cctx)
        return np.asarray(_to_numpy(t)).reshape(-1)

    # ------------------------------------------------------------------ products
    def jvp(self, TX):
        """``TX`` of shape ``(k,) + x.shape`` → ``(k,) + y.shape``."""
        TX = np.array(TX)  # writable: some backends wrap seeds without copying
        k = TX.shape[0]
        if k == 0:
            return np.zeros((0,) + self.y.shape, dtype=self.y.dtype)
        BT = ops.pushforward(self.owner._fx, self.backend, self.x, tuple(TX), Constant(self.y), *self.cctx)
        rhs = -np.stack([np.asarray(_to_numpy(t)).reshape(-1) for t in BT], axis=1)
        Z = self.fac.solve(rhs)
        self._count(k)
        return np.ascontiguousarray(Z.T).reshape((k,) + self.y.shape).astype(self.y.dtype, copy=False)

    def vjp(self, WY):
        """``WY`` of shape ``(k,) + y.shape`` → ``(k,) + x.shape``."""
        WY = np.asarray(WY)
        k = WY.shape[0]
        if k == 0:
            return np.zeros((0,) + self.x.shape, dtype=self.x.dtype)
        Z = self.fac.solve(WY.reshape(k, -1).T.astype(np.result_type(WY.dtype, np.float64)), transpose=True)
        seeds = tuple(-np.ascontiguousarray(Z[:, j]).reshape(self.f_shape) for j in range(k))
        del Z  # not alive during the pullbacks
        TX = ops.pullback(self.owner._fx, self.backend, self.x, seeds, Constant(self.y), *self.cctx)
        self._count(k)
        return np.stack([np.asarray(_to_numpy(t)).reshape(self.x.shape) for t in TX]).astype(self.x.dtype, copy=False)

    def _count(self, k):
        info = self.owner.info
        info.solves += k
        info.krylov_iterations = getattr(self.fac, "iterations", 0)
        if info.linear_solver != self.fac.kind:  # a Krylov fallback took over (CG → BiCGSTAB)
            info.reason += f"; {info.linear_solver} did not converge: {self.fac.kind}"
            info.linear_solver = self.fac.kind


def _unsupported_backend(backend, err):
    first = str(err).split("\n")[0]
    return UnsupportedOperationError(
        f"implicit_function: ∂F/∂y could not be built with backend {backend!r} ({first}).\n"
        "Hint: conditions that take a gradient themselves (ad.optimality_conditions) need a "
        "backend with forward mode for ∂F/∂y: pass backend=ad.AutoNumPy() (the default) or "
        "ad.AutoNumPy(mode='forward') to ad.implicit_function; the gradient inside the "
        "conditions may still use any mode."
    )


def _to_numpy(a):
    from .._arrays import to_numpy

    if hasattr(a, "toarray"):
        return a.toarray()
    return to_numpy(a)


def _native(backend, a):
    """``a`` in the array library the conditions are written for."""
    if backend.library == "torch":
        import torch

        return torch.tensor(np.asarray(a))
    if backend.library == "jax":
        import jax.numpy as jnp

        return jnp.asarray(a)
    return a
