"""Matrix decompositions on duals: ``pinv``, ``eigh``/``eigvalsh``, ``svd``/``svdvals``, ``qr``.

Classical first-order perturbation formulas, batched over the ``B`` tangents (and over stacked
matrices) with matrix products. They are written with NumPy operations on the decomposition of
the value, so nested duals (second order) need no extra code.

Where the derivative does not exist the formulas divide by zero and give ``inf``/``nan``
tangents: eigenvectors of repeated eigenvalues (``eigh``), singular vectors of repeated or
zero singular values (``svd``), rank changes (``pinv``).
"""

from __future__ import annotations

import numpy as np

from .._errors import MissingRuleError
from ._core import Dual, primal
from ._registry import implements

__all__: list = []

_EighResult = type(np.linalg.eigh(np.eye(1)))
_SVDResult = type(np.linalg.svd(np.eye(1)))
_QRResult = type(np.linalg.qr(np.eye(1)))
_EigResult = type(np.linalg.eig(np.eye(1)))


def _mT(a):
    return np.swapaxes(a, -1, -2)


def _mH(a):
    return np.conjugate(_mT(a)) if np.iscomplexobj(primal(a)) else _mT(a)


def _diag_of(M):
    return np.diagonal(M, axis1=-2, axis2=-1)


def _eye_like(n, a):
    return np.eye(n, dtype=np.asarray(primal(a)).dtype)


def _gap_inverse(d):
    """``1 / d`` off the diagonal of the last two axes, 0 on it (``d`` antisymmetric gaps)."""
    n = np.shape(d)[-1]
    eye = np.eye(n, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, d))


def _at_least_matrix(a, name):
    if np.ndim(primal(a)) < 2:
        raise np.linalg.LinAlgError(f"np.linalg.{name}: {np.ndim(primal(a))}-dimensional array given. "
                                    "Array must be at least two-dimensional")


# ------------------------------------------------------------------------- pinv
@implements(np.linalg.pinv)
def _pinv(a, rcond=None, hermitian=False, **kwargs):
    """dA⁺ = -A⁺ dA A⁺ + A⁺A⁺ᴴ dAᴴ (I - AA⁺) + (I - A⁺A) dAᴴ A⁺ᴴA⁺ (constant rank)."""
    _at_least_matrix(a.value, "pinv")
    if rcond is not None:
        kwargs["rcond"] = rcond
    A = a.value
    P = np.linalg.pinv(A, hermitian=hermitian, **kwargs)
    T, TH = a.tangent, _mH(a.tangent)
    m, n = np.shape(A)[-2:]
    PH = _mH(P)
    left = _eye_like(m, A) - A @ P  # projector onto range(A)^⊥
    right = _eye_like(n, A) - P @ A
    tangent = -(P @ T @ P) + (P @ PH) @ TH @ left + right @ TH @ (PH @ P)
    return Dual(P, tangent)


# ------------------------------------------------------------------- eigh
def _hermitian_part(T, UPLO):
    """The symmetric/Hermitian matrix LAPACK actually reads (one triangle of T)."""
    tri = np.tril(T) if UPLO.upper() == "L" else np.triu(T)
    strict = np.tril(T, -1) if UPLO.upper() == "L" else np.triu(T, 1)
    return tri + _mH(strict)


def _eigh_parts(a, UPLO, vectors):
    _at_least_matrix(a.value, "eigh")
    w, V = np.linalg.eigh(a.value, UPLO=UPLO)
    S = _hermitian_part(a.tangent, UPLO)
    M = _mH(V) @ S @ V  # (B, ..., n, n)
    dw = _diag_of(M)
    if np.iscomplexobj(primal(dw)):
        dw = np.real(dw)
    if not vectors:
        return w, dw, None, None
    gaps = w[..., None, :] - w[..., :, None]  # w_j - w_i
    dV = V @ (_gap_inverse(gaps) * M)
    return w, dw, V, dV


@implements(np.linalg.eigh)
def _eigh(a, UPLO="L"):
    """dw_i = v_iᴴ dA v_i;  dV = V (F ∘ Vᴴ dA V) with F_ij = 1/(w_j - w_i), F_ii = 0.

    ``dA`` is the Hermitian matrix built from the triangle ``UPLO`` that NumPy reads, so the
    derivative is that of ``np.linalg.eigh`` itself (symmetric tangents: the usual formula).
    """
    w, dw, V, dV = _eigh_parts(a, UPLO, True)
    return _EighResult(Dual(w, dw), Dual(V, dV))


@implements(np.linalg.eigvalsh)
def _eigvalsh(a, UPLO="L"):
    w, dw, _, _ = _eigh_parts(a, UPLO, False)
    return Dual(w, dw)


