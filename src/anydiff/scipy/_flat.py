"""Structured inputs and outputs (pytrees) <-> the flat float64 vectors SciPy works with.

A pytree here is an array (NumPy, JAX or torch), a Python number, or a ``dict``, ``list`` or
``tuple`` of pytrees. Inputs are flattened into one float64 NumPy vector for SciPy and
unflattened by slicing and reshaping, which works for every array type a backend passes to
the user's function (NumPy arrays, anydiff's dual arrays and tracers, JAX tracers, torch
tensors). Outputs are flattened by concatenating their raveled leaves.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._arrays import library_of, to_numpy
from .._errors import InputError

__all__ = ["Flattener", "flat_output", "is_tree"]


def is_tree(value) -> bool:
    return isinstance(value, (dict, list, tuple))


def _flatten(tree, path, leaves):
    if isinstance(tree, dict):
        return ("dict", tuple(tree), tuple(_flatten(v, f"{path}[{k!r}]", leaves) for k, v in tree.items()))
    if isinstance(tree, (list, tuple)):
        kind = "list" if isinstance(tree, list) else "tuple"
        return (kind, None, tuple(_flatten(v, f"{path}[{i}]", leaves) for i, v in enumerate(tree)))
    if not (isinstance(tree, numbers.Number) or library_of(tree) != "other" or hasattr(tree, "shape")):
        raise InputError(
            f"{path} is a {type(tree).__name__}; anydiff.scipy takes arrays, numbers, or dicts, "
            "lists and tuples of them.\nHint: convert it to a NumPy array first."
        )
    leaves.append((path, tree))
    return None


def _build(treedef, leaves):
    if treedef is None:
        return next(leaves)
    kind, keys, children = treedef
    values = [_build(c, leaves) for c in children]
    if kind == "dict":
        return dict(zip(keys, values))
    return values if kind == "list" else tuple(values)


class Flattener:
    """Flatten ``x0``-shaped pytrees to float64 vectors and back.

    Parameters
    ----------
    tree : pytree
        The starting point; fixes the structure, shapes and the order of the flat entries.
    what : str
        Name of the argument, used in error messages.

    Examples
    --------
    >>> import numpy as np
    >>> fl = Flattener({"a": np.ones((2, 2)), "b": 3.0})
    >>> z = fl.flatten({"a": np.eye(2), "b": 5.0}); z
    array([1., 0., 0., 1., 5.])
    >>> fl.unflatten(z)["a"]
    array([[1., 0.],
           [0., 1.]])
    """

    def __init__(self, tree, what="x0"):
        pairs = []
        self.treedef = _flatten(tree, what, pairs)
        self.shapes = []
        for path, leaf in pairs:
            dtype = np.asarray(to_numpy(leaf)).dtype
            if dtype.kind not in "fiub":
                raise InputError(
                    f"{path} has dtype {dtype}; SciPy's solvers work with real floating-point vectors.\n"
                    "Hint: pass real float arrays (split complex unknowns into real and imaginary parts)."
                )
            self.shapes.append(tuple(np.shape(to_numpy(leaf))))
        self.sizes = [math.prod(s) for s in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes, dtype=int)]).astype(int)
        self.size = int(self.offsets[-1])
        #: hashable description (structure and shapes), for reusing wrappers of the same problem
        self.signature = (self.treedef, tuple(self.shapes))
        #: True when the tree is already one 1-D array: nothing to wrap
        self.trivial = self.treedef is None and len(self.shapes[0]) == 1
        self.what = what

    def flatten(self, tree) -> np.ndarray:
        """One float64 NumPy vector (a fresh copy) holding every entry of ``tree``."""
        pairs = []
        _flatten(tree, self.what, pairs)
        if [tuple(np.shape(to_numpy(v))) for _, v in pairs] != self.shapes:
            raise InputError(
                f"{self.what}: structure or shapes changed (expected leaves of shapes {self.shapes}).\n"
                "Hint: pass values with the structure of the starting point."
            )
        if not pairs:
            return np.zeros(0)
        return np.concatenate([np.asarray(to_numpy(v), dtype=np.float64).reshape(-1) for _, v in pairs])

    def unflatten(self, z):
        """The pytree whose entries are ``z`` (any array type: slicing and reshaping only)."""
        if self.trivial:
            return z
        o = self.offsets
        parts = iter(z[o[i]:o[i + 1]].reshape(s) for i, s in enumerate(self.shapes))
        return _build(self.treedef, parts)

    def wrap(self, f):
        """``f`` taking a flat vector instead of the pytree (``f`` itself when trivial)."""
        if self.trivial:
            return f

        def flat_f(z, *contexts):
            return f(self.unflatten(z), *contexts)

        return flat_f


def flat_output(y):
    """Ravel an output: an array as a 1-D array, a pytree as the concatenation of its leaves."""
    if not is_tree(y):
        shape = getattr(y, "shape", None)
        if shape is not None and len(shape) == 1:
            return y
        return y.reshape(-1) if shape is not None else np.reshape(np.asarray(y), -1)
    pairs = []
    _flatten(y, "output", pairs)
    leaves = [v for _, v in pairs]
    lib = next((library_of(v) for v in leaves if library_of(v) in ("jax", "torch")), "numpy")
    if lib == "jax":
        import jax.numpy as jnp

        return jnp.concatenate([jnp.reshape(v, (-1,)) for v in leaves])
    if lib == "torch":
        import torch

        return torch.cat([(v if torch.is_tensor(v) else torch.as_tensor(v, dtype=torch.float64)).reshape(-1)
                          for v in leaves])
    return np.concatenate([np.reshape(v, (-1,)) for v in leaves])
