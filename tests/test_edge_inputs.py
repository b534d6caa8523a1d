"""Edge inputs found by an adversarial audit: empty arrays, out= buffers that would narrow the
result, preparations reused with another leaf dtype or a tree. References are analytic.

Before the fixes: Jacobians and Hessians of size-0 inputs or outputs raised NumPy's/torch's
"need at least one array to concatenate"; an out= buffer of dtype float32 silently received a
truncated float64 result (int64: a bare TypeError; read-only: a bare ValueError); a tree
preparation accepted a leaf of another dtype; a one-array preparation called with a dict said
"x has type dict" although trees are supported.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import installed

import anydiff as ad
from anydiff.testing import namespace_for


def _backends():
    out = [
        pytest.param(ad.AutoFiniteDiff(), "numpy", id="fd"),
        pytest.param(ad.AutoNumPy(), "numpy", id="numpy"),
        pytest.param(ad.AutoNumPy(mode="reverse"), "numpy", id="numpy-rev"),
    ]
    if installed("jax"):
        out.append(pytest.param(ad.AutoJax(), "jax", id="jax"))
    if installed("torch"):
        out += [pytest.param(ad.AutoTorch(), "torch", id="torch"), pytest.param(ad.AutoTorch(mode="forward"), "torch", id="torch-fwd")]
    if installed("autograd"):
        out.append(pytest.param(ad.AutoAutograd(), "autograd", id="autograd"))
    return out


X = np.array([0.5, -1.0, 2.0])


@pytest.mark.parametrize(("backend", "lib"), _backends())
def test_empty_inputs_and_outputs(backend, lib):
    xp = namespace_for(lib)
    empty = np.zeros(0)
    J = ad.jacobian(lambda v: v * 2.0, backend, empty)
    assert np.shape(J) == (0, 0)
    J = ad.jacobian(lambda v: v[:0] * 2.0, backend, X)  # no outputs: zero rows
    assert np.shape(J) == (0, 3)
    y, J = ad.value_and_jacobian(lambda v: v[:0] * 2.0, backend, X)
    assert np.shape(y) == (0,) and np.shape(J) == (0, 3)
    g = ad.gradient(lambda v: xp.sum(v * 2.0) + 1.0, backend, empty)
    assert np.shape(g) == (0,)
    if lib != "autograd":  # autograd warns that the output does not depend on the input
        H = ad.hessian(lambda v: xp.sum(v**2) + 1.0, backend, empty)
        assert np.shape(H) == (0, 0)
    g = ad.gradient(lambda p: xp.sum(p["a"] ** 2) + xp.sum(p["e"]), backend, {"a": X, "e": empty})
    np.testing.assert_allclose(np.asarray(g["a"]), 2 * X, rtol=1e-6)
    assert np.shape(g["e"]) == (0,)
    g = ad.gradient(lambda p: xp.sum(p["a"] ** 2), backend, {"a": X, "none": None})  # None: an empty node
    assert g["none"] is None
    np.testing.assert_allclose(np.asarray(g["a"]), 2 * X, rtol=1e-6)


@pytest.mark.parametrize(("backend", "lib"), _backends())
def test_out_buffers_that_would_narrow_the_result_are_refused(backend, lib):
    xp = namespace_for(lib)
    f = lambda v: xp.sum(v**2)
    for bad in (np.empty(3, np.float32), np.empty(3, np.int64)):
        with pytest.raises(ad.InputError, match="dtype.*\n.*Hint"):
            ad.gradient(f, backend, X, out=bad)
    with pytest.raises(ad.InputError, match="read-only.*\n.*Hint"):
        ad.gradient(f, backend, X, out=np.broadcast_to(np.zeros(1), (3,)))
    out = np.empty(3)
    assert ad.gradient(f, backend, X, out=out) is out and np.allclose(out, 2 * X)
    wide = np.empty(3, np.float64)  # float32 result into a float64 buffer: safe, allowed
    ad.gradient(f, backend, X.astype(np.float32), out=wide)
    np.testing.assert_allclose(wide, 2 * X, rtol=1e-3)  # finite differences in float32
    # a tree out: every leaf is checked before any is written
    tree_out = {"a": np.full(3, 7.0), "b": np.empty(2, np.float32)}
    with pytest.raises(ad.InputError, match=r"out leaf out\['b'\] has dtype float32"):
        ad.gradient(lambda p: xp.sum(p["a"] ** 2) + xp.sum(p["b"] ** 2), backend, {"a": X, "b": X[:2]}, out=tree_out)
    assert (tree_out["a"] == 7.0).all()


@pytest.mark.parametrize(("backend", "lib"), _backends())
def test_tree_preparation_checks_leaf_dtypes(backend, lib):
    xp = namespace_for(lib)
    f = lambda p: xp.sum(p["a"] ** 2) + xp.sum(p["b"] ** 3)
    p = {"a": X, "b": X[:2]}
    prep = ad.prepare_gradient(f, backend, p)
    for _ in range(2):
        g = ad.gradient(f, backend, p, prep=prep)
        np.testing.assert_allclose(np.asarray(g["b"]), 3 * X[:2] ** 2, rtol=1e-6)
    with pytest.raises(ad.PreparationMismatchError, match=r"x\['b'\]: dtype float64 prepared, got float32"):
        ad.gradient(f, backend, {"a": X, "b": X[:2].astype(np.float32)}, prep=prep)
    g1, g2 = ad.gradient(lambda a, b: xp.sum(a * b), backend, X, X + 1)
    np.testing.assert_allclose(np.asarray(g1), X + 1, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g2), X, rtol=1e-6)
    prep2 = ad.prepare_gradient(lambda a, b: xp.sum(a * b), backend, X, X + 1)
    with pytest.raises(ad.PreparationMismatchError, match="dtype"):
        ad.gradient(prep2.f, backend, X, (X + 1).astype(np.float32), prep=prep2)
    plain = ad.prepare_gradient(lambda v: xp.sum(v**2), backend, X)
    with pytest.raises(ad.PreparationMismatchError, match="prepared for one array.*dict"):
        ad.gradient(plain.f, backend, {"a": X}, prep=plain)


def test_ragged_number_lists_are_trees():
    """``([1.0, 2.0], 3.0)`` cannot be one array: it is a tree (it raised NumPy's ragged-array ValueError)."""
    g = ad.gradient(lambda a: a[0][0] ** 2 * a[1], ad.AutoNumPy(), ([1.0, 2.0], 3.0))
    assert isinstance(g, tuple) and isinstance(g[0], list)
    np.testing.assert_allclose([g[0][0], g[0][1], g[1]], [6.0, 0.0, 1.0])
    J = ad.gradient(lambda a: (a**2).sum(), ad.AutoNumPy(), [[1.0, 2.0], [3.0, 4.0]])  # rectangular: one array
    np.testing.assert_allclose(J, [[2.0, 4.0], [6.0, 8.0]])


def _same_point_backends():
    out = [pytest.param(ad.AutoNumPy(), id="numpy")]
    if installed("jax"):
        out.append(pytest.param(ad.AutoJax(), id="jax"))
    if installed("torch"):
        out.append(pytest.param(ad.AutoTorch(), id="torch"))
    return out


@pytest.mark.parametrize("backend", _same_point_backends())
def test_same_point_preparations_of_trees_refuse_another_point(backend):
    """JAX and torch linearize once at the prepared point; a tree or two-argument call at another
    point silently returned the derivative at the prepared point."""
    F = lambda q: {"u": q["a"][1:] * q["b"][0], "v": q["a"] ** 2}
    p = {"a": X, "b": np.array([1.5, 2.0])}
    t = ({"a": np.ones(3), "b": np.zeros(2)},)
    prep = ad.prepare_pushforward_same_point(F, backend, p)
    for _ in range(2):
        (ty,) = ad.pushforward(F, backend, p, t, prep=prep)
        np.testing.assert_allclose(np.asarray(ty["v"]), 2 * X)
        np.testing.assert_allclose(np.asarray(ty["u"]), np.full(2, 1.5))
    with pytest.raises(ad.PreparationMismatchError, match="one point"):
        ad.pushforward(F, backend, {"a": X + 1, "b": p["b"]}, t, prep=prep)
    g = lambda a, c: a**2 * c
    prep = ad.prepare_pushforward_same_point(g, backend, X, X)
    (ty,) = ad.pushforward(g, backend, X, X, ((np.ones(3), np.zeros(3)),), prep=prep)
    np.testing.assert_allclose(np.asarray(ty), 2 * X * X)
    with pytest.raises(ad.PreparationMismatchError, match="one point"):
        ad.pushforward(g, backend, X + 1, X, ((np.ones(3), np.zeros(3)),), prep=prep)
    S = lambda q: (q["a"] ** 2 * q["b"][0]).sum()
    prep = ad.prepare_hvp_same_point(S, backend, p)
    with pytest.raises(ad.PreparationMismatchError, match="one point"):
        ad.hvp(S, backend, {"a": X + 1, "b": p["b"]}, ({"a": np.ones(3), "b": np.zeros(2)},), prep=prep)


def test_torch_takes_numpy_arrays_with_negative_strides():
    """x[::-1] as input, seed, context or tree leaf raised torch's 'negative strides' ValueError."""
    torch = pytest.importorskip("torch")
    rev = np.arange(6.0)[::-1]
    b = ad.AutoTorch()
    np.testing.assert_allclose(ad.gradient(lambda v: (torch.sin(v) * v).sum(), b, rev),
                               np.cos(rev) * rev + np.sin(rev))
    np.testing.assert_allclose(ad.jacobian(lambda v: v**2, b, rev[::2]), np.diag(2 * rev[::2]))
    (ty,) = ad.pushforward(lambda v: v * 2, b, np.ones(3), (rev[:3],))
    np.testing.assert_allclose(ty, 2 * rev[:3])
    (tx,) = ad.pullback(lambda v: v * 2, b, np.ones(3), (rev[:3],))
    np.testing.assert_allclose(tx, 2 * rev[:3])
    np.testing.assert_allclose(ad.gradient(lambda v, c: (v * c).sum(), b, np.ones(3), ad.Constant(rev[:3])), rev[:3])
    g = ad.gradient(lambda p: (p["a"] * p["b"]).sum(), b, {"a": rev[:3], "b": rev[::-2]})
    np.testing.assert_allclose(g["a"], rev[::-2])
    np.testing.assert_allclose(g["b"], rev[:3])


def test_tree_preparation_checks_the_array_library():
    """A tree preparation made for NumPy leaves took torch/JAX leaves: results came back as NumPy,
    or torch.func/JAX raised their own errors; now PreparationMismatchError, as for one array."""
    f = lambda p: (p["a"] ** 2).sum() * p["b"][0]
    p = {"a": X, "b": X[:2]}
    others = []
    if installed("torch"):
        import torch

        others.append((ad.AutoTorch(), {"a": torch.tensor(X), "b": torch.tensor(X[:2])}))
    if installed("jax"):
        import jax.numpy as jnp

        others.append((ad.AutoNumPy(), {"a": jnp.asarray(X), "b": jnp.asarray(X[:2])}))
    for backend, q in others:
        prep = ad.prepare_gradient(f, backend, p)
        np.testing.assert_allclose(ad.gradient(f, backend, p, prep=prep)["b"], [np.sum(X**2), 0.0])
        with pytest.raises(ad.PreparationMismatchError, match="array library: prepared numpy"):
            ad.gradient(f, backend, q, prep=prep)


@pytest.mark.parametrize(("backend", "lib"), _backends())
def test_unprepared_calls_tell_contexts_of_other_shapes_and_dtypes_apart(backend, lib):
    """The cache of unprepared calls keyed contexts by kind only: a second call with a constant of
    another shape reused the first preparation (reshape errors), and a complex constant after a
    real one gave the gradient of the real part (AutoNumPy) instead of OutputError."""
    xp = namespace_for(lib)
    outer = (lambda v, c: xp.outer(v, c)) if lib != "torch" else (lambda v, c: xp.outer(v, xp.asarray(c)))
    for c in (np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0, 4.0])):
        J = ad.jacobian(outer, backend, X, ad.Constant(c))
        want = np.einsum("ik,j->ijk", np.eye(3), c)
        np.testing.assert_allclose(np.asarray(J), want, rtol=1e-6, atol=1e-8)
        J1, J2 = ad.jacobian(lambda v, w, c: outer(v * w, c), backend, X, X, ad.Constant(c))
        np.testing.assert_allclose(np.asarray(J1), np.einsum("ik,j->ijk", np.diag(X), c), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(np.asarray(J2), np.asarray(J1), rtol=1e-6, atol=1e-8)  # symmetric in v, w
    h = lambda v, c: xp.sum(v**2) * c
    np.testing.assert_allclose(np.asarray(ad.gradient(h, backend, X, ad.Constant(2.0))), 4 * X, rtol=1e-6)
    with pytest.raises(ad.OutputError, match="real-valued f"):
        ad.value_and_gradient(h, backend, X, ad.Constant(1.0 + 1.0j))


@pytest.mark.parametrize(("backend", "lib"), _backends())
def test_prepared_calls_check_the_contexts_shapes_and_dtypes(backend, lib):
    """A preparation made with a real constant, called with a complex one, returned the gradient of
    the real part (or a complex one); another shape raised reshape errors."""
    xp = namespace_for(lib)
    h = lambda v, c: xp.sum(v**2) * c
    prep = ad.prepare_gradient(h, backend, X, ad.Constant(2.0))
    for c in (3.0, np.float64(3.0), 3):  # numbers of the same kind are the same signature
        np.testing.assert_allclose(np.asarray(ad.gradient(h, backend, X, ad.Constant(c), prep=prep)), 6 * X, rtol=1e-6)
    with pytest.raises(ad.PreparationMismatchError, match="contexts: values of another type"):
        ad.value_and_gradient(h, backend, X, ad.Constant(1.0 + 1.0j), prep=prep)
    g = lambda v, w, c: xp.sum(v * w * c)
    prep = ad.prepare_gradient(g, backend, X, X, ad.Constant(np.ones(3)))
    with pytest.raises(ad.PreparationMismatchError, match="contexts: values of another type"):
        ad.gradient(g, backend, X, X, ad.Constant(np.ones((1, 3))), prep=prep)
