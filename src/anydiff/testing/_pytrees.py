"""The harness's own view of pytrees: walk, map, ravel and nest, written independently of anydiff's.

References for pytree and multi-argument scenarios are given on the *flattened* problem (one
vector of the active leaves, one vector of the output leaves); this module turns them into what
each operator must return, nested as ``jax.jacobian``/``jax.hessian`` nest (``argnums`` tuple
for several active arguments). The leaf order is anydiff's documented one: depth first, dict
keys sorted. It is re-implemented here so that a bug in anydiff's flattening cannot hide itself.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["array_error", "compare_trees", "is_node", "leaves", "nest_hessian", "nest_jacobian", "paths", "ravel", "structure",
           "tree_map", "unravel"]


def is_node(obj) -> bool:
    """Containers of a pytree: dict, list, tuple, NamedTuple and dataclass instances."""
    if isinstance(obj, (dict, list, tuple)):
        return True
    return dataclasses.is_dataclass(obj) and not isinstance(obj, type)


def _key(k):
    return ("", k) if isinstance(k, str) else (type(k).__name__, k)


def _children(obj):
    """``(labels, children, rebuild)`` of a container."""
    if isinstance(obj, dict):
        keys = sorted(obj, key=_key)
        return keys, [obj[k] for k in keys], lambda vs: dict(zip(keys, vs))
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return list(obj._fields), list(obj), lambda vs: type(obj)(*vs)
    if isinstance(obj, (list, tuple)):
        return list(range(len(obj))), list(obj), (lambda vs: type(obj)(vs))
    names = [f.name for f in dataclasses.fields(obj)]
    return names, [getattr(obj, n) for n in names], lambda vs: type(obj)(**dict(zip(names, vs)))


def leaves(tree) -> list:
    """Leaves in anydiff's order (depth first, dict keys sorted); a non-container is one leaf."""
    if not is_node(tree):
        return [tree]
    return [leaf for child in _children(tree)[1] for leaf in leaves(child)]


def paths(tree, prefix: str = "") -> list[str]:
    """Where each leaf sits (``[0]['w']``, ``.W``), in the order of :func:`leaves`."""
    if not is_node(tree):
        return [prefix or "(the array)"]
    labels, children, _ = _children(tree)
    attr = (isinstance(tree, tuple) and hasattr(tree, "_fields")) or not isinstance(tree, (dict, list, tuple))
    return [p for lab, c in zip(labels, children)
            for p in paths(c, f"{prefix}.{lab}" if attr else f"{prefix}[{lab!r}]")]


def tree_map(fun, tree):
    """The same structure with ``fun(leaf)`` at every leaf."""
    if not is_node(tree):
        return fun(tree)
    _, children, rebuild = _children(tree)
    return rebuild([tree_map(fun, c) for c in children])


def structure(tree):
    """A comparable description of the containers (types, keys, lengths), leaves as ``"*"``."""
    if not is_node(tree):
        return "*"
    labels, children, _ = _children(tree)
    return (type(tree).__name__, tuple(labels), tuple(structure(c) for c in children))


def _size(leaf) -> int:
    return int(np.prod(np.shape(leaf), dtype=int))


def ravel(tree, dtype=None) -> np.ndarray:
    """All leaves raveled and concatenated (NumPy)."""
    parts = [np.ravel(np.asarray(leaf)) for leaf in leaves(tree)]
    flat = np.concatenate(parts) if parts else np.zeros(0)
    return flat if dtype is None else flat.astype(dtype)


def unravel(template, flat):
    """A tree like ``template`` filled from ``flat`` (every leaf a NumPy array of the template's shape)."""
    return _blocks(template, np.asarray(flat).reshape(1, -1), ())


def _blocks(template, rows, row_shape):
    """Cut the columns of ``rows`` (shape ``(len, n)``) along the leaves of ``template``."""
    offset = [0]

    def take(leaf):
        n = _size(leaf)
        block = rows[:, offset[0]:offset[0] + n].reshape(tuple(row_shape) + np.shape(leaf))
        offset[0] += n
        return block

    return tree_map(take, template)


def nest_jacobian(J, y_template, x_template):
    """Flat ``(m, n)`` Jacobian -> a tree like ``y`` of trees like ``x`` (blocks ``y_leaf.shape + x_leaf.shape``)."""
    offset = [0]

    def row(leaf):
        m = _size(leaf)
        block = _blocks(x_template, J[offset[0]:offset[0] + m], np.shape(leaf))
        offset[0] += m
        return block

    return tree_map(row, y_template)


def nest_hessian(H, x_template):
    """Flat ``(n, n)`` Hessian -> a tree like ``x`` of trees like ``x``."""
    return nest_jacobian(H, x_template, x_template)


def compare_trees(got, want, rtol, atol, dense) -> tuple[float, list[str]]:
    """``(max abs error, problems)``: same structure, then every leaf's shape and values."""
    if structure(got) != structure(want):
        return np.inf, [f"structure {_show(structure(got))} != expected {_show(structure(want))}"]
    worst, problems = 0.0, []
    for where, a, b in zip(paths(want), leaves(got), leaves(want)):
        a = dense(a)
        if np.shape(a) != np.shape(b):
            return np.inf, [f"leaf {where}: shape {np.shape(a)} != expected {np.shape(b)}"]
        err, problem = array_error(a, b, rtol, atol)
        worst = max(worst, err)
        if problem:
            problems.append(f"leaf {where}: {problem}")
    return worst, problems


def array_error(a, b, rtol, atol) -> tuple[float, str | None]:
    """``(max abs error, problem)`` of an array against its reference of the same shape;
    ``problem`` is None within the tolerances."""
    err = float(np.max(np.abs(a - b), initial=0.0))
    if np.allclose(a, b, rtol=rtol, atol=atol):
        return err, None
    return err, f"max abs error {err:.3g} (rtol={rtol}, atol={atol})"


def _show(s) -> str:
    if s == "*":
        return "array"
    kind, labels, children = s
    inner = ", ".join(f"{lab}: {_show(c)}" if kind not in ("list", "tuple") else _show(c)
                      for lab, c in zip(labels, children))
    return f"{kind}({inner})"
