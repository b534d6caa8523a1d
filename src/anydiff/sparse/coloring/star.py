"""Star coloring of symmetric patterns (Hessians, direct recovery).

Star coloring (Gebremedhin, Manne & Pothen 2005, "What color is your Jacobian?"): a
distance-1 coloring where every path on four vertices uses at least three colors. Then every
off-diagonal entry ``H[i, j]`` can be read directly from ``(H @ seeds)[i, color(j)]`` or
``(H @ seeds)[j, color(i)]``. The greedy algorithm keeps the two-colored stars and their hubs
(Gebremedhin, Tarafdar, Manne & Pothen 2007, Algorithm 4.1).
"""

from __future__ import annotations

import numba
import numpy as np

from ..._errors import ColoringError
from .orders import vertex_order
from .problem import adjacency, edge_ids
from .result import ColoringResult

__all__ = ["direct_symmetric_gather", "star_coloring"]


@numba.njit(cache=True)
def alone_in_row(indptr, indices, vertex_colors):
    """Per entry ``(i, j)``: is ``j`` the only column of row ``i`` with its color (``-1`` =
    neutral, never alone)? Counts colors row by row with a stamped array (no sorting)."""
    k = 1
    for c in vertex_colors:
        k = max(k, c + 1)
    count = np.zeros(k, dtype=np.int64)
    stamp = np.full(k, -1, dtype=np.int64)
    out = np.zeros(indices.size, dtype=np.bool_)
    for i in range(indptr.size - 1):
        for p in range(indptr[i], indptr[i + 1]):
            c = vertex_colors[indices[p]]
            if c < 0:
                continue
            if stamp[c] != i:
                stamp[c] = i
                count[c] = 0
            count[c] += 1
        for p in range(indptr[i], indptr[i + 1]):
            c = vertex_colors[indices[p]]
            out[p] = c >= 0 and count[c] == 1
    return out


def direct_symmetric_gather(P, colors, economical=False, mirror=None, read=False):
    """For each entry ``(i, j)`` of the symmetric pattern ``P``: a flat index
    ``color * n + vertex`` into the stacked products ``(H @ seeds).T`` where it can be read
    alone, or ``-1`` if neither ``(i, color(j))`` nor ``(j, color(i))`` isolates it.

    Reading at row ``i``, column ``color(j)`` works when ``j`` is the only neighbor of ``i``
    (diagonal included) with that color; otherwise try the transposed position. With
    ``economical=True``, entries readable both ways prefer a color already needed by another
    entry, so that post-processing can drop more colors. ``mirror``: ``edge_ids(P)[2]`` if known.
    With ``read=True`` also returns, per color, whether some entry is read from it.
    """
    k = int(colors.max(initial=-1)) + 1
    if P.indices.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return (empty, np.zeros(k + 1, dtype=np.bool_)) if read else empty
    here = alone_in_row(P.indptr, P.indices, colors)
    if mirror is None:
        _, _, mirror = edge_ids(P)
    out, used = _symmetric_gather(P.indptr, P.indices, colors, here, mirror, economical, k)
    return (out, used) if read else out


@numba.njit(cache=True)
def _symmetric_gather(indptr, indices, colors, here, mirror, economical, k):
    n = indptr.size - 1
    need = np.zeros(k + 1, dtype=np.bool_)
    if economical:  # colors some entry can only be read from
        for i in range(n):
            for p in range(indptr[i], indptr[i + 1]):
                h, t = here[p], here[mirror[p]]
                if h and not t:
                    need[colors[indices[p]]] = True
                elif t and not h:
                    need[colors[i]] = True
    out = np.empty(indices.size, dtype=np.int64)
    used = np.zeros(k + 1, dtype=np.bool_)  # used[k]: some entry cannot be read
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            h, t = here[p], here[mirror[p]]
            if h and t and economical:  # readable both ways: prefer a color needed anyway
                if not need[colors[j]] and need[colors[i]]:
                    h = False
                else:
                    need[colors[j]] = True
            if h:
                out[p] = colors[j] * n + i
                used[colors[j]] = True
            elif t:
                out[p] = colors[i] * n + j
                used[colors[i]] = True
            else:
                out[p] = -1
                used[k] = True
    return out, used


