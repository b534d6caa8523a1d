"""First-order operators: pushforward, pullback, derivative, gradient, jacobian.

Each operator has a ``prepare_<op>`` doing the one-time work (closures jitted/compiled,
basis seeds built) and returns a typed preparation; ``<op>(..., prep=prep)`` then only checks
the call signature, converts arrays and runs the closure. In-place functions ``f(y, x)`` are
accepted by pushforward, pullback, derivative and jacobian: pass ``y`` before the backend.

Derivations (the adapters only provide batched pushforward/pullback closures):
gradient = pullback of the cotangent 1 (or forward Jacobian); derivative = pushforward of the
tangent 1; jacobian = batched pushforwards of the input basis (columns) or pullbacks of the
output basis (rows), whichever side is smaller.
"""

from __future__ import annotations


from .._contexts import Context
from .._trees import is_tree_argument
from . import _derive
from ._core import native_x, prepare, stack_seeds, write_out
from ._first_call import run_first_call, run_with_value, scalar_output, seeds_output
from ._prep import DerivativePrep, GradientPrep, JacobianPrep, PullbackPrep, PushforwardPrep
from ._shared import finish_batch, finish_one, pop_seeds, refuse_complex_output, routed, routed_prepare
from ._structured import TreePrep, is_structured
from ._tree_ops import tree_operator

__all__ = [
    "pushforward", "value_and_pushforward", "prepare_pushforward", "prepare_pushforward_same_point",
    "pullback", "value_and_pullback", "prepare_pullback", "prepare_pullback_same_point",
    "derivative", "value_and_derivative", "prepare_derivative",
    "gradient", "value_and_gradient", "prepare_gradient",
    "jacobian", "value_and_jacobian", "prepare_jacobian",
]


def _b_pushforward(backend, f, spec):
    return _derive.pushforward(backend, f, spec)


def _b_pullback(backend, f, spec):
    return _derive.pullback(backend, f, spec)


def _b_derivative(backend, f, spec):
    if spec.x_shape != ():
        from .._errors import InputError

        raise InputError(
            f"ad.derivative needs a scalar input; x has shape {spec.x_shape}.\n"
            "Hint: use ad.jacobian or ad.pushforward for array inputs."
        )
    return _derive.derivative(backend, f, spec)


def _b_gradient(backend, f, spec):
    if spec.m != 1:
        from .._errors import OutputError

        raise OutputError(
            f"ad.gradient needs a scalar-valued f; f(x) has shape {spec.y_shape}.\n"
            "Hint: use ad.jacobian for vector outputs, or reduce f to a scalar (e.g. np.sum)."
        )
    refuse_complex_output(spec, "gradient")
    return _derive.gradient(backend, f, spec)


def _b_jacobian(backend, f, spec):
    return _derive.jacobian(backend, f, spec)


# ------------------------------------------------------------------ pushforward
@routed_prepare("pushforward")
def prepare_pushforward(f, *args):
    """Prepare :func:`pushforward` for inputs like ``x`` (same signature, without tangents).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> f = lambda x: x**2
    >>> prep = ad.prepare_pushforward(f, ad.AutoFiniteDiff(method="complex"), np.ones(2))
    >>> ad.pushforward(f, ad.AutoFiniteDiff(method="complex"), np.array([1.0, 3.0]), (np.ones(2),), prep=prep)
    (array([2., 6.]),)
    """
    return prepare(PushforwardPrep, "pushforward", f, args, _b_pushforward, inplace_allowed=True)


@routed_prepare("pushforward", same_point=True)
def prepare_pushforward_same_point(f, *args):
    """Like :func:`prepare_pushforward`, for many tangents at this very ``x`` (checked on use)."""
    return prepare(PushforwardPrep, "pushforward", f, args, _b_pushforward, inplace_allowed=True, same_point=True)


