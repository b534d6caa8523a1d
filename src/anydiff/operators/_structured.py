"""Structured calls: pytree inputs/outputs and several active arguments, handled once here.

A call ``op(f, backend, x1, x2, ..., *contexts)`` (or one tree ``x``) becomes a call on one
flat vector: the leaves of ``(x1, x2, ...)`` are raveled and concatenated (common dtype), and
``f_flat(v, *ctx)`` cuts ``v`` back into the leaves (views, inside the backend's own closure,
so under ``jax.jit`` the cutting is compiled) and concatenates the output leaves. Backends
see flat arrays only. Results are cut back and nested as ``jax.jacobian`` / ``jax.hessian``
nest them (``argnums=(0, 1, ...)`` for several arguments). Backends with native pytree
support (JAX, torch) provide ``fast_tree_gradient`` as a fast path for gradients.
"""

from __future__ import annotations

import functools
import math
import numbers
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._arrays import as_dtype_of_leaf, as_input, from_numpy, library_of, numpy_dtype
from .._contexts import Context
from .._errors import InputError, PreparationMismatchError, UnsupportedOperationError
from .._trees import (
    LEAF,
    is_tree_argument,
    tree_differences,
    tree_flatten,
    tree_flatten_args,
    tree_unflatten,
)
from ..backends import Backend, resolve_backend
from ._signature import context_signature
from ._flatten import (
    _arg_paths,
    _differences,
    _flat_input,
    _leaf_slices,
    _OutputTree,
    concat_leaves,
    make_flat_function,
    split_flat,
)

__all__ = ["TreePrep", "is_structured", "prepare_tree", "resolve_tree"]


#: Operators that take in-place functions ``f(y, x)`` (structured calls too).
INPLACE_OPERATORS = ("pushforward", "pullback", "derivative", "jacobian")


def split_y(args):
    """``(y, args)``: the output buffer of an in-place call ``(y, backend, ...)``, else ``(None, args)``."""
    if len(args) >= 3 and not isinstance(args[0], (Backend, str)) and isinstance(args[1], (Backend, str)):
        return args[0], args[1:]
    return None, args


def is_structured(args, seeds: bool = False) -> bool:
    """Whether ``([y,] backend, x, ...)`` has several active arguments or a tree ``x``."""
    args = split_y(args)[1]
    if not args or not isinstance(args[0], (Backend, str)):
        return False
    actives = [a for a in args[1:] if not isinstance(a, Context)]
    return len(actives) > 1 + seeds or (bool(actives) and is_tree_argument(actives[0]))


def split_args(args, seeds: bool):
    """``(backend, actives, contexts, context_positions, seeds)`` of a structured call (without ``y``)."""
    rest = args[1:]
    positions = tuple(i for i, a in enumerate(rest) if isinstance(a, Context))
    actives = [a for a in rest if not isinstance(a, Context)]
    s = None
    if seeds:
        if len(actives) < 2:
            raise InputError("Missing seeds after x.\nHint: pass a tuple of tangents/cotangents, e.g. (dx,).")
        s = actives.pop()
        last = max(i for i, a in enumerate(rest) if not isinstance(a, Context))
        positions = tuple(p - (p > last) for p in positions)
    if not actives:
        raise InputError("No active argument after the backend.\nHint: call ad.gradient(f, backend, x, ...).")
    contexts = tuple(a for a in rest if isinstance(a, Context))
    return args[0], tuple(actives), contexts, positions, s


