"""Composite contractions, linear algebra, polynomials and SciPy helpers, in NumPy terms.

See ``_composites.py``: every function here only calls NumPy (and ``scipy.special``
ufuncs) on its arguments, so each engine runs it through its own handlers.
"""

from __future__ import annotations

import string

import numpy as np
import scipy.special as sc

from .._errors import MissingRuleError
from ._composites import _abs2, _real_dtype, no_out

__all__: list[str] = []


# ----------------------------------------------------------------- contractions
def tensordot(a, b, axes=2):
    na, nb = np.ndim(a), np.ndim(b)
    if isinstance(axes, (int, np.integer)):
        axa, axb = list(range(na - axes, na)), list(range(axes))
    else:
        axa, axb = axes
        axa = [axa] if isinstance(axa, (int, np.integer)) else list(axa)
        axb = [axb] if isinstance(axb, (int, np.integer)) else list(axb)
    axa = [int(d) % na for d in axa]
    axb = [int(d) % nb for d in axb]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(axa, axb):
        sb[j] = sa[i]
    out = [c for d, c in enumerate(sa) if d not in axa] + [c for d, c in enumerate(sb) if d not in axb]
    return np.einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


def dot(a, b, out=None):
    no_out(out, "np.dot")
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    if na <= 2 and nb <= 2:
        return np.matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2 if nb >= 2 else 0]))


def inner(a, b):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def vdot(a, b):
    return np.einsum("i,i->", np.conjugate(np.ravel(a)), np.ravel(b))


def outer(a, b, out=None):
    no_out(out, "np.outer")
    return np.multiply(np.reshape(a, (-1, 1)), np.reshape(b, (1, -1)))


def kron(a, b):
    nd = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (nd - np.ndim(a)) + np.shape(a)
    sb = (1,) * (nd - np.ndim(b)) + np.shape(b)
    ar = np.reshape(a, tuple(x for s in sa for x in (s, 1)))
    br = np.reshape(b, tuple(x for s in sb for x in (1, s)))
    return np.reshape(np.multiply(ar, br), tuple(p * q for p, q in zip(sa, sb)))


def vecdot(x1, x2, /, *, axis=-1, **kwargs):
    if kwargs:
        raise MissingRuleError("np.vecdot(..., axes/dtype/...) options are not supported while differentiating.\n"
                               "Hint: write np.sum(np.conj(x1) * x2, axis=axis).")
    return np.sum(np.conjugate(x1) * x2, axis=axis)


def _gufunc_einsum(name, subscripts):
    def contraction(*operands, **kwargs):
        if kwargs:
            raise MissingRuleError(f"np.{name}(..., axes/dtype/...) options are not supported while differentiating.\n"
                                   f"Hint: write np.einsum('{subscripts}', ...).")
        return np.einsum(subscripts, *operands)

    contraction.__name__ = name
    return contraction


matvec = _gufunc_einsum("matvec", "...ij,...j->...i")
vecmat = _gufunc_einsum("vecmat", "...i,...ij->...j")


def linalg_matmul(x1, x2, /):
    return np.matmul(x1, x2)


def multi_dot(arrays, *, out=None):
    no_out(out, "np.linalg.multi_dot")
    arrays = list(arrays)
    result = arrays[0]
    for m in arrays[1:]:
        result = dot(result, m)
    return result


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    a = np.moveaxis(a, axisa, -1)
    b = np.moveaxis(b, axisb, -1)
    na, nb = np.shape(a)[-1], np.shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    if na == 3 and nb == 3:
        a2, b2 = a[..., 2], b[..., 2]
        c = np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z], axis=-1)
    elif na == 2:  # a2 = 0
        b2 = b[..., 2]
        c = np.stack([a1 * b2, -(a0 * b2), z], axis=-1)
    else:  # b2 = 0
        a2 = a[..., 2]
        c = np.stack([-(a2 * b1), a2 * b0, z], axis=-1)
    return np.moveaxis(c, -1, axisc)


def linalg_cross(x1, x2, /, *, axis=-1):
    if np.shape(x1)[axis] != 3 or np.shape(x2)[axis] != 3:
        raise ValueError("np.linalg.cross: both input arrays must be (arrays of) 3-dimensional vectors")
    return cross(x1, x2, axis=axis)


# --------------------------------------------------------------- linear algebra
def matrix_power(a, n):
    if n < 0:
        a, n = np.linalg.inv(a), -n
    if n == 0:
        return np.eye(np.shape(a)[-1], dtype=np.result_type(a)) + np.zeros_like(a)
    result = a
    for _ in range(n - 1):
        result = np.matmul(result, a)
    return result


