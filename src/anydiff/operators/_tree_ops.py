"""Every operator on structured calls (pytrees, several active arguments): flatten, run, nest.

The public operators in ``first_order``/``second_order`` send a call here when it has more than
one active argument, a tree ``x`` or a tree output, or a :class:`TreePrep`.
"""

from __future__ import annotations

import numpy as np

from .._arrays import library_of
from .._errors import InputError
from .._trees import tree_differences, tree_flatten, tree_flatten_args, tree_paths, tree_unflatten
from ._core import check_out_buffer, stack_seeds, write_out, write_y
from ._prep import (
    GradientPrep,
    HessianPrep,
    HVPPrep,
    JacobianPrep,
    PullbackPrep,
    PushforwardPrep,
    SecondDerivativePrep,
)
from ._structured import TreePrep, prepare_tree, resolve_tree, split_y

__all__ = ["tree_operator", "tree_prepare", "flat_jacobian"]


def _builds():
    from . import first_order as fo
    from . import second_order as so

    return {
        "gradient": (GradientPrep, fo._b_gradient, False),
        "jacobian": (JacobianPrep, fo._b_jacobian, False),
        "derivative": (JacobianPrep, fo._b_jacobian, False),
        "pushforward": (PushforwardPrep, fo._b_pushforward, True),
        "pullback": (PullbackPrep, fo._b_pullback, True),
        "hvp": (HVPPrep, so._b_hvp, True),
        "hessian": (HessianPrep, so._b_hessian, False),
        "second_derivative": (SecondDerivativePrep, so._b_second_derivative, False),
    }


def tree_prepare(operator, f, args, same_point=False):
    """``prepare_<operator>`` for a structured call."""
    cls, build, _ = _builds()[operator]
    return prepare_tree(
        cls, operator, f, args, build, seeds=False, same_point=same_point, native=operator == "gradient"
    )


def tree_operator(operator, f, args, prep, out, value=False):
    """Run ``operator`` on a structured call; ``value=True`` for the ``value_and_`` form.

    ``out`` (optional) is a tree of arrays with the structure of the result (for AutoSparse's
    flat sparse matrix: a sparse matrix); each leaf is written in place and ``out`` returned.
    """
    if operator == "gradient" and prep is None:
        prep, result = _first_gradient(f, args)
        if result is not None:
            return _with_out(result if value else result[1], out, value)
    if operator == "gradient" and type(prep) is TreePrep and prep.native is not None:
        return _with_out(_native_gradient(prep, f, args, value), out, value)
    cls, build, seeds = _builds()[operator]
    prep, leaves, contexts, s = resolve_tree(cls, operator, f, args, prep, build, seeds=seeds, native=operator == "gradient")
    if operator == "gradient" and prep.native is not None:
        return _with_out(_native_gradient(prep, f, args, value), out, value)
    inner = prep.inner
    x = prep.flat_x(leaves)
    if inner.point is not None:  # a same-point preparation (its linearization is only valid there)
        inner.check_point(x, contexts)
    ctx = inner.native_contexts(contexts)
    xn = inner.to_native(x)
    y = split_y(args)[0]
    if y is None:
        return _with_out(_RUNNERS[operator](prep, inner, xn, ctx, s, value), out, value)
    result = _RUNNERS[operator](prep, inner, xn, ctx, s, True)  # in place: the value goes into y
    write_y(inner, y, result[0])
    return _with_out(result if value else result[1], out, value)


