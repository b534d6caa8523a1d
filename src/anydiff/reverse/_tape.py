"""The tape of linear operations and :class:`Lin`, the symbolic tangent that records it.

Reverse mode runs ``f`` once on ``Dual(x, Lin)``: the dual engine's forward rules compute the
value as usual and apply *linear* operations to the tangent (multiply by a partial derivative,
add, reshape, index, sum, ...). A :class:`Lin` does not compute those operations: it appends
one record per operation to a :class:`Tape` (the transpose function, the input nodes and what
the transpose needs: the partials or the constant operand, never a copy of every
intermediate). :meth:`Tape.backward` walks the records in reverse and applies each transpose,
as JAX transposes linear JVP rules, so no derivative rule is written twice.

A tangent is a linear function of the seed with a leading batch axis of size 1. The backward
pass may carry ``B`` cotangents at once on that axis (Jacobian rows, Hessian-vector products).
"""

from __future__ import annotations

import numpy as np

from .._array_methods import ArrayMethods, LinearOperators
from .._errors import MissingRuleError
from ..dual._core import OUTER_TYPES, Dual, lift

__all__ = ["Lin", "NotTransposableError", "Tape", "same_tape"]


class NotTransposableError(MissingRuleError):
    """A step of ``f`` applies an operation to tangents that reverse mode cannot transpose."""


def same_tape(first, *others):
    """Raise unless every :class:`Lin` in ``others`` records on ``first``'s tape.

    Two tapes meet when reverse mode runs inside another reverse pass at the same nesting level
    (a reverse-mode gradient taken inside ``f`` on values carrying the outer pass's tangents); one
    record joining them would mix node numbers of both tapes and give wrong derivatives.
    """
    for o in others:
        if type(o) is Lin and o.tape is not first.tape:
            raise NotTransposableError(
                "anydiff's reverse mode: tangents of two different reverse passes meet in one "
                "operation (a reverse-mode derivative is taken inside f on values that carry the "
                "outer pass's derivatives), which this nesting cannot transpose.\nHint: use "
                "AutoNumPy(mode='forward') for the outer or the inner derivative."
            )


class Tape:
    """Records of linear operations ``(transpose, input nodes, data)``; node ``i`` is record ``i``."""

    __slots__ = ("batchable", "captured", "outer", "records")

    def __init__(self, outer=False):
        self.records = []
        self.batchable = True  # every record's transpose accepts B cotangents on axis 0
        self.captured = {}  # id of a writable array's root -> records keeping a view of it
        # forward-over-reverse: the tangents are the outermost level, the recorded data (partials,
        # constant operands) may be forward-mode duals, and so are the cotangents of the sweep
        self.outer = outer

    def add(self, transpose, inputs, data):
        self.records.append((transpose, inputs, data))
        return len(self.records) - 1

    def capture(self, node, a):
        """Record ``node`` keeps ``a`` (its first data item): copy it if ``f`` writes into ``a`` later.

        ``a`` may be a forward-mode dual (forward-over-reverse): each of its arrays is watched.
        """
        if isinstance(a, np.ndarray):
            if a.flags.writeable:
                self.captured.setdefault(id(_root(a)), []).append(node)
        elif hasattr(a, "tangent"):
            for part in _arrays(a):
                if part.flags.writeable:
                    self.captured.setdefault(id(_root(part)), []).append(node)

    def before_write(self, value):
        """``f`` is about to write into ``value`` (a dual's buffer): records keeping it get a copy."""
        for part in (value,) if isinstance(value, np.ndarray) else _arrays(value):
            nodes = self.captured.pop(id(_root(part)), None)
            for node in nodes or ():
                transpose, inputs, data = self.records[node]
                self.records[node] = (transpose, inputs, (data[0].copy(),) + tuple(data[1:]))

    def backward(self, seeds, leaf, shape, dtype, release=False):
        """Cotangent of node ``leaf`` for ``seeds`` (``{node: cotangent}``, one batch ``B``).

        Returns an array of shape ``(B,) + shape[1:]``. Runs one vectorized pass when every
        record accepts batched cotangents, else one pass per cotangent of the batch.
        ``release=True``: the tape is not used afterwards; a single pass drops each record once
        transposed (the partials it keeps are freed on the way: a lower peak of memory).
        """
        batch = next(iter(seeds.values())).shape[0]
        if batch == 1 or self.batchable:
            return self._sweep(seeds, leaf, shape, dtype, release)
        rows = [self._sweep({k: v[b : b + 1] for k, v in seeds.items()}, leaf, shape, dtype) for b in range(batch)]
        return np.concatenate(rows)

    def _sweep(self, seeds, leaf, shape, dtype, release=False):
        out = self.sweep(seeds, leaf, release)
        batch = next(iter(seeds.values())).shape[0]
        if out is None:
            return np.zeros((batch,) + tuple(shape[1:]), dtype=dtype)
        if np.dtype(dtype).kind != "c" and out.dtype.kind == "c":
            out = out.real
        return np.asarray(out, dtype=dtype).reshape((batch,) + tuple(shape[1:]))

    def sweep(self, seeds, leaf, release=False):
        """The raw cotangent of node ``leaf`` (``None`` if zero): one reverse pass over the records.

        ``release=True`` drops each record once transposed (a last pass: lower peak memory).
        """
        records = self.records
        cts = [None] * len(records)
        owned = [False] * len(records)  # cts[j] is a new array of this pass: accumulate in place
        for node, ct in seeds.items():
            cts[node] = ct if cts[node] is None else cts[node] + ct
        for i in range(len(records) - 1, leaf, -1):
            ct = cts[i]
            if release:
                record, records[i] = records[i], None
            if ct is None:
                continue
            cts[i] = None
            transpose, inputs, data = records[i] if not release else record
            if transpose is None:  # another leaf (a zero buffer): nothing depends on the seed
                continue
            j = inputs[0]
            if transpose is SLICE[0] and owned[j] and _add_slice(cts[j], data, ct):
                continue  # a basic slice's cotangent added into the input's cotangent, no zeros
            outs = None
            if owned[i] and transpose in INPLACE:  # ct is this pass's own array: reuse its memory
                outs = INPLACE[transpose](ct, data)
            fresh = outs is not None or transpose in FRESH
            for j, c in zip(inputs, outs or transpose(ct, data)):
                if c is None:
                    continue
                prev = cts[j]
                if prev is None:
                    cts[j], owned[j] = c, fresh
                elif not (owned[j] and _add_into(prev, c)):
                    cts[j], owned[j] = prev + c, True
        return cts[leaf]


