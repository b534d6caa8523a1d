"""Linear operations on :class:`~anydiff.reverse._tape.Lin` tangents and their transposes.

Each handler records one operation and returns a new ``Lin``; the matching ``_t_*`` function
is its transpose ``ct -> (ct of each input)``, under JAX's convention (the transpose of the
bilinear pairing ``Re(sum(u * v))``: multiplying by a complex constant transposes to the same
multiplication, ``real`` to a complex embedding, ``imag`` to ``-1j *``). Operands that are
plain arrays where a tangent is expected are zero tangents (a buffer or a constant's tangent);
a non-zero one is refused rather than dropped.
"""

from __future__ import annotations

import math

import numpy as np

from ..dual._core import Dual
from ._tape import FRESH, INPLACE, SLICE, Lin, NotTransposableError, same_tape

__all__ = ["dispatch_function", "dispatch_ufunc", "getitem", "getitem_record", "setitem", "astype", "FUNCTIONS"]

_BYTE = np.zeros(1, dtype=np.bool_)
_HINT = "Hint: use AutoNumPy(mode='forward') for this function (forward mode supports it)."


def _dummy(shape):
    """A zero-stride boolean array of ``shape`` (shapes of indexing results, at no cost)."""
    return np.ndarray(shape, dtype=np.bool_, buffer=_BYTE, strides=(0,) * len(shape))


def _refuse(what):
    raise NotTransposableError(f"anydiff's reverse mode cannot transpose {what}.\n{_HINT}")


def _check_zero(c, what):
    """A plain operand where a tangent is expected must be a zero tangent."""
    if np.any(c):
        _refuse(f"{what} of a tangent and a non-zero constant")


def unbroadcast(ct, shape):
    """Sum ``ct`` (batch ``B`` on axis 0) down to ``(B,) + shape[1:]``."""
    if ct.shape[1:] == shape[1:] and ct.ndim == len(shape):
        return ct
    extra = ct.ndim - len(shape)
    if extra > 0:
        ct = ct.sum(axis=tuple(range(1, extra + 1)))
    axes = tuple(d for d in range(1, len(shape)) if shape[d] == 1 and ct.shape[d] != 1)
    if axes:
        ct = ct.sum(axis=axes, keepdims=True)
    return ct


def _fit(ct, shape, dtype):
    if ct.shape != shape:
        ct = unbroadcast(ct, shape)
    if dtype.kind != "c" and ct.dtype.kind == "c":
        ct = ct.real
    return ct


# ------------------------------------------------------------------------- arithmetic
def _t_scale(ct, data):
    p, shape, dtype = data
    return (_fit(ct * p, shape, dtype),)


def _t_scale_by(ct, data):  # ct * p * c for a real number c (x ** 2: p = x, c = 2, no 2 * x kept)
    p, shape, dtype, c = data
    out = ct * p
    out *= c
    return (_fit(out, shape, dtype),)


def _t_divide(ct, data):
    p, shape, dtype = data
    return (_fit(ct / p, shape, dtype),)


def _in_place(ct, p, shape, dtype):
    """Whether ``ct * p`` (or ``ct / p``) can be written into ``ct`` with the same numbers: an
    ndarray cotangent with the input's shape and dtype, and ``p`` a real number or an array of
    ``ct``'s dtype broadcasting to ``ct``'s shape."""
    if type(ct) is not np.ndarray or ct.dtype != dtype or ct.shape[1:] != shape[1:] or len(ct.shape) != len(shape):
        return False
    if type(p) is float:
        return dtype.kind in "fc"
    if not (type(p) is np.ndarray or isinstance(p, np.generic)) or p.dtype != dtype:
        return False  # (a NumPy scalar of ct's dtype is fine: 0-d)
    return p.ndim <= ct.ndim and p.shape == ct.shape[ct.ndim - p.ndim :]


def _t_scale_in_place(ct, data):
    p, shape, dtype = data
    return (np.multiply(ct, p, out=ct),) if _in_place(ct, p, shape, dtype) else None


def _t_scale_by_in_place(ct, data):
    p, shape, dtype, c = data
    if not _in_place(ct, p, shape, dtype):
        return None
    np.multiply(ct, p, out=ct)
    return (np.multiply(ct, c, out=ct),)


def _t_divide_in_place(ct, data):
    p, shape, dtype = data
    return (np.true_divide(ct, p, out=ct),) if _in_place(ct, p, shape, dtype) else None