def _first_gradient(f, args):
    """``(cached prep or None, (value, gradient) or None)`` of an unprepared structured gradient.

    As ``_first_call.run_first_call`` does for arrays: on a cache miss the flat output is guessed a
    scalar of the flat input's dtype instead of evaluating ``f`` for it, the preparation is run
    at once with the value, and kept only if that value is a scalar of the guessed dtype;
    otherwise (or if anything raises) the call takes the usual path.
    """
    from .._trees import LEAF
    from ._core import cache_get, cache_put
    from ._first_call import _has_output, scalar_output
    from ._structured import _CACHE, _key, split_args

    y, rest = split_y(args)
    if y is not None:
        return None, None
    try:
        backend, actives, contexts, _, _ = split_args(rest, False)
        key = _key("gradient", f, backend, actives, contexts, None)
    except Exception:  # noqa: BLE001 - the usual path raises the real error
        return None, None
    cached = cache_get(_CACHE, key) if key is not None else None
    if cached is not None or key is None:
        return cached, None
    cls, build, _ = _builds()["gradient"]
    try:
        prep = prepare_tree(cls, "gradient", f, args, build, native=True, guess=scalar_output)
        if prep is None:
            return None, None
        if prep.native is not None:
            result = _native_gradient(prep, f, args, True)
        else:
            leaves = prep.check(f, backend, actives, contexts)
            inner = prep.inner
            value, g = inner.run(inner.to_native(prep.flat_x(leaves)), inner.native_contexts(contexts))
            result = (inner.back(value), prep.unflatten_x(inner.back(g)))
    except Exception:  # noqa: BLE001 - the usual path raises the real error (or succeeds)
        return None, None
    if not _has_output(result[0], prep.inner.spec) or prep.out.treedef not in (None, LEAF):
        return None, None
    if prep.out.treedef is None:  # the native gradient never called the flat function
        prep.out.treedef, prep.out.shapes = LEAF, ((),)
    cache_put(_CACHE, key, prep)
    return prep, result


def _with_out(result, out, value):
    """Write the derivative part of ``result`` into the ``out`` tree (when given)."""
    if out is None:
        return result
    if value:
        *head, last = result
        return (*head, write_tree_out(out, last))
    return write_tree_out(out, result)


def write_tree_out(out, result):
    """Copy each leaf of ``result`` into the matching leaf of ``out`` (same structure and shapes)."""
    if hasattr(result, "tocsr"):  # AutoSparse: the flat sparse matrix, into a sparse out
        return write_out(None, out, result)
    got, td = tree_flatten(result)
    bufs, out_td = tree_flatten(out)
    shapes, out_shapes = [tuple(np.shape(v)) for v in got], [tuple(getattr(b, "shape", ())) for b in bufs]
    if out_td != td or shapes != out_shapes:
        diffs = tree_differences(td, shapes, out_td, out_shapes, root="out")
        raise InputError(
            "out does not have the structure of the result: " + "; ".join(diffs).replace("prepared", "expected")
            + ".\nHint: pass a tree of arrays shaped like the result (e.g. the result of an earlier call)."
        )
    paths = tree_paths(out_td, "out")
    for i, (b, r) in enumerate(zip(bufs, got)):  # every leaf checked before any is written
        if not hasattr(b, "shape"):
            raise InputError(
                f"out leaf {paths[i]} is a {type(b).__name__}, not an array.\n"
                "Hint: out= leaves must be writable arrays (np.zeros(()) for a scalar)."
            )
        if library_of(b) != "jax":
            check_out_buffer(b, r, f"out leaf {paths[i]}")
    for path, b, r in zip(paths, bufs, got):
        write_out(None, b, r, f"out leaf {path}")
    return out


def _gradient(prep, inner, xn, ctx, s, value):
    y, g = inner.run(xn, ctx)
    g = prep.unflatten_x(inner.back(g))
    return (inner.back(y), g) if value else g


def _jacobian(prep, inner, xn, ctx, s, value):
    y, J = inner.run(xn, ctx)
    J = prep.nest_jacobian(inner.back(J))
    return (prep.unflatten_y(inner.back(y)), J) if value else J


def _derivative(prep, inner, xn, ctx, s, value):
    from .._errors import InputError

    if any(shape != () for shape in prep.in_shapes):
        raise InputError(
            "ad.derivative needs scalar inputs; some active leaves are arrays.\n"
            "Hint: use ad.jacobian or ad.pushforward for array inputs."
        )
    return _jacobian(prep, inner, xn, ctx, s, value)


def _batch(prep, inner, xn, ctx, s, value, like_x, what, out_is_x):
    seeds, single = prep.flat_seeds(s, like_x, what)
    spec = inner.spec
    shape, dtype = (spec.x_shape, spec.x_dtype) if like_x else (spec.y_shape, spec.y_dtype)
    T, single_inner = stack_seeds(inner, seeds, shape, dtype, what)
    single = single or single_inner
    y, R = inner.run(xn, T, ctx)
    unflat = prep.unflatten_x if out_is_x else prep.unflatten_y
    results = tuple(unflat(inner.back(R[i])) for i in range(R.shape[0]))
    results = results[0] if single else results
    return y, results


def _pushforward(prep, inner, xn, ctx, s, value):
    y, ty = _batch(prep, inner, xn, ctx, s, value, True, "tx", False)
    return (prep.unflatten_y(inner.back(y)), ty) if value else ty


