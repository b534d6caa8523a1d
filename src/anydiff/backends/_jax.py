"""JAX adapter: forward and reverse mode, ``vmap`` batching, closures jitted at preparation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from .._errors import InputError, UnsupportedOperationError
from ._base import Backend, Built, FunctionSpec

__all__ = ["AutoJax"]


def _jax():
    import jax

    return jax


@dataclass(frozen=True)
class AutoJax(Backend):
    """JAX backend (``jax.jvp``/``jax.vjp``/``jax.grad``, batched with ``jax.vmap``).

    Parameters
    ----------
    mode : {"reverse", "forward"}
        Preferred mode for square Jacobians; otherwise the cheaper side is used.
    jit : bool
        Compile the prepared closures with ``jax.jit`` (recommended).

    Notes
    -----
    JAX arrays are immutable, so in-place functions ``f(y, x)`` and ``Cache`` contexts are
    not supported. A float64 input (or float64 array constant) needs
    ``jax.config.update("jax_enable_x64", True)``; without it anydiff raises
    :class:`~anydiff.InputError` instead of silently computing in float32.

    Examples
    --------
    >>> import jax; jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp, numpy as np, anydiff as ad
    >>> ad.gradient(lambda x: jnp.sum(x**2), ad.AutoJax(), np.array([1.0, 2.0]))
    array([2., 4.])
    """

    mode: Literal["reverse", "forward"] = "reverse"
    jit: bool = True

    name: ClassVar[str] = "jax"
    library: ClassVar[str] = "jax"
    package: ClassVar[str] = "jax"
    extra: ClassVar[str] = "jax"
    has_forward: ClassVar[bool] = True
    has_reverse: ClassVar[bool] = True
    supports_inplace: ClassVar[bool] = False
    supports_cache: ClassVar[bool] = False
    supports_complex: ClassVar[bool] = True
    supports_second_order: ClassVar[bool] = True
    supports_out: ClassVar[bool] = True  # NumPy/torch `out`; jax arrays cannot be written
    inplace_alternative: ClassVar[str] = "AutoTorch(), AutoNumPy() or AutoFiniteDiff()"

    def __post_init__(self):
        if self.mode not in ("reverse", "forward"):
            raise InputError(f"AutoJax(mode={self.mode!r}) is not a mode.\nHint: use 'reverse' or 'forward'.")

    def check_input(self, x, library):
        if library not in ("numpy", "jax"):
            raise InputError(
                f"AutoJax got a {library} array.\nHint: pass a NumPy array or a jax.Array."
            )
        jax = _jax()
        dtype = np.dtype(x.dtype)
        if dtype.itemsize == 8 and dtype.kind == "f" or dtype == np.complex128:
            if not jax.config.jax_enable_x64:
                raise InputError(
                    f"x has dtype {dtype}, but JAX is in 32-bit mode and would silently compute in "
                    "single precision.\nHint: call jax.config.update('jax_enable_x64', True) at "
                    "start-up, or pass x.astype(np.float32) if single precision is what you want."
                )

    def check_contexts(self, values):
        """In 32-bit mode JAX would silently round float64 constants to float32: refused."""
        jax = _jax()
        if jax.config.jax_enable_x64:
            return
        from .._trees import is_tree, tree_flatten

        for value in values:
            for leaf in tree_flatten(value)[0] if is_tree(value) else [value]:
                if isinstance(leaf, np.ndarray) and leaf.dtype in (np.float64, np.complex128):
                    raise InputError(
                        f"A context (ad.Constant/ad.Cache) has dtype {leaf.dtype}, but JAX is in 32-bit "
                        "mode and would silently round it to single precision.\nHint: call "
                        "jax.config.update('jax_enable_x64', True) at start-up, or pass the constant "
                        "as float32 if single precision is what you want."
                    )

    def _compile(self, fun, spec):
        """jit ``fun(x, ...)``, checking x's shape and dtype when (and only when) JAX traces.

        JAX retraces exactly when the input signature changes, so a prepared call with another
        shape or dtype raises :class:`~anydiff.PreparationMismatchError` at no cost per call.
        """
        if not self.jit:
            return fun
        shape, dtype = spec.x_shape, np.dtype(spec.x_dtype)

        def check(x):
            if x.shape != shape or np.dtype(x.dtype) != dtype:
                from .._errors import PreparationMismatchError

                raise PreparationMismatchError(
                    f"This preparation is for x of shape {shape} and dtype {dtype}, got {x.shape} and "
                    f"{x.dtype}.\nHint: prepare again for this input."
                )

        if fun.__code__.co_argcount == 1:  # fixed arity keeps jit's fast dispatch path

            def checked1(x):
                check(x)
                return fun(x)

            return _jax().jit(checked1)

        def checked(x, *rest):
            check(x)
            return fun(x, *rest)

        return _jax().jit(checked)

    def output_spec(self, f, x, ctx, spec, y=None):
        from .._arrays import check_output

        jax = _jax()
        try:
            out = jax.eval_shape(lambda x, *c: check_output(f(x, *c)), x, *ctx)
        except TypeError as err:
            if "immutable" in str(err) or "does not support item assignment" in str(err):
                raise UnsupportedOperationError(
                    f"f writes into an array, which JAX cannot trace ({err}).\n"
                    f"Hint: use {self.inplace_alternative}, or write f with jnp and .at[...].set()."
                ) from err
            raise
        return spec.with_output(tuple(out.shape), out.dtype)

    # ------------------------------------------------------------ primitives
    def build_pushforward(self, f, spec: FunctionSpec):
        jax = _jax()
        if spec.same_point and spec.point is not None:
            # linearize once at the prepared point; each call is one batched linear map
            y0, jvp_fun = jax.linearize(lambda x: f(x, *spec.contexts), jax.numpy.asarray(spec.point))
            batched = jax.jit(jax.vmap(jvp_fun)) if self.jit else jax.vmap(jvp_fun)
            return lambda x, T, ctx: (y0, batched(T))

        def pushforward(x, T, ctx):
            g = lambda x: f(x, *ctx)
            y, jvp_fun = jax.linearize(g, x)
            return y, jax.vmap(jvp_fun)(T)

        return self._compile(pushforward, spec)

    def build_pullback(self, f, spec: FunctionSpec):
        jax = _jax()
        if spec.same_point and spec.point is not None:
            y0, vjp_fun = jax.vjp(lambda x: f(x, *spec.contexts), jax.numpy.asarray(spec.point))
            batched = jax.vmap(lambda dy: vjp_fun(dy)[0])
            batched = jax.jit(batched) if self.jit else batched
            return lambda x, DY, ctx: (y0, batched(DY))

        def pullback(x, DY, ctx):
            y, vjp_fun = jax.vjp(lambda x: f(x, *ctx), x)
            (TX,) = jax.vmap(vjp_fun)(DY)
            return y, TX

        return self._compile(pullback, spec)

    # ------------------------------------------------------------ fast paths
    def fast_gradient(self, f, spec):
        jax = _jax()
        vg, grad = jax.value_and_grad(f), jax.grad(f)
        run = self._compile(lambda x, ctx: vg(x, *ctx), spec)
        only = self._compile(lambda x, ctx: grad(x, *ctx), spec)
        single = self._compile(lambda x: grad(x), spec) if not spec.context_kinds and self.jit else None
        return Built(run, only, single)  # single: one-argument dispatch, no ctx tuple

    def fast_tree_gradient(self, f, argnums, spec, check):
        jax = _jax()
        nums = argnums if isinstance(argnums, tuple) else (argnums,)

        def checked(*args):
            check([args[i] for i in nums])  # runs when JAX traces, i.e. on a new structure
            return f(*args)

        vg, g = jax.value_and_grad(checked, argnums=argnums), jax.grad(checked, argnums=argnums)
        return (jax.jit(vg), jax.jit(g)) if self.jit else (vg, g)

    def fast_jacobian(self, f, spec, mode):
        import functools

        jax = _jax()
        transform = jax.jacfwd if mode == "forward" else jax.jacrev
        if np.dtype(spec.x_dtype).kind == "c" and np.dtype(spec.y_dtype).kind != "c":
            transform = jax.jacrev  # real f of complex x: rows are jax.grad's convention
        elif np.dtype(spec.x_dtype).kind == "c":  # complex x: the holomorphic Jacobian
            transform = functools.partial(transform, holomorphic=True)

        def value_and_jacobian(x, ctx):
            def with_value(x):
                y = f(x, *ctx)
                return y, y

            J, y = transform(with_value, has_aux=True)(x)
            return y, J

        jac = transform(f)
        run, only = self._compile(value_and_jacobian, spec), self._compile(lambda x, ctx: jac(x, *ctx), spec)
        single = self._compile(lambda x: jac(x), spec) if not spec.context_kinds and self.jit else None
        return Built(run, only, single)

    # ----------------------------------------------------------- second order
    def raw_gradient(self, f, spec):
        return _jax().grad(f)

    def raw_derivative(self, f, spec):
        jax = _jax()

        def derivative(x, *ctx):
            return jax.jvp(lambda x: f(x, *ctx), (x,), (jax.numpy.ones_like(x),))[1]

        return derivative

    def default_outer(self):
        return AutoJax(mode="forward", jit=self.jit)

    def array_namespace(self):
        return _jax().numpy

    def from_numpy_native(self, a, spec):
        return _jax().numpy.asarray(a)
