"""How many times each operator evaluates ``f``: first unprepared calls, prepared calls, twice.

Also the first call of an operator after another operator's first call with the same ``f``,
which learned ``f``'s output (``operators._first_call.known_output``).

An unprepared call prepares (and caches) before it runs. Preparing used to evaluate ``f`` once
just to learn its output's shape and dtype, so a first call cost one evaluation more than a
prepared call. Where the operator's own run returns ``f``'s value, the first call now guesses
the output (a scalar for gradients and derivatives, the cotangents' shape for pullbacks) and
checks the guess against that value instead (``operators._first_call.run_first_call``).
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from conftest import installed

import anydiff as ad

N = 3

#: Evaluations a first unprepared call spends on top of a prepared one, and why.
EXTRA_FIRST = {
    # the run returns f(x): a guessed output is checked against it, no separate evaluation
    "gradient": 0, "value_and_gradient": 0, "derivative": 0, "value_and_derivative": 0,
    "pullback": 0, "value_and_pullback": 0, "value_gradient_and_hessian": 0,
    # the Jacobian's mode, its seeds and the result's layout depend on f's output shape, and a
    # wrong guess would waste a whole Jacobian (or batch of pushforwards): f is evaluated once
    "pushforward": 1, "value_and_pushforward": 1, "jacobian": 1, "value_and_jacobian": 1,
    # the run does not return f's value, so a guessed scalar output could not be checked
    "hvp": 1, "gradient_and_hvp": 1, "hessian": 1, "second_derivative": 1,
    # any output shape (curves): a wrong scalar guess would cost a second run
    "value_derivative_and_second_derivative": 1,
}
SPARSE_OPS = ("jacobian", "value_and_jacobian", "hessian", "value_gradient_and_hessian")
SCALAR_IN = ("derivative", "value_and_derivative", "second_derivative", "value_derivative_and_second_derivative")
VECTOR_OUT = ("pushforward", "value_and_pushforward", "pullback", "value_and_pullback", "jacobian", "value_and_jacobian")
SEEDED = ("pushforward", "value_and_pushforward", "pullback", "value_and_pullback", "hvp", "gradient_and_hvp")


class Counted:
    """``f`` counting its evaluations (values, duals, tapes) and its JAX traces, together."""

    def __init__(self, fun):
        self.fun, self.calls = fun, 0

    def __call__(self, x, *ctx):
        self.calls += 1
        return self.fun(x, *ctx)

    def take(self):
        calls, self.calls = self.calls, 0
        return calls


def _scalar(x):
    return (x * x * x).sum() + x[0] * x[-1]


def _vector(x):
    return x * x[0] + x * x


def _cubic(t):
    return t * t * t


def _backends():
    out = [
        pytest.param(ad.AutoNumPy(mode="forward"), id="numpy-forward"),
        pytest.param(ad.AutoNumPy(mode="reverse"), id="numpy-reverse"),
        pytest.param(ad.AutoNumPy(), id="numpy-auto"),
        pytest.param(ad.AutoFiniteDiff(), id="fd"),
        pytest.param(ad.AutoSparse(ad.AutoNumPy()), id="sparse-numpy"),
    ]
    if installed("jax"):
        out += [pytest.param(ad.AutoJax(), id="jax"), pytest.param(ad.AutoSparse(ad.AutoJax()), id="sparse-jax")]
    if installed("torch"):
        out += [pytest.param(ad.AutoTorch(), id="torch"), pytest.param(ad.AutoSparse(ad.AutoTorch()), id="sparse-torch")]
    if installed("autograd"):
        out.append(pytest.param(ad.AutoAutograd(), id="autograd"))
    return out


def _setup(backend, op):
    fun = _cubic if op in SCALAR_IN else _vector if op in VECTOR_OUT else _scalar
    x = np.array(0.7) if op in SCALAR_IN else np.linspace(0.5, 1.5, N)
    if backend.library == "torch":
        import torch

        x = torch.tensor(x)
    prepare = getattr(ad, "prepare_" + {"gradient_and_hvp": "hvp", "value_gradient_and_hessian": "hessian",
                                        "value_derivative_and_second_derivative": "second_derivative"}.get(
        op, op.removeprefix("value_and_")))
    operator = getattr(ad, op)

    def call(f, prep=None):
        seeds = ((x * 0 + 1),) if op in SEEDED else ()
        return operator(f, backend, x, *seeds, prep=prep)

    return fun, x, prepare, call


#: first calls that learn f's output (value-returning runs, no extra evaluation)
LEARNER = {
    _scalar: lambda f, b, x: ad.value_and_gradient(f, b, x),
    _vector: lambda f, b, x: ad.value_and_pullback(f, b, x, (x * 0 + 1,)),
    _cubic: lambda f, b, x: ad.value_and_derivative(f, b, x),
}


def _steady(backend, op):
    """Evaluations of f per call once prepared (JAX: none, the jitted closure runs)."""
    if backend.library == "jax":
        return 0
    if isinstance(backend, ad.AutoAutograd) and op in ("jacobian", "value_and_jacobian", "hessian"):
        return N  # autograd has no vmap: one reverse pass per row, each evaluates f
    if isinstance(backend, ad.AutoAutograd) and op == "value_gradient_and_hessian":
        return N + 1
    if isinstance(backend, ad.AutoFiniteDiff):
        return None  # one evaluation per difference: checked only against the unprepared calls
    # the value of f is a plain evaluation next to the one the second derivatives take
    return 2 if op in ("value_gradient_and_hessian", "value_derivative_and_second_derivative") else 1


def _flat(result):
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in _flat(r)]
    if hasattr(result, "toarray"):
        result = result.toarray()
    return [np.asarray(result.detach() if hasattr(result, "detach") else result, dtype=float)]


@pytest.mark.parametrize("op", list(EXTRA_FIRST))
@pytest.mark.parametrize("backend", _backends())
def test_evaluations_per_call(backend, op):
    sparse = isinstance(backend, ad.AutoSparse)
    if sparse and op not in SPARSE_OPS:
        pytest.skip("AutoSparse changes jacobian and hessian only")
    ad.clear_cache()
    fun, x, prepare, call = _setup(backend, op)
    detect = 1 if sparse else 0  # detection runs f on the tracer (or traces its jaxpr) once

    f = Counted(fun)
    prep = prepare(f, backend, x)
    assert f.take() == 1 + detect  # preparing alone: f's output is learned by evaluating (tracing) it
    prepared = [call(f, prep)]
    first_prepared = f.take()  # JAX traces here (jit compiles on the first call)
    prepared.append(call(f, prep))
    steady = f.take()

    g = Counted(fun)
    unprepared = [call(g)]
    first = g.take()
    unprepared.append(call(g))
    second = g.take()

    h = Counted(fun)  # a first call after another operator's first call learned f's output
    LEARNER[fun](h, backend, x)
    h.take()
    after = call(h)
    shares_prep = op.removeprefix("value_and_") in ("gradient", "pullback", "derivative")  # the learner's own
    assert h.take() == (steady if shares_prep else first_prepared + detect)
    for a, b in zip(_flat(after), _flat(prepared[0])):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)

    assert first == first_prepared + EXTRA_FIRST[op] + detect
    assert second == steady  # the cached preparation: a second unprepared call costs a prepared one
    expected = _steady(backend, op)
    if expected is not None:
        assert steady == expected
    for a, b in zip(_flat(unprepared[0]) + _flat(unprepared[1]), _flat(prepared[0]) + _flat(prepared[1])):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_results_against_analytic_references():
    x = np.array([0.5, 1.0, 2.0])
    grad = 3 * x**2 + np.array([x[-1], 0.0, x[0]])
    for backend in (ad.AutoNumPy(), ad.AutoNumPy(mode="forward"), ad.AutoFiniteDiff(method="complex")):
        ad.clear_cache()
        f = Counted(_scalar)
        y, g = ad.value_and_gradient(f, backend, x)
        assert f.take() == (1 if backend.exact else 1 + x.size)  # complex step: f(x), then one per entry
        np.testing.assert_allclose(g, grad, rtol=1e-12)
        assert float(y) == pytest.approx(_scalar(x))
        dy = np.array([1.0, -2.0, 0.5])
        J = np.diag(x[0] + 2 * x) + np.outer(x, [1.0, 0.0, 0.0])
        np.testing.assert_allclose(ad.pullback(_vector, backend, x, (dy,))[0], dy @ J, rtol=1e-10)
        np.testing.assert_allclose(ad.derivative(_cubic, backend, 2.0), 12.0, rtol=1e-10)


# ------------------------------------------------------------ a wrong guess, and errors
def test_guess_of_shape_one_output_falls_back():
    """f returning shape (1,): the scalar guess is refused, the result is as before."""
    f = Counted(lambda x: np.sum(x**2, keepdims=True))
    ad.clear_cache()
    y, g = ad.value_and_gradient(f, ad.AutoNumPy(), np.array([1.0, 2.0]))
    assert np.shape(y) == (1,)
    np.testing.assert_allclose(g, [2.0, 4.0])
    # the guessed run (1), then the usual path: evaluation for the output (1) and the run (1)
    assert f.take() == 3
    ad.value_and_gradient(f, ad.AutoNumPy(), np.array([3.0, 4.0]))
    assert f.take() == 1


def test_float32_output_of_float64_input_keeps_its_dtype():
    f = Counted(lambda x: np.float32(np.sum(x * x)))
    ad.clear_cache()
    y, g = ad.value_and_gradient(f, ad.AutoFiniteDiff(), np.array([1.0, 2.0]))
    assert np.asarray(y).dtype == np.float32  # as f returns it: the float64 guess is refused
    prep = ad.prepare_gradient(f, ad.AutoFiniteDiff(), np.array([1.0, 2.0]))  # the usual path
    np.testing.assert_array_equal(g, ad.gradient(f, ad.AutoFiniteDiff(), np.array([1.0, 2.0]), prep=prep))


@pytest.mark.parametrize("backend", _backends()[:5])
def test_wrong_outputs_keep_their_errors(backend):
    if isinstance(backend, ad.AutoSparse):
        pytest.skip("AutoSparse delegates gradients")
    x = np.array([1.0, 2.0])
    with pytest.raises(ad.OutputError, match="scalar-valued.*\n.*Hint"):
        ad.gradient(lambda x: x**2, backend, x)
    with pytest.raises(ad.OutputError, match="integer or boolean.*\n.*Hint"):
        ad.gradient(lambda x: np.sum(x > 0), backend, x)
    with pytest.raises(ad.OutputError, match="Hint"):
        ad.gradient(lambda x: "not an array", backend, x)
    with pytest.raises(ad.InputError, match=r"ty\[0\] has shape.*\n.*Hint"):
        ad.pullback(lambda x: x[:1] * 2.0, backend, x, (np.ones(2),))


def test_error_raised_by_f_propagates():
    class Boom(Exception):
        pass

    def f(x):
        raise Boom("from f")

    with pytest.raises(Boom, match="from f"):
        ad.gradient(f, ad.AutoNumPy(), np.ones(2))


def test_contexts_and_in_place_first_calls():
    x, c = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    f = Counted(lambda x, c, buf: np.sum(c * x**2))
    ad.clear_cache()
    g = ad.gradient(f, ad.AutoNumPy(), x, ad.Constant(c), ad.Cache(np.zeros(2)))
    np.testing.assert_allclose(g, 2 * c * x)
    assert f.take() == 1

    calls = []

    def h(y, x):  # in place: the buffer gives the output, f was never evaluated to learn it
        calls.append(1)
        y[:] = x * x[0]

    tx = ad.pullback(h, np.zeros(2), ad.AutoNumPy(), x, (np.array([1.0, 0.0]),))[0]
    np.testing.assert_allclose(tx, [2 * x[0], 0.0])
    assert len(calls) == 1


def test_first_calls_from_threads():
    """Unprepared first calls racing in several threads (each may guess; the cache keeps one)."""
    results, errors = [], []

    def f(x):
        return np.sum(np.sin(x) * x)

    def work(i):
        try:
            x = np.full(3, 0.1 * i)
            results.append((x, ad.gradient(f, ad.AutoNumPy(), x)))
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    ad.clear_cache()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for x, g in results:
        np.testing.assert_allclose(g, np.sin(x) + x * np.cos(x), rtol=1e-12)


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_jax_first_gradient_traces_once():
    import jax.numpy as jnp

    f = Counted(lambda x: jnp.sum(x**3))
    ad.clear_cache()
    g = ad.gradient(f, ad.AutoJax(), np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [3.0, 12.0])
    assert f.take() == 1  # one trace (jit), no jax.eval_shape before it
    ad.gradient(f, ad.AutoJax(), np.array([2.0, 3.0]))
    assert f.take() == 0
    assert "jax" in sys.modules


# ------------------------------------------------------------ pytrees, several active arguments
def _tree_backends():
    out = [ad.AutoNumPy(), ad.AutoNumPy(mode="forward"), ad.AutoFiniteDiff(method="complex")]
    out += [ad.AutoJax()] if installed("jax") else []
    out += [ad.AutoTorch()] if installed("torch") else []
    out += [ad.AutoAutograd()] if installed("autograd") else []
    return out


@pytest.mark.parametrize("backend", _tree_backends(), ids=repr)
def test_structured_gradient_first_call(backend):
    """A dict input and two active arguments: the first call evaluates f as a prepared one does."""
    conv = np.asarray
    if backend.library == "torch":
        import torch

        conv = torch.tensor
    a, b = np.array([0.5, 1.5]), np.array([2.0, -1.0])
    per_call = 1 + a.size + b.size if isinstance(backend, ad.AutoFiniteDiff) else 0 if backend.library == "jax" else 1
    for args, grads in (
        (({"a": conv(a), "b": conv(b)},), ({"a": 2 * a * b.sum(), "b": np.full(2, (a**2).sum())},)),
        ((conv(a), conv(b)), (2 * a * b.sum(), np.full(2, (a**2).sum()))),
    ):
        f = Counted(lambda *t: ((t[0]["a"] ** 2).sum() * t[0]["b"].sum()) if len(t) == 1 else (t[0] ** 2).sum() * t[1].sum())
        ad.clear_cache()
        first = ad.gradient(f, backend, *args)
        # JAX: one trace of the value-and-gradient closure (no jax.eval_shape before it)
        assert f.take() == (1 if backend.library == "jax" else per_call)
        y, second = ad.value_and_gradient(f, backend, *args)
        assert f.take() == per_call
        assert float(y) == pytest.approx(float((a**2).sum() * b.sum()))
        for got in (first, second):
            got = got if len(args) > 1 else (got,)
            for g, ref in zip(got, grads):
                g = g if isinstance(g, dict) else {"": g}
                ref = ref if isinstance(ref, dict) else {"": ref}
                for k in ref:
                    np.testing.assert_allclose(_flat(g[k])[0], ref[k], rtol=1e-10)


def test_structured_gradient_of_tree_output_unchanged():
    """A scalar in a container is not the guessed 0-d output: the usual path, as before."""
    f = Counted(lambda t: {"s": (t["a"] ** 2).sum()})
    ad.clear_cache()
    y, g = ad.value_and_gradient(f, ad.AutoNumPy(), {"a": np.array([1.0, 2.0])})
    np.testing.assert_allclose(g["a"], [2.0, 4.0])
    assert np.shape(y) == (1,)
    with pytest.raises(ad.OutputError, match="scalar-valued.*\n.*Hint"):
        ad.gradient(lambda t: t["a"] * 2.0, ad.AutoNumPy(), {"a": np.array([1.0, 2.0])})


def test_known_output_with_contexts():
    """With contexts, an output learned by another operator is used only where the run checks it."""
    x, c = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    f = Counted(lambda x, c: np.sum(c * x**3))
    ad.clear_cache()
    ad.gradient(f, ad.AutoNumPy(), x, ad.Constant(c))
    f.take()
    hv = ad.hvp(f, ad.AutoNumPy(), x, (np.array([1.0, 0.0]),), ad.Constant(c))[0]
    np.testing.assert_allclose(hv, [6 * c[0] * x[0], 0.0])
    assert f.take() == 2  # the hvp's run does not return f(x): f is evaluated for its output

    def g(x, k):  # the output's length depends on a context value
        return np.concatenate([x * x] * k)

    ad.clear_cache()
    assert ad.jacobian(g, ad.AutoNumPy(), x, ad.Constant(1)).shape == (2, 2)
    ty = ad.pushforward(g, ad.AutoNumPy(), x, (np.array([1.0, 0.0]),), ad.Constant(2))[0]
    np.testing.assert_allclose(ty, [2.0, 0.0, 2.0, 0.0])  # the learned (2,) is checked and refused
