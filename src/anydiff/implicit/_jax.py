"""An implicit function inside JAX code: ``jit``, ``grad``, ``jacfwd``/``jacrev``, ``vmap``.

The primal runs the solver in ``jax.pure_callback``. Its ``custom_jvp`` rule returns the
tangent ``ty = -A⁻¹ B tx`` through one primitive, ``implicit_linear``, that is linear in its
last operand and whose transpose is the same primitive with ``transpose=True`` (the VJP
``-Bᵀ A⁻ᵀ dy``). Both directions run on the host through the implicit function's cached
factorisation, so forward mode, reverse mode (JAX transposes the JVP) and batching all work.
A batching rule moves batch axes to the front; the host receives every right-hand side of a
batch at once and factorises once per distinct point.
"""

from __future__ import annotations

import numpy as np

__all__ = ["call_jax"]

_PRIMITIVE = []


def call_jax(g, x, ctx):
    import jax

    if g.has_aux:
        from .._errors import UnsupportedOperationError

        raise UnsupportedOperationError(
            f"{g!r}: has_aux=True is not supported inside JAX code (the auxiliary output has no "
            "known shape when traced).\nHint: call g on NumPy arrays (e.g. through anydiff "
            "operators with AutoNumPy()), or make a second implicit function without aux."
        )
    if g._jax_fun is None:
        g._jax_fun = _make(g)
    leaves, tree = jax.tree_util.tree_flatten(tuple(ctx))
    return g._jax_fun(jax.numpy.asarray(x), tree, *leaves)


def _sequential(jax):
    """One host call per batch element under vmap (JAX < 0.4.34 does so by default and has no vmap_method)."""
    import inspect

    return {"vmap_method": "sequential"} if "vmap_method" in inspect.signature(jax.pure_callback).parameters else {}


def _make(g):
    import jax

    lin_p = _primitive()

    def primal(x, tree, *leaves):
        shape, dtype = g.y_struct(x.shape, x.dtype)

        def host(xv, *lv):
            ctx = jax.tree_util.tree_unflatten(tree, [np.asarray(v) for v in lv])
            return np.asarray(g.solve_numpy(np.asarray(xv), ctx)[0], dtype=dtype)

        return jax.pure_callback(host, jax.ShapeDtypeStruct(shape, dtype), x, *leaves, **_sequential(jax))

    fun = jax.custom_jvp(primal, nondiff_argnums=(1,))

    @fun.defjvp
    def _jvp(tree, primals, tangents):
        x, *leaves = primals
        tx = tangents[0]
        y = fun(x, tree, *leaves)
        shapes = (tuple(x.shape), tuple(y.shape), tuple(tuple(np.shape(v)) for v in leaves))
        ty = lin_p.bind(x, y, *leaves, tx, g=g, tree=tree, shapes=shapes, transpose=False)
        return y, ty

    return fun


def _host(g, tree, shapes, transpose, x, y, *rest):
    """Host side of ``implicit_linear``: leading batch axes on any operand, last one the seeds."""
    import jax

    xs, ys, leaf_shapes = shapes
    *leaves, t = (np.asarray(a) for a in rest)
    x, y = np.asarray(x), np.asarray(y)
    out_shape = xs if transpose else ys
    batch = t.shape[: t.ndim - len(ys if transpose else xs)]
    T = t.reshape((-1,) + t.shape[len(batch):])
    solve = g.vjp_numpy if transpose else g.jvp_numpy
    point_batched = x.ndim > len(xs) or y.ndim > len(ys) or any(
        np.ndim(v) > len(s) for v, s in zip(leaves, leaf_shapes))
    if not point_batched:  # one point, many seeds: one factorisation
        ctx = jax.tree_util.tree_unflatten(tree, leaves)
        return solve(x, y, ctx, T).reshape(batch + out_shape).astype(t.dtype, copy=False)
    xb = np.broadcast_to(x, batch + xs).reshape((-1,) + xs)
    yb = np.broadcast_to(y, batch + ys).reshape((-1,) + ys)
    lb = [np.broadcast_to(v, batch + s).reshape((-1,) + s) for v, s in zip(leaves, leaf_shapes)]
    out = np.empty((T.shape[0],) + out_shape, dtype=t.dtype)
    for i in range(T.shape[0]):
        ctx = jax.tree_util.tree_unflatten(tree, [v[i] for v in lb])
        out[i] = solve(xb[i], yb[i], ctx, T[i : i + 1])[0]
    return out.reshape(batch + out_shape)


