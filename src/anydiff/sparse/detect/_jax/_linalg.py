"""Dense blocks, FFTs and ``top_k`` in the jaxpr detector.

* decompositions and solvers (``lu``, ``qr``, ``svd``, ``eig``, ``eigh``, ``cholesky``,
  ``triangular_solve``, ``custom_linear_solve``): every floating output element depends on
  every input element of the traced operands (integer outputs such as pivots: nothing);
* ``fft``: every output element along the transformed (last) axes depends on every input
  element of its line there;
* ``top_k``: each value may be any element of its last-axis line; the indices: nothing.
"""

from __future__ import annotations

import numpy as np

from .._index_sets import _any_row, _rows
from ._deps import _Deps, _empty, _size
from ._reduce import _reduce

__all__: list = []

DENSE = {"lu", "qr", "svd", "eig", "eigh", "cholesky", "triangular_solve", "custom_linear_solve",
         "schur", "hessenberg", "tridiagonal", "tridiagonal_solve", "lu_pivots_to_permutation",
         # host calls of ad.differentiate_with / ad.implicit_function: black boxes, dense
         "anydiff_call", "anydiff_push", "anydiff_pull", "implicit_linear"}


def _float(aval):
    return np.dtype(aval.dtype).kind in "fc"


def dense(eqn, vals, n):
    row = _any_row([v.S for v in vals if isinstance(v, _Deps)], n)
    outs = []
    for var in eqn.outvars:
        if _float(var.aval):
            outs.append(_Deps(_rows(row, np.zeros(_size(var.aval), np.int64))))
        else:
            outs.append(_empty(var.aval, n))
    return outs


def _along_last(v, aval, k, out_aval, n):
    """Sets reduced over the last ``k`` axes of ``v``, broadcast to ``out_aval``'s shape."""
    nd = len(aval.shape)
    axes = tuple(range(nd - k, nd))
    red = _reduce(v, aval, axes, n)  # one row per element of the leading axes
    lead = int(np.prod(aval.shape[: nd - k], dtype=int))
    per_line = int(np.prod(out_aval.shape[nd - k:], dtype=int))
    return _Deps(_rows(red, np.repeat(np.arange(lead), per_line)))


def fft(eqn, vals, n):
    v, aval = vals[0], eqn.invars[0].aval
    return [_along_last(v, aval, len(eqn.params["fft_lengths"]), eqn.outvars[0].aval, n)]


def top_k(eqn, vals, n):
    values, indices = eqn.outvars
    return [_along_last(vals[0], eqn.invars[0].aval, 1, values.aval, n), _empty(indices.aval, n)]
