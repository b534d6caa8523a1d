"""A detector returning a pattern the user already knows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import scipy.sparse as sp

from ..._errors import InputError

__all__ = ["KnownSparsityDetector"]


@dataclass(frozen=True, eq=False)
class KnownSparsityDetector:
    """A detector returning a pattern you already know (e.g. from the structure of a PDE stencil).

    Parameters
    ----------
    jacobian_pattern : array_like or scipy.sparse, optional
        Boolean ``(m, n)`` pattern.
    hessian_pattern : array_like or scipy.sparse, optional
        Boolean symmetric ``(n, n)`` pattern.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, anydiff as ad
    >>> det = ad.KnownSparsityDetector(jacobian_pattern=sp.eye_array(3))
    >>> b = ad.AutoSparse(ad.AutoFiniteDiff(), sparsity_detector=det)
    >>> ad.jacobian(np.exp, b, np.zeros(3)).toarray().round(6)
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """

    jacobian_pattern: Any = None
    hessian_pattern: Any = None

    def jacobian_sparsity(self, f, x, contexts=(), y=None):
        if self.jacobian_pattern is None:
            raise InputError(
                "KnownSparsityDetector has no jacobian_pattern.\nHint: pass jacobian_pattern=S."
            )
        return sp.csr_array(self.jacobian_pattern, dtype=bool)

    def hessian_sparsity(self, f, x, contexts=()):
        if self.hessian_pattern is None:
            raise InputError(
                "KnownSparsityDetector has no hessian_pattern.\nHint: pass hessian_pattern=S."
            )
        return sp.csr_array(self.hessian_pattern, dtype=bool)
