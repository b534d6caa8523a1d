"""Second-order operators: second_derivative, hvp, hessian.

All come from one construction: an *outer* backend differentiates a derivative function
computed by an *inner* backend (``ad.SecondOrder(outer, inner)``; by default the backend's
own forward mode over its reverse mode, i.e. forward-over-reverse).

* hvp(x, v) = pushforward of x ↦ ∇f(x) along v (or its pullback: H is symmetric);
* hessian = jacobian of x ↦ ∇f(x) (batched HVPs over the basis);
* second_derivative = derivative of x ↦ f'(x).
"""

from __future__ import annotations

import numpy as np

from .._arrays import TreeOutputError
from .._errors import InputError, OutputError, UnsupportedOperationError
from ..backends import SecondOrder
from ..backends._base import Built
from . import _derive
from ._core import native_x, prepare, resolve_prep, stack_seeds, write_out
from ._first_call import run_first_call, scalar_output
from ._prep import HessianPrep, HVPPrep, SecondDerivativePrep
from ._structured import TreePrep, is_structured
from ._tree_ops import tree_operator
from ._shared import finish_batch, finish_one, pop_seeds, refuse_complex_output, routed, routed_prepare

__all__ = [
    "second_derivative", "value_derivative_and_second_derivative", "prepare_second_derivative",
    "hvp", "gradient_and_hvp", "prepare_hvp", "prepare_hvp_same_point",
    "hessian", "value_gradient_and_hessian", "prepare_hessian",
]


def _parts(backend):
    if isinstance(backend, SecondOrder):
        outer, inner = backend.outer, backend.inner
    elif not getattr(backend, "supports_second_order", False):
        raise UnsupportedOperationError(
            f"{backend!r} does not differentiate its own derivatives (supports_second_order = False).\n"
            "Hint: let finite differences take the outer derivative, e.g. "
            "ad.hessian(f, ad.SecondOrder(ad.AutoFiniteDiff(), backend), x); or use AutoJax(), "
            "AutoTorch() or AutoNumPy() alone."
        )
    else:
        outer, inner = backend.default_outer(), backend
    if not outer.can_differentiate(inner):
        raise UnsupportedOperationError(
            f"SecondOrder: {outer!r} cannot differentiate code run by {inner!r} (different array libraries).\n"
            "Hint: use two backends of the same library, or AutoFiniteDiff() as the outer backend."
        )
    if _complex_step_over_real_only(outer, inner):
        raise UnsupportedOperationError(
            f"{backend!r}: the complex step evaluates the inner gradient at complex points, and the "
            f"gradient of {getattr(inner, 'reverse', inner)!r} is defined for real inputs only.\n"
            "Hint: use AutoFiniteDiff(method='central') as the outer backend, or AutoNumPy() as the inner one."
        )
    return outer, inner


def _complex_step_over_real_only(outer, inner) -> bool:
    """Complex-step differences over a gradient that JAX, torch or autograd compute (real only)."""
    from ..backends import AutoFiniteDiff, AutoNumPy

    fwd, rev = getattr(outer, "forward", outer), getattr(inner, "reverse", inner)
    return (
        isinstance(fwd, AutoFiniteDiff) and fwd.method == "complex"
        and not isinstance(rev, (AutoFiniteDiff, AutoNumPy, SecondOrder))
    )


def _outer_build(outer, inner, derive, fun, spec):
    """``derive(outer, fun, spec)`` (a function of :mod:`._derive`), bridging array libraries when they differ.

    An outer backend of another library (finite differences over torch, say) sees NumPy arrays;
    ``fun`` (inner's derivative function) gets inner-native arrays; results go back to the
    inner backend's library, which is what the preparation converts from.
    """
    if outer.library == inner.library:
        return derive(outer, fun, spec)
    import dataclasses

    from .._arrays import to_numpy

    def to_inner(a):
        return inner.from_numpy_native(np.asarray(a), spec)

    def fun_numpy(x, *ctx):
        return to_numpy(fun(to_inner(x), *ctx))

    prim = derive(outer, fun_numpy, dataclasses.replace(spec, input_library="numpy"))

    def bridged(x, *rest):
        *seeds, ctx = rest
        out = prim(to_numpy(x), *[to_numpy(s) for s in seeds], ctx)
        return tuple(to_inner(o) for o in out)

    return bridged