def _scaled(t, p, transpose, c=None):
    tp = type(p)
    if tp is Lin:
        _refuse("a product of two tangents (f is not linear in them)")
    if tp is float and t.dtype.kind == "f":
        shape, dtype = t.shape, t.dtype
    else:
        pshape = p.shape if tp is np.ndarray or tp is Dual else np.shape(p)
        if pshape == () or pshape == t.shape[1:] or pshape == t.shape:
            shape = t.shape
        else:
            shape = np.broadcast_shapes(t.shape, pshape)
        pdtype = getattr(p, "dtype", None)
        if pdtype is not None and pdtype == t.dtype:
            dtype = t.dtype
        else:
            dtype = np.result_type(t.dtype, pdtype if tp is Dual else p)
    tape = t.tape
    if not t.shape or len(shape) != len(t.shape) or shape[0] != t.shape[0]:
        tape.batchable = False  # 0-d tangents (a custom rule's jvp on one tangent) have no batch axis
    records = tape.records
    records.append((transpose, (t.node,), (p, t.shape, t.dtype) if c is None else (p, t.shape, t.dtype, c)))
    node = len(records) - 1
    if tp is not float:  # a partial f may write into later: copied then (Tape.before_write)
        tape.capture(node, p)
    return Lin(tape, node, shape, dtype)


def scale(t, p, c=None):
    """``t * p`` for a tangent ``t`` and a value ``p``; ``t * p * c`` for a real number ``c``
    (the product ``p * c`` is left to the backward pass: no array of it is kept)."""
    if c is None:
        return _scaled(t, p, _t_scale)
    return _scaled(t, p, _t_scale_by, float(c))


def _multiply(a, b):
    return _scaled(a, b, _t_scale) if type(a) is Lin else _scaled(b, a, _t_scale)


def _divide(a, b):
    if type(a) is not Lin:
        _refuse("a division by a tangent")
    return _scaled(a, b, _t_divide)


def _t_add(ct, data):
    s1, s2, d1, d2, sign = data
    c2 = _fit(ct, s2, d2)
    return _fit(ct, s1, d1), (c2 if sign > 0 else -c2)


def _t_pass(ct, data):
    shape, dtype, sign = data
    c = _fit(ct, shape, dtype)
    return (c if sign > 0 else -c,)


def _add(a, b, sign=1):
    la, lb = type(a) is Lin, type(b) is Lin
    t = a if la else b
    if la and lb:
        same_tape(a, b)
        shape = a.shape if a.shape == b.shape else np.broadcast_shapes(a.shape, b.shape)
        dtype = a.dtype if a.dtype == b.dtype else np.result_type(a.dtype, b.dtype)
        node = t.tape.add(_t_add, (a.node, b.node), (a.shape, b.shape, a.dtype, b.dtype, sign))
        return t.derived(node, shape, dtype)
    c = b if la else a
    _check_zero(c, "a sum")
    shape = t.shape if np.shape(c) in ((), t.shape) else np.broadcast_shapes(t.shape, np.shape(c))
    dtype = np.result_type(t.dtype, c)
    out_sign = sign if lb else 1
    if shape == t.shape and out_sign > 0 and dtype == t.dtype:
        return t.copy()
    return t.derived(t.tape.add(_t_pass, (t.node,), (t.shape, t.dtype, out_sign)), shape, dtype)


def _subtract(a, b):
    return _add(a, b, sign=-1)


def _t_neg(ct, data):
    return (-ct,)


def _t_neg_in_place(ct, data):
    return (np.negative(ct, out=ct),) if type(ct) is np.ndarray else None


def _t_add_in_place(ct, data):
    """``a - b``: ``ct`` itself for ``a`` (when it fits as is) and a new ``-ct`` for ``b``."""
    s1, s2, d1, d2, sign = data
    if sign > 0 or type(ct) is not np.ndarray or ct.shape[1:] != s1[1:] or ct.ndim != len(s1) or ct.dtype != d1:
        return None  # a + b: both inputs would share ct
    return ct, np.negative(_fit(ct, s2, d2))


def _t_conj(ct, data):
    return (np.conjugate(ct),)


def _unary(transpose):
    def handler(a):
        return a.derived(a.tape.add(transpose, (a.node,), None), a.shape)

    return handler


# ------------------------------------------------------------------------- matmul
def _matmul_shape(sa, sb):
    ea = sa if len(sa) > 1 else (1,) + sa
    eb = sb if len(sb) > 1 else sb + (1,)
    ba, bb = ea[:-2], eb[:-2]
    out = (ba if ba == bb or not bb else bb if not ba else np.broadcast_shapes(ba, bb)) + (ea[-2], eb[-1])
    if len(sb) == 1:
        out = out[:-1]
    if len(sa) == 1:
        out = out[:-2] + out[-1:]
    return out


def _t_matmul_left(ct, data):  # y = T @ C
    c, shape, dtype = data
    if np.ndim(c) == 1:
        return (_fit(ct[..., None] * c, shape, dtype),)
    return (_fit(np.matmul(ct, np.swapaxes(c, -1, -2)), shape, dtype),)


