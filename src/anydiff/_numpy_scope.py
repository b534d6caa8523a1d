"""Scoped interception of the idioms real NumPy code uses, for anydiff's NumPy engines.

Unmodified NumPy code allocates buffers with ``np.zeros(n)``, builds arrays with
``np.array([a, b, a * b])``, converts inputs with ``np.asarray(x)`` and calls ``math.sin`` on
elements in Python loops. None of these dispatch through ``__array_function__``, so an engine
object (a forward ``Dual``, a sparsity tracer, a reverse-mode node) reaching them is converted
to a plain number and its derivatives are lost. :func:`numpy_scope` makes them work for the
duration of one engine evaluation of ``f``:

* **installed for the call only.** Entering the first scope (under a lock, with a reference
  count across threads) replaces a fixed list of attributes of the ``numpy`` and ``math``
  modules by wrappers; leaving the last scope puts the originals back, also when ``f`` raises.
* **active for this thread only.** A wrapper delegates to the original at once unless the
  calling thread (a :mod:`contextvars` variable, so threads and asyncio tasks are separate) is
  inside an engine evaluation *and* the direct caller is not anydiff's or NumPy's own code.
  Other threads calling ``np.zeros`` meanwhile get a plain ndarray.
* **engine objects only when needed.** ``np.zeros/empty/ones/full(...)`` (and ``*_like`` of a
  plain array) with a floating dtype return the engine's constant (a dual with zero tangents, a
  tracer with empty index sets), exactly what ``np.zeros_like(x, shape=...)`` gives, so values
  carrying derivatives can be written into them; integer/boolean buffers stay plain (writing
  a derivative into one raises). ``np.array``/``np.asarray``/``np.stack`` build engine arrays
  only when an element carries derivatives; ``math.f(v)`` calls ``np.f(v)`` only when ``v``
  does. Everything else goes to the original function.

Conversions that remain impossible (``float(x[0])``, compiled extensions, a function bound
before the call such as ``from math import sin``) still raise the engine's error; on the way
out the scope adds the engine, the function being differentiated and the line of user code
that converted, and the error's hint names ``ad.differentiate_with`` and ``ad.custom_rule``.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import linecache
import math
import operator
import os
import sys
import threading
import types
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np

from ._errors import MissingPrimalError, MissingRuleError, TracingError

__all__ = ["numpy_scope", "plain_numpy", "active_engine"]

#: Modules whose calls always see plain NumPy (the engines themselves, NumPy's own code).
_INTERNAL = (
    "numpy", "anydiff.dual", "anydiff.sparse", "anydiff.backends", "anydiff.rules",
    "anydiff.reverse", "anydiff.operators", "anydiff._",
)
#: Source directories whose calls always see plain NumPy: anydiff's own code (its engines,
#: ``implicit_function``, ``differentiate_with``, ...) and NumPy's. A doctest is user code.
_INTERNAL_FILES = (os.path.dirname(__file__) + os.sep, os.path.dirname(np.__file__) + os.sep)


class _Engine(NamedTuple):  # a tuple: built on every engine call, so it must be cheap
    template: object  # the engine's input (a Dual, a tracer, ...): new buffers are made like it
    types: tuple  # classes of engine objects
    lift: object  # plain array -> engine constant, or None for zeros_like + assignment
    engine: str  # "AutoNumPy (forward mode)", for error messages
    f: object  # the function being differentiated, for error messages


_STACK: contextvars.ContextVar[tuple] = contextvars.ContextVar("anydiff_numpy_scope", default=())
_LOCK = threading.Lock()


def active_engine():
    """The engine evaluation this thread is in, or ``None`` (outside, or in :func:`plain_numpy`).

    Examples
    --------
    >>> from anydiff._numpy_scope import active_engine
    >>> active_engine() is None
    True
    """
    stack = _STACK.get()
    return stack[-1] if stack else None


def _engine_for_caller():
    """The active engine if the caller of the wrapper (two frames up) is user code."""
    stack = _STACK.get()
    if not stack or stack[-1] is None:
        return None
    return None if sys._getframe(2).f_code.co_filename.startswith(_INTERNAL_FILES) else stack[-1]


class numpy_scope:  # noqa: N801 - a context manager named like the function it replaced
    """Evaluate ``f`` on engine objects with NumPy's and ``math``'s idioms intercepted.

    Parameters
    ----------
    template : object
        The engine's input (a ``Dual``, a sparsity tracer, a reverse-mode node). Buffers
        allocated inside the scope are made like it (``np.zeros_like(template, shape=...)``).
    f : callable, optional
        The function being differentiated (named in error messages).
    engine : str
        The engine's name for error messages, e.g. ``"AutoNumPy (forward mode)"``.
    lift : callable, optional
        Maps a plain array to the engine's constant; default: ``np.zeros_like(template, ...)``
        then assignment of the values.

    Examples
    --------
    >>> import math, numpy as np
    >>> from anydiff.dual import Dual
    >>> from anydiff._numpy_scope import numpy_scope
    >>> x = Dual(np.array([0.5, 2.0]), np.eye(2))
    >>> with numpy_scope(x, engine="example"):
    ...     y = np.zeros(2)
    ...     y[0] = math.sin(x[0]) * x[1]
    ...     z = np.array([y[0], 1.0])
    >>> z.tangent
    array([[1.75516512, 0.        ],
           [0.47942554, 0.        ]])
    >>> np.zeros(2)  # outside the scope: plain NumPy again
    array([0., 0.])
    """

    __slots__ = ("patches", "state", "token")

    def __init__(self, template, f=None, engine="anydiff", *, lift=None):
        self.state = _Engine(template, _engine_types(template), lift, engine, f)

    def __enter__(self):
        self.patches = _install(self.state.f)
        self.token = _STACK.set(_STACK.get() + (self.state,))
        return self.state

    def __exit__(self, kind, err, tb):
        try:
            if kind is not None:
                _explain(err, self.state)
        finally:
            _STACK.reset(self.token)
            _uninstall(self.patches)
        return False


def _explain(err, state):
    """A conversion error leaving the scope: name the line that did it (raises a TracingError
    for NumPy's words for "an engine object written into a plain array")."""
    if isinstance(err, (TracingError, MissingPrimalError)):
        _annotate(err, state, err.__traceback__)
    elif isinstance(err, ValueError) and "setting an array element with a sequence" in str(err):
        new = TracingError(
            "f writes a value carrying derivatives into a plain NumPy array that cannot hold it "
            f"({err}).\n" + _HINT
        )
        _annotate(new, state, err.__traceback__)
        raise new from err
    elif isinstance(err, AttributeError) and isinstance(getattr(err, "obj", None), state.types):
        new = MissingRuleError(
            f"{_library_caller(err.__traceback__)} asked a value carrying derivatives for `.{err.name}` "
            f"({err}). Library code written for plain ndarrays (memory layout, C-level attributes) "
            "cannot run on the engine's values, and anydiff has no rule for that function.\n"
            "Hint: wrap the call with ad.differentiate_with(function, ad.AutoFiniteDiff()) (or another "
            "backend), give it a rule once with ad.custom_rule(function, jvp=..., vjp=...), or use a "
            "backend that differentiates it natively (ad.AutoJax(), ad.AutoTorch())."
        )
        _annotate(new, state, err.__traceback__)
        raise new from err


def _library_caller(tb) -> str:
    """``module.function`` of the library function f called that failed (the first library
    frame after the last frame of user code; anydiff's own frames are skipped)."""
    entry = None
    while tb is not None:
        frame = tb.tb_frame
        module = frame.f_globals.get("__name__", "")
        if not _in_library(frame):
            entry = None  # user code: the library call of interest comes after it
        elif entry is None and not module.startswith("anydiff"):
            entry = f"{module}.{frame.f_code.co_name.rpartition('.')[2]}"
        tb = tb.tb_next
    return f"{entry}, called from f," if entry else "Code called from f"


@contextmanager
def plain_numpy():
    """Inside an engine evaluation, run code that must see plain NumPy (a black box).

    Examples
    --------
    >>> import numpy as np
    >>> from anydiff._numpy_scope import plain_numpy
    >>> with plain_numpy():
    ...     type(np.zeros(2)).__name__
    'ndarray'
    """
    token = _STACK.set(_STACK.get() + (None,))
    try:
        yield
    finally:
        _STACK.reset(token)


_TYPES: dict = {}  # (type of the template, of its value, of its tangent) -> _engine_types


def _engine_types(template):
    """Classes of engine objects in ``template`` (a dual's levels), cached for flat templates."""
    value, tangent = getattr(template, "value", None), getattr(template, "tangent", None)
    key = (type(template), type(value), type(tangent))
    found = _TYPES.get(key)
    if found is None:
        found = _collect_types(template)
        if not any(hasattr(p, "value") or hasattr(p, "tangent") for p in (value, tangent)):
            _TYPES[key] = found  # no deeper level: the classes decide
    return found


def _collect_types(template):
    types = {type(template)}
    for part in ("value", "tangent"):  # nested duals: the inner levels too
        inner = getattr(template, part, None)
        engine_like = hasattr(type(inner), "__array_function__")
        if inner is not None and not isinstance(inner, np.ndarray) and engine_like:
            types |= set(_collect_types(inner))
    return tuple(types)


def _describe(engine, f):
    if f is None:
        return engine
    users = _user_functions(f, limit=8)
    f = users[0] if users else getattr(f, "func", f)
    name = getattr(f, "__qualname__", None) or type(f).__name__
    module = getattr(f, "__module__", None)
    return f"{engine} evaluating f = {module + '.' if module else ''}{name}"


# ---------------------------------------------------------------- installation
_PATCHED: dict = {}  # bound in user modules: (id(ns), name) -> [ns, original, wrapper, count]
_OPEN = [0]  # engine evaluations in progress, over all threads
_WRAPPERS: dict = {}  # id(original) and id(wrapper) -> (original, wrapper)
_GROUPS: list = []  # per module namespace (numpy, math, scipy.special, ...): (namespace,
#                     wrappers, originals, getter of the names, wrappers) for one dict.update
_READY: list = []  # [True] once the tables above are complete
_ENGINES = ("anydiff.rules", "anydiff.dual", "anydiff.reverse", "anydiff.sparse.detect")


def _module_patches():
    """The module attributes to replace (``_WRAPPERS``, ``_GROUPS``), built once, before anything
    is installed.

    Called under ``_LOCK``; ``_READY`` is set only when every table is complete, so another
    thread never reads half-built tables (its bound names would then be missed)."""
    if not _READY:
        # The engines' registries are keyed by NumPy's functions: import them now, while NumPy's
        # names are the originals (a module first imported inside a scope would see wrappers).
        for engine in _ENGINES:
            importlib.import_module(engine)
        from . import _numpy_wrappers as w
        from .rules import PYTHON_LEVEL

        tables = [(np, w.NUMPY), (math, w.MATH)]
        for (module, name), implementation in PYTHON_LEVEL.items():  # scipy.special.logsumexp, ...
            tables.append((importlib.import_module(module), {name: w.python_level(implementation)}))
        groups = {}  # one group per module namespace: installed by one dict.update
        for module, table in tables:
            for name, make in table.items():
                original = module.__dict__.get(name)
                if original is not None:
                    wrapper = make(original)
                    _WRAPPERS[id(original)] = _WRAPPERS[id(wrapper)] = (original, wrapper)
                    group = groups.setdefault(id(module.__dict__), (module.__dict__, {}, {}))
                    group[1][name], group[2][name] = wrapper, original
        for ns, wrappers, originals in groups.values():
            names = tuple(wrappers)
            current = operator.itemgetter(*names) if len(names) > 1 else lambda d, n=names[0]: (d[n],)
            _GROUPS.append((ns, wrappers, originals, current, tuple(wrappers.values())))
        _READY.append(True)


def _put_wrappers():
    for namespace, wrappers, _, _, _ in _GROUPS:
        namespace.update(wrappers)


def _put_originals():
    """Originals back, except where someone rebound a name while the wrappers were in place."""
    for namespace, wrappers, originals, current, values in _GROUPS:
        try:
            untouched = current(namespace) == values  # the common case, compared in C (identity first)
        except Exception:  # a name deleted or rebound to an odd object meanwhile: the slow path
            untouched = False
        if untouched:
            namespace.update(originals)
        else:
            for name, wrapper in wrappers.items():
                if namespace.get(name) is wrapper:
                    namespace[name] = originals[name]


def _acquire(patches):
    for namespace, name, original, wrapper in patches:
        entry = _PATCHED.get((id(namespace), name))
        if entry is None:
            _PATCHED[(id(namespace), name)] = [namespace, original, wrapper, 1]
            namespace[name] = wrapper
        else:
            entry[3] += 1


def _release(patches):
    for namespace, name, _, _ in patches:
        entry = _PATCHED[(id(namespace), name)]
        entry[3] -= 1
        if entry[3] == 0:
            del _PATCHED[(id(namespace), name)]
            if namespace.get(name) is entry[2]:  # untouched since: put the original back
                namespace[name] = entry[1]


def _install(f):
    """Module wrappers on the first open scope (a counter), ``f``'s bound names refcounted."""
    if not _READY:
        with _LOCK:
            _module_patches()
    patches = _global_patches(f)
    with _LOCK:
        if _OPEN[0] == 0:
            _put_wrappers()
        _OPEN[0] += 1
        if patches:
            _acquire(patches)
    return patches


def _uninstall(patches):
    with _LOCK:
        if patches:
            _release(patches)
        _OPEN[0] -= 1
        if _OPEN[0] == 0:
            _put_originals()


def installed() -> bool:
    """Whether any wrapper is in place now (some thread is inside an engine evaluation).

    Examples
    --------
    >>> from anydiff._numpy_scope import installed
    >>> installed()
    False
    """
    return _OPEN[0] > 0 or bool(_PATCHED)


def _user_functions(f, limit=64):
    """User functions reachable from ``f``: through closures, ``functools.partial``, bound
    methods and the global names their code reads (anydiff's and libraries' own code is only
    looked through, not patched)."""
    queue, seen, found = [f], set(), []
    while queue and len(seen) < limit:
        g = queue.pop()
        g = getattr(g, "func", None) or getattr(g, "__func__", None) or g  # partial, bound method
        code = getattr(g, "__code__", None)
        if code is None or id(code) in seen:
            continue
        seen.add(id(code))
        queue.extend(c.cell_contents for c in (g.__closure__ or ()) if _cell_callable(c))
        if (getattr(g, "__module__", None) or "").startswith(_LIBRARIES):
            continue
        found.append(g)
        names = _names(code)
        queue.extend(v for v in map(g.__globals__.get, names) if isinstance(v, types.FunctionType))
    return found


_LIBRARIES = _INTERNAL + ("scipy", "anydiff", "jax", "torch", "autograd")


def _cell_callable(cell):
    try:
        return callable(cell.cell_contents)
    except ValueError:  # empty cell
        return False


@functools.lru_cache(maxsize=4096)
def _names(code):
    """Global names read by ``code`` and the code nested in it (code objects are immutable)."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return frozenset(names)


def _global_patches(f):
    """``from math import sin`` / ``from numpy import zeros`` in the modules of ``f``'s code."""
    if f is None:
        return []
    patches = []
    for g in _user_functions(f):
        namespace = g.__globals__
        for name in _names(g.__code__):
            value = namespace.get(name)
            entry = _WRAPPERS.get(id(value)) if value is not None else None
            # the original, or its wrapper already put there by another thread's call (counted
            # in too, so that the name stays swapped until the last call using it has left)
            found = entry is not None and (entry[0] is value or entry[1] is value)
            patch = (namespace, name, entry[0], entry[1]) if found else None
            if patch is not None and patch not in patches:
                patches.append(patch)
    return patches


# ---------------------------------------------------------------- error messages
_HINT = (
    "Hint: inside an anydiff call, allocate and convert through NumPy's module at call time "
    "(np.zeros, np.array, np.asarray, math.sin); a function bound before the call (from numpy "
    "import zeros) is not intercepted. For code that cannot change, wrap that piece with "
    "ad.differentiate_with(...) or give it a derivative rule once with ad.custom_rule(...)."
)


def _annotate(err, state, tb):
    """Add the engine, ``f`` and the user line that failed to an anydiff error (once)."""
    if getattr(err, "_anydiff_scope_noted", False) or not err.args:
        return
    if not isinstance(err.args[0], str):
        return
    err._anydiff_scope_noted = True
    where = _user_line(tb)
    note = f"In: {_describe(state.engine, state.f)}" + (f", at {where}" if where else "") + "."
    message = err.args[0]
    head, sep, hint = message.partition("\nHint:")
    err.args = (f"{head}\n{note}{sep}{hint}",) + err.args[1:]


def _in_library(frame) -> bool:
    """Whether ``frame`` runs NumPy, SciPy, anydiff, a backend library or ``contextlib`` (not user code)."""
    return frame.f_globals.get("__name__", "").startswith(_LIBRARIES + ("contextlib",))


def _user_line(tb):
    """``file:line in func: `source``` of the innermost frame outside NumPy and anydiff."""
    found = None
    while tb is not None:
        frame = tb.tb_frame
        if not _in_library(frame):
            found = (frame.f_code.co_filename, tb.tb_lineno, frame.f_code.co_name)
        tb = tb.tb_next
    if found is None:
        return None
    filename, lineno, func = found
    source = linecache.getline(filename, lineno).strip()
    return f"{filename}:{lineno} in {func}" + (f": `{source}`" if source else "")


def missing_value(what):
    """The error for a value-dependent operation on an engine object without a value."""
    return MissingPrimalError(
        f"{what} needs the value of an array carrying derivatives, and the global sparsity "
        "detector does not know values.\nHint: use TracerLocalSparsityDetector() for the pattern "
        "at this x."
    )
