"""Contractions and linear algebra on duals.

Products (``matmul``, ``einsum``, ``tensordot``, ``dot`` ...) are multilinear: the tangent
is the sum over operands of the product with that operand replaced by its tangents, the
tangent axis carried as one more batch index (``einsum``) or a stacked matrix dimension
(``matmul``, one BLAS call per operand). ``solve``/``inv``/``det``/``slogdet``/``cholesky``
use their classical forward-mode formulas, batched over the ``B`` tangents.
"""

from __future__ import annotations

import string

import numpy as np

from .._errors import MissingRuleError
from ._core import Dual, _outer, full_tangent, primal, split
from ._registry import HANDLED, implements

__all__: list = []


def _sum_terms(terms):
    terms = [t for t in terms if t is not None]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


# -------------------------------------------------------------------------- matmul
def _matmul(a, b, **kwargs):
    if kwargs:
        raise MissingRuleError(
            "np.matmul(..., axes/dtype/...) options are not supported by anydiff's duals.\n"
            "Hint: call np.matmul(a, b) (or a @ b) without options, or write the product with np.einsum."
        )
    fast = _flat_operands(a, b)
    (av, bv), (ta, tb) = fast if fast is not None else split((a, b))[1:]
    y = np.matmul(av, bv)
    na, nb = np.ndim(primal(av)), np.ndim(primal(bv))
    if na > 2 or nb > 2:  # stacked matrices: one einsum per operand
        return _einsum(_matmul_subscripts(na, nb), a, b)
    terms = []
    if ta is not None:
        if na == 2 and type(ta) is np.ndarray:  # (B, m, k) @ (k, ...) as one (B*m, k) product
            B, m = ta.shape[0], ta.shape[1]
            prod = np.matmul(np.reshape(ta, (B * m, ta.shape[2])), bv)
            terms.append(np.reshape(prod, (B, m) + tuple(prod.shape[1:])))
        else:
            terms.append(np.matmul(ta, bv))
    if tb is not None:
        if nb == 2:
            terms.append(np.matmul(av, tb))
        else:  # (B, k) @ a.T
            terms.append(np.matmul(tb, np.transpose(av)))
    return Dual(y, full_tangent(_sum_terms(terms), np.shape(y)))


def _flat_operands(a, b):
    """``((av, bv), (ta, tb))`` when each operand is an ndarray or a level-1 dual of an ndarray
    (the common case: ``split`` gives the same), else ``None``."""
    values, tangents = [], []
    for o in (a, b):
        if type(o) is np.ndarray:
            values.append(o)
            tangents.append(None)
        elif type(o) is Dual and type(o.value) is np.ndarray and not isinstance(o.tangent, Dual) and not _outer(o.tangent):
            values.append(o.value)
            tangents.append(o.tangent)
        else:
            return None
    return values, tangents


def _matmul_subscripts(na, nb):
    sa = "...ij" if na > 1 else "j"
    sb = "...jk" if nb > 1 else "j"
    out = ("..." if max(na, nb) > 2 else "") + ("i" if na > 1 else "") + ("k" if nb > 1 else "")
    return f"{sa},{sb}->{out}"


HANDLED[np.matmul] = _matmul


# -------------------------------------------------------------------------- einsum
@implements(np.einsum)
def _einsum(subscripts, *operands, out=None, optimize=False, **kwargs):
    if out is not None or not isinstance(subscripts, str):
        raise MissingRuleError(
            "np.einsum on anydiff duals needs the subscripts string form and no out=.\n"
            "Hint: write np.einsum('ij,j->i', A, x)."
        )
    subs = subscripts.replace(" ", "")
    inputs, output = subs.split("->") if "->" in subs else (subs, _implicit_output(subs))
    ins = inputs.split(",")
    _, values, tangents = split(operands)
    value = np.einsum(f"{inputs}->{output}", *values, optimize=optimize, **kwargs)
    batch = next(c for c in string.ascii_letters if c not in subs)
    terms = []
    for i, t in enumerate(tangents):
        if t is None:
            continue
        tin = ins.copy()
        tin[i] = batch + ins[i]
        ops = list(values)
        ops[i] = t
        terms.append(np.einsum(",".join(tin) + "->" + batch + output, *ops, optimize=len(ops) > 1, **kwargs))
    return Dual(value, full_tangent(_sum_terms(terms), np.shape(value)))


