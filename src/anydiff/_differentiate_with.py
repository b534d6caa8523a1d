"""``differentiate_with``: let another backend differentiate one piece of a NumPy function.

anydiff's own NumPy engines (``AutoNumPy`` and the sparsity tracers) follow ``f`` through
NumPy's dispatch protocols. Code they cannot follow (the ``math`` module, ``float(x[0])``,
compiled extensions, ``scipy.integrate`` solvers, ...) can be wrapped: the wrapper calls the
original function on plain arrays, and when it receives a dual or tracer it asks ``backend``
for the derivative instead of looking inside.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ._arrays import to_numpy
from ._contexts import Constant
from ._custom_rule import RouteTable, library_route
from ._errors import InputError, TracingError, UnsupportedOperationError

__all__ = ["DifferentiateWith", "differentiate_with"]


def differentiate_with(f, backend, *, jacobian_sparsity=None, output_shape=None):
    """Wrap ``f(x, *args)`` so that anydiff differentiates it with ``backend`` as a black box.

    Inside a function differentiated by ``AutoNumPy()`` (or ``AutoSparse(AutoNumPy())``), the
    wrapper computes ``f`` at the primal value and pushes the tangents forward with
    ``backend`` (one batched pushforward). Inside the NumPy sparsity tracers it reports that
    every output element may depend on every element of ``x`` (or, if given,
    ``jacobian_sparsity``). Inside JAX code it is a set of JAX primitives evaluated on the host
    (a host callback) whose JVP and transpose are ``backend``'s pushforward and pullback;
    inside torch code a ``torch.autograd.Function``; see ``docs/rules.md``. On plain arrays it
    just calls ``f``.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> y``: ``x`` an array (differentiated), ``args`` extra arguments held
        constant (passed to ``backend`` as ``ad.Constant``), ``y`` an array or scalar.
    backend : Backend or str
        Any backend that can differentiate ``f`` as it is, e.g. ``AutoFiniteDiff()`` for code
        that only NumPy can run, or ``AutoJax()`` for a piece written with ``jax.numpy``.
    jacobian_sparsity : scipy.sparse array, optional
        Boolean pattern of ``f``'s Jacobian, shape ``(y.size, x.size)``, used by the sparsity
        tracers instead of "dense". It must hold for every ``x``.
    output_shape : tuple of int, optional
        Shape of ``f(x)``: the global sparsity tracer has no values to run ``f`` on, so it
        needs this (the local tracer and ``AutoNumPy`` run ``f``).

    Returns
    -------
    DifferentiateWith
        A callable with the signature of ``f``.

    Notes
    -----
    Only first order: a nested dual (``hessian`` with ``AutoNumPy()`` as both levels) raises
    ``UnsupportedOperationError``; use ``SecondOrder(AutoFiniteDiff(), AutoNumPy())`` for a
    Hessian through such a function. Second-order sparsity patterns treat the wrapped
    function as nonlinear in all of ``x``.

    Examples
    --------
    >>> import math, numpy as np, anydiff as ad
    >>> def opaque(x):                         # the math module: NumPy cannot dispatch it
    ...     return np.array([math.sin(x[0]) * x[1], math.exp(x[1])])
    >>> g = ad.differentiate_with(opaque, ad.AutoFiniteDiff(), output_shape=(2,))
    >>> f = lambda x: np.sum(g(x) * x)
    >>> x = np.array([0.5, 1.0])
    >>> exact = [math.cos(0.5) * 0.5 + math.sin(0.5), math.sin(0.5) * 0.5 + 2.0 * math.exp(1.0)]
    >>> np.allclose(ad.gradient(f, ad.AutoNumPy(), x), exact)
    True
    >>> ad.jacobian_sparsity(lambda x: g(x[:2]) * x[2], np.ones(3)).toarray()
    array([[ True,  True,  True],
           [ True,  True,  True]])

    Inside JAX code (jit, grad, vmap, jacfwd, jacrev) and torch code (autograd, torch.func),
    when installed:

    >>> import importlib.util
    >>> if importlib.util.find_spec("jax"):
    ...     import jax
    ...     jax.config.update("jax_enable_x64", True)
    ...     grad = jax.jit(jax.grad(lambda v: jax.numpy.sum(g(v) * v)))
    ...     assert np.allclose(grad(x), exact)
    >>> if importlib.util.find_spec("torch"):
    ...     import torch
    ...     assert np.allclose(torch.func.jacrev(g)(torch.tensor(x)).numpy(), ad.jacobian(g, "fd", x))
    """
    return DifferentiateWith(f, backend, jacobian_sparsity=jacobian_sparsity, output_shape=output_shape)


class DifferentiateWith:
    """Callable returned by :func:`differentiate_with` (see there)."""

    def __init__(self, f, backend, *, jacobian_sparsity=None, output_shape=None):
        from .backends import resolve_backend

        if not callable(f):
            raise InputError(f"differentiate_with needs a callable, got {type(f).__name__}.\nHint: pass the function itself.")
        self.f = f
        self.backend = resolve_backend(backend)
        self.output_shape = None if output_shape is None else tuple(int(k) for k in np.atleast_1d(output_shape))
        if jacobian_sparsity is not None:
            if np.ndim(jacobian_sparsity) != 2:  # checked first: SciPy < 1.14 cannot even convert 1-D input
                raise InputError("differentiate_with: jacobian_sparsity must be 2-D (output size × input size).\nHint: pass a scipy.sparse array.")
            jacobian_sparsity = sp.csr_array(jacobian_sparsity, dtype=bool)
        self.jacobian_sparsity = jacobian_sparsity
        self._preps = {}  # host-side preparations, per input signature (JAX and torch callers)
        self.__wrapped__ = f
        self.__name__ = getattr(f, "__name__", "f")
        self.__doc__ = getattr(f, "__doc__", None)

    def __repr__(self):
        return f"differentiate_with({self.__name__}, {self.backend!r})"

    def __call__(self, x, *args):
        return _ROUTES(self, x, args)

    def _engine(self, x, args):
        from ._numpy_scope import plain_numpy
        from .dual import Dual

        with plain_numpy():  # the black box sees plain NumPy inside an engine's call
            return self._dual(x, args) if isinstance(x, Dual) else self._trace(x, args)

    # ------------------------------------------------------------------ AutoNumPy
    def _dual(self, x, args):
        from . import operators
        from .dual import Dual

        if isinstance(x.value, Dual) or isinstance(x.tangent, Dual):
            raise UnsupportedOperationError(
                f"{self!r} is first order only, but it received a nested dual (second order with "
                "AutoNumPy() as both levels).\nHint: use SecondOrder(AutoFiniteDiff(), AutoNumPy()) "
                "for second derivatives through this function."
            )
        value = np.asarray(x.value)
        if getattr(x.tangent, "_anydiff_symbolic", False):  # reverse mode: a symbolic tangent
            return self._taped(value, x.tangent, args)
        contexts = [Constant(a) for a in args]
        tangents = tuple(np.asarray(t) for t in x.tangent)
        if not tangents:
            y = np.asarray(self.f(value, *args))
            return Dual(y, np.zeros((0,) + y.shape, dtype=y.dtype))
        y, ty = operators.value_and_pushforward(self.f, self.backend, value, tangents, *contexts)
        y = np.asarray(y)
        return Dual(y, np.stack([np.asarray(t, dtype=y.dtype).reshape(y.shape) for t in ty]))

    def _taped(self, value, tangent, args):
        """Reverse mode: one tape record whose transpose is ``backend``'s pullback at ``value``
        (prepared once per signature, as inside JAX and torch code)."""
        from .dual import Dual
        from .reverse._tape import Lin

        y = np.asarray(self.f(value, *args))
        tape = tangent.tape
        node = tape.add(_t_black_box, (tangent.node,), (self, value, list(args), y.shape, np.iscomplexobj(y)))
        return Dual(y, Lin(tape, node, (1,) + y.shape, np.result_type(y.dtype, tangent.dtype)))

    def _trace(self, x, args):
        return trace_black_box(self, self.f, x, args, self.jacobian_sparsity, self.output_shape)


def _route(x, args):
    """The handler for arguments of these types: an engine value, JAX, torch, or plain ``f``."""
    from .dual import Dual
    from .sparse.detect._tracer import _Tracer

    special = (Dual, _Tracer)
    if any(isinstance(a, special) for a in args):
        return _argument_carries_derivatives
    if isinstance(x, special):
        return DifferentiateWith._engine
    return library_route(x, args, "call_black_box", autograd=_autograd_black_box,
                         plain=lambda dw, x, args: dw.f(x, *args))


def _autograd_black_box(dw, x, args):
    """``dw(x, *args)`` inside autograd code: a primitive whose vjp/jvp are ``backend``'s
    pullback/pushforward (autograd boxes would otherwise reach ``f`` and, through NumPy, lose
    their derivatives without an error)."""
    prim = dw.__dict__.get("_autograd_primitive")
    if prim is None:
        from autograd.extend import defjvp_argnum, defvjp_argnum, primitive

        from . import operators

        prim = primitive(lambda x, *args: dw.f(x, *args))

        def constants(argnum, args):
            if argnum != 0:
                _argument_carries_derivatives(dw, None, args)
            return [Constant(a) for a in args[1:]]

        def vjp(argnum, ans, args, kwargs):
            ctx = constants(argnum, args)
            return lambda g: operators.pullback(dw.f, dw.backend, args[0], (g,), *ctx)[0]

        def jvp(argnum, t, ans, args, kwargs):
            return operators.pushforward(dw.f, dw.backend, args[0], (t,), *constants(argnum, args))[0]

        defvjp_argnum(prim, vjp)
        defjvp_argnum(prim, jvp)
        dw.__dict__["_autograd_primitive"] = prim
    return prim(x, *args)


def _argument_carries_derivatives(dw, x, args):
    raise UnsupportedOperationError(
        f"{dw!r}: only the first argument is differentiated, but another argument carries "
        "derivatives.\nHint: pack everything differentiated into one array x (np.concatenate) "
        "and split it inside f."
    )


_ROUTES = RouteTable(_route)


def trace_black_box(owner, f, x, args, jacobian_sparsity, output_shape):
    """Sparsity tracers: ``f`` as a black box with a declared pattern, else dense in ``x``."""
    from .sparse.detect._index_sets import _any_row, _product, _rows
    from .sparse.detect._tracer import _Tracer

    ctx = x.ctx
    value = None
    if x.value is not None:
        value = np.asarray(f(np.asarray(x.value), *args))
        shape = value.shape
    elif output_shape is not None:
        shape = output_shape
    else:
        raise TracingError(
            f"{owner!r}: the global sparsity tracer has no values to run f on, so it cannot tell "
            "the shape of its output.\nHint: pass output_shape= to the wrapper, or use "
            "TracerLocalSparsityDetector()."
        )
    m = math.prod(shape)
    if jacobian_sparsity is not None:
        if jacobian_sparsity.shape != (m, x.size):
            raise InputError(
                f"{owner!r}: jacobian_sparsity has shape {jacobian_sparsity.shape}, but f maps "
                f"{x.size} inputs to {m} outputs.\nHint: the pattern is (output size, input size)."
            )
        S = _product(sp.csr_array(jacobian_sparsity, dtype=np.int32), x.S)
        ctx.second(S)  # conservative: nonlinear in whatever each output depends on
    else:
        row = _any_row([x.S], ctx.n)
        ctx.second(row)
        S = _rows(row, np.zeros(m, dtype=np.int64))
    return _Tracer(S, shape, value if ctx.local else None, ctx)


def _t_black_box(ct, data):
    """Transpose of a black box's tangent record: ``B`` cotangents through the backend's pullback."""
    dw, value, args, y_shape, complex_y = data
    lin = np.asarray(ct).reshape((ct.shape[0],) + tuple(y_shape))
    if not complex_y and np.iscomplexobj(lin):  # a real output's cotangent is real (only Re pairs with it)
        lin = lin.real
    return (host_apply(dw, "pull", value, lin, args),)


# ---------------------------------------------------------------------- host side (JAX, torch)
def host_apply(dw, kind, x, lin, args):
    """``f(x)`` (``kind="call"``), the gradient of scalar ``f`` (``"grad"``), both
    (``"value_grad"``, a pair), or the backend's pushforward / pullback of the stacked tangents /
    cotangents ``lin`` (shape ``(k,) + core``), all in NumPy."""
    if kind == "pull" and lin.ndim == 1:  # scalar f: each pullback is a multiple of the gradient
        kind = "grad"
    return host_runner(dw, kind, x, args)(x, lin, args)


def host_runner(dw, kind, x, args):
    """``(x, lin, args) -> result`` for ``kind`` at inputs shaped like ``x`` and ``args``:
    prepared once per signature, so repeated calls (a jitted loop) skip the set-up and the
    preparation's checks (the signature is the cache key)."""
    key = _signature(kind, x, args)
    run = dw._preps.get(key)
    if run is None:
        run = dw._preps[key] = _build_runner(dw, kind, x, args)
    return run


