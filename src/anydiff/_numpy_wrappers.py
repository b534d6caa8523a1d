"""The wrappers :func:`anydiff._numpy_scope.numpy_scope` installs (``numpy``, ``math``, ...).

Each entry maps an attribute name to a factory ``make(original) -> wrapper``. A wrapper first
asks :func:`~anydiff._numpy_scope._engine_for_caller` whether this thread is inside an engine
evaluation and the caller is user code; if not, it calls the original with the same arguments.
Inside, it returns an engine object only when one is needed (see the module docstring of
``_numpy_scope``); ``math`` wrappers call the NumPy ufunc of the same function on engine
objects, after running the original on the plain value so that domain errors
(``math.sqrt(-1.0)``) are raised exactly as without anydiff.
"""

from __future__ import annotations

import functools

import numpy as np

from . import _numpy_scope as scope

__all__ = ["NUMPY", "MATH", "python_level"]

#: NumPy's own functions, captured at import (before any wrapper is installed).
_NP = {name: getattr(np, name) for name in (
    "zeros", "empty", "ones", "full", "zeros_like", "empty_like", "ones_like", "full_like",
    "array", "asarray", "asanyarray", "stack", "copy", "reshape", "result_type")}


def _wraps(original):
    def decorate(wrapper):
        wrapper = functools.wraps(original)(wrapper)
        wrapper.__wrapped__ = original
        return wrapper

    return decorate


# --------------------------------------------------------------------- helpers
def _is_engine(a, state):
    return isinstance(a, state.types)


def _contains(obj, state):
    """Whether ``obj`` is an engine object or a (nested) list/tuple holding one."""
    if isinstance(obj, state.types):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_contains(e, state) for e in obj)
    return False


def _floating(dtype) -> bool:
    return np.dtype(dtype).kind in "fc"


def _constant(state, arr):
    """The engine's constant holding the plain array ``arr`` (no derivative)."""
    if state.lift is not None:
        return state.lift(arr)
    buf = _NP["zeros_like"](state.template, shape=arr.shape, dtype=arr.dtype)
    if np.any(arr):
        buf[...] = arr
    return buf


def _build(obj, state):
    """An engine array from a nested list/tuple of engine objects and plain values."""
    if isinstance(obj, state.types):
        return obj
    if isinstance(obj, (list, tuple)) and _contains(obj, state):
        return _NP["stack"]([_build(e, state) for e in obj])
    return _NP["asarray"](obj)


def _finish(out, dtype, ndmin=0):
    if dtype is not None and np.dtype(dtype) != out.dtype:
        out = out.astype(dtype)
    if ndmin > out.ndim:
        out = _NP["reshape"](out, (1,) * (ndmin - out.ndim) + tuple(out.shape))
    return out


# ------------------------------------------------------------ NumPy wrappers
def _alloc(original):
    """``np.zeros/empty/ones(shape, dtype=None, ...)``."""

    @_wraps(original)
    def wrapper(shape, dtype=None, *args, **kwargs):
        state = scope._engine_for_caller()
        out = original(shape, dtype, *args, **kwargs) if args or kwargs else original(shape, dtype)
        if state is None or not _floating(out.dtype):
            return out
        return _constant(state, out)

    return wrapper


def _full(original):
    @_wraps(original)
    def wrapper(shape, fill_value, dtype=None, *args, **kwargs):
        state = scope._engine_for_caller()
        if state is None or not _is_engine(fill_value, state):
            if args or kwargs:
                out = original(shape, fill_value, dtype, *args, **kwargs)
            else:
                out = original(shape, fill_value, dtype)
            return out if state is None or not _floating(out.dtype) else _constant(state, out)
        dtype = _NP["result_type"](fill_value.dtype, 0.0) if dtype is None else dtype
        buf = _constant(state, _NP["zeros"](shape, dtype))
        buf[...] = fill_value
        return buf

    return wrapper


def _like(original, full=False):
    """``np.zeros_like(a, ...)`` & co of a *plain* ``a`` (engine ``a`` dispatches by itself)."""

    @_wraps(original)
    def wrapper(a, *args, **kwargs):
        state = scope._engine_for_caller()
        if state is None or _is_engine(a, state):
            return original(a, *args, **kwargs) if args or kwargs else original(a)
        if full and _is_engine(args[0] if args else kwargs.get("fill_value"), state):
            fill = args[0] if args else kwargs.pop("fill_value")
            buf = _constant(state, _NP["zeros_like"](a, *args[1:], **kwargs))
            buf[...] = fill
            return buf
        out = original(a, *args, **kwargs) if args or kwargs else original(a)
        return out if not _floating(out.dtype) else _constant(state, out)

    return wrapper


def _array(original, copy_default):
    """``np.array``/``np.asarray``/``np.asanyarray``: engine arrays when an element needs one."""

    @_wraps(original)
    def wrapper(obj, *args, **kwargs):
        state = scope._engine_for_caller()
        if state is None or not _contains(obj, state):
            return original(obj, *args, **kwargs) if args or kwargs else original(obj)
        dtype = args[0] if args else kwargs.get("dtype")
        out = _build(obj, state)
        if out is obj and kwargs.get("copy", copy_default) in (True, np._CopyMode.ALWAYS):
            out = _NP["copy"](out)
        return _finish(out, dtype, kwargs.get("ndmin", 0))

    return wrapper


