"""What a sparse preparation knows: pattern, coloring, and a cost estimate before any call."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import scipy.sparse as sp

__all__ = ["SparseEstimate", "SparsePlan"]


@dataclass(frozen=True)
class SparseEstimate:
    """Predicted cost of one prepared sparse call.

    Attributes
    ----------
    ncolors : int
        Compressed products per call (one seed per color).
    dense_products : int
        Products a dense Jacobian/Hessian would need (``n`` forward, ``m`` reverse).
    one_product_s : float
        Measured seconds of one product with one seed (one JVP, VJP or HVP), at the
        preparation point.
    predicted_s : float
        ``ncolors * one_product_s``: what the compressed products cost when run one by one
        (batched, they usually cost less).
    """

    ncolors: int
    dense_products: int
    one_product_s: float
    predicted_s: float

    @property
    def compression(self) -> float:
        """``dense_products / ncolors``: how many times fewer products than dense."""
        return self.dense_products / max(self.ncolors, 1)


@dataclass(frozen=True, eq=False)
class SparsePlan:
    """Detection and coloring results of an ``AutoSparse`` preparation (``prep.sparse``)."""

    pattern: sp.csr_array
    coloring: object  # ColoringResult
    partition: str  # "column", "row", "bidirectional" or "symmetric"
    dense_products: int
    probe: Callable | None = None  # () -> None: one product with one seed at the preparation point

    @property
    def ncolors(self) -> int:
        return int(self.coloring.ncolors)

    def show_colors(self, path, **kwargs):
        """Draw the colored pattern to ``path`` (PNG); returns the path."""
        from .coloring import show_colors

        return show_colors(self.coloring, path, **kwargs)

    def estimate(self, repeat: int = 3) -> SparseEstimate:
        """Time one single-seed product (min of ``repeat``) and predict the cost of a call."""
        best = float("nan")
        if self.probe is not None:
            self.probe()  # warm-up (compilation)
            best = float("inf")
            for _ in range(max(1, repeat)):
                t = time.perf_counter()
                self.probe()
                best = min(best, time.perf_counter() - t)
        return SparseEstimate(self.ncolors, self.dense_products, best, self.ncolors * best)
