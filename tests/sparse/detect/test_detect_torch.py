"""TorchSparsityDetector: patterns of torch code against the nonzeros of dense torch Jacobians."""

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

import anydiff as ad  # noqa: E402
from anydiff.testing import brusselator_2d, brusselator_pattern  # noqa: E402
from anydiff.testing._problems import rosenbrock_chain_hessian_pattern  # noqa: E402

F = torch.nn.functional
_g = torch.Generator().manual_seed(0)
W1 = torch.randn(3, 2, 3, generator=_g, dtype=torch.float64)
W1[1, 0, 1] = 0.0  # a zero tap: the pattern honours it
W2 = torch.randn(2, 1, 3, 3, generator=_g, dtype=torch.float64)
M = torch.randn(4, 12, generator=_g, dtype=torch.float64) * (torch.rand(4, 12, generator=_g) < 0.3)
IDX = torch.tensor([[0, 2, 1], [3, 3, 0]])


EXACT = {
    "elementwise": lambda x: torch.sin(x) * x[0] + torch.exp(x) / (1 + x**2),
    "broadcast": lambda x: (x.reshape(3, 4) * x[:4]).reshape(-1),
    "slicing": lambda x: x[1:] * x[:-1] - x[::2].repeat(2)[:11],
    "flip_roll_pad": lambda x: torch.roll(x, 3) + torch.flip(x, [0]) + F.pad(x[2:], (0, 2)),
    "cat_stack": lambda x: torch.stack([x[:6], x[6:] ** 2]).T.reshape(-1),
    "reduce_dims": lambda x: torch.cat([x.reshape(3, 4).sum(0), x.reshape(3, 4).mean(1),
                                        torch.logsumexp(x.reshape(3, 4), 0)]),
    "softmax": lambda x: torch.softmax(x.reshape(3, 4), dim=1).reshape(-1),
    "norm": lambda x: torch.linalg.norm(x.reshape(2, 6), dim=1) * x[:2],
    "cumsum": lambda x: torch.cumsum(x.reshape(3, 4), 1).reshape(-1),
    "matmul_constant": lambda x: M @ x,
    "matmul_constant_left": lambda x: (x.reshape(3, 4) @ M[:, :5]).reshape(-1),
    "matmul_traced": lambda x: (x.reshape(3, 4)[:, :2] @ x.reshape(2, 6)[:, :3]).reshape(-1),
    "einsum": lambda x: torch.einsum("ij,jk->ik", x.reshape(3, 4), x.reshape(4, 3)).reshape(-1),
    "conv1d": lambda x: F.conv1d(x.reshape(1, 2, 6), W1, padding=1).reshape(-1),
    "conv2d": lambda x: F.conv2d(x.reshape(1, 1, 3, 4), W2, padding=1).reshape(-1),
    "gather": lambda x: torch.gather(x.reshape(4, 3), 0, IDX).reshape(-1),
    "scatter_add": lambda x: torch.zeros(4, 3, dtype=x.dtype).scatter_add(0, IDX, x.reshape(4, 3)[:2]).reshape(-1),
    "index_add": lambda x: torch.zeros(5, dtype=x.dtype).index_add(0, torch.tensor([0, 0, 4]), x[:3]),
    "where_constant": lambda x: torch.where(torch.arange(12) % 2 == 0, x, x.roll(1) ** 2),
    "index_put": lambda x: x.clone().index_put((torch.tensor([0, 5]),), x[6:8] ** 2),
}


def _true_pattern(f, x):
    return sp.csr_array(torch.func.jacrev(f)(x).reshape(-1, x.numel()).numpy() != 0)


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_patterns(name):
    f = EXACT[name]
    x = torch.rand(12, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 0.5
    S = ad.TorchSparsityDetector().jacobian_sparsity(f, x)
    assert (S != _true_pattern(f, x)).nnz == 0


def test_brusselator_pattern_and_numpy_input():
    f = brusselator_2d(torch, 6)
    x = torch.rand(72, dtype=torch.float64)
    assert (ad.TorchSparsityDetector().jacobian_sparsity(f, x) != brusselator_pattern(6)).nnz == 0
    assert (ad.jacobian_sparsity(f, x) != brusselator_pattern(6)).nnz == 0  # default for torch input


def test_inplace_function():
    def f(y, x):
        y[0] = x[0] * x[1]
        y[1:] = torch.sin(x[1:])
        y[2] += x[0]

    x = torch.rand(4, dtype=torch.float64)
    S = ad.TorchSparsityDetector().jacobian_sparsity(f, x, y=torch.zeros(4, dtype=torch.float64))
    expected = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]], dtype=bool)
    assert (S.toarray() == expected).all()


def test_extrema_depend_on_their_whole_line():
    f = lambda x: torch.cat([x.reshape(3, 4).amax(1), x.max().reshape(1)])  # noqa: E731
    S = ad.TorchSparsityDetector().jacobian_sparsity(f, torch.rand(12, dtype=torch.float64)).toarray()
    assert (S[:3] == np.kron(np.eye(3), np.ones(4)).astype(bool)).all() and S[3].all()


def test_traced_condition_is_conservative():
    f = lambda x: torch.where(x > 0.5, x, x.roll(1))  # noqa: E731
    S = ad.TorchSparsityDetector().jacobian_sparsity(f, torch.rand(5, dtype=torch.float64))
    assert S.toarray()[np.arange(5), np.arange(5)].all() and S.toarray()[np.arange(5), np.arange(-1, 4) % 5].all()