def norm(x, ord=None, axis=None, keepdims=False):
    ndim = np.ndim(x)
    if axis is None:
        if ord is None or (ord == "fro" and ndim == 2) or (ndim == 1 and ord == 2):
            result = np.sqrt(np.sum(_abs2(x)))
            return np.reshape(result, (1,) * ndim) if keepdims else result
        axis = tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = _vector_norm(x, ord, axes[0]) if len(axes) == 1 else _matrix_norm(x, ord, axes)
    if keepdims:
        shape = tuple(1 if d in [a % ndim for a in axes] else s for d, s in enumerate(np.shape(x)))
        result = np.reshape(result, shape)
    return result


def _vector_norm(x, ord, axis):
    if ord is None or ord == 2:
        return np.sqrt(np.sum(_abs2(x), axis=axis))
    if ord == np.inf:
        return np.max(np.abs(x), axis=axis)
    if ord == -np.inf:
        return np.min(np.abs(x), axis=axis)
    if ord == 1:
        return np.sum(np.abs(x), axis=axis)
    if ord == 0:
        return np.sum(np.where(np.not_equal(x, 0), 1.0, 0.0), axis=axis).astype(_real_dtype(x))
    return np.sum(np.abs(x) ** ord, axis=axis) ** (1.0 / ord)


def _matrix_norm(x, ord, axes):
    row, col = (a % np.ndim(x) for a in axes)
    if ord is None or ord == "fro":
        return np.sqrt(np.sum(_abs2(x), axis=(row, col)))
    if ord in (1, -1, np.inf, -np.inf):
        sum_axis, pick_axis = (row, col) if ord in (1, -1) else (col, row)
        sums = np.sum(np.abs(x), axis=sum_axis)
        pick_axis -= pick_axis > sum_axis
        return (np.max if ord > 0 else np.min)(sums, axis=pick_axis)
    raise MissingRuleError(
        f"np.linalg.norm(ord={ord!r}) of a matrix is not supported while differentiating.\n"
        "Hint: use ord=None, 'fro', 1 or inf, or wrap the call in ad.differentiate_with."
    )


def lstsq(a, b, rcond=None):
    """Least squares through the pseudo-inverse (constant rank): ``x = pinv(a) @ b``.

    Residuals are returned when ``a`` has more rows than columns (NumPy returns an empty
    array instead when ``a`` is rank deficient)."""
    m, n = np.shape(a)[-2:]
    pinv = np.linalg.pinv(a) if rcond is None else np.linalg.pinv(a, rcond=rcond)
    x = np.matmul(pinv, b)
    if m > n:
        r = np.matmul(a, x) - b
        residuals = np.sum(_abs2(r), axis=0)
        residuals = np.reshape(residuals, (1,)) if np.ndim(residuals) == 0 else residuals
    else:
        residuals = np.zeros((0,), dtype=_real_dtype(a))
    return x, residuals, np.linalg.matrix_rank(a), np.linalg.svd(a, compute_uv=False)


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    if full or cov:
        raise MissingRuleError("np.polyfit(full=True or cov=True) is not supported while differentiating.\n"
                               "Hint: call np.polyfit for the coefficients only.")
    deg = int(deg)
    vander = np.stack([x ** k for k in range(deg, 0, -1)] + [np.ones_like(x)], axis=1)
    if w is not None:
        vander = vander * np.reshape(w, (-1, 1))
        y = y * (np.reshape(w, (-1, 1)) if np.ndim(y) == 2 else w)
    return lstsq(vander, y, rcond)[0]


def polyval(p, x):
    if isinstance(x, np.poly1d) or isinstance(p, np.poly1d):
        raise MissingRuleError("np.polyval with np.poly1d is not supported while differentiating.\n"
                               "Hint: pass the coefficient array (p.coeffs).")
    y = np.zeros_like(x)
    for k in range(np.shape(p)[0]):  # Horner's scheme
        y = y * x + p[k]
    return y


# ------------------------------------------------------------- special functions
def sinc(x):
    y = np.pi * np.where(x == 0, 1.0e-20, x)
    return np.sin(y) / y


def i0(x):
    return sc.i0(x)


def real_if_close(a, tol=100):
    if not np.iscomplexobj(a):
        return a
    eps = np.finfo(_real_dtype(a)).eps
    tol = tol * eps if tol > 1 else tol
    return np.real(a) if np.all(np.abs(np.imag(a)) < tol) else a


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``scipy.special.logsumexp``: ``m + log(sum(b * exp(a - m)))`` with ``m`` the maximum."""
    if return_sign:
        raise MissingRuleError("scipy.special.logsumexp(return_sign=True) is not supported while differentiating.\n"
                               "Hint: compute the sign separately with np.sign(np.sum(b * np.exp(a))).")
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(a - m)
    if b is not None:
        e = e * b
    out = np.log(np.sum(e, axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else np.reshape(out, ())
    return out


def softmax(x, axis=None):
    """``scipy.special.softmax``: ``exp(x - m) / sum(exp(x - m))``."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=None):
    """``scipy.special.log_softmax``: ``x - logsumexp(x)``."""
    return x - logsumexp(x, axis=axis, keepdims=True)
