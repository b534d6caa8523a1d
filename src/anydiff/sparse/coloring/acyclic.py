"""Acyclic coloring of symmetric patterns (Hessians, recovery by substitution).

Gebremedhin, Tarafdar, Manne & Pothen (2007), "New acyclic and star coloring algorithms with
application to computing Hessians", Algorithm 3.1: a distance-1 coloring where every cycle uses
at least three colors, so the subgraph of any two colors is a forest. Two-colored trees are
kept in a union-find structure over edges while coloring. Fewer colors than star coloring;
decompression solves along each tree (:func:`anydiff.sparse.decompression.decompress`).
"""

from __future__ import annotations

import numba
import numpy as np

from ..._errors import ColoringError
from .orders import vertex_order
from .problem import adjacency, edge_ids, rows_cols
from .result import ColoringResult

__all__ = ["acyclic_coloring"]


@numba.njit(cache=True)
def _find(parent, e):
    root = e
    while parent[root] != root:
        root = parent[root]
    while parent[e] != root:  # path compression
        nxt = parent[e]
        parent[e] = root
        e = nxt
    return root


@numba.njit(cache=True)
def _union(parent, rank, a, b):
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra == rb:
        return
    if rank[ra] < rank[rb]:
        ra, rb = rb, ra
    elif rank[ra] == rank[rb]:
        rank[ra] += 1
    parent[rb] = ra


@numba.njit(cache=True)
def greedy_acyclic(order, ptr, adj, eid, ne, n):
    """Greedy acyclic coloring; ``eid`` numbers undirected edges (both directions share it)."""
    colors = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    parent = np.arange(ne)
    rank = np.zeros(ne, dtype=np.int64)
    visit_v = np.full(ne, -1, dtype=np.int64)  # per tree root: vertex v that last visited it
    visit_w = np.full(ne, -1, dtype=np.int64)  # ... and through which neighbor w
    first_v = np.full(n + 1, -1, dtype=np.int64)  # per color: star being grown around v
    first_e = np.full(n + 1, -1, dtype=np.int64)
    seen = np.full(n + 1, -1, dtype=np.int64)  # per color: adjacency position p of the last (v, w)
    for v in order:
        for p in range(ptr[v], ptr[v + 1]):
            w = adj[p]
            if colors[w] >= 0:
                forbidden[colors[w]] = v
        # a two-colored tree reached from v through two different neighbors would close a cycle
        for p in range(ptr[v], ptr[v + 1]):
            w = adj[p]
            if colors[w] < 0:
                continue
            for q in range(ptr[w], ptr[w + 1]):
                x = adj[q]
                if x == v or colors[x] < 0 or forbidden[colors[x]] == v:
                    continue
                # edges w-x with the same color(x) are in one two-colored tree: check it once
                if seen[colors[x]] == p:
                    continue
                seen[colors[x]] = p
                r = _find(parent, eid[q])
                if visit_v[r] != v:
                    visit_v[r] = v
                    visit_w[r] = w
                elif visit_w[r] != w:
                    forbidden[colors[x]] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
        # grow the two-colored stars centered at v
        for p in range(ptr[v], ptr[v + 1]):
            w = adj[p]
            cw = colors[w]
            if cw < 0:
                continue
            if first_v[cw] != v:
                first_v[cw] = v
                first_e[cw] = eid[p]
            else:
                _union(parent, rank, eid[p], first_e[cw])
        # join the trees meeting at v's neighbors through v's color
        for p in range(ptr[v], ptr[v + 1]):
            w = adj[p]
            if colors[w] < 0:
                continue
            for q in range(ptr[w], ptr[w + 1]):
                x = adj[q]
                if x != v and colors[x] == c:
                    # the edges w-x with color(x) = c already form one tree: join it once
                    _union(parent, rank, eid[p], eid[q])
                    break
    return colors


