"""numba kernels of the greedy colorings (compiled once, cached on disk)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def greedy_distance2(order, col_ptr, col_rows, row_ptr, row_cols, n):
    """Color columns so that columns sharing a row differ (partial distance-2 coloring).

    ``col_ptr/col_rows``: CSC structure (rows of each column); ``row_ptr/row_cols``: CSR.
    Columns are visited in ``order``; each takes the smallest color not used by a column
    sharing one of its rows.
    """
    colors = np.full(n, -1, dtype=np.int32)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    for v in order:
        for p in range(col_ptr[v], col_ptr[v + 1]):
            i = col_rows[p]
            for q in range(row_ptr[i], row_ptr[i + 1]):
                w = row_cols[q]
                if w != v and colors[w] >= 0:
                    forbidden[colors[w]] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
    return colors


@numba.njit(cache=True)
def greedy_star(order, ptr, adj, n):
    """Greedy star coloring of a symmetric pattern (adjacency ``ptr/adj`` without the diagonal).

    A distance-1 coloring in which no path on four vertices is bicolored, which is what direct
    recovery of a Hessian from its compressed columns needs. When coloring ``v`` with a color
    ``c``, the two ways a bicolored 4-path through ``v`` could appear are ruled out:
    (a) v–w–x–y with color(x) = c and color(w) = color(y): forbid color(x) when x has a
    neighbor other than w with w's color; (b) w–v–x–y with color(w) = color(x): forbid the
    colors of x's and w's other neighbors.
    """
    colors = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    first_with = np.full(n + 1, -1, dtype=np.int64)  # per color: first neighbor of v having it
    stamp = np.full(n + 1, -1, dtype=np.int64)
    for v in order:
        for p in range(ptr[v], ptr[v + 1]):
            w = adj[p]
            cw = colors[w]
            if cw < 0:
                continue
            forbidden[cw] = v
            # (b) two neighbors of v with the same color
            if stamp[cw] != v:
                stamp[cw] = v
                first_with[cw] = w
            else:
                for u in (first_with[cw], w):
                    for q in range(ptr[u], ptr[u + 1]):
                        y = adj[q]
                        if y != v and colors[y] >= 0:
                            forbidden[colors[y]] = v
            # (a) v–w–x–y
            for q in range(ptr[w], ptr[w + 1]):
                x = adj[q]
                if x == v or colors[x] < 0:
                    continue
                for r in range(ptr[x], ptr[x + 1]):
                    y = adj[r]
                    if y != w and colors[y] == cw:
                        forbidden[colors[x]] = v
                        break
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
    return colors


@numba.njit(cache=True)
def smallest_last_order(ptr, adj, n):
    """Smallest-last ordering (Matula–Beck) of a graph, with bucket queues: O(n + edges)."""
    degree = np.empty(n, dtype=np.int64)
    for v in range(n):
        degree[v] = ptr[v + 1] - ptr[v]
    maxdeg = 0
    for v in range(n):
        if degree[v] > maxdeg:
            maxdeg = degree[v]
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
            if d - 1 < low:
                low = d - 1
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
            if nd > top:
                top = nd
    return order
