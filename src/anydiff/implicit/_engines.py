"""How an implicit function answers each AD engine that calls it.

``g(x, *contexts)`` looks at what ``x`` is: a NumPy array (run the solver), an anydiff
``Dual`` (AutoNumPy: solver + batched implicit JVPs), a sparsity tracer (every output may
depend on every input), an autograd box (an autograd primitive with JVP and VJP rules), a
torch tensor (a ``torch.autograd.Function``) or a JAX array or tracer (a ``jax.custom_jvp``
whose tangent map is a transposable primitive, see ``_jax.py``).
"""

from __future__ import annotations

import numpy as np

from .._errors import UnsupportedOperationError

__all__ = ["dispatch"]


def dispatch(g, x, ctx):
    from ..dual import Dual
    from ..sparse.detect._tracer import _Tracer

    if any(isinstance(c, (Dual, _Tracer)) for c in ctx) or any(_is_box(c) for c in ctx):
        raise UnsupportedOperationError(
            f"{g!r}: only x is differentiated, but a context argument carries derivatives.\n"
            "Hint: put every differentiated quantity into x (np.concatenate) and split it inside "
            "the solver and the conditions."
        )
    if isinstance(x, Dual):
        return _dual(g, x, ctx)
    if isinstance(x, _Tracer):
        return _trace(g, x, ctx)
    if _is_box(x):
        return _autograd(g, x, ctx)
    module = type(x).__module__
    if module.startswith(("jax", "jaxlib")) or any(type(c).__module__.startswith("jax") and hasattr(c, "aval") for c in ctx):
        from ._jax import call_jax

        return call_jax(g, x, ctx)
    if module.startswith("torch"):
        from ._torch import call_torch

        return call_torch(g, x, ctx)
    y, aux = g.solve_numpy(x, ctx)
    return (y, aux) if g.has_aux else y


def _is_box(a):
    return type(a).__module__.startswith("autograd") and hasattr(a, "_value")


def _second_order_error(g):
    return UnsupportedOperationError(
        f"{g!r}: second derivatives through an implicit function are not available (its rule is "
        "first order).\nHint: take second derivatives by finite differences of the exact gradient, "
        "e.g. ad.hessian(f, ad.SecondOrder(ad.AutoFiniteDiff(), inner), x) with inner the "
        "first-order backend."
    )


# ---------------------------------------------------------------------- AutoNumPy duals
def _dual(g, x, ctx):
    from ..dual import Dual

    if isinstance(x.value, Dual) or isinstance(x.tangent, Dual):
        raise _second_order_error(g)
    xv = np.asarray(x.value)
    y, aux = g.solve_numpy(xv, ctx)
    if _symbolic(x.tangent):  # AutoNumPy's reverse mode: a tape record transposed by the VJP
        out = Dual(y, _record_jvp(g, xv, y, ctx, x.tangent))
        return (out, aux) if g.has_aux else out
    T = np.asarray(x.tangent)
    ty = g.jvp_numpy(xv, y, ctx, T) if T.shape[0] else np.zeros((0,) + y.shape, dtype=y.dtype)
    out = Dual(y, ty)
    return (out, aux) if g.has_aux else out


def _symbolic(t):
    from ..dual._core import _symbolic as symbolic

    return symbolic(t)


def _record_jvp(g, x, y, ctx, lin):
    """``ty = dy/dx · tx`` for a symbolic tangent: one tape record whose transpose solves the
    transposed system (the linearization at this point is kept, factorised once)."""
    linearization = g.linearize(x, y, ctx)

    def transpose(ct, data):
        from ..reverse import NotTransposableError

        try:
            tx = linearization.vjp(np.asarray(ct).reshape((-1,) + y.shape))
        except Exception as err:  # e.g. conditions that call AutoNumPy themselves (optimality_conditions)
            raise NotTransposableError(
                f"{g!r}: the transposed system (the VJP of the conditions) failed in reverse mode "
                f"({type(err).__name__}: {err}).\nHint: use AutoNumPy(mode='forward') or "
                "mode='auto' (the default falls back to forward mode), or another backend for g."
            ) from err
        return (tx.reshape((-1,) + x.shape),)

    node = lin.tape.add(transpose, (lin.node,), None)
    return lin.derived(node, (lin.shape[0],) + y.shape, np.result_type(lin.dtype, y.dtype))


# ---------------------------------------------------------------------- sparsity tracers
def _trace(g, x, ctx):
    from .._differentiate_with import DifferentiateWith

    shape = None if x.value is not None else g.y_struct(x.shape, np.float64)[0]
    dense = DifferentiateWith(lambda v, *c: g.solve_numpy(v, c)[0], "fd", output_shape=shape)
    y = dense(x, *ctx)
    if not g.has_aux:
        return y
    aux = g.solve_numpy(np.asarray(x.value), ctx)[1] if x.value is not None else None
    return y, aux


# ---------------------------------------------------------------------- HIPS autograd
def _autograd(g, x, ctx):
    if g._ag_fun is None:
        g._ag_fun = _make_autograd(g)
    prim, aux_of = g._ag_fun
    y = prim(x, *ctx)
    return (y, aux_of()) if g.has_aux else y


def _make_autograd(g):
    from autograd.extend import defjvp, defvjp, primitive

    last_aux = [None]

    @primitive
    def solve(x, *ctx):
        y, aux = g.solve_numpy(np.asarray(x), ctx)
        last_aux[0] = aux
        return y

    def vjp_maker(ans, x, *ctx):
        return lambda dy: g.vjp_numpy(np.asarray(x), np.asarray(ans), ctx, np.asarray(dy)[None])[0]

    def jvp_rule(tx, ans, x, *ctx):
        return g.jvp_numpy(np.asarray(x), np.asarray(ans), ctx, np.asarray(tx)[None])[0]

    defvjp(solve, vjp_maker)
    defjvp(solve, jvp_rule)
    return solve, lambda: last_aux[0]
