"""Control flow in the jaxpr detector: ``scan`` and ``while`` (``cond`` and calls are in
``_walk.py``)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...._errors import MissingRuleError
from ._deps import _Deps, _size

__all__: list = []


def _walk(jaxpr, consts, args, n):
    from ._walk import _walk as walk  # the walker calls back into this module

    return walk(jaxpr, consts, args, n)


def _slice0(v, aval, i):
    """Element ``i`` along the leading axis of an operand (a lazy view for index sets)."""
    if isinstance(v, _Deps):
        terms = []
        for base, ids, full in v.terms:
            ids = ids.reshape(aval.shape)[i].ravel().copy()
            if full or (ids >= 0).all():
                terms.append((base, ids, True))
            elif (ids >= 0).any():
                terms.append((base, ids, False))
        return _Deps(terms=tuple(terms), size=_size(aval) // aval.shape[0], n=v.n)
    return np.asarray(v)[i]


def _stack0(items, aval, n):
    if not any(isinstance(it, _Deps) for it in items):
        return np.stack([np.asarray(it) for it in items])
    per = _size(aval) // aval.shape[0]
    return _Deps(sp.vstack([it.S if isinstance(it, _Deps) else sp.csr_array((per, n), dtype=bool) for it in items],
                           format="csr"))


def _scan(eqn, vals, n):
    """``lax.scan`` (and ``fori_loop`` with static bounds): the body is walked once per iteration."""
    p = eqn.params
    body, nc, ncarry, length = p["jaxpr"], p["num_consts"], p["num_carry"], p["length"]
    consts, carry, xs = vals[:nc], list(vals[nc:nc + ncarry]), vals[nc + ncarry:]
    xs_avals = [v.aval for v in eqn.invars[nc + ncarry:]]
    ys = []
    order = range(length - 1, -1, -1) if p.get("reverse") else range(length)
    for i in order:
        outs = _walk(body.jaxpr, body.consts, list(consts) + carry + [_slice0(x, a, i) for x, a in zip(xs, xs_avals)], n)
        carry, y = list(outs[:ncarry]), outs[ncarry:]
        ys.append(y)
    if p.get("reverse"):
        ys = ys[::-1]
    ys_avals = [v.aval for v in eqn.outvars[ncarry:]]
    stacked = [_stack0([y[k] for y in ys], a, n) for k, a in enumerate(ys_avals)]
    return carry + stacked


def _while(eqn, vals, n):
    """``lax.while_loop`` whose condition does not depend on ``x``: run exactly, iteration by
    iteration (a condition that depends on ``x`` needs values: not a global pattern)."""
    p = eqn.params
    cj, bj, cn, bn = p["cond_jaxpr"], p["body_jaxpr"], p["cond_nconsts"], p["body_nconsts"]
    cconsts, bconsts, carry = vals[:cn], vals[cn:cn + bn], list(vals[cn + bn:])
    while True:
        (keep_going,) = _walk(cj.jaxpr, cj.consts, list(cconsts) + carry, n)
        if isinstance(keep_going, _Deps):
            raise MissingRuleError(
                "JaxSparsityDetector: a while_loop whose condition depends on x has no global pattern.\n"
                "Hint: use DenseSparsityDetector(AutoJax()) (pattern at x only), or a fixed trip count (lax.scan / fori_loop)."
            )
        if not bool(np.asarray(keep_going)):
            return carry
        carry = list(_walk(bj.jaxpr, bj.consts, list(bconsts) + carry, n))
