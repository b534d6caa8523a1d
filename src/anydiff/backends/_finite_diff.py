"""Finite differences in pure NumPy: works on any function, exactness not guaranteed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from .._arrays import from_numpy, to_numpy
from .._errors import InputError, OutputError
from ._base import Backend, FunctionSpec

__all__ = ["AutoFiniteDiff"]


@dataclass(frozen=True)
class AutoFiniteDiff(Backend):
    """Finite differences (forward, central or complex step), on any callable.

    Parameters
    ----------
    method : {"central", "forward", "complex"}
        ``"central"``: error O(h²), 2 evaluations per tangent; ``"forward"``: O(h), 1 extra
        evaluation per tangent; ``"complex"``: complex step ``Im f(x + i h v) / h``, exact to
        rounding but only for real inputs and functions that are complex-safe (analytic and
        written without ``abs``, ``np.real``, comparisons or casts to float).
    step : float, optional
        Relative step. Default: ``eps**(1/3)`` (central), ``eps**(1/2)`` (forward) and
        ``1e-20`` (complex), with ``eps`` the machine epsilon of ``x``'s dtype. For each
        tangent ``v`` the absolute step is ``step * max(1, max|x_j| on v's support) / max|v|``.

    Notes
    -----
    Pullbacks, gradients and reverse-mode Jacobians are assembled from pushforwards along
    basis vectors (``n`` evaluations pairs); prefer an AD backend for large ``n``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> g = ad.gradient(lambda x: np.sum(np.sin(x)), ad.AutoFiniteDiff(), np.array([0.0, 1.0]))
    >>> np.allclose(g, np.cos([0.0, 1.0]))
    True
    """

    method: Literal["central", "forward", "complex"] = "central"
    step: float | None = None

    name: ClassVar[str] = "finite_diff"
    library: ClassVar[str] = "numpy"
    has_forward: ClassVar[bool] = True
    has_reverse: ClassVar[bool] = False
    supports_inplace: ClassVar[bool] = True
    supports_cache: ClassVar[bool] = True
    exact: ClassVar[bool] = False
    evaluates_only: ClassVar[bool] = True  # differentiates any inner backend's code by evaluating it
    supports_second_order: ClassVar[bool] = True
    # the complex step perturbs x along the imaginary axis: real inputs only
    supports_complex = property(lambda self: self.method != "complex")

    def __post_init__(self):
        if self.method not in ("central", "forward", "complex"):
            raise InputError(
                f"AutoFiniteDiff(method={self.method!r}) is not a method.\n"
                "Hint: use 'central', 'forward' or 'complex'."
            )
        if self.step is not None and not (np.isfinite(self.step) and self.step > 0):
            raise InputError(
                f"AutoFiniteDiff(step={self.step!r}) must be a positive number.\n"
                "Hint: leave step=None for a step scaled to x, or pass e.g. step=1e-6."
            )

    def check_input(self, x, library):
        if self.method == "complex" and np.dtype(_dtype(x)).kind == "c":
            raise InputError(
                "AutoFiniteDiff(method='complex') needs a real input; x is complex.\n"
                "Hint: use method='central' for complex (holomorphic) functions."
            )

    def to_native(self, x):
        return to_numpy(x)

    def output_spec(self, f, x, ctx, spec, y=None):
        if y is not None or spec.input_library == "numpy":
            return super().output_spec(f, x, ctx, spec, y)
        from .._arrays import check_output

        out = np.asarray(to_numpy(check_output(f(from_numpy(x, spec.input_library), *ctx))))
        return spec.with_output(out.shape, out.dtype)

    def relative_step(self, dtype) -> float:
        if self.step is not None:
            return self.step
        if self.method == "complex":
            return 1e-20
        eps = np.finfo(np.dtype(dtype)).eps
        return eps ** (1 / 3) if self.method == "central" else eps**0.5

    def _second_order_inner(self) -> "AutoFiniteDiff":
        """Inner differences for second order: complex step stays; real differences get a larger step."""
        if self.method == "complex" or self.step is not None:
            return self
        return AutoFiniteDiff(method="central", step=np.finfo(np.float64).eps ** 0.25)

    def default_outer(self):
        if self.step is not None:
            return self
        # an outer difference of an inner difference: larger steps keep rounding noise down
        exponent = 1 / 3 if self.method == "complex" else 1 / 4
        return AutoFiniteDiff(method="central", step=np.finfo(np.float64).eps ** exponent)

    def raw_gradient(self, f, spec):
        """``g(x, *ctx)``: differences of ``f`` along the basis (with the second-order inner step)."""
        push = self._second_order_inner().build_pushforward(f, spec)
        n, dtype = spec.n, _np(spec.x_dtype)
        chunks = [(i, min(i + 1024, n)) for i in range(0, n, 1024)]  # basis rows made per chunk

        def gradient(x, *ctx):
            x = to_numpy(x)
            parts = [push(x, np.eye(b - a, n, a, dtype=dtype).reshape((b - a,) + spec.x_shape), ctx)[1] for a, b in chunks]
            return np.concatenate([np.reshape(p, -1) for p in parts] or [np.zeros(0, dtype)]).reshape(spec.x_shape)

        return gradient

    def raw_derivative(self, f, spec):
        """``d(x, *ctx)`` of a scalar ``x``: the difference of ``f`` along 1."""
        push = self._second_order_inner().build_pushforward(f, spec)
        seed = np.ones((1,) + spec.x_shape, dtype=_np(spec.x_dtype))
        return lambda x, *ctx: push(to_numpy(x), seed, ctx)[1][0]

    # ------------------------------------------------------------ primitive
    def build_pushforward(self, f, spec: FunctionSpec):
        call = _caller(f, spec)
        h_rel = self.relative_step(_real_dtype(spec.x_dtype))
        method = self.method

        def pushforward(x, T, ctx):
            y = call(x, ctx)
            out = []
            for t in T:
                h = _absolute_step(x, t, h_rel)
                if h == 0.0:  # zero tangent
                    out.append(np.zeros_like(y, dtype=np.result_type(y, t)))
                    continue
                if method == "central":
                    out.append((call(x + h * t, ctx) - call(x - h * t, ctx)) / (2 * h))
                elif method == "forward":
                    out.append((call(x + h * t, ctx) - y) / h)
                else:
                    yc = call(x + (1j * h) * t, ctx)
                    if not np.iscomplexobj(yc):
                        raise OutputError(
                            "AutoFiniteDiff(method='complex'): f dropped the imaginary part of its "
                            "input (it returned a real array), so it is not complex-safe.\n"
                            "Hint: remove casts to float/abs/np.real from f, or use method='central'."
                        )
                    out.append(yc.imag / h)
            return y, np.stack(out) if out else np.zeros((0,) + np.shape(y))

        return pushforward


def _dtype(x):
    return getattr(x, "dtype", np.asarray(x).dtype)


def _real_dtype(dtype):
    try:
        return np.finfo(np.dtype(dtype)).dtype
    except TypeError:  # torch dtype
        import torch

        return torch.empty((), dtype=dtype).real.numpy().dtype


def _absolute_step(x, t, h_rel):
    scale = np.max(np.abs(t)) if t.size else 0.0
    if scale == 0.0:
        return 0.0
    support = t != 0
    xmax = np.max(np.abs(x[support])) if np.any(support) else 0.0
    return float(h_rel * max(1.0, xmax) / scale)


def _caller(f, spec: FunctionSpec):
    """``call(x, ctx) -> numpy y`` evaluating f in the user's array library."""
    library = spec.input_library
    caches = [i for i, kind in enumerate(spec.context_kinds) if kind == "cache"]

    def call(x, ctx):
        xin = x if library == "numpy" else from_numpy(x, library)
        if caches:
            ctx = list(ctx)
            for i in caches:  # fresh copy, complex when the evaluation point is (complex step)
                ctx[i] = ctx[i].astype(np.result_type(ctx[i], x.dtype), copy=True)
        if spec.inplace:
            y = np.zeros(spec.y_shape, dtype=np.result_type(_np(spec.y_dtype), x.dtype))
            yin = y if library == "numpy" else from_numpy(y, library)
            f(yin, xin, *ctx)
            return to_numpy(yin)
        return np.asarray(to_numpy(f(xin, *ctx)))

    return call


def _np(dtype):
    try:
        return np.dtype(dtype)
    except TypeError:
        return _real_dtype(dtype)
