"""Run one operator of one backend on one scenario, in one call variant, and check everything.

Checks: the result against the scenario's references (``rtol``/``atol``), the inputs (x, seeds,
constants) unchanged, the dtype kept, the result in the input's array library, no compilation
on the second prepared call, and the nonzeros of sparse results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import operators as ops
from .._arrays import from_numpy, library_of, to_numpy
from .._contexts import Constant
from .._errors import UnsupportedOperationError
from ..backends import Backend, resolve_backend
from ._compiles import CompileCounter
from ._pytrees import array_error, compare_trees, leaves, tree_map
from ._structured_refs import copy_leaves, expected_structured, flat_expected, structured_gap, structured_seeds
from ._scenarios import Scenario, namespace_for

__all__ = ["backend_label", "VARIANTS", "expected_result", "run_operator", "check_operator", "CheckResult", "declared_gap",
           "tolerances"]

#: Call variants: unprepared, ``value_and_<op>``, prepared (called twice), ``out=`` buffers, and
#: inputs in the backend's own array library (JAX/torch) instead of NumPy.
VARIANTS = ("plain", "value_and", "prepared_twice", "out", "native")
_SEEDED = ("pushforward", "pullback", "hvp")
_VALUE_AND = {
    "pushforward": ops.value_and_pushforward, "pullback": ops.value_and_pullback,
    "derivative": ops.value_and_derivative, "gradient": ops.value_and_gradient,
    "jacobian": ops.value_and_jacobian, "hvp": ops.gradient_and_hvp,
    "hessian": ops.value_gradient_and_hessian, "second_derivative": ops.value_derivative_and_second_derivative,
}


def _members(backend: Backend):
    members = [backend]
    for attr in ("inner", "outer", "forward", "reverse", "dense_backend"):
        member = getattr(backend, attr, None)
        if isinstance(member, Backend):
            members += _members(member)
    return members


def _namespace(backend: Backend):
    """Array namespace to write a scenario's function with, for ``backend`` (and its members)."""
    return namespace_for(_library(backend))


def _library(backend: Backend) -> str:
    names = {m.name for m in _members(backend)} | {m.library for m in _members(backend)}
    for library in ("jax", "torch", "autograd"):  # these also accept NumPy inputs
        if library in names:
            return library
    return "numpy"


def backend_label(backend) -> str:
    """Short name of a backend configuration: its class and the settings that differ from the defaults.

    Examples
    --------
    >>> import anydiff as ad
    >>> from anydiff.testing import backend_label
    >>> backend_label(ad.AutoSparse(ad.AutoJax(mode="forward")))
    'AutoSparse(AutoJax(mode=forward))'
    """
    import dataclasses

    backend = resolve_backend(backend)
    if not dataclasses.is_dataclass(backend):
        return type(backend).__name__
    parts = []
    for fld in dataclasses.fields(backend):
        value = getattr(backend, fld.name)
        default = fld.default if fld.default is not dataclasses.MISSING else object()
        if fld.default_factory is not dataclasses.MISSING:
            default = fld.default_factory()
        if value is None or (value is default) or (not isinstance(value, Backend) and value == default):
            continue
        shown = backend_label(value) if isinstance(value, Backend) else (value if isinstance(value, str) else repr(value))
        parts.append(shown if isinstance(value, Backend) and not parts else f"{fld.name}={shown}")
    return f"{type(backend).__name__}({', '.join(parts)})"


