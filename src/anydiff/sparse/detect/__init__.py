"""Sparsity detection: patterns of Jacobians and Hessians as boolean ``scipy.sparse`` arrays."""

from ._api import default_detector, hessian_sparsity, jacobian_sparsity
from ._dense import DenseSparsityDetector
from ._jax import JaxSparsityDetector
from ._known import KnownSparsityDetector
from ._torch import TorchSparsityDetector
from ._tracer import TracerLocalSparsityDetector, TracerSparsityDetector

__all__ = [
    "jacobian_sparsity", "hessian_sparsity", "default_detector", "JaxSparsityDetector",
    "DenseSparsityDetector", "KnownSparsityDetector", "TorchSparsityDetector", "TracerSparsityDetector", "TracerLocalSparsityDetector",
]
