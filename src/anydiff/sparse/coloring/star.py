"""Star coloring of symmetric patterns (Hessians, direct recovery).

Gebremedhin, Manne & Pothen (2005), "What color is your Jacobian?", star coloring: a
distance-1 coloring where every path on four vertices uses at least three colors. Then every
off-diagonal entry ``H[i, j]`` can be read directly from ``(H @ seeds)[i, color(j)]`` or
``(H @ seeds)[j, color(i)]``.
"""

from __future__ import annotations

import numba
import numpy as np

from ..._errors import ColoringError
from .orders import vertex_order
from .problem import adjacency, rows_cols
from .result import ColoringResult

__all__ = ["direct_symmetric_gather", "star_coloring"]


@numba.njit(cache=True)
def greedy_star(order, ptr, adj, n):
    """Greedy star coloring of a symmetric pattern (adjacency ``ptr/adj`` without the diagonal).

    When coloring ``v``, the two ways a bicolored 4-path through ``v`` could appear are ruled
    out: (a) ``v–w–x–y`` with ``color(w) = color(y)``: forbid ``color(x)``; (b) ``w–v–x–y`` with
    ``color(w) = color(x)``: forbid the colors of the other neighbors of ``w`` and ``x``.
    """
    colors = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    first_with = np.full(n + 1, -1, dtype=np.int64)  # per color: first neighbor of v having it
    stamp = np.full(n + 1, -1, dtype=np.int64)
    treated = np.full(n, -1, dtype=np.int64)
    for v in order:
        for p in range(ptr[v], ptr[v + 1]):
            w = adj[p]
            cw = colors[w]
            if cw < 0:
                continue
            forbidden[cw] = v
            if stamp[cw] != v:
                stamp[cw] = v
                first_with[cw] = w
            else:  # (b): two neighbors of v share a color
                for u in (first_with[cw], w):
                    if treated[u] == v:
                        continue
                    treated[u] = v
                    for q in range(ptr[u], ptr[u + 1]):
                        y = adj[q]
                        if y != v and colors[y] >= 0:
                            forbidden[colors[y]] = v
            # (a): v–w–x–y
            for q in range(ptr[w], ptr[w + 1]):
                x = adj[q]
                if x == v or colors[x] < 0 or forbidden[colors[x]] == v:
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


def direct_symmetric_gather(rows, cols, colors, n, economical=False):
    """For each entry ``(i, j)``: a flat index ``color * n + vertex`` into the stacked products
    ``(H @ seeds).T`` where it can be read alone, or ``-1`` if neither ``(i, color(j))`` nor
    ``(j, color(i))`` isolates it.

    Reading at row ``i``, column ``color(j)`` works when ``j`` is the only neighbor of ``i``
    (diagonal included) with that color; otherwise try the transposed position. With
    ``economical=True``, entries readable both ways prefer a color already needed by another
    entry, so that post-processing can drop more colors.
    """
    k = int(colors.max(initial=-1)) + 1
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    cj, ci = colors[cols], colors[rows]
    key = rows * k + np.maximum(cj, 0)
    uniq, counts = np.unique(key[cj >= 0], return_counts=True)

    def count(keys):
        pos = np.minimum(np.searchsorted(uniq, keys), max(uniq.size - 1, 0))
        return (
            np.where((uniq.size > 0) & (uniq[pos] == keys), counts[pos], 0)
            if uniq.size
            else np.zeros_like(keys)
        )

    here = (cj >= 0) & (count(key) == 1)
    there = (ci >= 0) & (count(cols * k + np.maximum(ci, 0)) == 1)
    if economical:
        here = _prefer_needed(here, there, cj, ci, k)
    return np.where(here, cj * n + rows, np.where(there, ci * n + cols, -1))


@numba.njit(cache=True)
def _prefer_needed(here, there, cj, ci, k):
    """Where both positions work, read from a color that some entry needs anyway."""
    need = np.zeros(k + 1, dtype=np.bool_)
    for e in range(here.size):
        if here[e] and not there[e]:
            need[cj[e]] = True
        elif there[e] and not here[e]:
            need[ci[e]] = True
    out = here.copy()
    for e in range(here.size):
        if here[e] and there[e]:
            if need[cj[e]]:
                out[e] = True
            elif need[ci[e]]:
                out[e] = False
            else:
                need[cj[e]] = True
                out[e] = True
    return out


def star_coloring(P, name, algorithm) -> ColoringResult:
    n = P.shape[0]
    G = adjacency(P)
    order = vertex_order(name, G, algorithm.seed)
    colors = greedy_star(order, G.indptr.astype(np.int64), G.indices.astype(np.int64), n)
    rows, cols = rows_cols(P)
    gather = direct_symmetric_gather(rows, cols, colors, n, economical=algorithm.postprocessing)
    if np.any(gather < 0):  # pragma: no cover - guaranteed by the star property
        raise ColoringError("Internal error: the star coloring does not allow direct recovery.")
    k = int(colors.max(initial=-1)) + 1
    if algorithm.postprocessing:
        colors, gather, k = neutralize_unread(colors, gather, n, k)
    return ColoringResult(
        P, "symmetric", "column", colors, k, decompression="direct", order=name, _gather=gather
    )


def neutralize_unread(colors, gather, length, k):
    """Drop the colors no entry is read from: their vertices get the neutral color ``-1``
    (not seeded) and the remaining colors are renumbered ``0..k'-1``."""
    used = np.unique(gather // max(length, 1)) if gather.size else np.zeros(0, dtype=np.int64)
    remap = np.full(k + 1, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    new_colors = np.where(colors >= 0, remap[colors], -1)
    new_gather = remap[gather // max(length, 1)] * length + gather % max(length, 1)
    return new_colors, new_gather, int(used.size)
