"""HIPS autograd adapter: reverse mode (``make_vjp``); pushforward via ``make_jvp``
(autograd's JVP by reverse-of-reverse, about 1.5x a VJP).

autograd traces functions written with ``autograd.numpy``; it cannot follow writes into
arrays, so in-place functions and ``Cache`` contexts are not supported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._errors import InputError, TracingError
from ._base import Backend, Built

__all__ = ["AutoAutograd"]


def _ag():
    import autograd

    return autograd


@dataclass(frozen=True)
class AutoAutograd(Backend):
    """HIPS autograd backend (functions written with ``autograd.numpy``).

    Examples
    --------
    >>> import numpy as np, autograd.numpy as anp, anydiff as ad
    >>> ad.gradient(lambda x: anp.sum(x**2), ad.AutoAutograd(), np.array([1.0, 2.0]))
    array([2., 4.])
    """

    name: ClassVar[str] = "autograd"
    library: ClassVar[str] = "numpy"
    package: ClassVar[str] = "autograd"
    extra: ClassVar[str] = "autograd"
    has_forward: ClassVar[bool] = True  # make_jvp (two reverse sweeps); used when n < m
    has_reverse: ClassVar[bool] = True
    supports_inplace: ClassVar[bool] = False
    supports_cache: ClassVar[bool] = False
    supports_complex: ClassVar[bool] = True
    supports_second_order: ClassVar[bool] = True
    inplace_alternative: ClassVar[str] = "AutoTorch(), AutoNumPy() or AutoFiniteDiff()"

    def check_input(self, x, library):
        if library != "numpy":
            raise InputError(f"AutoAutograd got a {library} array.\nHint: pass a NumPy array.")

    def build_pullback(self, f, spec):
        f = _guard(f)
        make_vjp = _ag().make_vjp

        def pullback(x, DY, ctx):
            vjp_fun, y = make_vjp(lambda x: f(x, *ctx))(x)
            TX = np.stack([vjp_fun(dy) for dy in DY])
            return y, TX

        return pullback

    def build_pushforward(self, f, spec):
        f = _guard(f)
        make_jvp = _ag().make_jvp

        def pushforward(x, T, ctx):
            jvp_fun = make_jvp(lambda x: f(x, *ctx))(x)
            pairs = [jvp_fun(t) for t in T]
            return pairs[0][0], np.stack([ty for _, ty in pairs])

        return pushforward

    def fast_gradient(self, f, spec):
        f = _guard(f)
        vg, grad = _ag().value_and_grad(f), _ag().grad(f)
        return Built(lambda x, ctx: vg(x, *ctx), lambda x, ctx: grad(x, *ctx))

    def fast_jacobian(self, f, spec, mode):
        if mode == "forward" or spec.m == 0:
            return None  # derived: batched make_jvp pushforwards (or an empty Jacobian)
        f = _guard(f)
        make_vjp = _ag().make_vjp
        # rows of J by reverse passes over one recorded forward pass
        E = np.eye(spec.m, dtype=spec.y_dtype)

        def jacobian(x, ctx):
            vjp_fun, y = make_vjp(lambda x: f(x, *ctx))(x)
            rows = np.stack([vjp_fun(e.reshape(spec.y_shape)) for e in E])
            return y, rows.reshape(spec.y_shape + spec.x_shape)

        return Built(jacobian)

    def raw_gradient(self, f, spec):
        f = _guard(f)
        return _ag().grad(f)

    def raw_derivative(self, f, spec):
        f = _guard(f)
        make_jvp = _ag().make_jvp

        def derivative(x, *ctx):
            return make_jvp(lambda x: f(x, *ctx))(x)(np.ones_like(x))[1]

        return derivative


def _guard(f):
    """Turn autograd's bare AttributeError on a missing ArrayBox method into a clear error."""
    def guarded(*args):
        try:
            return f(*args)
        except AttributeError as err:
            if "ArrayBox" not in str(err):
                raise
            raise TracingError(
                f"autograd cannot trace f: {err} (autograd's traced arrays lack some ndarray methods, "
                "e.g. .conj()).\nHint: call the autograd.numpy function instead (anp.conj(z), "
                "anp.real(z), ...), or use another backend such as ad.AutoJax()."
            ) from None

    return guarded