@routed("pushforward", seeds=True)
def value_and_pushforward(f, *args, prep=None, out=None):
    """Value and Jacobian-vector products ``(f(x), (J dx for dx in tx))``.

    Parameters
    ----------
    f : callable
        ``f(x, *contexts) -> y`` or in-place ``f(y, x, *contexts)``.
    *args
        ``backend, x, tx, *contexts`` or ``y, backend, x, tx, *contexts``; ``tx`` is a tuple of
        tangents shaped like ``x`` (batched in one pass where the backend can), or one array.
    prep : PushforwardPrep, optional
    out : tuple of arrays, optional
        Buffers shaped like ``f(x)`` receiving the pushforwards.

    Returns
    -------
    y, ty
        ``ty`` is a tuple (one entry per tangent), or one array if ``tx`` was one array.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> y, ty = ad.value_and_pushforward(lambda x: 3 * x, ad.AutoFiniteDiff(), np.ones(2), (np.array([1.0, 0.0]),))
    >>> y, np.round(ty[0], 6)
    (array([3., 3.]), array([3., 0.]))
    """
    args, tx = pop_seeds(args)

    def run(prep, y, x, contexts):
        T, single = stack_seeds(prep, tx, prep.spec.x_shape, prep.spec.x_dtype, "tx")
        return (*prep.run(native_x(prep, x), T, prep.native_contexts(contexts)), single)

    prep, y, (value, TY, single) = run_first_call(  # no guess: only an output another operator learned
        PushforwardPrep, "pushforward", f, args, prep, _b_pushforward, run, None, inplace_allowed=True
    )
    return finish_batch(prep, y, value, TY, single, out)


def pushforward(f, *args, prep=None, out=None):
    """Jacobian-vector products ``J(x) dx`` for each tangent ``dx`` in ``tx``.

    Same arguments as :func:`value_and_pushforward`; returns only the pushforwards.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> ad.pushforward(lambda x: x**2, ad.AutoFiniteDiff(method="complex"), np.array([1.0, 2.0]), (np.ones(2),))
    (array([2., 4.]),)
    """
    return value_and_pushforward(f, *args, prep=prep, out=out)[1]


# --------------------------------------------------------------------- pullback
@routed_prepare("pullback")
def prepare_pullback(f, *args):
    """Prepare :func:`pullback` for inputs like ``x`` (same signature, without cotangents).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> prep = ad.prepare_pullback(lambda x: 2 * x, ad.AutoFiniteDiff(), np.ones(2))
    >>> type(prep).__name__
    'PullbackPrep'
    """
    return prepare(PullbackPrep, "pullback", f, args, _b_pullback, inplace_allowed=True)


@routed_prepare("pullback", same_point=True)
def prepare_pullback_same_point(f, *args):
    """Like :func:`prepare_pullback`, for many cotangents at this very ``x`` (checked on use)."""
    return prepare(PullbackPrep, "pullback", f, args, _b_pullback, inplace_allowed=True, same_point=True)


@routed("pullback", seeds=True)
def value_and_pullback(f, *args, prep=None, out=None):
    """Value and vector-Jacobian products ``(f(x), (dyᵀ J for dy in ty))``.

    Parameters
    ----------
    f : callable
        ``f(x, *contexts) -> y`` or in-place ``f(y, x, *contexts)``.
    *args
        ``backend, x, ty, *contexts`` or ``y, backend, x, ty, *contexts``; ``ty`` is a tuple of
        cotangents shaped like ``f(x)``, or one array.
    prep : PullbackPrep, optional
    out : tuple of arrays, optional
        Buffers shaped like ``x``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> y, tx = ad.value_and_pullback(lambda x: x[::-1] * 1.0, ad.AutoFiniteDiff(), np.array([1.0, 2.0]), (np.array([1.0, 0.0]),))
    >>> np.round(tx[0], 6)
    array([0., 1.])
    """
    args, ty = pop_seeds(args)

    def run(prep, y, x, contexts):
        DY, single = stack_seeds(prep, ty, prep.spec.y_shape, prep.spec.y_dtype, "ty")
        return (*prep.run(native_x(prep, x), DY, prep.native_contexts(contexts)), single)

    prep, y, (value, TX, single) = run_first_call(
        PullbackPrep, "pullback", f, args, prep, _b_pullback, run, seeds_output(ty), inplace_allowed=True
    )
    return finish_batch(prep, y, value, TX, single, out)


