"""``scipy.linalg`` functions in NumPy terms, for the engines to substitute while they run ``f``.

SciPy's dense linear algebra converts its inputs with ``np.asarray`` and calls LAPACK, so no
engine object can pass through it. Each function here computes the same mathematical function
from NumPy calls the engines already differentiate (``np.linalg.solve``, ``cholesky``, ...),
reading exactly the entries SciPy reads: ``assume_a="sym"`` or ``cholesky(lower=False)`` use
one triangle of ``a``, so the other triangle gets no derivative, as in SciPy. Options that
change which function is computed and that are not covered raise ``MissingRuleError``.
``overwrite_*`` and ``check_finite`` are accepted and ignored (permissions, not results).

>>> import numpy as np
>>> a = np.array([[4.0, 1.0], [9.0, 3.0]])  # scipy reads the upper triangle for assume_a="sym"
>>> solve(a, np.ones(2), assume_a="sym")
array([0.18181818, 0.27272727])
"""

from __future__ import annotations

import numpy as np

from .._errors import MissingPrimalError, MissingRuleError

__all__: list[str] = []

_GENERAL = (None, "gen", "general")
_SYMMETRIC = ("sym", "symmetric", "her", "hermitian", "pos", "positive definite")
_HINT = "Hint: use the default options, or wrap the call with ad.differentiate_with(...)."


def _refuse(what):
    raise MissingRuleError(f"scipy.linalg.{what} is not supported while differentiating.\n{_HINT}")


def _mirror(a, lower, hermitian=True):
    """The symmetric (Hermitian) matrix SciPy sees when it reads one triangle of ``a``."""
    tri = np.tril(a, -1) if lower else np.triu(a, 1)
    diag = np.diagonal(a, axis1=-2, axis2=-1)
    if hermitian:
        diag = np.real(diag) if np.iscomplexobj(a) else diag
    part = np.swapaxes(np.conj(tri) if hermitian else tri, -1, -2)
    return tri + part + diag[..., None] * np.eye(np.shape(a)[-1])


def _structured(a, assume_a, lower, name):
    """``a`` as the structure ``assume_a`` tells SciPy to read."""
    if assume_a in _GENERAL:
        return a
    if assume_a in _SYMMETRIC:
        return _mirror(a, lower, hermitian=assume_a not in ("sym", "symmetric"))
    if assume_a in ("diagonal",):
        return np.diagonal(a, axis1=-2, axis2=-1)[..., None] * np.eye(np.shape(a)[-1])
    if assume_a in ("upper triangular", "lower triangular"):
        return np.tril(a) if assume_a.startswith("lower") else np.triu(a)
    if assume_a in ("tridiagonal",):
        return np.triu(np.tril(a, 1), -1)
    _refuse(f"{name}(..., assume_a={assume_a!r})")


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True, assume_a=None,
          transposed=False):
    """``scipy.linalg.solve``: ``np.linalg.solve`` on the entries SciPy reads."""
    m = _structured(a, assume_a, lower, "solve")
    if transposed:
        m = np.swapaxes(m, -1, -2)
    if np.ndim(b) == np.ndim(m) - 1 and np.ndim(m) > 2:
        _refuse("solve with a stack of matrices and a vector right-hand side")
    if assume_a in ("pos", "positive definite"):  # through Cholesky: LinAlgError unless positive definite
        return _cholesky_solve(np.linalg.cholesky(m), b)
    return np.linalg.solve(m, b)


def _cholesky_solve(factor, b):
    """``x`` with ``L L^H x = b`` for a lower factor ``L``."""
    return np.linalg.solve(np.conj(np.swapaxes(factor, -1, -2)), np.linalg.solve(factor, b))


def inv(a, overwrite_a=False, check_finite=True, *, assume_a=None, lower=False):
    """``scipy.linalg.inv``."""
    m = _structured(a, assume_a, lower, "inv")
    if assume_a in ("pos", "positive definite"):
        return _cholesky_solve(np.linalg.cholesky(m), np.broadcast_to(np.eye(np.shape(m)[-1]), np.shape(m)))
    return np.linalg.inv(m)


def det(a, overwrite_a=False, check_finite=True):
    """``scipy.linalg.det``."""
    return np.linalg.det(a)


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """``scipy.linalg.cholesky``: the upper factor ``U`` (``a = U^H U``) unless ``lower``."""
    factor = np.linalg.cholesky(_mirror(a, lower))
    return factor if lower else np.conj(np.swapaxes(factor, -1, -2))


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``scipy.linalg.cho_factor``: ``(c, lower)``, the factor in one triangle of ``c`` and
    ``a``'s entries in the other (which ``cho_solve`` does not read)."""
    factor = cholesky(a, lower=lower)
    rest = np.triu(a, 1) if lower else np.tril(a, -1)
    return factor + rest, lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """``scipy.linalg.cho_solve``: two triangular solves with the factor in ``c``."""
    c, lower = c_and_lower
    t = np.tril(c) if lower else np.triu(c)
    th = np.conj(np.swapaxes(t, -1, -2))
    return _cholesky_solve(t if lower else th, b)  # a = L L^H or U^H U