def declared_gap(backend, scenario: Scenario, op: str, variant: str = "plain") -> str | None:
    """Why ``backend`` declares it cannot run this combination (its capability flags), or None.

    Read flags: ``supports_inplace``, ``supports_cache``, ``supports_out``,
    ``supports_complex`` (complex inputs) and ``supports_second_order`` (HVP, Hessian and
    second derivative with the backend alone), of the backend and of every backend it wraps.

    Examples
    --------
    >>> import anydiff as ad
    >>> from anydiff.testing import declared_gap, default_scenarios
    >>> inplace = next(s for s in default_scenarios() if s.inplace)
    >>> declared_gap(ad.AutoJax(), inplace, "jacobian")
    'AutoJax: supports_inplace = False'
    """
    backend = resolve_backend(backend)
    members, name = _members(backend), type(backend).__name__
    refused = structured_gap(scenario, op)
    if refused:
        return refused
    if scenario.inplace and not all(m.supports_inplace for m in members):
        return f"{name}: supports_inplace = False"
    if any(type(c).__name__ == "Cache" for c in scenario.contexts()) and not all(m.supports_cache for m in members):
        return f"{name}: supports_cache = False"
    if scenario.complex and not all(_complex_ok(m) for m in members):
        return f"{name}: no complex inputs"
    if variant == "out" and not all(m.supports_out for m in members):
        return f"{name}: supports_out = False"
    if variant == "native" and _library(backend) not in ("jax", "torch"):
        return "inputs are NumPy arrays already"
    if variant == "native" and (scenario.inplace or scenario.contexts()):
        return "native inputs are checked on out-of-place scenarios without contexts"
    if op in ("hvp", "hessian", "second_derivative") and not _second_order_ok(backend):
        return f"{name}: no second order"
    return None


def _complex_ok(backend) -> bool:
    # autograd takes complex inputs, but only through autograd.numpy functions: the complex
    # scenarios call array methods (z.conj()), which it cannot trace
    return bool(getattr(backend, "supports_complex", False)) and type(backend).__name__ != "AutoAutograd"


def _second_order_ok(backend) -> bool:
    return bool(getattr(backend, "supports_second_order", False))


def seeds_for(scenario: Scenario, op: str, count: int | None = None):
    """Deterministic tangents (x-shaped) or cotangents (y-shaped); trees for structured scenarios."""
    rng = np.random.default_rng(1)
    if scenario.structured:
        return structured_seeds(scenario, op, rng, scenario.batch if count is None else count)
    shape = scenario.y_shape if op == "pullback" else scenario.x.shape
    dtype = scenario.x.dtype
    out = []
    for _ in range(scenario.batch if count is None else count):
        s = rng.standard_normal(shape)
        if scenario.complex:
            s = s + 1j * rng.standard_normal(shape)
        out.append(np.asarray(s, dtype=np.result_type(dtype, s.dtype) if scenario.complex else dtype))
    return tuple(out)


def expected_result(scenario: Scenario, op: str, seeds=None):
    """The reference result of ``op`` on ``scenario`` (NumPy, float64 or complex128).

    For structured scenarios, a tree nested as ``jax.jacobian``/``jax.hessian`` nest (the
    active arguments as a tuple when there are several).
    """
    if scenario.structured:
        return expected_structured(scenario, op, seeds)
    x = scenario.x
    y = np.asarray(scenario.value(x))
    n, m = x.size, y.size
    J = np.asarray(scenario.jacobian(x)).reshape(m, n)
    if op == "pushforward":
        return tuple((J @ np.ravel(v)).reshape(y.shape) for v in seeds)
    if op == "pullback":
        return tuple((np.ravel(w) @ J).reshape(x.shape) for w in seeds)
    if op in ("derivative", "gradient", "jacobian"):
        return J.reshape({"derivative": y.shape, "gradient": x.shape, "jacobian": y.shape + x.shape}[op])
    H = None if scenario.hessian is None else np.asarray(scenario.hessian(x)).reshape(n, n)
    if op == "hvp":
        return tuple((H @ np.ravel(v)).reshape(x.shape) for v in seeds)
    if op == "hessian":
        return H.reshape(x.shape + x.shape)
    if op == "second_derivative":
        return np.asarray(scenario.second_derivative(x)).reshape(y.shape)
    raise ValueError(op)


