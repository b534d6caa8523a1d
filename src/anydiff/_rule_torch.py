"""torch side of ``custom_rule`` and ``differentiate_with``: ``torch.autograd.Function`` classes.

Each is written in the ``setup_context`` form, so it serves ``torch.autograd`` (backward),
``torch.autograd.forward_ad`` (the ``jvp`` staticmethod) and the ``torch.func`` transforms.
A custom rule is torch code, so torch generates its ``vmap`` rule; a black box runs NumPy
code on the host and has explicit ``vmap`` rules that pass a whole batch of tangents to the
backend as one batched pushforward/pullback.

Speed: torch's ``Function.apply`` binds the arguments of a ``setup_context``-form ``forward``
with ``inspect`` on every call; with no ``torch.func`` transform active, :func:`_applier`
calls a twin in the older ``forward(ctx, ...)`` form instead (same ``forward``,
``setup_context``, ``backward`` and ``jvp`` code), which torch applies without that cost.
"""

from __future__ import annotations

import contextlib
import inspect

import numpy as np

from ._custom_rule import _transposed
from ._differentiate_with import host_batched, host_value_and_gradient
from ._errors import UnsupportedOperationError

__all__ = ["call_black_box", "call_rule"]


def _torch():
    import torch

    return torch


def _context_error(owner):
    return UnsupportedOperationError(
        f"{owner!r}: torch differentiates with respect to a context argument, but contexts are held "
        "constant.\nHint: differentiate with respect to x only (detach the other tensors), or pack "
        "the differentiated values into x."
    )


def _functorch_active(torch):
    """Whether a ``torch.func`` transform is active (``True`` for a torch that cannot tell)."""
    active = getattr(torch._C, "_are_functorch_transforms_active", None)
    return True if active is None else active()


def _applier(torch, modern):
    """``apply`` for the ``setup_context``-form Function ``modern``: its classic-form twin when
    no ``torch.func`` transform is active and no input is a ``torch.func`` wrapper, else
    ``modern.apply`` (which torch needs for its transforms)."""

    class Classic(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *inputs):
            output = modern.forward(*inputs)
            modern.setup_context(ctx, inputs, output)
            return output

        backward = staticmethod(modern.backward)
        jvp = staticmethod(modern.jvp)

    Classic.__name__ = Classic.__qualname__ = modern.__name__
    forward = modern.__dict__["forward"].__func__
    forward.__signature__ = inspect.signature(forward)  # torch binds it per call: no re-inspection
    active = getattr(torch._C, "_are_functorch_transforms_active", None)
    wrapped = getattr(getattr(torch._C, "_functorch", None), "is_functorch_wrapped_tensor", None)
    if active is None or wrapped is None:  # a torch without these: always the documented form
        return modern.apply
    is_tensor = torch.is_tensor

    def apply(*inputs):
        if active() or any(is_tensor(a) and wrapped(a) for a in inputs):
            return modern.apply(*inputs)
        return Classic.apply(*inputs)

    return apply


# ====================================================================== custom_rule
def call_rule(rule, x, contexts):
    """Evaluate ``rule`` through its ``torch.autograd.Function``."""
    try:
        apply = rule._cache["torch"]
    except KeyError:
        apply = rule._cache["torch"] = _applier(_torch(), _rule_function(rule))
    return apply(x, *contexts)


def _rule_function(rule):
    torch = _torch()

    class RuleFunction(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x, *contexts):
            y = rule.f(x, *contexts)
            return y if torch.is_tensor(y) else torch.as_tensor(y)

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, *contexts = inputs
            if contexts and any(torch.is_tensor(c) and c.requires_grad for c in contexts):
                raise _context_error(rule)
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            ctx.contexts, ctx.y_meta = contexts, (output.shape, output.dtype)

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return (_rule_vjp(rule, x, gy, ctx.contexts, ctx.y_meta),) + (None,) * len(ctx.contexts)

        @staticmethod
        def jvp(ctx, tx, *tcontexts):
            if any(t is not None for t in tcontexts):
                raise _context_error(rule)
            (x,) = ctx.saved_tensors
            return _rule_jvp(rule, x, tx, ctx.contexts, ctx.y_meta)

    RuleFunction.__name__ = RuleFunction.__qualname__ = f"custom_rule_{rule.__name__}"
    return RuleFunction


