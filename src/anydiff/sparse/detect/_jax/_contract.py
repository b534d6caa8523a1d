"""Contractions in the jaxpr detector: ``dot_general`` and convolutions."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...._errors import MissingRuleError
from .._index_sets import _product
from ._deps import _Deps, _size

__all__: list = []


def _conv(eqn, vals, n):
    """``conv_general_dilated``: output (b, o, s) = sum over patch entries k of lhs[b, k, s] *
    kernel[o, k]. Patches come from ``conv_general_dilated_patches`` run on 1-based element ids
    (exact in float64; 0 = padding). A pair contributes unless the lhs entry is padding or the
    kernel entry is a constant zero (a stencil's structural zeros hold for every input)."""
    import jax

    p = eqn.params
    if p["feature_group_count"] != 1 or p["batch_group_count"] != 1:
        raise MissingRuleError(
            "JaxSparsityDetector: grouped convolutions (feature/batch_group_count > 1) are not traced.\n"
            "Hint: pass the pattern with ad.AutoSparse(..., sparsity_detector=ad.DenseSparsityDetector(...)) or use a dense backend."
        )
    lhs, rhs = vals[:2]
    la, ra, oa = eqn.invars[0].aval, eqn.invars[1].aval, eqn.outvars[0].aval
    lspec, rspec, ospec = p["dimension_numbers"]
    out_flat = np.arange(_size(oa)).reshape(oa.shape).transpose(ospec)  # logical (B, O, S...)
    B, O = out_flat.shape[:2]
    ids = np.transpose(np.arange(1, _size(la) + 1, dtype=np.float64).reshape(la.shape), lspec)  # (B, C, S...)
    window = tuple(ra.shape[d] for d in rspec[2:])
    patches = jax.lax.conv_general_dilated_patches(
        ids, window, p["window_strides"], p["padding"], lhs_dilation=p["lhs_dilation"],
        rhs_dilation=p["rhs_dilation"], precision=jax.lax.Precision.HIGHEST)
    patches = np.rint(np.asarray(patches)).astype(np.int64)  # (B, K, S_out...), K = (C, window) C-major
    K = patches.shape[1]
    P = np.moveaxis(patches, 1, -1).reshape(B, -1, K)  # (B, S, K): lhs element (1-based) or 0
    kern = np.transpose(np.arange(_size(ra)).reshape(ra.shape), rspec).reshape(O, K)  # kernel element per (o, k)
    if isinstance(rhs, _Deps):
        live = np.ones((O, K), dtype=bool)
    else:
        live = np.transpose(np.asarray(rhs), rspec).reshape(O, K) != 0
    out_bso = np.moveaxis(out_flat, 1, -1).reshape(B, -1, O)  # (B, S, O)
    b, s_, o, k = np.nonzero((P[:, :, None, :] > 0) & live[None, None, :, :])
    rows = out_bso[b, s_, o]
    total = sp.csr_array((_size(oa), n), dtype=bool)
    if isinstance(lhs, _Deps):
        A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, P[b, s_, k] - 1)), shape=(_size(oa), _size(la)))
        total = total + _product(A, lhs.S)
    if isinstance(rhs, _Deps):
        A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, kern[o, k])), shape=(_size(oa), _size(ra)))
        total = total + _product(A, rhs.S)
    return total


def _dot_general(eqn, vals, n):
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    la, ra = eqn.invars[0].aval, eqn.invars[1].aval
    lshape, rshape = la.shape, ra.shape
    lfree = [d for d in range(len(lshape)) if d not in lc and d not in lb]
    rfree = [d for d in range(len(rshape)) if d not in rc and d not in rb]
    L = np.arange(_size(la)).reshape(lshape).transpose(list(lb) + lfree + list(lc))
    R = np.arange(_size(ra)).reshape(rshape).transpose(list(rb) + rfree + list(rc))
    nb = int(np.prod([lshape[d] for d in lb], dtype=int))
    nlf = int(np.prod([lshape[d] for d in lfree], dtype=int))
    nrf = int(np.prod([rshape[d] for d in rfree], dtype=int))
    nc = int(np.prod([lshape[d] for d in lc], dtype=int))
    L = L.reshape(nb, nlf, nc)
    R = R.reshape(nb, nrf, nc)
    out = np.arange(nb * nlf * nrf).reshape(nb, nlf, nrf)
    total = sp.csr_array((out.size, n), dtype=bool)
    if isinstance(vals[0], _Deps):
        rows = np.broadcast_to(out[..., None], (nb, nlf, nrf, nc)).ravel()
        cols = np.broadcast_to(L[:, :, None, :], (nb, nlf, nrf, nc)).ravel()
        A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(out.size, L.size))
        total = total + _product(A, vals[0].S)
    if isinstance(vals[1], _Deps):
        rows = np.broadcast_to(out[..., None], (nb, nlf, nrf, nc)).ravel()
        cols = np.broadcast_to(R[:, None, :, :], (nb, nlf, nrf, nc)).ravel()
        A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(out.size, R.size))
        total = total + _product(A, vals[1].S)
    return total