def _t_matmul_right(ct, data):  # y = C @ T
    c, shape, dtype = data
    if np.ndim(c) == 1:
        return (_fit(c[:, None] * ct[..., None, :], shape, dtype),)
    return (_fit(np.matmul(np.swapaxes(c, -1, -2), ct), shape, dtype),)


def _matmul(a, b):
    if type(a) is Lin and type(b) is Lin:
        _refuse("a product of two tangents")
    t, c, transpose = (a, b, _t_matmul_left) if type(a) is Lin else (b, a, _t_matmul_right)
    if t.ndim < 2:
        _refuse("np.matmul of a 1-d tangent")
    cshape = c.shape if type(c) is np.ndarray or type(c) is Dual else np.shape(c)
    shape = _matmul_shape(t.shape, cshape) if t is a else _matmul_shape(cshape, t.shape)
    dtype = t.dtype if getattr(c, "dtype", None) == t.dtype else np.result_type(t.dtype, c)
    if transpose is _t_matmul_right and t.ndim == 2:
        t.tape.batchable = False  # the batch axis is a matrix row of T
    node = t.tape.add(transpose, (t.node,), (c, t.shape, t.dtype))
    t.tape.capture(node, c)
    return t.derived(node, shape, dtype)


# ------------------------------------------------------------------------- indexing
def _is_basic(idx):
    for i in idx:
        if i is None or i is Ellipsis or type(i) is slice:
            continue
        if isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)):
            continue
        return False
    return True


def _t_getitem(ct, data):
    idx, shape, basic, batched = data
    if basic and batched and type(ct) is np.ndarray:
        z = _embed(ct, idx, (ct.shape[0],) + shape[1:])
        if z is not None:
            return (z,)
    z = np.zeros_like(ct, shape=(ct.shape[0],) + shape[1:] if batched else shape)  # a dual under forward-over-reverse
    if basic:
        z[idx] = ct
    else:
        np.add.at(z, idx, ct)
    return (z,)


def _embed(ct, idx, shape):
    """``z`` of ``shape`` with ``z[idx] = ct`` and zeros elsewhere, for ``idx`` made of step-1
    slices (``x[1:]``, ``p[:k]``, ``A[:, 2:5]``), or ``None``. The array is not zero-filled
    first: only the slabs outside the slice on each axis are (one pass over memory, not two)."""
    if len(idx) > len(shape):
        return None
    bounds = []
    for axis, i in enumerate(idx):
        if type(i) is not slice or i.step not in (None, 1):
            return None
        start, stop, _ = i.indices(shape[axis])
        if (start, stop) != (0, shape[axis]):
            bounds.append((axis, start, max(start, stop)))
    z = np.empty(shape, dtype=ct.dtype)
    for axis, start, stop in bounds:
        head = (_ALL,) * axis
        z[head + (slice(0, start),)] = 0
        z[head + (slice(stop, None),)] = 0
    z[idx] = ct
    return z


_ALL = slice(None)


def _batch_safe(idx):
    return bool(idx) and type(idx[0]) is slice and idx[0] == _ALL


def getitem_record(tape, node, shape, idx, out_shape=None):
    batched = _batch_safe(idx)
    if not batched:
        tape.batchable = False
    return tape.add(_t_getitem, (node,), (idx, shape, _is_basic(idx), batched))


def getitem(t, idx):
    idx = idx if type(idx) is tuple else (idx,)
    if any(type(i) is list for i in idx):
        idx = tuple(np.asarray(i) if type(i) is list else i for i in idx)
    shape = _dummy(t.shape)[idx].shape
    basic = _is_basic(idx)
    batched = _batch_safe(idx)
    if not batched:
        t.tape.batchable = False
    out = t.derived(t.tape.add(_t_getitem, (t.node,), (idx, t.shape, basic, batched)), shape)
    if basic:  # a view: writes go through to t
        out._base, out._view, out._bver = t, idx, t._version
    return out


def _t_setitem(ct, data):
    idx, wshape, wdtype, kept = data
    old = ct.copy()
    old[idx] = 0
    if wshape is None:
        return (old,)
    cw = ct[idx]
    if kept is not None:  # repeated positions: only the last value written there stays
        cw = cw * kept
    return old, _fit(cw, wshape, wdtype)


def _last_writes(shape, idx):
    """For an assignment with repeated fancy indices: a mask of the written values that stay
    (NumPy keeps the last one per position); ``None`` when no position repeats."""
    if _is_basic(idx):
        return None
    positions = np.arange(math.prod(shape)).reshape(shape)[idx]
    pos = positions.ravel()
    _, first_from_end = np.unique(pos[::-1], return_index=True)
    if first_from_end.size == pos.size:
        return None
    kept = np.zeros(pos.size, dtype=bool)
    kept[pos.size - 1 - first_from_end] = True
    return kept.reshape(positions.shape)


