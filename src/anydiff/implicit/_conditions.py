"""Conditions for common solvers: fixed points and minimisers."""

from __future__ import annotations

import numpy as np

__all__ = ["fixed_point_conditions", "optimality_conditions"]


def fixed_point_conditions(T):
    """Conditions ``F(x, y) = T(x, y) - y`` of a fixed-point iteration ``y = T(x, y)``.

    Parameters
    ----------
    T : callable
        ``T(x, y, *contexts) -> y``, the map iterated by the solver.

    Returns
    -------
    callable
        ``conditions(x, y, *contexts)`` for :func:`implicit_function`.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> T = lambda x, y: 0.5 * np.cos(y) + x          # a contraction in y
    >>> def solver(x):
    ...     y = np.zeros_like(x)
    ...     for _ in range(100):
    ...         y = T(x, y)
    ...     return y
    >>> g = ad.implicit_function(solver, ad.fixed_point_conditions(T))
    >>> x = np.array([0.3, 0.7])
    >>> y = g(x)
    >>> exact = 1.0 / (1.0 + 0.5 * np.sin(y))          # dy/dx from y = 0.5 cos y + x
    >>> np.allclose(np.diag(ad.jacobian(g, ad.AutoNumPy(), x)), exact)
    True
    """

    def conditions(x, y, *ctx):
        return T(x, y, *ctx) - y

    conditions.__name__ = f"fixed_point_conditions({getattr(T, '__name__', 'T')})"
    return conditions


def optimality_conditions(objective, backend=None):
    """Conditions ``F(x, y) = ∇_y objective(x, y)`` of a minimiser ``y(x) = argmin_y objective``.

    The gradient is taken with ``backend`` in a form the same backend can differentiate again
    (``jax.grad``, ``torch.func.grad``, ``autograd.grad`` or AutoNumPy's nested duals), so pass
    the same backend to :func:`implicit_function`. ∂F/∂y is the Hessian of the objective in
    ``y``: symmetric, so ``linear_solver="cg"`` applies when it is positive definite.

    Parameters
    ----------
    objective : callable
        ``objective(x, y, *contexts) -> scalar``.
    backend : Backend or str, optional
        Default ``AutoNumPy()``.

    Returns
    -------
    callable
        ``conditions(x, y, *contexts)`` for :func:`implicit_function`.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> objective = lambda lam, y: np.sum((y - 1.0) ** 2) + lam[0] * np.sum(y**2)
    >>> solver = lambda lam: np.full(3, 1.0 / (1.0 + lam[0]))
    >>> g = ad.implicit_function(solver, ad.optimality_conditions(objective))
    >>> ad.jacobian(g, ad.AutoNumPy(), np.array([1.0]))[:, 0]      # -1/(1+λ)²
    array([-0.25, -0.25, -0.25])
    """
    from ..backends import AutoNumPy, FunctionSpec, resolve_backend

    backend = AutoNumPy() if backend is None else resolve_backend(backend)
    grads = {}

    def swapped(y, x, *ctx):
        return objective(x, y, *ctx)

    def gradient_in_y(x, y, *ctx):
        key = (np.shape(y), len(ctx))
        if key not in grads:
            spec = FunctionSpec(tuple(np.shape(y)), np.float64, (), np.float64, False,
                                ("constant",) * (1 + len(ctx)), backend.library)
            grads[key] = backend.raw_gradient(swapped, spec)
        if backend.name == "numpy":
            y = _lift_to(y, x)
        return grads[key](y, x, *ctx)

    def sparsity(x, y, *ctx):  # ∂F/∂y is the Hessian in y: detected on the objective itself
        from ..sparse import hessian_sparsity

        return hessian_sparsity(swapped, y, x, *ctx)

    name = f"optimality_conditions({getattr(objective, '__name__', 'objective')})"
    return Conditions(gradient_in_y, name, dy_sparsity=sparsity)


class Conditions:
    """Conditions ``F(x, y, *contexts)`` together with what anydiff knows about them.

    Returned by :func:`optimality_conditions`; a plain callable for :func:`implicit_function`
    (which reads ``dy_sparsity`` instead of looking inside ``F``).

    Parameters
    ----------
    fun : callable
        ``fun(x, y, *contexts) -> F``.
    name : str
        Shown in ``repr`` and error messages.
    dy_sparsity : callable, optional
        ``dy_sparsity(x, y, *contexts)``: the boolean pattern of ∂F/∂y (a scipy.sparse
        array), used where tracing ``fun`` itself would fail.

    Examples
    --------
    >>> import numpy as np
    >>> from anydiff.implicit._conditions import Conditions
    >>> F = Conditions(lambda x, y: y - x, "y - x")
    >>> F(np.array([1.0]), np.array([3.0])), F.dy_sparsity is None
    (array([2.]), True)
    """

    def __init__(self, fun, name, *, dy_sparsity=None):
        self.fun, self.__name__, self.dy_sparsity = fun, name, dy_sparsity

    def __call__(self, x, y, *ctx):
        return self.fun(x, y, *ctx)

    def __repr__(self):
        return self.__name__


def _lift_to(y, x):
    """Give ``y`` the dual level of ``x`` (zero tangents), so that AutoNumPy's inner gradient
    in ``y`` nests *inside* the outer perturbation of ``x`` instead of mixing with it."""
    from ..dual import Dual, level

    if level(x) > level(y):
        if level(x) > 1:
            return y  # deeper nesting: not produced by implicit_function (first order only)
        return Dual(y, np.zeros((x.tangent.shape[0],) + np.shape(y), dtype=np.result_type(y, x.tangent)))
    return y
