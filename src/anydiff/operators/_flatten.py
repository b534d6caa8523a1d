"""Flat views of structured calls: the leaves of the active arguments as one vector, and back.

``make_flat_function`` wraps ``f`` so a backend sees ``f_flat(v, *ctx)`` on one flat vector;
``_flat_input`` validates and concatenates the input leaves; ``split_flat`` cuts a flat result
back into leaves. Used by :mod:`._structured` (preparation and calls).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._arrays import as_input, from_numpy, leaf_dtype, numpy_dtype
from .._errors import InputError
from .._trees import LEAF, is_tree, tree_differences, tree_flatten, tree_paths, tree_unflatten

__all__ = ["make_flat_function", "concat_leaves", "split_flat"]


@dataclass
class _OutputTree:
    """Output structure, recorded when ``f_flat`` is first evaluated (at preparation)."""

    treedef: Any = None
    shapes: tuple = ()
    dtypes: tuple = ()  # NumPy dtypes of the output leaves (None where unknown)
    mixed: bool = False  # leaves of several real floating dtypes: cast each back after flattening


def _differences(td_a, shapes_a, td_b, shapes_b) -> list:
    """Where two argument trees differ; paths start at ``x`` for one active argument, else ``args``."""
    if len(td_a[1]) == 1 and td_b[0] == "tuple" and len(td_b[1]) == 1:
        return tree_differences(td_a[1][0], shapes_a, td_b[1][0], shapes_b, root="x")
    return tree_differences(td_a, shapes_a, td_b, shapes_b, root="args")


def _arg_paths(td) -> list:
    return tree_paths(td[1][0], "x") if len(td[1]) == 1 else tree_paths(td, "args")


def _leaf_slices(shapes):
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append((start, start + size, tuple(shape)))
        start += size
    return tuple(out)


def _concat_native(leaves):
    """Ravel and concatenate output leaves in their own library (inside a backend's trace)."""
    module = next((type(v).__module__ for v in leaves if not isinstance(v, (np.ndarray, np.generic, float, int))), "")
    if module.startswith(("jax", "jaxlib")):
        import jax.numpy as jnp

        return jnp.concatenate([jnp.reshape(v, -1) for v in leaves])
    if module.startswith("torch"):
        import torch

        return torch.cat([torch.as_tensor(v).reshape(-1) for v in leaves])
    if module.startswith("autograd"):
        import autograd.numpy as anp

        return anp.concatenate([anp.reshape(v, -1) for v in leaves])
    return np.concatenate([np.reshape(v, -1) for v in leaves])


def _real_part(v):
    try:
        return v.real
    except AttributeError:  # autograd's traced values have no .real
        import autograd.numpy as anp

        return anp.real(v)


def make_flat_function(f, in_def, in_shapes, positions, n_args, holder, scalar=False, inplace=False, in_dtypes=()):
    """``f_flat(v, *ctx)``: cut ``v`` into the active leaves, call ``f``, flatten its output.

    ``scalar``: ``v`` is 0-d and is the one (scalar) leaf itself (second derivatives).
    ``inplace``: ``f_flat(y, v, *ctx)`` calls ``f(y, *args)``, which writes into ``y``.
    ``in_dtypes``: the leaves' dtypes; when ``v`` is complex, real leaves get the real part of
    their slice, so ``f`` sees them real and no derivative flows along their imaginary part.
    """
    slices = _leaf_slices(in_shapes)
    tail = positions == tuple(range(n_args - len(positions), n_args))
    kinds = [getattr(numpy_dtype(d), "kind", "f") for d in in_dtypes]
    real = tuple(k != "c" for k in kinds) if "c" in kinds else ()

    def call(v, ctx, lead):
        leaves = [v] if scalar else [v[a:b].reshape(shape) for a, b, shape in slices]
        if real:
            leaves = [_real_part(leaf) if r else leaf for leaf, r in zip(leaves, real)]
        actives = tree_unflatten(in_def, leaves)
        if tail:
            return f(*lead, *actives, *ctx)
        merged, it_a, it_c = [], iter(actives), iter(ctx)
        for i in range(n_args):
            merged.append(next(it_c) if i in positions else next(it_a))
        return f(*lead, *merged)

    if inplace:
        return lambda y, v, *ctx: call(v, ctx, (y,))

    def f_flat(v, *ctx):
        y = call(v, ctx, ())
        if not is_tree(y):
            if holder.treedef is None:
                holder.treedef, holder.shapes = LEAF, (tuple(getattr(y, "shape", np.shape(y))),)
            return y
        out_leaves, out_def = tree_flatten(y)
        if holder.treedef is None:
            holder.treedef = out_def
            holder.shapes = tuple(tuple(getattr(v, "shape", np.shape(v))) for v in out_leaves)
            holder.dtypes = tuple(leaf_dtype(v) for v in out_leaves)
            holder.mixed = len({d for d in holder.dtypes if d is not None and d.kind in "fc"}) > 1
        return _concat_native(out_leaves)

    return f_flat


def _flat_input(leaves, paths):
    """Validate leaves (one array library, inexact dtypes) and concatenate them."""
    arrays, libs = [], set()
    for leaf, path in zip(leaves, paths):
        try:
            a, lib = as_input(leaf)
            if isinstance(leaf, numbers.Number):
                lib = None  # Python scalars take the library of the other leaves
        except InputError as err:
            raise InputError(
                f"Active argument {path}: {str(err).splitlines()[0]}\nHint: every positional argument after "
                "the backend is differentiated; wrap values that are not as ad.Constant(value), or convert "
                "this one to a float array."
            ) from None
        arrays.append(a)
        libs.add(lib)
    libs.discard(None)
    if len(libs) > 1:
        raise InputError(
            f"The active arguments mix array libraries ({', '.join(sorted(libs))}).\n"
            "Hint: convert every leaf to the same library (NumPy, JAX or torch)."
        )
    lib = libs.pop() if libs else "numpy"
    if lib != "numpy":
        arrays = [from_numpy(a, lib) if isinstance(a, np.ndarray) else a for a in arrays]
    shapes = tuple(tuple(a.shape) for a in arrays)
    dtypes = tuple(a.dtype for a in arrays)
    return concat_leaves(arrays, lib), lib, shapes, dtypes


def concat_leaves(arrays, lib):
    if lib == "torch":
        import torch

        dtype = arrays[0].dtype
        for a in arrays[1:]:
            dtype = torch.promote_types(dtype, a.dtype)
        return torch.cat([a.reshape(-1).to(dtype) for a in arrays])
    if lib == "jax":
        import jax.numpy as jnp

        return jnp.concatenate([jnp.reshape(a, -1) for a in arrays])
    return np.concatenate([np.reshape(a, -1) for a in arrays])


def split_flat(flat, shapes, lib):
    """Cut a flat result into leaves of ``shapes`` (0-d NumPy leaves become scalars)."""
    out = []
    for a, b, shape in _leaf_slices(shapes):
        part = flat[a:b].reshape(shape)
        out.append(part[()] if lib == "numpy" and shape == () else part)
    return out