#: Transposes that return new arrays (nothing else refers to them), and the transpose of basic
#: indexing (filled by ``_ops``): the sweep accumulates into their results in place.
FRESH: set = set()
SLICE: list = [None]
#: Transpose -> the same transpose computed in the memory of its cotangent, used when the
#: cotangent is an array of this pass that nothing else refers to (filled by ``_ops``). It
#: returns the same numbers, each output an array no one else refers to, or ``None`` when it
#: cannot work in place (then the transpose itself runs).
INPLACE: dict = {}


def _parts(a):
    """``(value, tangent)`` of an ndarray or a dual of ndarrays (tangent None), else None."""
    if type(a) is np.ndarray:
        return a, None
    if type(a) is Dual and type(a.value) is np.ndarray and type(a.tangent) is np.ndarray:
        return a.value, a.tangent
    return None


def _fits(a, b):
    return a.dtype == b.dtype and (a.shape == b.shape or a.shape == np.broadcast_shapes(a.shape, b.shape))


def _add_into(prev, c):
    """``prev += c`` in place (``prev`` a new ndarray or dual of ndarrays); False if it cannot."""
    p, q = _parts(prev), _parts(c)
    if p is None or q is None or (q[1] is not None and p[1] is None) or not _fits(p[0], q[0]):
        return False
    t = None if q[1] is None else lift(q[1], p[0].ndim)
    if t is not None and not _fits(p[1], t):
        return False
    np.add(p[0], q[0], out=p[0])
    if t is not None:
        np.add(p[1], t, out=p[1])
    return True


def _add_slice(acc, data, ct):
    """``acc[idx] += ct`` in place for a basic, batched index (the transpose of ``t[idx]``)."""
    idx, shape, basic, batched = data
    p, q = _parts(acc), _parts(ct)
    if not (basic and batched) or p is None or q is None or (q[1] is not None and p[1] is None):
        return False
    if p[0].shape != (ct.shape[0],) + tuple(shape[1:]):
        return False
    view = p[0][idx]
    if not _fits(view, q[0]):
        return False
    tview = None
    if q[1] is not None:
        tview = p[1][(slice(None),) + idx]
        if not _fits(tview, lift(q[1], view.ndim)):
            return False
    view += q[0]
    if tview is not None:
        tview += lift(q[1], view.ndim)
    return True


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _arrays(a):
    """The ndarrays inside a (possibly nested) forward-mode dual."""
    if isinstance(a, np.ndarray):
        return [a]
    if hasattr(a, "tangent") and hasattr(a, "value"):
        return _arrays(a.value) + _arrays(a.tangent)
    return []


