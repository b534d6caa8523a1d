"""Contractions with one tangent operand (``einsum``), ``np.fft`` and ``np.linalg.solve`` on tangents.

The transpose of a contraction is the contraction of the cotangent with the other operands;
the discrete Fourier matrix is symmetric, so the transpose of a transform is the same
transform (with the input's cropping or padding undone); the transpose of ``solve(A, .)`` is
``solve(A.T, .)``.
"""

from __future__ import annotations

import numpy as np

from ..dual._core import Dual
from ._ops import FUNCTIONS, _fit, _refuse
from ._tape import Lin, _arrays

__all__: list = []


# --------------------------------------------------------------------------- einsum
def _t_einsum(ct, data):
    mine, others, output, shape, dtype = data
    keep = "".join(c for c in mine if c in output or any(c in s for s, _ in others))
    expr = ",".join([output] + [s for s, _ in others]) + "->" + keep
    r = np.einsum(expr, ct, *[a for _, a in others], optimize=ct.size > 4096 and bool(others))
    if len(keep) != len(mine):  # letters summed in the tangent only: broadcast back
        sizes = dict(zip(keep, r.shape))
        r = r.reshape(tuple(sizes.get(c, 1) for c in mine))
        r = np.broadcast_to(r, tuple(sizes.get(c, s) for c, s in zip(mine, shape)))
    return (_fit(r, shape, dtype),)


def _explicit(subscripts, arrays):
    """Subscripts with ``...`` spelled out as letters and the output made explicit."""
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    inputs = inputs.split(",")
    if not arrow:
        letters = "".join(inputs).replace(".", "")
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        if "..." in subscripts:
            output = "..." + output
    if "..." in subscripts:
        used = set(subscripts)
        spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
        dims = [np.ndim(a) - (len(s) - 3) if "..." in s else 0 for s, a in zip(inputs, arrays)]
        k = max(dims)
        fill = "".join(spare[:k])
        inputs = [s.replace("...", fill[k - d:]) for s, d in zip(inputs, dims)]
        output = output.replace("...", fill)
    return inputs, output


def einsum(*operands, out=None, optimize=False, **kwargs):
    subscripts, *arrays = operands
    if not isinstance(subscripts, str) or out is not None or kwargs:
        _refuse("this form of np.einsum on tangents (use string subscripts)")
    inputs, output = _explicit(subscripts, arrays)
    where = [i for i, a in enumerate(arrays) if type(a) is Lin]
    if len(where) != 1:
        _refuse("np.einsum of several tangents (f is not linear in them)")
    i = where[0]
    t, mine = arrays[i], inputs[i]
    if len(set(mine)) != len(mine):
        _refuse("np.einsum with a repeated index in the tangent's subscripts")
    sizes = {}
    for subs, a in zip(inputs, arrays):
        sizes.update(zip(subs, np.shape(a)))
    shape = tuple(sizes[c] for c in output)
    if not (mine[:1] and output[:1] == mine[:1] and t.shape[0] == 1):
        t.tape.batchable = False
    others = [(s, _owned(a)) for j, (s, a) in enumerate(zip(inputs, arrays)) if j != i]
    dtype = np.result_type(t.dtype, *[a for _, a in others])
    node = t.tape.add(_t_einsum, (t.node,), (mine, others, output, t.shape, t.dtype))
    return t.derived(node, shape, dtype)


FUNCTIONS[np.einsum] = einsum


def _owned(a):
    """A copy of a writable array the tape keeps (f may write into it later).

    Under forward-over-reverse the operand is a forward-mode dual: copied whenever one of its
    arrays is writable.
    """
    if isinstance(a, np.ndarray):
        return a.copy() if a.flags.writeable else a
    if isinstance(a, Dual) and any(p.flags.writeable for p in _arrays(a)):
        return np.copy(a)
    return a


# ------------------------------------------------------------------------------ fft
def _complex_of(dtype):
    return np.dtype(np.complex64) if dtype in (np.float32, np.complex64) else np.dtype(np.complex128)


def _t_fft(ct, data):
    func, s, axes, norm, in_shape, dtype = data
    r = func(ct, s, axes, norm)
    for axis in axes:  # undo the forward cropping / zero padding of each transformed axis
        n_in, n_out = in_shape[axis], r.shape[axis]
        if n_in < n_out:
            r = np.take(r, np.arange(n_in), axis=axis)
        elif n_in > n_out:
            widths = [(0, 0)] * r.ndim
            widths[axis] = (0, n_in - n_out)
            r = np.pad(r, widths)
    return (_fit(r, in_shape, dtype),)


def _fft_nd(func):
    def transform(a, s=None, axes=None, norm=None, out=None):
        if out is not None:
            _refuse(f"np.fft.{func.__name__}(out=) of tangents")
        if axes is None:
            axes = tuple(range(a.ndim)) if s is None else tuple(range(a.ndim - len(s), a.ndim))
        axes = tuple(int(d) % a.ndim for d in axes)
        if s is None:
            s = tuple(a.shape[d] for d in axes)
        shape = list(a.shape)
        for d, n in zip(axes, s):
            shape[d] = int(n)
        if 0 in axes:
            a.tape.batchable = False
        node = a.tape.add(_t_fft, (a.node,), (func, tuple(s), axes, norm, a.shape, a.dtype))
        return a.derived(node, tuple(shape), _complex_of(a.dtype))

    return transform


