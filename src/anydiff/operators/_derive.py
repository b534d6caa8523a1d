"""Every operator derived once from a backend's primitives (and its optional fast paths).

Plain functions of ``(backend, f, spec)``; each runs once, at preparation, and returns the
closures a preparation calls. A backend only provides ``build_pushforward`` and/or
``build_pullback`` (see :mod:`anydiff.backends._base`); here:

* jacobian = batched pushforwards of the input basis (columns) or pullbacks of the output basis
  (rows), whichever side is cheaper (:func:`jacobian_mode`);
* gradient = pullback of the cotangent 1, or a forward Jacobian;
* derivative = pushforward of the tangent 1, or a reverse Jacobian;
* pushforward from pullback and pullback from pushforward, through the Jacobian;
* real-valued ``f`` of complex ``x``: JAX's convention ``∂f/∂Re x − i ∂f/∂Im x`` from
  pushforwards along the real and the imaginary basis directions; pullbacks derived from
  pushforwards follow ``jax.vjp`` for every mix of real and complex ``x`` and ``f(x)``.

Before deriving, each asks the backend's matching fast path (``fast_gradient``, ...), which
returns ``None`` when it has nothing faster.
"""

from __future__ import annotations

import numpy as np

from .._errors import UnsupportedOperationError
from ..backends._base import (
    Built,
    DerivativeFunction,
    FunctionSpec,
    _is_complex,
    _np_dtype,
    _real_of_complex,
)

__all__ = [
    "check_spec", "jacobian_mode", "pushforward", "pullback", "jacobian", "dense_jacobian", "gradient",
    "derivative", "raw_gradient", "raw_derivative", "basis", "ones",
]

#: Largest number of array elements a batch of basis tangents (B * size) may hold.
MAX_BATCH_ELEMENTS = 2**24


def check_spec(backend, spec: FunctionSpec) -> None:
    """Refuse what the backend's capability flags rule out, with a hint."""
    if spec.inplace and not backend.supports_inplace:
        raise UnsupportedOperationError(
            f"{backend!r} cannot differentiate in-place functions f(y, x).\n"
            f"Hint: use {backend.inplace_alternative}, or rewrite f to return its output."
        )
    if "cache" in spec.context_kinds and not backend.supports_cache:
        raise UnsupportedOperationError(
            f"{backend!r} cannot differentiate through writes into a Cache (its arrays are immutable).\n"
            f"Hint: use {backend.inplace_alternative}, or allocate the scratch array inside f."
        )
    if not (backend.has_forward or backend.has_reverse):
        raise UnsupportedOperationError(
            f"{backend!r} declares neither has_forward nor has_reverse.\n"
            "Hint: a backend implements build_pushforward (has_forward = True) and/or build_pullback "
            "(has_reverse = True); see docs/architecture.md."
        )
    check_complex(backend, spec)


def check_complex(backend, spec: FunctionSpec) -> None:
    """Refuse a complex input or output (when known) if the backend does not declare ``supports_complex``."""
    if getattr(backend, "supports_complex", False):
        return
    for what, dtype in (("x has", spec.x_dtype), ("f returns", spec.y_dtype)):
        if dtype is not None and _is_complex(dtype):
            raise UnsupportedOperationError(
                f"{backend!r} does not take complex numbers (supports_complex = False), but {what} "
                f"dtype {dtype}.\nHint: use a backend that does (AutoJax(), AutoTorch(), AutoNumPy(), "
                "AutoFiniteDiff()), or pass the real and imaginary parts as two real arguments, e.g. "
                "ad.gradient(lambda a, b: f(a + 1j * b), backend, z.real, z.imag)."
            )


def jacobian_mode(backend, spec: FunctionSpec) -> str:
    """``"forward"`` or ``"reverse"``: the cheaper side, among the primitives the backend has."""
    if not backend.has_reverse:
        return "forward"
    if not backend.has_forward:
        return "reverse"
    if _is_complex(spec.x_dtype) or _is_complex(spec.y_dtype):
        return "forward"  # J v is well defined; pullbacks of real basis cotangents miss Im f
    imposed = backend.jacobian_mode(spec)
    if imposed in ("forward", "reverse"):
        return imposed
    return "forward" if spec.n <= spec.m else "reverse"


# ------------------------------------------------------------------ primitives
def pushforward(backend, f, spec: FunctionSpec):
    """``(x, T, ctx) -> (y, TY)``: the backend's own, or from its pullback through the Jacobian."""
    if backend.has_forward:
        return backend.build_pushforward(f, spec)
    jac = dense_jacobian(backend, f, spec)
    xp = backend.array_namespace()
    n, m = spec.n, spec.m

    def pushforward_from_pullback(x, T, ctx):
        y, J = jac(x, ctx)
        TY = xp.reshape(T, (T.shape[0], n)) @ xp.reshape(J, (m, n)).T
        return y, xp.reshape(TY, (T.shape[0],) + spec.y_shape)

    return pushforward_from_pullback


