"""Forward over the reverse gradient takes many directions (a dense Hessian: ``n``) in groups
that bound the memory of one pass; the groups give the numbers of one pass over all of them."""

from __future__ import annotations

import numpy as np
import pytest

import anydiff as ad
from anydiff.backends import _numpy_reverse

W = np.random.default_rng(2).normal(size=(9, 9)) / 9


def f(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2) + np.sum(np.tanh(W @ x)) ** 2


@pytest.mark.parametrize("elements", [9, 20, 40])
def test_groups_of_directions_give_the_numbers_of_one_pass(monkeypatch, elements):
    x = np.random.default_rng(0).uniform(-1.0, 1.0, 9)
    V = np.random.default_rng(1).normal(size=(5, 9))
    H_one, hv_one = ad.hessian(f, ad.AutoNumPy(), x), ad.hvp(f, ad.AutoNumPy(), x, tuple(V))
    monkeypatch.setattr(_numpy_reverse, "HVP_ELEMENTS", elements)  # groups of 1, 2 and 4 directions
    monkeypatch.setattr(_numpy_reverse, "MIN_GROUP", 1)
    prep = ad.prepare_hessian(f, ad.AutoNumPy(), x)
    for _ in range(2):  # prepared, called twice
        np.testing.assert_allclose(ad.hessian(f, ad.AutoNumPy(), x, prep=prep), H_one, rtol=1e-14, atol=1e-12)
    for a, b in zip(ad.hvp(f, ad.AutoNumPy(), x, tuple(V)), hv_one):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-12)
    H_fd = np.stack([(ad.gradient(f, ad.AutoNumPy(), x + 1e-6 * e) - ad.gradient(f, ad.AutoNumPy(), x - 1e-6 * e)) / 2e-6
                     for e in np.eye(9)], axis=1)
    np.testing.assert_allclose(H_one, H_fd, rtol=1e-5, atol=1e-4)