def _implicit_output(subs):
    letters = subs.replace(",", "").replace("...", "")
    single = sorted(c for c in set(letters) if letters.count(c) == 1)
    return ("..." if "..." in subs else "") + "".join(single)


def _tri_handler(func):
    def tri(m, k=0):
        return Dual(func(m.value, k), func(m.tangent, k))

    return tri


HANDLED[np.tril] = _tri_handler(np.tril)
HANDLED[np.triu] = _tri_handler(np.triu)


# ------------------------------------------------------------------ linear algebra
def _square(av, name):
    if np.ndim(primal(av)) != 2:
        raise MissingRuleError(
            f"np.linalg.{name} on anydiff duals supports one square matrix (no stacks).\n"
            "Hint: loop over the matrices, or use AutoJax()."
        )


def _solve_many(av, R, b_ndim):
    """``solve(A, R[i])`` for each of the B right-hand sides stacked in ``R``."""
    B, n = R.shape[0], R.shape[1]
    if b_ndim == 1:
        return np.transpose(np.linalg.solve(av, np.transpose(R)))
    k = R.shape[2]
    X = np.linalg.solve(av, np.reshape(np.moveaxis(R, 0, 1), (n, B * k)))
    return np.moveaxis(np.reshape(X, (n, B, k)), 1, 0)


@implements(np.linalg.solve)
def _solve(a, b):
    _, (av, bv), (ta, tb) = split((a, b))
    _square(av, "solve")
    b_ndim = np.ndim(primal(bv))
    if ta is None and isinstance(tb, np.ndarray):  # one factorization for the value and every tangent
        B = tb.shape[0]
        stacked = np.concatenate([np.reshape(bv, (1,) + np.shape(bv)), tb])
        X = _solve_many(av, stacked, b_ndim)
        return Dual(X[0], X[1:] if B else X[:0])
    y = np.linalg.solve(av, bv)
    R = -np.matmul(ta, y) if tb is None else tb if ta is None else tb - np.matmul(ta, y)
    return Dual(y, _solve_many(av, R, b_ndim))


@implements(np.linalg.inv)
def _inv(a):
    _square(a.value, "inv")
    Y = np.linalg.inv(a.value)
    return Dual(Y, -np.matmul(np.matmul(Y, a.tangent), Y))


def _trace_inv_times(av, ta):
    """``trace(A^-1 T_b)`` for each tangent ``T_b``."""
    return np.einsum("ij,...ji->...", np.linalg.inv(av), ta)


@implements(np.linalg.det)
def _det(a):
    _square(a.value, "det")
    d = np.linalg.det(a.value)
    return Dual(d, _trace_inv_times(a.value, a.tangent) * d)


@implements(np.linalg.slogdet)
def _slogdet(a):
    _square(a.value, "slogdet")
    sign, logabs = np.linalg.slogdet(a.value)
    dlog = _trace_inv_times(a.value, a.tangent)
    if np.iscomplexobj(primal(a.value)):
        raise MissingRuleError(
            "np.linalg.slogdet of complex matrices is not supported by anydiff's duals.\n"
            "Hint: use ad.AutoJax() or ad.AutoTorch() for this function, or wrap it with ad.differentiate_with."
        )
    return type(np.linalg.slogdet(np.eye(1)))(sign, Dual(logabs, dlog))


@implements(np.linalg.cholesky)
def _cholesky(a, /, *, upper=False):
    _square(a.value, "cholesky")
    L = np.linalg.cholesky(a.value)
    Linv = np.linalg.inv(L)
    M = np.matmul(np.matmul(Linv, a.tangent), np.transpose(Linv))
    n = primal(L).shape[0]
    weights = np.tril(np.ones((n, n))) - 0.5 * np.eye(n)
    tL = np.matmul(L, M * weights)
    result = Dual(L, tL)
    return np.swapaxes(result, -1, -2) if upper else result


