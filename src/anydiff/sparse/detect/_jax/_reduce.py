"""Reductions, cumulative operations and sorting in the jaxpr detector."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._index_sets import _product
from ._deps import _size

__all__: list = []


def _sort(v, aval, dimension, n):
    """Global: a sorted element may be any element of its line along ``dimension``."""
    shape = aval.shape
    line = np.moveaxis(np.arange(_size(aval)).reshape(shape), dimension, -1).reshape(-1, shape[dimension])
    rows = np.repeat(line, shape[dimension], axis=1).ravel()  # each element of a line ...
    cols = np.tile(line, (1, shape[dimension])).ravel()  # ... gets every element of it
    A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(_size(aval), _size(aval)))
    return _product(A, v.S)


def _reduce(v, aval, axes, n):
    shape = aval.shape
    idx = np.arange(_size(aval)).reshape(shape)
    keep = [d for d in range(len(shape)) if d not in axes]
    out_shape = tuple(shape[d] for d in keep)
    coords = np.indices(shape)
    if keep:
        out_idx = np.ravel_multi_index(tuple(coords[d] for d in keep), out_shape).ravel()
    else:
        out_idx = np.zeros(idx.size, dtype=np.int64)
    A = sp.csr_array((np.ones(idx.size, dtype=np.int32), (out_idx, idx.ravel())),
                     shape=(int(np.prod(out_shape, dtype=int)), idx.size))
    return _product(A, v.S)


def _cumulative(v, aval, axis, reverse, n):
    shape = aval.shape
    L = shape[axis]
    idx = np.moveaxis(np.arange(_size(aval)).reshape(shape), axis, -1).reshape(-1, L)
    tri = np.triu(np.ones((L, L), dtype=bool)) if not reverse else np.tril(np.ones((L, L), dtype=bool))
    src, dst = np.nonzero(tri)  # element dst depends on src (src <= dst for forward)
    rows = idx[:, dst].ravel()
    cols = idx[:, src].ravel()
    A = sp.csr_array((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(idx.size, idx.size))
    return _product(A, v.S)