def _pullback(prep, inner, xn, ctx, s, value):
    y, tx = _batch(prep, inner, xn, ctx, s, value, False, "ty", True)
    return (prep.unflatten_y(inner.back(y)), tx) if value else tx


def _hvp(prep, inner, xn, ctx, s, value):
    g, hv = _batch(prep, inner, xn, ctx, s, value, True, "tv", True)
    return (prep.unflatten_x(inner.back(g)), hv) if value else hv


def _hessian(prep, inner, xn, ctx, s, value):
    (y, g), H = inner.run(xn, ctx)
    H = prep.nest_hessian(inner.back(H))
    return (inner.back(y), prep.unflatten_x(inner.back(g)), H) if value else H


def _second_derivative(prep, inner, xn, ctx, s, value):
    (y, d), d2 = inner.run(xn, ctx)
    d2 = prep.unflatten_y(inner.back(d2))
    return (prep.unflatten_y(inner.back(y)), prep.unflatten_y(inner.back(d)), d2) if value else d2


_RUNNERS = {
    "gradient": _gradient, "jacobian": _jacobian, "derivative": _derivative, "pushforward": _pushforward,
    "pullback": _pullback, "hvp": _hvp, "hessian": _hessian,
    "second_derivative": _second_derivative,
}


def _native_gradient(prep, f, args, value):
    """A backend's own pytree gradient (JAX: jitted, structure checked when JAX traces)."""
    from ._structured import split_args

    backend, actives, contexts, _, _ = split_args(args, False)
    jitted = prep.library == prep.backend.library == "jax"  # JAX checks the structure when it traces
    leaves = None
    if not jitted or f is not prep.f or (backend is not prep.backend and backend != prep.backend):
        leaves = prep.check(f, backend, actives, contexts)
    vg, g = prep.native
    if jitted or (
        prep.library == prep.backend.library and not any(isinstance(v, (float, int)) for v in leaves)
    ):
        call_args = list(actives)  # already native arrays
    else:
        to_native = prep.inner.to_native
        leaves, td = tree_flatten_args(actives)
        call_args = list(tree_unflatten(td, [to_native(prep.leaf(v)) for v in leaves]))
    if contexts:
        ctx = iter(prep.inner.native_contexts(contexts))
        call_args = _merge(call_args, ctx, prep.positions)
    if value:
        y, grads = vg(*call_args)
        return prep.inner.back(y), _back(prep, grads)
    return _back(prep, g(*call_args))


def _merge(actives, ctx, positions):
    out, it = [], iter(actives)
    for i in range(len(actives) + len(positions)):
        out.append(next(ctx) if i in positions else next(it))
    return out


def _tree_map(tree, fun):
    leaves, td = tree_flatten(tree)
    if td == ("leaf",):
        return fun(tree)
    return tree_unflatten(td, [fun(v) for v in leaves])


def _back(prep, grads):
    if prep.library == prep.backend.library:
        return grads
    back = prep.inner.back
    if prep.n_active > 1:
        return tuple(_tree_map(g, back) for g in grads)
    return _tree_map(grads, back)


def flat_jacobian(f, *args, prep=None):
    """Jacobian of the flattened problem: one matrix of shape ``(m, n)``.

    Inputs and outputs may be pytrees and there may be several active arguments; rows follow
    the leaves of ``f``'s output and columns the leaves of the active arguments, both in the
    order :func:`anydiff.tree_index_map` gives (leaves depth first, dict keys sorted).

    Parameters
    ----------
    f : callable
    *args
        ``backend, x1, x2, ..., *contexts`` as for :func:`anydiff.jacobian`.
    prep : optional
        Output of :func:`anydiff.prepare_jacobian` for the same call.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> f = lambda t: {"a": 2.0 * t["x"], "b": np.sum(t["x"])}
    >>> ad.flat_jacobian(f, ad.AutoNumPy(), {"x": np.array([1.0, 2.0])})
    array([[2., 0.],
           [0., 2.],
           [1., 1.]])
    """
    prep, leaves, contexts, _ = resolve_tree(JacobianPrep, "jacobian", f, args, prep, _builds()["jacobian"][1])
    inner = prep.inner
    _, J = inner.run(inner.to_native(prep.flat_x(leaves)), inner.native_contexts(contexts))
    J = inner.back(J)
    return J if hasattr(J, "tocsr") else J.reshape((-1, inner.spec.n))