def _scalar_output(spec, op):
    from ..backends._base import _is_complex

    if _is_complex(spec.x_dtype):
        raise UnsupportedOperationError(
            f"ad.{op} does not take complex inputs (second derivatives of real functions of complex "
            "variables have no single convention).\nHint: pass the real and imaginary parts as two "
            "active arguments, e.g. ad.hessian(lambda a, b: f(a + 1j * b), backend, z.real, z.imag)."
        )
    if spec.m != 1:
        raise OutputError(
            f"ad.{op} needs a scalar-valued f; f(x) has shape {spec.y_shape}.\n"
            "Hint: use ad.jacobian/ad.pushforward for vector outputs."
        )
    refuse_complex_output(spec, op)
    if spec.inplace:
        raise InputError(f"ad.{op} does not take in-place functions.\nHint: return the scalar from f.")


def _b_hvp(backend, f, spec):
    _scalar_output(spec, "hvp")
    outer, inner = _parts(backend)
    g = _derive.raw_gradient(outer, inner, f, spec)
    gspec = spec.with_output(spec.x_shape, spec.x_dtype)
    product = _derive.pullback if outer.hvp_mode == "reverse" else _derive.pushforward  # H is symmetric: equal
    return _outer_build(outer, inner, product, g, gspec)


def _b_hessian(backend, f, spec):
    _scalar_output(spec, "hessian")
    fast = backend.fast_hessian(f, spec)  # e.g. AutoSparse: colored HVPs
    if fast is not None:
        return fast
    outer, inner = _parts(backend)
    g = _derive.raw_gradient(outer, inner, f, spec)
    gspec = spec.with_output(spec.x_shape, spec.x_dtype)
    jac = _outer_build(outer, inner, _value_and_jacobian, g, gspec)
    value = _value_fun(backend, f, spec)

    def hessian(x, ctx):
        grad, H = jac(x, ctx)
        return (value(x, ctx), grad), H

    return Built(hessian, lambda x, ctx: jac(x, ctx)[1])


def _value_and_jacobian(outer, fun, spec):
    return _derive.jacobian(outer, fun, spec).run


def _value_and_derivative(outer, fun, spec):
    return _derive.derivative(outer, fun, spec).run


def _b_second_derivative(backend, f, spec):
    if spec.x_shape != ():
        raise InputError(
            f"ad.second_derivative needs a scalar input; x has shape {spec.x_shape}.\n"
            "Hint: use ad.hessian or ad.hvp for array inputs."
        )
    if spec.inplace:
        raise InputError("ad.second_derivative does not take in-place functions.\nHint: return the output from f.")
    outer, inner = _parts(backend)
    d = _derive.raw_derivative(outer, inner, f, spec)
    d2 = _outer_build(outer, inner, _value_and_derivative, d, spec)
    value = _value_fun(backend, f, spec)

    def second_derivative(x, ctx):
        der, der2 = d2(x, ctx)
        return (value(x, ctx), der), der2

    return Built(second_derivative, lambda x, ctx: d2(x, ctx)[1])  # only: no plain evaluation of f


def _value_fun(backend, f, spec):
    """Plain evaluation of f (jitted when the backend is JAX)."""
    inner = backend.inner if isinstance(backend, SecondOrder) else backend
    if inner.library == "jax" and getattr(inner, "jit", False):
        import jax

        return jax.jit(lambda x, ctx: f(x, *ctx))
    if spec.input_library != "numpy" and inner.library == "numpy":
        from .._arrays import from_numpy

        return lambda x, ctx: f(from_numpy(x, spec.input_library), *ctx)
    return lambda x, ctx: f(x, *ctx)