@dataclass
class _Call:
    """Everything one variant needs: f, arguments, snapshots of the inputs."""

    f: object
    backend: Backend
    x: object
    seeds: tuple | None
    contexts: tuple
    library: str

    def args(self, scenario, point=None):
        point = self.x if point is None else point
        lead = ()
        if scenario.inplace:
            lead = (from_numpy(np.zeros(scenario.y_shape, dtype=_y_dtype(scenario)), self.library),)
        tail = (self.seeds,) if self.seeds is not None else ()
        return lead + (self.backend, *_actives(scenario, point)) + tail + self.contexts

    def prep_args(self, scenario, point):
        lead = (np.zeros(scenario.y_shape, dtype=_y_dtype(scenario)),) if scenario.inplace else ()
        return lead + (self.backend, *_actives(scenario, point)) + self.contexts

    def snapshot(self):
        def copies(tree):
            return [np.array(to_numpy(leaf), copy=True) for leaf in leaves(tree)]

        consts = tuple(a for c in self.contexts if isinstance(c, Constant) for a in copies(c.value))
        return copies(self.x), copies(self.seeds or ()), consts


def _actives(scenario, point):
    return tuple(point) if scenario.multiarg else (point,)


def _make_call(backend, scenario, op, variant):
    library = _library(backend) if variant == "native" else "numpy"
    seeds = seeds_for(scenario, op) if op in _SEEDED else None
    if scenario.structured:
        seeds = None if seeds is None else copy_leaves(seeds, library)
        x = copy_leaves(scenario.x, library)
    else:
        if library != "numpy":
            seeds = None if seeds is None else tuple(from_numpy(s, library) for s in seeds)
        x = from_numpy(np.array(scenario.x, copy=True), library)
    return _Call(scenario.make(_namespace(backend)), backend, x, seeds, scenario.contexts(), library)


def run_operator(backend, scenario: Scenario, op: str, variant: str = "plain"):
    """Run ``op`` with ``backend`` on ``scenario`` in the given call variant.

    Returns ``(results, value, info)``: the raw results (two for ``prepared_twice``, in the
    backend's output types), the value when the variant returns one (else None), and a dict
    with the call's inputs before and after, and the compilations of a second prepared call.
    """
    backend = resolve_backend(backend)
    call = _make_call(backend, scenario, op, variant)
    operator, info = getattr(ops, op), {"before": call.snapshot(), "library": call.library}
    value = None
    if variant in ("plain", "native"):
        results = [operator(call.f, *call.args(scenario))]
    elif variant == "value_and":
        out = _VALUE_AND[op](call.f, *call.args(scenario))
        value, results = out[0], [out[-1]]
    elif variant == "prepared_twice":
        other = tree_map(lambda v: v + np.asarray(0.25, np.asarray(v).dtype), scenario.x)  # must not bake in x
        prep = getattr(ops, f"prepare_{op}")(call.f, *call.prep_args(scenario, other))
        results = [operator(call.f, *call.args(scenario), prep=prep)]
        with CompileCounter() as counter:
            results.append(operator(call.f, *call.args(scenario), prep=prep))
        info["second_call_compiles"] = counter.count
    elif variant == "out":
        buf = _out_buffer(backend, scenario, op, call)
        returned = operator(call.f, *call.args(scenario), out=buf)
        same = all(r is b for r, b in zip(returned, buf)) if isinstance(buf, tuple) else returned is buf
        info["out_returned"] = same
        results = [buf]
    else:
        raise ValueError(f"unknown variant {variant!r}; use one of {VARIANTS}")
    info["after"] = call.snapshot()
    return results, value, info


