"""Structured inputs and outputs (pytrees) <-> the flat float64 vectors SciPy works with.

The structure comes from anydiff's public pytree functions (:func:`anydiff.tree_flatten`,
:func:`anydiff.tree_unflatten`): dicts (keys sorted), lists, tuples, NamedTuples and
dataclasses of arrays and numbers, flattened in the order :func:`anydiff.tree_index_map`
describes; as everywhere in anydiff, a list of plain numbers is one array. The flat vector is
the float64 concatenation of the leaves, as :func:`anydiff.ravel_pytree` makes it; its
``unravel`` is not used inside the user's function, because it converts to NumPy: here
unflattening only slices and reshapes, which works for every array type a backend passes to
the function (NumPy arrays, anydiff's dual arrays and tracers, JAX tracers, torch tensors).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._arrays import library_of, to_numpy
from .._errors import InputError
from .._trees import is_tree_argument, tree_flatten, tree_paths, tree_unflatten

__all__ = ["Flattener", "flat_output", "is_tree"]


def is_tree(value) -> bool:
    """True for a structured value (flattened), False for one array or number."""
    return is_tree_argument(value)


def _leaves(tree, what):
    """``(leaves, treedef, paths)``; a single array (or list of numbers) is one leaf."""
    if not is_tree(tree):
        leaves, treedef, paths = [tree], None, [what]
    else:
        leaves, treedef = tree_flatten(tree)
        paths = tree_paths(treedef, what)
    for path, leaf in zip(paths, leaves):
        if not (isinstance(leaf, (numbers.Number, list, tuple)) or library_of(leaf) != "other"
                or hasattr(leaf, "shape")):
            raise InputError(
                f"{path} is a {type(leaf).__name__}; anydiff.scipy takes arrays, numbers, or dicts, "
                "lists, tuples, NamedTuples and dataclasses of them.\nHint: convert it to a NumPy array first."
            )
    return leaves, treedef, paths


class Flattener:
    """Flatten ``x0``-shaped pytrees to float64 vectors and back.

    Parameters
    ----------
    tree : pytree
        The starting point; fixes the structure, shapes and the order of the flat entries
        (the order of :func:`anydiff.tree_index_map`: dict keys sorted).
    what : str
        Name of the argument, used in error messages.

    Examples
    --------
    >>> import numpy as np
    >>> fl = Flattener({"b": 3.0, "a": np.ones((2, 2))})
    >>> z = fl.flatten({"a": np.eye(2), "b": 5.0}); z
    array([1., 0., 0., 1., 5.])
    >>> fl.unflatten(z)["a"]
    array([[1., 0.],
           [0., 1.]])
    """

    def __init__(self, tree, what="x0"):
        leaves, self.treedef, paths = _leaves(tree, what)
        self.shapes = []
        for path, leaf in zip(paths, leaves):
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
        leaves, treedef, _ = _leaves(tree, self.what)
        if treedef != self.treedef or [tuple(np.shape(to_numpy(v))) for v in leaves] != self.shapes:
            raise InputError(
                f"{self.what}: structure or shapes changed (expected leaves of shapes {self.shapes}).\n"
                "Hint: pass values with the structure of the starting point."
            )
        if not leaves:
            return np.zeros(0)
        return np.concatenate([np.asarray(to_numpy(v), dtype=np.float64).reshape(-1) for v in leaves])

    def unflatten(self, z):
        """The pytree whose entries are ``z`` (any array type: slicing and reshaping only)."""
        if self.trivial:
            return z
        o = self.offsets
        parts = [z[o[i]:o[i + 1]].reshape(s) for i, s in enumerate(self.shapes)]
        return parts[0] if self.treedef is None else tree_unflatten(self.treedef, parts)

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
    leaves = tree_flatten(y)[0]
    lib = next((library_of(v) for v in leaves if library_of(v) in ("jax", "torch")), "numpy")
    if lib == "jax":
        import jax.numpy as jnp

        return jnp.concatenate([jnp.reshape(v, (-1,)) for v in leaves])
    if lib == "torch":
        import torch

        return torch.cat([(v if torch.is_tensor(v) else torch.as_tensor(v, dtype=torch.float64)).reshape(-1)
                          for v in leaves])
    return np.concatenate([np.reshape(v, (-1,)) for v in leaves])
