"""Reusable test scenarios: functions with analytic reference derivatives.

A :class:`Scenario` holds a function *factory* ``make(xp)`` that writes the function with
the array namespace ``xp`` (``numpy``, ``jax.numpy``, ``torch`` or ``autograd.numpy``), an
input point, and analytic references: the Jacobian (shape ``y.shape + x.shape``), the Hessian
for scalar outputs and the second derivative for scalar inputs. The expected value of every
operator is derived from these (pushforward = J v, pullback = wᵀ J, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._contexts import Cache, Constant
from ._pytrees import is_node, leaves

__all__ = ["Scenario", "default_scenarios", "namespace_for"]


@dataclass(frozen=True)
class Scenario:
    """A function, a point and analytic derivatives.

    Parameters
    ----------
    name : str
    make : callable
        ``make(xp) -> f``; ``f(x, *contexts)`` or, if ``inplace``, ``f(y, x, *contexts)``;
        with ``multiarg``, ``f(x1, x2, ..., *contexts)``.
    x : numpy.ndarray, pytree, or tuple of active arguments
        The point: one array; or a pytree (nested dict, list, tuple, NamedTuple or dataclass
        of arrays and floats) passed as one argument; or, with ``multiarg=True``, a tuple
        whose entries (arrays or pytrees) are passed as separate active arguments
        (``ad.gradient(f, backend, x1, x2, *contexts)``).
    value : callable
        ``value(*args) -> y`` in NumPy (reference value; ``args`` = :attr:`actives`, so
        ``value(x)`` for one argument). ``y`` may be a pytree.
    jacobian : callable
        ``jacobian(*args) -> J`` with shape ``y.shape + x.shape``. For pytree or
        multi-argument scenarios (:attr:`structured`): the Jacobian of the *flattened*
        problem, shape ``(m, n)``, where the ``n`` columns are the leaves of the active
        arguments and the ``m`` rows the leaves of ``y``, raveled in anydiff's order (depth
        first, dict keys sorted: the order of :func:`anydiff.ravel_pytree` and
        :func:`anydiff.tree_index_map`). The harness nests it as ``jax.jacobian`` does.
    hessian : callable, optional
        For scalar outputs: ``hessian(*args)`` with shape ``x.shape + x.shape``, or ``(n, n)``
        on the flattened arguments for structured scenarios.
    second_derivative : callable, optional
        For scalar inputs: ``second_derivative(x)`` with the shape of ``y``.
    inplace : bool
    contexts : callable
        ``contexts() -> tuple`` of fresh :class:`Constant`/:class:`Cache` objects.
    complex : bool
        Holomorphic function at a complex point (forward operators only).
    tags : frozenset of str
        Free labels to select scenarios by (``"sparse"``, ``"pytree"``, ``"multiarg"`` ...);
        :attr:`all_tags` adds the ones implied by the fields (``"inplace"``, ``"complex"``,
        ``"contexts"``, ``"float32"``, ``"sparse"``, ``"pytree"``, ``"multiarg"``).
    batch : int
        Number of seeds given to ``pushforward``, ``pullback`` and ``hvp``.
    ops : tuple of str, optional
        The operators to test; default: every operator that makes sense (:meth:`operators`).
    pattern : callable, optional
        ``pattern() -> scipy.sparse`` boolean array: the true sparsity pattern of the Jacobian
        (or of the Hessian, for scalar outputs); sparse results must have exactly its nonzeros.
    multiarg : bool
        ``x`` is a tuple of active arguments (see ``x``).

    Examples
    --------
    >>> import numpy as np
    >>> from anydiff.testing import Scenario
    >>> sc = Scenario("square", lambda xp: lambda x: x * x, np.array([1.0, 2.0]),
    ...               value=lambda x: x * x, jacobian=lambda x: np.diag(2 * x))
    >>> sc.operators()
    ['pushforward', 'jacobian', 'pullback']

    Two active arguments, a dict and an array, and a scalar output. The references take the
    active arguments as ``f`` does; the Jacobian is one row over the flattened arguments
    ``(p["a"], p["b"], u)``:

    >>> from anydiff.testing import test_differentiation
    >>> two = Scenario(
    ...     "dict and array", lambda xp: lambda p, u: p["a"] * xp.sum(u**2) + p["b"],
    ...     ({"a": np.array(2.0), "b": np.array(0.5)}, np.array([1.0, 3.0])), multiarg=True,
    ...     value=lambda p, u: p["a"] * np.sum(u**2) + p["b"],
    ...     jacobian=lambda p, u: np.concatenate([[np.sum(u**2), 1.0], 2 * p["a"] * u])[None, :])
    >>> sorted(two.all_tags), two.operators()
    (['multiarg', 'pytree'], ['pushforward', 'jacobian', 'pullback', 'gradient'])
    >>> import anydiff as ad
    >>> results = test_differentiation([ad.AutoNumPy()], [two], variants=("plain", "prepared_twice", "out"))
    >>> sorted({(r.variant, r.status) for r in results})
    [('out', 'pass'), ('plain', 'pass'), ('prepared_twice', 'pass')]
    """

    name: str
    make: Callable
    x: np.ndarray
    value: Callable
    jacobian: Callable
    hessian: Callable | None = None
    second_derivative: Callable | None = None
    inplace: bool = False
    contexts: Callable = field(default=lambda: ())
    complex: bool = False
    tags: frozenset = frozenset()
    batch: int = 2
    ops: tuple | None = None
    pattern: Callable | None = None
    multiarg: bool = False

    @property
    def all_tags(self) -> frozenset:
        """:attr:`tags` plus the tags implied by the fields."""
        implied = {"inplace": self.inplace, "complex": self.complex, "contexts": bool(self.contexts()),
                   "float32": self.dtype == np.float32, "sparse": self.pattern is not None,
                   "multiarg": self.multiarg, "pytree": any(is_node(a) for a in self.actives) or is_node(self.y)}
        return frozenset(self.tags) | {k for k, v in implied.items() if v}

    @property
    def actives(self) -> tuple:
        """The active arguments: ``x`` as a tuple for ``multiarg`` scenarios, else ``(x,)``."""
        return tuple(self.x) if self.multiarg else (self.x,)

    @property
    def structured(self) -> bool:
        """Several active arguments, a pytree ``x`` or a pytree output (anydiff's structured path)."""
        return self.multiarg or is_node(self.x) or is_node(self.y)

    @property
    def y(self):
        """The reference value ``value(*actives)``."""
        return self.value(*self.actives)

    @property
    def dtype(self) -> np.dtype:
        """The common dtype of the input leaves (Python floats count as float64)."""
        return np.result_type(*[np.asarray(leaf) for leaf in leaves(self.actives)])

    @property
    def y_shape(self):
        return np.shape(self.y)

    def operators(self) -> list[str]:
        """The operators that make sense for this scenario (or :attr:`ops` when given)."""
        if self.ops is not None:
            return list(self.ops)
        if self.structured:
            return self._structured_operators()
        ops = ["pushforward", "jacobian"]
        if not self.complex:
            ops.append("pullback")
        scalar_in, scalar_out = self.x.shape == (), self.y_shape == ()
        if scalar_in:
            ops.append("derivative")
        if scalar_out and not self.inplace and not self.complex:
            ops.append("gradient")
        if self.hessian is not None:
            ops += ["hvp", "hessian"]
        if self.second_derivative is not None:
            ops.append("second_derivative")
        return ops

    def _structured_operators(self) -> list[str]:
        ops = ["pushforward", "jacobian"] + ([] if self.complex else ["pullback"])
        scalars = [np.ndim(leaf) == 0 for leaf in leaves(self.actives)]
        if all(scalars):
            ops.append("derivative")
        if self.second_derivative is not None and scalars == [True] and not self.inplace:
            ops.append("second_derivative")
        if not is_node(self.y) and self.y_shape == () and not self.complex and not self.inplace:
            ops.append("gradient")
        return ops + (["hvp", "hessian"] if self.hessian is not None else [])

    def __repr__(self):
        return f"Scenario({self.name})"


def namespace_for(library: str):
    """The array namespace a backend's functions are written with."""
    if library == "jax":
        import jax.numpy as jnp

        return jnp
    if library == "torch":
        import torch

        return torch
    if library == "autograd":
        import autograd.numpy as anp

        return anp
    return np


def _stack(xp, items):
    return xp.stack(items)


def default_scenarios() -> list[Scenario]:
    """The standard scenario list (scalar, vector, matrix, in-place, contexts, complex).

    Examples
    --------
    >>> from anydiff.testing import default_scenarios
    >>> [sc.name for sc in default_scenarios()][:3]
    ['scalar->scalar', 'scalar->vector', 'vector->scalar']
    """
    rng = np.random.default_rng(0)
    x3 = np.array([0.7, -1.2, 2.1])
    X = rng.uniform(-1, 1, (3, 3))
    z = np.array([0.3 + 0.4j, -0.5 + 0.1j])

    def s2s(xp):
        return lambda t: xp.sin(t) * xp.exp(t)

    def s2v(xp):
        return lambda t: _stack(xp, [xp.sin(t), t * t, xp.exp(2 * t)])

    def v2s(xp):
        return lambda x: xp.sum(xp.sin(x) * x) + x[0] * x[1]

    def v2v(xp):
        return lambda x: xp.sin(x) * x[0]

    def wide(xp):  # n > m: reverse mode is the cheaper side
        return lambda x: _stack(xp, [xp.sum(x * x), x[0] * x[1] * x[2]])

    def m2m(xp):
        return lambda X: X @ X

    def m2s(xp):
        return lambda X: xp.sum(X**3) + X[0, 1] * X[1, 0]

    def inplace(xp):
        def f(y, x):
            y[0] = x[0] * x[1]
            y[1] = xp.sin(x[2])
            y[2] = x[0] ** 2

        return f

    def const(xp):
        return lambda x, a: a * xp.sum(x**2) + x[0]

    def cache(xp):
        def f(x, buf):
            buf[:] = x**2
            return buf * x[1]

        return f

    def holo(xp):
        return lambda z: z**2 + xp.sin(z) * z[0]

    I3 = np.eye(3)
    return [
        Scenario(
            "scalar->scalar", s2s, np.array(0.4),
            value=lambda t: np.sin(t) * np.exp(t),
            jacobian=lambda t: np.exp(t) * (np.sin(t) + np.cos(t)),
            hessian=lambda t: 2 * np.exp(t) * np.cos(t),
            second_derivative=lambda t: 2 * np.exp(t) * np.cos(t),
        ),
        Scenario(
            "scalar->vector", s2v, np.array(0.3),
            value=lambda t: np.array([np.sin(t), t * t, np.exp(2 * t)]),
            jacobian=lambda t: np.array([np.cos(t), 2 * t, 2 * np.exp(2 * t)]),
            second_derivative=lambda t: np.array([-np.sin(t), 2.0, 4 * np.exp(2 * t)]),
        ),
        Scenario(
            "vector->scalar", v2s, x3,
            value=lambda x: np.sum(np.sin(x) * x) + x[0] * x[1],
            jacobian=lambda x: np.sin(x) + x * np.cos(x) + np.array([x[1], x[0], 0.0]),
            hessian=lambda x: np.diag(2 * np.cos(x) - x * np.sin(x)) + np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0.0]]),
        ),
        Scenario(
            "vector->vector", v2v, x3,
            value=lambda x: np.sin(x) * x[0],
            jacobian=lambda x: np.diag(np.cos(x) * x[0]) + np.outer(np.sin(x), I3[0]),
        ),
        Scenario(
            "vector->vector (n > m)", wide, x3,
            value=lambda x: np.array([np.sum(x * x), x[0] * x[1] * x[2]]),
            jacobian=lambda x: np.array([2 * x, [x[1] * x[2], x[0] * x[2], x[0] * x[1]]]),
        ),
        Scenario(
            "matrix->matrix", m2m, X,
            value=lambda X: X @ X,
            jacobian=lambda X: np.einsum("ik,lj->ijkl", np.eye(3), X) + np.einsum("ik,jl->ijkl", X, np.eye(3)),
        ),
        Scenario(
            "matrix->scalar", m2s, X,
            value=lambda X: np.sum(X**3) + X[0, 1] * X[1, 0],
            jacobian=lambda X: 3 * X**2 + np.array([[0, X[1, 0], 0], [X[0, 1], 0, 0], [0, 0, 0]]),
            hessian=_m2s_hessian,
        ),
        Scenario(
            "in-place", inplace, x3, inplace=True,
            value=lambda x: np.array([x[0] * x[1], np.sin(x[2]), x[0] ** 2]),
            jacobian=lambda x: np.array([[x[1], x[0], 0], [0, 0, np.cos(x[2])], [2 * x[0], 0, 0]]),
        ),
        Scenario(
            "constant context", const, x3, contexts=lambda: (Constant(2.5),),
            value=lambda x: 2.5 * np.sum(x**2) + x[0],
            jacobian=lambda x: 5.0 * x + I3[0],
            hessian=lambda x: 5.0 * I3,
        ),
        Scenario(
            "cache context", cache, x3, contexts=lambda: (Cache(np.zeros(3)),),
            value=lambda x: x**2 * x[1],
            jacobian=lambda x: np.diag(2 * x * x[1]) + np.outer(x**2, I3[1]),
        ),
        Scenario(
            "complex holomorphic", holo, z, complex=True,
            value=lambda z: z**2 + np.sin(z) * z[0],
            jacobian=lambda z: np.diag(2 * z + np.cos(z) * z[0]) + np.outer(np.sin(z), np.eye(2)[0]),
        ),
    ]


def _m2s_hessian(X):
    n = X.size
    H = np.diag((6 * X).ravel())
    i, j = np.ravel_multi_index((0, 1), X.shape), np.ravel_multi_index((1, 0), X.shape)
    H[i, j] += 1
    H[j, i] += 1
    return H.reshape(X.shape + X.shape) if n else H
