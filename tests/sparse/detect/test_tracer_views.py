"""The tracer follows NumPy's view semantics: a view of a buffer sees later writes into the buffer,
and a write through a view lands in the buffer (patterns were silently missing entries before)."""

import numpy as np
import pytest

import anydiff as ad

X = np.array([0.3, 0.7, 0.2, 0.5])


def _view_then_write(x):
    out = np.zeros_like(x)
    head = out[:2]  # a view taken before the write
    out[1] = x[1] * x[0]
    return np.sin(head)


def _write_through_view(x):
    out = np.zeros_like(x)
    out[:2][0] = x[2] * x[3]
    return out


def _reshape_view(x):
    out = np.zeros_like(x)
    v = out.reshape(2, 2)
    out[3] = x[0] ** 2
    return np.sin(v).ravel()


def _transpose_view(x):
    out = np.zeros_like(x).reshape(2, 2)
    v = out.T
    out[0, 1] = x[1] ** 2
    return np.exp(v).ravel()


def _iadd_on_view(x):
    out = np.zeros_like(x)
    v = out[1:3]
    v += x[:2] * x[2]
    return out


def _fancy_copy(x):
    out = np.zeros_like(x)
    c = out[[0, 1]]  # fancy indexing copies: the later write must not show
    out[0] = x[0]
    return c + x[3]


def _nested_view(x):
    out = np.zeros((2, 4))
    row = out[1]
    part = row[1:3]
    out[1, 2] = x[0] * x[1]
    return np.cos(part)


CASES = [_view_then_write, _write_through_view, _reshape_view, _transpose_view, _iadd_on_view, _fancy_copy,
         _nested_view]


def _exact_pattern(f, x):
    """Nonzeros of the exact Jacobian at two random points (no accidental zeros)."""
    rng = np.random.default_rng(0)
    J = [ad.jacobian(f, ad.AutoNumPy(mode="forward"), rng.uniform(0.1, 1.0, x.size)) != 0 for _ in range(2)]
    return J[0] | J[1]


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_jacobian_pattern_follows_views(f):
    S = ad.jacobian_sparsity(f, X).toarray()
    assert np.array_equal(S, _exact_pattern(f, X))


def test_hessian_pattern_and_sparse_hessian_through_a_view():
    f = lambda x: np.sum(_view_then_write(x))  # noqa: E731 - sin(x0 x1): a full 2x2 block
    H = ad.hessian_sparsity(f, X).toarray()
    expected = np.zeros((4, 4), dtype=bool)
    expected[:2, :2] = True
    assert np.array_equal(H, expected)
    Hs = ad.hessian(f, ad.AutoSparse(ad.AutoNumPy()), X).toarray()
    Hd = ad.hessian(f, ad.AutoNumPy(mode="forward"), X)
    assert np.allclose(Hs, Hd, rtol=1e-12, atol=1e-14)
    assert abs(Hs[0, 0]) > 0 and abs(Hs[1, 1]) > 0  # the diagonal was missing before


def test_local_detector_values_follow_views():
    def f(x):
        out = np.zeros_like(x)
        v = out[:2]
        out[0] = x[0] + 1.0
        return np.where(v > 0, x[:2] ** 2, 0.0)  # the view sees v[0] = x0 + 1 > 0 and v[1] = 0

    S = ad.jacobian_sparsity(f, X, detector=ad.TracerLocalSparsityDetector()).toarray()
    assert np.array_equal(S, [[True, False, False, False], [False, False, False, False]])
