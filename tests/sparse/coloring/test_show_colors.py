"""show_colors writes a PNG whose pixels carry the coloring."""

from __future__ import annotations

import numpy as np
import pytest
from _coloring_strategies import banded

from anydiff.sparse import coloring


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"partition": "row"},
        {"partition": "bidirectional"},
        {"structure": "symmetric"},
        {
            "structure": "symmetric",
            "algorithm": coloring.GreedyColoring(decompression="substitution", postprocessing=True),
        },
    ],
)
def test_png_written(tmp_path, kwargs):
    res = coloring.color(banded(30, 2), **kwargs)
    path = coloring.show_colors(res, tmp_path / "c.png", title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pixels_follow_colors(tmp_path):
    import matplotlib.image as mpimg

    res = coloring.color(banded(10, 1))
    path = coloring.show_colors(res, tmp_path / "c.png")
    img = mpimg.imread(path)[..., :3]
    distinct = {tuple(np.round(px, 2)) for px in img.reshape(-1, 3)}
    assert len(distinct) >= 1 + res.ncolors  # white background + one color per group
