"""Vertex orders for greedy coloring."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..._errors import ColoringError
from . import _kernels

ORDERS = ("natural", "largest_first", "smallest_last", "incidence_degree", "dynamic_largest_first", "random")
#: Orders tried by ``order="best"``.
BEST_OF = ("natural", "largest_first", "smallest_last", "incidence_degree", "dynamic_largest_first")


def check_order(order) -> tuple:
    """Normalize ``order`` to a tuple of order names (several = keep the fewest colors)."""
    names = BEST_OF if order == "best" else ((order,) if isinstance(order, str) else tuple(order))
    for name in names:
        if name not in ORDERS:
            raise ColoringError(
                f"Unknown vertex order {name!r}.\nHint: use one of {', '.join(ORDERS)}, 'best', or a tuple of these."
            )
    if not names:
        raise ColoringError("Empty tuple of orders.\nHint: pass at least one order name.")
    return names


def vertex_order(name: str, graph: sp.csr_array, seed=None) -> np.ndarray:
    """The visiting order ``name`` on ``graph`` (CSR adjacency without diagonal)."""
    n = graph.shape[0]
    ptr, adj = graph.indptr.astype(np.int64), graph.indices.astype(np.int64)
    if name == "natural":
        return np.arange(n, dtype=np.int64)
    if name == "random":
        return np.random.default_rng(seed).permutation(n).astype(np.int64)
    if name == "largest_first":
        return np.argsort(-np.diff(ptr), kind="stable").astype(np.int64)
    if name == "smallest_last":
        return _kernels.smallest_last_order(ptr, adj, n)
    if name == "incidence_degree":
        return _kernels.dynamic_degree_order(ptr, adj, n, True)
    if name == "dynamic_largest_first":
        return _kernels.dynamic_degree_order(ptr, adj, n, False)
    raise ColoringError(f"Unknown vertex order {name!r}.")  # pragma: no cover - checked before