def setitem(t, idx, w):
    idx = idx if isinstance(idx, tuple) else (idx,)
    if not _batch_safe(idx):
        t.tape.batchable = False
    old = t.node
    if type(w) is Lin:
        same_tape(t, w)
        node = t.tape.add(_t_setitem, (old, w.node), (idx, w.shape, w.dtype, _last_writes(t.shape, idx)))
    else:
        _check_zero(w, "an assignment")
        node = t.tape.add(_t_setitem, (old,), (idx, None, None, None))
    t._rebind(node)


def _t_add_at(ct, data):
    idx, wshape, wdtype, sign = data
    cw = _fit(ct[idx], wshape, wdtype)
    return ct, (cw if sign > 0 else -cw)


def _add_at(t, idx, w, sign):
    idx = idx if isinstance(idx, tuple) else (idx,)
    if not _batch_safe(idx):
        t.tape.batchable = False
    if type(w) is not Lin:
        _check_zero(w, f"np.{'add' if sign > 0 else 'subtract'}.at")
        return
    same_tape(t, w)
    t._rebind(t.tape.add(_t_add_at, (t.node, w.node), (idx, w.shape, w.dtype, sign)))


# ------------------------------------------------------------------------- dtypes
def _t_astype(ct, data):
    dtype = data
    if dtype.kind != "c" and np.iscomplexobj(ct):
        ct = ct.real
    return (ct.astype(dtype, copy=False),)


def astype(t, dtype):
    dtype = np.dtype(dtype)
    if dtype == t.dtype:
        return t.copy()
    return t.derived(t.tape.add(_t_astype, (t.node,), t.dtype), t.shape, dtype)


def _t_real(ct, data):
    return (ct.astype(data),)


def _t_imag(ct, data):
    return (-1j * ct.astype(data),)


def _real(val):
    if val.dtype.kind != "c":
        return val.copy()
    return val.derived(val.tape.add(_t_real, (val.node,), val.dtype), val.shape, _real_of(val.dtype))


def _imag(val):
    if val.dtype.kind != "c":
        return Lin.leaf(val.tape, val.shape, val.dtype)
    return val.derived(val.tape.add(_t_imag, (val.node,), val.dtype), val.shape, _real_of(val.dtype))


def _real_of(dtype):
    return np.empty(0, dtype=dtype).real.dtype


FRESH.update((_t_scale, _t_scale_by, _t_divide, _t_getitem, _t_matmul_left, _t_matmul_right))
SLICE[0] = _t_getitem
INPLACE.update({_t_scale: _t_scale_in_place, _t_scale_by: _t_scale_by_in_place, _t_divide: _t_divide_in_place,
                _t_neg: _t_neg_in_place, _t_add: _t_add_in_place})

# ------------------------------------------------------------------------- dispatch
_UFUNCS = {
    np.multiply: _multiply,
    np.true_divide: _divide,
    np.add: _add,
    np.subtract: _subtract,
    np.negative: _unary(_t_neg),
    np.positive: lambda a: a.copy(),
    np.conjugate: _unary(_t_conj),
    np.matmul: _matmul,
}


def dispatch_ufunc(self, ufunc, method, inputs, kwargs):
    if kwargs.get("out") is not None:
        _refuse(f"np.{ufunc.__name__}(..., out=...) on tangents")
    if method == "__call__":
        handler = _UFUNCS.get(ufunc)
        if handler is None or kwargs.get("where", True) is not True:
            _refuse(f"np.{ufunc.__name__} applied to tangents (it is not linear)")
        result = handler(*inputs)
        dtype = kwargs.get("dtype")
        return result if dtype is None else astype(result, dtype)
    if method == "reduce" and ufunc is np.add:
        return FUNCTIONS[np.sum](inputs[0], **kwargs)
    if method == "accumulate" and ufunc is np.add:
        return FUNCTIONS[np.cumsum](inputs[0], **kwargs)
    if method == "at" and ufunc in (np.add, np.subtract):
        return _add_at(inputs[0], inputs[1], inputs[2], 1 if ufunc is np.add else -1)
    _refuse(f"np.{ufunc.__name__}.{method} on tangents")


#: NumPy function -> handler on Lin arguments (filled by ``_linear``).
FUNCTIONS: dict = {
    np.real: _real,
    np.imag: _imag,
    np.shape: lambda a: a.shape,
    np.ndim: lambda a: a.ndim,
    np.size: lambda a, axis=None: a.size if axis is None else a.shape[axis],
    np.iscomplexobj: lambda x: x.dtype.kind == "c",
}


def dispatch_function(self, func, args, kwargs):
    handler = FUNCTIONS.get(func)
    if handler is None:
        _refuse(f"{getattr(func, '__module__', 'np')}.{func.__name__} applied to tangents")
    return handler(*args, **kwargs)
