"""Pytrees: nested dicts, lists, tuples, NamedTuples and dataclasses of arrays and scalars.

anydiff flattens a tree once into its leaves (depth first; dict keys sorted, as JAX does) and a
hashable *tree definition*, so that backends only ever see one flat vector. An *argument* that
is a list or tuple of plain Python numbers is one array (``[1.0, 2.0]`` is a vector), as before;
inside a tree, and in outputs, lists and tuples are always nodes (as in JAX).
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from ._errors import InputError

__all__ = ["ravel_pytree", "tree_index_map", "tree_flatten", "tree_unflatten", "tree_paths"]

LEAF = ("leaf",)
_NONE = ("none",)


def _is_number_list(obj) -> bool:
    """A (nested) list or tuple of numbers with a rectangular shape: one array, as before."""
    return _number_list_shape(obj) is not None


def _number_list_shape(obj):
    if not isinstance(obj, (list, tuple)) or hasattr(obj, "_fields"):
        return None
    if all(isinstance(v, numbers.Number) for v in obj):
        return (len(obj),)
    shapes = {_number_list_shape(v) for v in obj}
    if len(shapes) != 1 or None in shapes:  # ragged ([[1.0, 2.0], 3.0]) or holding arrays: a tree
        return None
    return (len(obj),) + shapes.pop()


def is_tree(obj) -> bool:
    """True for a container anydiff flattens (dict, list, tuple, NamedTuple, dataclass)."""
    if isinstance(obj, (dict, list, tuple)):
        return True
    return dataclasses.is_dataclass(obj) and not isinstance(obj, type) and not _is_anydiff_object(obj)


def is_tree_argument(obj) -> bool:
    """Like :func:`is_tree`, but an argument that is a (nested) list of numbers is one array."""
    return is_tree(obj) and not _is_number_list(obj)


def _is_anydiff_object(obj) -> bool:
    """Contexts and backends are dataclasses too, but never trees."""
    from ._contexts import Context

    return isinstance(obj, Context) or hasattr(type(obj), "has_forward")


def tree_flatten(tree):
    """Return ``(leaves, treedef)``; ``treedef`` is hashable and compares structures.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> leaves, treedef = ad.tree_flatten({"b": np.ones(2), "a": (1.0, np.zeros(3))})
    >>> [np.shape(leaf) for leaf in leaves]
    [(), (3,), (2,)]
    """
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def tree_flatten_args(args):
    """Flatten a tuple of arguments (each one tree, even a plain number) -> ``(leaves, treedef)``."""
    leaves: list = []
    defs = []
    for a in args:
        if _is_number_list(a):  # [1.0, 2.0] is a vector, as it always was
            leaves.append(a)
            defs.append(LEAF)
        else:
            defs.append(_flatten(a, leaves))
    return leaves, ("tuple", tuple(defs))


def _flatten(obj, leaves):
    if obj is None:
        return _NONE
    if isinstance(obj, dict):
        keys = sorted(obj, key=_sort_key)
        return ("dict", tuple(keys), tuple(_flatten(obj[k], leaves) for k in keys))
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return ("namedtuple", type(obj), tuple(_flatten(v, leaves) for v in obj))
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(_flatten(v, leaves) for v in obj))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type) and not _is_anydiff_object(obj):
        names = tuple(f.name for f in dataclasses.fields(obj))
        return ("dataclass", type(obj), names, tuple(_flatten(getattr(obj, n), leaves) for n in names))
    leaves.append(obj)
    return LEAF


def _sort_key(key):
    return (type(key).__name__, key) if not isinstance(key, str) else ("", key)


def tree_unflatten(treedef, leaves):
    """Inverse of :func:`tree_flatten`.

    Examples
    --------
    >>> import anydiff as ad
    >>> leaves, treedef = ad.tree_flatten({"a": 1.0, "b": [2.0, (3.0, 4.0)]})
    >>> ad.tree_unflatten(treedef, [10.0, 20.0, 30.0, 40.0])
    {'a': 10.0, 'b': [20.0, (30.0, 40.0)]}
    """
    it = iter(leaves)
    return _build(treedef, it)


def _build(td, it):
    kind = td[0]
    if kind == "leaf":
        return next(it)
    if kind == "none":
        return None
    if kind == "dict":
        return {k: _build(c, it) for k, c in zip(td[1], td[2])}
    if kind == "namedtuple":
        return td[1](*[_build(c, it) for c in td[2]])
    if kind == "dataclass":
        return td[1](**{n: _build(c, it) for n, c in zip(td[2], td[3])})
    children = [_build(c, it) for c in td[1]]
    return children if kind == "list" else tuple(children)


def tree_paths(treedef, root: str = "x") -> list:
    """Path of each leaf, in leaf order (``x['a'][0]``, ``x.field``).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> ad.tree_paths(ad.tree_flatten({"w": np.ones(2), "b": [0.0]})[1])
    ["x['b'][0]", "x['w']"]
    """
    out: list = []
    _paths(treedef, root, out)
    return out


def _paths(td, prefix, out):
    kind = td[0]
    if kind == "leaf":
        out.append(prefix)
    elif kind == "dict":
        for k, c in zip(td[1], td[2]):
            _paths(c, f"{prefix}[{k!r}]", out)
    elif kind == "namedtuple":
        for name, c in zip(td[1]._fields, td[2]):
            _paths(c, f"{prefix}.{name}", out)
    elif kind == "dataclass":
        for name, c in zip(td[2], td[3]):
            _paths(c, f"{prefix}.{name}", out)
    elif kind in ("list", "tuple"):
        for i, c in enumerate(td[1]):
            _paths(c, f"{prefix}[{i}]", out)


def tree_differences(td_a, shapes_a, td_b, shapes_b, root="x") -> list:
    """Human-readable list of where two flattened trees (structure, leaf shapes) differ."""
    if td_a != td_b:
        return _structure_differences(td_a, td_b, root)
    paths = tree_paths(td_a, root)
    return [
        f"{p}: shape {tuple(sa)} prepared, got {tuple(sb)}"
        for p, sa, sb in zip(paths, shapes_a, shapes_b) if tuple(sa) != tuple(sb)
    ]


def _structure_differences(a, b, prefix) -> list:
    if a == b:
        return []
    if a[0] != b[0] or a[0] in ("namedtuple", "dataclass") and a[1] != b[1]:
        return [f"{prefix}: prepared {_describe(a)}, got {_describe(b)}"]
    if a[0] == "dict":
        diffs = [f"{prefix}[{k!r}]: missing" for k in a[1] if k not in b[1]]
        diffs += [f"{prefix}[{k!r}]: not in the prepared tree" for k in b[1] if k not in a[1]]
        for k, ca in zip(a[1], a[2]):
            if k in b[1]:
                diffs += _structure_differences(ca, b[2][b[1].index(k)], f"{prefix}[{k!r}]")
        return diffs
    ca, cb = a[-1], b[-1]
    if len(ca) != len(cb):
        return [f"{prefix}: prepared {len(ca)} entries, got {len(cb)}"]
    names = a[1]._fields if a[0] == "namedtuple" else a[2] if a[0] == "dataclass" else None
    diffs = []
    for i, (x, y) in enumerate(zip(ca, cb)):
        diffs += _structure_differences(x, y, f"{prefix}.{names[i]}" if names else f"{prefix}[{i}]")
    return diffs


def _describe(td) -> str:
    kind = td[0]
    if kind in ("namedtuple", "dataclass"):
        return f"a {td[1].__name__}"
    return {"leaf": "an array", "none": "None", "dict": "a dict", "list": "a list", "tuple": "a tuple"}[kind]


def tree_index_map(tree, root: str = "x") -> dict:
    """Where each leaf of ``tree`` sits in anydiff's flattened vector: ``{path: slice}``.

    Operators flatten structured inputs in this order (leaves depth first, dict keys sorted);
    ``AutoSparse`` returns sparse Jacobians and Hessians of this flat vector, and this map
    gives the rows/columns of each leaf. With several active arguments, pass them as a tuple
    and ``root="args"``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> ad.tree_index_map({"w": np.ones((2, 2)), "b": np.zeros(3)})
    {"x['b']": slice(0, 3, None), "x['w']": slice(3, 7, None)}
    """
    leaves, td = tree_flatten(tree)
    out, start = {}, 0
    for path, leaf in zip(tree_paths(td, root), leaves):
        size = int(np.prod(np.shape(leaf), dtype=int))
        out[path] = slice(start, start + size)
        start += size
    return out


def ravel_pytree(tree):
    """Flatten a tree of NumPy arrays/scalars into one vector; return ``(flat, unravel)``.

    ``unravel(v)`` rebuilds the tree from a vector of the same length (leaves reshaped, cast
    back to each leaf's dtype). The order is the one :func:`tree_index_map` describes.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> flat, unravel = ad.ravel_pytree({"a": np.array([1.0, 2.0]), "b": 3.0})
    >>> flat
    array([1., 2., 3.])
    >>> unravel(2 * flat)
    {'a': array([2., 4.]), 'b': 6.0}
    """
    leaves, td = tree_flatten(tree)
    arrays = [np.asarray(leaf) for leaf in leaves]
    if not arrays:
        raise InputError("ravel_pytree got a tree without leaves.\nHint: pass a tree holding at least one array.")
    flat = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)
    shapes = [a.shape for a in arrays]
    dtypes = [a.dtype for a in arrays]
    scalars = [isinstance(leaf, numbers.Number) for leaf in leaves]

    def unravel(v):
        v = np.asarray(v)
        out, start = [], 0
        for shape, dtype, scalar in zip(shapes, dtypes, scalars):
            size = int(np.prod(shape, dtype=int))
            part = v[start:start + size].reshape(shape).astype(dtype, copy=False)
            out.append(part.item() if scalar else part)
            start += size
        return tree_unflatten(td, out)

    return flat, unravel