def lu_factor(a, overwrite_a=False, check_finite=True):
    """``scipy.linalg.lu_factor``: ``(lu, piv)`` by Gaussian elimination with partial pivoting
    in NumPy terms (the pivots, integers, carry no derivative; between pivot changes ``lu`` is
    a smooth function of ``a``, differentiated exactly to any order)."""
    if np.ndim(a) != 2:
        _refuse("lu_factor of a stack of matrices")
    try:
        return _lu_pivoted(a)
    except MissingPrimalError:  # the global sparsity detector: no values, so no pivots
        if np.shape(a)[0] != np.shape(a)[1]:
            raise
        # every entry of lu may depend on every entry of a (some pivot order does): a dense block;
        # the pivots stay unknown (indexing with them raises MissingPrimalError)
        return np.linalg.inv(a), np.argmax(a, axis=0)


def _lu_pivoted(a):
    """LAPACK's ``getrf`` steps (the pivot: the first entry of largest ``|re| + |im|``), right
    looking: ``s`` is the active block, ``left`` the multipliers of its rows found so far."""
    m, n = np.shape(a)
    dtype = np.result_type(getattr(a, "dtype", np.float64), np.float32)  # SciPy's: float32 stays
    s, left, rows, piv = a, np.zeros((m, 0), dtype=dtype), [], []
    for k in range(min(m, n)):
        column = s[:, 0]
        mag = np.abs(np.real(column)) + np.abs(np.imag(column)) if np.iscomplexobj(a) else np.abs(column)
        p = int(np.argmax(mag))
        piv.append(k + p)
        if p:  # interchange rows 0 and p of what remains, multipliers included
            order = np.arange(m - k)
            order[0], order[p] = p, 0
            s, left = s[order], left[order]
        rows.append(np.concatenate([left[0], s[0]]))
        pivot = s[0, 0]
        below = s[1:, 0] if not np.any(mag) else s[1:, 0] / pivot  # a zero pivot: LAPACK leaves the column
        left = np.concatenate([left[1:], below[:, None]], axis=1)
        s = s[1:, 1:] - below[:, None] * s[0, 1:][None, :]
    lu = np.stack(rows) if m <= n else np.concatenate([np.stack(rows), left], axis=0)
    return lu, np.array(piv, dtype=np.int32)


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """``scipy.linalg.lu_solve``: two triangular solves with the factors in ``lu`` (``lu`` and
    ``b`` may both carry derivatives: factors of a matrix computed in ``f`` or constant ones)."""
    lu, piv = lu_and_piv
    n = np.shape(lu)[-1]
    perm = np.arange(n)
    try:
        for i, p in enumerate(int(p) for p in piv):  # LAPACK's row interchanges, in order: P a = L U
            perm[i], perm[p] = perm[p], perm[i]
    except MissingPrimalError:  # pivots of the global sparsity detector's lu_factor: a dense block
        return np.linalg.solve(lu, b)
    lower, upper = np.tril(lu, -1) + np.eye(n), np.triu(lu)
    if trans in (0, "N"):
        return np.linalg.solve(upper, np.linalg.solve(lower, b[perm]))
    if trans not in (1, "T", 2, "C"):
        _refuse(f"lu_solve(..., trans={trans!r})")
    conj = np.conj if trans in (2, "C") else (lambda m: m)
    y = np.linalg.solve(conj(lower.T), np.linalg.solve(conj(upper.T), b))
    return y[np.argsort(perm)]


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    """``scipy.linalg.solve_triangular``."""
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        n = np.shape(a)[-1]
        t = t - np.diagonal(t, axis1=-2, axis2=-1)[..., None] * np.eye(n) + np.eye(n)
    if trans in (1, "T"):
        t = np.swapaxes(t, -1, -2)
    elif trans in (2, "C"):
        t = np.conj(np.swapaxes(t, -1, -2))
    elif trans not in (0, "N"):
        _refuse(f"solve_triangular(..., trans={trans!r})")
    return np.linalg.solve(t, b)


def norm(a, ord=None, axis=None, keepdims=False, check_finite=True):
    """``scipy.linalg.norm``."""
    return np.linalg.norm(a, ord=ord, axis=axis, keepdims=keepdims)


def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False, type=1,
         check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """``scipy.linalg.eigh(a, eigvals_only=True)`` of one matrix (no generalized problem, no
    subsets). Eigenvectors are refused: SciPy's LAPACK driver and NumPy's choose different signs
    (most of the time), so substituting would change the values ``f`` computes."""
    if b is not None or subset_by_index is not None or subset_by_value is not None:
        _refuse("eigh with b=, subset_by_index= or subset_by_value=")
    if not eigvals_only:
        raise MissingRuleError(
            "scipy.linalg.eigh's eigenvectors are not supported while differentiating (their signs "
            "are LAPACK's choice, which NumPy's eigh does not reproduce).\nHint: call "
            "np.linalg.eigh(a) in f (anydiff differentiates it), or pass eigvals_only=True."
        )
    return np.linalg.eigvalsh(_mirror(a, lower))
