"""The oracle checkers reject invalid colorings (so the property tests are not vacuous)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from anydiff.sparse.coloring import check

PATH4 = sp.csr_array(np.eye(4, k=1, dtype=bool) | np.eye(4, k=-1, dtype=bool))  # 0-1-2-3
CYCLE4 = sp.csr_array(PATH4.toarray() | np.eye(4, k=3, dtype=bool) | np.eye(4, k=-3, dtype=bool))


def test_structural_orthogonality():
    S = np.array([[1, 1, 0], [0, 1, 1]])
    assert check.is_structurally_orthogonal(S, np.array([0, 1, 0]))
    assert not check.is_structurally_orthogonal(S, np.array([0, 0, 1]))
    assert check.is_structurally_orthogonal(S, np.array([0, 1]), "row")
    assert not check.is_structurally_orthogonal(S, np.array([0, 0]), "row")
    assert not check.is_structurally_orthogonal(S, np.array([0, -1, 1]))


def test_star_and_acyclic():
    assert not check.is_star_coloring(PATH4, np.array([0, 1, 0, 1]))  # bicolored 4-path
    assert check.is_star_coloring(PATH4, np.array([0, 1, 2, 0]))
    assert check.is_acyclic_coloring(PATH4, np.array([0, 1, 0, 1]))  # a path is a tree
    assert not check.is_acyclic_coloring(CYCLE4, np.array([0, 1, 0, 1]))
    assert not check.is_star_coloring(PATH4, np.array([0, 0, 1, 2]))  # not distance-1
    assert not check.is_acyclic_coloring(PATH4, np.array([0, 0, 1, 2]))


def test_bicoloring_recoverability():
    S = np.ones((2, 2))
    assert not check.is_directly_recoverable(S, np.array([0, 0]), np.array([-1, -1]))
    assert check.is_directly_recoverable(S, np.array([0, 1]), np.array([-1, -1]))
    assert check.is_directly_recoverable(S, np.array([-1, -1]), np.array([0, 1]))