@dataclass(frozen=True, eq=False)
class TreePrep:
    """Preparation of a structured call (pytrees and/or several active arguments).

    ``inner`` is the preparation of the same operator on the flattened vector; ``native``
    a backend's own pytree closure pair (value-and-gradient, gradient) when it has one.
    """

    operator: str
    f: Callable
    backend: Backend
    inner: Any
    in_def: Any
    in_shapes: tuple
    in_dtypes: tuple
    library: str
    n_active: int
    positions: tuple
    out: _OutputTree
    native: Any = field(default=None, repr=False)
    y_shape: tuple | None = None  # in-place f(y, ...): the shape of y

    # ----------------------------------------------------------------- checks
    def fast_gradient(self, f, backend, rest):
        """Hot path of a prepared gradient by the backend's own pytree gradient, or ``None``.

        Taken for the same ``f`` and backend object, the prepared number of active arguments and
        no contexts. JAX checks the structure and shapes when it traces a new one; torch
        (separate tensors only) gets them checked here.
        """
        hot = self._hot
        if hot is None or f is not self.f or backend is not self.backend or len(rest) != self.n_active:
            return None
        if self.library == "jax":
            for a in rest:
                if isinstance(a, Context):
                    return None
        elif not self._same_tensors(rest):
            return None
        return hot(*rest)

    def __post_init__(self):  # the hot path's conditions that do not depend on the call
        static = not self.positions and self.library == self.backend.library in ("jax", "torch")
        object.__setattr__(self, "_hot", self.native[1] if static and self.native is not None else None)

    def _same_tensors(self, rest):
        """``rest`` are tensors (no trees) of the prepared shapes, as :meth:`check` requires."""
        if self.in_def != ("tuple", (LEAF,) * len(rest)):
            return False
        tensor = sys.modules["torch"].Tensor  # imported: the preparation made torch tensors
        for a, shape, dtype in zip(rest, self.in_shapes, self.in_dtypes):
            if not isinstance(a, tensor) or a.shape != shape or a.dtype != dtype:
                return False
        return True

    def check(self, f, backend, actives, contexts):
        if (  # hot path: the prepared arrays as separate active arguments (no trees)
            f is self.f and backend is self.backend and len(contexts) == len(self.positions)
            and self.in_def == ("tuple", (LEAF,) * len(actives))
            and all(library_of(a) == self.library and hasattr(a, "shape") and tuple(a.shape) == s and a.dtype == d
                    for a, s, d in zip(actives, self.in_shapes, self.in_dtypes))
            and (not contexts or context_signature(contexts) == self.inner.context_sig)
        ):
            return list(actives)
        leaves, td = tree_flatten_args(actives)
        shapes = tuple(tuple(getattr(v, "shape", np.shape(v))) for v in leaves)
        if type(backend) is str:
            backend = resolve_backend(backend)
        dtypes_differ = self._dtype_differences(td, leaves)
        libs = sorted({library_of(v) for v in leaves if not isinstance(v, numbers.Number)} - {self.library})
        if f is self.f and backend == self.backend and td == self.in_def and shapes == self.in_shapes and len(
            contexts
        ) == len(self.positions) and not dtypes_differ and not libs and (
            not contexts or context_signature(contexts) == self.inner.context_sig
        ):
            return leaves
        problems = []
        if f is not self.f:
            problems.append("function: a different function object than at preparation")
        if backend != self.backend:
            problems.append(f"backend: prepared {self.backend!r}, got {backend!r}")
        if len(actives) != self.n_active:
            problems.append(f"active arguments: prepared {self.n_active}, got {len(actives)}")
        else:
            problems += _differences(self.in_def, self.in_shapes, td, shapes) or dtypes_differ
        if len(contexts) != len(self.positions):
            problems.append(f"contexts: prepared {len(self.positions)}, got {len(contexts)}")
        elif context_signature(contexts) != self.inner.context_sig:
            problems.append("contexts: values of another type, shape or dtype than at preparation")
        if libs:
            problems.append(f"array library: prepared {self.library}, got {', '.join(libs)}")
        raise PreparationMismatchError(
            "This preparation does not match the call: " + "; ".join(problems or ["unknown"])
            + f".\nHint: call ad.prepare_{self.operator}(...) again with this function, backend and input."
        )

    def _dtype_differences(self, td, leaves) -> list:
        """Leaves whose dtype differs from the prepared one (as the plain operators refuse it)."""
        if td != self.in_def:
            return []
        diffs = []
        for path, v, want in zip(_arg_paths(td), leaves, self.in_dtypes):
            have = numpy_dtype(v.dtype) if hasattr(v, "dtype") else as_input(v)[0].dtype
            if have != numpy_dtype(want):
                diffs.append(f"{path}: dtype {numpy_dtype(want)} prepared, got {have}")
        return diffs

    # ------------------------------------------------------------- conversions
    def flat_x(self, leaves):
        flat = concat_leaves([self.leaf(v) for v in leaves], self.library)
        return flat.reshape(()) if self.operator == "second_derivative" else flat

    def leaf(self, v):
        """A leaf of the call as an array of the prepared library (Python scalars converted)."""
        if isinstance(v, (numbers.Number, list)):
            a = as_input(v)[0]
            return a if self.library == "numpy" else from_numpy(a, self.library)
        return v

    def unflatten_x(self, flat):
        if hasattr(flat, "tocsr"):
            return flat
        leaves = split_flat(flat, self.in_shapes, self.library)
        if self.mixed_dtypes:  # x-shaped results keep each leaf's dtype (as JAX and torch do)
            leaves = [as_dtype_of_leaf(v, dt) for v, dt in zip(leaves, self.in_dtypes)]
        tree = tree_unflatten(self.in_def, leaves)
        return tree if self.n_active > 1 else tree[0]

    @functools.cached_property
    def mixed_dtypes(self) -> bool:
        return len(set(self.in_dtypes)) > 1

    def unflatten_y(self, flat):
        if self.out.treedef == LEAF:
            return flat
        leaves = split_flat(flat, self.out.shapes, self.library)
        if self.out.mixed:  # y-shaped results keep each output leaf's dtype (as jax.jvp does)
            leaves = [v if dt is None else as_dtype_of_leaf(v, dt) for v, dt in zip(leaves, self.out.dtypes)]
        return tree_unflatten(self.out.treedef, leaves)

    def flat_seeds(self, seeds, like_x: bool, what: str):
        """Tangents (trees like the active arguments) or cotangents (like f(x)) -> flat tuple."""
        if like_x:
            td, shapes = self.in_def, self.in_shapes
            k = self.n_active
            flatten = lambda s: tree_flatten_args(tuple(s) if k > 1 and isinstance(s, (tuple, list)) else (s,))  # noqa: E731
        else:
            td, shapes = self.out.treedef, self.out.shapes
            flatten = tree_flatten

        def matches(s):
            leaves, t = flatten(s)
            return t == td and tuple(tuple(np.shape(v)) for v in leaves) == shapes

        if td != LEAF and matches(seeds):
            return (self._flat_seed(flatten(seeds)[0]),), True
        if not isinstance(seeds, (tuple, list)) or (td == LEAF and not like_x):
            if td == LEAF:
                return seeds, not isinstance(seeds, (tuple, list))
            seeds = (seeds,)
        flat = []
        for i, s in enumerate(seeds):
            if td == LEAF:
                flat.append(s)
                continue
            leaves, t = flatten(s)
            got = tuple(tuple(np.shape(v)) for v in leaves)
            if t != td or got != shapes:
                diffs = _differences(td, shapes, t, got) if like_x else tree_differences(td, shapes, t, got, "y")
                raise InputError(
                    f"{what}[{i}] does not have the structure of the {'input' if like_x else 'output'}: "
                    + "; ".join(diffs) + ".\nHint: each seed is a tree like "
                    + ("the active arguments (a tuple with one entry per argument)." if like_x else "f's output.")
                )
            flat.append(self._flat_seed(leaves))
        return tuple(flat), False

    def _flat_seed(self, leaves):
        return concat_leaves([as_input(v)[0] if not hasattr(v, "shape") else v for v in leaves], _lib_of(leaves))

    # ------------------------------------------------------------ nesting
    def nest_jacobian(self, J):
        """Flat ``(m, n)`` Jacobian -> output tree of input trees (as ``jax.jacobian``)."""
        if hasattr(J, "tocsr"):
            return J  # AutoSparse: the flat sparse matrix (see ad.tree_index_map)
        n = sum(math.prod(s) for s in self.in_shapes)
        J2 = J.reshape((-1, n))
        rows = []
        for a, b, yshape in _leaf_slices(self.out.shapes):
            blocks = [
                J2[a:b, c:d].reshape(yshape + xshape) for c, d, xshape in _leaf_slices(self.in_shapes)
            ]
            tree = tree_unflatten(self.in_def, blocks)
            rows.append(tree if self.n_active > 1 else tree[0])
        return rows[0] if self.out.treedef == LEAF else tree_unflatten(self.out.treedef, rows)

    def nest_hessian(self, H):
        """Flat ``(n, n)`` Hessian -> input tree of input trees (as ``jax.hessian``)."""
        if hasattr(H, "tocsr"):
            return H
        rows = []
        for a, b, s1 in _leaf_slices(self.in_shapes):
            blocks = [H[a:b, c:d].reshape(s1 + s2) for c, d, s2 in _leaf_slices(self.in_shapes)]
            tree = tree_unflatten(self.in_def, blocks)
            rows.append(tree if self.n_active > 1 else tree[0])
        tree = tree_unflatten(self.in_def, rows)
        return tree if self.n_active > 1 else tree[0]


