"""``custom_rule``: a derivative rule written once and honoured by every backend.

The returned :class:`CustomRule` is an ordinary callable that looks at the type of its
arguments and hands the rule to the machinery of whichever system is differentiating it:

* a :class:`~anydiff.dual.Dual` (``AutoNumPy``): the rule's ``jvp`` on each stacked tangent;
* a NumPy sparsity tracer: the declared ``jacobian_sparsity``, else "dense";
* a JAX array or tracer: a ``jax.custom_jvp`` function (see ``_rule_jax.py``);
* a torch tensor: a ``torch.autograd.Function`` with backward and forward mode;
* an autograd box: an autograd primitive with ``defvjp``/``defjvp``;
* anything else (plain NumPy arrays): ``f`` itself, so finite differences see ``f`` only.

Hook for other engines: an argument whose type defines ``__anydiff_custom_rule__`` is
handled by ``type(x).__anydiff_custom_rule__(x, rule, contexts)``; the NumPy-level methods
:meth:`CustomRule.pushforward` and :meth:`CustomRule.pullback` give the rule in both
directions (the missing one derived by transposition).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from ._errors import InputError, OutputError, UnsupportedOperationError

__all__ = ["CustomRule", "custom_rule"]


def custom_rule(f=None, *, jvp=None, vjp=None, jacobian_sparsity=None, output_shape=None):
    """Give ``f(x, *contexts)`` a derivative rule that every anydiff backend honours.

    Parameters
    ----------
    f : callable, optional
        ``f(x, *contexts) -> y``. Without ``f``, ``custom_rule(jvp=...)`` returns a decorator.
        ``f``, ``jvp`` and ``vjp`` are called with the arrays of the system differentiating
        them (NumPy arrays, JAX arrays or torch tensors), so write them with operators and
        array methods (``x * x``, ``x.sum()``) when one rule must serve several libraries.
    jvp : callable, optional
        ``jvp(x, tx, *contexts) -> ty``: the Jacobian of ``f`` at ``x`` applied to one
        tangent ``tx`` (shape of ``x``); ``ty`` has the shape of ``f(x)``.
    vjp : callable, optional
        ``vjp(x, ty, *contexts) -> tx``: the transposed Jacobian applied to one cotangent.
        Give at least one of ``jvp`` and ``vjp``; the other is derived by transposing the
        linear map (``jax.linear_transpose``, a vjp of the jvp, or a materialised Jacobian).
    jacobian_sparsity : scipy.sparse array, optional
        Boolean ``(y.size, x.size)`` pattern used by the NumPy sparsity tracers (default:
        every output depends on every input).
    output_shape : tuple of int, optional
        Shape of ``f(x)``, needed only by the global sparsity tracer (it has no values).

    Returns
    -------
    CustomRule
        A callable with the signature of ``f``. ``contexts`` are held constant: asking any
        backend for derivatives with respect to them raises an error.

    Notes
    -----
    Under JAX the rule becomes a ``jax.custom_jvp`` (reverse mode transposes ``jvp``, as
    JAX does, so ``jvp`` must be linear in ``tx`` in JAX's sense); a ``vjp``-only rule is
    transposed with ``jax.linear_transpose``. Under torch it is a ``torch.autograd.Function``
    usable by ``torch.autograd``, forward-mode AD and ``torch.func``. ``AutoNumPy`` calls
    ``jvp`` once per tangent. Finite differences ignore the rule. Use
    :func:`anydiff.testing.check_rule` to test a rule.

    Examples
    --------
    A norm whose derivative is defined (as zero) at the origin:

    >>> import numpy as np, anydiff as ad
    >>> def safe_norm_jvp(x, tx):             # operators only: serves NumPy, JAX and torch
    ...     r = (x * x).sum() ** 0.5
    ...     return (x * tx).sum() / (r + (r == 0))
    >>> @ad.custom_rule(jvp=safe_norm_jvp)
    ... def safe_norm(x):
    ...     return (x * x).sum() ** 0.5
    >>> ad.gradient(safe_norm, ad.AutoNumPy(), np.array([3.0, 4.0]))
    array([0.6, 0.8])
    >>> ad.gradient(safe_norm, ad.AutoNumPy(), np.zeros(2))
    array([0., 0.])

    The same function under ``jax.jit(jax.grad)`` and ``torch.func.grad`` (when installed):

    >>> import importlib.util
    >>> if importlib.util.find_spec("jax"):
    ...     import jax
    ...     jax.config.update("jax_enable_x64", True)
    ...     assert (jax.jit(jax.grad(safe_norm))(np.zeros(2)) == 0).all()
    >>> if importlib.util.find_spec("torch"):
    ...     import torch
    ...     assert (torch.func.grad(safe_norm)(torch.zeros(2, dtype=torch.float64)) == 0).all()
    """
    if f is None:
        return functools.partial(
            custom_rule, jvp=jvp, vjp=vjp, jacobian_sparsity=jacobian_sparsity, output_shape=output_shape
        )
    return CustomRule(f, jvp=jvp, vjp=vjp, jacobian_sparsity=jacobian_sparsity, output_shape=output_shape)


def _library(a):
    module = type(a).__module__
    for name in ("jax", "torch", "autograd"):
        if module.startswith(name) or (name == "jax" and module.startswith("jaxlib")):
            return name
    return None


class CustomRule:
    """Callable returned by :func:`custom_rule` (see there).

    Attributes ``f``, ``jvp``, ``vjp`` and ``jacobian_sparsity`` hold the rule as given;
    :meth:`pushforward` and :meth:`pullback` apply it to NumPy arrays in either direction.
    """

    def __init__(self, f, *, jvp=None, vjp=None, jacobian_sparsity=None, output_shape=None):
        for name, fun in (("f", f), ("jvp", jvp), ("vjp", vjp)):
            if fun is not None and not callable(fun):
                raise InputError(f"custom_rule: {name} must be callable, got {type(fun).__name__}.\n"
                                 f"Hint: pass the function itself as {name}=.")
        if jvp is None and vjp is None:
            raise InputError(
                f"custom_rule({getattr(f, '__name__', 'f')}) got neither jvp= nor vjp=.\n"
                "Hint: give jvp(x, tx, *contexts) -> ty or vjp(x, ty, *contexts) -> tx (or both)."
            )
        if jacobian_sparsity is not None:
            jacobian_sparsity = sp.csr_array(jacobian_sparsity, dtype=bool)
            if jacobian_sparsity.ndim != 2:
                raise InputError("custom_rule: jacobian_sparsity must be 2-D (output size × input size).\n"
                                 "Hint: pass a scipy.sparse array.")
        self.f, self.jvp, self.vjp = f, jvp, vjp
        self.jacobian_sparsity = jacobian_sparsity
        self.output_shape = None if output_shape is None else tuple(int(k) for k in np.atleast_1d(output_shape))
        self.__wrapped__ = f
        self.__name__ = getattr(f, "__name__", "f")
        self.__doc__ = getattr(f, "__doc__", None)
        self._cache = {}  # per-library adapters, built on first use

    def __repr__(self):
        given = [k for k in ("jvp", "vjp") if getattr(self, k) is not None]
        return f"custom_rule({self.__name__}, {'+'.join(given)})"

    # ------------------------------------------------------------------ dispatch
    def __call__(self, x, *contexts):
        return _ROUTES(self, x, contexts)

    # ------------------------------------------------------------------ NumPy level
    def check(self, which, out, like):
        """Raise :class:`~anydiff.OutputError` unless ``out`` has the shape of ``like``."""
        if tuple(np.shape(out)) != tuple(np.shape(like)):
            expected = "f(x)" if which == "jvp" else "x"
            raise OutputError(
                f"{self!r}: {which} returned shape {tuple(np.shape(out))}, but it must have the shape "
                f"of {expected}, {tuple(np.shape(like))}.\nHint: jvp(x, tx, *contexts) returns an array "
                "shaped like f(x); vjp(x, ty, *contexts) returns one shaped like x."
            )
        if _loses_precision(getattr(out, "dtype", None), getattr(like, "dtype", None)):
            expected = "f(x)" if which == "jvp" else "x"
            raise OutputError(
                f"{self!r}: {which} returned dtype {out.dtype}, but it must have the dtype of {expected}, "
                f"{like.dtype} (a narrower dtype would silently lose precision or the imaginary part).\n"
                f"Hint: compute {which}'s result in the dtype of its arguments (e.g. no .astype(np.float32))."
            )
        return out

    def pushforward(self, x, tangents, *contexts, y=None):
        """``tuple`` of ``J @ tx`` for each NumPy tangent (from ``jvp``, else transposed ``vjp``)."""
        y = self.f(x, *contexts) if y is None else y
        if self.jvp is not None:
            return tuple(self.check("jvp", self.jvp(x, t, *contexts), y) for t in tangents)
        J = self._materialise(x, contexts, y)  # a column tangent: reverse mode transposes 2-d products
        return tuple((J @ np.reshape(t, (-1, 1))).reshape(np.shape(y)) for t in tangents)

    def pullback(self, x, cotangents, *contexts, y=None):
        """``tuple`` of ``J.T @ ty`` for each NumPy cotangent (from ``vjp``, else transposed ``jvp``)."""
        if self.vjp is not None:
            return tuple(self.check("vjp", self.vjp(x, c, *contexts), x) for c in cotangents)
        y = self.f(x, *contexts) if y is None else y
        J = self._materialise(x, contexts, y)
        return tuple((np.reshape(c, (1, -1)) @ J).reshape(np.shape(x)) for c in cotangents)

    def _materialise(self, x, contexts, y):
        """The ``(y.size, x.size)`` Jacobian from whichever direction the rule gives."""
        n, m = np.size(x), np.size(y)
        if self.jvp is not None:
            E = np.eye(n, dtype=np.result_type(x, float)).reshape((n,) + np.shape(x))
            cols = [np.reshape(self.check("jvp", self.jvp(x, e, *contexts), y), -1) for e in E]
            return np.stack(cols, axis=1) if cols else np.zeros((m, 0))
        E = np.eye(m, dtype=np.result_type(y, float)).reshape((m,) + np.shape(y))
        rows = [np.reshape(self.check("vjp", self.vjp(x, e, *contexts), x), -1) for e in E]
        return np.stack(rows) if rows else np.zeros((0, n))

    def _dual(self, x, contexts):
        from .dual import Dual

        value, tangent = x.value, x.tangent
        y = self(value, *contexts)  # a nested dual (second order) dispatches again
        B = tangent.shape[0]
        if B == 0:
            return Dual(y, np.zeros((0,) + np.shape(y), dtype=np.result_type(y)))
        tys = self.pushforward(value, [tangent[b] for b in range(B)], *contexts, y=y)
        return Dual(y, np.stack(tys))

    # ------------------------------------------------------------------ autograd
    def _autograd_primitive(self):
        if "autograd" not in self._cache:
            from autograd.extend import defjvp_argnum, defvjp_argnum, primitive

            prim = primitive(lambda x, *contexts: self.f(x, *contexts))
            defvjp_argnum(prim, self._autograd_vjp)
            defjvp_argnum(prim, self._autograd_jvp)
            self._cache["autograd"] = prim
        return self._cache["autograd"]

    def _context_error(self, argnum):
        return UnsupportedOperationError(
            f"{self!r}: autograd asked for the derivative with respect to argument {argnum}, but "
            "contexts are held constant.\nHint: differentiate with respect to x only, or pack the "
            "differentiated values into x."
        )

    def _autograd_vjp(self, argnum, ans, args, kwargs):
        if argnum != 0:
            raise self._context_error(argnum)
        x, contexts = args[0], args[1:]
        if self.vjp is not None:
            return lambda g: self.check("vjp", self.vjp(x, g, *contexts), x)
        from autograd import make_vjp

        pull, _ = make_vjp(lambda t: self.check("jvp", self.jvp(x, t, *contexts), ans))(np.zeros_like(x))
        return lambda g: _transposed(self, "jvp", lambda: pull(g))

    def _autograd_jvp(self, argnum, g, ans, args, kwargs):
        if argnum != 0:
            raise self._context_error(argnum)
        x, contexts = args[0], args[1:]
        if self.jvp is not None:
            return self.check("jvp", self.jvp(x, g, *contexts), ans)
        from autograd import make_vjp

        pull, _ = make_vjp(lambda c: self.check("vjp", self.vjp(x, c, *contexts), x))(np.zeros_like(ans))
        return _transposed(self, "vjp", lambda: pull(g))


def _loses_precision(have, want) -> bool:
    """Whether a rule's result of dtype ``have`` would lose data as the dtype ``want`` expects."""
    from ._arrays import numpy_dtype

    if have is None or want is None:
        return False
    have, want = numpy_dtype(have), numpy_dtype(want)
    if have is None or want is None or have.kind not in "fc" or want.kind not in "fc":
        return False
    if have.kind == "c" and want.kind == "f":
        return True  # the imaginary part would be dropped
    real = lambda d: np.empty(0, d).real.dtype  # noqa: E731
    return real(have).itemsize < real(want).itemsize


class RouteTable:
    """Calls ``handler(owner, x, args)``, the handler ``route(x, args)`` picks for the types of
    ``x`` and ``args``: found once per type signature (the table is bounded, for a program
    cycling through ever new types). Used by ``custom_rule`` and ``differentiate_with``."""

    def __init__(self, route):
        self._route, self._table = route, {}

    def __call__(self, owner, x, args):
        key = (type(x), *[type(a) for a in args]) if args else type(x)
        handler = self._table.get(key)
        if handler is None:
            if len(self._table) > 1024:
                self._table.clear()
            handler = self._table[key] = self._route(x, args)
        return handler(owner, x, args)


def library_route(x, args, name, autograd, plain):
    """The handler for framework arrays among ``x`` and ``args``: ``name`` from ``_rule_jax`` or
    ``_rule_torch`` for JAX or torch arrays, ``autograd`` for autograd boxes, else ``plain``."""
    import importlib

    libraries = {_library(a) for a in (x,) + tuple(args)}
    for library in ("jax", "torch"):
        if library in libraries:
            return getattr(importlib.import_module(f"{__package__}._rule_{library}"), name)
    return autograd if "autograd" in libraries else plain


def _route(x, contexts):
    """The handler for arguments of these types (see the module docstring)."""
    if getattr(type(x), "__anydiff_custom_rule__", None) is not None:
        return lambda rule, x, contexts: type(x).__anydiff_custom_rule__(x, rule, contexts)
    from .dual import Dual
    from .sparse.detect._tracer import _Tracer

    if any(isinstance(c, (Dual, _Tracer)) for c in contexts):
        return _context_carries_derivatives
    if isinstance(x, Dual):
        return lambda rule, x, contexts: rule._dual(x, contexts)
    if isinstance(x, _Tracer):
        from ._differentiate_with import trace_black_box

        return lambda rule, x, contexts: trace_black_box(rule, rule.f, x, contexts, rule.jacobian_sparsity,
                                                         rule.output_shape)
    return library_route(x, contexts, "call_rule",
                         autograd=lambda rule, x, contexts: rule._autograd_primitive()(x, *contexts),
                         plain=lambda rule, x, contexts: rule.f(x, *contexts))


_ROUTES = RouteTable(_route)


def _context_carries_derivatives(rule, x, contexts):
    raise UnsupportedOperationError(
        f"{rule!r}: only the first argument is differentiated, but a context carries "
        "derivatives.\nHint: pack everything differentiated into x and split it inside f, jvp and vjp."
    )


def _transposed(rule, which, compute):
    """Run a transposition of ``rule.<which>``; a rule the AD system cannot transpose gets a clear error."""
    try:
        return compute()
    except Exception as err:
        if isinstance(err, (OutputError, UnsupportedOperationError)):
            raise
        other = "vjp" if which == "jvp" else "jvp"
        raise UnsupportedOperationError(
            f"{rule!r}: the missing {other} is derived by transposing {which}, which must be linear "
            f"in its tangent and traceable by the differentiating library; transposing it failed "
            f"({type(err).__name__}: {err}).\nHint: give both jvp= and vjp= to custom_rule."
        ) from err
