"""``np.fft`` on duals.

Every transform is linear (real-linear for ``rfft``/``irfft``/``hfft``/``ihfft``), so the
tangents are the same transform of the stacked tangents, with the transformed axes shifted
past the leading tangent axis; complex outputs carry complex tangents. ``float32`` inputs give
``complex64`` tangents, as NumPy's values.
"""

from __future__ import annotations

import numpy as np

from ._core import Dual
from ._functions import _no_out
from ._registry import HANDLED, shift_axis as _shift

__all__: list = []

_ONE_D = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")
_TWO_D = ("fft2", "ifft2", "rfft2", "irfft2")
_N_D = ("fftn", "ifftn", "rfftn", "irfftn")


def _one_d(func):
    def transform(a, n=None, axis=-1, norm=None, out=None):
        _no_out(out, f"fft.{func.__name__}")
        return Dual(func(a.value, n, axis, norm), func(a.tangent, n, _shift(axis), norm))

    return transform


def _n_d(func, default_axes):
    def transform(a, s=None, axes=default_axes, norm=None, out=None):
        _no_out(out, f"fft.{func.__name__}")
        value = func(a.value, s, axes, norm)
        if axes is None:  # all axes, or the last len(s) ones
            nd = np.ndim(a.value)
            axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
        return Dual(value, func(a.tangent, s, _shift(tuple(axes)), norm))

    return transform


for _name in _ONE_D:
    HANDLED[getattr(np.fft, _name)] = _one_d(getattr(np.fft, _name))
for _name in _TWO_D:
    HANDLED[getattr(np.fft, _name)] = _n_d(getattr(np.fft, _name), (-2, -1))
for _name in _N_D:
    HANDLED[getattr(np.fft, _name)] = _n_d(getattr(np.fft, _name), None)