# -------------------------------------------------------------------- eig
def _eig_parts(a, vectors):
    """dw = diag(V⁻¹ dA V);  dV = V (F ∘ V⁻¹ dA V) with F_ij = 1/(w_j - w_i), then the part
    along each v_i that would change its norm removed (NumPy's vectors have unit norm).
    Distinct eigenvalues only: repeated ones give non-finite eigenvector tangents."""
    _at_least_matrix(a.value, "eig")
    w, V = np.linalg.eig(a.value)
    M = np.linalg.inv(V) @ a.tangent @ V
    dw = _diag_of(M)
    if not np.iscomplexobj(primal(w)):  # every eigenvalue real: NumPy returns real arrays
        dw = np.real(dw)
    if not vectors:
        return w, dw, None, None
    gaps = w[..., None, :] - w[..., :, None]  # w_j - w_i
    dV = V @ (_gap_inverse(gaps) * M)
    along = np.sum(np.conjugate(V) * dV, axis=-2, keepdims=True)
    dV = dV - V * np.real(along)
    if not np.iscomplexobj(primal(V)):
        dV = np.real(dV)
    return w, dw, V, dV


@implements(np.linalg.eig)
def _eig(a):
    w, dw, V, dV = _eig_parts(a, True)
    return _EigResult(Dual(w, dw), Dual(V, dV))


@implements(np.linalg.eigvals)
def _eigvals(a):
    w, dw, _, _ = _eig_parts(a, False)
    return Dual(w, dw)


# -------------------------------------------------------------------------- svd
@implements(np.linalg.svd)
def _svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """ds = Re diag(Uᴴ dA V);  with P = Uᵀ dA V and F_ij = 1/(s_j² - s_i²) (real matrices):
    dU = U (F ∘ (P S + S Pᵀ)) + (I - U Uᵀ) dA V S⁻¹,  dV = V (F ∘ (S P + Pᵀ S)) + (I - V Vᵀ) dAᵀ U S⁻¹.
    """
    _at_least_matrix(a.value, "svd")
    A = a.value
    m, n = np.shape(A)[-2:]
    U, s, Vh = np.linalg.svd(A, full_matrices=False, hermitian=hermitian)
    V = _mH(Vh)
    T = a.tangent
    P = _mH(U) @ T @ V
    ds = _diag_of(P)
    if np.iscomplexobj(primal(ds)):
        ds = np.real(ds)
    if not compute_uv:
        return Dual(s, ds)
    if full_matrices and m != n:
        raise MissingRuleError(
            "np.linalg.svd(full_matrices=True) of a non-square matrix is not supported by anydiff's duals "
            "(the extra singular vectors are not unique).\nHint: pass full_matrices=False."
        )
    if np.iscomplexobj(primal(A)):
        raise MissingRuleError(
            "np.linalg.svd of complex matrices with compute_uv=True is not supported by anydiff's duals.\n"
            "Hint: use compute_uv=False (singular values), or AutoJax()."
        )
    F = _gap_inverse(s[..., None, :] ** 2 - s[..., :, None] ** 2)
    Ps = P * s[..., None, :]  # P S
    sP = P * s[..., :, None]  # S P
    with np.errstate(divide="ignore", invalid="ignore"):
        s_inv = 1.0 / s
    dU = U @ (F * (Ps + _mT(Ps))) + (T @ V - U @ P) * s_inv[..., None, :]
    dV = V @ (F * (sP + _mT(sP))) + (_mT(T) @ U - V @ _mT(P)) * s_inv[..., None, :]
    return _SVDResult(Dual(U, dU), Dual(s, ds), Dual(Vh, _mT(dV)))


if hasattr(np.linalg, "svdvals"):
    @implements(np.linalg.svdvals)
    def _svdvals(x, /):
        return _svd(x, compute_uv=False)


# --------------------------------------------------------------------------- qr
@implements(np.linalg.qr)
def _qr(a, mode="reduced"):
    """A = QR (m ≥ n, real): X = Qᵀ dA R⁻¹, Ω = tril(X, -1) - tril(X, -1)ᵀ,
    dR = (X - Ω) R, dQ = Q (Ω - X) + dA R⁻¹."""
    _at_least_matrix(a.value, "qr")
    A = a.value
    m, n = np.shape(A)[-2:]
    if mode not in ("reduced", "complete", "r") or (mode == "complete" and m != n):
        raise MissingRuleError(
            f"np.linalg.qr(mode={mode!r}) is not supported by anydiff's duals for this shape.\n"
            "Hint: use mode='reduced' or 'r'."
        )
    if m < n or np.iscomplexobj(primal(A)):
        raise MissingRuleError(
            "np.linalg.qr on anydiff duals supports real matrices with at least as many rows as columns.\n"
            "Hint: use AutoJax() for wide or complex matrices."
        )
    Q, R = np.linalg.qr(A, mode="reduced")
    Rinv = np.linalg.inv(R)
    TR = a.tangent @ Rinv
    X = _mT(Q) @ TR
    L = np.tril(X, -1)
    Omega = L - _mT(L)
    dR = (X - Omega) @ R
    if mode == "r":
        return Dual(R, dR)
    dQ = Q @ (Omega - X) + TR
    return _QRResult(Dual(Q, dQ), Dual(R, dR))
