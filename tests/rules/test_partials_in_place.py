"""Partials that reuse their own temporary (``1 - out * out`` computed into ``out * out``) give
the numbers, types and dtypes of the plain formulas, for arrays, NumPy and Python scalars."""

from __future__ import annotations

import numpy as np
import pytest

from anydiff.rules._table import RULES

PLAIN = {
    np.tanh: lambda x, out: 1.0 - out * out,
    np.log1p: lambda x, out: 1.0 / (1.0 + x),
    np.tan: lambda x, out: 1.0 + out * out,
    np.arctan: lambda x, out: 1.0 / (1.0 + x * x),
}
X = np.random.default_rng(0).uniform(-0.9, 2.0, 40)


@pytest.mark.parametrize("ufunc", list(PLAIN), ids=lambda u: u.__name__)
@pytest.mark.parametrize("x", [X, X.astype(np.float32), X + 0.5j, np.float64(0.3), 0.3], ids=["float64", "float32", "complex", "np.float64", "float"])
def test_same_numbers_as_the_plain_formula(ufunc, x):
    out = ufunc(x)
    got, ref = RULES[ufunc].partials(x, out)[0], PLAIN[ufunc](x, out)
    assert type(got) is type(ref) and np.asarray(got).dtype == np.asarray(ref).dtype
    np.testing.assert_array_equal(got, ref)