def pullback(backend, f, spec: FunctionSpec):
    """``(x, DY, ctx) -> (y, TX)``: the backend's own, or from its pushforward through the Jacobian."""
    if backend.has_reverse:
        return backend.build_pullback(f, spec)
    xp = backend.array_namespace()
    n, m = spec.n, spec.m
    if _is_complex(spec.x_dtype) or _is_complex(spec.y_dtype):
        return _complex_pullback(backend, f, spec)
    jac = dense_jacobian(backend, f, spec)

    def pullback_from_pushforward(x, DY, ctx):
        y, J = jac(x, ctx)
        TX = xp.reshape(DY, (DY.shape[0], m)) @ xp.reshape(J, (m, n))
        return y, xp.reshape(TX, (DY.shape[0],) + spec.x_shape)

    return pullback_from_pushforward


# -------------------------------------------------------------------- jacobian
def jacobian(backend, f, spec: FunctionSpec) -> Built:
    """``Built(run=(x, ctx) -> (y, J), only=(x, ctx) -> J)`` with ``J.shape == y.shape + x.shape``."""
    fast = backend.fast_jacobian(f, spec, jacobian_mode(backend, spec))
    if fast is not None:
        return fast if fast.only is not None else Built(fast.run, _drop_value(fast.run), fast.single, fast.details)
    run = dense_jacobian(backend, f, spec)
    return Built(run, _drop_value(run))


