"""Pieces shared by the operator modules (``first_order``, ``second_order``): routing of
structured calls (pytrees, several active arguments) to ``_tree_ops``, the seeds argument,
the refusal of complex outputs for gradients, and writing results into ``y`` and ``out``."""

from __future__ import annotations

import functools

from .._arrays import TreeOutputError
from ._core import write_out, write_y
from ._structured import TreePrep, is_structured
from ._tree_ops import tree_operator, tree_prepare

__all__ = ["refuse_complex_output", "routed", "routed_prepare", "pop_seeds", "finish_one", "finish_batch"]


def refuse_complex_output(spec, op):
    """A gradient (as ``jax.grad``) is defined for real-valued ``f`` only."""
    from ..backends._base import _is_complex

    if spec.y_dtype is not None and _is_complex(spec.y_dtype):
        from .._errors import OutputError

        raise OutputError(
            f"ad.{op} needs a real-valued f; f(x) has dtype {spec.y_dtype} (a gradient of a complex "
            "output has no single convention).\nHint: differentiate a real quantity (e.g. abs(y)**2 or "
            "y.real), or use ad.jacobian / ad.derivative / ad.pushforward / ad.pullback for complex outputs."
        )


def routed_prepare(operator, same_point=False):
    """Decorate ``prepare_<operator>``: structured calls (and pytree outputs) go to ``_tree_ops``."""

    def decorate(plain):
        @functools.wraps(plain)
        def prepare_op(f, *args):
            if is_structured(args):
                return tree_prepare(operator, f, args, same_point)
            try:
                return plain(f, *args)
            except TreeOutputError:
                return tree_prepare(operator, f, args, same_point)

        return prepare_op

    return decorate


def routed(operator, seeds=False):
    """Decorate ``value_and_<operator>``: structured calls (and pytree outputs) go to ``_tree_ops``."""

    def decorate(plain):
        @functools.wraps(plain)
        def value_and_op(f, *args, prep=None, out=None):
            if type(prep) is TreePrep or (prep is None and is_structured(args, seeds)):
                return tree_operator(operator, f, args, prep, out, value=True)
            try:
                return plain(f, *args, prep=prep, out=out)
            except TreeOutputError:
                if prep is not None:
                    raise
                return tree_operator(operator, f, args, None, out, value=True)

        return value_and_op

    return decorate


def pop_seeds(args):
    """Remove the seeds (the argument right after x) from ``(y?, backend, x, seeds, *contexts)``."""
    from ..backends import Backend

    i = 2 if len(args) >= 2 and isinstance(args[0], (Backend, str)) else 3
    if len(args) <= i:
        from .._errors import InputError

        raise InputError("Missing seeds after x.\nHint: pass a tuple of tangents/cotangents, e.g. (dx,).")
    return args[:i] + args[i + 1 :], args[i]


def finish_one(prep, y, value, result, out):
    value = prep.back(value)
    if y is not None:
        write_y(prep, y, value)
    result = prep.back(result)
    if out is not None:
        result = write_out(prep, out, result)
    return value, result


def finish_batch(prep, y, value, stacked, single, out):
    value = prep.back(value)
    if y is not None:
        write_y(prep, y, value)
    results = tuple(prep.back(stacked[i]) for i in range(stacked.shape[0]))
    if out is not None:
        outs = (out,) if single and not isinstance(out, (tuple, list)) else tuple(out)
        if len(outs) != len(results):
            from .._errors import InputError

            raise InputError(
                f"out has {len(outs)} buffers for {len(results)} seeds.\n"
                "Hint: pass one output buffer per seed (out=(buf1, buf2, ...)), or a single buffer for a single seed."
            )
        results = tuple(write_out(prep, o, r, "out[i]") for o, r in zip(outs, results))
    return value, (results[0] if single else results)