def _lib_of(leaves):
    libs = {library_of(v) for v in leaves} - {"other"}
    return libs.pop() if len(libs) == 1 else "numpy"


_CACHE: OrderedDict[tuple, TreePrep] = OrderedDict()
CACHE_SIZE = 64


def _key(operator, f, backend, actives, contexts, y_signature):
    try:
        leaves, td = tree_flatten_args(actives)
        sig = tuple((type(v), tuple(np.shape(v)), str(getattr(v, "dtype", type(v)))) for v in leaves)
        key = (operator, f, resolve_backend(backend), td, sig, context_signature(contexts), y_signature)
        hash(key)
        return key
    except Exception:  # noqa: BLE001 - unhashable: prepare without caching
        return None


def prepare_tree(cls, operator, f, args, build, *, seeds=False, same_point=False, native=False, guess=None):
    """Build a :class:`TreePrep` for a structured call (``args`` may include seeds).

    ``guess(x_flat) -> (y_shape, y_dtype) or None``: the flat output guessed instead of evaluated
    (``None`` is returned when it declines); the caller checks it (``_tree_ops._first_gradient``).
    """
    from ._core import prepare

    y, args = split_y(args)
    if y is not None and operator not in INPLACE_OPERATORS:
        raise InputError(
            f"ad.{operator} does not take in-place functions f(y, x).\n"
            f"Hint: call ad.{operator}(f, backend, x, ...) with f returning its output."
        )
    backend, actives, contexts, positions, _ = split_args(args, seeds)
    if not callable(f):
        raise InputError(
            f"f must be callable, got {type(f).__name__}.\n"
            "Hint: the first argument is the function: ad.gradient(f, backend, x1, x2)."
        )
    backend = resolve_backend(backend)
    leaves, in_def = tree_flatten_args(actives)
    if not leaves:
        raise InputError("The active arguments hold no arrays.\nHint: pass at least one array or float.")
    x_flat, lib, shapes, dtypes = _flat_input(leaves, _arg_paths(in_def))
    scalar = operator == "second_derivative"  # one scalar leaf, passed as a 0-d array
    if scalar:
        _check_one_scalar(shapes, _arg_paths(in_def))
        x_flat = x_flat.reshape(())
    holder = _OutputTree()
    n_args = len(actives) + len(contexts)
    f_flat = make_flat_function(f, in_def, shapes, positions, n_args, holder, scalar, inplace=y is not None,
                                in_dtypes=dtypes)
    if y is not None:  # the output is the array y
        holder.treedef, holder.shapes = LEAF, (tuple(y.shape),)
    lead = () if y is None else (y,)
    output = None if guess is None else guess(x_flat)
    if guess is not None and output is None:
        return None
    inner = prepare(cls, operator, f_flat, (*lead, backend, x_flat, *contexts), build, same_point=same_point,
                    inplace_allowed=y is not None, output=output)
    fast = None
    if native and not any(v[0] in ("dataclass", "none") for v in _nodes(in_def)):  # torch.func refuses None leaves
        argnums = tuple(i for i in range(n_args) if i not in positions)
        fast = backend.fast_tree_gradient(f, argnums if len(argnums) > 1 else argnums[0], inner.spec, _checker(in_def, shapes, dtypes))
    return TreePrep(operator, f, backend, inner, in_def, shapes, dtypes, lib, len(actives), positions, holder, fast,
                    None if y is None else tuple(y.shape))


