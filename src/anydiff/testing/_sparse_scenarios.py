"""Sparse scenarios: Brusselator, banded, arrowhead Jacobians and the chained-Rosenbrock Hessian.

The references are analytic (built from each problem's formula with ``scipy.sparse``), and the
patterns come from the stencils, so neither depends on a sparsity detector or an AD backend.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._problems import (
    banded_diff, banded_pattern, brusselator_2d, brusselator_pattern, brusselator_point,
    rosenbrock_chain, rosenbrock_chain_gradient, rosenbrock_chain_hessian, rosenbrock_chain_hessian_pattern,
)
from ._scenarios import Scenario

__all__ = ["sparse_scenarios", "arrowhead", "arrowhead_pattern"]

_SPARSE = frozenset({"sparse"})


def arrowhead(xp):
    """``y_0 = Σ sin(x)``, ``y_i = x_i² + x_0 x_i``: a dense first row and column plus the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> arrowhead(np)(np.array([1.0, 2.0])).shape
    (2,)
    """

    def f(x):
        rest = x[1:] * x[1:] + x[0] * x[1:]
        return xp.concatenate([xp.reshape(xp.sum(xp.sin(x)), (1,)), rest])

    return f


def arrowhead_pattern(n: int) -> sp.csr_array:
    """Pattern of :func:`arrowhead`: row 0, column 0 and the diagonal."""
    S = sp.lil_array((n, n), dtype=bool)
    S[0, :] = True
    S[:, 0] = True
    S.setdiag(True)
    return sp.csr_array(S)


def _arrowhead_jacobian(x):
    n = x.size
    J = np.zeros((n, n))
    J[0] = np.cos(x)
    J[1:, 0] = x[1:]
    J[np.arange(1, n), np.arange(1, n)] = 2 * x[1:] + x[0]
    return J


def _periodic_laplacian(N):
    idx = np.arange(N * N).reshape(N, N)
    rows = [idx.ravel()] * 5
    cols = [idx.ravel()] + [np.roll(idx, s, axis=a).ravel() for s, a in ((1, 0), (-1, 0), (1, 1), (-1, 1))]
    vals = [np.full(N * N, -4.0)] + [np.ones(N * N)] * 4
    L = sp.coo_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(N * N, N * N))
    return sp.csr_array(L)  # duplicates (N = 2) are summed


def _brusselator_jacobian(N):
    A, B, alpha = 3.4, 1.0, 10.0
    coef = alpha * (N - 1) ** 2
    L = coef * _periodic_laplacian(N)

    def jacobian(x):
        u, v = x[: N * N], x[N * N:]
        d = sp.diags_array
        top = sp.hstack([L + d(2 * u * v - (A + 1.0)), d(u * u)])
        bottom = sp.hstack([d(A - 2 * u * v), L - d(u * u)])
        return sp.vstack([top, bottom]).toarray()

    return jacobian


def _banded_jacobian(k):
    def jacobian(x):
        n = x.size
        D = sp.eye_array(n) - sp.eye_array(n, k=-1)
        M = sp.eye_array(n)
        for _ in range(k):
            M = D @ M
        return (M @ sp.diags_array(2 * x)).toarray()

    return jacobian


def sparse_scenarios(n: int = 24, grid: int = 4) -> list[Scenario]:
    """Scenarios with sparse Jacobians or Hessians and their true patterns (tag ``"sparse"``).

    Parameters
    ----------
    n : int
        Input size of the banded, arrowhead and Rosenbrock problems.
    grid : int
        Brusselator grid size ``N`` (input size ``2 N²``).

    Examples
    --------
    >>> from anydiff.testing import sparse_scenarios
    >>> [(sc.name, sc.pattern().nnz) for sc in sparse_scenarios(n=10, grid=3)]  # doctest: +NORMALIZE_WHITESPACE
    [('brusselator N=3', 108), ('banded k=2 n=10', 27), ('arrowhead n=10', 28),
     ('rosenbrock chain hessian n=10', 28)]
    """
    rng = np.random.default_rng(3)
    x = rng.uniform(0.5, 1.5, n)
    return [
        Scenario(f"brusselator N={grid}", lambda xp: brusselator_2d(xp, grid), brusselator_point(grid),
                 value=brusselator_2d(np, grid), jacobian=_brusselator_jacobian(grid),
                 tags=_SPARSE, ops=("jacobian",), pattern=lambda: brusselator_pattern(grid)),
        Scenario(f"banded k=2 n={n}", lambda xp: banded_diff(xp, 2), x,
                 value=banded_diff(np, 2), jacobian=_banded_jacobian(2),
                 tags=_SPARSE, ops=("jacobian",), pattern=lambda: banded_pattern(n, 2)),
        Scenario(f"arrowhead n={n}", arrowhead, x, value=arrowhead(np), jacobian=_arrowhead_jacobian,
                 tags=_SPARSE, ops=("jacobian",), pattern=lambda: arrowhead_pattern(n)),
        Scenario(f"rosenbrock chain hessian n={n}", rosenbrock_chain, x,
                 value=rosenbrock_chain(np), jacobian=rosenbrock_chain_gradient,
                 hessian=rosenbrock_chain_hessian, tags=_SPARSE, ops=("gradient", "hessian"),
                 pattern=lambda: rosenbrock_chain_hessian_pattern(n)),
    ]
