"""Pytrees and several active arguments: return types, errors, flat helpers.

The operator × backend × call variant matrix on pytree and multi-argument scenarios runs in
tests/test_operators.py (``anydiff.testing.structured_scenarios``, analytic references).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import all_backends

import anydiff as ad
from anydiff.testing import namespace_for, structured_scenarios

SCENARIOS = structured_scenarios()  # run for every operator x backend x variant in tests/test_operators.py


def test_one_active_argument_keeps_return_types():
    g = ad.gradient(lambda x: np.sum(x**2), "fd", np.array([1.0, 2.0]))
    assert isinstance(g, np.ndarray)
    tx = ad.pushforward(lambda x: x**2, "numpy", np.array([1.0, 2.0]), (np.ones(2),))
    assert isinstance(tx, tuple) and isinstance(tx[0], np.ndarray)


def test_list_of_numbers_is_still_one_array():
    g = ad.gradient(lambda x: np.sum(x**2), "numpy", [1.0, 2.0])
    np.testing.assert_allclose(g, [2.0, 4.0])


def test_mismatched_tree_lists_paths():
    f = lambda t: np.sum(t["a"] ** 2) + t["b"]
    prep = ad.prepare_gradient(f, "numpy", {"a": np.ones(2), "b": 1.0})
    with pytest.raises(ad.PreparationMismatchError, match=r"x\['a'\]: shape \(2,\) prepared, got \(3,\)") as err:
        ad.gradient(f, "numpy", {"a": np.ones(3), "b": 1.0}, prep=prep)
    assert "Hint" in str(err.value)
    with pytest.raises(ad.PreparationMismatchError, match=r"x\['b'\]: missing; x\['c'\]: not in the prepared"):
        ad.gradient(f, "numpy", {"a": np.ones(2), "c": 1.0}, prep=prep)
    with pytest.raises(ad.PreparationMismatchError, match="Hint"):
        ad.gradient(f, "numpy", np.ones(2), prep=prep)


def test_mismatched_tree_jax_native_path():
    jnp = pytest.importorskip("jax.numpy")
    f = lambda t: jnp.sum(t["a"] ** 2)
    prep = ad.prepare_gradient(f, ad.AutoJax(), {"a": jnp.ones(2)})
    np.testing.assert_allclose(ad.gradient(f, ad.AutoJax(), {"a": jnp.ones(2)}, prep=prep)["a"], [2.0, 2.0])
    with pytest.raises(ad.PreparationMismatchError, match=r"x\['a'\]"):
        ad.gradient(f, ad.AutoJax(), {"a": jnp.ones(3)}, prep=prep)


def test_bad_seed_structure():
    f = lambda u, v: u * v
    with pytest.raises(ad.InputError, match=r"tx\[0\].*args\[1\]"):
        ad.pushforward(f, "numpy", np.ones(2), np.ones(2), ((np.ones(2), np.ones(3)),))


def test_second_derivative_refused():
    with pytest.raises(ad.UnsupportedOperationError, match="Hint"):
        ad.second_derivative(lambda a, b: a * b, "numpy", 1.0, 2.0)


@pytest.mark.parametrize("backend", ["numpy", "fd", "jax", "torch"])
def test_out_trees_are_written_in_place(backend):
    if backend in ("jax", "torch"):
        pytest.importorskip(backend)
    xp = namespace_for(backend if backend in ("jax", "torch") else "numpy")
    u, v = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    f = lambda a, b: xp.sum(a * a * b)  # noqa: E731 - grad: (2 a b, a²), H blocks diagonal
    out = (np.full(2, np.nan), np.full(2, np.nan))
    for prep in (None, ad.prepare_gradient(f, backend, u, v)):
        assert ad.gradient(f, backend, u, v, out=out, prep=prep) is out
        np.testing.assert_allclose(out[0], 2 * u * v, rtol=1e-6)
        np.testing.assert_allclose(out[1], u**2, rtol=1e-6)
    Hout = ((np.zeros((2, 2)), np.zeros((2, 2))), (np.zeros((2, 2)), np.zeros((2, 2))))
    assert ad.hessian(f, backend, u, v, out=Hout) is Hout
    np.testing.assert_allclose(Hout[0][1], np.diag(2 * u), atol=1e-4)
    g = lambda t: {"s": t["a"] * t["b"][0], "c": xp.sum(t["a"])}  # noqa: E731
    t = {"a": u, "b": v}
    Jout = {"c": {"a": np.zeros(2), "b": np.zeros(2)}, "s": {"a": np.zeros((2, 2)), "b": np.zeros((2, 2))}}
    y, J = ad.value_and_jacobian(g, backend, t, out=Jout)
    assert J is Jout
    np.testing.assert_allclose(Jout["s"]["a"], v[0] * np.eye(2), rtol=1e-6)
    np.testing.assert_allclose(Jout["s"]["b"], [[u[0], 0.0], [u[1], 0.0]], rtol=1e-6)
    np.testing.assert_allclose(Jout["c"]["a"], np.ones(2), rtol=1e-6)
    tout = {"a": np.zeros(2), "b": np.zeros(2)}
    dy = {"c": 1.0, "s": np.array([1.0, 0.0])}
    assert ad.pullback(g, backend, t, dy, out=tout) is tout
    np.testing.assert_allclose(tout["a"], [v[0] + 1.0, 1.0], rtol=1e-6)


def test_out_tree_of_the_wrong_structure_is_refused():
    f = lambda a, b: np.sum(a * b)  # noqa: E731
    with pytest.raises(ad.InputError, match=r"out\[1\]: shape \(2,\) expected, got \(3,\).*\nHint"):
        ad.gradient(f, "numpy", np.ones(2), np.ones(2), out=(np.zeros(2), np.zeros(3)))
    with pytest.raises(ad.InputError, match=r"out: expected a tuple, got a list.*\nHint"):
        ad.gradient(f, "numpy", np.ones(2), np.ones(2), out=[np.zeros(2), np.zeros(2)])
    with pytest.raises(ad.InputError, match=r"out leaf out\['p'\] is a float.*\nHint"):
        ad.gradient(lambda t: t["p"] * t["q"], "numpy", {"p": 1.0, "q": 2.0}, out={"p": 0.0, "q": np.zeros(())})
    with pytest.raises(ad.InputError, match=r"out is a tuple, not an array.*\nHint"):
        ad.gradient(lambda t: t[0] * t[1], "numpy", (1.0, 2.0), out=(np.zeros(()), np.zeros(())))


def test_mixed_libraries_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(ad.InputError, match="mix array libraries"):
        ad.gradient(lambda a, b: (a * b).sum(), "torch", np.ones(2), torch.ones(2))


def test_tree_context_under_torch():
    torch = pytest.importorskip("torch")
    f = lambda x, c: torch.sum(x * c["scale"])
    g = ad.gradient(f, "torch", np.ones(2), ad.Constant({"scale": np.array([2.0, 3.0])}))
    np.testing.assert_allclose(g, [2.0, 3.0])


def test_ravel_pytree_and_index_map():
    tree = {"w": np.ones((2, 2)), "b": np.array([1.0, 2.0, 3.0])}
    flat, unravel = ad.ravel_pytree(tree)
    index = ad.tree_index_map(tree)
    np.testing.assert_array_equal(flat[index["x['b']"]], tree["b"])
    back = unravel(flat)
    np.testing.assert_array_equal(back["w"], tree["w"])


def test_autosparse_flat_jacobian_with_index_map():
    f = lambda u, v: np.concatenate([u**2, u[:2] * v])
    u, v = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0])
    J = ad.jacobian(f, ad.AutoSparse(ad.AutoNumPy()), u, v)
    assert hasattr(J, "tocsr") and J.shape == (5, 5)
    index = ad.tree_index_map((u, v), root="args")
    dense = ad.jacobian(f, "numpy", u, v)
    np.testing.assert_allclose(J.toarray()[:, index["args[0]"]], dense[0])
    np.testing.assert_allclose(J.toarray()[:, index["args[1]"]], dense[1])


def test_flat_jacobian_helper():
    f = lambda t: {"a": t["x"] * 2.0, "b": np.sum(t["x"])}
    J = ad.flat_jacobian(f, "numpy", {"x": np.array([1.0, 2.0])})
    np.testing.assert_allclose(J, [[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])


def test_dataclass_result_type():
    sc = next(s for s in SCENARIOS if "dataclass" in s.name)
    g = ad.gradient(sc.make(np), "numpy", *sc.x)
    assert dataclasses.is_dataclass(g[0]) and isinstance(g[1], np.ndarray)


@pytest.mark.parametrize("backend", all_backends())
def test_mixed_leaf_dtypes_are_kept(backend):
    """x-shaped results (gradient, pullback, hvp) keep each leaf's dtype, on every backend (as JAX does)."""
    from anydiff.testing import namespace_for
    from anydiff.testing._check import _library

    xp = namespace_for(_library(backend))
    f = lambda t: xp.sum(t["a"] ** 2) + xp.sum(t["b"] ** 2) * t["s"]  # noqa: E731
    t = {"a": np.array([1.0, 2.0], np.float32), "b": np.array([0.5, -1.0]), "s": np.float32(2.0)}
    want = {"a": [2.0, 4.0], "b": [2.0, -4.0], "s": 1.25}
    for g in (ad.gradient(f, backend, t), ad.pullback(f, backend, t, (1.0,))[0]):
        assert {k: np.asarray(v).dtype for k, v in g.items()} == {"a": np.float32, "b": np.float64, "s": np.float32}
        for k in want:
            np.testing.assert_allclose(g[k], want[k], rtol=1e-3)
    hv = ad.hvp(f, backend, t, ({"a": np.ones(2, np.float32), "b": np.zeros(2), "s": np.float32(0.0)},))[0]
    assert {k: np.asarray(v).dtype for k, v in hv.items()} == {"a": np.float32, "b": np.float64, "s": np.float32}
    np.testing.assert_allclose(hv["a"], [2.0, 2.0], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("backend", all_backends())
def test_mixed_output_leaf_dtypes_are_kept(backend):
    """Values and pushforwards keep each output leaf's dtype (as jax.jvp does), on every backend."""
    from anydiff.testing import namespace_for
    from anydiff.testing._check import _library

    xp = namespace_for(_library(backend))
    c = np.array([3.0, 4.0])
    f = lambda x: {"a": x**2, "b": x * xp.asarray(c)}  # noqa: E731 - float32 and float64 leaves
    x, dx = np.array([1.0, 2.0], np.float32), np.ones(2, np.float32)
    y, (ty,) = ad.value_and_pushforward(f, backend, x, (dx,))
    for tree, want in ((y, {"a": [1.0, 4.0], "b": [3.0, 8.0]}), (ty, {"a": [2.0, 4.0], "b": [3.0, 4.0]})):
        assert {k: np.asarray(v).dtype for k, v in tree.items()} == {"a": np.float32, "b": np.float64}
        for k in want:
            np.testing.assert_allclose(tree[k], want[k], rtol=1e-3)


def test_in_place_structured_calls():
    def f(y, t):
        y[:] = 2.0 * t["a"] * t["b"][0]

    def g(y, a, b):
        y[:] = a * b

    a, b = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    for backend in ("numpy", "fd"):
        y = np.zeros(2)
        J = ad.jacobian(f, y, backend, {"a": a, "b": b})
        np.testing.assert_allclose(y, 2.0 * a * b[0])
        np.testing.assert_allclose(J["a"], 2.0 * b[0] * np.eye(2), atol=1e-8)
        np.testing.assert_allclose(J["b"], np.stack([2.0 * a, np.zeros(2)], axis=1), atol=1e-8)
        prep = ad.prepare_jacobian(g, np.zeros(2), backend, a, b)
        y = np.zeros(2)
        Ja, Jb = ad.jacobian(g, y, backend, a, b, prep=prep)
        np.testing.assert_allclose(y, a * b)
        np.testing.assert_allclose(Ja, np.diag(b), atol=1e-8)
        np.testing.assert_allclose(Jb, np.diag(a), atol=1e-8)
        (ty,) = ad.pushforward(g, y, backend, a, b, ((np.ones(2), np.ones(2)),))
        np.testing.assert_allclose(ty, a + b, atol=1e-8)
        with pytest.raises(ad.PreparationMismatchError, match=r"output buffer shape \(2,\), got \(3,\).*\nHint"):
            ad.jacobian(g, np.zeros(3), backend, a, b, prep=prep)
    with pytest.raises(ad.InputError, match=r"ad.gradient does not take in-place.*\nHint"):
        ad.prepare_gradient(g, np.zeros(2), "numpy", a, b)
    y = np.zeros(2)  # one array and a Constant: in place as before
    J = ad.jacobian(lambda y, x, c: y.__setitem__(slice(None), c * x), y, "numpy", np.ones(2), ad.Constant(3.0))
    np.testing.assert_allclose(J, 3.0 * np.eye(2))


def test_prepared_torch_two_argument_gradient_hot_path():
    """Same f and backend, tensors of the prepared shapes: torch.func.grad directly; anything
    else takes the checked path (a wrong shape is refused, NumPy inputs still work)."""
    torch = pytest.importorskip("torch")
    f = lambda a, b: torch.sum(a**2 * b) + torch.sum(torch.sin(b))
    backend = ad.AutoTorch()
    a, b = torch.linspace(0.1, 1.0, 5, dtype=torch.float64), torch.linspace(-1.0, 1.0, 5, dtype=torch.float64)
    prep = ad.prepare_gradient(f, backend, a, b)
    exact = (2 * a * b, a**2 + torch.cos(b))
    assert prep.fast_gradient(f, backend, (a, b)) is not None  # the hot path is taken
    assert prep.fast_gradient(f, backend, (a, b[:4])) is None
    for _ in range(2):
        ga, gb = ad.gradient(f, backend, a, b, prep=prep)
        assert isinstance(ga, torch.Tensor)
        torch.testing.assert_close(ga, exact[0])
        torch.testing.assert_close(gb, exact[1])
    with pytest.raises(ad.PreparationMismatchError, match=r"args\[1\].*\nHint"):
        ad.gradient(f, backend, a, torch.ones(4, dtype=torch.float64), prep=prep)
    with pytest.raises(ad.PreparationMismatchError, match="Hint"):
        ad.gradient(f, ad.AutoTorch(mode="forward"), a, b, prep=prep)
    tree = ad.prepare_gradient(lambda t: f(t["a"], t["b"]), backend, {"a": a, "b": b})
    with pytest.raises(ad.PreparationMismatchError, match="Hint"):
        ad.gradient(tree.f, backend, a, prep=tree)
