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
        ``"ilu"`` or ``"jacobi"`` for a preconditioned Krylov method on the sparse ∂F/∂y.
    ordering : str or None
        SuperLU's column ordering (``permc_spec``) of the sparse LU or ILU factors.
    factor_nnz : int or None
        Stored entries of the sparse LU (or ILU) factors ``L + U``: their memory is about
        ``12 · factor_nnz`` bytes, against ``12 · nnz`` for ∂F/∂y itself.
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
        info.krylov_iterations = 0

    # ------------------------------------------------------------------ factorisation
    def _factorize(self):
        owner, n = self.owner, self.n
        kind = owner.linear_solver
        opts = {"cond_max": owner.cond_max, "rtol": owner.krylov_rtol, "maxiter": owner.krylov_maxiter,
                "n": n, "dtype": np.result_type(self.y.dtype, np.float64), "lu_options": owner.lu_options}
        if callable(kind):
            owner.info.reason = "requested"
            return factorize("callable", matvec=self._matvec, rmatvec=self._rmatvec, user=kind, **opts)
        if kind in KRYLOV and owner.preconditioner is not None:
            owner.info.reason = "requested"
            return factorize(kind, matrix=self._sparse_matrix(by_color=True), preconditioner=owner.preconditioner,
                             **opts)
        if kind in KRYLOV:
            owner.info.reason = "requested"
            return factorize(kind, matvec=self._matvec, rmatvec=self._rmatvec, **opts)
        if kind == "lu":
            owner.info.reason = "requested"
            return factorize("lu", matrix=self._dense_matrix(), **opts)
        if kind == "splu":
            owner.info.reason = "requested"
            return factorize("splu", matrix=self._sparse_matrix(), **opts)
        return self._auto(opts)

    def _auto(self, opts):
        owner, n = self.owner, self.n
        if n <= DENSE_MAX:
            owner.info.reason = f"n = {n} <= {DENSE_MAX}: dense LU"
            return factorize("lu", matrix=self._dense_matrix(), **opts)
        try:
            J = self._sparse_matrix()
        except AnyDiffError as err:  # no sparsity pattern (missing rule, opaque code)
            if n <= DENSE_FALLBACK_MAX:
                owner.info.reason = f"sparsity detection failed ({type(err).__name__}); n = {n}: dense LU"
                return factorize("lu", matrix=self._dense_matrix(), **opts)
            owner.info.reason = f"sparsity detection failed ({type(err).__name__}); n = {n}: matrix-free GMRES"
            return factorize("gmres", matvec=self._matvec, rmatvec=self._rmatvec, **opts)
        if J.nnz > DENSE_FRACTION * n * n and n <= DENSE_FALLBACK_MAX:
            owner.info.reason = f"detected pattern is dense ({J.nnz} of {n * n}): dense LU"
            return factorize("lu", matrix=J.toarray(), **opts)
        owner.info.reason = f"detected sparsity: {J.nnz} nonzeros of {n}×{n}: sparse LU"
        return factorize("splu", matrix=J, **opts)

    def _dense_matrix(self):
        J = ops.jacobian(self.owner._fy, self.backend, self.y, Constant(self.x), *self.cctx)
        return np.asarray(_to_numpy(J)).reshape(self.n, self.n)

    def _sparse_matrix(self, by_color=False):
        """∂F/∂y as CSR (pattern detected and colored once per function). ``by_color``: one
        compressed product per color instead of all colors in one batch (less memory)."""
        from ..sparse import AutoSparse

        owner = self.owner
        b = AutoSparse(self.backend, sparsity_detector=self._known_sparsity())
        args = (owner._fy, b, self.y, Constant(self.x), *self.cctx)
        prep = owner._sparse_prep
        if prep is not None:
            try:
                prep.check(*args[:3], args[3:])
            except PreparationMismatchError:
                prep = None
        if prep is None:
            prep = owner._sparse_prep = ops.prepare_jacobian(*args)
        plan = prep.sparse
        if by_color and plan.partition in ("column", "row"):
            return self._by_color(plan)
        return ops.jacobian(*args, prep=prep)

    def _by_color(self, plan):
        """Decompress ∂F/∂y (as CSC) one color at a time: the peak holds one tangent, not all."""
        import scipy.sparse as sp

        S = sp.csc_matrix(plan.pattern)
        S.sort_indices()
        column = plan.partition == "column"
        colors = np.asarray(plan.coloring.colors).astype(np.int32)
        cols = np.repeat(np.arange(S.shape[1], dtype=np.int32), np.diff(S.indptr))
        picks, reads = (cols, S.indices) if column else (S.indices, cols)  # color of an entry; where to read it
        of_entry = colors[picks]
        order = np.argsort(of_entry, kind="stable").astype(np.int32)
        bounds = np.searchsorted(of_entry[order], np.arange(int(colors.max(initial=-1)) + 2))
        del of_entry, cols
        data = np.zeros(S.nnz, dtype=np.result_type(self.y.dtype, np.float64))
        shape, fun = (self.y.shape, ops.pushforward) if column else (self.f_shape, ops.pullback)
        args = (self.owner._fy, self.backend, self.y)
        prep = None
        for c in range(len(bounds) - 1):
            seed = (colors == c).astype(data.dtype).reshape(shape)
            if prep is None:
                prep = (ops.prepare_pushforward if column else ops.prepare_pullback)(
                    *args, Constant(self.x), *self.cctx)
            (t,) = fun(*args, (seed,), Constant(self.x), *self.cctx, prep=prep)
            at = order[bounds[c]:bounds[c + 1]]
            data[at] = np.asarray(_to_numpy(t)).reshape(-1)[reads[at]]
        return sp.csc_matrix((data, S.indices, S.indptr), shape=S.shape)

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
        Z = self.fac.solve(WY.reshape(k, -1).T.astype(np.float64), transpose=True)
        seeds = tuple(-np.ascontiguousarray(Z[:, j]).reshape(self.f_shape) for j in range(k))
        TX = ops.pullback(self.owner._fx, self.backend, self.x, seeds, Constant(self.y), *self.cctx)
        self._count(k)
        return np.stack([np.asarray(_to_numpy(t)).reshape(self.x.shape) for t in TX]).astype(self.x.dtype, copy=False)

    def _count(self, k):
        info = self.owner.info
        info.solves += k
        info.krylov_iterations = getattr(self.fac, "iterations", 0)


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
