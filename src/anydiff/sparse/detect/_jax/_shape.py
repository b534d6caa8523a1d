"""Structural primitives of the jaxpr detector: run on element ids (reshape, slice,
gather, scatter, concatenate, pad, ...)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...._errors import MissingRuleError
from .._index_sets import _any_row, _product, _rows
from ._deps import _Deps, _deps_of, _empty, _size

__all__: list = []

_SAME_ORDER = {"reshape", "squeeze", "expand_dims"}


def _structural(eqn, vals, n):
    """Run the primitive on element ids (1-based; 0 = depends on nothing) to map elements.

    The result is a lazy view: rows of the operands' bases (stacked if there are several)."""
    out_avals = [v.aval for v in eqn.outvars]
    data_dtype = np.dtype(out_avals[0].dtype)
    if data_dtype.kind not in "fc":  # integer/boolean results have zero derivative
        return [_empty(a, n) for a in out_avals]
    if any(isinstance(v, _Deps) and np.dtype(var.aval.dtype) != data_dtype for v, var in zip(vals, eqn.invars)):
        # indices computed from x (searchsorted, argmax, ...): their values are unknown for a
        # global pattern, so every output element may come from any element of the data operands
        union = _any_row([v.S for v, var in zip(vals, eqn.invars)
                          if isinstance(v, _Deps) and np.dtype(var.aval.dtype) == data_dtype], n)
        return [_Deps(_rows(union, np.zeros(_size(a), dtype=np.int64))) for a in out_avals]
    name = eqn.primitive.name
    if name in _SAME_ORDER and isinstance(vals[0], _Deps) and (name != "reshape" or eqn.params.get("dimensions") is None):
        return [vals[0]]  # row-major order unchanged: same sets
    fast = _move_ids(name, vals, eqn, data_dtype, n)
    if fast is not None:
        return fast
    # positions (1-based) of the data operands' elements, stacked; 0 = depends on nothing
    pos_args, data, total = [], [], 0
    for v, var in zip(vals, eqn.invars):
        aval = var.aval
        if isinstance(v, _Deps):
            pos_args.append(np.arange(total + 1, total + 1 + v.size, dtype=np.int32).reshape(aval.shape))
            data.append((v, total))
            total += v.size
        elif np.dtype(aval.dtype) == data_dtype:
            pos_args.append(np.zeros(aval.shape, dtype=np.int32))  # constant data: depends on nothing
        else:
            pos_args.append(v)  # indices, start positions: concrete
    res = _numpy_structural(name, pos_args, eqn.params)
    if res is None:  # no NumPy twin: run the JAX primitive itself on the positions
        res = eqn.primitive.bind(*pos_args, **eqn.params)
        res = res if eqn.primitive.multiple_results else [res]
    # per base: layers of ids over the stacked positions (a layer per term of an operand with
    # that base), with a -1 sentinel at the end for position 0 ("nothing")
    layers = {}
    for v, offset in data:
        count = {}
        for base, ids, _ in v.terms:
            key = id(base)
            k = count.get(key, 0)
            count[key] = k + 1
            stack = layers.setdefault(key, (base, []))[1]
            if len(stack) == k:
                stack.append(np.full(total + 1, -1, dtype=np.int64))
            stack[k][offset:offset + v.size] = ids
    outs = []
    for r in res:
        where = np.asarray(r, dtype=np.int64).ravel() - 1
        terms = []
        for base, stack in layers.values():
            for lookup in stack:
                ids = lookup[where]
                valid = ids >= 0
                if valid.all():
                    terms.append((base, ids, True))
                elif valid.any():
                    terms.append((base, ids, False))
        outs.append(_Deps(terms=tuple(terms), size=where.size, n=n))
    return outs


#: structural primitives whose output elements are all input elements (no fill values)
_MOVES = {"transpose", "broadcast_in_dim", "slice", "concatenate", "stack", "rev"}


def _move_ids(name, vals, eqn, data_dtype, n):
    """Fast path of ``_structural``: a pure move (NumPy twin, no fill values) whose data operands
    all depend on ``x`` through at most one term each, with one common base: the primitive is
    run on the ids themselves. ``None`` when it does not apply."""
    if name not in _MOVES:
        return None
    base, args, full = None, [], True
    for v, var in zip(vals, eqn.invars):
        if not isinstance(v, _Deps) and np.dtype(var.aval.dtype) != data_dtype:
            args.append(v)  # indices, start positions: concrete
            continue
        if not isinstance(v, _Deps) or not v.terms:  # constant data / no dependence: no row
            args.append(np.full(var.aval.shape, -1, dtype=np.int64))
            full = False
            continue
        if len(v.terms) > 1:
            return None
        b, ids, f = v.terms[0]
        if base is None:
            base = b
        elif b is not base:
            return None
        args.append(ids.reshape(var.aval.shape))
        full = full and f
    if base is None:
        return [_empty(v.aval, n) for v in eqn.outvars]
    outs = []
    for r in _numpy_structural(name, args, eqn.params):
        ids = np.ascontiguousarray(r).ravel()
        if full:
            outs.append(_Deps(terms=((base, ids, True),), size=ids.size, n=n))
            continue
        valid = ids >= 0
        terms = ((base, ids, True),) if valid.all() else ((base, ids, False),) if valid.any() else ()
        outs.append(_Deps(terms=terms, size=ids.size, n=n))
    return outs


