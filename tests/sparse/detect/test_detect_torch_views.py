"""TorchSparsityDetector on views of buffers written later, and on torch.as_strided: Jacobian and
Hessian patterns equal the NumPy tracer's on the same code written with NumPy, and the nonzeros
of the true derivatives (the cases of test_tracer_views.py, plus strided views)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import anydiff as ad  # noqa: E402

X = np.array([0.3, 0.7, 0.2, 0.5])


def _view_then_write(xp, x):
    out = xp.zeros_like(x)
    head = out[:2]  # a view taken before the write
    out[1] = x[1] * x[0]
    return xp.sin(head)


def _write_through_view(xp, x):
    out = xp.zeros_like(x)
    out[:2][0] = x[2] * x[3]
    return out


def _reshape_view(xp, x):
    out = xp.zeros_like(x)
    v = out.reshape(2, 2)
    out[3] = x[0] ** 2
    return xp.sin(v).reshape(-1)


def _transpose_view(xp, x):
    out = xp.zeros_like(x).reshape(2, 2)
    v = out.T
    out[0, 1] = x[1] ** 2
    return xp.exp(v).reshape(-1)


def _iadd_on_view(xp, x):
    out = xp.zeros_like(x)
    v = out[1:3]
    v += x[:2] * x[2]
    return out


def _fancy_copy(xp, x):
    out = xp.zeros_like(x)
    c = out[[0, 1]]  # fancy indexing copies: the later write must not show
    out[0] = x[0]
    return c + x[3]


def _nested_view(xp, x):
    out = xp.zeros((2, 4), dtype=x.dtype)
    row = out[1]
    part = row[1:3]
    out[1, 2] = x[0] * x[1]
    return xp.cos(part)


# torch only (the NumPy tracer does not follow np.lib.stride_tricks.as_strided)
def _strided_write(xp, x):
    out = xp.zeros(9, dtype=x.dtype)
    view = out.as_strided((2, 2), (3, 1), 1)
    view[...] = x.reshape(2, 2) * x[0]
    return xp.sin(out)


def _strided_read_after_write(xp, x):
    out = xp.zeros(6, dtype=x.dtype)
    view = out.as_strided((3,), (2,), 0)  # elements 0, 2, 4, seen after the writes
    out[2] = x[1] * x[2]
    out[3] = x[3]
    return xp.cos(view) * x[0]


CASES = [_view_then_write, _write_through_view, _reshape_view, _transpose_view, _iadd_on_view, _fancy_copy,
         _nested_view, _strided_write, _strided_read_after_write]


def _torch(case):
    return lambda x: case(torch, x)


def _numpy(case):
    return lambda x: case(np, x)


def _true(derivative, f):
    """Nonzeros of a dense torch derivative at two random points (no accidental zeros)."""
    rng = np.random.default_rng(0)
    out = [derivative(f)(torch.from_numpy(rng.uniform(0.1, 1.0, X.size))).reshape(-1, X.size).numpy() != 0
           for _ in range(2)]
    return out[0] | out[1]


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__)
def test_jacobian_pattern_follows_views(case):
    S = ad.TorchSparsityDetector().jacobian_sparsity(_torch(case), torch.from_numpy(X)).toarray()
    assert np.array_equal(S, _true(torch.func.jacfwd, _torch(case)))
    if not case.__name__.startswith("_strided"):
        assert np.array_equal(S, ad.jacobian_sparsity(_numpy(case), X).toarray())


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__)
def test_hessian_pattern_follows_views(case):
    def f(x):
        return torch.sum(torch.sin(case(torch, x)))

    H = ad.TorchSparsityDetector().hessian_sparsity(f, torch.from_numpy(X)).toarray()
    assert np.array_equal(H, _true(torch.func.hessian, f))
    if not case.__name__.startswith("_strided"):
        g = lambda x: np.sum(np.sin(case(np, x)))  # noqa: E731
        assert np.array_equal(H, ad.hessian_sparsity(g, X).toarray())


def test_sparse_hessian_through_a_view_and_a_strided_write():
    for case in (_view_then_write, _strided_write):
        f = lambda x: torch.sum(torch.sin(case(torch, x)))  # noqa: E731, B023
        b = ad.AutoSparse(ad.AutoTorch())
        prep = ad.prepare_hessian(f, b, X)
        for _ in range(2):  # prepared, called twice
            H = ad.hessian(f, b, X, prep=prep).toarray()
            assert np.allclose(H, torch.func.hessian(f)(torch.from_numpy(X)).numpy(), rtol=1e-12, atol=1e-14)
    assert abs(H[0, 0]) > 0


def test_strided_write_the_detector_cannot_follow_is_refused():
    def f(x):
        out = torch.empty_strided((2, 2), (1, 2), dtype=x.dtype).zero_()  # column-major base
        out.as_strided((2,), (1,), 1).copy_(x[:2] * x[2])
        return torch.sin(out).reshape(-1)

    with pytest.raises(ad.MissingRuleError, match="(?s)as_strided.*Hint"):
        ad.TorchSparsityDetector().jacobian_sparsity(f, torch.from_numpy(X))