def _out_buffer(backend, scenario, op, call):
    """NaN-filled ``out=`` buffers; for sparse results, a copy of an earlier result (same pattern)."""
    if getattr(backend, "sparse_results", False) and op in ("jacobian", "hessian"):
        first = getattr(ops, op)(call.f, *call.args(scenario))
        if sp.issparse(first):
            buf = first.copy()
            buf.data = np.full(buf.data.shape, np.nan, dtype=buf.data.dtype)
            return buf
    ref = expected_result(scenario, op, seeds_for(scenario, op) if op in _SEEDED else None)
    dtype = scenario.dtype if not scenario.complex else np.complex128
    if scenario.structured:
        return tree_map(lambda r: np.full(np.shape(r), np.nan, dtype=dtype), ref)
    if isinstance(ref, tuple):
        return tuple(np.full(r.shape, np.nan, dtype=dtype) for r in ref)
    return np.full(np.shape(ref), np.nan, dtype=dtype)


def _y_dtype(scenario):
    return np.asarray(scenario.y).dtype


def _dense(r):
    if isinstance(r, tuple):
        return tuple(_dense(a) for a in r)
    if sp.issparse(r):
        return r.toarray()
    return np.asarray(to_numpy(r))


def tolerances(backend, op: str, dtype=np.float64):
    """``(rtol, atol)``: tight for AD, looser for finite differences, second order and float32.

    Examples
    --------
    >>> import anydiff as ad
    >>> from anydiff.testing import tolerances
    >>> tolerances(ad.AutoJax(), "gradient")
    (1e-08, 1e-10)
    """
    backend = resolve_backend(backend)
    single = np.dtype(dtype) in (np.float32, np.complex64)
    if all(getattr(m, "exact", True) for m in _members(backend)):
        return (1e-5, 1e-6) if single else (1e-8, 1e-10)
    second = op in ("hvp", "hessian", "second_derivative")
    if single:
        return (5e-2, 5e-2) if second else (1e-2, 1e-3)
    return (1e-3, 1e-4) if second else (1e-5, 1e-6)


@dataclass
class CheckResult:
    """Outcome of one backend × scenario × operator × variant (``skipped`` holds the reason)."""

    backend: str
    scenario: str
    operator: str
    variant: str
    ok: bool
    max_error: float
    message: str = ""
    skipped: str | None = None

    @property
    def status(self) -> str:
        return "skip" if self.skipped else ("pass" if self.ok else "fail")


def check_operator(backend, scenario: Scenario, op: str, variant: str = "plain", *, rtol=None, atol=None,
                   catch: bool = False) -> CheckResult:
    """Run one combination and check it; a wrong result gives ``ok=False``, never an exception.

    Parameters
    ----------
    backend : Backend or str
    scenario : Scenario
    op : str
        Operator name (``"gradient"``, ``"jacobian"``, ...).
    variant : str
        One of :data:`VARIANTS`.
    rtol, atol : float, optional
        Override :func:`tolerances`.
    catch : bool
        Report an exception raised by the backend as a failure instead of raising it.

    Examples
    --------
    >>> import anydiff as ad
    >>> from anydiff.testing import check_operator, default_scenarios
    >>> check_operator(ad.AutoFiniteDiff(), default_scenarios()[0], "derivative").status
    'pass'
    """
    backend = resolve_backend(backend)
    label = (backend_label(backend), scenario.name, op, variant)
    gap = declared_gap(backend, scenario, op, variant)
    if gap:
        return CheckResult(*label, True, 0.0, skipped=gap)
    try:
        results, value, info = run_operator(backend, scenario, op, variant)
    except UnsupportedOperationError as err:
        if not catch:
            raise
        return CheckResult(*label, False, np.inf, f"raised {type(err).__name__}: {str(err).splitlines()[0]}")
    except Exception as err:  # noqa: BLE001 - reported as a failure when asked to
        if not catch:
            raise
        text = f"{type(err).__name__}: {err}".splitlines()[0]
        return CheckResult(*label, False, np.inf, f"raised {text}")
    problems = _input_problems(info) + _kind_problems(scenario, op, results, info)
    worst, wrong = _compare(backend, scenario, op, results, value, rtol, atol)
    problems += wrong
    return CheckResult(*label, not problems, worst, "; ".join(problems))


