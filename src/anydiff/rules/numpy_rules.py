"""Rule entries for NumPy ufuncs (flags only so far; ``partials`` arrive with the dual engine).

Flags per argument: ``d1_zero`` (first derivative identically zero), ``d2_zero`` (linear in
that argument), and ``cross_zero`` (no mixed second derivative). Read by the sparsity tracer.
"""

from __future__ import annotations

import numpy as np

from ._table import Rule, register

__all__: list[str] = []

T, F = True, False


def _unary(func, zero=False, linear=False):
    register(func, Rule(f"np.{func.__name__}", d1_zero=(zero,), d2_zero=(zero or linear,)))


def _binary(func, d1=(F, F), d2=(F, F), cross=False):
    register(func, Rule(f"np.{func.__name__}", d1_zero=d1, d2_zero=d2, cross_zero=cross))


# nonlinear unary functions
for _f in (np.exp, np.exp2, np.expm1, np.log, np.log2, np.log10, np.log1p, np.sqrt, np.cbrt,
           np.square, np.reciprocal, np.sin, np.cos, np.tan, np.arcsin, np.arccos, np.arctan,
           np.sinh, np.cosh, np.tanh, np.arcsinh, np.arccosh, np.arctanh):
    _unary(_f)
# piecewise linear: second derivative zero almost everywhere
for _f in (np.absolute, np.fabs):
    _unary(_f, linear=True)
# linear unary functions
for _f in (np.negative, np.positive, np.deg2rad, np.rad2deg, np.conjugate):
    _unary(_f, linear=True)
# piecewise constant: zero derivative
for _f in (np.sign, np.floor, np.ceil, np.trunc, np.rint, np.isnan, np.isinf, np.isfinite,
           np.logical_not, np.signbit, np.spacing):
    _unary(_f, zero=True)

_binary(np.add, d2=(T, T), cross=True)
_binary(np.subtract, d2=(T, T), cross=True)
_binary(np.multiply, d2=(T, T), cross=False)
_binary(np.divide, d2=(T, F), cross=False)
_binary(np.power, d2=(F, F), cross=False)
_binary(np.float_power, d2=(F, F), cross=False)
_binary(np.arctan2, cross=False)
_binary(np.hypot, cross=False)
_binary(np.logaddexp, cross=False)
_binary(np.logaddexp2, cross=False)
# piecewise linear selections: linear in each argument almost everywhere, no mixed term
_binary(np.maximum, d2=(T, T), cross=True)
_binary(np.minimum, d2=(T, T), cross=True)
_binary(np.fmax, d2=(T, T), cross=True)
_binary(np.fmin, d2=(T, T), cross=True)
_binary(np.copysign, d1=(F, T), d2=(T, T), cross=True)
_binary(np.mod, d2=(T, T), cross=True)  # x - floor(x/y) y: derivative 1 and -floor(x/y)
_binary(np.fmod, d2=(T, T), cross=True)
for _f in (np.floor_divide, np.greater, np.greater_equal, np.less, np.less_equal, np.equal,
           np.not_equal, np.logical_and, np.logical_or, np.logical_xor, np.heaviside):
    _binary(_f, d1=(T, T), d2=(T, T), cross=True)
