"""The idioms of real NumPy code under anydiff's NumPy engines (anydiff/_numpy_scope.py).

Each idiom runs under the forward engine (Jacobian, gradient, Hessian) and the sparsity
tracers (global and local, Jacobian and Hessian patterns), against analytic derivatives.
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from math import cos as _bound_cos  # bound at import: anydiff swaps it for the call
from math import exp as _bound_exp

import numpy as np
import pytest
import scipy.linalg as scipy_linalg
import scipy.special as sc
from scipy.linalg import solve as _bound_solve  # bound at import: swapped for the call

import anydiff as ad
from anydiff._numpy_scope import active_engine, installed

B = ad.AutoNumPy()
G = ad.TracerSparsityDetector()
L = ad.TracerLocalSparsityDetector()
X = np.array([0.3, -0.7, 1.1, 0.4])
TOL = {"rtol": 1e-12, "atol": 1e-12}
ORIGINALS = {"zeros": np.zeros, "array": np.array, "asarray": np.asarray, "sin": math.sin}


def _pattern(S):
    return S.toarray().astype(int)


# ------------------------------------------------------------------ the idioms
def math_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += math.sin(x[i]) * math.exp(x[i + 1]) + math.sqrt(1.0 + x[i] ** 2) + _bound_cos(x[i])
    return s + math.log(2.0 + x[-1]) + math.atan2(x[0], 2.0) + math.pow(x[1], 2)


def math_loop_grad(x):  # analytic, in np.* so that complex step gives the Hessian reference
    g = np.zeros_like(x)
    for i in range(len(x) - 1):
        g[i] += np.cos(x[i]) * np.exp(x[i + 1]) + x[i] / np.sqrt(1.0 + x[i] ** 2) - np.sin(x[i])
        g[i + 1] += np.sin(x[i]) * np.exp(x[i + 1])
    g[-1] += 1.0 / (2.0 + x[-1])
    g[0] += 2.0 / (4.0 + x[0] ** 2)
    g[1] += 2.0 * x[1]
    return g


def buffers(x):
    n = len(x)
    y = np.zeros(n)
    for i in range(n):
        y[i] = x[i] * x[(i + 1) % n]
    z = np.empty((2, n))
    z[0] = np.sin(x)
    z[1, :] = y + 1.0
    w = np.ones(n) * 2.0
    w[0] = _bound_exp(x[0])
    u = np.full(2, 3.0)
    u[1] = x[1]
    return np.concatenate([z.ravel(), w, u])


def buffers_twin(x):  # the same function without the idioms, for a complex-step reference
    w = np.concatenate([np.exp(x[:1]), 2.0 * np.ones(len(x) - 1)])
    u = np.concatenate([np.array([3.0]), x[1:2]])
    return np.concatenate([np.sin(x), x * np.roll(x, -1) + 1.0, w, u])


def buffers_jac(x):
    return ad.jacobian(buffers_twin, ad.AutoFiniteDiff(method="complex"), x)


def literals(x):
    a, b = x[0], x[1] * x[2]
    v = np.array([a, b, a * b, 1.0])
    m = np.array([[a, 2.0], [b, x[3]]])
    s = np.stack([a, b, np.float64(3.0)])
    return np.concatenate([v, np.asarray(m).ravel(), s, np.asarray(x) ** 2])


def literals_jac(x):
    b = x[1] * x[2]
    rows = [
        [1, 0, 0, 0], [0, x[2], x[1], 0], [b, x[0] * x[2], x[0] * x[1], 0], [0, 0, 0, 0],
        [1, 0, 0, 0], [0, 0, 0, 0], [0, x[2], x[1], 0], [0, 0, 0, 1],
        [1, 0, 0, 0], [0, x[2], x[1], 0], [0, 0, 0, 0],
    ]
    return np.vstack([np.array(rows, dtype=float), np.diag(2.0 * x)])


def scipy_special(x):
    return np.concatenate([np.atleast_1d(sc.logsumexp(x)), sc.softmax(x), sc.log_softmax(x)])


def scipy_special_jac(x):
    p = np.exp(x - sc.logsumexp(x))
    S = np.diag(p) - np.outer(p, p)
    return np.vstack([p[None, :], S, np.eye(len(x)) - p[None, :]])


CASES = {
    "math_loop": (lambda x: np.atleast_1d(math_loop(x)), lambda x: math_loop_grad(x)[None, :]),
    "buffers": (buffers, buffers_jac),
    "literals": (literals, literals_jac),
    "scipy_special": (scipy_special, scipy_special_jac),
}


@pytest.mark.parametrize("name", CASES)
def test_forward_jacobian_matches_analytic(name):
    f, jac = CASES[name]
    np.testing.assert_allclose(ad.jacobian(f, B, X), jac(X), **TOL)
    prep = ad.prepare_jacobian(f, B, X)
    for _ in range(2):  # prepared, called twice
        np.testing.assert_allclose(ad.jacobian(f, B, X + 0.1, prep=prep), jac(X + 0.1), **TOL)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("detector", [G, L], ids=["global", "local"])
def test_tracer_jacobian_pattern_contains_the_jacobian(name, detector):
    f, jac = CASES[name]
    S = _pattern(detector.jacobian_sparsity(f, X))
    nonzero = (jac(X) != 0).astype(int)
    assert np.all(S >= nonzero)
    if name != "scipy_special":  # dense anyway; elsewhere the pattern is exact at X
        np.testing.assert_array_equal(S, nonzero)


def test_gradient_and_hessian_of_math_loop():
    np.testing.assert_allclose(ad.gradient(math_loop, B, X), math_loop_grad(X), **TOL)
    H = ad.hessian(math_loop, B, X)
    H_ref = ad.jacobian(math_loop_grad, ad.AutoFiniteDiff(method="complex"), X)
    np.testing.assert_allclose(H, H_ref, rtol=1e-9, atol=1e-10)
    for detector in (G, L):
        S = _pattern(detector.hessian_sparsity(math_loop, X))
        np.testing.assert_array_equal(S, (H != 0).astype(int))


def scalar_loop(x):
    total = 0.0
    prev = x[0]
    for i in range(1, len(x)):
        total = total + (x[i] - prev * prev) ** 2 / 2.0
        prev = x[i]
    return total


def test_scalar_loop_hessian_and_patterns():
    n = len(X)
    H_ref = np.zeros((n, n))
    for i in range(1, n):  # r = x_i - x_{i-1}^2, term r^2/2
        r = X[i] - X[i - 1] ** 2
        dr = np.zeros(n)
        dr[i], dr[i - 1] = 1.0, -2.0 * X[i - 1]
        H_ref += np.outer(dr, dr)
        H_ref[i - 1, i - 1] += -2.0 * r
    np.testing.assert_allclose(ad.hessian(scalar_loop, B, X), H_ref, **TOL)
    tridiagonal = (np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1).astype(int)
    for detector in (G, L):
        np.testing.assert_array_equal(_pattern(detector.hessian_sparsity(scalar_loop, X)), tridiagonal)


def test_inplace_function_with_buffers_and_contexts():
    def f(y, x, a):
        tmp = np.zeros(len(x))
        for i in range(len(x)):
            tmp[i] = math.tanh(a * x[i])
        y[:] = np.array([tmp[0] * tmp[1], np.sum(tmp)])

    J = ad.jacobian(f, np.zeros(2), B, X, ad.Constant(2.0))
    d = 2.0 / np.cosh(2.0 * X) ** 2
    t = np.tanh(2.0 * X)
    expected = np.array([[d[0] * t[1], t[0] * d[1], 0, 0], d])
    np.testing.assert_allclose(J, expected, **TOL)


# ------------------------------------------------------------ engine objects only when needed
def test_plain_values_stay_plain_inside_the_call():
    seen = {}

    def f(x):
        seen["int_buffer"] = type(np.zeros(3, dtype=int))
        seen["literal"] = type(np.array([1.0, 2.0]))
        seen["math"] = type(math.sin(0.5))
        seen["float_buffer"] = type(np.zeros(3)).__name__
        return x * 2.0

    ad.jacobian(f, B, X)
    assert seen["int_buffer"] is np.ndarray and seen["literal"] is np.ndarray and seen["math"] is float
    assert seen["float_buffer"] == "Dual"


def test_math_domain_errors_are_python_errors():
    with pytest.raises(ValueError, match="math domain error"):
        ad.gradient(lambda x: math.sqrt(x[0] - 10.0), B, X)
    with pytest.raises(ValueError, match="math domain error"):
        ad.jacobian_sparsity(lambda x: np.atleast_1d(math.log(x[1])), X, detector=L)


# ------------------------------------------------------------ scope, threads, exceptions
def _assert_restored():
    assert not installed() and active_engine() is None
    assert np.zeros is ORIGINALS["zeros"] and np.array is ORIGINALS["array"]
    assert np.asarray is ORIGINALS["asarray"] and math.sin is ORIGINALS["sin"]
    assert globals()["_bound_cos"] is math.cos and type(np.zeros(2)) is np.ndarray


def test_other_threads_see_plain_numpy_during_a_call():
    inside, checked, seen = threading.Event(), threading.Event(), {}

    def other():
        inside.wait(10)
        seen["installed"] = installed()
        seen["zeros"] = type(np.zeros(3))
        seen["array"] = type(np.array([1.0, 2.0]))
        seen["sin"] = type(math.sin(0.5))
        checked.set()

    def f(x):
        y = np.zeros(len(x))
        y[:] = x * 3.0
        if not isinstance(x, np.ndarray):  # the engine's call (anydiff may call f on x first)
            inside.set()
            checked.wait(10)
        return y

    thread = threading.Thread(target=other)
    thread.start()
    J = ad.jacobian(f, B, X)
    thread.join(10)
    np.testing.assert_allclose(J, 3.0 * np.eye(len(X)))
    assert seen == {"installed": True, "zeros": np.ndarray, "array": np.ndarray, "sin": float}
    _assert_restored()


def test_two_threads_differentiating_at_once():
    results, errors = [], []

    def work(shift):
        try:
            for _ in range(3):
                results.append((shift, ad.gradient(math_loop, B, X + shift)))
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(s,)) for s in (0.0, 0.05)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(results) == 6
    for shift, g in results:
        np.testing.assert_allclose(g, math_loop_grad(X + shift), **TOL)
    _assert_restored()


@pytest.mark.parametrize("run", [
    lambda f: ad.jacobian(f, B, X), lambda f: ad.hessian(lambda x: np.sum(f(x)), B, X),
    lambda f: G.jacobian_sparsity(f, X), lambda f: L.hessian_sparsity(lambda x: np.sum(f(x)), X),
], ids=["forward", "hessian", "global", "local-hessian"])
def test_nothing_stays_changed_after_an_exception(run):
    def f(x):
        y = np.zeros(len(x))
        y[0] = _bound_cos(x[0])
        raise RuntimeError("boom inside f")

    with pytest.raises(RuntimeError, match="boom"):
        run(f)
    _assert_restored()


# ------------------------------------------------------------------------ errors
def test_what_cannot_work_raises_a_clear_error():
    def float_conversion(x):
        return np.atleast_1d(float(x[0]) * x[1])

    def bound_by_default(x, zeros=np.zeros):  # bound where anydiff cannot see it
        y = zeros(2)
        y[0] = x[0]
        return y

    def compiled(x):
        import scipy.linalg

        return scipy.linalg.lu(np.diag(x))[1]  # LAPACK, not in the table

    for fun in (float_conversion, bound_by_default, compiled):
        for run in (lambda g: ad.jacobian(g, B, X), lambda g: G.jacobian_sparsity(g, X),
                    lambda g: L.jacobian_sparsity(g, X)):
            with pytest.raises(ad.AnyDiffError, match=f"(?s)In: .*{fun.__name__}.*Hint.*differentiate_with"):
                run(fun)
    _assert_restored()


def test_integer_buffer_never_gives_a_silent_zero():
    def f(x):
        y = np.zeros(2, dtype=int)
        y[0] = x[0]
        return y * 1.0

    for run in (lambda: ad.jacobian(f, B, X), lambda: G.jacobian_sparsity(f, X), lambda: L.jacobian_sparsity(f, X)):
        with pytest.raises(ad.AnyDiffError, match="Hint"):
            run()


def test_black_box_under_differentiate_with_sees_plain_numpy():
    seen = []

    def piece(v):  # allocates a float buffer: must stay an ndarray for finite differences
        buf = np.zeros(2)
        seen.append(type(buf))
        buf[0], buf[1] = math.sin(v[0]) * v[1], math.exp(v[1])
        return buf

    g = ad.differentiate_with(piece, ad.AutoFiniteDiff(method="central"), output_shape=(2,))
    x = np.array([0.5, 1.0, 2.0])
    grad = ad.gradient(lambda v: np.sum(g(v[:2]) * v[1:]), B, x)
    expected = [math.cos(0.5) * 1.0 * 1.0, math.sin(0.5) * 1.0 + math.sin(0.5) + 2.0 * math.exp(1.0),
                math.exp(1.0)]
    np.testing.assert_allclose(grad, expected, rtol=1e-6)
    assert seen and all(t is np.ndarray for t in seen)
    _assert_restored()


# ------------------------------------------------------------ a few corpus functions
def _corpus():
    import pathlib
    import sys

    root = str(pathlib.Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks import numpy_corpus
    from benchmarks.corpus import all_cases

    return numpy_corpus, {case.name: case for case in all_cases()}


@pytest.mark.parametrize("name", ["ackley", "rastrigin", "zdt1", "dtlz2", "euler_decay", "bratu_residual", "implicit_euler_scipy"])
def test_corpus_functions_stay_exact(name):
    numpy_corpus, cases = _corpus()
    result = numpy_corpus.check_case(cases[name], [("AutoNumPy", B)])
    assert {e: v["outcome"] for e, v in result["engines"].items()} == dict.fromkeys(result["engines"], "exact")


def test_corpus_float_conversion_is_refused_everywhere():
    numpy_corpus, cases = _corpus()
    result = numpy_corpus.check_case(cases["float_normalised_rosenbrock"], [("AutoNumPy", B)])
    for outcome in result["engines"].values():
        assert outcome["outcome"] == "refused" and outcome["error"] == "TracingError"
        assert "float_normalised_rosenbrock" in outcome["message"] and "differentiate_with" in outcome["message"]


_FIRST_USE_INSIDE_A_SCOPE = """
import numpy as np, anydiff as ad
inner = ad.differentiate_with(lambda x: np.concatenate([np.sin(x), x]), ad.AutoNumPy())
pattern = ad.jacobian_sparsity(lambda x: inner(x) * 2, np.ones(3))  # first engine use: in a scope
J = ad.jacobian(lambda x: np.concatenate([np.sin(x), x]), ad.AutoNumPy(mode="forward"), np.ones(3))
assert np.allclose(J, np.vstack([np.diag(np.cos(np.ones(3))), np.eye(3)])), J
print(int(pattern.sum()))
"""


def test_engines_first_used_inside_a_scope_keep_their_rules():
    """Regression: the dual engine first imported while the scope's wrappers were installed
    registered its rules under the wrappers, so np.concatenate later had no rule."""
    run = subprocess.run([sys.executable, "-c", _FIRST_USE_INSIDE_A_SCOPE], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "18"  # dense 6 x 3: a black box without a declared pattern


def _euler_step(x):
    """An implicit Euler step written with SciPy's dense solvers, bound at import or not."""
    import scipy.linalg

    a = np.diag(2.0 + x) + 0.1 * np.outer(x, x)
    c = scipy.linalg.cho_factor(a)
    y = scipy.linalg.lu_solve(_LU_CONSTANT, x * x)  # factors of a constant matrix, made once
    return scipy.linalg.cho_solve(c, np.sin(x)) + _bound_solve(a, x, assume_a="pos") + y


