"""Sparsity detection: patterns of Jacobians and Hessians as boolean ``scipy.sparse`` arrays."""

from ._api import default_detector, hessian_sparsity, jacobian_sparsity
from ._dense import DenseSparsityDetector
from ._jax import JaxSparsityDetector

__all__ = ["jacobian_sparsity", "hessian_sparsity", "default_detector", "JaxSparsityDetector", "DenseSparsityDetector"]

try:  # the NumPy tracer (issue 4), when present
    from ._tracer import TracerLocalSparsityDetector, TracerSparsityDetector  # noqa: F401

    __all__ += ["TracerSparsityDetector", "TracerLocalSparsityDetector"]
except ImportError:  # pragma: no cover - depends on the build
    pass
