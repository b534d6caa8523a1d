"""Shared pieces of the SciPy glue: the problem set-up, backend choice, evaluation, checks, counters.

Everything here runs once, before SciPy starts iterating; the closures it returns are what
SciPy calls at each iteration.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import OrderedDict

import numpy as np

from .._arrays import library_of, to_numpy
from .._contexts import Constant, Context
from .._errors import AnyDiffError, BackendNotInstalledError, InputError, UnsupportedOperationError
from ..backends import resolve_backend
from ..operators._core import cache_get, cache_put, register_cache
from ._flat import Flattener, flat_output, is_tree

__all__ = ["RECOMMEND_MAX_SIZE", "SPARSE_MIN_SIZE", "Problem", "Stats", "check_finite", "choose_backend", "explaining"]

#: ``backend="auto"`` uses sparse derivatives (AutoSparse) from this many unknowns on.
SPARSE_MIN_SIZE = 100

_BACKEND_HINT = (
    "pass the backend that matches the code of the function: ad.AutoNumPy() for plain NumPy code, "
    "ad.AutoJax() for jax.numpy code, ad.AutoTorch() for torch code (wrapped in ad.AutoSparse(...) "
    "for sparse derivatives), ad.AutoFiniteDiff() for anything else, or backend='auto'."
)


class Stats:
    """Calls and seconds spent in each kind of derivative evaluation (and in preparation)."""

    def __init__(self):
        self.calls, self.seconds = {}, {}

    def add(self, name, seconds, calls=1):
        self.calls[name] = self.calls.get(name, 0) + calls
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def timed(self, name, fun):
        """``fun`` counted and timed under ``name``."""
        self.add(name, 0.0, calls=0)
        clock = time.perf_counter

        def counted(*args):
            start = clock()
            try:
                return fun(*args)
            finally:
                self.calls[name] += 1
                self.seconds[name] += clock() - start

        return counted

    @contextlib.contextmanager
    def timing(self, name):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def as_dict(self):
        return {k: {"calls": self.calls[k], "seconds": self.seconds[k]} for k in self.calls}


#: Wrappers, jitted evaluators, preparations and ``"auto"`` choices of earlier solves (bounded,
#: least recently used dropped first; emptied by ``ad.clear_cache()``).
_CACHE: OrderedDict = OrderedDict()
register_cache(_CACHE)


def cached(key, make):
    """``make()``, remembered under ``key`` (hashable: the user's function object, shapes ...).

    Wrappers, jitted evaluators and preparations are reused when the same function is solved
    again (as ``jax.jit`` and anydiff's unprepared calls reuse theirs), so a second
    ``solve_ivp``/``minimize`` call with the same function does not detect, color or compile
    again. ``ad.clear_cache()`` empties this store with anydiff's other preparation caches.
    """
    full = ("anydiff.scipy",) + tuple(key)
    try:
        hash(full)
    except TypeError:  # unhashable piece (e.g. a context value used in a key): no reuse
        return make()
    value = cache_get(_CACHE, full)
    if value is None:
        value = make()  # outside the lock: preparing may use anydiff's caches itself
        if value is not None:
            cache_put(_CACHE, full, value)
    return value


def _same_kind(err, message):
    try:
        return type(err)(message)
    except TypeError:
        return UnsupportedOperationError(message)


@contextlib.contextmanager
def explaining(func, arg, backend, action="differentiate"):
    """Turn an error raised while preparing ``arg`` into one that names the argument and backend."""
    try:
        yield
    except BackendNotInstalledError:
        raise
    except AnyDiffError as err:
        if str(err).startswith("anydiff.scipy."):
            raise
        raise _same_kind(err, f"anydiff.scipy.{func}: `{arg}` with backend {backend!r}: {err}") from err
    except Exception as err:
        raise UnsupportedOperationError(
            f"anydiff.scipy.{func}: backend {backend!r} cannot {action} `{arg}` "
            f"({type(err).__name__}: {err}).\nHint: {_BACKEND_HINT}"
        ) from err


def check_finite(func, arg, value, where):
    """Raise :class:`InputError` if ``value`` holds NaN or inf (for ``scipy.sparse``: its
    stored entries, checked without densifying)."""
    if hasattr(value, "tocoo"):
        if np.isfinite(value.data).all():
            return
        coo = value.tocoo()
        bad = ~np.isfinite(coo.data)
        k = int(np.argmax(bad))
        first, what = (coo.row[k], coo.col[k]), f"{coo.data.size} stored"
    else:
        value = np.asarray(to_numpy(value))
        bad = ~np.isfinite(value)
        if not bad.any():
            return
        first = np.unravel_index(int(np.argmax(bad)), value.shape) if value.ndim else ()
        what = f"{value.size}"
    raise InputError(
        f"anydiff.scipy.{func}: {arg} is not finite at {where}: {int(bad.sum())} of {what} "
        f"entries are NaN or inf (the first at index {tuple(int(i) for i in first)}).\n"
        "Hint: start from a point where the function and its derivatives are defined (inside the "
        "domain of log, sqrt, divisions ...), or add bounds that keep the solver inside it."
    )


def check_size(func, arg, got, expected, hint):
    if got != expected:
        raise InputError(f"anydiff.scipy.{func}: {arg} has {got} entries, expected {expected}.\nHint: {hint}")


def as_contexts(args, func):
    """SciPy's ``args`` as anydiff contexts (values not already wrapped become ``ad.Constant``)."""
    if not isinstance(args, tuple):
        raise InputError(f"anydiff.scipy.{func}: args must be a tuple, got {type(args).__name__}.\n"
                         "Hint: write args=(a,) for a single extra argument.")
    return tuple(a if isinstance(a, Context) else Constant(a) for a in args)


class Problem:
    """One function of the unknowns, ready for SciPy: flattening, backend, plain evaluation.

    ``flat_f(z, *contexts)`` takes the flat vector and returns a scalar (``scalar=True``) or a
    flat vector. ``value(z)`` evaluates it on NumPy floats with the backend's array library
    (jitted under JAX) and returns float64 NumPy values.
    """

    def __init__(self, func, arg, f, flattener, contexts, backend, *, scalar, sparse, stats=None, varying=0,
                 operator=None):
        if not callable(f):
            raise InputError(f"anydiff.scipy.{func}: `{arg}` must be callable, got {type(f).__name__}.\n"
                             "Hint: pass the Python function itself.")
        self.func, self.arg, self.flattener, self.contexts = func, arg, flattener, contexts
        self.z0 = flattener.z0
        self.values = tuple(c.value for c in contexts)
        # the last `varying` contexts change between calls (the time of an ODE): value(z, *those)
        head, self.tail0 = self.values[:len(self.values) - varying], self.values[len(self.values) - varying:]
        self.stats = Stats() if stats is None else stats
        user_f = f if flattener.trivial else cached(("wrap", f, flattener.signature), lambda: flattener.wrap(f))
        with self.stats.timing("choose_backend") if _is_auto(backend) else contextlib.nullcontext():
            self.backend, self.reason, self.recommendation = choose_backend(
                backend, user_f, self.z0, self.contexts, func, x_library=flattener.library, sparse=sparse,
                operator=operator, arg=arg)
        y0 = self._probe(user_f)
        self.flat_f = user_f if scalar or not is_tree(y0) else cached(("ravel", user_f), lambda: _flat_outputs(user_f))
        self.value = self.stats.timed(arg, evaluator(self.backend, self.flat_f, head))
        with explaining(func, arg, self.backend, action="evaluate"):
            y0 = self.value(self.z0, *self.tail0)
        if scalar and y0.size != 1:
            raise InputError(
                f"anydiff.scipy.{func}: `{arg}` must return a scalar; at x0 it returned shape {y0.shape}.\n"
                "Hint: return a single number (e.g. np.sum(...)); for vector residuals use "
                "ad.scipy.least_squares."
            )
        self.y0 = y0.reshape(()) if scalar else y0.reshape(-1)
        check_finite(func, f"`{arg}`", self.y0, flattener.what)

    def _probe(self, user_f):
        """Evaluate once with the backend's arrays (also the check that the backend can run it)."""
        with explaining(self.func, self.arg, self.backend, action="evaluate"):
            self.backend.check_available()
            self.backend.check_input(self.z0, "numpy")
            z0 = _to_library(self.z0, self.backend.library)
            ctx = tuple(_to_library(v, self.backend.library) for v in self.values)
            return user_f(z0, *ctx)

    def explain(self, arg=None):
        """Context manager naming this problem's argument in errors of the backend."""
        return explaining(self.func, arg or self.arg, self.backend)

    def prepare(self, op, f=None, *extra_contexts):
        """``op(f, backend, z0, *contexts)`` (an ``ad.prepare_*``), timed, errors explained;
        reused from an earlier call with the same function, backend and shapes."""
        f = self.flat_f if f is None else f
        contexts = self.contexts + tuple(extra_contexts)
        key = ("prep", op, f, self.backend, self.z0.shape, tuple(c.kind for c in contexts),
               tuple(np.shape(c.value) for c in contexts))
        with self.stats.timing("prepare"), explaining(self.func, self.arg, self.backend):
            return cached(key, lambda: op(f, self.backend, self.z0, *contexts))


def make_flattener(x0, what="x0", func="minimize"):
    """A :class:`Flattener` for ``x0`` with ``z0`` (float64 vector) and the input library set."""
    fl = Flattener(x0, what)
    fl.z0 = fl.flatten(x0)
    libs = {library_of(leaf) for leaf in _leaves(x0)}
    fl.library = "jax" if "jax" in libs else "torch" if "torch" in libs else "numpy"
    check_finite(func, what, fl.z0, "the start")
    return fl


def _leaves(tree):
    if isinstance(tree, dict):
        return [v for t in tree.values() for v in _leaves(t)]
    if isinstance(tree, (list, tuple)):
        return [v for t in tree for v in _leaves(t)]
    return [tree]


def _flat_outputs(f):
    def flat_f(z, *contexts):
        return flat_output(f(z, *contexts))

    return flat_f


def _to_library(a, library):
    if not isinstance(a, np.ndarray) or library == "numpy":
        return a
    if library == "jax":
        import jax.numpy as jnp

        return jnp.asarray(a)
    import torch

    return torch.from_numpy(a)


def evaluator(backend, f, values):
    """``(z, *more) -> f(z, *values, *more)`` as a fresh float64 NumPy array, run with the
    backend's array library (jitted under JAX)."""
    if backend.library == "jax":
        import jax

        inner = _innermost(backend)
        jf = cached(("jit", f), lambda: jax.jit(f)) if getattr(inner, "jit", True) else f

        def call_jax(z, *more):
            return np.array(jf(z, *values, *more), dtype=np.float64)

        return call_jax
    if backend.library == "torch":
        import torch

        tvalues = tuple(_to_library(v, "torch") for v in values)

        def call_torch(z, *more):
            with torch.no_grad():
                return np.array(to_numpy(f(torch.from_numpy(z), *tvalues, *more)), dtype=np.float64)

        return call_torch

    def call(z, *more):
        return np.array(f(z, *values, *more), dtype=np.float64)

    return call


def _innermost(backend):
    while True:
        nxt = getattr(backend, "dense_backend", None) or getattr(backend, "inner", None)
        if nxt is None:
            return backend
        backend = nxt


#: ``backend="auto"`` asks ``ad.recommend`` below this many unknowns (NumPy code only).
RECOMMEND_MAX_SIZE = 100
#: time budget of that ``ad.recommend`` call (its whole cost is about 3 times this)
RECOMMEND_BUDGET_S = 0.01


def _is_auto(backend):
    return isinstance(backend, str) and backend == "auto"


def choose_backend(backend, f, z0, contexts, func, *, x_library="numpy", sparse=False, operator=None, arg="fun"):
    """``(backend, reason, recommendation)``: the given backend, or the ``"auto"`` choice, why
    it was made, and the :class:`~anydiff.Recommendation` when ``ad.recommend`` was asked.

    The ``"auto"`` rule. The array library of the function (torch or JAX starting points, or
    the type ``f`` returns on a NumPy input) decides between NumPy, JAX and torch backends.

    * SciPy uses a Jacobian or Hessian (``sparse=True``) of at least ``SPARSE_MIN_SIZE``
      unknowns: ``AutoSparse(AutoNumPy() | AutoJax() | AutoTorch())`` (sparsity detected and
      colored once). The recommender is not asked: its dense candidates would each build the
      dense ``m × n`` matrix, costlier than the whole solve.
    * NumPy code with fewer than ``RECOMMEND_MAX_SIZE`` unknowns and a derivative to compute
      (``operator``): ``ad.recommend(f, x0, operator=..., candidates=[forward, reverse NumPy
      engine], budget_s=RECOMMEND_BUDGET_S)`` times both modes on the function itself
      (about 30 ms) and its fastest agreeing candidate is used.
    * Otherwise (JAX or torch code, large first-order problems): ``AutoJax()``, ``AutoTorch()``
      or ``AutoNumPy()``, whose mode follows the input and output sizes (the recommender's
      decision tree without the timings). For JAX and torch the recommender would compile
      every candidate (0.1-0.5 s each), more than a small solve.

    The choice is remembered per function, shape and operator (``ad.clear_cache()`` forgets it).
    """
    if not _is_auto(backend):
        try:
            return resolve_backend(backend), "given", None
        except InputError as err:
            raise InputError(f"anydiff.scipy.{func}: backend: {err}") from err
    from .. import AutoJax, AutoNumPy, AutoSparse, AutoTorch

    values = tuple(c.value for c in contexts)
    library = x_library if x_library != "numpy" else _library_of_function(f, z0, values, func, arg)
    base = {"numpy": AutoNumPy(), "jax": AutoJax(), "torch": AutoTorch()}[library]
    reason = f"auto: {library} code"
    if sparse and z0.size >= SPARSE_MIN_SIZE:
        return AutoSparse(base), reason + f", {z0.size} >= {SPARSE_MIN_SIZE} unknowns: sparse", None
    if library == "numpy" and operator is not None and z0.size < RECOMMEND_MAX_SIZE:
        key = ("auto", f, z0.shape, operator, tuple(np.shape(v) for v in values))
        report = cached(key, lambda: _recommend(f, z0, contexts, operator))
        if report is not None and report.best is not None:
            row = next(r for r in report.rows if r["verdict"] == "best")
            return report.best, (f"{reason}, {z0.size} < {RECOMMEND_MAX_SIZE} unknowns: ad.recommend(operator="
                                 f"'{operator}') chose {row['label']} ({row['reason']})"), report
        return base, reason + ": ad.recommend found no agreeing candidate, the default NumPy engine", report
    if library == "numpy":
        why = "no derivative used" if operator is None else f"{z0.size} >= {RECOMMEND_MAX_SIZE} unknowns"
    else:
        why = "not timed (each candidate would compile)"
    return base, f"{reason}, {why}: mode by the sizes", None


def _recommend(f, z0, contexts, operator):
    from .. import AutoNumPy
    from .._recommend import recommend

    if operator == "jacobian":  # outputs may be pytrees: the recommender sees the raveled vector
        f = cached(("ravel", f), lambda: _flat_outputs(f))
    candidates = [AutoNumPy(mode="forward"), AutoNumPy(mode="reverse")]
    try:
        return recommend(f, z0, *contexts, operator=operator, candidates=candidates, budget_s=RECOMMEND_BUDGET_S)
    except Exception:  # noqa: BLE001 - f itself fails: the checks that follow report it with a hint
        return None


def _library_of_function(f, z0, values, func, arg="fun"):
    """``"numpy"``, ``"jax"`` or ``"torch"``: what ``f`` computes with, from one call at ``z0``."""
    try:
        y = f(z0, *values)
    except Exception as err:
        for library in ("torch", "jax"):
            if library in sys.modules:
                try:
                    f(_to_library(z0, library), *(_to_library(v, library) for v in values))
                    return library
                except Exception:  # noqa: BLE001, S112 - not this library either
                    continue
        raise UnsupportedOperationError(
            f"anydiff.scipy.{func}: backend='auto' could not evaluate `{arg}` at the start "
            f"({type(err).__name__}: {err}).\nHint: {_BACKEND_HINT}"
        ) from err
    leaves = _leaves(y)
    libs = {library_of(v) for v in leaves}
    return "jax" if "jax" in libs else "torch" if "torch" in libs else "numpy"
