"""Automatic sparse differentiation: detection, coloring, decompression, AutoSparse."""

from . import coloring, detect
from ._plan import SparseEstimate, SparsePlan
from .autosparse import AutoSparse, KnownSparsityDetector
from .coloring import GreedyColoring, show_colors
from .detect import (
    DenseSparsityDetector, JaxSparsityDetector, TorchSparsityDetector, TracerLocalSparsityDetector, TracerSparsityDetector,
    hessian_sparsity, jacobian_sparsity,
)

__all__ = [
    "AutoSparse", "KnownSparsityDetector", "SparsePlan", "SparseEstimate", "DenseSparsityDetector", "JaxSparsityDetector",
    "TorchSparsityDetector", "TracerSparsityDetector", "TracerLocalSparsityDetector",
    "jacobian_sparsity", "hessian_sparsity", "coloring", "GreedyColoring", "show_colors", "detect",
]