def _scipy_knows_banded():
    """Whether this SciPy's solve takes assume_a="banded" (older SciPy raises ValueError)."""
    try:
        scipy_linalg.solve(np.eye(2), np.ones(2), assume_a="banded")
    except ValueError:
        return False
    return True


def test_scipy_linalg_is_differentiated_by_every_engine():
    x = np.array([0.3, 0.7, 1.1, 0.2])
    eps = 1e-6
    ref = np.stack([(_euler_step(x + eps * e) - _euler_step(x - eps * e)) / (2 * eps) for e in np.eye(4)], axis=1)
    for backend in (ad.AutoNumPy(mode="forward"), ad.AutoNumPy(mode="reverse")):
        assert np.allclose(ad.jacobian(_euler_step, backend, x), ref, rtol=1e-6, atol=1e-8), backend
    assert ad.jacobian_sparsity(_euler_step, x).toarray().all()  # dense solves: every entry
    if _scipy_knows_banded():
        with pytest.raises(ad.MissingRuleError, match=r"assume_a='banded'[\s\S]*Hint: .*differentiate_with"):
            ad.jacobian(lambda v: scipy_linalg.solve(np.diag(v), v, assume_a="banded"), ad.AutoNumPy(), x)
    with pytest.raises(ad.MissingRuleError, match="eigenvectors are not supported[\\s\\S]*np.linalg.eigh"):
        ad.gradient(lambda v: scipy_linalg.eigh(np.diag(v))[1].sum(), ad.AutoNumPy(), x)
    with pytest.raises(ad.MissingRuleError, match="eigh with b="):
        ad.gradient(lambda v: scipy_linalg.eigh(np.diag(v), np.eye(4))[0].sum(), ad.AutoNumPy(), x)
    assert scipy_linalg.solve is _original_solve and not installed()  # plain SciPy again afterwards