def _joining(original):
    """``np.stack``/``concatenate``/``hstack``/...: nested lists of engine objects become arrays."""

    @_wraps(original)
    def wrapper(arrays, *args, **kwargs):
        state = scope._engine_for_caller()
        if state is not None and isinstance(arrays, (list, tuple)) and _contains(arrays, state):
            arrays = [_build(a, state) if isinstance(a, (list, tuple)) else a for a in arrays]
        return original(arrays, *args, **kwargs) if args or kwargs else original(arrays)

    return wrapper


NUMPY = {
    "zeros": _alloc, "empty": _alloc, "ones": _alloc, "full": _full,
    "zeros_like": _like, "empty_like": _like, "ones_like": _like,
    "full_like": functools.partial(_like, full=True),
    "array": functools.partial(_array, copy_default=True),
    "asarray": functools.partial(_array, copy_default=False),
    "asanyarray": functools.partial(_array, copy_default=False),
    **dict.fromkeys(("stack", "concatenate", "hstack", "vstack", "column_stack", "dstack"), _joining),
}


# ------------------------------------------------------------- math wrappers
def _values(args, state):
    """Plain values of the arguments, or ``None`` when an engine object has none (global tracer)."""
    out = []
    for a in args:
        while isinstance(a, state.types):
            a = getattr(a, "value", None)
            if a is None:
                return None
        out.append(a)
    return out


def _elementwise(ufunc):
    """``math.f(v, ...)`` -> ``ufunc(v, ...)`` when an argument carries derivatives."""

    def make(original):
        @_wraps(original)
        def wrapper(*args):
            state = scope.active_engine()
            if state is None or not any(isinstance(a, state.types) for a in args):
                return original(*args)
            values = _values(args, state)
            if values is not None:
                original(*values)  # the same TypeError/ValueError/OverflowError as without anydiff
            return _resolve(ufunc)(*args)

        return wrapper

    return make


def _resolve(ufunc):
    if isinstance(ufunc, str):  # scipy.special, imported when first used
        import scipy.special

        return getattr(scipy.special, ufunc)
    return ufunc


def _value_only(original):
    """``math.floor``, ``isnan``, ...: piecewise constant, computed on the value."""

    @_wraps(original)
    def wrapper(*args, **kwargs):
        state = scope.active_engine()
        if state is None or not any(isinstance(a, state.types) for a in args):
            return original(*args, **kwargs)
        values = _values(args, state)
        if values is None:
            raise scope.missing_value(f"math.{original.__name__}()")
        return original(*(np.asarray(v).item() for v in values), **kwargs)

    return wrapper


def _log(original):
    @_wraps(original)
    def wrapper(x, *base):
        state = scope.active_engine()
        if state is None or not any(isinstance(a, state.types) for a in (x, *base)):
            return original(x, *base)
        values = _values((x, *base), state)
        if values is not None:
            original(*values)
        return np.log(x) / np.log(base[0]) if base else np.log(x)

    return wrapper


def _reduction(kind):
    def make(original):
        @_wraps(original)
        def wrapper(*args, **kwargs):
            state = scope.active_engine()
            if state is None:
                return original(*args, **kwargs)
            items = args if kind == "hypot" else [list(a) for a in args]  # iterables, read once
            if not _contains(list(items), state):
                return original(*items, **kwargs)
            return _REDUCE[kind](*items, **kwargs)

        return wrapper

    return make


def _prod(iterable, *, start=1):
    return functools.reduce(lambda a, b: a * b, iterable, start)


def _hypot(*coords):
    return np.sqrt(sum((c * c for c in coords), 0.0))


def _dist(p, q):
    return np.sqrt(sum(((a - b) * (a - b) for a, b in zip(p, q, strict=True)), 0.0))


_REDUCE = {"fsum": lambda it: sum(it, 0.0), "prod": _prod, "hypot": _hypot, "dist": _dist}

_UFUNCS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
    "atan": np.arctan, "atan2": np.arctan2, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "exp": np.exp,
    "expm1": np.expm1, "exp2": np.exp2, "log1p": np.log1p, "log2": np.log2, "log10": np.log10,
    "sqrt": np.sqrt, "cbrt": np.cbrt, "pow": np.power, "fabs": np.fabs, "degrees": np.degrees,
    "radians": np.radians, "copysign": np.copysign, "fmod": np.fmod,
    "erf": "erf", "erfc": "erfc", "gamma": "gamma", "lgamma": "gammaln",
}

MATH = {
    **{name: _elementwise(ufunc) for name, ufunc in _UFUNCS.items()},
    "log": _log,
    **dict.fromkeys(("floor", "ceil", "trunc", "isnan", "isinf", "isfinite", "isclose"), _value_only),
    **{name: _reduction(name) for name in ("fsum", "prod", "hypot", "dist")},
}


# ---------------------------------------------- Python-level SciPy functions
def python_level(implementation):
    """A SciPy function written in Python that cannot run on engine objects (``logsumexp``
    checks writeability through the array API), replaced while an engine runs by its composite
    from the function table (:data:`anydiff.rules.PYTHON_LEVEL`), written in NumPy terms."""

    def make(original):
        @_wraps(original)
        def wrapper(*args, **kwargs):
            state = scope.active_engine()
            if state is None or not _contains(list(args) + list(kwargs.values()), state):
                return original(*args, **kwargs)
            return implementation(*args, **kwargs)

        return wrapper

    return make
