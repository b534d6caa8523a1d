"""AutoNumPy: exact derivatives of unmodified NumPy code with anydiff's own forward and reverse modes.

Forward mode: ``f`` runs once on a :class:`~anydiff.dual.Dual` carrying all ``B`` tangents on
a leading axis, so a pushforward of ``B`` directions (a whole Jacobian, with ``B = n``) is one
vectorized evaluation. Reverse mode (:mod:`anydiff.reverse`): ``f`` runs once on a dual whose
tangent records the forward rules' linear operations, transposed in a backward pass.
Second order: forward over the reverse-mode gradient (or forward-over-forward).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._errors import InputError, TracingError
from .._numpy_scope import numpy_scope
from ._base import Backend, DerivativeFunction, FunctionSpec

_MODES = ("auto", "forward", "reverse")

__all__ = ["AutoNumPy"]


@dataclass(frozen=True)
class AutoNumPy(Backend):
    """anydiff's own forward and reverse modes on plain NumPy/SciPy code (no rewrite needed).

    Parameters
    ----------
    mode : {"auto", "forward", "reverse"}
        ``"auto"`` (default): reverse mode for ``gradient``, ``pullback`` and ``hvp``/``hessian``
        (forward over the reverse gradient), forward mode for ``pushforward`` and
        ``derivative``, the cheaper side for ``jacobian``; when ``f`` applies an operation
        reverse mode cannot transpose, forward mode takes over. ``"forward"``: forward mode
        only (a gradient costs ``n`` tangents). ``"reverse"``: reverse mode for pullbacks,
        gradients, Jacobians and second order, with no fallback (an unsupported step raises
        :class:`~anydiff.MissingRuleError`).

    Notes
    -----
    Forward mode calls ``f`` once on a dual array that carries every tangent of the batch, so a
    dense Jacobian costs one evaluation with ``n`` stacked tangents. Reverse mode calls ``f``
    once on a dual whose tangent is symbolic: each linear operation the forward rules apply
    to it is recorded on a tape (with the partial derivatives it needs), and one backward
    pass applies their transposes, so a gradient costs a few evaluations of ``f``. Elementwise functions
    (NumPy ufuncs and ``scipy.special``) take their derivatives from anydiff's rule table;
    reshaping, indexing, reductions, ``einsum``/``matmul`` and ``np.linalg.solve``/``inv``/
    ``det`` are handled directly. In-place functions ``f(y, x)`` and ``Cache`` buffers work:
    anydiff passes dual buffers of the same shape. Buffers written inside ``f`` must be made with ``np.zeros_like(x)`` (not
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
    >>> ad.gradient(lambda x: np.sum(np.tanh(x) ** 2), AutoNumPy(mode="reverse"), np.zeros(3))
    array([0., 0., 0.])
    """

    mode: str = "auto"

    name: ClassVar[str] = "numpy"
    library: ClassVar[str] = "numpy"
    has_forward: ClassVar[bool] = True
    supports_inplace: ClassVar[bool] = True
    supports_cache: ClassVar[bool] = True
    supports_complex: ClassVar[bool] = True
    supports_second_order: ClassVar[bool] = True
    exact: ClassVar[bool] = True

    def __post_init__(self):
        if self.mode not in _MODES:
            raise InputError(f"AutoNumPy(mode={self.mode!r}) is not a mode.\nHint: use one of {_MODES}.")

    @property
    def has_reverse(self):  # type: ignore[override]
        return self.mode != "forward"

    def __repr__(self):
        return "AutoNumPy()" if self.mode == "auto" else f"AutoNumPy(mode={self.mode!r})"

    def check_input(self, x, library):
        if library != "numpy":
            raise InputError(f"AutoNumPy got a {library} array.\nHint: pass a NumPy array.")

    # ------------------------------------------------------------------ primitive
    def build_pushforward(self, f, spec: FunctionSpec):
        from ._numpy_reverse import ReverseGradient

        if isinstance(f, ReverseGradient):  # AutoNumPy's own reverse gradient takes the dual itself (HVPs)
            return f.pushforward
        call = _caller(f, spec)

        def pushforward(x, T, ctx):
            return call(x, T, ctx)

        return pushforward

    def build_pullback(self, f, spec: FunctionSpec):
        from ._numpy_reverse import ReversePullback

        return ReversePullback(self, f, spec)

    def jacobian_mode(self, spec: FunctionSpec):
        return "reverse" if self.mode == "reverse" else None  # "forward": has_reverse is False

    # --------------------------------------------------------------- second order
    def raw_gradient(self, f, spec: FunctionSpec):
        if self.mode != "forward":
            from ._numpy_reverse import ReverseGradient

            return ReverseGradient(self, f, spec)
        return ForwardGradient(f, spec)

    def raw_derivative(self, f, spec: FunctionSpec):
        kinds = spec.context_kinds

        def derivative(x, *ctx):
            E = np.ones((1,) + tuple(np.shape(x)), dtype=_tangent_dtype(x))
            y = _evaluate(f, x, E, ctx, kinds)
            return _tangents_of(y, x, E, np.shape(y))[0]

        return derivative

    def default_outer(self):
        """Forward mode: HVPs and Hessians are forward over this backend's (reverse) gradient."""
        if self.mode == "forward":
            return self
        import dataclasses

        return dataclasses.replace(self, mode="forward")


class ForwardGradient(DerivativeFunction):
    """``g(x, *ctx)`` by forward mode: ``f`` on a dual carrying the ``n`` basis tangents.

    ``batch = n`` tells the operators that each evaluation carries ``n`` tangents inside, so
    forward mode over it (Hessians) uses chunks ``n`` times smaller.
    """

    __slots__ = ("f", "kinds", "batch")

    def __init__(self, f, spec: FunctionSpec):
        self.f, self.kinds, self.batch = f, spec.context_kinds, spec.n

    def __call__(self, x, *ctx):
        size = int(np.prod(np.shape(x)))
        E = np.eye(size, dtype=_tangent_dtype(x)).reshape((size,) + tuple(np.shape(x)))
        y = _evaluate(self.f, x, E, ctx, self.kinds)
        return np.reshape(_tangents_of(y, x, E, np.shape(y)), np.shape(x))


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
    from ..dual._core import Dual  # a module, not a package: no import machinery on this hot path

    xd = Dual(_readonly(x), _readonly(T))
    if "cache" in kinds:
        ctx = tuple(
            np.zeros_like(xd, shape=np.shape(c), dtype=np.result_type(_tangent_dtype(x), _tangent_dtype(c)))
            if kind == "cache" else c
            for c, kind in zip(ctx, kinds)
        )
    try:
        mode = "reverse" if getattr(T, "_anydiff_symbolic", False) else "forward"
        with numpy_scope(xd, f, f"AutoNumPy ({mode} mode)"):  # np.zeros(n), math.sin, np.array([...]) in f
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
            raise TracingError("Internal error: f returned a nested dual at the first level.")  # pragma: no cover
        y = np.asarray(y)
        return y, np.zeros((T.shape[0],) + y.shape, dtype=np.result_type(y.dtype, T.dtype))

    return call