def _numpy_structural(name, args, params):
    """NumPy versions of the common structural primitives (much faster than JAX dispatch)."""
    a = args[0]
    if name == "reshape" and params.get("dimensions") is None:
        return [np.reshape(a, params["new_sizes"])]
    if name == "transpose":
        return [np.transpose(a, params["permutation"])]
    if name == "squeeze":
        return [np.squeeze(a, axis=tuple(params["dimensions"]))]
    if name == "expand_dims":
        return [np.expand_dims(a, tuple(params["dimensions"]))]
    if name == "broadcast_in_dim":
        shape, dims = tuple(params["shape"]), tuple(params["broadcast_dimensions"])
        expanded = np.reshape(a, [shape[d] if d in dims and a.shape[dims.index(d)] != 1 else 1 for d in range(len(shape))]
                              if a.ndim else [1] * len(shape))
        return [np.broadcast_to(expanded, shape)]
    if name == "slice":
        strides = params.get("strides") or (1,) * a.ndim
        return [a[tuple(slice(s, e, k) for s, e, k in zip(params["start_indices"], params["limit_indices"], strides))]]
    if name == "concatenate":
        return [np.concatenate(args, axis=params["dimension"])]
    if name == "stack":
        return [np.stack(args, axis=params["axis"])]
    if name == "rev":
        return [np.flip(a, axis=tuple(params["dimensions"]))]
    if name == "pad":
        out = a
        for axis, (lo, hi, interior) in enumerate(params["padding_config"]):
            lo, hi, interior = int(lo), int(hi), int(interior)
            if interior:
                shape = list(out.shape)
                shape[axis] = out.shape[axis] + max(0, out.shape[axis] - 1) * interior
                spread = np.zeros(shape, dtype=out.dtype)
                index = [slice(None)] * out.ndim
                index[axis] = slice(None, None, interior + 1)
                spread[tuple(index)] = out
                out = spread
            width = [(0, 0)] * out.ndim
            width[axis] = (max(lo, 0), max(hi, 0))
            out = np.pad(out, width)  # pads with 0 = "depends on nothing"
            index = [slice(None)] * out.ndim
            index[axis] = slice(-lo if lo < 0 else 0, out.shape[axis] + hi if hi < 0 else None)
            out = out[tuple(index)]
        return [out]
    return None


def _scatter_add(eqn, vals, n):
    """``operand.at[idx].add(updates)``: each output element unions its operand element and the
    updates sent to it. Targets of the updates: scatter-max of update ids, repeated until every
    update has been seen (one round per level of index collisions)."""
    import jax

    operand, indices, updates = vals[:3]
    if isinstance(indices, _Deps):
        raise MissingRuleError(
            "scatter-add with indices that depend on x cannot be traced.\n"
            "Hint: compute the indices from constants, or use a local detector (ad.DenseSparsityDetector)."
        )
    op_aval, up_aval = eqn.invars[0].aval, eqn.invars[2].aval
    nu = _size(up_aval)
    remaining = np.arange(nu, dtype=np.int32)
    targets = np.full(nu, -1, dtype=np.int64)
    params = {k: v for k, v in eqn.params.items() if k not in ("update_jaxpr", "update_consts")}
    while True:
        res = jax.lax.scatter_max(np.full(op_aval.shape, -1, np.int32), np.asarray(indices),
                                  remaining.reshape(up_aval.shape), params["dimension_numbers"],
                                  indices_are_sorted=params.get("indices_are_sorted", False),
                                  unique_indices=params.get("unique_indices", False), mode=params.get("mode"))
        res = np.asarray(res).ravel()
        pos = np.nonzero(res >= 0)[0]
        fresh = targets[res[pos]] < 0
        if not fresh.any():
            break
        targets[res[pos[fresh]]] = pos[fresh]
        remaining[res[pos[fresh]]] = -1
    total = _deps_of(operand, _size(op_aval), n)
    if isinstance(updates, _Deps):
        hit = np.nonzero(targets >= 0)[0]
        A = sp.csr_array((np.ones(hit.size, dtype=np.int32), (targets[hit], hit)), shape=(_size(op_aval), nu))
        total = total + _product(A, updates.S)
    return total