# ------------------------------------------------------------- second derivative
@routed_prepare("second_derivative")
def prepare_second_derivative(f, *args):
    """Prepare :func:`second_derivative` (scalar input).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> prep = ad.prepare_second_derivative(np.sin, ad.AutoFiniteDiff(), 0.5)
    >>> type(prep).__name__
    'SecondDerivativePrep'
    """
    return prepare(SecondDerivativePrep, "second_derivative", f, args, _b_second_derivative)


@routed("second_derivative")
def value_derivative_and_second_derivative(f, *args, prep=None, out=None):
    """``(f(x), f'(x), f''(x))`` for a scalar ``x``.

    Parameters
    ----------
    f : callable
        ``f(x, *contexts) -> y`` (any output shape).
    *args
        ``backend, x, *contexts``.
    prep : SecondDerivativePrep, optional
    out : array, optional
        Buffer shaped like ``f(x)`` receiving ``f''(x)``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> y, d, d2 = ad.value_derivative_and_second_derivative(lambda t: t**3, ad.AutoFiniteDiff(), 1.0)
    >>> float(y), round(float(d), 5), round(float(d2), 3)
    (1.0, 3.0, 6.0)
    """
    prep, _, (value, d, d2) = run_first_call(  # no guess: only an output another operator learned
        SecondDerivativePrep, "second_derivative", f, args, prep, _b_second_derivative, _run_second, None
    )
    d2 = prep.back(d2)
    if out is not None:
        d2 = write_out(prep, out, d2)
    return prep.back(value), prep.back(d), d2


def _run_second(prep, y, x, contexts):
    (value, d), d2 = prep.run(native_x(prep, x), prep.native_contexts(contexts))
    return value, d, d2


def second_derivative(f, *args, prep=None, out=None):
    """Second derivative ``f''(x)`` of a function of a scalar ``x`` (shape of ``f(x)``).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> round(float(ad.second_derivative(lambda t: t**3, ad.AutoFiniteDiff(), 2.0)), 3)
    12.0
    """
    if type(prep) is TreePrep or (prep is None and is_structured(args)):
        return value_derivative_and_second_derivative(f, *args, prep=prep, out=out)[2]
    try:
        prep, _, x, contexts = resolve_prep(SecondDerivativePrep, "second_derivative", f, args, prep, _b_second_derivative)
    except TreeOutputError:  # a pytree output: the routed operator handles it
        return value_derivative_and_second_derivative(f, *args, prep=prep, out=out)[2]
    d2 = prep.back(prep.run_only(native_x(prep, x), prep.native_contexts(contexts)))  # f's value is not needed
    return d2 if out is None else write_out(prep, out, d2)


# --------------------------------------------------------------------------- hvp
@routed_prepare("hvp")
def prepare_hvp(f, *args):
    """Prepare :func:`hvp` (same signature, without tangents).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> prep = ad.prepare_hvp(lambda x: np.sum(x**3), ad.AutoFiniteDiff(), np.ones(2))
    >>> type(prep).__name__
    'HVPPrep'
    """
    return prepare(HVPPrep, "hvp", f, args, _b_hvp)


@routed_prepare("hvp", same_point=True)
def prepare_hvp_same_point(f, *args):
    """Like :func:`prepare_hvp`, for many tangents at this very ``x`` (checked on use)."""
    return prepare(HVPPrep, "hvp", f, args, _b_hvp, same_point=True)


