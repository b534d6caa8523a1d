"""An implicit function under torch autograd (``.backward()``, ``torch.func`` jvp/vjp/grad/vmap).

``_Solve`` runs the solver on the host; its ``backward`` and ``jvp`` call ``_Linear``, a
function linear in its seeds whose ``vmap`` rule hands a whole batch of seeds to the host at
once (one factorisation per point), so ``torch.func.vmap`` over JVPs or VJPs stays cheap.
"""

from __future__ import annotations

import numpy as np

__all__ = ["call_torch"]

_CLASSES = []


def call_torch(g, x, ctx):
    Solve, _ = _classes()
    y = Solve.apply(x, g, tuple(ctx))
    if g.has_aux:
        return y, g._torch_aux
    return y


def _np(t):
    return t.detach().cpu().resolve_conj().numpy()


def _classes():
    if _CLASSES:
        return _CLASSES
    import torch

    class _Linear(torch.autograd.Function):
        """``v -> -A⁻¹ B v`` (``transpose=False``) or ``v -> -Bᵀ A⁻ᵀ v`` on the host."""

        @staticmethod
        def forward(x, y, v, g, ctx, transpose):
            batch = v.shape[: v.ndim - (y.ndim if transpose else x.ndim)]
            V = _np(v).reshape((-1,) + tuple(v.shape[len(batch):]))
            fun = g.vjp_numpy if transpose else g.jvp_numpy
            out = fun(_np(x), _np(y), ctx, V)
            shape = tuple(batch) + tuple(x.shape if transpose else y.shape)
            return torch.from_numpy(np.ascontiguousarray(out)).reshape(shape).to(v.dtype)

        @staticmethod
        def setup_context(fctx, inputs, output):
            fctx.g = inputs[3]

        @staticmethod
        def backward(fctx, grad):
            from ._engines import _second_order_error

            raise _second_order_error(fctx.g)

        @staticmethod
        def jvp(fctx, *tangents):
            from ._engines import _second_order_error

            raise _second_order_error(fctx.g)

        @staticmethod
        def vmap(info, in_dims, x, y, v, g, ctx, transpose):
            if in_dims[0] is not None or in_dims[1] is not None:
                xs = x.movedim(in_dims[0], 0) if in_dims[0] is not None else x.expand((info.batch_size,) + x.shape)
                ys = y.movedim(in_dims[1], 0) if in_dims[1] is not None else y.expand((info.batch_size,) + y.shape)
                vs = v.movedim(in_dims[2], 0) if in_dims[2] is not None else v.expand((info.batch_size,) + v.shape)
                out = torch.stack([_Linear.apply(xs[i], ys[i], vs[i], g, ctx, transpose) for i in range(info.batch_size)])
                return out, 0
            return _Linear.apply(x, y, v.movedim(in_dims[2], 0), g, ctx, transpose), 0

    class _Solve(torch.autograd.Function):
        @staticmethod
        def forward(x, g, ctx):
            y, aux = g.solve_numpy(_np(x), tuple(_np(c) if isinstance(c, torch.Tensor) else c for c in ctx))
            g._torch_aux = aux
            return torch.from_numpy(np.array(y)).to(x.dtype)

        @staticmethod
        def setup_context(fctx, inputs, output):
            x, g, ctx = inputs
            fctx.g, fctx.ctx = g, tuple(_np(c) if isinstance(c, torch.Tensor) else c for c in ctx)
            fctx.save_for_backward(x, output)
            fctx.save_for_forward(x, output)

        @staticmethod
        def backward(fctx, gy):
            x, y = fctx.saved_tensors
            return _Linear.apply(x, y, gy, fctx.g, fctx.ctx, True), None, None

        @staticmethod
        def jvp(fctx, tx, _g, _ctx):
            x, y = fctx.saved_tensors
            return _Linear.apply(x, y, tx, fctx.g, fctx.ctx, False)

        @staticmethod
        def vmap(info, in_dims, x, g, ctx):
            xs = x.movedim(in_dims[0], 0)
            return torch.stack([_Solve.apply(xs[i], g, ctx) for i in range(info.batch_size)]), 0

    _CLASSES.extend([_Solve, _Linear])
    return _CLASSES
