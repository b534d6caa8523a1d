"""test_differentiation catches broken backends written through the backend contract, and names each failure."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import pytest

import anydiff as ad
from anydiff.backends import Backend
from anydiff.testing import (
    CompileCounter, batchify, cachify, change_dtype, check_case, closurify, constantify, default_scenarios,
    differentiation_cases, float32_scenarios, sparse_scenarios, structured_scenarios, test_differentiation,
)
from conftest import installed

FIRST_ORDER = ["pushforward", "pullback", "derivative", "gradient", "jacobian"]


@dataclass(frozen=True)
class ComplexStep(Backend):
    """A minimal forward backend through the documented contract: build_pushforward only."""

    name: ClassVar[str] = "complex_step_test"
    has_forward: ClassVar[bool] = True
    supports_cache: ClassVar[bool] = False
    supports_complex: ClassVar[bool] = False
    supports_second_order: ClassVar[bool] = False

    def tangents(self, f, x, T, ctx):
        h = 1e-30
        return np.stack([np.imag(f(x + 1j * h * t, *ctx)) / h for t in T]).astype(x.dtype)

    def build_pushforward(self, f, spec):
        return lambda x, T, ctx: (f(x, *ctx), self.tangents(f, x, T, ctx))


@dataclass(frozen=True)
class WrongPushforward(ComplexStep):
    def tangents(self, f, x, T, ctx):
        return 1.01 * super().tangents(f, x, T, ctx)


@dataclass(frozen=True)
class MutatesX(ComplexStep):
    def tangents(self, f, x, T, ctx):
        out = super().tangents(f, x, T, ctx)
        x += 1.0  # the bug: the caller's array changes
        return out


@dataclass(frozen=True)
class Float64Out(ComplexStep):
    def tangents(self, f, x, T, ctx):
        return super().tangents(f, x, T, ctx).astype(np.float64)


@dataclass(frozen=True)
class RecompilesEveryCall(Backend):
    """A JAX backend that jits a new closure on every call (so it compiles every time)."""

    name: ClassVar[str] = "recompiling_test"
    library: ClassVar[str] = "jax"
    has_forward: ClassVar[bool] = True
    supports_cache: ClassVar[bool] = False
    supports_second_order: ClassVar[bool] = False

    def build_pushforward(self, f, spec):
        import jax

        def pushforward(x, T, ctx):
            run = jax.jit(lambda x, T: jax.vmap(lambda t: jax.jvp(lambda z: f(z, *ctx), (x,), (t,)))(T))
            y, TY = run(x, T)
            return y[0], TY

        return pushforward

    def array_namespace(self):
        import jax.numpy as jnp

        return jnp

    def from_numpy_native(self, a, spec):
        import jax.numpy as jnp

        return jnp.asarray(a)


REAL = [s for s in default_scenarios() + float32_scenarios() if not s.complex and not s.inplace and "cache" not in s.name]


def test_correct_reference_backend_passes():
    results = test_differentiation([ComplexStep()], REAL, FIRST_ORDER)
    assert {r.status for r in results} <= {"pass", "skip"}
    assert sum(r.status == "pass" for r in results) > 50


@pytest.mark.parametrize("broken, problem", [
    (WrongPushforward(), "wrong result"),
    (MutatesX(), "modified its input x"),
    (Float64Out(), "returned float64 for a float32 input"),
])
def test_broken_backends_are_named(broken, problem):
    with pytest.raises(AssertionError) as info:
        test_differentiation([broken], REAL, ["pushforward", "jacobian"], variants=("plain", "prepared_twice"))
    text = str(info.value)
    lines = [line for line in text.splitlines()[1:] if problem in line]
    assert lines, text
    assert all(type(broken).__name__ in line and " | " in line for line in lines)
    if problem.startswith("returned float64"):  # only the float32 scenario is affected
        assert all("float32" in line for line in lines)
    else:
        assert any("prepared_twice" in line for line in lines) and any("plain" in line for line in lines)


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_recompiling_backend_is_named():
    sc = [s for s in REAL if s.name == "vector->vector"]
    results = test_differentiation([RecompilesEveryCall()], sc, ["pushforward"], raise_on_failure=False)
    by_variant = {r.variant: r for r in results}
    assert by_variant["plain"].status == "pass"  # right values ...
    assert by_variant["prepared_twice"].status == "fail"  # ... but compiled again on the second call
    assert "recompiled on the second prepared call" in by_variant["prepared_twice"].message
    good = test_differentiation([ad.AutoJax()], sc, ["pushforward", "jacobian"], variants=("prepared_twice",))
    assert all(r.status == "pass" for r in good)


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_compile_counter_counts_jax_compilations():
    import jax
    import jax.numpy as jnp

    f = jax.jit(lambda x: jnp.sin(x) * 3.0)
    with CompileCounter() as first:
        f(jnp.ones(7))
    with CompileCounter() as second:
        f(jnp.ones(7))
    assert first.count >= 1 and first.seconds > 0 and second.count == 0


@pytest.mark.skipif(not installed("jax"), reason="jax not installed")
def test_declared_gaps_are_skipped_not_failed():
    inplace = [s for s in default_scenarios() if s.inplace or "cache" in s.name]
    results = test_differentiation([ad.AutoJax()], inplace, ["jacobian"], variants=("plain",))
    assert results and all(r.status == "skip" for r in results)
    assert all("supports_inplace = False" in r.skipped or "supports_cache = False" in r.skipped for r in results)


def test_transformers_keep_references_right():
    base = [s for s in default_scenarios() if s.name in ("vector->scalar", "constant context", "vector->vector")]
    transformed = ([batchify(s, 3) for s in base] + [closurify(s) for s in base] + [constantify(s, 1.5) for s in base]
                   + [cachify(s) for s in base] + [change_dtype(s) for s in base])
    results = test_differentiation([ad.AutoNumPy()], transformed, ["pushforward", "gradient", "hvp"],
                                   variants=("plain", "prepared_twice"))
    assert sum(r.status == "pass" for r in results) >= 30
    const = next(s for s in base if s.name == "constant context")
    assert closurify(const).contexts() == () and len(constantify(const).contexts()) == 2


def test_sparse_scenarios_check_nonzeros():
    sparse_b = ad.AutoSparse(ad.AutoNumPy())
    results = test_differentiation([sparse_b, ad.AutoNumPy()], sparse_scenarios(n=12, grid=3),
                                   variants=("plain", "prepared_twice", "out"), threads=2)
    assert all(r.status in ("pass", "skip") for r in results)

    n = 12
    sc = [s for s in sparse_scenarios(n=n, grid=3) if s.name.startswith("banded")]
    # a detector that claims every entry: right values, too many stored entries
    everything = ad.AutoSparse(ad.AutoNumPy(), sparsity_detector=ad.KnownSparsityDetector(np.ones((n, n), bool)))
    out = test_differentiation([everything], sc, variants=("plain",), raise_on_failure=False)
    assert "stored entries, the true pattern" in out[0].message


def test_thread_check_and_errors_are_reported():
    def raising(xp):
        def f(x):
            raise ValueError("boom")

        return f

    bad = replace(REAL[2], name="raises", make=raising)
    with pytest.raises(AssertionError, match=r"raises \| gradient \| plain: raised ValueError: boom"):
        test_differentiation([ad.AutoNumPy()], [bad], ["gradient"], variants=("plain",), threads=2)


@pytest.mark.parametrize("case", differentiation_cases([ad.AutoNumPy()], default_scenarios()[:2], ["derivative"]))
def test_pytest_cases(case):
    assert check_case(case).status == "pass"


# ------------------------------------------------------------- pytrees and several active arguments
STRUCTURED = structured_scenarios()


def test_structured_scenarios_are_tagged():
    tags = [s.all_tags for s in STRUCTURED]
    assert sum("pytree" in t for t in tags) >= 4 and sum("multiarg" in t for t in tags) >= 3
    assert any({"pytree", "multiarg"} <= t for t in tags)
    assert all(s.structured for s in STRUCTURED) and not any(s.structured for s in default_scenarios())
    scalar = next(s for s in STRUCTURED if s.name.startswith("pytree dict"))
    assert scalar.operators() == ["pushforward", "jacobian", "pullback", "gradient", "hvp", "hessian"]


def test_structured_refusals_are_skipped_with_the_reason():
    multi = next(s for s in STRUCTURED if "vector, vector" in s.name)
    results = test_differentiation([ad.AutoNumPy()], [multi], variants=("plain", "out"))
    assert results and all(r.status == "pass" for r in results)  # out= trees are written leaf by leaf
    second = replace(multi, name="second derivative", ops=("second_derivative",))  # two array arguments
    skipped = test_differentiation([ad.AutoNumPy()], [second], ["second_derivative"], variants=("plain",))
    assert len(skipped) == 1 and all(r.status == "skip" and "refused by anydiff" in r.skipped for r in skipped)


def test_structured_results_are_checked_leaf_by_leaf():
    sc = next(s for s in STRUCTURED if "namedtuple" in s.name)
    wrong_ref = replace(sc, name="wrong reference", jacobian=lambda p: 1.01 * sc.jacobian(p))
    res = test_differentiation([ad.AutoNumPy()], [wrong_ref], ["jacobian", "pullback"], variants=("plain",),
                               raise_on_failure=False)
    assert all(r.status == "fail" and "wrong result: leaf" in r.message for r in res), res

    def other_keys(xp):
        f0 = sc.make(xp)
        return lambda p: {"w" if k == "u" else k: v for k, v in f0(p).items()}

    renamed = replace(sc, name="other structure", make=other_keys)
    with pytest.raises(AssertionError, match=r"other structure \| jacobian \| plain: .*structure dict\(v: .*w: "):
        test_differentiation([ad.AutoNumPy()], [renamed], ["jacobian"], variants=("plain",))


def test_broken_backend_is_named_on_structured_scenarios():
    with pytest.raises(AssertionError) as info:
        test_differentiation([WrongPushforward()], STRUCTURED, ["pushforward", "jacobian"], variants=("plain",))
    lines = info.value.args[0].splitlines()[1:]
    out_of_place = [s for s in STRUCTURED if not s.inplace]  # ComplexStep declares supports_inplace = False
    assert len(lines) == 2 * len(out_of_place) and all("WrongPushforward" in ln and "wrong result" in ln for ln in lines)
    good = test_differentiation([ComplexStep()], out_of_place, ["pushforward", "jacobian"],
                                variants=("plain", "prepared_twice"))
    assert {r.status for r in good} == {"pass"}


def test_transformers_on_structured_scenarios():
    transformed = [t(s) for s in STRUCTURED for t in (batchify, closurify, constantify, cachify, change_dtype)]
    results = test_differentiation([ad.AutoNumPy()], transformed, variants=("plain", "prepared_twice"))
    assert sum(r.status == "pass" for r in results) >= 200
    assert {r.status for r in results} == {"pass"}


def test_sparse_backend_returns_the_flat_matrix_on_structured_scenarios():
    both = [s for s in STRUCTURED if s.hessian is not None]
    results = test_differentiation([ad.AutoSparse(ad.AutoNumPy())], both, ["jacobian", "hessian", "gradient"],
                                   variants=("plain", "prepared_twice"))
    assert {r.status for r in results} == {"pass"} and len(results) == 3 * 2 * len(both)


@pytest.mark.skipif(not installed("torch"), reason="torch not installed")
def test_torch_pushforward_keeps_float32_with_a_float_constant():
    sc = change_dtype(next(s for s in STRUCTURED if "vector, vector" in s.name))
    test_differentiation([ad.AutoTorch()], [sc], ["pushforward"], variants=("plain",))
