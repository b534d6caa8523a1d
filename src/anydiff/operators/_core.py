"""Shared machinery of the operators: argument parsing, preparation, conversions, ``out=``."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

import numpy as np

from .._arrays import as_input, from_numpy, library_of, numpy_dtype, to_numpy
from .._contexts import Context
from .._errors import InputError, OutputError, PreparationMismatchError, UnsupportedOperationError
from .._trees import is_tree_argument
from ..backends import Backend, FunctionSpec, resolve_backend
from ..backends._base import Built
from ._derive import check_complex, check_spec
from ._signature import context_signature
from ._prep import check_prep_type, split_contexts

__all__ = ["parse_args", "prepare", "resolve_prep", "to_user", "write_out", "stack_seeds"]


def parse_args(args, inplace_allowed: bool, operator: str):
    """Split ``(y?, backend, x, *contexts)`` into ``(y, backend, x, contexts)``."""
    if len(args) >= 2 and isinstance(args[0], (Backend, str)):
        return None, args[0], args[1], args[2:]
    if len(args) >= 3 and isinstance(args[1], (Backend, str)):
        if not inplace_allowed:
            raise InputError(
                f"ad.{operator} does not take in-place functions f(y, x).\n"
                f"Hint: call ad.{operator}(f, backend, x) with f returning its output."
            )
        y = args[0]
        if library_of(y) == "other" or not hasattr(y, "shape"):
            raise InputError(
                f"The output buffer y must be an array, got {type(y).__name__}.\n"
                "Hint: for an in-place f(y, x) pass a preallocated array: ad.jacobian(f, y, backend, x)."
            )
        if is_tree_argument(args[2]) or not all(isinstance(c, Context) for c in args[3:]):
            raise PreparationMismatchError(  # structured calls are routed before; here: a flat preparation
                f"This preparation of ad.{operator} is for one array x, but the call has pytrees or several "
                f"active arguments.\nHint: prepare with the call's arguments: ad.prepare_{operator}(f, y, backend, "
                "x1, x2, ...)."
            )
        return y, args[1], args[2], args[3:]
    raise InputError(
        f"ad.{operator} expects (f, backend, x, *contexts) or (f, y, backend, x, *contexts).\n"
        "Hint: pass the backend before x, e.g. ad.gradient(f, ad.AutoJax(), x)."
    )


def _back_converter(native: str, user: str):
    """Function converting results from the backend's native library to the user's."""
    if user == "numpy":
        if native == "torch":
            return lambda a: _scalar(a.detach().resolve_conj().numpy())
        return _np_result
    if native == user:
        return _identity
    if native == "numpy":
        return lambda a: from_numpy(np.asarray(a), user)
    raise InputError(f"Internal error: cannot convert {native} results to {user}")  # pragma: no cover


def _keep_sparse(convert):
    import scipy.sparse as sp

    def back(a):
        if sp.issparse(a) or type(a).__module__.startswith("jax.experimental.sparse") or getattr(a, "is_sparse_csr", False):
            return a
        return convert(a)

    return back


def _identity(a):
    return a


def _np_result(a):
    return _scalar(np.asarray(a))


def _scalar(a):
    return a[()] if a.ndim == 0 else a


def prepare(cls, operator, f, args, build, *, inplace_allowed=False, same_point=False, output=None):
    """Run the one-time work of ``operator`` and return a ``cls`` preparation.

    ``build(backend, f, spec) -> closure`` builds the native closure. ``output``: a guessed
    ``(y_shape, y_dtype)`` used instead of evaluating ``f`` (:func:`run_first_call`, which
    checks the guess against the value the first run returns).
    """
    y, backend, x, contexts = parse_args(args, inplace_allowed, operator)
    if not callable(f):
        raise InputError(
            f"f must be callable, got {type(f).__name__}.\n"
            "Hint: the first argument is the function: ad.gradient(f, backend, x)."
        )
    backend = resolve_backend(backend)
    backend.check_available()
    x_user = x
    x, library = as_input(x)
    backend.check_input(x, library)
    backend.check_contexts([c.value for c in contexts])
    kinds = split_contexts(contexts)
    ctx_native = tuple(_context_converter(backend, c.value) for c in contexts)
    spec = FunctionSpec(tuple(x.shape), x.dtype, (), None, y is not None, kinds, library)
    check_spec(backend, spec)
    xn = backend.to_native(x)
    ctx = tuple(c.value if conv is None else conv(c.value) for c, conv in zip(contexts, ctx_native))
    if y is not None:
        spec = spec.with_output(tuple(y.shape), y.dtype, inplace=True)
    elif output is not None:
        spec = spec.with_output(*output)
    else:
        spec = backend.output_spec(f, xn, ctx, spec)
    check_complex(backend, spec)  # now with f's output dtype
    if not _is_inexact(spec.y_dtype):
        raise OutputError(
            f"f returned values of dtype {spec.y_dtype}; derivatives of integer or boolean outputs "
            "are not defined.\nHint: return floating-point values (e.g. x.sum() * 1.0)."
        )
    values = tuple(c.value for c in contexts)
    built = build(backend, f, dataclasses.replace(spec, point=xn, contexts=ctx, same_point=same_point))
    if not isinstance(built, Built):  # a primitive's closure
        built = Built(built)
    back = _back_converter(backend.library, library)
    if getattr(backend, "sparse_results", False):  # scipy.sparse results pass through unchanged
        back = _keep_sparse(back)
    return cls(
        f=f, backend=backend, spec=spec, run=built.run, run_only=built.only, single=built.single,
        details=built.details,
        x_type=type(x_user),
        back=back, to_native=backend.to_native,
        ctx_native=ctx_native, point=_snapshot(x) if same_point else None,
        point_contexts=tuple(_snapshot(v) for v in values) if same_point else (),
        context_sig=context_signature(contexts),
    )


def _context_converter(backend, value):
    """Converter of a context value (an array or a tree of arrays) for a torch backend, else None."""
    if backend.library != "torch":
        return None
    if isinstance(value, np.ndarray):
        return backend.to_native
    from .._trees import is_tree, tree_flatten, tree_unflatten

    if is_tree(value) and any(isinstance(v, np.ndarray) for v in tree_flatten(value)[0]):

        def convert(tree):
            leaves, td = tree_flatten(tree)
            return tree_unflatten(td, [backend.to_native(v) if isinstance(v, np.ndarray) else v for v in leaves])

        return convert
    return None


def _snapshot(value):
    """A copy of an array (or the value itself if immutable), to compare later calls against."""
    if library_of(value) == "torch":
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def _is_inexact(dtype) -> bool:
    if hasattr(dtype, "is_floating_point"):
        return dtype.is_floating_point or dtype.is_complex
    try:
        return np.dtype(dtype).kind in "fc"
    except TypeError:
        return True


#: Preparations made for unprepared calls, most recent last (bounded; see ``clear_cache``).
_CACHE: "OrderedDict[tuple, object]" = OrderedDict()
CACHE_SIZE = 64
#: Guards both preparation caches (this one and ``_structured._CACHE``): calls from threads.
CACHE_LOCK = threading.Lock()


#: Other bounded caches of prepared objects that :func:`clear_cache` empties too (registered
#: by the modules that own them, e.g. ``anydiff.scipy``'s wrappers and preparations).
_REGISTERED: list = []


def register_cache(cache) -> None:
    """Have :func:`clear_cache` empty ``cache`` (an ``OrderedDict`` used with ``cache_get``/``cache_put``)."""
    if not any(c is cache for c in _REGISTERED):
        _REGISTERED.append(cache)


def cache_get(cache, key):
    """Look ``key`` up in a bounded LRU preparation cache (thread-safe)."""
    if key is None:
        return None
    with CACHE_LOCK:
        prep = cache.get(key)
        if prep is not None:
            cache.move_to_end(key)
        return prep


def cache_put(cache, key, prep, size=CACHE_SIZE):
    if key is None:
        return
    with CACHE_LOCK:
        cache[key] = prep
        if len(cache) > size:
            cache.popitem(last=False)


def clear_cache() -> None:
    """Forget the preparations anydiff keeps for unprepared calls.

    An unprepared call such as ``ad.gradient(f, ad.AutoJax(), x)`` reuses the preparation of an
    earlier call with the same function object, backend, input type/shape/dtype and context
    kinds (like ``jax.jit`` reuses its traces), so a loop of unprepared calls does not
    recompile. Call this if ``f`` closes over state that changed in a way a compiled backend
    would not see.

    Examples
    --------
    >>> import anydiff as ad
    >>> ad.clear_cache()
    """
    from ._structured import _CACHE as tree_cache

    with CACHE_LOCK:
        _CACHE.clear()
        tree_cache.clear()
        for cache in _REGISTERED:
            cache.clear()


def _cache_key(cls, f, y, backend, x, contexts):
    try:
        xa, lib = as_input(x)
        key = (
            cls, f, resolve_backend(backend), type(x), lib, tuple(xa.shape), str(xa.dtype),
            context_signature(contexts),
            None if y is None else (tuple(y.shape), str(y.dtype)),
        )
        hash(key)
        return key
    except Exception:  # noqa: BLE001 - unhashable or invalid: prepare() raises the real error
        return None


def resolve_prep(cls, operator, f, args, prep, build, *, inplace_allowed=False):
    """Return ``(prep, y, x, contexts)`` for a call, preparing when ``prep`` is None."""
    if prep is None:
        y, backend, x, contexts = parse_args(args, inplace_allowed, operator)
        key = _cache_key(cls, f, y, backend, x, contexts)
        prep = _cached(key, x, contexts)
        if prep is None:
            from ._first_call import known_output, remember_output

            output = known_output(key) if not contexts else None  # f's output from another operator
            prep = prepare(cls, operator, f, args, build, inplace_allowed=inplace_allowed, output=output)
            cache_put(_CACHE, key, prep)
            remember_output(key, prep)
        return prep, y, x, contexts
    check_prep_type(prep, cls)
    y, backend, x, contexts = parse_args(args, inplace_allowed, operator)
    prep.check(f, backend, x, contexts, y)
    return prep, y, x, contexts


def _cached(key, x, contexts=()):
    prep = cache_get(_CACHE, key)
    if prep is not None:  # e.g. JAX's 64-bit mode may have changed
        prep.backend.check_input(as_input(x)[0], key[4])
        prep.backend.check_contexts([c.value for c in contexts])
    return prep


def native_x(prep, x):
    if type(x) is not np.ndarray and library_of(x) in ("numpy", "other"):  # scalars, lists
        x = as_input(x)[0]
    return prep.to_native(x)


def to_user(prep, value):
    return prep.back(value)


def write_out(prep, out, value, what="out"):
    """Copy ``value`` (already in the user's library) into the caller's buffer ``out``."""
    if hasattr(out, "tocsr") and hasattr(value, "tocsr"):  # scipy.sparse result into a sparse buffer
        return _write_sparse_out(out, value)
    lib = library_of(out)
    if not hasattr(out, "shape"):
        raise InputError(
            f"{what} is a {type(out).__name__}, not an array.\nHint: pass a writable NumPy array or torch "
            "tensor shaped like the result (a tree of them for pytree results)."
        )
    if lib == "jax":
        raise UnsupportedOperationError(
            "out= cannot be a jax array (jax arrays are immutable).\nHint: drop out= and use the returned array."
        )
    if tuple(out.shape) != tuple(np.shape(value)) and tuple(out.shape) != tuple(getattr(value, "shape", ())):
        raise InputError(
            f"{what} has shape {tuple(out.shape)}, but the result has shape {tuple(np.shape(value))}.\n"
            "Hint: allocate out with the shape given in the operator's docstring."
        )
    check_out_buffer(out, value, what)
    if lib == "torch":
        import torch

        out.copy_(value if isinstance(value, torch.Tensor) else torch.as_tensor(to_numpy(value)))
    else:
        np.copyto(out, to_numpy(value))
    return out


def check_out_buffer(out, value, what):
    """Refuse a buffer that would silently narrow the result (float64 into float32, complex into
    real, floats into integers) or that cannot be written."""
    have = numpy_dtype(value.dtype) if hasattr(value, "dtype") else np.result_type(value)
    want = numpy_dtype(out.dtype)
    if have is not None and want is not None and not np.can_cast(have, want, "safe"):
        raise InputError(
            f"{what} has dtype {want}, but the result has dtype {have}; writing it would lose precision "
            f"or the imaginary part.\nHint: allocate {what} with dtype {have} (e.g. np.empty_like of an "
            "earlier result), or drop out=."
        )
    if isinstance(out, np.ndarray) and not out.flags.writeable:
        raise InputError(f"{what} is a read-only array.\nHint: pass a writable array, e.g. np.empty(shape).")


def _write_sparse_out(out, value):
    value = value.asformat(out.format)
    same = out.shape == value.shape and out.nnz == value.nnz and (
        (out.indices is value.indices and out.indptr is value.indptr)  # results of one preparation
        or (np.array_equal(out.indices, value.indices) and np.array_equal(out.indptr, value.indptr))
    )
    if not same:
        raise InputError(
            "out is a sparse array whose pattern differs from the result's.\n"
            "Hint: pass as out a result of an earlier call with the same preparation."
        )
    if out.data.flags.writeable:
        np.copyto(out.data, value.data)
    else:  # an earlier JAX result: its data is a read-only view of a JAX buffer; take the new one
        out.data = np.asarray(value.data)
    return out


def write_y(prep, y, value):
    """Write the function value into the user's in-place output buffer ``y``."""
    if library_of(y) == "torch":
        import torch

        with torch.no_grad():
            y.copy_(value if isinstance(value, torch.Tensor) else torch.as_tensor(to_numpy(value)))
    else:
        np.copyto(y, to_numpy(value))


def stack_seeds(prep, seeds, shape, dtype, what):
    """Validate a tuple of tangents/cotangents and stack them into the backend's native array.

    Returns ``(stacked, single)`` where ``single`` is True when a bare array (not a tuple)
    was given.
    """
    single = not isinstance(seeds, (tuple, list))
    seq = (seeds,) if single else tuple(seeds)
    if len(seq) == 0:
        raise InputError(f"{what}: got an empty tuple.\nHint: pass at least one seed, e.g. (dx,).")
    converted = []
    for i, s in enumerate(seq):
        s_np_shape = tuple(getattr(s, "shape", np.shape(s)))
        if s_np_shape != tuple(shape):
            raise InputError(
                f"{what}[{i}] has shape {s_np_shape}, expected {tuple(shape)}.\n"
                "Hint: each seed has the shape of x (tangents) or of f(x) (cotangents)."
            )
        lib = library_of(s)
        if lib == "other":
            s = np.asarray(s)
        if lib != "torch" and np.asarray(s).dtype.kind == "c" and _real(dtype):
            raise InputError(
                f"{what}[{i}] is complex but the differentiated quantity is real.\n"
                "Hint: pass real seeds, or a complex x for holomorphic functions."
            )
        converted.append(_to_backend(prep, s, dtype))
    xp = prep.backend.array_namespace()
    return xp.stack(converted), single


def _real(dtype):
    try:
        return np.dtype(dtype).kind == "f"
    except TypeError:
        return not dtype.is_complex


def _to_backend(prep, s, dtype):
    lib = prep.backend.library
    if lib == "torch":
        import torch

        t = s if isinstance(s, torch.Tensor) else torch.as_tensor(np.require(to_numpy(s), requirements=("C", "W")))
        from ..backends._torch import torch_dtype

        return t.to(torch_dtype(dtype))
    if lib == "jax":
        import jax.numpy as jnp

        return jnp.asarray(s, dtype=dtype)
    return np.asarray(to_numpy(s), dtype=_np_dtype(dtype))


def _np_dtype(dtype):
    try:
        return np.dtype(dtype)
    except TypeError:
        import torch

        return torch.empty((), dtype=dtype).numpy().dtype
