"""``memory_limit``: the linear solver of ``linear_solver="auto"`` chosen to fit a memory budget.

The budget counts what the solver stores: the sparse ∂F/∂y (CSR/CSC bytes), the factors of a
sparse LU or an ILU preconditioner (up to 16 bytes per stored entry in SuperLU, which also works
on its own copy of ∂F/∂y while it factorises) and the work vectors of a solve. The rule, in order:

1. **Sparse LU** when its factors fit: ``spilu`` with no dropping (``drop_tol=0``) and its fill
   capped at what the budget leaves is a complete LU if the cap is not reached; one probe solve
   tells (normwise backward error at round-off level). The fill-in of an exact LU grows like
   ``n log n`` on 2-D grids and faster in 3-D, so large PDE Jacobians do not fit a few times
   their own size.
2. **CG with a modified incomplete Cholesky preconditioner, MIC(0)** (zero fill: the memory of
   ∂F/∂y's values) when ∂F/∂y is symmetric (a random probe) with a positive diagonal; Jacobi
   when MIC(0) does not fit or breaks down; BiCGSTAB if CG fails.
3. **BiCGSTAB with an ILU preconditioner** (``drop_tol=1e-4``) whose fill fits the budget, or
   with a Jacobi preconditioner when not even an ILU as large as ∂F/∂y fits (GMRES, with more
   work vectors, if BiCGSTAB fails).
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse.linalg as spla

from .._errors import InputError
from ._assemble import csr_bytes, norm1
from ._linear import ILU_DEFAULTS, LU_DEFAULTS, factorize

__all__ = ["parse_memory_limit", "factorize_within"]

LU_ENTRY_BYTES = 16  # SuperLU's memory per stored entry of L + U (value, indices, bookkeeping; measured)
WORK_VECTORS = 8  # Krylov work vectors (BiCGSTAB 8, CG 5) and the solve's own right-hand side copies
ILU_MAX_FILL = 2.0
DENSE_MAX = 200  # dense LU up to this many unknowns when it fits  # ILU preconditioner: at most this fill factor even when the budget allows more
_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def parse_memory_limit(value):
    """``memory_limit`` as ``(multiple, bytes)``: one of them set, or ``None``.

    A number is a multiple of the bytes of ∂F/∂y's sparse matrix (CSR); a string with a unit
    (``"64 MB"``, ``"1.5 GiB"``) is an absolute budget.

    Examples
    --------
    >>> parse_memory_limit(3)
    (3.0, None)
    >>> parse_memory_limit("64 MB")
    (None, 64000000)
    """
    if value is None:
        return None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmg]i?b|b)\s*", value.lower())
        if m is not None and float(m.group(1)) > 0:
            return None, int(float(m.group(1)) * _UNITS[m.group(2)])
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if np.isfinite(value) and value >= 1:
            return float(value), None
    raise InputError(
        f"implicit_function: memory_limit={value!r} is not a memory budget.\nHint: pass a number "
        ">= 1 (a multiple of the bytes of the sparse ∂F/∂y, e.g. memory_limit=3), a size with a "
        "unit such as '500 MB', or None (no limit: sparse LU)."
    )


def factorize_within(J, ordering, limit, opts):
    """Factorise (or precondition) the CSC matrix ``J`` within the budget; ``(fac, reason, budget)``."""
    n, nnz = J.shape[0], J.nnz
    jac = csr_bytes(nnz, n)
    user_lu = opts.get("lu_options") or {}
    multiple, absolute = limit
    budget = int(multiple * jac) if multiple is not None else absolute
    head = (f"memory_limit {_mb(budget)} ({budget / jac:.3g}× the {_mb(jac)} of the sparse ∂F/∂y, "
            f"{nnz} nonzeros)")
    if n <= DENSE_MAX and 16 * n * n <= budget:  # the dense matrix and its LU factors
        return factorize("lu", matrix=J.toarray(), **opts), f"{head}: n = {n}: dense LU fits", budget
    room = budget - jac - WORK_VECTORS * 8 * n  # what a preconditioner's or LU's factors may use
    cap = (room - jac) / (LU_ENTRY_BYTES * nnz)  # SuperLU works on its own (permuted) copy of ∂F/∂y
    if cap >= 1.0:
        lu = _complete_lu(J, cap, ordering)
        if lu is not None:
            fac = factorize("splu", matrix=J, lu=lu, ordering=ordering, **opts)
            return fac, f"{head}: sparse LU fits ({lu.nnz} factor entries)", budget
        why = f"sparse LU's factors exceed {cap:.2g}× the entries of ∂F/∂y"
    else:
        why = "no room for sparse LU factors"
    if np.isrealobj(J.data) and _symmetric(J) and np.all(J.diagonal() > 0):
        pre = "ic" if room >= 4 * nnz + 16 * n else "jacobi"  # MIC(0): the lower part's values
        fac = factorize("cg", matrix=J, preconditioner=pre, fallback="bicgstab", **opts)
        what = {"ic": "CG + MIC(0)", "jacobi": "CG + Jacobi"}[fac.preconditioner]
        if pre != fac.preconditioner:
            what += " (MIC(0) broke down)"
        return fac, f"{head}: {why}; ∂F/∂y is symmetric with a positive diagonal: {what}", budget
    fill = min(cap, ILU_MAX_FILL)
    if fill >= 1.0:
        lu_options = {**ILU_DEFAULTS, "fill_factor": fill, "permc_spec": ordering, **user_lu}
        fac = factorize("bicgstab", matrix=J, preconditioner="ilu", fallback="gmres",
                        **{**opts, "lu_options": lu_options})
        return fac, f"{head}: {why}; BiCGSTAB + ILU (fill_factor {fill:.2g})", budget
    fac = factorize("bicgstab", matrix=J, preconditioner="jacobi", fallback="gmres", **opts)
    return fac, f"{head}: {why}, no room for an ILU either; BiCGSTAB + Jacobi", budget


def _complete_lu(J, cap, ordering):
    """``spilu`` without dropping and with its fill capped: the complete LU if it fits, else ``None``."""
    try:
        lu = spla.spilu(J, drop_tol=0.0, fill_factor=cap, permc_spec=ordering, **LU_DEFAULTS)
    except RuntimeError:  # exactly singular: the Krylov path reports it with its residual
        return None
    b = np.random.default_rng(0).uniform(0.5, 1.5, J.shape[0])
    z = lu.solve(b)
    backward = np.sum(np.abs(J @ z - b)) / (norm1(J) * np.sum(np.abs(z)) + np.sum(b))
    return lu if backward <= 1e-10 else None  # a dropped entry leaves an O(1) backward error


def _symmetric(J):
    """``xᵀ J y == yᵀ J x`` for random ``x, y`` (to round-off): ``J`` is (numerically) symmetric."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(J.shape[0]), rng.standard_normal(J.shape[0])
    Jy, Jx = J @ y, J @ x
    scale = np.linalg.norm(x) * np.linalg.norm(Jy) + np.linalg.norm(y) * np.linalg.norm(Jx)
    return bool(abs(x @ Jy - y @ Jx) <= 1e-10 * scale)


def _mb(nbytes):
    return f"{nbytes / 1e6:.3g} MB"