class _Like:
    """What :meth:`CustomRule.check` compares a rule's result with: a shape and a dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


def _checked(torch, rule, which, out, like_shape, dtype):
    """``out`` as a tensor of ``dtype``, after checking its shape and dtype against the rule's
    contract (a narrower dtype is refused, never truncated); the common case costs nothing."""
    if not (torch.is_tensor(out) and out.shape == like_shape and out.dtype == dtype):
        rule.check(which, out, _Like(tuple(like_shape), dtype))
        out = torch.as_tensor(out)
    return out if out.dtype == dtype else out.to(dtype)


def _rule_vjp(rule, x, gy, contexts, y_meta):
    torch = _torch()
    if rule.vjp is not None:
        if x.is_complex() or gy.is_complex():  # the rule is vᵀJ (JAX's convention); torch's backward is Jᴴv
            out = _checked(torch, rule, "vjp", rule.vjp(x, gy.conj().resolve_conj(), *contexts), x.shape, x.dtype)
            return out.conj().resolve_conj()
        out = rule.vjp(x, gy, *contexts)
    else:
        jvp = lambda x, t, *contexts: _checked(torch, rule, "jvp", rule.jvp(x, t, *contexts), *y_meta)
        out = _transposed(rule, "jvp", lambda: _transpose(torch, jvp, x, gy, contexts))
    return _checked(torch, rule, "vjp", out, x.shape, x.dtype)


def _transpose(torch, jvp, x, gy, contexts):
    """``J.T @ gy`` for the linear map ``t -> jvp(x, t, *contexts)``: one vjp of it at zero.
    With no torch.func transform active (and no forward-mode level), or where nothing can
    differentiate the result (see :func:`_unwrapped_if_first_order`), the classic tape does
    it, much cheaper than ``torch.func.vjp`` (a graph is recorded only under
    ``create_graph``); otherwise ``torch.func.vjp``, which composes with outer transforms."""
    lowered, create = contextlib.nullcontext(), torch.is_grad_enabled()
    if torch.autograd.forward_ad._current_level >= 0:
        plain = None
    elif _functorch_active(torch):
        plain = _unwrapped_if_first_order(torch, x, gy, *[c for c in contexts if torch.is_tensor(c)])
        if plain is not None:
            (x, gy, *inner), lowered = plain
            it, create = iter(inner), False
            contexts = [next(it) if torch.is_tensor(c) else c for c in contexts]
    else:
        plain = True
    if plain is None:
        return torch.func.vjp(lambda t: jvp(x, t, *contexts), torch.zeros_like(x))[1](gy)[0]
    with lowered, torch.enable_grad():
        t = torch.zeros_like(x, requires_grad=True)
        out = jvp(x, t, *contexts)
        if not out.requires_grad:  # the map does not depend on t: zero
            return torch.zeros_like(x)
        (g,) = torch.autograd.grad(out, t, gy, create_graph=create, allow_unused=True)
    return torch.zeros_like(x) if g is None else g


def _rule_jvp(rule, x, tx, contexts, y_meta):
    torch = _torch()
    if rule.jvp is not None:
        out = rule.jvp(x, tx, *contexts)
    else:
        pull = lambda c: _checked(torch, rule, "vjp", rule.vjp(x, c, *contexts), x.shape, x.dtype)
        zeros = torch.zeros(y_meta[0], dtype=y_meta[1], device=x.device)
        if x.is_complex() or zeros.is_complex():  # transposing vᵀJ in torch's convention: conjugate around it
            t = tx.conj().resolve_conj()
            out = _transposed(rule, "vjp", lambda: torch.func.vjp(pull, zeros)[1](t)[0].conj().resolve_conj())
        else:
            out = _transposed(rule, "vjp", lambda: torch.func.vjp(pull, zeros)[1](tx)[0])
    return _checked(torch, rule, "jvp", out, *y_meta)


# ====================================================================== differentiate_with
def call_black_box(dw, x, args):
    """``dw(x, *args)`` inside torch code, with derivatives from ``dw.backend``.

    When a gradient is wanted (``x`` requires grad: the classic tape, ``torch.func.grad`` or
    ``jacrev``), a :class:`_Holder` lets the forward pass compute the value and the gradient
    of a scalar ``f`` in one backend call and hand the gradient to ``backward``.
    """
    try:
        F = dw._functions["torch"]
    except (AttributeError, KeyError):
        F = dw.__dict__.setdefault("_functions", {}).setdefault("torch", _black_box_functions(dw))
    holder = _Holder() if x.requires_grad and _torch().is_grad_enabled() else None
    return F["call"](x, holder, *args)


class _Holder:
    """The gradient of one call, from its forward pass to its backward pass. Not a list: torch
    rebuilds pytree containers (lists, tuples) among a Function's inputs under torch.func."""

    __slots__ = ("g",)

    def __init__(self):
        self.g = None


