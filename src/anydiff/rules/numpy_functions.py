"""The table entries of NumPy/SciPy functions (kinds: see ``_functions.py``).

>>> import numpy as np
>>> from anydiff.rules import FUNCTIONS
>>> FUNCTIONS[np.cumsum].kind, FUNCTIONS[np.nansum].kind, FUNCTIONS[np.argmax].kind
('linear', 'composite', 'zero')
"""

from __future__ import annotations

import importlib

import numpy as np

from . import _composites as C
from . import _composites_linalg as L
from . import _composites_scipy_linalg as SL
from ._functions import register_function

__all__: list[str] = []

# ------------------------------------------------------------- zero derivative
for _f in (np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero, np.flatnonzero,
           np.count_nonzero, np.isclose, np.allclose, np.array_equal, np.any, np.all,
           np.searchsorted, np.round, np.around, np.fix, np.iscomplex, np.isreal, np.isneginf,
           np.isposinf, np.digitize, np.lexsort, np.nanargmax,
           np.nanargmin, np.linalg.matrix_rank):
    register_function(_f, "zero")
for _f in (np.shape, np.ndim, np.size, np.min_scalar_type, np.iscomplexobj, np.isrealobj, np.result_type, np.can_cast,
           np.may_share_memory, np.shares_memory):
    register_function(_f, "zero", meta=True)

# ------------------------------------------------- linear, with named axis parameters
_AXIS_LINEAR = [
    (np.transpose, ("axes",), "reverse", True), (np.permute_dims, ("axes",), "reverse", True),
    (np.swapaxes, ("axis1", "axis2"), "all", True), (np.moveaxis, ("source", "destination"), "all", True),
    (np.expand_dims, ("axis",), "all", True), (np.squeeze, ("axis",), "unit", True),
    (np.flip, ("axis",), "all", True), (np.roll, ("axis",), "flatten", True),
    (np.take, ("axis",), "flatten", True), (np.repeat, ("axis",), "flatten", True),
    (np.diagonal, ("axis1", "axis2"), "all", True), (np.rot90, ("axes",), "all", True),
    (np.fft.fftshift, ("axes",), "all", True), (np.fft.ifftshift, ("axes",), "all", True),
    (np.cumsum, ("axis",), "flatten", False),
]
if hasattr(np, "cumulative_sum"):  # NumPy >= 2.1
    _AXIS_LINEAR.append((np.cumulative_sum, ("axis",), "flatten", False))
for _f, _axes, _none, _select in _AXIS_LINEAR:
    register_function(_f, "linear", axes=_axes, none=_none, select=_select)

# ---------------------------------- linear, one rule per engine (shapes, joins, products)
for _f in (np.reshape, np.ravel, np.broadcast_to, np.tile, np.pad, np.concatenate, np.stack,
           np.take_along_axis, np.copy, np.tril, np.triu, np.diag, np.real):
    register_function(_f, "linear", select=True)
for _f in (np.imag, np.sum, np.einsum, np.matmul, np.convolve, np.correlate):
    register_function(_f, "linear")
for _name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
              "fftn", "ifftn", "rfftn", "irfftn"):
    register_function(getattr(np.fft, _name), "linear")

# ------------------------------------------------------------------ composites
_COMPOSITES = {
    np.atleast_1d: C.make_atleast(1), np.atleast_2d: C.make_atleast(2), np.atleast_3d: C.make_atleast(3),
    np.broadcast_arrays: C.broadcast_arrays, np.append: C.append, np.column_stack: C.column_stack,
    np.fliplr: C.fliplr, np.flipud: C.flipud, np.diagflat: C.diagflat, np.trace: C.trace,
    np.select: C.select, np.clip: C.clip, np.ptp: C.ptp, np.mean: C.mean, np.var: C.var, np.std: C.std,
    np.average: C.average, np.cumprod: C.cumprod, np.diff: C.diff,
    np.trapezoid: C.trapezoid, np.nansum: C.nansum, np.nanprod: C.nanprod, np.nanmean: C.nanmean,
    np.nanmax: C.nanmax, np.nanmin: C.nanmin, np.nanvar: C.nanvar, np.nanstd: C.nanstd,
    np.nancumsum: C.nancumsum, np.nancumprod: C.nancumprod, np.nan_to_num: C.nan_to_num,
    np.tensordot: L.tensordot, np.linalg.tensordot: L.tensordot, np.dot: L.dot, np.inner: L.inner,
    np.vdot: L.vdot, np.outer: L.outer, np.linalg.outer: L.outer, np.kron: L.kron,
    np.vecdot: L.vecdot, np.linalg.vecdot: L.vecdot, np.linalg.matmul: L.linalg_matmul,
    np.linalg.multi_dot: L.multi_dot, np.cross: L.cross, np.linalg.cross: L.linalg_cross,
    np.linalg.matrix_power: L.matrix_power, np.linalg.norm: L.norm, np.linalg.lstsq: L.lstsq,
    np.polyfit: L.polyfit, np.polyval: L.polyval, np.sinc: L.sinc, np.i0: L.i0,
    np.real_if_close: L.real_if_close,
}
if hasattr(np, "cumulative_prod"):  # NumPy >= 2.1
    _COMPOSITES[np.cumulative_prod] = C.cumprod
if hasattr(np, "matvec"):  # NumPy >= 2.2
    _COMPOSITES.update({np.matvec: L.matvec, np.vecmat: L.vecmat})
# NumPy's own implementations of these only call functions of the table
for _f in (np.hstack, np.vstack, np.dstack, np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit):
    _COMPOSITES[_f] = _f._implementation
for _f, _impl in _COMPOSITES.items():
    register_function(_f, "composite", impl=_impl)

#: Python-level SciPy functions (not dispatched by NumPy): composites an engine can substitute
#: for the originals while it runs f. ``(module, attribute) -> implementation``.
PYTHON_LEVEL = {("scipy.special", "logsumexp"): L.logsumexp, ("scipy.special", "softmax"): L.softmax,
                ("scipy.special", "log_softmax"): L.log_softmax}
PYTHON_LEVEL.update({("scipy.linalg", _name): getattr(SL, _name) for _name in (
    "solve", "inv", "det", "cholesky", "cho_factor", "cho_solve", "lu_factor", "lu_solve", "solve_triangular", "norm",
    "eigh")})
for (_module, _attr), _impl in PYTHON_LEVEL.items():
    register_function(getattr(importlib.import_module(_module), _attr), "composite", impl=_impl)

# ------------------------------------------------------------------ dense blocks
for _f in (np.linalg.solve, np.linalg.inv, np.linalg.det, np.linalg.cholesky, np.linalg.pinv,
           np.linalg.eigh, np.linalg.eigvalsh, np.linalg.svd, np.linalg.svdvals, np.linalg.qr,
           np.linalg.eig, np.linalg.eigvals):
    register_function(_f, "dense")
register_function(np.linalg.slogdet, "dense", zero_outputs=(0,))

# --------------------------------------------------- custom: a rule per engine
for _f in (np.max, np.amax, np.min, np.amin, np.prod, np.sort, np.median, np.percentile, np.quantile,
           np.nanmedian, np.nanpercentile, np.nanquantile, np.interp, np.where, np.zeros_like,
           np.ones_like, np.empty_like, np.full_like, np.copyto, np.unique):
    register_function(_f, "custom")
