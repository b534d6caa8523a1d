"""What identifies the contexts of a call beyond their kinds (preparation cache keys and checks)."""

from __future__ import annotations

import numbers

from .._trees import tree_flatten

__all__ = ["context_signature"]


def context_signature(contexts) -> tuple:
    """Kind, structure, types, shapes and dtypes of the contexts.

    Part of the cache key of unprepared calls and checked by prepared calls, since ``f``'s
    output shape and dtype may depend on them (``np.outer(x, c)``, a complex constant).
    """
    out = []
    for c in contexts:
        leaves, td = tree_flatten(getattr(c, "value", None))
        out.append((getattr(c, "kind", None), td, tuple(_leaf(v) for v in leaves)))
    return tuple(out)


def _leaf(v):
    if isinstance(v, numbers.Number):  # 2, 2.0 and np.float64(2.0) alike; complex apart
        return isinstance(v, numbers.Complex) and not isinstance(v, numbers.Real)
    return type(v), tuple(getattr(v, "shape", ())), str(getattr(v, "dtype", ""))