def star_coloring(P, name, algorithm) -> ColoringResult:
    n = P.shape[0]
    G = adjacency(P)
    order = vertex_order(name, G, algorithm.seed)
    colors = greedy_star_paths(order, G.indptr, G.indices, n)
    eid, ne, mirror = edge_ids(P)  # edges of P (the diagonal gets -1): numbers for G, mirrors for the gather
    if algorithm.portfolio:  # the star-and-hub kernel wins on some patterns (2-D Laplacians)
        eid_g = eid[eid >= 0] if G.nnz < P.nnz else eid  # G is P without its diagonal, in the same order
        # stopped as soon as it needs as many colors as the first kernel (then it cannot win)
        hubs = greedy_star_hubs(order, G.indptr, G.indices, eid_g, ne, n, int(colors.max(initial=-1)))
        if n and hubs.min() >= 0:
            colors = hubs
    gather, used = direct_symmetric_gather(P, colors, economical=algorithm.postprocessing, mirror=mirror, read=True)
    k = int(colors.max(initial=-1)) + 1
    if used[k]:  # pragma: no cover - guaranteed by the star property
        raise ColoringError("Internal error: the star coloring does not allow direct recovery.")
    if algorithm.postprocessing and not used[:k].all():  # some colors are never read: drop them
        colors, gather, k = neutralize_unread(colors, gather, n, k)
    return ColoringResult(
        P, "symmetric", "column", colors, k, decompression="direct", order=name, _gather=gather
    )