_original_solve = scipy_linalg.solve
_LU_CONSTANT = scipy_linalg.lu_factor(np.array([[0.1, 2.0, 0.0, 1.0], [1.5, 0.2, 0.4, 0.0], [0.3, 0.6, 2.5, 0.1],
                                                [0.0, 1.0, 0.2, 3.0]]))



def test_bound_names_stay_swapped_until_the_last_thread_leaves():
    """Regression: a thread entering while another had swapped ``from math import cos`` saw the
    wrapper, did not count itself in, and lost it when the first thread left (TracingError)."""
    a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()
    errors = []

    def fa(x):
        if not isinstance(x, np.ndarray):  # inside the engine's scope (not the plain probe call)
            a_inside.set()
            b_inside.wait(10)
        return _bound_cos(x[0]) * x[1]

    def fb(x):
        if not isinstance(x, np.ndarray):
            b_inside.set()
            a_done.wait(10)  # the first thread has left its scope (and put its names back)
        return _bound_cos(x[0]) * x[1]

    def run(f, before=None, after=None):
        try:
            if before is not None:
                before.wait(10)
            g = ad.gradient(f, B, np.array([0.3, 0.5]))
            np.testing.assert_allclose(g, [-np.sin(0.3) * 0.5, np.cos(0.3)], rtol=1e-12)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)
        finally:
            if after is not None:
                after.set()

    threads = [threading.Thread(target=run, args=(fa, None, a_done)), threading.Thread(target=run, args=(fb, a_inside))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    _assert_restored()


@pytest.mark.parametrize("backend", [ad.AutoNumPy(mode="forward"), ad.AutoNumPy(mode="reverse")])
def test_library_code_reading_ndarray_internals_gets_a_clear_error_and_the_hinted_fix_works(backend):
    import scipy.linalg as sl

    A = np.array([[0.1, 0.2], [0.3, 0.4]])

    def f(x):
        return sl.expm(x.reshape(2, 2)).ravel()

    with pytest.raises(ad.MissingRuleError, match=r"scipy\.linalg\._matfuncs\.expm, called from f.*`\.flags`") as info:
        ad.jacobian(f, backend, A.ravel())
    assert "differentiate_with" in str(info.value) and "custom_rule" in str(info.value)
    with pytest.raises(ad.MissingRuleError, match="expm"):
        ad.jacobian_sparsity(f, A.ravel())
    wrapped = ad.differentiate_with(sl.expm, ad.AutoFiniteDiff(method="central"))
    J = ad.jacobian(lambda x: wrapped(x.reshape(2, 2)).ravel(), backend, A.ravel())
    eps = 1e-6  # independent reference: central differences of SciPy's expm itself
    ref = np.stack([(sl.expm((A.ravel() + eps * e).reshape(2, 2)) - sl.expm((A.ravel() - eps * e).reshape(2, 2))).ravel()
                    / (2 * eps) for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(J, ref, rtol=1e-6, atol=1e-8)


def test_attribute_errors_of_user_objects_pass_through_unchanged():
    class Box:
        pass

    def f(x):
        return x * Box().missing

    with pytest.raises(AttributeError, match="missing"):
        ad.gradient(lambda x: np.sum(f(x)), ad.AutoNumPy(), np.ones(3))
