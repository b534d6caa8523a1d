"""DenseSparsityDetector: compute the dense derivative once and threshold it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import math

import numpy as np
import scipy.sparse as sp

__all__ = ["DenseSparsityDetector"]


@dataclass(frozen=True)
class DenseSparsityDetector:
    """Pattern of a dense Jacobian/Hessian computed once with ``backend``, thresholded at ``atol``.

    The pattern is *local*: entries that happen to vanish at this ``x`` are left out, so it is
    only safe when the pattern does not depend on the point (no branches, no values that are
    zero by accident at ``x``). Prefer a tracing detector when the function can be traced.

    Parameters
    ----------
    backend : Backend or str
        Dense backend computing the Jacobian or Hessian (any backend, e.g. ``AutoTorch()``).
    atol : float
        Entries with ``|value| > atol`` are nonzero.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> det = ad.DenseSparsityDetector(ad.AutoFiniteDiff(method="complex"))
    >>> det.jacobian_sparsity(lambda x: x[::-1] ** 2, np.arange(1.0, 4.0)).toarray()
    array([[False, False,  True],
           [False,  True, False],
           [ True, False, False]])
    """

    backend: Any
    atol: float = 0.0

    def jacobian_sparsity(self, f, x, contexts=(), y=None):
        from ... import operators as ops
        from ..._contexts import Constant, Context

        ctx = tuple(c if isinstance(c, Context) else Constant(c) for c in contexts)
        args = (np.zeros(y.shape, y.dtype),) if y is not None else ()
        J = np.asarray(_to_numpy(ops.jacobian(f, *args, self.backend, x, *ctx)))
        n = math.prod(tuple(np.shape(x) if not hasattr(x, "shape") else x.shape))
        return sp.csr_array(np.abs(J.reshape(-1, n)) > self.atol)

    def hessian_sparsity(self, f, x, contexts=()):
        from ... import operators as ops
        from ..._contexts import Constant, Context

        ctx = tuple(c if isinstance(c, Context) else Constant(c) for c in contexts)
        H = np.asarray(_to_numpy(ops.hessian(f, self.backend, x, *ctx)))
        n = math.prod(tuple(np.shape(x) if not hasattr(x, "shape") else x.shape))
        H = np.abs(H.reshape(n, n)) > self.atol
        return sp.csr_array(H | H.T)


def _to_numpy(a):
    from ..._arrays import to_numpy

    return to_numpy(a)