def pullback(f, *args, prep=None, out=None):
    """Vector-Jacobian products ``dyᵀ J(x)`` for each cotangent ``dy`` in ``ty``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> tx = ad.pullback(lambda x: x**2, ad.AutoFiniteDiff(), np.array([1.0, 2.0]), (np.ones(2),))
    >>> np.allclose(tx[0], [2.0, 4.0])
    True
    """
    return value_and_pullback(f, *args, prep=prep, out=out)[1]


# ------------------------------------------------------------------- derivative
@routed_prepare("derivative")
def prepare_derivative(f, *args):
    """Prepare :func:`derivative` (scalar input).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> prep = ad.prepare_derivative(np.sin, ad.AutoFiniteDiff(method="complex"), 0.0)
    >>> float(ad.derivative(np.sin, ad.AutoFiniteDiff(method="complex"), 0.0, prep=prep))
    1.0
    """
    return prepare(DerivativePrep, "derivative", f, args, _b_derivative, inplace_allowed=True)


@routed("derivative")
def value_and_derivative(f, *args, prep=None, out=None):
    """Value and derivative ``(f(x), f'(x))`` of a function of a scalar ``x``.

    Parameters
    ----------
    f : callable
        ``f(x, *contexts) -> y`` (any output shape) or in-place ``f(y, x, *contexts)``.
    *args
        ``backend, x, *contexts`` or ``y, backend, x, *contexts``; ``x`` is a scalar.
    prep : DerivativePrep, optional
    out : array, optional
        Buffer shaped like ``f(x)``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> y, d = ad.value_and_derivative(np.exp, ad.AutoFiniteDiff(method="complex"), 0.0)
    >>> float(y), float(d)
    (1.0, 1.0)
    """
    prep, y, (value, d) = run_first_call(
        DerivativePrep, "derivative", f, args, prep, _b_derivative, run_with_value, scalar_output, inplace_allowed=True
    )  # first call: f(x) guessed scalar (checked), else evaluated once to learn its shape
    return finish_one(prep, y, value, d, out)


def derivative(f, *args, prep=None, out=None):
    """Derivative ``f'(x)`` of a function of a scalar ``x`` (shape of ``f(x)``).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> float(ad.derivative(lambda t: t**3, ad.AutoFiniteDiff(method="complex"), 2.0))
    12.0
    """
    return value_and_derivative(f, *args, prep=prep, out=out)[1]


# --------------------------------------------------------------------- gradient
@routed_prepare("gradient")
def prepare_gradient(f, *args):
    """Prepare :func:`gradient`: build (and jit/compile) the gradient closure once.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> f = lambda x: np.sum(x**2)
    >>> prep = ad.prepare_gradient(f, ad.AutoFiniteDiff(method="complex"), np.zeros(3))
    >>> ad.gradient(f, ad.AutoFiniteDiff(method="complex"), np.array([1.0, 2.0, 3.0]), prep=prep)
    array([2., 4., 6.])
    """
    return prepare(GradientPrep, "gradient", f, args, _b_gradient)


@routed("gradient")
def value_and_gradient(f, *args, prep=None, out=None):
    """Value and gradient ``(f(x), ∇f(x))`` of a scalar-valued function.

    Parameters
    ----------
    f : callable
        ``f(x, *contexts) -> scalar``.
    *args
        ``backend, x, *contexts``.
    prep : GradientPrep, optional
        Output of :func:`prepare_gradient` for inputs like ``x``.
    out : array, optional
        Buffer shaped like ``x`` receiving the gradient.

    Returns
    -------
    y, g
        ``g`` has the shape and array type of ``x``.

    Raises
    ------
    OutputError
        If ``f`` is not scalar-valued.
    PreparationMismatchError
        If ``prep`` was prepared for another operator, function, backend, shape or dtype.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> y, g = ad.value_and_gradient(lambda x: np.sum(x**2), ad.AutoFiniteDiff(method="complex"), np.array([1.0, 2.0]))
    >>> float(y), g
    (5.0, array([2., 4.]))
    """
    prep, _, (value, g) = run_first_call(GradientPrep, "gradient", f, args, prep, _b_gradient, run_with_value, scalar_output)
    g = prep.back(g)
    if out is not None:
        g = write_out(prep, out, g)
    return prep.back(value), g


