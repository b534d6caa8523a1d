"""Shared pieces of the SciPy glue: the problem set-up, backend choice, evaluation, checks, counters.

Everything here runs once, before SciPy starts iterating; the closures it returns are what
SciPy calls at each iteration.
"""

from __future__ import annotations

import contextlib
import sys
import time

import numpy as np

from .._arrays import library_of, to_numpy
from .._contexts import Constant, Context
from .._errors import AnyDiffError, BackendNotInstalledError, InputError, UnsupportedOperationError
from ..backends import resolve_backend
from ._flat import Flattener, flat_output, is_tree

__all__ = ["SPARSE_MIN_SIZE", "Problem", "Stats", "check_finite", "choose_backend", "explaining"]

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


_LOCAL_CACHE: dict = {}


def cached(key, make):
    """``make()``, remembered under ``key`` (hashable: the user's function object, shapes ...).

    Wrappers, jitted evaluators and preparations are reused when the same function is solved
    again (as ``jax.jit`` and anydiff's unprepared calls reuse theirs), so a second
    ``solve_ivp``/``minimize`` call with the same function does not detect, color or compile
    again. They live in anydiff's bounded preparation cache: ``ad.clear_cache()`` empties it.
    """
    from ..operators import _core

    store = getattr(_core, "_CACHE", _LOCAL_CACHE)
    lock = getattr(_core, "CACHE_LOCK", None) or contextlib.nullcontext()
    full = ("anydiff.scipy",) + tuple(key)
    try:
        hash(full)
    except TypeError:  # unhashable piece (e.g. a context value used in a key): no reuse
        return make()
    with lock:
        value = store.get(full)
        if value is not None and hasattr(store, "move_to_end"):
            store.move_to_end(full)
    if value is None:
        value = make()  # outside the lock: preparing may use anydiff's caches itself
        with lock:
            store[full] = value
            if store is not _LOCAL_CACHE and len(store) > getattr(_core, "CACHE_SIZE", 64):
                store.popitem(last=False)
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
    """Raise :class:`InputError` if ``value`` holds NaN or inf."""
    value = np.asarray(to_numpy(value))
    bad = ~np.isfinite(value)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), value.shape) if value.ndim else ()
        raise InputError(
            f"anydiff.scipy.{func}: {arg} is not finite at {where}: {int(bad.sum())} of {value.size} "
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

    def __init__(self, func, arg, f, flattener, contexts, backend, *, scalar, sparse, stats=None, varying=0):
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
        self.backend, self.reason = choose_backend(backend, user_f, self.z0, self.values, func,
                                                   x_library=flattener.library, sparse=sparse)
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


def choose_backend(backend, f, z0, values, func, *, x_library="numpy", sparse=False):
    """``(backend, reason)``: the given backend, or the ``"auto"`` choice and why it was made.

    The ``"auto"`` rule: the array library of the function (torch or JAX starting points, or
    the type ``f`` returns on a NumPy input) gives ``AutoTorch()``, ``AutoJax()`` or
    ``AutoNumPy()``; where SciPy uses a Jacobian or Hessian (``sparse=True``) and there are at
    least ``SPARSE_MIN_SIZE`` unknowns, it is wrapped in ``AutoSparse`` (anydiff detects the
    sparsity of NumPy, JAX and torch code).
    """
    if not (isinstance(backend, str) and backend == "auto"):
        try:
            return resolve_backend(backend), "given"
        except InputError as err:
            raise InputError(f"anydiff.scipy.{func}: backend: {err}") from err
    from .. import AutoJax, AutoNumPy, AutoSparse, AutoTorch

    library = x_library if x_library != "numpy" else _library_of_function(f, z0, values, func)
    base = {"numpy": AutoNumPy(), "jax": AutoJax(), "torch": AutoTorch()}[library]
    reason = f"auto: {library} code"
    if sparse and z0.size >= SPARSE_MIN_SIZE:
        return AutoSparse(base), reason + f", {z0.size} >= {SPARSE_MIN_SIZE} unknowns: sparse"
    return base, reason


def _library_of_function(f, z0, values, func):
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
            f"anydiff.scipy.{func}: backend='auto' could not evaluate the function at x0 "
            f"({type(err).__name__}: {err}).\nHint: {_BACKEND_HINT}"
        ) from err
    leaves = _leaves(y)
    libs = {library_of(v) for v in leaves}
    return "jax" if "jax" in libs else "torch" if "torch" in libs else "numpy"
