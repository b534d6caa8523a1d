"""AutoNumPy: exact derivatives of unmodified NumPy code with anydiff's own forward mode.

``f`` runs once on a :class:`~anydiff.dual.Dual` carrying all ``B`` tangents on a leading
axis, so a pushforward of ``B`` directions (a whole Jacobian, with ``B = n``) is one
vectorized evaluation. Second order is forward-over-forward with nested duals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._errors import InputError, TracingError
from ._base import MAX_BATCH_ELEMENTS, Backend, FunctionSpec

__all__ = ["AutoNumPy"]


@dataclass(frozen=True)
class AutoNumPy(Backend):
    """anydiff's vectorized forward mode on plain NumPy/SciPy code (no rewrite needed).

    ``f`` is called once on a dual array that carries every tangent of the batch, so a
    dense Jacobian costs one evaluation with ``n`` stacked tangents. Elementwise functions
    (NumPy ufuncs and ``scipy.special``) take their derivatives from anydiff's rule table;
    reshaping, indexing, reductions, ``einsum``/``matmul`` and ``np.linalg.solve``/``inv``/
    ``det`` are handled directly. In-place functions ``f(y, x)`` and ``Cache`` buffers work:
    anydiff passes dual buffers of the same shape.

    Notes
    -----
    Forward mode: a gradient costs ``n`` tangents (O(n) times the work of ``f``); for large
    ``n`` with a scalar output a reverse-mode backend (``AutoJax()``, ``AutoTorch()``,
    ``AutoAutograd()``) is faster. Hessians are forward-over-forward (``n**2`` second-order
    tangents). Buffers written inside ``f`` must be made with ``np.zeros_like(x)`` (not
    ``np.zeros(n)``), and ``f`` must not convert values to Python floats; both raise
    :class:`~anydiff.TracingError` with a hint. A NumPy function without a rule raises
    :class:`~anydiff.MissingRuleError`.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> from anydiff.backends._numpy_dual import AutoNumPy
    >>> ad.jacobian(lambda x: np.sin(x) * x[0], AutoNumPy(), np.array([0.5, 2.0])).round(4)
    array([[ 0.9182,  0.    ],
           [ 0.9093, -0.2081]])
    >>> ad.hessian(lambda x: x[0] ** 2 * x[1], AutoNumPy(), np.array([1.0, 2.0]))
    array([[4., 2.],
           [2., 0.]])
    """

    name: ClassVar[str] = "numpy"
    library: ClassVar[str] = "numpy"
    has_forward: ClassVar[bool] = True
    has_reverse: ClassVar[bool] = False
    supports_inplace: ClassVar[bool] = True
    supports_cache: ClassVar[bool] = True
    exact: ClassVar[bool] = True

    def check_input(self, x, library):
        if library != "numpy":
            raise InputError(f"AutoNumPy got a {library} array.\nHint: pass a NumPy array.")

    # ------------------------------------------------------------------ primitive
    def build_pushforward(self, f, spec: FunctionSpec):
        call = _caller(f, spec)

        def pushforward(x, T, ctx):
            return call(x, T, ctx)

        return pushforward

    def build_jacobian(self, f, spec: FunctionSpec):
        """One vectorized evaluation per chunk of basis tangents (all ``n`` when they fit)."""
        n, m = spec.n, spec.m
        inner = getattr(f, "_anydiff_batch", 1)  # tangents nested inside f (Hessians)
        chunk = max(1, min(n, MAX_BATCH_ELEMENTS // max(1, (n + m) * inner)))
        bases = [self.basis(s, min(s + chunk, n), n, spec.x_shape, spec) for s in range(0, n, chunk)]
        push = self.build_pushforward(f, spec)

        def jacobian(x, ctx):
            blocks = [push(x, seeds, ctx) for seeds in bases]
            y = blocks[0][0]
            TY = blocks[0][1] if len(blocks) == 1 else np.concatenate([b[1] for b in blocks])
            J = np.reshape(TY, (n, m)).T
            return y, np.reshape(J, spec.y_shape + spec.x_shape)

        return jacobian

    # --------------------------------------------------------------- second order
    def raw_gradient(self, f, spec: FunctionSpec):
        kinds = spec.context_kinds

        def gradient(x, *ctx):
            size = int(np.prod(np.shape(x)))
            E = np.eye(size, dtype=_tangent_dtype(x)).reshape((size,) + tuple(np.shape(x)))
            y = _evaluate(f, x, E, ctx, kinds)
            return np.reshape(_tangents_of(y, x, E, np.shape(y)), np.shape(x))

        gradient._anydiff_batch = spec.n
        return gradient

    def raw_derivative(self, f, spec: FunctionSpec):
        kinds = spec.context_kinds

        def derivative(x, *ctx):
            E = np.ones((1,) + tuple(np.shape(x)), dtype=_tangent_dtype(x))
            y = _evaluate(f, x, E, ctx, kinds)
            return _tangents_of(y, x, E, np.shape(y))[0]

        return derivative

    def default_outer(self):
        return self


# ------------------------------------------------------------------------ helpers
def _tangent_dtype(x):
    from ..dual import primal

    dtype = np.asarray(primal(x)).dtype
    return dtype if dtype.kind in "fc" else np.float64


def _readonly(a):
    if isinstance(a, np.ndarray):
        a = a.view()
        a.flags.writeable = False
    return a


def _evaluate(f, x, T, ctx, kinds, y_spec=None):
    """``f`` on the dual ``(x, T)``; Cache contexts become dual zero buffers, ``y`` too when in place."""
    from ..dual import Dual

    xd = Dual(_readonly(x), _readonly(T))
    if "cache" in kinds:
        ctx = tuple(
            np.zeros_like(xd, shape=np.shape(c), dtype=np.result_type(_tangent_dtype(x), _tangent_dtype(c)))
            if kind == "cache" else c
            for c, kind in zip(ctx, kinds)
        )
    try:
        if y_spec is None:
            return f(xd, *ctx)
        shape, dtype = y_spec
        y = np.zeros_like(xd, shape=shape, dtype=np.result_type(dtype, _tangent_dtype(x)))
        f(y, xd, *ctx)
        return y
    except ValueError as err:
        if "setting an array element with a sequence" in str(err):
            raise TracingError(
                f"f writes a value carrying derivatives into a plain ndarray ({err}).\n"
                "Hint: allocate buffers written inside f with np.zeros_like(x) / np.empty_like(x) "
                "(or np.zeros_like(x, shape=...)) instead of np.zeros(n)."
            ) from err
        if "read-only" in str(err):
            raise TracingError(
                f"f writes into its input x ({err}).\nHint: work on a copy, x = x.copy(), "
                "or write into a buffer made with np.zeros_like(x)."
            ) from err
        raise


def _tangents_of(y, x, T, shape):
    """Tangents of the output ``y`` at the level of the dual made from ``x``."""
    from ..dual import Dual, level

    mine = level(x) + 1
    if isinstance(y, Dual) and level(y) == mine:
        return y.tangent
    dtype = np.result_type(np.asarray(_primal(y)).dtype, T.dtype)
    return np.zeros((T.shape[0],) + tuple(shape), dtype=dtype)


def _primal(y):
    from ..dual import primal

    return primal(y)


def _caller(f, spec: FunctionSpec):
    """``call(x, T, ctx) -> (y, TY)`` on plain NumPy arrays."""
    kinds = spec.context_kinds
    y_spec = (spec.y_shape, spec.y_dtype) if spec.inplace else None

    def call(x, T, ctx):
        from ..dual import Dual, level

        y = _evaluate(f, x, T, ctx, kinds, y_spec)
        if isinstance(y, Dual) and level(y) == 1:
            return y.value, y.tangent
        if isinstance(y, Dual):
            raise TracingError("f returned a nested dual at the first level.")  # pragma: no cover
        y = np.asarray(y)
        return y, np.zeros((T.shape[0],) + y.shape, dtype=np.result_type(y.dtype, T.dtype))

    return call
