"""torch side of ``custom_rule`` and ``differentiate_with``: ``torch.autograd.Function`` classes.

Both use the ``setup_context`` form, so they serve ``torch.autograd`` (backward),
``torch.autograd.forward_ad`` (the ``jvp`` staticmethod) and the ``torch.func`` transforms.
A custom rule is torch code, so torch generates its ``vmap`` rule; a black box runs NumPy
code on the host and has explicit ``vmap`` rules that pass a whole batch of tangents to the
backend as one batched pushforward/pullback.
"""

from __future__ import annotations

import numpy as np

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


# ====================================================================== custom_rule
def call_rule(rule, x, contexts):
    """Evaluate ``rule`` through its ``torch.autograd.Function``."""
    if "torch" not in rule._cache:
        rule._cache["torch"] = _rule_function(rule)
    return rule._cache["torch"].apply(x, *contexts)


def _rule_function(rule):
    torch = _torch()

    class RuleFunction(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x, *contexts):
            return torch.as_tensor(rule.f(x, *contexts))

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, *contexts = inputs
            if any(torch.is_tensor(c) and c.requires_grad for c in contexts):
                raise _context_error(rule)
            ctx.save_for_backward(x, output)
            ctx.save_for_forward(x, output)
            ctx.contexts = contexts

        @staticmethod
        def backward(ctx, gy):
            x, y = ctx.saved_tensors
            return (_rule_vjp(rule, x, gy, ctx.contexts, y),) + (None,) * len(ctx.contexts)

        @staticmethod
        def jvp(ctx, tx, *tcontexts):
            if any(t is not None for t in tcontexts):
                raise _context_error(rule)
            x, y = ctx.saved_tensors
            return _rule_jvp(rule, x, tx, ctx.contexts, y)

    RuleFunction.__name__ = RuleFunction.__qualname__ = f"custom_rule_{rule.__name__}"
    return RuleFunction


def _rule_vjp(rule, x, gy, contexts, y):
    from ._custom_rule import _transposed

    torch = _torch()
    if rule.vjp is not None:
        out = rule.vjp(x, gy, *contexts)
    else:
        push = lambda t: rule.check("jvp", torch.as_tensor(rule.jvp(x, t, *contexts)), y)
        out = _transposed(rule, "jvp", lambda: torch.func.vjp(push, torch.zeros_like(x))[1](gy)[0])
    return torch.as_tensor(rule.check("vjp", out, x), dtype=x.dtype)


def _rule_jvp(rule, x, tx, contexts, y):
    from ._custom_rule import _transposed

    torch = _torch()
    if rule.jvp is not None:
        out = rule.jvp(x, tx, *contexts)
    else:
        pull = lambda c: rule.check("vjp", torch.as_tensor(rule.vjp(x, c, *contexts)), x)
        out = _transposed(rule, "vjp", lambda: torch.func.vjp(pull, torch.zeros_like(y))[1](tx)[0])
    return torch.as_tensor(rule.check("jvp", out, y), dtype=y.dtype)


# ====================================================================== differentiate_with
def call_black_box(dw, x, args):
    """``dw(x, *args)`` inside torch code, with derivatives from ``dw.backend``."""
    if "torch" not in dw.__dict__.setdefault("_functions", {}):
        dw._functions["torch"] = _black_box_functions(dw)
    return dw._functions["torch"]["call"].apply(x, *args)


def _np(a):
    torch = _torch()
    return a.detach().cpu().numpy() if torch.is_tensor(a) else a


def _host(dw, kind, x, lin, args, nb):
    from ._differentiate_with import host_batched

    torch = _torch()
    try:
        x_np, lin_np, args_np = _np(x), None if lin is None else _np(lin), [_np(a) for a in args]
    except RuntimeError as err:  # a tensor still wrapped by an outer torch.func level
        raise UnsupportedOperationError(
            f"{dw!r} runs NumPy code on the host, which torch cannot do under nested torch.func "
            f"transforms (such as torch.func.hessian) ({err}).\nHint: use one level of grad, vjp, "
            "jvp, jacrev, jacfwd or vmap around the wrapped function; compute Hessians with "
            "ad.hessian(f, ad.SecondOrder(ad.AutoFiniteDiff(), <backend>), x)."
        ) from err
    # torch wants contiguous memory of its own (not a broadcast view); a 0-d result stays 0-d
    out = np.require(host_batched(dw, kind, x_np, lin_np, args_np, nb, None), requirements=("C", "W"))
    return torch.as_tensor(out, dtype=x.dtype if kind == "pull" else None)


def _black_box_functions(dw):
    F = {}
    F["call"] = _call_function(dw, F)
    F["push"], F["pull"] = _linear_function(dw, F, "push", "pull"), _linear_function(dw, F, "pull", "push")
    return F


def _first_order_only(dw):
    return UnsupportedOperationError(
        f"{dw!r} gives first derivatives inside torch code; torch asked for a second derivative.\n"
        "Hint: differentiate the wrapped function once, or compute Hessians outside torch with "
        "ad.hessian(f, ad.SecondOrder(ad.AutoFiniteDiff(), <backend>), x)."
    )


def _vmap_rule(dw, kind, n_lin):
    """A torch.func vmap rule: batch axes first, then one host call over the whole batch."""
    torch = _torch()

    def rule(info, in_dims, *operands):
        moved = [o if not torch.is_tensor(o) else (o.unsqueeze(0) if d is None else o.movedim(d, 0))
                 for o, d in zip(operands, in_dims)]
        x, lin, args = moved[0], (moved[1] if n_lin else None), moved[1 + n_lin:]
        return _host(dw, kind, x, lin, args, 1), 0

    return staticmethod(rule)


def _call_function(dw, F):
    torch = _torch()

    class Call(torch.autograd.Function):
        @staticmethod
        def forward(x, *args):
            return _host(dw, "call", x, None, args, 0)

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, *args = inputs
            if any(torch.is_tensor(a) and a.requires_grad for a in args):
                raise _context_error(dw)
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            ctx.args = args

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return (F["pull"].apply(x, gy, *ctx.args),) + (None,) * len(ctx.args)

        @staticmethod
        def jvp(ctx, tx, *targs):
            if any(t is not None for t in targs):
                raise _context_error(dw)
            (x,) = ctx.saved_tensors
            return F["push"].apply(x, tx, *ctx.args)

        vmap = _vmap_rule(dw, "call", 0)

    return Call


def _linear_function(dw, F, kind, other):
    """``push`` (tangent -> output tangent) or ``pull``: linear in ``lin``, each the other's transpose."""
    torch = _torch()

    class Linear(torch.autograd.Function):
        @staticmethod
        def forward(x, lin, *args):
            return _host(dw, kind, x.unsqueeze(0), lin.unsqueeze(0), [_unsq(a) for a in args], 1)[0]

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, _, *args = inputs
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            ctx.args = args

        @staticmethod
        def jvp(ctx, tx, tlin, *targs):
            if tx is not None or any(t is not None for t in targs):
                raise _first_order_only(dw)
            (x,) = ctx.saved_tensors
            return F[kind].apply(x, tlin, *ctx.args)

        @staticmethod
        def backward(ctx, g):
            if ctx.needs_input_grad[0]:
                raise _first_order_only(dw)
            (x,) = ctx.saved_tensors
            return (None, F[other].apply(x, g, *ctx.args)) + (None,) * len(ctx.args)

        vmap = _vmap_rule(dw, kind, 1)

    return Linear


def _unsq(a):
    torch = _torch()
    return a.unsqueeze(0) if torch.is_tensor(a) else (np.expand_dims(a, 0) if isinstance(a, np.ndarray) else a)
