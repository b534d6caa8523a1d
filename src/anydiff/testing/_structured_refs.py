"""References of pytree and multi-argument scenarios: seeds, expected trees, what anydiff refuses."""

from __future__ import annotations

import numpy as np

from .._arrays import from_numpy
from ._pytrees import leaves, nest_hessian, nest_jacobian, ravel, tree_map, unravel

__all__ = ["copy_leaves", "expected_structured", "flat_expected", "structured_gap", "structured_seeds"]


def structured_gap(scenario, op):
    """What anydiff's structured calls (pytrees, several active arguments) refuse, or None."""
    if not scenario.structured:
        return None
    if op == "second_derivative" and [np.ndim(leaf) for leaf in leaves(scenario.actives)] != [0]:
        return "refused by anydiff: ad.second_derivative takes one scalar input (use ad.hessian or ad.hvp)"
    if op == "derivative" and any(np.ndim(leaf) for leaf in leaves(scenario.actives)):
        return "refused by anydiff: ad.derivative needs scalar leaves (use ad.jacobian or ad.pushforward)"
    return None


def structured_seeds(scenario, op, rng, count):
    """Tangents: trees like ``x`` (a tuple over the arguments when multiarg); cotangents: trees like ``y``."""
    like = scenario.y if op == "pullback" else scenario.x
    n = ravel(like).size
    return tuple(unravel(like, rng.standard_normal(n).astype(scenario.dtype)) for _ in range(count))


def expected_structured(scenario, op, seeds):
    """What ``op`` must return, nested as ``jax.jacobian``/``jax.hessian`` nest (``argnums`` tuple if multiarg)."""
    args, y = scenario.actives, scenario.y
    xs = scenario.x  # the tree the results follow: the tuple of arguments when multiarg
    n, m = ravel(args).size, ravel(y).size
    J = np.asarray(scenario.jacobian(*args)).reshape(m, n)
    if op == "pushforward":
        return tuple(unravel(y, J @ ravel(v)) for v in seeds)
    if op == "pullback":
        return tuple(unravel(xs, ravel(w) @ J) for w in seeds)
    if op == "gradient":
        return unravel(xs, J[0])
    if op in ("jacobian", "derivative"):
        return nest_jacobian(J, y, xs)
    if op == "second_derivative":
        return unravel(y, np.ravel(scenario.second_derivative(*args)))
    H = np.asarray(scenario.hessian(*args)).reshape(n, n)
    if op == "hvp":
        return tuple(unravel(xs, H @ ravel(v)) for v in seeds)
    if op == "hessian":
        return nest_hessian(H, xs)
    raise ValueError(op)


def flat_expected(scenario, op: str):
    """The flat ``(m, n)`` Jacobian or ``(n, n)`` Hessian (what ``AutoSparse`` returns for structured calls)."""
    args = scenario.actives
    n, m = ravel(args).size, ravel(scenario.y).size
    if op == "hessian":
        return np.asarray(scenario.hessian(*args)).reshape(n, n)
    return np.asarray(scenario.jacobian(*args)).reshape(m, n)


def copy_leaves(tree, library="numpy"):
    """Copies of the array leaves (Python numbers kept), converted to ``library``."""

    def copy(leaf):
        if library == "numpy":
            return np.array(leaf, copy=True) if isinstance(leaf, np.ndarray) else leaf
        return from_numpy(np.array(leaf, copy=True), library)

    return tree_map(copy, tree)
