"""Vertex orders for greedy coloring (numba bucket queues for the dynamic ones).

Degrees are those of the graph the coloring works on: the column intersection graph for
column colorings, the adjacency graph for symmetric ones.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from ..._errors import ColoringError

__all__ = ["BEST_OF", "ORDERS", "check_order", "vertex_order"]

ORDERS = (
    "natural",
    "largest_first",
    "smallest_last",
    "incidence_degree",
    "dynamic_largest_first",
    "random",
)
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
    if name == "natural":
        return np.arange(n, dtype=np.int64)
    if name == "random":
        return np.random.default_rng(seed).permutation(n).astype(np.int64)
    if name == "largest_first":
        return np.argsort(-np.diff(graph.indptr.astype(np.int64)), kind="stable").astype(np.int64)
    ptr, adj = graph.indptr.astype(np.int64), graph.indices.astype(np.int64)
    if name == "smallest_last":
        return smallest_last_order(ptr, adj, n)
    if name == "incidence_degree":
        return dynamic_degree_order(ptr, adj, n, True)
    if name == "dynamic_largest_first":
        return dynamic_degree_order(ptr, adj, n, False)
    raise ColoringError(f"Internal error: unknown vertex order {name!r} (checked before).")  # pragma: no cover - checked before


@numba.njit(cache=True)
def smallest_last_order(ptr, adj, n):
    """Smallest-last ordering (Matula–Beck) of a graph, with bucket queues: O(n + edges)."""
    degree = np.empty(n, dtype=np.int64)
    for v in range(n):
        degree[v] = ptr[v + 1] - ptr[v]
    maxdeg = 0
    for v in range(n):
        maxdeg = max(maxdeg, degree[v])
    # doubly linked buckets
    head = np.full(maxdeg + 1, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    prv = np.full(n, -1, dtype=np.int64)
    for v in range(n):
        d = degree[v]
        nxt[v] = head[d]
        if head[d] >= 0:
            prv[head[d]] = v
        head[d] = v
    removed = np.zeros(n, dtype=np.bool_)
    order = np.empty(n, dtype=np.int64)
    low = 0
    for k in range(n - 1, -1, -1):
        while head[low] < 0:
            low += 1
        v = head[low]
        # unlink v
        head[low] = nxt[v]
        if nxt[v] >= 0:
            prv[nxt[v]] = -1
        removed[v] = True
        order[k] = v
        for p in range(ptr[v], ptr[v + 1]):
            w = adj[p]
            if removed[w]:
                continue
            d = degree[w]
            # move w from bucket d to d - 1
            if prv[w] >= 0:
                nxt[prv[w]] = nxt[w]
            else:
                head[d] = nxt[w]
            if nxt[w] >= 0:
                prv[nxt[w]] = prv[w]
            degree[w] = d - 1
            prv[w] = -1
            nxt[w] = head[d - 1]
            if head[d - 1] >= 0:
                prv[head[d - 1]] = w
            head[d - 1] = w
            low = min(low, d - 1)
    return order


@numba.njit(cache=True)
def dynamic_degree_order(ptr, adj, n, incidence):
    """Incidence-degree order (``incidence=True``: next = most already-ordered neighbors) or
    dynamic-largest-first (``False``: next = largest degree among the not yet ordered)."""
    key = np.zeros(n, dtype=np.int64)
    if not incidence:
        for v in range(n):
            key[v] = ptr[v + 1] - ptr[v]
    maxkey = 0
    for v in range(n):
        maxkey = max(maxkey, key[v])
    size = max(maxkey, 0) + n + 1
    head = np.full(size, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    prv = np.full(n, -1, dtype=np.int64)
    for v in range(n - 1, -1, -1):
        d = key[v]
        nxt[v] = head[d]
        if head[d] >= 0:
            prv[head[d]] = v
        head[d] = v
    done = np.zeros(n, dtype=np.bool_)
    order = np.empty(n, dtype=np.int64)
    top = maxkey
    for k in range(n):
        while top > 0 and head[top] < 0:
            top -= 1
        v = head[top]
        head[top] = nxt[v]
        if nxt[v] >= 0:
            prv[nxt[v]] = -1
        done[v] = True
        order[k] = v
        for p in range(ptr[v], ptr[v + 1]):
            w = adj[p]
            if done[w]:
                continue
            d = key[w]
            nd = d + 1 if incidence else d - 1
            if prv[w] >= 0:
                nxt[prv[w]] = nxt[w]
            else:
                head[d] = nxt[w]
            if nxt[w] >= 0:
                prv[nxt[w]] = prv[w]
            key[w] = nd
            prv[w] = -1
            nxt[w] = head[nd]
            if head[nd] >= 0:
                prv[head[nd]] = w
            head[nd] = w
            top = max(top, nd)
    return order
