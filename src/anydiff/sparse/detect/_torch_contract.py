"""Index-set rules of the ATen contractions for the torch detector: ``mm``/``bmm``/``addmm``,
convolutions (and their backward, for Hessian patterns) and dense linear-algebra blocks."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..._errors import MissingRuleError
from ._index_sets import _any_row, _product, _rows
from ._torch_ops import (
    Call,
    _broadcast_rows,
    _dependent_indices,
    _flat_traced,
    _line_matrix,
    _result,
    _size,
    _traced_cls,
    _union,
    register,
)

__all__: list = []


# --------------------------------------------------------------- contractions
@register("mm", "bmm", "mv", "dot", "addmm", "baddbmm", "addmv")
def matmul(c):
    args = list(c.args)
    bias = args.pop(0) if c.name in ("addmm", "baddbmm", "addmv") else None
    A, B = args[:2]
    a3, b3 = _as3(A, c.name, "A"), _as3(B, c.name, "B")
    (bA, m, k), (_, _, p) = a3, b3
    Traced = _traced_cls()
    if isinstance(A, Traced) and isinstance(B, Traced):
        S = _both_traced(A, B, bA, m, k, p, c.n)
    elif isinstance(B, Traced):
        nz = np.nonzero(A.detach().reshape(bA, m, k).numpy() != 0)
        S = _one_constant(nz, m, k, p, B.S, left_constant=True)
    else:
        nz = np.nonzero(B.detach().reshape(bA, k, p).numpy() != 0)
        S = _one_constant(nz, m, k, p, A.S, left_constant=False)
    out = _traced_cls()(S, c.shapes)
    if bias is not None and isinstance(bias, Traced):
        S = _union([S, _broadcast_rows(bias, c.shapes)], _size(c.shapes), c.n)
        out = _traced_cls()(S, c.shapes)
    return out


def _as3(T, name, which):
    shape = tuple(T.shape)
    if len(shape) == 3:
        return shape
    if len(shape) == 2:
        return (1,) + shape
    if which == "A":  # dot: (1, 1, k)
        return (1, 1, shape[0])
    return (1, shape[0], 1)  # mv / dot right operand: a column


def _one_constant(nz, m, k, p, S, left_constant):
    if left_constant:  # out[b,i,j] <- B[b,l,j] for A[b,i,l] != 0
        bb, ii, ll = nz
        j = np.arange(p)
        rows = ((bb * m + ii) * p)[:, None] + j
        cols = ((bb * k + ll) * p)[:, None] + j
    else:  # out[b,i,j] <- A[b,i,l] for B[b,l,j] != 0
        bb, ll, jj = nz
        i = np.arange(m)
        rows = (bb[:, None] * m + i) * p + jj[:, None]
        cols = (bb[:, None] * m + i) * k + ll[:, None]
    batches = S.shape[0] // ((k * p) if left_constant else (m * k))
    size_out = batches * m * p
    P = sp.csr_array((np.ones(rows.size, dtype=bool), (rows.ravel(), cols.ravel())), shape=(size_out, S.shape[0]))
    return _product(P, S)


def _both_traced(A, B, b, m, k, p, n):
    rowA = _product(_line_matrix((b * m, k), (1,)), A.S)  # (b*m, n)
    colB = _product(_line_matrix((b, k, p), (1,)), B.S)  # (b*p, n)
    bi = np.arange(b)[:, None, None]
    i = np.arange(m)[None, :, None]
    j = np.arange(p)[None, None, :]
    ra = np.broadcast_to(bi * m + i, (b, m, p)).ravel()
    rb = np.broadcast_to(bi * p + j, (b, m, p)).ravel()
    return _union([_rows(rowA, ra), _rows(colB, rb)], b * m * p, n)


# ---------------------------------------------------------------- convolution
def _conv_check(w, transposed):
    if transposed or len(w.shape) not in (3, 4):
        kind = "transposed" if transposed else f"{len(w.shape) - 2}-d"
        raise MissingRuleError(
            f"TorchSparsityDetector supports conv1d/conv2d, not {kind} convolutions.\n"
            "Hint: use sparsity_detector=ad.DenseSparsityDetector(ad.AutoTorch()).")


def _conv_matrix(in_shape, w, stride, padding, dilation, groups, out_shape):
    """0/1 matrix (output elements × input elements) of a convolution whose kernel is ``w``
    (a constant: its zero taps are structural zeros; a traced kernel: every tap)."""
    import torch
    import torch.nn.functional as F

    Traced = _traced_cls()
    N, C = in_shape[:2]
    Co = w.shape[0]
    L = _size(out_shape[2:])
    ids = torch.arange(1, _size(in_shape) + 1, dtype=torch.float64).reshape(in_shape)
    kern, st, pad, dil = tuple(w.shape[2:]), list(stride), list(padding), list(dilation)
    if len(kern) == 1:
        ids, kern = ids[:, :, None, :], (1,) + kern
        st, pad, dil = [1] + st, [0] + pad, [1] + dil
    U = F.unfold(ids, kern, dilation=dil, padding=pad, stride=st).numpy().astype(np.int64) - 1
    U = U.reshape(N, groups, (C // groups) * _size(kern), L)
    mask = (np.ones(tuple(w.shape), dtype=bool) if isinstance(w, Traced)
            else w.detach().numpy() != 0).reshape(Co, -1)
    rows, cols = [], []
    per_group = Co // groups
    for co in range(Co):  # output channels: few
        block = U[:, co // per_group][:, np.nonzero(mask[co])[0], :]  # (N, taps, L)
        r = np.broadcast_to((np.arange(N)[:, None, None] * Co + co) * L + np.arange(L)[None, None, :], block.shape)
        keep = block >= 0  # padding
        rows.append(r[keep])
        cols.append(block[keep])
    r, cc = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_array((np.ones(r.size, dtype=bool), (r, cc)), shape=(N * Co * L, _size(in_shape)))


def _channel_rows(param, per, N, Co, L, n):
    """Rows of an output (N, Co, L) whose channel co uses all of ``param``'s slice co."""
    lines = _product(_line_matrix((Co, per), (1,)), param.S)
    return _rows(lines, np.broadcast_to(np.arange(Co)[None, :, None], (N, Co, L)).ravel())