@numba.njit(cache=True)
def two_colored_trees(ptr, adj, eid, ne, colors, n):
    """Connected components of every two-colored subgraph, as BFS lists of (child, parent).

    Returns ``(tree_ptr, child, parent, pos, ok)`` where ``pos`` is the adjacency position of the
    entry (parent, child) and ``ok`` is False if a component has a cycle (not acyclic).
    """
    uf = np.arange(ne)
    rank = np.zeros(ne, dtype=np.int64)
    k = 0
    for v in range(n):
        k = max(k, colors[v] + 1)
    stamp = np.full(k + 1, -1, dtype=np.int64)
    first = np.full(k + 1, -1, dtype=np.int64)
    for u in range(n):  # edges at u towards the same color are in the same component
        for p in range(ptr[u], ptr[u + 1]):
            c = colors[adj[p]]
            if stamp[c] != u:
                stamp[c] = u
                first[c] = eid[p]
            else:
                _union(uf, rank, first[c], eid[p])
    root = np.empty(ne, dtype=np.int64)
    for e in range(ne):
        root[e] = _find(uf, e)
    start_of = np.full(ne, -1, dtype=np.int64)  # a vertex of each edge
    for u in range(n):
        for p in range(ptr[u], ptr[u + 1]):
            start_of[eid[p]] = u
    done = np.zeros(ne, dtype=np.bool_)
    seen = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    child = np.empty(ne, dtype=np.int64)
    par = np.empty(ne, dtype=np.int64)
    pos = np.empty(ne, dtype=np.int64)
    tree_ptr = np.zeros(ne + 1, dtype=np.int64)
    ntrees = 0
    nout = 0
    ok = True
    for e in range(ne):
        r = root[e]
        if done[r]:
            continue
        done[r] = True
        s = start_of[e]
        seen[s] = r
        queue[0] = s
        head, tail = 0, 1
        while head < tail:
            u = queue[head]
            head += 1
            for p in range(ptr[u], ptr[u + 1]):
                if root[eid[p]] != r:
                    continue
                w = adj[p]
                if seen[w] == r:
                    continue
                seen[w] = r
                queue[tail] = w
                tail += 1
                child[nout] = w
                par[nout] = u
                pos[nout] = p
                nout += 1
        ntrees += 1
        tree_ptr[ntrees] = nout
        if tail - 1 != _count_edges(root, r, ptr, adj, eid, queue, tail):
            ok = False
    return tree_ptr[: ntrees + 1], child[:nout], par[:nout], pos[:nout], ok


@numba.njit(cache=True)
def _count_edges(root, r, ptr, adj, eid, verts, nv):
    twice = 0
    for i in range(nv):
        u = verts[i]
        for p in range(ptr[u], ptr[u + 1]):
            if root[eid[p]] == r:
                twice += 1
    return twice // 2


def acyclic_coloring(P, name, algorithm) -> ColoringResult:
    n = P.shape[0]
    G = adjacency(P)
    ptr, adj = G.indptr.astype(np.int64), G.indices.astype(np.int64)
    eid, ne, mirror = edge_ids(G)
    order = vertex_order(name, G, algorithm.seed)
    colors = greedy_acyclic(order, ptr, adj, eid, ne, n)
    tree_ptr, child, parent, pos, ok = two_colored_trees(ptr, adj, eid, ne, colors, n)
    if not ok:  # pragma: no cover - guaranteed by the algorithm
        raise ColoringError("Internal error: the acyclic coloring has a two-colored cycle.")
    # positions in P: off-diagonal entries of P are those of G, in the same CSR order
    rows, cols = rows_cols(P)
    off = np.flatnonzero(rows != cols)
    pos_pc = off[pos]
    pos_cp = off[mirror[pos]]
    diag_pos = np.flatnonzero(rows == cols)
    diag_vertex = rows[diag_pos]
    k = int(colors.max(initial=-1)) + 1
    if algorithm.postprocessing:  # keep only colors that some entry is read from
        used = np.unique(np.concatenate([colors[parent], colors[diag_vertex]]))
        remap = np.full(k + 1, -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        colors = np.where(colors >= 0, remap[colors], -1)
        k = int(used.size)
    plan = {
        "colors": colors,
        "tree_ptr": tree_ptr,
        "child": child,
        "parent": parent,
        "pos_cp": pos_cp,
        "pos_pc": pos_pc,
        "diag_vertex": diag_vertex,
        "diag_pos": diag_pos,
    }
    return ColoringResult(
        P, "symmetric", "column", colors, k, decompression="substitution", order=name, _plan=plan
    )
