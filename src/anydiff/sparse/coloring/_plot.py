"""``show_colors``: a PNG of a colored pattern."""

from __future__ import annotations

import numpy as np

__all__ = ["show_colors"]


def show_colors(result, path, *, title=None, max_size=400):
    """Write a PNG of the pattern with each nonzero colored by the color it is read from.

    Parameters
    ----------
    result : ColoringResult
    path : str or pathlib.Path
        Output file (PNG).
    title : str, optional
    max_size : int
        Patterns larger than this (rows or columns) are drawn as their top-left block.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, tempfile, pathlib, anydiff as ad
    >>> res = ad.coloring.color(sp.eye_array(4) + sp.eye_array(4, k=1))
    >>> out = ad.show_colors(res, pathlib.Path(tempfile.mkdtemp()) / "c.png")
    >>> out.exists()
    True
    """
    import pathlib

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    P = result.pattern
    m, n = P.shape
    rows = np.repeat(np.arange(m), np.diff(P.indptr))
    cols = P.indices
    total = max(1, result.ncolors)
    # the color each nonzero is read from: its product index in the gather
    gather = result.gather_index()
    length = m if result.partition in ("column", "bidirectional") else n
    which = np.minimum(gather // max(1, length), total - 1) if result.partition != "bidirectional" else None
    if result.partition == "bidirectional":
        kc = int(result.column_colors.max(initial=-1)) + 1
        fwd = gather < kc * m
        which = np.where(fwd, gather // max(1, m), kc + (gather - kc * m) // max(1, n))
    keep = (rows < max_size) & (cols < max_size)
    img = np.full((min(m, max_size), min(n, max_size)), -1.0)
    img[rows[keep], cols[keep]] = which[keep]
    base = plt.get_cmap("tab20", 20)
    cmap = ListedColormap([(1, 1, 1, 1)] + [base(i % 20) for i in range(total)])
    fig, ax = plt.subplots(figsize=(5, 5 * img.shape[0] / max(1, img.shape[1])) if img.shape[1] else (5, 5))
    ax.imshow(img + 1, cmap=cmap, vmin=0, vmax=total, interpolation="nearest")
    ax.set_title(title or f"{result.partition} coloring: {result.ncolors} colors")
    ax.set_xticks([])
    ax.set_yticks([])
    path = pathlib.Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