def _build_runner(dw, kind, x, args):
    if kind == "call":  # in the backend's own array types, as the operators pass them
        from .operators._core import _context_converter

        native = dw.backend.to_native
        convs = [_context_converter(dw.backend, a) or (lambda a: a) for a in args]
        return lambda x, lin, args: to_numpy(dw.f(native(x), *[c(a) for c, a in zip(convs, args)]))
    operator, prepare = _OPERATORS[kind]
    prep = prepare(dw.f, dw.backend, x, *[Constant(a) for a in args])
    if kind in ("grad", "value_grad"):  # lin: cotangents of a scalar pullback, or None
        scale = lambda g, lin: g if lin is None else lin.reshape((-1,) + (1,) * g.ndim) * g
        if not args:  # the prepared call's own fast path, minus its checks
            run, to_native, back = prep.run, prep.to_native, prep.back
            if kind == "value_grad":
                return lambda x, lin, args: tuple(to_numpy(back(o)) for o in run(to_native(x), ()))
            only = prep.run_only or (lambda x, ctx: run(x, ctx)[1])
            return lambda x, lin, args: scale(to_numpy(back(only(to_native(x), ()))), lin)

        def gradient(x, lin, args):
            out = operator(dw.f, dw.backend, x, *[Constant(a) for a in args], prep=prep)
            return tuple(to_numpy(o) for o in out) if kind == "value_grad" else scale(to_numpy(out), lin)

        return gradient

    def linear(x, lin, args):
        out = operator(dw.f, dw.backend, x, tuple(lin), *[Constant(a) for a in args], prep=prep)
        return np.stack([to_numpy(o) for o in out])

    return linear


