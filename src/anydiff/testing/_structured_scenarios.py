"""Pytree and multi-argument scenarios, with analytic references on the flattened problem.

Each reference Jacobian (Hessian) is written by hand as the ``(m, n)`` (``(n, n)``) matrix of
the flattened problem: columns are the leaves of the active arguments, rows the leaves of the
output, both raveled in anydiff's order (depth first, dict keys sorted). No AD backend is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._contexts import Constant
from ._scenarios import Scenario

__all__ = ["Layer", "Params", "structured_scenarios"]


class Params(NamedTuple):
    """A NamedTuple input of :func:`structured_scenarios`."""

    a: np.ndarray
    b: np.ndarray


@dataclass
class Layer:
    """A dataclass input of :func:`structured_scenarios` (the weights of a dense layer)."""

    W: np.ndarray
    b: np.ndarray


def _dict_scalar():
    """``{"b": (3,), "s": float, "w": (2, 2)}`` -> scalar; flat order b, s, w."""

    def make(xp):
        return lambda t: t["s"] * xp.sum(xp.sin(t["w"])) + t["s"] * xp.sum(t["b"] ** 2)

    def value(t):
        return t["s"] * np.sum(np.sin(t["w"])) + t["s"] * np.sum(t["b"] ** 2)

    def gradient(t):
        b, s, w = t["b"], t["s"], np.ravel(t["w"])
        return np.concatenate([2 * s * b, [np.sum(np.sin(w)) + np.sum(b**2)], s * np.cos(w)])

    def hessian(t):
        b, s, w = t["b"], t["s"], np.ravel(t["w"])
        H = np.zeros((8, 8))
        H[:3, :3] = 2 * s * np.eye(3)
        H[:3, 3] = H[3, :3] = 2 * b
        H[3, 4:] = H[4:, 3] = np.cos(w)
        H[4:, 4:] = np.diag(-s * np.sin(w))
        return H

    x = {"w": np.array([[0.1, -0.4], [0.9, 0.3]]), "b": np.array([0.5, -1.0, 2.0]), "s": 0.7}
    return Scenario("pytree dict->scalar", make, x, value=value, jacobian=lambda t: gradient(t)[None, :],
                    hessian=hessian)


def _namedtuple_to_dict():
    """``Params(a=(3,), b=(2,))`` -> ``{"u": (3,), "v": (scalar, scalar)}``; columns a, b; rows u, v[0], v[1]."""

    def make(xp):
        return lambda p: {"u": p.a * p.b[0], "v": (xp.sum(p.a**2), p.b[1] * p.a[0])}

    def value(p):
        return {"u": p.a * p.b[0], "v": (np.sum(p.a**2), p.b[1] * p.a[0])}

    def jacobian(p):
        a, b = p.a, p.b
        J = np.zeros((5, 5))
        J[:3, :3] = b[0] * np.eye(3)
        J[:3, 3] = a
        J[3, :3] = 2 * a
        J[4, 0], J[4, 4] = b[1], a[0]
        return J

    x = Params(np.array([0.3, -1.2, 0.8]), np.array([1.5, -0.6]))
    return Scenario("pytree namedtuple->dict", make, x, value=value, jacobian=jacobian)


def _nested_list_to_tuple():
    """``[p (2,), (M (2, 2), c ())]`` -> ``(p * c, M @ p)``; columns p, M, c."""

    def make(xp):
        return lambda t: (t[0] * t[1][1], t[1][0] @ t[0])

    def value(t):
        return (t[0] * t[1][1], t[1][0] @ t[0])

    def jacobian(t):
        p, (M, c) = t
        J = np.zeros((4, 7))
        J[:2, :2] = c * np.eye(2)
        J[:2, 6] = p
        J[2:, :2] = M
        J[2:, 2:6] = np.kron(np.eye(2), p)  # d(M p)_i / dM_kj = delta_ik p_j
        return J

    x = [np.array([0.6, -0.9]), (np.array([[1.0, 0.5], [-0.3, 2.0]]), np.array(1.4))]
    return Scenario("pytree nested list->tuple", make, x, value=value, jacobian=jacobian)


def _vector_to_dict():
    """An array in, a tree out: ``x (3,)`` -> ``{"u": x², "v": (sum(x), x0 x1)}``; rows u, v[0], v[1]."""

    def make(xp):
        return lambda x: {"u": x**2, "v": (xp.sum(x), x[0] * x[1])}

    def jacobian(x):
        return np.vstack([np.diag(2 * x), np.ones(3), [x[1], x[0], 0.0]])

    return Scenario("pytree vector->dict", make, np.array([0.4, -1.1, 0.6]),
                    value=lambda x: {"u": x**2, "v": (np.sum(x), x[0] * x[1])}, jacobian=jacobian)


def _two_args_scalar():
    """``f(u (3,), V (2, 2), c) = c sum(u²) V[0, 0] + sum(sin V) u[1]``; columns u, V."""

    def make(xp):
        return lambda u, V, c: c * xp.sum(u**2) * V[0, 0] + xp.sum(xp.sin(V)) * u[1]

    c = 1.5

    def value(u, V):
        return c * np.sum(u**2) * V[0, 0] + np.sum(np.sin(V)) * u[1]

    def gradient(u, V):
        gu = 2 * c * V[0, 0] * u + np.sum(np.sin(V)) * np.eye(3)[1]
        gV = np.cos(V).ravel() * u[1]
        gV[0] += c * np.sum(u**2)
        return np.concatenate([gu, gV])

    def hessian(u, V):
        H = np.zeros((7, 7))
        H[:3, :3] = 2 * c * V[0, 0] * np.eye(3)
        H[:3, 3] += 2 * c * u
        H[1, 3:] += np.cos(V).ravel()
        H[3:, :3] = H[:3, 3:].T
        H[3:, 3:] = np.diag(-np.sin(V).ravel() * u[1])
        return H

    x = (np.array([0.4, -0.7, 1.1]), np.array([[0.9, -0.2], [0.3, 0.6]]))
    return Scenario("multiarg (vector, matrix, Constant)->scalar", make, x, multiarg=True,
                    contexts=lambda: (Constant(c),), value=value,
                    jacobian=lambda u, V: gradient(u, V)[None, :], hessian=hessian)


def _two_args_vector():
    """``f(u (3,), v (2,), c) = [u0 v0 c, sin(u1) + v1, u2²]``; columns u, v."""

    def make(xp):
        return lambda u, v, c: xp.stack([u[0] * v[0] * c, xp.sin(u[1]) + v[1], u[2] ** 2])

    c = 2.0

    def value(u, v):
        return np.array([u[0] * v[0] * c, np.sin(u[1]) + v[1], u[2] ** 2])

    def jacobian(u, v):
        return np.array([[v[0] * c, 0, 0, u[0] * c, 0], [0, np.cos(u[1]), 0, 0, 1], [0, 0, 2 * u[2], 0, 0]])

    x = (np.array([0.3, -0.8, 1.1]), np.array([1.5, -0.2]))
    return Scenario("multiarg (vector, vector, Constant)->vector", make, x, multiarg=True,
                    contexts=lambda: (Constant(c),), value=value, jacobian=jacobian)


def _layer_and_input():
    """``f(layer, x) = sum(tanh(W x + b))`` with a dataclass ``layer``; columns W, b, x."""

    def make(xp):
        return lambda layer, x: xp.sum(xp.tanh(layer.W @ x + layer.b))

    def parts(layer, x):
        t = np.tanh(layer.W @ x + layer.b)
        A = np.hstack([np.kron(np.eye(2), x), np.eye(2), layer.W])  # dz/d(W, b, x), z = W x + b
        return t, 1 - t**2, A

    def jacobian(layer, x):
        _, s, A = parts(layer, x)
        return (s @ A)[None, :]

    def hessian(layer, x):
        t, s, A = parts(layer, x)
        H = A.T @ np.diag(-2 * t * s) @ A
        for i in range(2):  # d²z_i / dW_ij dx_j = 1, weighted by s_i
            for j in range(2):
                H[2 * i + j, 6 + j] += s[i]
                H[6 + j, 2 * i + j] += s[i]
        return H

    x = (Layer(np.array([[0.2, -0.1], [0.4, 0.3]]), np.array([0.1, -0.2])), np.array([0.5, -0.7]))
    return Scenario("pytree+multiarg (dataclass, vector)->scalar", make, x, multiarg=True,
                    value=lambda layer, x: np.sum(np.tanh(layer.W @ x + layer.b)), jacobian=jacobian,
                    hessian=hessian)


def _scalar_to_tree():
    """A scalar in, a tree out: ``t`` -> ``{"p": t³, "q": (sin t, t eˣ)}``; first and second derivatives."""

    def make(xp):
        return lambda t: {"p": t**3, "q": (xp.sin(t), t * xp.exp(t))}

    def value(t):
        return {"p": t**3, "q": (np.sin(t), t * np.exp(t))}

    def jacobian(t):
        return np.array([[3 * t**2], [np.cos(t)], [(1 + t) * np.exp(t)]])

    def second_derivative(t):
        return np.array([6 * t, -np.sin(t), (2 + t) * np.exp(t)])

    return Scenario("pytree scalar->dict", make, np.array(0.7), value=value, jacobian=jacobian,
                    second_derivative=second_derivative)


def _inplace_two_args():
    """In place, ``f(y, u (2,), p {"k": float}, c)``; columns u0, u1, k."""
    c = 2.0

    def make(xp):
        def f(y, u, p, c):
            y[0] = c * u[0] * p["k"]
            y[1] = xp.sin(u[1]) + p["k"] ** 2
            y[2] = u[0] * u[1]

        return f

    def value(u, p):
        return np.array([c * u[0] * p["k"], np.sin(u[1]) + p["k"] ** 2, u[0] * u[1]])

    def jacobian(u, p):
        k = p["k"]
        return np.array([[c * k, 0.0, c * u[0]], [0.0, np.cos(u[1]), 2 * k], [u[1], u[0], 0.0]])

    x = (np.array([0.8, -0.4]), {"k": 0.5})
    return Scenario("in-place multiarg (vector, dict, Constant)->vector", make, x, multiarg=True, inplace=True,
                    contexts=lambda: (Constant(c),), value=value, jacobian=jacobian)


def structured_scenarios() -> list[Scenario]:
    """Pytree and multi-argument scenarios (tags ``"pytree"``, ``"multiarg"``).

    A dict, a NamedTuple, a nested list/tuple and a dataclass as inputs; dict and tuple
    outputs (also of an array input, and of a scalar input with its second derivative); an in-place
    ``f(y, u, p)``; two active arguments of different shapes with a :class:`~anydiff.Constant`; and
    one scenario that is both, also at float32 (first order). Every reference is analytic, written on the flattened problem
    (see :class:`Scenario`). :func:`test_differentiation` runs them by default.

    Examples
    --------
    >>> from anydiff.testing import structured_scenarios
    >>> for sc in structured_scenarios():
    ...     print(f"{sc.name:45} {sorted(sc.all_tags & {'pytree', 'multiarg'})}")
    pytree dict->scalar                           ['pytree']
    pytree namedtuple->dict                       ['pytree']
    pytree nested list->tuple                     ['pytree']
    pytree vector->dict                           ['pytree']
    multiarg (vector, matrix, Constant)->scalar   ['multiarg']
    multiarg (vector, vector, Constant)->vector   ['multiarg']
    pytree+multiarg (dataclass, vector)->scalar   ['multiarg', 'pytree']
    pytree+multiarg (dataclass, vector)->scalar [float32] ['multiarg', 'pytree']
    pytree scalar->dict                           ['pytree']
    in-place multiarg (vector, dict, Constant)->vector ['multiarg', 'pytree']
    """
    from dataclasses import replace

    from ._transform import change_dtype

    layer = _layer_and_input()
    single = replace(change_dtype(layer), hessian=None)  # first order: results must stay float32 leaf by leaf
    return [_dict_scalar(), _namedtuple_to_dict(), _nested_list_to_tuple(), _vector_to_dict(), _two_args_scalar(),
            _two_args_vector(), layer, single, _scalar_to_tree(), _inplace_two_args()]