def _input_problems(info):
    (x0, s0, c0), (x1, s1, c1) = info["before"], info["after"]
    out = []

    def same(before, after):
        return all(np.array_equal(a, b, equal_nan=True) for a, b in zip(before, after))

    if not same(x0, x1):
        out.append("modified its input x")
    if not same(s0, s1):
        out.append("modified the seeds")
    if not same(c0, c1):
        out.append("modified a Constant context")
    if info.get("second_call_compiles"):
        out.append(f"recompiled on the second prepared call ({info['second_call_compiles']} compilations)")
    if info.get("out_returned") is False:
        out.append("did not return the out= buffer")
    return out


def _kind_problems(scenario, op, results, info):
    """dtype kept, array type follows the input, nonzeros of sparse results."""
    out, want = [], np.dtype(scenario.dtype)
    for r in leaves(results):
        if sp.issparse(r):
            dtype = r.dtype
            if scenario.pattern is not None and op in ("jacobian", "hessian") and r.nnz != scenario.pattern().nnz:
                out.append(f"sparse result has {r.nnz} stored entries, the true pattern {scenario.pattern().nnz}")
        else:
            lib = library_of(r)
            if lib != info["library"]:
                out.append(f"returned a {lib} array ({type(r).__name__}) for a {info['library']} input")
            dtype = np.asarray(to_numpy(r)).dtype
        if not scenario.complex and np.dtype(dtype) != want:
            out.append(f"returned {np.dtype(dtype)} for a {want} input")
        elif scenario.complex and np.dtype(dtype).kind != "c":
            out.append(f"returned {np.dtype(dtype)} for a complex input")
    return list(dict.fromkeys(out))


def _compare(backend, scenario, op, results, value, rtol, atol, what="second prepared call"):
    seeds = seeds_for(scenario, op) if op in _SEEDED else None
    ref = expected_result(scenario, op, seeds)
    rt, at = tolerances(backend, op, scenario.dtype)
    rtol, atol = (rt if rtol is None else rtol), (at if atol is None else atol)
    worst, problems = 0.0, []
    for k, r in enumerate(results):
        which = f" ({what} {k + 1})" if k and what != "second prepared call" else (f" ({what})" if k else "")
        if scenario.structured:
            want = flat_expected(scenario, op) if sp.issparse(r) else ref  # AutoSparse: the flat matrix
            err, wrong = compare_trees(r, want, rtol, atol, _dense)
            worst = max(worst, err)
            problems += [f"wrong result{which}: {w}" for w in wrong]
            continue
        r = _dense(r)
        got, exp = (r, ref) if isinstance(ref, tuple) else ((r,), (ref,))
        if len(got) != len(exp):
            return np.inf, [f"returned {len(got)} results, expected {len(exp)}{which}"]
        for a, b in zip(got, exp):
            if np.shape(a) != np.shape(b):
                return np.inf, [f"shape {np.shape(a)} != expected {np.shape(b)}{which}"]
            err, problem = array_error(a, b, rtol, atol)
            worst = max(worst, err)
            if problem:
                problems.append(f"wrong result{which}: {problem}")
    if value is not None:
        # gradient_and_hvp returns the gradient first; the other value_and_* return f(x)
        ref_value = expected_result(scenario, "gradient") if op == "hvp" else scenario.y
        vtol = tolerances(backend, "gradient", scenario.dtype)
        if scenario.structured:
            _, wrong = compare_trees(value, ref_value, *vtol, _dense)
            return worst, list(dict.fromkeys(problems + [f"wrong value: {w}" for w in wrong]))
        ref_value = np.asarray(ref_value)
        got = _dense(value)
        if np.shape(got) != np.shape(ref_value) or not np.allclose(got, ref_value, rtol=vtol[0], atol=vtol[1]):
            problems.append(f"wrong value {np.ravel(got)[:4]} (expected {np.ravel(ref_value)[:4]})")
    return worst, list(dict.fromkeys(problems))
