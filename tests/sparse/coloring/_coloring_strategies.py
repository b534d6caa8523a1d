"""Hypothesis strategies and fixed patterns shared by the coloring tests."""

from __future__ import annotations

import inspect

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

from anydiff.sparse.coloring.orders import ORDERS as _ORDERS

ORDERS = list(_ORDERS)  # every vertex order anydiff offers
# SciPy >= 1.15 calls the generator of random_array `rng`; older SciPy calls it `random_state`
_RNG = "rng" if "rng" in inspect.signature(sp.random_array).parameters else "random_state"


def random_pattern(shape, density, rng, format="coo"):
    """The pattern (boolean sparse array) of ``scipy.sparse.random_array`` drawn with ``rng``."""
    return sp.random_array(shape, density=density, format=format, **{_RNG: rng}) != 0


@st.composite
def patterns(draw, symmetric=False, max_size=20):
    m = draw(st.integers(1, max_size))
    n = m if symmetric else draw(st.integers(1, max_size))
    density = draw(st.floats(0.0, 0.6))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    A = rng.random((m, n)) < density
    if symmetric:
        A = A | A.T
        if draw(st.booleans()):
            A |= np.eye(n, dtype=bool)
    return sp.csr_array(A)


def random_values(S, seed=0, symmetric=False):
    """A matrix with exactly the pattern S and random nonzero values (symmetric if asked)."""
    P = sp.csr_array(S != 0, dtype=float)
    rng = np.random.default_rng(seed)
    if symmetric:
        U = sp.triu(P, format="csr")
        U.data = rng.uniform(1.0, 2.0, U.nnz) * rng.choice([-1, 1], U.nnz)
        return sp.csr_array(U + sp.triu(U, k=1).T)
    P.data = rng.uniform(1.0, 2.0, P.nnz) * rng.choice([-1, 1], P.nnz)
    return P


def banded(n, k):
    return sp.csr_array(
        sp.diags_array(
            [np.ones(n - abs(d)) for d in range(-k, k + 1)], offsets=list(range(-k, k + 1))
        )
        != 0
    )


def arrowhead(n):
    A = np.eye(n, dtype=bool)
    A[0, :] = A[:, 0] = True
    return sp.csr_array(A)


def laplacian_2d(N):
    T = sp.diags_array([np.ones(N - 1), np.ones(N), np.ones(N - 1)], offsets=[-1, 0, 1])
    I = sp.eye_array(N)
    return sp.csr_array((sp.kron(T, I) + sp.kron(I, T)) != 0)


FIXED = {
    "banded_3": banded(60, 3),
    "arrowhead": arrowhead(40),
    "laplacian": laplacian_2d(8),
    "random": sp.csr_array(random_pattern((50, 50), 0.08, np.random.default_rng(5))),
}