def test_hessian_patterns():
    rosen = lambda x: torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa: E731
    x = torch.rand(30, dtype=torch.float64)
    H = ad.TorchSparsityDetector().hessian_sparsity(rosen, x)
    assert (H != rosenbrock_chain_hessian_pattern(30)).nnz == 0
    g = lambda x: torch.sum(x[:3] * x[3:6]) + torch.sum(torch.exp(x[6:]))  # noqa: E731
    H = ad.TorchSparsityDetector().hessian_sparsity(g, torch.rand(8, dtype=torch.float64)).toarray()
    true = torch.func.hessian(g)(torch.rand(8, dtype=torch.float64)).numpy() != 0
    assert (H == true).all()


HESSIAN = {
    "conv1d": lambda x: (F.conv1d(x.reshape(1, 2, 6), W1, padding=1) ** 2).sum(),
    "conv2d": lambda x: torch.tanh(F.conv2d(x.reshape(1, 1, 3, 4), W2, padding=1)).sum(),
    "softmax": lambda x: (torch.softmax(x.reshape(3, 4), dim=1) * torch.arange(4.0, dtype=x.dtype)).sum(),
    "log_softmax": lambda x: torch.log_softmax(x.reshape(3, 4), dim=1)[:, 0].sum(),
    "matmul": lambda x: torch.sin(M @ x).sum(),
    "linear": lambda x: torch.tanh(F.linear(x.reshape(3, 4), M[:, :4])).sum(),
    "gather": lambda x: (torch.gather(x.reshape(4, 3), 0, IDX) ** 3).sum(),
    "norm": lambda x: torch.linalg.norm(x.reshape(2, 6), dim=1).sum(),
    "relu_sigmoid": lambda x: (torch.relu(x) * torch.sigmoid(x.roll(1))).sum(),
    "cumsum": lambda x: torch.exp(torch.cumsum(x.reshape(3, 4), 1)).sum(),
    "mse": lambda x: F.mse_loss(x[:6] * x[6:], torch.ones(6, dtype=x.dtype)),
    "logsumexp": lambda x: torch.logsumexp(x.reshape(3, 4), 1).sum(),
}


@pytest.mark.parametrize("name", sorted(HESSIAN))
def test_exact_hessian_patterns(name):
    f = HESSIAN[name]
    x = torch.rand(12, generator=torch.Generator().manual_seed(2), dtype=torch.float64) + 0.5
    H = ad.TorchSparsityDetector().hessian_sparsity(f, x).toarray()
    assert (H == (torch.func.hessian(f)(x).numpy() != 0)).all()


def test_autosparse_torch_jacobian_and_hessian():
    f = brusselator_2d(torch, 8)
    x = torch.rand(128, dtype=torch.float64)
    b = ad.AutoSparse(ad.AutoTorch())
    prep = ad.prepare_jacobian(f, b, x)
    dense = torch.func.jacfwd(f)(x).numpy()
    for _ in range(2):
        J = ad.jacobian(f, b, x, prep=prep)
        assert sp.issparse(J) and np.allclose(J.toarray(), dense, rtol=1e-12, atol=1e-12)
    Jt = ad.jacobian(f, ad.AutoSparse(ad.AutoTorch(), sparse_output="torch"), x)
    assert Jt.layout == torch.sparse_csr and np.allclose(Jt.to_dense().numpy(), dense)
    rosen = lambda x: torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa: E731
    xh = torch.rand(40, dtype=torch.float64)
    H = ad.hessian(rosen, b, xh)
    assert np.allclose(H.toarray(), torch.func.hessian(rosen)(xh).numpy(), rtol=1e-10, atol=1e-10)


def test_value_dependent_control_flow_is_refused():
    def f(x):
        return x if x.sum() > 0 else -x

    with pytest.raises(ad.TracingError, match="Hint"):
        ad.TorchSparsityDetector().jacobian_sparsity(f, torch.rand(3, dtype=torch.float64))


def test_unsupported_operator_is_named():
    with pytest.raises(ad.MissingRuleError, match="(?s)aten._fft.*Hint"):
        ad.TorchSparsityDetector().jacobian_sparsity(lambda x: torch.fft.rfft(x).abs(), torch.rand(8, dtype=torch.float64))


def test_dense_blocks():
    f = lambda x: torch.cat([torch.linalg.inv(x[:4].reshape(2, 2)).reshape(-1), x[4:] ** 2])  # noqa: E731
    x = torch.rand(6, dtype=torch.float64) + torch.tensor([2.0, 0, 0, 2.0, 0, 0], dtype=torch.float64)
    S = ad.TorchSparsityDetector().jacobian_sparsity(f, x).toarray()
    assert S[:4, :4].all() and not S[:4, 4:].any() and (S[4:, 4:] == np.eye(2, dtype=bool)).all()


def test_autosparse_torch_compiled_products():
    f = brusselator_2d(torch, 4)
    x = torch.rand(32, dtype=torch.float64)
    b = ad.AutoSparse(ad.AutoTorch(compile=True), sparse_output="torch")
    prep = ad.prepare_jacobian(f, b, x)
    for _ in range(2):
        J = ad.jacobian(f, b, x, prep=prep)
        assert np.allclose(J.to_dense().numpy(), torch.func.jacfwd(f)(x).numpy(), rtol=1e-12, atol=1e-12)