def _primitive():
    if _PRIMITIVE:
        return _PRIMITIVE[0]
    import jax
    from jax.extend.core import Primitive
    from jax.interpreters import ad, batching, mlir

    p = Primitive("implicit_linear")

    def out_struct(t, shapes, transpose):
        xs, ys, _ = shapes
        batch = t.shape[: t.ndim - len(ys if transpose else xs)]
        return batch + (xs if transpose else ys), t.dtype

    def impl(x, y, *rest, g, tree, shapes, transpose):
        shape, dtype = out_struct(rest[-1], shapes, transpose)
        return jax.pure_callback(lambda *a: _host(g, tree, shapes, transpose, *a),
                                 jax.ShapeDtypeStruct(shape, dtype), x, y, *rest)

    def abstract(x, y, *rest, g, tree, shapes, transpose):
        return jax.core.ShapedArray(*out_struct(rest[-1], shapes, transpose))

    def transpose_rule(ct, x, y, *rest, g, tree, shapes, transpose):
        t = rest[-1]
        nones = [None] * (2 + len(rest) - 1)
        if type(ct) is ad.Zero:
            return (*nones, ad.Zero(t.aval))
        return (*nones, p.bind(x, y, *rest[:-1], ct, g=g, tree=tree, shapes=shapes, transpose=not transpose))

    def jvp_rule(primals, tangents, **params):
        if any(type(d) is not ad.Zero for d in tangents[:-1]):
            from ._engines import _second_order_error

            raise _second_order_error(params["g"])
        out = p.bind(*primals, **params)
        dt = tangents[-1]
        if type(dt) is ad.Zero:
            return out, ad.Zero(jax.core.get_aval(out).to_tangent_aval())
        return out, p.bind(*primals[:-1], dt, **params)

    def batch_rule(args, dims, **params):
        # invariant kept for the host: a point operand (x, y, context leaves) has either no
        # batch axes or exactly the seeds' batch axes, in front
        jnp = jax.numpy
        size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
        moved = [a if d is None else jnp.moveaxis(a, d, 0) for a, d in zip(args, dims)]
        xs, ys, leaf_shapes = params["shapes"]
        t = moved[-1] if dims[-1] is not None else jnp.broadcast_to(moved[-1], (size,) + moved[-1].shape)
        t_batch = t.shape[: t.ndim - len(ys if params["transpose"] else xs)]
        bases = [xs, ys, *leaf_shapes]
        points = []
        for a, d, base in zip(moved[:-1], dims[:-1], bases):
            extra = a.ndim - len(base)
            if d is not None and extra < len(t_batch):  # batched here only: insert the seeds' inner axes
                a = jnp.broadcast_to(a.reshape((size,) + (1,) * (len(t_batch) - extra) + tuple(base)), t_batch + tuple(base))
            elif d is None and extra > 0:  # batched only at inner levels: add this level's axis
                a = jnp.broadcast_to(a, t_batch + tuple(base))
            points.append(a)
        return p.bind(*points, t, **params), 0

    p.def_impl(impl)
    p.def_abstract_eval(abstract)
    mlir.register_lowering(p, mlir.lower_fun(impl, multiple_results=False))
    ad.primitive_transposes[p] = transpose_rule
    ad.primitive_jvps[p] = jvp_rule
    batching.primitive_batchers[p] = batch_rule
    _PRIMITIVE.append(p)
    return p
