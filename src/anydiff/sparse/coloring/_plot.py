"""``show_colors``: a PNG of a colored pattern."""

from __future__ import annotations

import numpy as np

__all__ = ["show_colors"]


def show_colors(result, path, *, title=None, max_size=400):
    """Write a PNG of the pattern with each nonzero colored by its color.

    Column partition and symmetric: the column's color; row partition: the row's color;
    bidirectional: the product (forward colors first, then reverse) the entry is read from.
    Neutral (unseeded) entries are drawn grey.

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
    >>> import scipy.sparse as sp, tempfile, pathlib
    >>> from anydiff.sparse import coloring
    >>> res = coloring.color(sp.eye_array(4) + sp.eye_array(4, k=1))
    >>> out = coloring.show_colors(res, pathlib.Path(tempfile.mkdtemp()) / "c.png")
    >>> out.exists()
    True
    """
    import pathlib

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    P = result.pattern
    m, n = P.shape
    rows = np.repeat(np.arange(m), np.diff(P.indptr))
    cols = P.indices
    total = max(1, result.ncolors)
    if result.partition == "bidirectional":  # the product each nonzero is read from
        kc = int(result.column_colors.max(initial=-1)) + 1
        gather = result.gather_index()
        fwd = gather < kc * m
        which = np.where(fwd, gather // max(1, m), kc + (gather - kc * m) // max(1, n))
    elif result.partition == "row":
        which = result.colors[rows]
    else:
        which = result.colors[cols]
    keep = (rows < max_size) & (cols < max_size)
    img = np.zeros((min(m, max_size), min(n, max_size)), dtype=np.int64)  # 0 = structural zero
    img[rows[keep], cols[keep]] = np.asarray(which)[keep] + 2  # 1 = neutral color
    base = plt.get_cmap("tab20")
    palette = np.array(
        [(1.0, 1.0, 1.0, 1.0), (0.6, 0.6, 0.6, 1.0)] + [base(i % 20) for i in range(total)]
    )
    fig, ax = plt.subplots(
        figsize=(5, 5 * img.shape[0] / max(1, img.shape[1])) if img.shape[1] else (5, 5)
    )
    ax.imshow(palette[img], interpolation="nearest")
    ax.set_title(title or f"{result.partition} coloring: {result.ncolors} colors")
    ax.set_xticks([])
    ax.set_yticks([])
    path = pathlib.Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
