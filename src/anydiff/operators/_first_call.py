"""First unprepared calls: no evaluation of ``f`` spent only on learning its output.

Preparing an operator needs the shape and dtype of ``f(x)``; ``prepare`` evaluates ``f`` once
(or traces it) to learn them. An unprepared call prepares and then runs at the same point, so
where the run itself returns ``f(x)`` the output can be guessed and the guess checked against
that value (:func:`run_first_call`). The output learned by one operator is also remembered for
the others (same function, backend, input signature and context kinds, the key of the
preparation cache), so a later first call of another operator needs no evaluation for it.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .._arrays import as_input
from ._core import (
    _CACHE,
    CACHE_SIZE,
    _cache_key,
    _cached,
    cache_get,
    cache_put,
    native_x,
    parse_args,
    prepare,
    register_cache,
)
from ._prep import check_prep_type

__all__ = ["known_output", "remember_output", "run_first_call", "run_with_value", "scalar_output", "seeds_output"]

#: f's output (shape, dtype) per preparation-cache key without the operator (unprepared calls only).
_OUTPUTS: OrderedDict[tuple, tuple] = OrderedDict()
register_cache(_OUTPUTS)


def _output_key(key):
    return None if key is None or key[-1] is not None else key[1:-1]  # no in-place calls: y gives it


def known_output(key):
    """``(y_shape, y_dtype)`` an earlier unprepared call of another operator learned, or ``None``."""
    okey = _output_key(key)
    return None if okey is None else cache_get(_OUTPUTS, okey)


def remember_output(key, prep) -> None:
    okey = _output_key(key)
    if okey is not None and not prep.spec.inplace:
        cache_put(_OUTPUTS, okey, (prep.spec.y_shape, prep.spec.y_dtype), CACHE_SIZE)


def run_first_call(cls, operator, f, args, prep, build, run, guess, *, inplace_allowed=False):
    """``(prep, y, run(prep, y, x, contexts))``: :func:`resolve_prep`, then the run.

    ``run``'s result starts with ``f``'s value (native). On the first unprepared call (a cache
    miss), ``guess(x) -> (y_shape, y_dtype) or None`` stands in for the evaluation of ``f`` that
    preparing would spend on learning the output: the preparation is built for the guess and run
    at once, and kept only if the value the run returns has exactly the guessed shape and dtype.
    Otherwise (or if the speculative run raises) the call takes the usual path, which evaluates
    ``f`` for its output and raises the usual errors; a wrong guess costs one more run. The
    output another operator learned (:func:`known_output`) is the guess when there is one;
    ``guess=None``: only that.
    """
    if prep is None:
        y, backend, x, contexts = parse_args(args, inplace_allowed, operator)
        key = _cache_key(cls, f, y, backend, x, contexts)
        prep = _cached(key, x, contexts)
        if prep is None and y is None and key is not None:
            known = known_output(key)
            first = _speculate(cls, operator, f, args, build, run, guess if known is None else (lambda x: known),
                               x, contexts, inplace_allowed)
            if first is not None:
                cache_put(_CACHE, key, first[0])
                remember_output(key, first[0])
                return first
        if prep is None:
            prep = prepare(cls, operator, f, args, build, inplace_allowed=inplace_allowed)
            cache_put(_CACHE, key, prep)
            remember_output(key, prep)
    else:
        check_prep_type(prep, cls)
        y, backend, x, contexts = parse_args(args, inplace_allowed, operator)
        prep.check(f, backend, x, contexts, y)
    return prep, y, run(prep, y, x, contexts)


def _speculate(cls, operator, f, args, build, run, guess, x, contexts, inplace_allowed):
    try:
        output = None if guess is None else guess(as_input(x)[0])
        if output is None:
            return None
        prep = prepare(cls, operator, f, args, build, inplace_allowed=inplace_allowed, output=output)
        result = run(prep, None, x, contexts)
    except Exception:  # noqa: BLE001 - the usual path raises the real error (or succeeds)
        return None
    if not _has_output(result[0], prep.spec):
        return None
    return prep, None, result


def _has_output(value, spec) -> bool:
    """Whether ``value`` (f's value from a run) has the shape and dtype ``spec`` guessed."""
    from ..backends._base import _np_dtype

    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is None or dtype is None:
        if not isinstance(value, (float, np.floating)):  # Python ints and bools: integer outputs
            return False
        shape, dtype = (), np.asarray(value).dtype
    try:
        return tuple(shape) == spec.y_shape and _np_dtype(dtype) == _np_dtype(spec.y_dtype)
    except TypeError:
        return False


def scalar_output(x):
    """The guess of scalar-valued operators: ``f(x)`` is a 0-d array of ``x``'s (real) dtype."""
    return ((), x.dtype) if _is_real_floating(x.dtype) else None


def seeds_output(seeds):
    """The guess of pullbacks: ``f(x)`` is shaped like the cotangents, of ``x``'s (real) dtype."""
    first = seeds[0] if isinstance(seeds, (tuple, list)) and seeds else seeds
    shape = getattr(first, "shape", None)
    return lambda x: None if shape is None or scalar_output(x) is None else (tuple(shape), x.dtype)


def run_with_value(prep, y, x, contexts):
    """``(f(x), result)`` from the preparation's closure (a ``run`` of :func:`run_first_call`)."""
    return prep.run(native_x(prep, x), prep.native_contexts(contexts))


def _is_real_floating(dtype) -> bool:
    if hasattr(dtype, "is_floating_point"):
        return dtype.is_floating_point
    try:
        return np.dtype(dtype).kind == "f"
    except TypeError:
        return False