class Lin(LinearOperators, ArrayMethods):
    """A symbolic tangent: a node of a :class:`Tape`, with a shape and a dtype.

    NumPy calls on a ``Lin`` (through ``__array_ufunc__``/``__array_function__``) record a
    linear operation and return a new ``Lin``. Writes (``t[idx] = w``, ``np.add.at``) rebind
    the node; a ``Lin`` made by basic indexing is a *view*: writes go through to its base, and
    it sees later writes to its base, as an ndarray view does.
    """

    __slots__ = ("_base", "_bver", "_node", "_version", "_view", "dtype", "shape", "tape")
    __hash__ = None
    _anydiff_symbolic = True  # anydiff.dual writes into it and makes zeros like it

    def __init__(self, tape, node, shape, dtype):
        self.tape = tape
        self._node = node
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if type(dtype) is np.dtype or isinstance(dtype, np.dtype) else np.dtype(dtype)
        self._base = None
        self._version = 0

    @classmethod
    def leaf(cls, tape, shape, dtype):
        """A new leaf node (the seed, or a zero buffer)."""
        return cls(tape, tape.add(None, (), None), shape, dtype)

    # ------------------------------------------------------------------- nodes
    @property
    def node(self):
        base = self._base
        if base is not None:
            bnode = base.node
            if base._version != self._bver:  # the base was written since: read this view again
                if self._view == "reshape":
                    self._node = reshape_record(self.tape, bnode, base.shape, self.shape)
                else:
                    self._node = getitem_record(self.tape, bnode, base.shape, self._view)
                self._bver = base._version
                self._version += 1
        return self._node

    def _rebind(self, node):
        """After a write: point at ``node`` and write through to the base of a view."""
        self._node = node
        self._version += 1
        base = self._base
        if base is not None:
            if self._view == "reshape":
                whole = Lin(self.tape, reshape_record(self.tape, node, self.shape, base.shape), base.shape, self.dtype)
                base.__setitem__((Ellipsis,), whole)
            else:
                base.__setitem__(self._view, self)
            self._bver = base._version

    #: ``self * p`` (``self * p * c`` for a real number ``c``) for a partial ``p``: the dual
    #: engine's shortcut past ``np.multiply`` (:func:`anydiff.reverse._ops.scale`, set below).
    _anydiff_scale = None

    def derived(self, node, shape, dtype=None):
        return Lin(self.tape, node, shape, self.dtype if dtype is None else dtype)

    # ------------------------------------------------------------ protocol
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return dispatch_ufunc(self, ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return dispatch_function(self, func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        raise NotTransposableError(
            "anydiff's reverse mode: a tangent was converted to a plain ndarray inside f.\n"
            "Hint: use AutoNumPy(mode='forward') for this function."
        )

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape))

    @property
    def outer(self):
        """Whether this tangent is the outermost level (forward-over-reverse, see ``Tape.outer``)."""
        return self.tape.outer

    def __repr__(self):
        return f"Lin(node={self._node}, shape={self.shape}, dtype={self.dtype})"

    # ------------------------------------------------------------ indexing
    def __getitem__(self, idx):
        return getitem(self, idx)

    def __setitem__(self, idx, w):
        setitem(self, idx, w)

    def before_write(self, value):
        self.tape.before_write(value)

    def copy(self, order="C"):
        return self.derived(self.node, self.shape)

    def astype(self, dtype, copy=True, **kwargs):
        return astype(self, dtype)

    # ------------------------------------------------------------ operators
    def __pos__(self):
        return self.copy()

    def __iadd__(self, o):
        self[...] = np.add(self, o)
        return self

    def __isub__(self, o):
        self[...] = np.subtract(self, o)
        return self

    def __imul__(self, o):
        self[...] = np.multiply(self, o)
        return self


OUTER_TYPES.add(Lin)

# the operations (they import Lin from this module)
from ._linear import reshape_record  # noqa: E402
from ._ops import astype, dispatch_function, dispatch_ufunc, getitem, getitem_record, scale, setitem  # noqa: E402

Lin._anydiff_scale = scale
