"""Coloring of sparsity patterns for compressed (sparse) differentiation.

Column and row colorings (Jacobians, forward/reverse mode), star coloring (symmetric
Hessians, direct recovery), and a bidirectional partition (dense rows by reverse mode, the rest
by forward mode). Greedy algorithms run as numba kernels; decompression is one vectorized
gather of precomputed indices.
"""

from ._api import ColoringResult, GreedyColoring, color, seed_matrix
from ._orders import ORDERS
from ._plot import show_colors

__all__ = ["color", "ColoringResult", "GreedyColoring", "seed_matrix", "show_colors", "ORDERS"]
