"""Standard test problems with known sparsity: Brusselator 2-D, banded differences, Rosenbrock chain.

Each problem is a factory ``make(xp)`` returning the function written with the array namespace
``xp`` (NumPy, ``jax.numpy``, ``autograd.numpy``), plus helpers giving the true sparsity pattern
built independently from the problem's stencil (not by running any detector).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "brusselator_2d", "brusselator_pattern", "brusselator_point",
    "banded_diff", "banded_pattern",
    "rosenbrock_chain", "rosenbrock_chain_gradient", "rosenbrock_chain_hessian",
    "rosenbrock_chain_hessian_pattern",
]


def brusselator_2d(xp, N: int):
    """Right-hand side of the 2-D Brusselator on an N×N periodic grid; input and output size 2N².

    The standard benchmark of sparse AD tools (DifferentialEquations.jl, asdex): a 5-point
    Laplacian stencil with periodic boundaries on each species plus local reactions.

    Examples
    --------
    >>> import numpy as np
    >>> f = brusselator_2d(np, 4)
    >>> f(brusselator_point(4)).shape
    (32,)
    """
    A, B, alpha = 3.4, 1.0, 10.0
    dx = 1.0 / (N - 1)
    coef = alpha / dx**2
    grid = np.linspace(0.0, 1.0, N)
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    forcing = np.where(((X - 0.3) ** 2 + (Y - 0.6) ** 2) <= 0.1**2, 5.0, 0.0)

    def lap(w):
        # positional shift and axis: np.roll, jnp.roll and torch.roll all accept them
        return xp.roll(w, 1, 0) + xp.roll(w, -1, 0) + xp.roll(w, 1, 1) + xp.roll(w, -1, 1) - 4.0 * w

    def f(x):
        source = xp.asarray(forcing)  # a native constant (torch cannot add NumPy arrays to tensors)
        u = xp.reshape(x[: N * N], (N, N))
        v = xp.reshape(x[N * N:], (N, N))
        uuv = u * u * v
        du = coef * lap(u) + B + uuv - (A + 1.0) * u + source
        dv = coef * lap(v) + A * u - uuv
        return xp.concatenate([xp.reshape(du, (-1,)), xp.reshape(dv, (-1,))])

    return f


def brusselator_point(N: int, seed: int = 0) -> np.ndarray:
    """A random evaluation point of size 2N²."""
    return np.random.default_rng(seed).uniform(0.5, 1.5, 2 * N * N)


def brusselator_pattern(N: int) -> sp.csr_array:
    """True Jacobian pattern of :func:`brusselator_2d` (from the stencil, not from a detector)."""
    idx = np.arange(N * N).reshape(N, N)
    rows, cols = [], []
    for shift, axis in ((0, 0), (1, 0), (-1, 0), (1, 1), (-1, 1)):
        nb = np.roll(idx, shift, axis=axis) if shift else idx
        rows.append(idx.ravel())
        cols.append(nb.ravel())
    r, c = np.concatenate(rows), np.concatenate(cols)
    n2 = N * N
    # du depends on u (stencil) and v (same point); dv on v (stencil) and u (same point)
    R = np.concatenate([r, idx.ravel(), r + n2, idx.ravel() + n2])
    C = np.concatenate([c, idx.ravel() + n2, c + n2, idx.ravel()])
    S = sp.coo_array((np.ones(R.size, dtype=bool), (R, C)), shape=(2 * n2, 2 * n2)).tocsr()
    S.sum_duplicates()
    return sp.csr_array(S.astype(bool))


def banded_diff(xp, k: int = 1):
    """``f(x) = D^k(x²)`` with ``D(x)_i = x_i − x_{i−1}`` (``x_{−1} = 0``): lower-banded Jacobian."""

    def D(w):
        return w - xp.concatenate([xp.zeros_like(w[:1]), w[:-1]])

    def f(x):
        y = x * x
        for _ in range(k):
            y = D(y)
        return y

    return f


def banded_pattern(n: int, k: int = 1) -> sp.csr_array:
    """Pattern of :func:`banded_diff`: ``J[i, j] ≠ 0`` for ``i − k ≤ j ≤ i``."""
    return sp.csr_array(sp.diags_array([np.ones(n - d, dtype=bool) for d in range(k + 1)],
                                       offsets=[-d for d in range(k + 1)], shape=(n, n), dtype=bool))


def rosenbrock_chain(xp):
    """Chained Rosenbrock function (scalar output, tridiagonal Hessian)."""

    def f(x):
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    return f


def rosenbrock_chain_gradient(x):
    """Analytic gradient of :func:`rosenbrock_chain`.

    Examples
    --------
    >>> import numpy as np
    >>> rosenbrock_chain_gradient(np.ones(3))
    array([0., 0., 0.])
    """
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def rosenbrock_chain_hessian(x):
    """Analytic (dense) Hessian of :func:`rosenbrock_chain`."""
    n = x.size
    H = np.zeros((n, n), dtype=x.dtype)
    i = np.arange(n - 1)
    H[i, i] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    H[i + 1, i + 1] += 200.0
    H[i, i + 1] = H[i + 1, i] = -400.0 * x[:-1]
    return H


def rosenbrock_chain_hessian_pattern(n: int) -> sp.csr_array:
    """Tridiagonal pattern of the Hessian of :func:`rosenbrock_chain`."""
    return sp.csr_array(sp.diags_array([np.ones(n - 1, bool), np.ones(n, bool), np.ones(n - 1, bool)],
                                       offsets=[-1, 0, 1], shape=(n, n), dtype=bool))