def _np(a):
    torch = _torch()
    if not torch.is_tensor(a):
        return a
    a = a.detach().cpu()
    if a.is_conj() or a.is_neg():  # lazy conjugate/negative views (z.conj()) have no NumPy form
        a = a.resolve_conj().resolve_neg()
    return a.numpy()


def _nested_error(dw, err):
    return UnsupportedOperationError(
        f"{dw!r} runs NumPy code on the host, which torch cannot do under nested torch.func "
        f"transforms (such as torch.func.hessian) ({err}).\nHint: use one level of grad, vjp, "
        "jvp, jacrev, jacfwd or vmap around the wrapped function; compute Hessians with "
        "ad.hessian(f, ad.SecondOrder(ad.AutoFiniteDiff(), <backend>), x)."
    )


def _to_host(dw, x, lin, args):
    try:
        return _np(x), None if lin is None else _np(lin), [_np(a) for a in args]
    except RuntimeError as err:  # a tensor still wrapped by an outer torch.func level
        raise _nested_error(dw, err) from err


def _tensor(torch, out, dtype=None):
    """``out`` as a tensor sharing its memory. torch wants contiguous, writable memory of its
    own: a broadcast view or a read-only buffer (JAX's) is copied first. A 0-d result stays 0-d."""
    a = np.asarray(out)
    if not (a.flags.c_contiguous and a.flags.writeable):
        a = np.array(a, order="C")
    t = torch.from_numpy(a)
    return t if dtype is None or t.dtype == dtype else t.to(dtype)


def _host(dw, kind, x, lin, args, nb):
    x_np, lin_np, args_np = _to_host(dw, x, lin, args)
    conj = kind == "pull" and (x.is_complex() or lin.is_complex())
    if conj:  # the backend pulls back in JAX's convention vᵀJ; torch's backward is Jᴴv
        lin_np = np.conj(lin_np)
    out = host_batched(dw, kind, x_np, lin_np, args_np, nb, None)
    out = _tensor(_torch(), out, dtype=x.dtype if kind == "pull" else None)
    return out.conj().resolve_conj() if conj else out


def _host_call(dw, x, args, holder):
    """Forward pass: ``f(x)``; with ``holder``, value and gradient together when ``f`` is
    known to be scalar at this signature (a gradient was prepared by an earlier call)."""
    if holder is not None:
        x_np, _, args_np = _to_host(dw, x, None, args)
        both = host_value_and_gradient(dw, np.asarray(x_np), [np.asarray(a) for a in args_np])
        if both is not None:
            torch = _torch()
            g = _tensor(torch, both[1], dtype=x.dtype)
            holder.g = g.conj().resolve_conj() if g.is_complex() else g  # torch's convention (see _host)
            return _tensor(torch, both[0])
    return _host(dw, "call", x, None, args, 0)


def _black_box_functions(dw):
    F = {}
    torch = _torch()
    F["call"] = _applier(torch, _call_function(dw, F))
    F["push"] = _applier(torch, _linear_function(dw, F, "push", "pull"))
    F["pull"] = _applier(torch, _linear_function(dw, F, "pull", "push"))
    return F


def _first_order_only(dw):
    return UnsupportedOperationError(
        f"{dw!r} gives first derivatives inside torch code; torch asked for a second derivative.\n"
        "Hint: differentiate the wrapped function once, or compute Hessians outside torch with "
        "ad.hessian(f, ad.SecondOrder(ad.AutoFiniteDiff(), <backend>), x)."
    )


def _vmap_rule(dw, kind, n_lin):
    """A torch.func vmap rule: batch axes first, then one host call over the whole batch.
    The operand after ``x`` and ``lin`` is the gradient holder (never batched, not used here)."""
    torch = _torch()

    def rule(info, in_dims, *operands):
        moved = [o if not torch.is_tensor(o) else (o.unsqueeze(0) if d is None else o.movedim(d, 0))
                 for o, d in zip(operands, in_dims)]
        x, lin, args = moved[0], (moved[1] if n_lin else None), moved[2 + n_lin:]
        return _host(dw, kind, x, lin, args, 1), 0

    return staticmethod(rule)