@routed("hvp", seeds=True)
def gradient_and_hvp(f, *args, prep=None, out=None):
    """``(∇f(x), (H v for v in tv))`` for a scalar-valued ``f``.

    Parameters
    ----------
    f : callable
        ``f(x, *contexts) -> scalar``.
    *args
        ``backend, x, tv, *contexts`` with ``tv`` a tuple of tangents shaped like ``x``.
    prep : HVPPrep, optional
    out : tuple of arrays, optional

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> g, hv = ad.gradient_and_hvp(lambda x: np.sum(x**3), ad.AutoFiniteDiff(), np.array([1.0, 2.0]), (np.array([1.0, 0.0]),))
    >>> np.round(g, 5), np.round(hv[0], 3)
    (array([ 3., 12.]), array([6., 0.]))
    """
    args, tv = pop_seeds(args)
    prep, _, x, contexts = resolve_prep(HVPPrep, "hvp", f, args, prep, _b_hvp)
    V, single = stack_seeds(prep, tv, prep.spec.x_shape, prep.spec.x_dtype, "tv")
    grad, HV = prep.run(native_x(prep, x), V, prep.native_contexts(contexts))
    return finish_batch(prep, None, grad, HV, single, out)


def hvp(f, *args, prep=None, out=None):
    """Hessian-vector products ``H(x) v`` (forward-over-reverse by default).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> hv = ad.hvp(lambda x: x[0]**2 * x[1], ad.AutoFiniteDiff(), np.array([1.0, 2.0]), (np.array([1.0, 0.0]),))
    >>> np.round(hv[0], 4)
    array([4., 2.])
    """
    return gradient_and_hvp(f, *args, prep=prep, out=out)[1]


# ----------------------------------------------------------------------- hessian
@routed_prepare("hessian")
def prepare_hessian(f, *args):
    """Prepare :func:`hessian`.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> prep = ad.prepare_hessian(lambda x: np.sum(x**3), ad.AutoFiniteDiff(), np.ones(2))
    >>> type(prep).__name__
    'HessianPrep'
    """
    return prepare(HessianPrep, "hessian", f, args, _b_hessian)


@routed("hessian")
def value_gradient_and_hessian(f, *args, prep=None, out=None):
    """``(f(x), ∇f(x), H(x))`` with ``H.shape == x.shape + x.shape``.

    Parameters
    ----------
    f : callable
        ``f(x, *contexts) -> scalar``.
    *args
        ``backend, x, *contexts``.
    prep : HessianPrep, optional
    out : array, optional
        Buffer of shape ``x.shape + x.shape`` receiving the Hessian.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> y, g, H = ad.value_gradient_and_hessian(lambda x: x[0] * x[1], ad.AutoFiniteDiff(), np.array([1.0, 2.0]))
    >>> float(y), np.round(H, 4)
    (2.0, array([[0., 1.],
           [1., 0.]]))
    """
    prep, _, (value, grad, H) = run_first_call(
        HessianPrep, "hessian", f, args, prep, _b_hessian, _run_hessian, scalar_output
    )  # first call: f(x) guessed scalar (checked against the value), not evaluated for its shape
    value, H = finish_one(prep, None, value, H, out)
    return value, prep.back(grad), H


def _run_hessian(prep, y, x, contexts):
    (value, grad), H = prep.run(native_x(prep, x), prep.native_contexts(contexts))
    return value, grad, H


def hessian(f, *args, prep=None, out=None):
    """Hessian of a scalar-valued ``f``, of shape ``x.shape + x.shape``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> np.round(ad.hessian(lambda x: x[0]**2 * x[1], ad.AutoFiniteDiff(), np.array([1.0, 2.0])), 4)
    array([[4., 2.],
           [2., 0.]])
    """
    if out is None and len(args) == 2 and type(prep) is HessianPrep:
        H = prep.fast(f, args[0], args[1])  # hot path of a prepared call
        if H is not None:
            return H
    if type(prep) is TreePrep or (prep is None and is_structured(args)):
        return tree_operator("hessian", f, args, prep, out)
    try:
        prep, _, x, contexts = resolve_prep(HessianPrep, "hessian", f, args, prep, _b_hessian)
    except TreeOutputError:  # a pytree output: the routed operator says what to do
        return value_gradient_and_hessian(f, *args, prep=prep, out=out)[2]
    H = prep.back(prep.run_only(native_x(prep, x), prep.native_contexts(contexts)))  # f's value is not needed
    return H if out is None else write_out(prep, out, H)
