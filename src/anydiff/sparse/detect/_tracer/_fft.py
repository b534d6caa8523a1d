"""``np.fft`` on the tracer: every output along the transformed axes depends on every input
element read there."""

from __future__ import annotations

import numpy as np

from ...._errors import MissingRuleError
from ._core import _Tracer
from ._reduce import _reduce


def _fft_lengths(kind, last, size, n):
    """(input length read, output length) along one transformed axis of the given size."""
    if kind == "c2r" and last:  # irfft, hfft: n outputs from n // 2 + 1 inputs
        n = 2 * (size - 1) if n is None else int(n)
        return n // 2 + 1, n
    n = size if n is None else int(n)
    return n, (n // 2 + 1 if kind == "r2c" and last else n)


def _fft_transform(ctx, kind, a, s, axes, out):
    """np.fft transforms: linear; along the transformed axes every output element depends on
    every input element read (after NumPy's cropping or zero padding to ``n``/``s``)."""
    if out is not None:
        raise MissingRuleError("np.fft.* with out= is not traced.\nHint: assign the result instead.")
    t = ctx.lift(a)
    if axes is None:  # every axis, or the last len(s) ones
        axes = tuple(range(t.ndim)) if s is None else tuple(range(t.ndim - len(s), t.ndim))
    axes = [int(d) % t.ndim for d in axes]
    s = [None] * len(axes) if s is None else list(s)
    out_shape = list(t.shape)
    for k, (d, nk) in enumerate(zip(axes, s)):
        read, out_shape[d] = _fft_lengths(kind, k == len(axes) - 1, t.shape[d], nk)
        if read < t.shape[d]:  # cropped
            t = np.take(t, np.arange(read), axis=d)
        elif read > t.shape[d]:  # zero padded: no dependencies
            widths = [(0, 0)] * t.ndim
            widths[d] = (0, read - t.shape[d])
            t = np.pad(t, widths)
    full = np.broadcast_to(_reduce(ctx, t, tuple(axes), keepdims=True), tuple(out_shape))
    return _Tracer(full.S, full.shape, None, ctx)


def _fft_rule(kind, multi, default_axes=None):
    if multi:
        def transform(ctx, a, s=None, axes=default_axes, norm=None, out=None):
            return _fft_transform(ctx, kind, a, s, axes, out)
    else:
        def transform(ctx, a, n=None, axis=-1, norm=None, out=None):
            return _fft_transform(ctx, kind, a, [n], [axis], out)
    return transform


def _fft_handlers():
    fft = np.fft
    handlers = {}
    for kind, one, two, many in (("c2c", (fft.fft, fft.ifft), (fft.fft2, fft.ifft2), (fft.fftn, fft.ifftn)),
                                 ("r2c", (fft.rfft, fft.ihfft), (fft.rfft2,), (fft.rfftn,)),
                                 ("c2r", (fft.irfft, fft.hfft), (fft.irfft2,), (fft.irfftn,))):
        handlers.update({f: _fft_rule(kind, False) for f in one})
        # default axes: (-2, -1) for the 2-d transforms, None (all or the last len(s)) otherwise
        handlers.update({f: _fft_rule(kind, True, (-2, -1)) for f in two})
        handlers.update({f: _fft_rule(kind, True) for f in many})
    return handlers