@register("convolution")
def convolution(c):
    inp, w, bias, stride, padding, dilation, transposed = c.args[:7]
    groups = c.args[8] if len(c.args) > 8 else 1
    _conv_check(w, transposed)
    Traced = _traced_cls()
    N, Co, L = inp.shape[0], w.shape[0], _size(c.shapes[2:])
    terms = []
    if isinstance(inp, Traced):
        P = _conv_matrix(inp.shape, w, stride, padding, dilation, groups, c.shapes)
        terms.append(_product(P, inp.S))
    if isinstance(w, Traced):  # x-dependent kernel: output channel co uses all of its taps
        terms.append(_channel_rows(w, _size(w.shape[1:]), N, Co, L, c.n))
    if isinstance(bias, Traced):
        terms.append(_channel_rows(bias, 1, N, Co, L, c.n))
    return _result(_union(terms, _size(c.shapes), c.n), c.shapes)


@register("convolution_backward")
def convolution_backward(c):
    """Gradients of a convolution: ``grad_input = P^T grad_output`` (P: the forward matrix);
    kernel and bias gradients (x-dependent only when the kernel is) conservatively dense."""
    grad_out, inp, w, _bias_sizes, stride, padding, dilation, transposed, _out_pad, groups = c.args[:10]
    _conv_check(w, transposed)
    Traced = _traced_cls()
    shapes = c.shapes
    outs = []
    if isinstance(grad_out, Traced):
        P = _conv_matrix(tuple(inp.shape), w, stride, padding, dilation, groups, grad_out.shape)
        grad_input = _product(sp.csr_array(P.T), grad_out.S)
        if isinstance(w, Traced):
            grad_input = _union([grad_input, _rows(_any_row([w.S], c.n), np.zeros(_size(shapes[0]), dtype=np.int64))],
                                _size(shapes[0]), c.n)
        outs.append(_result(grad_input, shapes[0]))
    else:
        outs.append(_dependent_indices(Call(c.name, (w,), {}, shapes[0], c.n, None)))
    for shape in shapes[1:]:
        if shape is None:
            outs.append(None)
            continue
        outs.append(_result(_rows(_any_row([t.S for t in _flat_traced(c.args)], c.n),
                                  np.zeros(_size(shape), dtype=np.int64)), shape))
    return outs


# ------------------------------------------------------------------- linalg
DENSE_BLOCKS = ["linalg_inv_ex", "linalg_solve_ex", "_linalg_solve_ex", "linalg_det", "_linalg_det", "linalg_slogdet", "_linalg_slogdet", "linalg_cholesky_ex", "linalg_lu_factor_ex", "linalg_lu", "linalg_eigh", "_linalg_eigh", "linalg_svd", "_linalg_svd", "linalg_qr", "triangular_solve", "linalg_solve_triangular", "cholesky_solve", "linalg_eigvalsh", "linalg_pinv"]


@register(*DENSE_BLOCKS)
def dense_block(c):
    """Solves, inverses, determinants, factorizations: every output may depend on every input."""
    return _dependent_indices(c)