def _signature(kind, x, args):
    return (kind, x.shape, x.dtype, *[(type(a), np.shape(a), getattr(a, "dtype", None)) for a in args])


def host_value_and_gradient(dw, x, args):
    """``(f(x), ∇f(x))`` in NumPy from one prepared backend call, or ``None`` unless a
    gradient was already prepared for this signature (so ``f`` is known to be scalar).

    The gradient is copied: a caller that holds it until a later backward pass must not see
    a buffer the backend reuses on its next call.
    """
    key = _signature("value_grad", x, args)
    run = dw._preps.get(key)
    if run is None:
        if ("grad",) + key[1:] not in dw._preps:
            return None
        run = host_runner(dw, "value_grad", x, args)
    y, g = run(x, None, args)
    return y, np.array(g, copy=True)


class _Operators(dict):
    """kind -> (operator, its ``prepare_`` function), imported on first use."""

    def __missing__(self, kind):
        from . import operators

        self.update(push=(operators.pushforward, operators.prepare_pushforward),
                    pull=(operators.pullback, operators.prepare_pullback),
                    grad=(operators.gradient, operators.prepare_gradient),
                    value_grad=(operators.value_and_gradient, operators.prepare_gradient))
        return self[kind]


_OPERATORS = _Operators()


def host_batched(dw, kind, x, lin, args, nb, core_out):
    """:func:`host_apply` over ``nb`` leading batch axes (broadcast between operands).

    Points shared by the whole batch (an unbatched ``x`` and ``args``) give one batched
    pushforward/pullback; otherwise each batch point is computed on its own. ``core_out`` (the
    shape of one result, a list of shapes for ``"value_grad"``) is needed only for an empty batch.
    """
    x, args = np.asarray(x), [np.asarray(a) for a in args]
    if nb == 0:  # one point, no batch axes (jit(grad(...)) and the like)
        if lin is None:
            return host_apply(dw, kind, x, None, args)
        return host_apply(dw, kind, x, np.asarray(lin)[None], args)[0]
    pair = kind == "value_grad"
    operands = [x] + args + ([] if lin is None else [np.asarray(lin)])
    batch = np.broadcast_shapes(*(o.shape[:nb] for o in operands))
    k = math.prod(batch)
    if k == 0:
        if core_out is None:  # (the torch side) the core shapes, from one probe of f when needed
            core_out = _core_shapes(dw, kind, x, args, nb)
        shapes = core_out if pair else [core_out]
        out = [np.zeros(batch + tuple(s or ())) for s in shapes]
        return tuple(out) if pair else out[0]
    shared = all(math.prod(o.shape[:nb]) == 1 for o in [x] + args)
    core = lambda o: o.reshape(o.shape[nb:])
    if shared:
        if lin is None:  # call, grad, value_grad: nothing batched but the point
            y = host_apply(dw, kind, core(x), None, [core(a) for a in args])
            each = lambda y: np.broadcast_to(y, batch + y.shape) if batch else y
            return tuple(each(o) for o in y) if pair else each(y)
        L = np.broadcast_to(lin, batch + lin.shape[nb:]).reshape((k,) + lin.shape[nb:])
        out = host_apply(dw, kind, core(x), L, [core(a) for a in args])
        return out.reshape(batch + out.shape[1:])
    flat = [np.broadcast_to(o, batch + o.shape[nb:]).reshape((k,) + o.shape[nb:]) for o in operands]
    outs = []
    for i in range(k):
        xi, ai = flat[0][i], [a[i] for a in flat[1:1 + len(args)]]
        li = None if lin is None else flat[-1][i:i + 1]
        out = host_apply(dw, kind, xi, li, ai)
        outs.append(out if lin is None else out[0])
    stack = lambda parts: np.stack(parts).reshape(batch + parts[0].shape)
    return tuple(stack(list(p)) for p in zip(*outs)) if pair else stack(outs)


def _core_shapes(dw, kind, x, args, nb):
    """Shape of one result of ``kind`` (a list of two for ``"value_grad"``) for an empty batch: the
    shape of ``x`` for pullbacks and gradients, else of ``f`` at an array of ones."""
    x_core = x.shape[nb:]
    if kind in ("pull", "grad"):
        return x_core
    if kind == "value_grad":
        return [(), x_core]
    return np.shape(probe_output(dw, x, args, nb))


def probe_output(dw, x, args, nb=0):
    """``f`` as the host calls it, at arrays of ones shaped like one point of ``x`` and of the array
    arguments (``nb`` leading batch axes dropped); other arguments as given. It tells the output's
    shape and dtype before any value is known."""
    ones = lambda a: np.ones(np.shape(a)[nb:], dtype=a.dtype)
    with np.errstate(all="ignore"):
        return host_apply(dw, "call", ones(x), None, [ones(a) if hasattr(a, "dtype") else a for a in args])
