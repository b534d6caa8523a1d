"""Coloring of sparsity patterns for compressed (sparse) differentiation.

Column and row colorings (Jacobians: forward / reverse mode), star coloring (symmetric
Hessians, direct recovery), acyclic coloring (Hessians, recovery by substitution), and
bidirectional colorings (forward colors on columns + reverse colors on rows). Greedy
algorithms and vertex orders run as numba kernels on CSR index arrays; direct decompression is
one vectorized gather of precomputed indices (:mod:`anydiff.sparse.decompression`).

Examples
--------
>>> import numpy as np
>>> from anydiff.sparse import coloring
>>> A = np.eye(4, dtype=bool)
>>> A[0, :] = A[:, 0] = True  # arrowhead
>>> coloring.color(A, partition="column").ncolors, coloring.color(A, "symmetric").ncolors
(4, 2)
"""

from . import check
from ._color import color
from ._plot import show_colors
from .exact import ExactColoring
from .greedy import GreedyColoring
from .orders import BEST_OF, ORDERS
from .problem import PARTITIONS, STRUCTURES, ColoringProblem
from .result import ColoringResult, seed_matrix

__all__ = [
    "BEST_OF",
    "ORDERS",
    "PARTITIONS",
    "STRUCTURES",
    "ColoringProblem",
    "ColoringResult",
    "ExactColoring",
    "GreedyColoring",
    "check",
    "color",
    "seed_matrix",
    "show_colors",
]