def _unwrapped_if_first_order(torch, *tensors):
    """``(plain tensors, context to use them in)`` when nothing can differentiate a backward
    pass that uses ``tensors``, else ``None``: no forward-mode dual level, and either the
    classic tape records nothing (no ``create_graph``) or the only torch.func level is the
    ``grad``/``vjp`` running this backward, over tensors that need no grad below it (they are
    used with that level lowered, as torch runs a Function's forward)."""
    if torch.autograd.forward_ad._current_level >= 0:
        return None
    try:
        functorch = torch._C._functorch
        if not _functorch_active(torch):
            return None if torch.is_grad_enabled() else (tensors, contextlib.nullcontext())
        from torch._functorch.pyfunctorch import TransformType, retrieve_current_functorch_interpreter

        level = retrieve_current_functorch_interpreter()
        if level.level() != 1 or level.key() != TransformType.Grad:
            return None
        inner = [functorch.get_unwrapped(t) if functorch.maybe_get_level(t) == 1 else t for t in tensors]
        if any(functorch.is_functorch_wrapped_tensor(t) or t.requires_grad for t in inner):
            return None
    except (AttributeError, ImportError):  # a torch without these internals: take the general path
        return None
    return inner, level.lower()


def _call_function(dw, F):
    torch = _torch()

    class Call(torch.autograd.Function):
        @staticmethod
        def forward(x, holder, *args):
            return _host_call(dw, x, args, holder)

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, holder, *args = inputs
            if any(torch.is_tensor(a) and a.requires_grad for a in args):
                raise _context_error(dw)
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            ctx.holder, ctx.args = holder, args

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            none = (None,) * (1 + len(ctx.args))
            plain = _unwrapped_if_first_order(torch, x, gy)
            if plain is None:  # torch may differentiate this backward pass: a Function that refuses
                return (F["pull"](x, gy, ctx.holder, *ctx.args),) + none
            g = ctx.holder.g if ctx.holder is not None else None
            if g is not None:  # scalar f: the gradient came with the value
                out = gy * g
                return (out if out.dtype == x.dtype else out.to(x.dtype),) + none
            (x, gy), lowered = plain
            with lowered:
                return (_host(dw, "pull", x, gy, ctx.args, 0),) + none

        @staticmethod
        def jvp(ctx, tx, tholder, *targs):
            if any(t is not None for t in targs):
                raise _context_error(dw)
            (x,) = ctx.saved_tensors
            return F["push"](x, tx, None, *ctx.args)

        vmap = _vmap_rule(dw, "call", 0)

    return Call


def _linear_function(dw, F, kind, other):
    """``push`` (tangent -> output tangent) or ``pull``: linear in ``lin``, each the other's
    transpose. ``holder`` may carry the gradient of a scalar ``f`` (then ``pull`` is ``lin * g``)."""
    torch = _torch()

    class Linear(torch.autograd.Function):
        @staticmethod
        def forward(x, lin, holder, *args):
            g = holder.g if holder is not None and kind == "pull" else None
            if g is not None:
                out = lin * g
                return out if out.dtype == x.dtype else out.to(x.dtype)
            return _host(dw, kind, x.unsqueeze(0), lin.unsqueeze(0), [_unsq(a) for a in args], 1)[0]

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, _, _, *args = inputs
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            ctx.args = args

        @staticmethod
        def jvp(ctx, tx, tlin, tholder, *targs):
            if tx is not None or any(t is not None for t in targs):
                raise _first_order_only(dw)
            (x,) = ctx.saved_tensors
            return F[kind](x, tlin, None, *ctx.args)

        @staticmethod
        def backward(ctx, g):
            if ctx.needs_input_grad[0]:
                raise _first_order_only(dw)
            (x,) = ctx.saved_tensors
            return (None, F[other](x, g, None, *ctx.args), None) + (None,) * len(ctx.args)

        vmap = _vmap_rule(dw, kind, 1)

    return Linear


def _unsq(a):
    torch = _torch()
    return a.unsqueeze(0) if torch.is_tensor(a) else (np.expand_dims(a, 0) if isinstance(a, np.ndarray) else a)
