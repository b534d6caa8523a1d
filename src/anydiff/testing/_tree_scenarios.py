"""Structured scenarios: pytree inputs/outputs and several active arguments.

Kept apart from ``_scenarios.py`` (array scenarios with analytic references): the references
here come from JAX (``jax.jacobian``/``jax.hessian`` with ``argnums``, ``jax.jvp``,
``jax.vjp``), which also defines how results nest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .._contexts import Constant

__all__ = ["TreeScenario", "tree_scenarios"]


@dataclass(frozen=True)
class TreeScenario:
    """``make(xp) -> f(*args, *contexts)`` at the active arguments ``args`` (NumPy trees).

    ``scalar`` says whether ``f`` returns a scalar (then gradient, hvp and hessian apply).
    """

    name: str
    make: Callable
    args: tuple
    scalar: bool
    contexts: Callable = field(default=lambda: ())

    def operators(self) -> list:
        ops = ["jacobian", "pushforward", "pullback"]
        return ops + (["gradient", "hvp", "hessian"] if self.scalar else [])

    def __repr__(self):
        return f"TreeScenario({self.name})"


class Params(NamedTuple):
    a: np.ndarray
    b: float


@dataclass
class Layer:
    w: np.ndarray
    b: np.ndarray


def tree_scenarios() -> list:
    """Pytree and multi-argument scenarios (dicts, lists, tuples, NamedTuples, dataclasses)."""

    def dict_scalar(xp):
        return lambda t: xp.sum(xp.sin(t["w"])) * t["s"] + xp.sum(t["b"] ** 2) * t["s"]

    def two_args(xp):
        return lambda u, v, c: xp.stack([u[0] * v[0] * c, xp.sin(u[1]) + v[1], u[2] ** 2])

    def mixed(xp):
        return lambda p, pair: xp.sum(p.a ** 3) * p.b + xp.sum(pair[0] * pair[1]) + p.b ** 2

    def tree_out(xp):
        return lambda x: {"u": x ** 2, "v": (xp.sum(x), x[0] * x[1])}

    def layer(xp):
        return lambda layer, x: xp.sum(xp.tanh(layer.w @ x + layer.b))

    return [
        TreeScenario(
            "dict", dict_scalar,
            ({"w": np.array([[0.1, -0.4], [0.9, 0.3]]), "b": np.array([0.5, -1.0, 2.0]), "s": 0.7},), True,
        ),
        TreeScenario(
            "two-args", two_args, (np.array([0.3, -0.8, 1.1]), np.array([1.5, -0.2])), False,
            contexts=lambda: (Constant(2.0),),
        ),
        TreeScenario(
            "namedtuple-tuple", mixed,
            (Params(np.array([0.2, -0.6]), 1.3), (np.array([1.0, 2.0]), np.array([-0.5, 0.25]))), True,
        ),
        TreeScenario("tree-output", tree_out, (np.array([0.4, -1.1, 0.6]),), False),
        TreeScenario(
            "dataclass", layer,
            (Layer(np.array([[0.2, -0.1], [0.4, 0.3]]), np.array([0.1, -0.2])), np.array([0.5, -0.7])), True,
        ),
    ]


def as_plain_tree(tree):
    """Dataclasses -> dicts (recursively), for references computed with JAX."""
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        return {f.name: as_plain_tree(getattr(tree, f.name)) for f in dataclasses.fields(tree)}
    if isinstance(tree, dict):
        return {k: as_plain_tree(v) for k, v in tree.items()}
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*[as_plain_tree(v) for v in tree])
    if isinstance(tree, (list, tuple)):
        return type(tree)(as_plain_tree(v) for v in tree)
    return tree