def gradient(f, backend, x, *contexts, prep=None, out=None):
    """Gradient ``∇f(x)`` of a scalar-valued function, shaped like ``x``.

    Parameters
    ----------
    f : callable
        ``f(x, *contexts) -> scalar``.
    *args
        ``backend, x, *contexts`` with ``backend`` a selector (``ad.AutoJax()``) or its name.
    prep : GradientPrep, optional
    out : array, optional
        Buffer shaped like ``x``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> ad.gradient(lambda x: np.sum(x**2), ad.AutoFiniteDiff(method="complex"), np.array([1.0, 2.0]))
    array([2., 4.])
    """
    if type(prep) is GradientPrep:
        if out is None and not contexts:
            g = prep.fast(f, backend, x)  # hot path of a prepared call
            if g is not None:
                return g
        prep.check(f, backend, x, contexts)
        g = prep.back(prep.run_only(native_x(prep, x), prep.native_contexts(contexts)))
        return g if out is None else write_out(prep, out, g)
    if type(prep) is TreePrep and out is None:
        g = prep.fast_gradient(f, backend, (x, *contexts))
        if g is not None:
            return g
    if type(prep) is TreePrep or (
        prep is None and (is_tree_argument(x) or (contexts and not all(isinstance(c, Context) for c in contexts)))
    ):
        return tree_operator("gradient", f, (backend, x, *contexts), prep, out)
    return value_and_gradient(f, backend, x, *contexts, prep=prep, out=out)[1]


# --------------------------------------------------------------------- jacobian
@routed_prepare("jacobian")
def prepare_jacobian(f, *args):
    """Prepare :func:`jacobian` (mode chosen, seeds built, closure jitted/compiled once).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> f = lambda x: x**2
    >>> b = ad.AutoFiniteDiff(method="complex")
    >>> prep = ad.prepare_jacobian(f, b, np.ones(2))
    >>> ad.jacobian(f, b, np.array([1.0, 2.0]), prep=prep)
    array([[2., 0.],
           [0., 4.]])
    """
    return prepare(JacobianPrep, "jacobian", f, args, _b_jacobian, inplace_allowed=True)


@routed("jacobian")
def value_and_jacobian(f, *args, prep=None, out=None):
    """Value and Jacobian ``(f(x), J)`` with ``J.shape == f(x).shape + x.shape`` (as ``jax.jacobian``).

    Parameters
    ----------
    f : callable
        ``f(x, *contexts) -> y`` or in-place ``f(y, x, *contexts)``.
    *args
        ``backend, x, *contexts`` or ``y, backend, x, *contexts``.
    prep : JacobianPrep, optional
    out : array, optional
        Buffer of shape ``y.shape + x.shape``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> def f(y, x):
    ...     y[0] = x[0] * x[1]
    ...     y[1] = 2.0 * x[1]
    >>> y = np.zeros(2)
    >>> value, J = ad.value_and_jacobian(f, y, ad.AutoFiniteDiff(method="complex"), np.array([3.0, 4.0]))
    >>> value, J
    (array([12.,  8.]), array([[4., 3.],
           [0., 2.]]))
    """
    prep, y, (value, J) = run_first_call(  # no guess: only an output another operator learned
        JacobianPrep, "jacobian", f, args, prep, _b_jacobian, run_with_value, None, inplace_allowed=True
    )
    return finish_one(prep, y, value, J, out)


def jacobian(f, *args, prep=None, out=None):
    """Jacobian of ``f`` at ``x``, of shape ``f(x).shape + x.shape``.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> ad.jacobian(lambda x: np.array([x[0] * x[1], x[1]]), ad.AutoFiniteDiff(method="complex"), np.array([2.0, 3.0]))
    array([[3., 2.],
           [0., 1.]])
    """
    if out is None and len(args) == 2 and type(prep) is JacobianPrep:
        J = prep.fast(f, args[0], args[1])  # hot path of a prepared call
        if J is not None:
            return J
    if type(prep) is TreePrep or (prep is None and is_structured(args)):
        return tree_operator("jacobian", f, args, prep, out)
    return value_and_jacobian(f, *args, prep=prep, out=out)[1]


