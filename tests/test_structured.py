"""Pytrees and several active arguments: every operator × backend × call variant vs JAX."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import all_backends

import anydiff as ad
from anydiff._trees import tree_flatten
from anydiff.testing import namespace_for
from anydiff.testing._tree_scenarios import Layer, as_plain_tree, tree_scenarios

jax = pytest.importorskip("jax")
jnp = jax.numpy

SCENARIOS = tree_scenarios()
jax.tree_util.register_dataclass(Layer, data_fields=["w", "b"], meta_fields=[])  # for the JAX references
CASES = [(sc, op) for sc in SCENARIOS for op in sc.operators()]
VARIANTS = ("plain", "value_and", "prepared_twice")
VALUE_AND = {
    "pushforward": ad.value_and_pushforward, "pullback": ad.value_and_pullback,
    "gradient": ad.value_and_gradient, "jacobian": ad.value_and_jacobian,
    "hvp": ad.gradient_and_hvp, "hessian": ad.value_gradient_and_hessian,
}


def _namespace(backend):
    for lib in ("jax", "torch"):
        if backend.library == lib:
            return namespace_for(lib)
    return namespace_for("autograd" if backend.name == "autograd" else "numpy")


def _map(tree, fun):
    leaves, td = tree_flatten(tree)
    from anydiff._trees import tree_unflatten

    return tree_unflatten(td, [fun(v) for v in leaves]) if td != ("leaf",) else fun(tree)


def _seeds(sc, op, fj, args, ctx):
    rng = np.random.default_rng(3)
    if op == "pullback":
        y = jax.eval_shape(lambda *a: fj(*a, *ctx), *args)
        return (_map(y, lambda v: rng.standard_normal(np.shape(v))),)
    seed = _map(args, lambda v: rng.standard_normal(np.shape(v)))
    return (seed if len(args) > 1 else seed[0],)


_REFERENCES: dict = {}


def _reference(sc, op, seeds):
    """What the operator must return, computed with JAX (once per scenario and operator)."""
    key = (sc.name, op)
    if key not in _REFERENCES:
        _REFERENCES[key] = _compute_reference(sc, op, seeds)
    return _REFERENCES[key]


def _compute_reference(sc, op, seeds):
    fj = sc.make(jnp)
    ctx = tuple(c.value for c in sc.contexts())
    args = sc.args
    k = len(args)
    nums = tuple(range(k)) if k > 1 else 0
    g = lambda *a: fj(*a, *ctx)
    if op == "jacobian":
        return jax.jacobian(g, argnums=nums)(*args)
    if op == "gradient":
        return jax.grad(g, argnums=nums)(*args)
    if op == "hessian":
        return jax.hessian(g, argnums=nums)(*args)
    if op == "pushforward":
        tan = tuple(s if k > 1 else (s,) for s in seeds)
        return tuple(jax.jvp(g, tuple(args), t)[1] for t in tan)
    if op == "pullback":
        _y, vjp = jax.vjp(g, *args)
        return tuple(vjp(s) if k > 1 else vjp(s)[0] for s in seeds)
    if op == "hvp":
        grad = jax.grad(g, argnums=tuple(range(k)))
        tan = tuple(s if k > 1 else (s,) for s in seeds)
        out = tuple(jax.jvp(grad, tuple(args), t)[1] for t in tan)
        return tuple(o if k > 1 else o[0] for o in out)
    raise ValueError(op)


def assert_tree_close(got, want, rtol):
    got_leaves, got_def = tree_flatten(as_plain_tree(got))
    want_leaves, want_def = tree_flatten(as_plain_tree(want))
    assert got_def == want_def, f"structure {got_def} != {want_def}"
    for a, b in zip(got_leaves, want_leaves):
        assert isinstance(a, (np.ndarray, np.generic, float)), type(a)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=rtol)


def _shifted(tree):
    return _map(tree, lambda v: v + 0.25)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("scenario,op", CASES, ids=[f"{sc.name}-{op}" for sc, op in CASES])
@pytest.mark.parametrize("backend", all_backends())
def test_structured(backend, scenario, op, variant):
    if variant != "plain" and (getattr(backend, "method", "") in ("forward", "complex") or not getattr(backend, "jit", True)
                               or getattr(backend, "mode", "") == "forward"):
        pytest.skip("variants run on one configuration per backend library (CI time)")
    f = scenario.make(_namespace(backend))
    seeds = _seeds(scenario, op, scenario.make(jnp), scenario.args, tuple(c.value for c in scenario.contexts())) \
        if op in ("pushforward", "pullback", "hvp") else None
    tail = (seeds,) if seeds is not None else ()
    call = lambda point, **kw: (backend, *point, *tail, *scenario.contexts())
    want = _reference(scenario, op, seeds)
    rtol = 1e-8 if backend.exact else (2e-3 if op in ("hessian", "hvp") else 1e-5)
    if variant == "plain":
        results = [getattr(ad, op)(f, *call(scenario.args))]
    elif variant == "value_and":
        results = [VALUE_AND[op](f, *call(scenario.args))[-1]]
    else:
        prep = getattr(ad, f"prepare_{op}")(f, backend, *_shifted(scenario.args), *scenario.contexts())
        results = [getattr(ad, op)(f, *call(scenario.args), prep=prep) for _ in range(2)]
    for got in results:
        assert_tree_close(got, want, rtol)


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
    f = lambda t: jnp.sum(t["a"] ** 2)
    prep = ad.prepare_gradient(f, ad.AutoJax(), {"a": jnp.ones(2)})
    np.testing.assert_allclose(ad.gradient(f, ad.AutoJax(), {"a": jnp.ones(2)}, prep=prep)["a"], [2.0, 2.0])
    with pytest.raises(ad.PreparationMismatchError, match=r"x\['a'\]"):
        ad.gradient(f, ad.AutoJax(), {"a": jnp.ones(3)}, prep=prep)


def test_bad_seed_structure():
    f = lambda u, v: u * v
    with pytest.raises(ad.InputError, match=r"tx\[0\].*args\[1\]"):
        ad.pushforward(f, "numpy", np.ones(2), np.ones(2), ((np.ones(2), np.ones(3)),))


def test_out_and_second_derivative_refused():
    f = lambda u, v: u * v
    with pytest.raises(ad.UnsupportedOperationError, match="Hint"):
        ad.jacobian(f, "numpy", np.ones(2), np.ones(2), out=np.zeros((2, 2)))
    with pytest.raises(ad.UnsupportedOperationError, match="Hint"):
        ad.second_derivative(lambda a, b: a * b, "numpy", 1.0, 2.0)


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
    sc = next(s for s in SCENARIOS if s.name == "dataclass")
    g = ad.gradient(sc.make(np), "numpy", *sc.args)
    assert dataclasses.is_dataclass(g[0]) and isinstance(g[1], np.ndarray)