def _fft_1d(nd):
    def transform(a, n=None, axis=-1, norm=None, out=None):
        return nd(a, None if n is None else (n,), (axis,), norm, out)

    return transform


def _fft_2d(nd):
    def transform(a, s=None, axes=(-2, -1), norm=None, out=None):
        return nd(a, s, axes, norm, out)

    return transform


for _name in ("fftn", "ifftn"):
    FUNCTIONS[getattr(np.fft, _name)] = _fft_nd(getattr(np.fft, _name))
for _name, _nd in (("fft", "fftn"), ("ifft", "ifftn")):
    FUNCTIONS[getattr(np.fft, _name)] = _fft_1d(_fft_nd(getattr(np.fft, _nd)))
for _name, _nd in (("fft2", "fftn"), ("ifft2", "ifftn")):
    FUNCTIONS[getattr(np.fft, _name)] = _fft_2d(_fft_nd(getattr(np.fft, _nd)))


# ------------------------------------------------------------------ real transforms
def _resize(r, axis, length):
    """Crop or zero-pad ``r`` along ``axis`` to ``length`` (the transpose of the other)."""
    n = r.shape[axis]
    if n > length:
        return np.take(r, np.arange(length), axis=axis)
    if n < length:
        widths = [(0, 0)] * r.ndim
        widths[axis] = (0, length - n)
        return np.pad(r, widths)
    return r


def _t_rfft(ct, data):  # y = first n//2+1 entries of F (input cropped/padded to n)
    n, axis, norm, in_shape, dtype = data
    r = np.fft.fft(_resize(ct, axis, n), axis=axis, norm=norm)
    return (_fit(_resize(r, axis, in_shape[axis]), in_shape, dtype),)


def _t_irfft(ct, data):  # y = the inverse transform of the Hermitian extension
    n, axis, norm, in_shape, dtype = data
    m = n // 2 + 1
    q = _resize(np.fft.ifft(ct, axis=axis, norm=norm), axis, m)
    weights = np.full(m, 2.0)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    shape = [1] * q.ndim
    shape[axis] = m
    return (_fit(_resize(q * weights.reshape(shape), axis, in_shape[axis]), in_shape, dtype),)


def _real_transform(a, n, axis, norm, inverse):
    axis = int(axis) % a.ndim
    if axis == 0:
        a.tape.batchable = False
    if n is None:
        n = 2 * (a.shape[axis] - 1) if inverse else a.shape[axis]
    shape = list(a.shape)
    shape[axis] = n if inverse else n // 2 + 1
    transpose = _t_irfft if inverse else _t_rfft
    node = a.tape.add(transpose, (a.node,), (int(n), axis, norm, a.shape, a.dtype))
    real = np.empty(0, dtype=a.dtype).real.dtype
    return a.derived(node, tuple(shape), real if inverse else _complex_of(a.dtype))


_SWAP = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}


def _rfft(a, n=None, axis=-1, norm=None, out=None):
    return _real_transform(a, n, axis, norm, inverse=False)


def _irfft(a, n=None, axis=-1, norm=None, out=None):
    return _real_transform(a, n, axis, norm, inverse=True)


def _hfft(a, n=None, axis=-1, norm=None, out=None):
    return _real_transform(np.conjugate(a), n, axis, _SWAP[norm], inverse=True)


def _ihfft(a, n=None, axis=-1, norm=None, out=None):
    return np.conjugate(_real_transform(a, n, axis, _SWAP[norm], inverse=False))


def _real_nd(inverse, default_axes=None):
    def transform(a, s=None, axes=default_axes, norm=None, out=None):
        if axes is None:
            axes = tuple(range(a.ndim)) if s is None else tuple(range(a.ndim - len(s), a.ndim))
        axes = tuple(axes)
        s = [None] * len(axes) if s is None else list(s)
        if inverse:  # complex transforms over the leading axes, then the real one
            if len(axes) > 1:
                a = _fft_nd(np.fft.ifftn)(a, None if None in s[:-1] else s[:-1], axes[:-1], norm)
            return _real_transform(a, s[-1], axes[-1], norm, inverse=True)
        a = _real_transform(a, s[-1], axes[-1], norm, inverse=False)
        if len(axes) > 1:
            a = _fft_nd(np.fft.fftn)(a, None if None in s[:-1] else s[:-1], axes[:-1], norm)
        return a

    return transform


FUNCTIONS.update({
    np.fft.rfft: _rfft, np.fft.irfft: _irfft, np.fft.hfft: _hfft, np.fft.ihfft: _ihfft,
    np.fft.rfftn: _real_nd(False), np.fft.irfftn: _real_nd(True),
    np.fft.rfft2: _real_nd(False, (-2, -1)), np.fft.irfft2: _real_nd(True, (-2, -1)),
})


# --------------------------------------------------------------------------- solve
def _t_solve(ct, data):
    a, shape, dtype = data
    return (_fit(np.linalg.solve(np.swapaxes(a, -1, -2), ct), shape, dtype),)


def solve(a, b):
    if type(a) is Lin or type(b) is not Lin or b.ndim != 2 or np.ndim(a) != 2:
        _refuse("np.linalg.solve with a tangent matrix or stacked right-hand sides")
    b.tape.batchable = False
    node = b.tape.add(_t_solve, (b.node,), (_owned(a if isinstance(a, Dual) else np.asarray(a)), b.shape, b.dtype))
    return b.derived(node, b.shape, np.result_type(b.dtype, a))


FUNCTIONS[np.linalg.solve] = solve
