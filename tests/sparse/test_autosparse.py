"""AutoSparse: sparse Jacobians/Hessians equal the dense ones, for every backend."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import anydiff as ad
from anydiff.testing import (
    banded_diff, banded_pattern, brusselator_2d, brusselator_pattern, brusselator_point,
    default_scenarios, expected_result, namespace_for, rosenbrock_chain,
    rosenbrock_chain_hessian_pattern,
)
from conftest import installed


def numpy_detector():
    """Detector for functions written with NumPy: the global NumPy tracer."""
    return ad.TracerSparsityDetector()


def sparse_backends():
    """(id, AutoSparse backend, namespace library) for every installed dense backend."""
    out = [
        ("fd-central", ad.AutoSparse(ad.AutoFiniteDiff(), sparsity_detector=numpy_detector()), "numpy"),
        ("fd-complex", ad.AutoSparse(ad.AutoFiniteDiff(method="complex"), sparsity_detector=numpy_detector()), "numpy"),
    ]
    if installed("jax"):
        out += [("jax", ad.AutoSparse(ad.AutoJax()), "jax"),
                ("jax-row", ad.AutoSparse(ad.AutoJax(), partition="row"), "jax"),
                ("jax-bidirectional", ad.AutoSparse(ad.AutoJax(), partition="bidirectional"), "jax")]
    if installed("torch"):
        out.append(("torch", ad.AutoSparse(ad.AutoTorch(), sparsity_detector=ad.DenseSparsityDetector(ad.AutoTorch())), "torch"))
    if installed("autograd"):
        # autograd.numpy.stack calls np.array on its arguments, which the tracer cannot pass
        # through: an exact local detector instead
        out.append(("autograd", ad.AutoSparse(ad.AutoAutograd(), sparsity_detector=ad.DenseSparsityDetector(
            ad.AutoFiniteDiff(method="complex"))), "autograd"))
    if hasattr(ad, "AutoNumPy"):
        out.append(("numpy-dual", ad.AutoSparse(ad.AutoNumPy(), sparsity_detector=numpy_detector()), "numpy"))
    return [pytest.param(b, lib, id=name) for name, b, lib in out]


def tol(backend):
    return dict(rtol=1e-10, atol=1e-10) if backend.exact else dict(rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend,lib", sparse_backends())
def test_banded_jacobian(backend, lib):
    n = 40
    f = banded_diff(namespace_for(lib), k=2)
    x = np.linspace(0.5, 1.5, n)
    J = ad.jacobian(f, backend, x)
    assert sp.issparse(J) and J.shape == (n, n)
    assert np.array_equal(J.toarray() != 0, banded_pattern(n, 2).toarray())
    dense = np.asarray(ad.jacobian(f, backend.dense_backend, x))
    assert np.allclose(J.toarray(), dense, **tol(backend))


@pytest.mark.parametrize("backend,lib", [p for p in sparse_backends() if p.values[1] != "torch"])
def test_brusselator_jacobian_and_colors(backend, lib):
    N = 6
    f = brusselator_2d(namespace_for(lib), N)
    x = brusselator_point(N)
    prep = ad.prepare_jacobian(f, backend, x)
    J1 = ad.jacobian(f, backend, x, prep=prep)
    J2 = ad.jacobian(f, backend, x, prep=prep)  # prepared, called twice
    dense = np.asarray(ad.jacobian(f, backend.dense_backend, x))
    for J in (J1, J2):
        assert np.allclose(J.toarray(), dense, **tol(backend))
        assert set(zip(*J.nonzero())) <= set(zip(*brusselator_pattern(N).nonzero()))
    coloring = prep.coloring
    from scipy.optimize._numdiff import group_columns

    assert coloring.ncolors <= int(group_columns(brusselator_pattern(N)).max()) + 1
    assert J1 is not J2 and J1.data is not J2.data  # results never alias each other


@pytest.mark.parametrize("backend,lib", sparse_backends())
def test_value_and_jacobian_and_out(backend, lib):
    f = banded_diff(namespace_for(lib), k=1)
    x = np.linspace(0.5, 1.5, 12)
    y, J = ad.value_and_jacobian(f, backend, x)
    assert np.allclose(np.asarray(y), banded_diff(np, 1)(x))
    out = J.copy()
    out.data[:] = np.nan
    res = ad.jacobian(f, backend, x + 0.1, out=out)
    assert res is out and np.allclose(out.toarray(), ad.jacobian(f, backend, x + 0.1).toarray())
    with pytest.raises(ad.InputError, match="pattern"):
        ad.jacobian(f, backend, x, out=sp.csr_array(np.eye(12)))
    J2 = ad.jacobian(f, backend, x)  # a returned result (read-only data with JAX) can be the next out=
    assert ad.jacobian(f, backend, x + 0.2, out=J2) is J2
    assert np.allclose(J2.toarray(), ad.jacobian(f, backend, x + 0.2).toarray())
    if "Jax" in repr(backend) or "Torch" in repr(backend) or "Autograd" in repr(backend):
        g = lambda v: namespace_for(lib).sum(v[1:] * v[:-1] ** 2)  # noqa: E731
        H = ad.hessian(g, backend, x)
        assert ad.hessian(g, backend, x + 0.1, out=H) is H
        assert np.allclose(H.toarray(), ad.hessian(g, backend, x + 0.1).toarray())


@pytest.mark.parametrize("backend,lib", sparse_backends())
def test_scenarios_match_reference(backend, lib):
    """Every non-complex scenario: sparse Jacobian (flattened) equals the analytic one."""
    for sc in default_scenarios():
        if sc.complex or (sc.inplace and not backend.supports_inplace):
            continue
        if "Cache" in repr(sc.contexts()) and not backend.supports_cache:
            continue
        f = sc.make(namespace_for(lib))
        args = ((np.zeros(sc.y_shape),) if sc.inplace else ()) + (backend, sc.x) + sc.contexts()
        J = ad.jacobian(f, *args)
        ref = expected_result(sc, "jacobian").reshape(int(np.prod(sc.y_shape, dtype=int)), sc.x.size)
        assert np.allclose(J.toarray(), ref, **tol(backend)), sc.name


@pytest.mark.parametrize("backend,lib", sparse_backends())
def test_rosenbrock_hessian(backend, lib):
    n = 30
    f = rosenbrock_chain(namespace_for(lib))
    x = np.random.default_rng(3).uniform(-1, 1, n)
    prep = ad.prepare_hessian(f, backend, x)
    H = ad.hessian(f, backend, x, prep=prep)
    assert sp.issparse(H) and H.shape == (n, n)
    assert set(zip(*H.nonzero())) <= set(zip(*rosenbrock_chain_hessian_pattern(n).nonzero()))
    dense = np.asarray(ad.hessian(f, backend.dense_backend, x))
    t = dict(rtol=1e-9, atol=1e-9) if backend.exact else dict(rtol=1e-3, atol=1e-3)
    assert np.allclose(H.toarray(), dense, **t)
    assert prep.coloring.ncolors <= 3
    y, g, H2 = ad.value_gradient_and_hessian(f, backend, x, prep=prep)
    assert np.isclose(float(y), float(rosenbrock_chain(np)(x)))


def test_colored_finite_differences_match_scipy():
    from scipy.optimize._numdiff import approx_derivative, group_columns

    N = 8
    f = brusselator_2d(np, N)
    x = brusselator_point(N)
    S = brusselator_pattern(N)
    ref = approx_derivative(f, x, method="3-point", sparsity=(S, group_columns(S))).toarray()
    J = ad.jacobian(f, ad.AutoSparse(ad.AutoFiniteDiff(), sparsity_detector=ad.KnownSparsityDetector(S)), x).toarray()
    assert np.allclose(J, ref, rtol=1e-6, atol=1e-6)


def test_in_place_sparse_jacobian():
    def f(y, x):
        y[:] = x**2
        y[1:] += x[:-1]

    x = np.arange(1.0, 6.0)
    y = np.zeros(5)
    b = ad.AutoSparse(ad.AutoFiniteDiff(method="complex"), sparsity_detector=numpy_detector())
    J = ad.jacobian(f, y, b, x)
    assert np.allclose(y, x**2 + np.r_[0.0, x[:-1]])
    assert np.allclose(J.toarray(), np.diag(2 * x) + np.eye(5, k=-1))


def test_bidirectional_partition():
    pytest.importorskip("jax")
    import jax.numpy as jnp

    n = 30

    def f(x):  # a dense row (the sum) and a dense column (x[0] everywhere)
        return jnp.concatenate([jnp.sum(x)[None], x[1:] ** 2 + x[0]])

    b = ad.AutoSparse(ad.AutoJax(), partition="bidirectional")
    x = np.linspace(1.0, 2.0, n)
    prep = ad.prepare_jacobian(f, b, x)
    J = ad.jacobian(f, b, x, prep=prep)
    assert np.allclose(J.toarray(), np.asarray(ad.jacobian(f, ad.AutoJax(), x)))
    assert prep.coloring.ncolors <= 4


def test_dense_output_option():
    pytest.importorskip("jax")
    import jax.numpy as jnp

    b = ad.AutoSparse(ad.AutoJax(), sparse_output=False)
    x = jnp.linspace(1.0, 2.0, 5)
    J = ad.jacobian(lambda x: x**2, b, x)
    assert isinstance(J, type(x)) and np.allclose(J, np.diag(2 * np.asarray(x)))


def test_known_pattern_detector_and_errors():
    det = ad.KnownSparsityDetector(jacobian_pattern=sp.eye_array(4))
    J = ad.jacobian(np.exp, ad.AutoSparse(ad.AutoFiniteDiff(method="complex"), sparsity_detector=det), np.zeros(4))
    assert np.allclose(J.toarray(), np.eye(4))
    bad = ad.KnownSparsityDetector(jacobian_pattern=sp.eye_array(3))
    with pytest.raises(ad.InputError, match="Hint"):
        ad.jacobian(np.exp, ad.AutoSparse(ad.AutoFiniteDiff(), sparsity_detector=bad), np.zeros(4))
    with pytest.raises(ad.InputError, match="Hint"):
        ad.AutoSparse(ad.AutoFiniteDiff(), partition="diagonal")


@pytest.mark.skipif(not installed("torch"), reason="torch not installed")
def test_torch_code_is_traced_by_default():
    import torch

    J = ad.jacobian(torch.sin, ad.AutoSparse(ad.AutoTorch()), np.ones(3))  # NumPy in, torch code
    assert sp.issparse(J) and np.allclose(J.toarray(), np.diag(np.cos(np.ones(3))))


@pytest.mark.skipif(not installed("torch"), reason="torch not installed")
def test_torch_partition_on_equal_colors_is_rows():
    """AutoTorch: rows (batched VJPs) when columns and rows need as many colors; fewer colors still win."""
    import torch

    N = 5
    f = brusselator_2d(torch, N)
    x = torch.from_numpy(brusselator_point(N))
    dense = torch.func.jacfwd(f)(x).numpy()  # independent reference: dense forward mode
    for partition, expected in (("auto", "row"), ("column", "column")):
        b = ad.AutoSparse(ad.AutoTorch(), partition=partition)
        prep = ad.prepare_jacobian(f, b, x)
        assert prep.sparse.partition == expected
        for _ in range(2):  # prepared, called twice
            J = ad.jacobian(f, b, x, prep=prep)
            assert np.allclose(J.toarray(), dense, rtol=1e-12, atol=1e-12)
    g = lambda v: v * v[0]  # noqa: E731  (a dense column: 2 column colors, n row colors)
    prep = ad.prepare_jacobian(g, ad.AutoSparse(ad.AutoTorch()), x)
    assert prep.sparse.partition == "column" and prep.sparse.ncolors == 2
    J = ad.jacobian(g, ad.AutoSparse(ad.AutoTorch()), x, prep=prep)
    assert np.allclose(J.toarray(), torch.func.jacfwd(g)(x).numpy(), rtol=1e-12, atol=1e-12)


def test_acyclic_substitution_hessian():
    n = 40
    f = rosenbrock_chain(np)
    x = np.random.default_rng(5).uniform(-1, 1, n)
    b = ad.AutoSparse(ad.AutoFiniteDiff(method="complex"), coloring=ad.GreedyColoring(decompression="substitution"))
    prep = ad.prepare_hessian(f, b, x)
    H = ad.hessian(f, b, x, prep=prep)
    dense = ad.hessian(f, ad.AutoFiniteDiff(method="complex"), x)
    assert prep.coloring.ncolors == 2  # acyclic: fewer colors than star coloring (3)
    assert np.allclose(H.toarray(), dense, rtol=1e-6, atol=1e-6)


def test_jax_sparse_output():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    from jax.experimental import sparse as jsparse

    f = banded_diff(jnp, k=1)
    x = jnp.linspace(0.5, 1.5, 12)
    b = ad.AutoSparse(ad.AutoJax(), sparse_output="jax")
    prep = ad.prepare_jacobian(f, b, x)
    for point in (x, x + 0.3):  # prepared, called twice
        J = ad.jacobian(f, b, point, prep=prep)
        assert isinstance(J, jsparse.BCSR) and J.shape == (12, 12)
        assert np.allclose(np.asarray(J.todense()), np.asarray(jax.jacfwd(f)(point)), rtol=1e-12)
    y, J = ad.value_and_jacobian(f, b, np.asarray(x))  # NumPy input: still BCSR, value as NumPy
    assert isinstance(J, jsparse.BCSR) and isinstance(y, np.ndarray)
    g = lambda v: jnp.sum(v[1:] * v[:-1] ** 2)  # noqa: E731
    for coloring in (None, ad.GreedyColoring(decompression="substitution")):
        bh = ad.AutoSparse(ad.AutoJax(), coloring=coloring, sparse_output="jax")
        H = ad.hessian(g, bh, x)
        assert isinstance(H, jsparse.BCSR)
        assert np.allclose(np.asarray(H.todense()), np.asarray(jax.hessian(g)(x)), rtol=1e-12)
    with pytest.raises(ad.AnyDiffError, match="out"):
        ad.jacobian(f, b, x, out=J)
    with pytest.raises(ad.InputError, match="jitted JAX"):
        ad.AutoSparse(ad.AutoFiniteDiff(), sparse_output="jax")
    with pytest.raises(ad.InputError, match="output choice"):
        ad.AutoSparse(ad.AutoJax(), sparse_output="bcoo")


def test_torch_sparse_output():
    torch = pytest.importorskip("torch")
    f = lambda x: torch.diff(x**2) * x[0]  # noqa: E731
    x = torch.linspace(0.5, 1.5, 8, dtype=torch.float64)
    b = ad.AutoSparse(ad.AutoTorch(), sparse_output="torch", sparsity_detector=ad.DenseSparsityDetector(ad.AutoTorch()))
    prep = ad.prepare_jacobian(f, b, x)
    for point in (x, x + 0.2):  # prepared, called twice
        J = ad.jacobian(f, b, point, prep=prep)
        assert J.layout == torch.sparse_csr and tuple(J.shape) == (7, 8)
        assert np.allclose(J.to_dense().numpy(), ad.jacobian(f, ad.AutoTorch(), point).numpy(), rtol=1e-12)
    g = lambda v: torch.sum(v[1:] * v[:-1] ** 2)  # noqa: E731
    for coloring in (None, ad.GreedyColoring(decompression="substitution")):
        bh = ad.AutoSparse(ad.AutoTorch(), coloring=coloring, sparse_output="torch",
                           sparsity_detector=ad.DenseSparsityDetector(ad.AutoTorch()))
        H = ad.hessian(g, bh, x)
        assert H.layout == torch.sparse_csr
        assert np.allclose(H.to_dense().numpy(), ad.hessian(g, ad.AutoTorch(), x).numpy(), rtol=1e-12)
    with pytest.raises(ad.InputError, match="torch dense backend"):
        ad.AutoSparse(ad.AutoFiniteDiff(), sparse_output="torch")


def test_prepared_sparse_calls_can_be_inspected(tmp_path):
    f = brusselator_2d(np, 6)
    x = brusselator_point(6)
    prep = ad.prepare_jacobian(f, ad.AutoSparse(ad.AutoNumPy()), x)
    assert (prep.pattern != brusselator_pattern(6)).nnz == 0
    assert prep.ncolors == prep.coloring.ncolors == int(prep.coloring.colors.max()) + 1
    est = prep.estimate(repeat=2)
    assert est.ncolors == prep.ncolors and est.dense_products == x.size
    assert est.one_product_s > 0 and est.predicted_s == pytest.approx(prep.ncolors * est.one_product_s)
    assert est.compression == pytest.approx(x.size / prep.ncolors)
    path = prep.show_colors(tmp_path / "colors.png")
    assert (tmp_path / "colors.png").stat().st_size > 0 and str(path).endswith("colors.png")
    rosen = rosenbrock_chain(np)
    hprep = ad.prepare_hessian(rosen, ad.AutoSparse(ad.AutoFiniteDiff(method="complex")), np.ones(20))
    assert hprep.sparse.partition == "symmetric" and hprep.ncolors <= 3
    assert hprep.pattern.shape == (20, 20) and hprep.estimate(repeat=1).dense_products == 20
    dense = ad.prepare_jacobian(f, ad.AutoNumPy(), x)
    with pytest.raises(ad.UnsupportedOperationError, match="Hint: prepare with ad.AutoSparse"):
        dense.ncolors