def _nodes(td):
    yield td
    if td[0] in ("dict", "list", "tuple", "namedtuple", "dataclass"):
        for c in td[-1]:
            yield from _nodes(c)


def _checker(in_def, shapes, dtypes):
    """Trace-time check of the argument structure, shapes and dtypes (for natively jitted closures)."""
    want = [numpy_dtype(d) for d in dtypes]

    def check(actives):
        leaves, td = tree_flatten_args(tuple(actives))
        got = tuple(tuple(v.shape) for v in leaves)
        if td != in_def or got != shapes or [numpy_dtype(v.dtype) for v in leaves] != want:
            diffs = _differences(in_def, shapes, td, got) or [
                f"{p}: dtype {w} prepared, got {numpy_dtype(v.dtype)}"
                for p, v, w in zip(_arg_paths(in_def), leaves, want) if numpy_dtype(v.dtype) != w
            ]
            raise PreparationMismatchError(
                "This preparation does not match the call: " + "; ".join(diffs)
                + ".\nHint: prepare again for this input structure."
            )

    return check


def resolve_tree(cls, operator, f, args, prep, build, *, seeds=False, native=False):
    """``(prep, actives, contexts, seeds)`` of a structured call; prepares (cached) if needed."""
    y, rest = split_y(args)
    backend, actives, contexts, _, s = split_args(rest, seeds)
    if prep is None:
        key = _key(operator, f, backend, actives, contexts, None if y is None else (tuple(y.shape), str(y.dtype)))
        from ._core import cache_get, cache_put

        prep = cache_get(_CACHE, key)
        if prep is None:
            prep = prepare_tree(cls, operator, f, args, build, seeds=seeds, native=native)
            cache_put(_CACHE, key, prep)
        return prep, prep.check(f, backend, actives, contexts), contexts, s
    if type(prep) is not TreePrep or prep.operator != operator:
        raise PreparationMismatchError(
            f"Expected a preparation of ad.{operator} for structured inputs, got {type(prep).__name__}"
            f"{'' if type(prep) is not TreePrep else ' of ad.' + prep.operator}.\n"
            f"Hint: use ad.prepare_{operator}(...) with the same arguments as the call."
        )
    if (y is None) != (prep.y_shape is None) or (y is not None and tuple(y.shape) != prep.y_shape):
        form = "f(y, x)" if prep.y_shape is not None else "f(x)"
        raise PreparationMismatchError(
            f"This preparation is for {form} with output buffer shape {prep.y_shape}, got "
            f"{None if y is None else tuple(y.shape)}.\nHint: call ad.prepare_{operator}(...) again with this call's arguments."
        )
    return prep, prep.check(f, backend, actives, contexts), contexts, s


def _check_one_scalar(shapes, paths):
    if len(shapes) != 1 or shapes[0] != ():
        arrays = [p for p, s in zip(paths, shapes) if s != ()]
        what = f"array leaves ({', '.join(arrays)})" if arrays else f"{len(shapes)} scalar leaves"
        raise UnsupportedOperationError(
            f"ad.second_derivative takes one scalar input (a tree with one scalar leaf is fine); got {what}.\n"
            "Hint: use ad.hessian or ad.hvp for several inputs, or ad.jacobian of ad.derivative for array leaves."
        )


def refuse(operator, alternative):
    raise UnsupportedOperationError(
        f"ad.{operator} does not take pytree inputs or several active arguments.\nHint: use {alternative}."
    )


def paths_of(prep) -> list:
    """Paths of the active leaves of a :class:`TreePrep`, in flat order."""
    return _arg_paths(prep.in_def)