def dense_jacobian(backend, f, spec: FunctionSpec):
    """``(x, ctx) -> (y, J)`` from the primitives (never a fast path: a dense array, always)."""
    xp = backend.array_namespace()
    n, m = spec.n, spec.m
    full = spec.y_shape + spec.x_shape
    if _real_of_complex(spec) and backend.has_forward:
        jac_c = _real_of_complex_jacobian(backend, f, spec)

        def jacobian_complex(x, ctx):
            y, J = jac_c(x, ctx)
            return y, xp.reshape(J, full)

        return jacobian_complex
    forward = jacobian_mode(backend, spec) == "forward"
    if not forward and _is_complex(spec.y_dtype):
        raise UnsupportedOperationError(
            f"{backend!r} has no pushforward, and pullbacks of real basis cotangents cannot give the "
            f"Jacobian of a complex-valued f (dtype {spec.y_dtype}).\nHint: use a backend with forward "
            "mode (e.g. AutoNumPy(), AutoJax()), or return the real and imaginary parts as two outputs."
        )
    if forward:
        prim, k, shape = backend.build_pushforward(f, spec), n, spec.x_shape
    else:
        prim, k, shape = backend.build_pullback(f, spec), m, spec.y_shape
    nested = f.batch if isinstance(f, DerivativeFunction) else 1  # tangents carried inside f (Hessians)
    chunk = max(1, min(k, MAX_BATCH_ELEMENTS // (max(1, n + m) * nested)))
    bases = [basis(backend, start, min(start + chunk, k), k, shape, spec) for start in range(0, k, chunk)]
    if not bases:  # x or f(x) has no entries: one zero seed gives f(x), the Jacobian is empty
        seed = backend.from_numpy_native(np.zeros((1,) + tuple(shape), dtype=_np_dtype(spec.x_dtype)), spec)

        def empty_jacobian(x, ctx):
            y, block = prim(x, seed, ctx)
            return y, xp.reshape(block[:0], full)

        return empty_jacobian

    def jacobian_from_primitive(x, ctx):
        parts = []
        for seeds in bases:
            y, block = prim(x, seeds, ctx)
            parts.append(block)
        block = parts[0] if len(parts) == 1 else xp.concatenate(parts)
        rows = xp.reshape(block, (k, -1))
        return y, xp.reshape(rows.T if forward else rows, full)  # rows.T: (m, n)

    return jacobian_from_primitive


def _complex_directions(backend, f, spec):
    """``(x, ctx) -> (y, R, I)``: pushforwards along the real basis (``R``, shape ``(n, m)``) and,
    for complex ``x``, the imaginary basis (``I``; ``None`` for real ``x``)."""
    xp = backend.array_namespace()
    push = backend.build_pushforward(f, spec)
    n, m = spec.n, spec.m
    E = np.eye(n, dtype=_np_dtype(spec.x_dtype))
    complex_x = _is_complex(spec.x_dtype)
    seeds = np.concatenate([E, 1j * E]) if complex_x else E
    seeds = backend.from_numpy_native(seeds.reshape((seeds.shape[0],) + spec.x_shape), spec)

    def directions(x, ctx):
        y, TY = push(x, seeds, ctx)
        rows = xp.reshape(TY, (seeds.shape[0], m))
        return (y, rows[:n], rows[n:]) if complex_x else (y, rows, None)

    return directions


def _real_of_complex_jacobian(backend, f, spec):
    """``(x, ctx) -> (y, J)`` for real ``f`` of complex ``x`` (JAX's convention), ``J`` of shape ``(m, n)``.

    ``J = ∂f/∂Re x − i ∂f/∂Im x``, from pushforwards along the real and the imaginary basis
    directions: what ``jax.grad``/``jax.vjp`` return.
    """
    directions = _complex_directions(backend, f, spec)

    def jacobian(x, ctx):
        y, R, I = directions(x, ctx)
        return y, (R - 1j * I).T

    return jacobian


def _complex_pullback(backend, f, spec):
    """``(x, DY, ctx) -> (y, TX)`` as ``jax.vjp`` gives it, from pushforwards, when ``x`` or
    ``f(x)`` is complex: ``TX = Re(DYᵀ R) − i Re(DYᵀ I)`` (the transpose of the real-linear map
    ``t -> J t``, in JAX's convention; ``DYᵀ J`` for holomorphic ``f``; real for real ``x``)."""
    xp = backend.array_namespace()
    directions = _complex_directions(backend, f, spec)
    m = spec.m

    def pullback_complex(x, DY, ctx):
        y, R, I = directions(x, ctx)
        D = xp.reshape(DY, (DY.shape[0], m))
        TX = (D @ R.T).real
        if I is not None:
            TX = TX - 1j * (D @ I.T).real
        return y, xp.reshape(TX, (DY.shape[0],) + spec.x_shape)

    return pullback_complex


# ------------------------------------------------------- gradient, derivative
def gradient(backend, f, spec: FunctionSpec) -> Built:
    """``Built(run=(x, ctx) -> (y, g), only=(x, ctx) -> g)`` for scalar-valued ``f``."""
    fast = backend.fast_gradient(f, spec)
    if fast is not None:
        return fast if fast.only is not None else Built(fast.run, _drop_value(fast.run), fast.single)
    if backend.has_reverse:  # one pullback of 1
        return _one_product(backend.build_pullback(f, spec), ones(backend, (1,) + spec.y_shape, spec))
    return _jacobian_reshaped(backend, f, spec, spec.x_shape)


def derivative(backend, f, spec: FunctionSpec) -> Built:
    """``Built(run=(x, ctx) -> (y, dy))`` for a scalar input."""
    if backend.has_forward:  # one pushforward of 1
        return _one_product(backend.build_pushforward(f, spec), ones(backend, (1,) + spec.x_shape, spec))
    return _jacobian_reshaped(backend, f, spec, spec.y_shape)


def _one_product(prim, seed):
    """The single product of a batched primitive (pushforward or pullback) with one seed."""

    def one_product(x, ctx):
        y, t = prim(x, seed, ctx)
        return y, t[0]

    return Built(one_product, _drop_value(one_product))


def _jacobian_reshaped(backend, f, spec, shape):
    """The dense Jacobian as one array of ``shape`` (a gradient or a derivative without the
    primitive that gives it in one product)."""
    jac = dense_jacobian(backend, f, spec)
    xp = backend.array_namespace()

    def jacobian_reshaped(x, ctx):
        y, J = jac(x, ctx)
        return y, xp.reshape(J, shape)

    return Built(jacobian_reshaped, _drop_value(jacobian_reshaped))


def _drop_value(run):
    return lambda x, ctx: run(x, ctx)[1]


# ---------------------------------------------------------------- second order
def raw_gradient(outer, inner, f, spec: FunctionSpec):
    """``g(x, *ctx)`` that ``outer`` differentiates: ``inner``'s own, else (for an outer backend
    that only evaluates, finite differences) ``inner``'s prepared gradient closure."""
    try:
        return inner.raw_gradient(f, spec)
    except UnsupportedOperationError:
        if not outer.evaluates_only:
            raise
    run = gradient(inner, f, spec).only
    return _Evaluated(run, inner.to_native)


def raw_derivative(outer, inner, f, spec: FunctionSpec):
    """``d(x, *ctx)`` that ``outer`` differentiates (as :func:`raw_gradient`)."""
    try:
        return inner.raw_derivative(f, spec)
    except UnsupportedOperationError:
        if not outer.evaluates_only:
            raise
    run = derivative(inner, f, spec).only
    return _Evaluated(run, inner.to_native)


class _Evaluated(DerivativeFunction):
    """A prepared derivative closure as a plain function ``(x, *ctx)`` (for finite differences over it)."""

    __slots__ = ("run", "to_native")

    def __init__(self, run, to_native):
        self.run, self.to_native = run, to_native

    def __call__(self, x, *ctx):
        return self.run(self.to_native(x), ctx)


# --------------------------------------------------------------------- seeds
def basis(backend, start, stop, k, shape, spec):
    """Stacked basis vectors ``e_start .. e_{stop-1}`` of R^k, reshaped to ``shape``, native."""
    E = np.zeros((stop - start, k), dtype=np.dtype(_np_dtype(spec.x_dtype)))
    E[np.arange(stop - start), np.arange(start, stop)] = 1
    return backend.from_numpy_native(E.reshape((stop - start,) + tuple(shape)), spec)


def ones(backend, shape, spec):
    return backend.from_numpy_native(np.ones(shape, dtype=_np_dtype(spec.x_dtype)), spec)