def neutralize_unread(colors, gather, length, k):
    """Drop the colors no entry is read from: their vertices get the neutral color ``-1``
    (not seeded) and the remaining colors are renumbered ``0..k'-1``."""
    length = max(length, 1)
    color_of = gather // length
    used = np.flatnonzero(np.bincount(color_of, minlength=k)) if gather.size else np.zeros(0, dtype=np.int64)
    if used.size == k:  # every color is read: nothing to drop
        return colors, gather, k
    remap = np.full(k + 1, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    new_colors = np.where(colors >= 0, remap[colors], -1)
    new_gather = remap[color_of] * length + (gather - color_of * length)
    return new_colors, new_gather, int(used.size)


@numba.njit(cache=True)
def greedy_star_paths(order, ptr, adj, n, width=64):
    """Greedy star coloring by forbidding two-colored paths (GMP 2005, Algorithm 4.1 of
    "What color is your Jacobian?").

    Coloring ``v``, for each neighbor ``w`` and each colored ``x`` adjacent to ``w``: if ``w``
    is uncolored, ``x`` is at distance two through a vertex still to be colored, so its color
    is forbidden; if ``w`` is colored, ``color(x)`` is forbidden only when ``x`` has another
    neighbor ``y`` colored like ``w`` (then ``v-w-x-y`` would be a two-colored path on four
    vertices). Fewer colors than the star-and-hub variant on random patterns (9 vs 13 at
    n = 1e5 with the largest-first order), at a similar cost.

    "Another neighbor colored like ``w``" is one bit of ``twice[x]``: per vertex, the colors
    below ``width`` (at most 64) seen on at least two of its neighbors, updated when a vertex
    is colored. Colors from ``width`` on fall back to a scan of ``x``'s neighbors. Same colors
    either way.
    """
    colors = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    once = np.zeros(n, dtype=np.uint64)  # bit c: some neighbor is colored c
    twice = np.zeros(n, dtype=np.uint64)  # bit c: at least two neighbors are colored c
    one = np.uint64(1)
    width = min(width, 64)
    for v in order:
        for p in range(ptr[v], ptr[v + 1]):
            w = adj[p]
            cw = colors[w]
            if cw >= 0:
                forbidden[cw] = v
            for q in range(ptr[w], ptr[w + 1]):
                x = adj[q]
                cx = colors[x]
                if cx < 0 or x == v or forbidden[cx] == v:
                    continue
                if cw < 0:
                    forbidden[cx] = v
                elif cw < width:
                    if (twice[x] >> np.uint64(cw)) & one:  # w and another neighbor of x are colored cw
                        forbidden[cx] = v
                else:
                    for r in range(ptr[x], ptr[x + 1]):
                        y = adj[r]
                        if y != w and colors[y] == cw:
                            forbidden[cx] = v
                            break
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
        if c < width:
            bit = one << np.uint64(c)
            for p in range(ptr[v], ptr[v + 1]):
                u = adj[p]
                if once[u] & bit:
                    twice[u] |= bit
                else:
                    once[u] |= bit
    return colors


@numba.njit(cache=True)
def _forbid_neighbors(forbidden, treated, ptr, adj, colors, v, w):
    for q in range(ptr[w], ptr[w + 1]):
        x = adj[q]
        if colors[x] >= 0:
            forbidden[colors[x]] = v
    treated[w] = v


@numba.njit(cache=True)
def greedy_star_hubs(order, ptr, adj, eid, ne, n, cap=-1):
    """Greedy star coloring with two-colored stars kept explicitly (GTMP 2007, Algorithm 4.1).

    Each edge between colored vertices belongs to a two-colored star whose hub is known once
    the star has two edges. Coloring ``v``: (1) if two neighbors ``w``, ``q`` share a color,
    forbid the colors of all their neighbors; (2) otherwise forbid ``color(x)`` when ``x`` is
    the hub of the star of edge ``w–x`` (``v–w–x–y`` would be a bicolored path). Costs
    O(sum of deg(w) over neighbors) per vertex instead of the three nested loops of
    :func:`greedy_star_paths`. With ``cap >= 0`` it stops, leaving vertices uncolored (``-1``),
    as soon as it would use color ``cap``.
    """
    colors = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    first_v = np.full(n + 1, -1, dtype=np.int64)  # per color: last v that met it ...
    first_w = np.full(n + 1, -1, dtype=np.int64)  # ... through this neighbor
    first_e = np.full(n + 1, -1, dtype=np.int64)  # ... along this edge
    treated = np.full(n, -1, dtype=np.int64)
    star = np.full(max(ne, 1), -1, dtype=np.int64)  # per edge: its star
    hub = np.full(max(ne, 1), -1, dtype=np.int64)  # per star: hub (-1 while it is one edge)
    nstars = 0
    for v in order:
        for p in range(ptr[v], ptr[v + 1]):
            w = adj[p]
            cw = colors[w]
            if cw < 0:
                continue
            forbidden[cw] = v
            if first_v[cw] == v:  # case 1: w and an earlier neighbor q share a color
                q = first_w[cw]
                if treated[q] != v:
                    _forbid_neighbors(forbidden, treated, ptr, adj, colors, v, q)
                _forbid_neighbors(forbidden, treated, ptr, adj, colors, v, w)
            else:
                first_v[cw] = v
                first_w[cw] = w
                first_e[cw] = eid[p]
                for q in range(ptr[w], ptr[w + 1]):  # case 2: x is the hub of the star of w-x
                    x = adj[q]
                    if x != v and colors[x] >= 0 and hub[star[eid[q]]] == x:
                        forbidden[colors[x]] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        if c == cap:
            return colors
        colors[v] = c
        for p in range(ptr[v], ptr[v + 1]):  # put the new edges v-w into stars
            w = adj[p]
            if colors[w] < 0:
                continue
            joined = False
            for q in range(ptr[w], ptr[w + 1]):
                x = adj[q]
                if x != v and colors[x] == c:  # v-w-x: w is the hub of the star of w-x
                    s = star[eid[q]]
                    hub[s] = w
                    star[eid[p]] = s
                    joined = True
                    break
            if not joined:
                cw = colors[w]
                if first_v[cw] == v and first_w[cw] != w:  # w-v-q: v is a hub
                    s = star[first_e[cw]]
                    hub[s] = v
                    star[eid[p]] = s
                else:
                    star[eid[p]] = nstars
                    nstars += 1
    return colors
