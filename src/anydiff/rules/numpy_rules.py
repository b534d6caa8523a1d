"""Rule entries for NumPy's elementwise ufuncs.

Flags per argument: ``d1_zero`` (first derivative identically zero), ``d2_zero`` (linear in
that argument), and ``cross_zero`` (no mixed second derivative); the sparsity tracer reads
them. ``partials(*args, out)`` gives the elementwise partial derivatives, written with NumPy
functions and operators only so that the dual-number engine can call it on (nested) duals.
Each returned entry is broadcastable against ``out``; ``None`` means zero.

Piecewise functions (``abs``, ``maximum``, ``mod``, ...) use the derivative of the piece
that is active at the point (``maximum`` picks its first argument on ties); their second
derivatives are zero almost everywhere, so they are flagged linear.

Not ufuncs, hence not here: ``np.round``/``np.around``, ``np.clip``, ``np.where``,
``np.real``/``np.imag``, ``np.sinc``. They are NumPy *functions*, handled through
``__array_function__`` by each consumer (``np.clip`` and ``np.sinc`` are themselves built
from the ufuncs below; ``np.round`` is piecewise constant).

>>> import numpy as np
>>> from anydiff.rules import get_rule
>>> get_rule(np.multiply).partials(np.float64(2.0), np.float64(3.0), out=np.float64(6.0))
(np.float64(3.0), np.float64(2.0))
"""

from __future__ import annotations

import numpy as np

from ._table import Rule, register

__all__: list[str] = []

T, F = True, False
_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))
_DEG = float(np.pi / 180.0)


def _unary(func, partial, zero=False, linear=False, local=None):
    partials = None if zero else (lambda x, out: (partial(x, out),))
    register(func, Rule(f"np.{func.__name__}", d1_zero=(zero,), d2_zero=(zero or linear,),
                        partials=partials, local=local))


def _binary(func, partials, d1=(F, F), d2=(F, F), cross=False, local=None):
    register(func, Rule(f"np.{func.__name__}", d1_zero=d1, d2_zero=d2, cross_zero=cross,
                        partials=partials, local=local))


# local flags (where a partial may be nonzero at x), as SparseConnectivityTracer keeps them
def _nonzero_arg(x):
    return (x != 0,)


def _first_if_ge(x, y):
    return ~(x < y), ~(y < x)  # ties and NaN: both


def _first_if_le(x, y):
    return ~(x > y), ~(y > x)


def _safe_log(x):
    """``log(x)`` where ``x > 0`` and 0 elsewhere (no warning); used by ``power``'s exponent."""
    return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), 0.0)


def _one_minus(p):
    """``1.0 - p``, into ``p`` itself when it is a new array (one array fewer per call)."""
    return np.subtract(1.0, p, out=p) if type(p) is np.ndarray else 1.0 - p


def _one_plus(p):
    return np.add(1.0, p, out=p) if type(p) is np.ndarray else 1.0 + p


def _inverse(p):
    return np.divide(1.0, p, out=p) if type(p) is np.ndarray else 1.0 / p


# -- nonlinear unary functions ------------------------------------------------------------
_unary(np.exp, lambda x, out: out)
_unary(np.exp2, lambda x, out: out * _LN2)
_unary(np.expm1, lambda x, out: out + 1.0)
_unary(np.log, lambda x, out: 1.0 / x)
_unary(np.log2, lambda x, out: 1.0 / (x * _LN2))
_unary(np.log10, lambda x, out: 1.0 / (x * _LN10))
_unary(np.log1p, lambda x, out: _inverse(1.0 + x))
_unary(np.sqrt, lambda x, out: 0.5 / out)
_unary(np.cbrt, lambda x, out: 1.0 / (3.0 * out * out))
_unary(np.square, lambda x, out: 2.0 * x, local=_nonzero_arg)
_unary(np.reciprocal, lambda x, out: -(out * out))
_unary(np.sin, lambda x, out: np.cos(x))
_unary(np.cos, lambda x, out: -np.sin(x))
_unary(np.tan, lambda x, out: _one_plus(out * out))
_unary(np.arcsin, lambda x, out: 1.0 / np.sqrt(1.0 - x * x))
_unary(np.arccos, lambda x, out: -1.0 / np.sqrt(1.0 - x * x))
_unary(np.arctan, lambda x, out: _inverse(_one_plus(x * x)))
_unary(np.sinh, lambda x, out: np.cosh(x))
_unary(np.cosh, lambda x, out: np.sinh(x))
_unary(np.tanh, lambda x, out: _one_minus(out * out))
_unary(np.arcsinh, lambda x, out: 1.0 / np.sqrt(x * x + 1.0))
_unary(np.arccosh, lambda x, out: 1.0 / np.sqrt(x * x - 1.0))
_unary(np.arctanh, lambda x, out: 1.0 / (1.0 - x * x))

# -- piecewise linear: second derivative zero almost everywhere ---------------------------
_unary(np.absolute, lambda x, out: np.sign(x), linear=True, local=_nonzero_arg)
_unary(np.fabs, lambda x, out: np.sign(x), linear=True, local=_nonzero_arg)

# -- linear unary functions ---------------------------------------------------------------
_unary(np.negative, lambda x, out: -1.0, linear=True)
_unary(np.positive, lambda x, out: 1.0, linear=True)
_unary(np.conjugate, lambda x, out: 1.0, linear=True)  # real inputs
_unary(np.deg2rad, lambda x, out: _DEG, linear=True)
_unary(np.radians, lambda x, out: _DEG, linear=True)
_unary(np.rad2deg, lambda x, out: 1.0 / _DEG, linear=True)
_unary(np.degrees, lambda x, out: 1.0 / _DEG, linear=True)

# -- piecewise constant (or boolean-valued): zero derivative ------------------------------
for _f in (np.sign, np.floor, np.ceil, np.trunc, np.rint, np.isnan, np.isinf, np.isfinite,
           np.logical_not, np.signbit, np.spacing):
    _unary(_f, None, zero=True)

# -- binary functions ----------------------------------------------------------------------
_binary(np.add, lambda x, y, out: (1.0, 1.0), d2=(T, T), cross=True)
_binary(np.subtract, lambda x, y, out: (1.0, -1.0), d2=(T, T), cross=True)
_binary(np.multiply, lambda x, y, out: (y, x), d2=(T, T), cross=False, local=lambda x, y: (y != 0, x != 0))
_binary(np.divide, lambda x, y, out: (1.0 / y, -out / y), d2=(T, F), cross=False,
        local=lambda x, y: (None, x != 0))
_binary(np.power, lambda x, y, out: (y * x ** (y - 1.0), out * _safe_log(x)))
_binary(np.float_power,
        lambda x, y, out: (y * np.float_power(x, y - 1.0), out * _safe_log(x)))
_binary(np.arctan2, lambda y, x, out: (x / (x * x + y * y), -y / (x * x + y * y)))
_binary(np.hypot, lambda x, y, out: (x / out, y / out))
_binary(np.logaddexp, lambda x, y, out: (np.exp(x - out), np.exp(y - out)))
_binary(np.logaddexp2, lambda x, y, out: (np.exp2(x - out), np.exp2(y - out)))


def _select_first(x, y, out):
    first = np.where(x >= y, 1.0, 0.0)
    return first, 1.0 - first


def _select_first_min(x, y, out):
    first = np.where(x <= y, 1.0, 0.0)
    return first, 1.0 - first


# piecewise linear selections: linear in each argument almost everywhere, no mixed term
_binary(np.maximum, _select_first, d2=(T, T), cross=True, local=_first_if_ge)
_binary(np.fmax, _select_first, d2=(T, T), cross=True, local=_first_if_ge)
_binary(np.minimum, _select_first_min, d2=(T, T), cross=True, local=_first_if_le)
_binary(np.fmin, _select_first_min, d2=(T, T), cross=True, local=_first_if_le)
_binary(np.copysign, lambda x, y, out: (np.copysign(1.0, x) * np.copysign(1.0, y), None),
        d1=(F, T), d2=(T, T), cross=True)
# x - floor(x / y) * y and x - trunc(x / y) * y: derivatives 1 and -floor(x / y) (a.e.)
_binary(np.mod, lambda x, y, out: (1.0, -np.floor(x / y)), d2=(T, T), cross=True)
_binary(np.fmod, lambda x, y, out: (1.0, -np.trunc(x / y)), d2=(T, T), cross=True)
for _f in (np.floor_divide, np.greater, np.greater_equal, np.less, np.less_equal, np.equal,
           np.not_equal, np.logical_and, np.logical_or, np.logical_xor, np.heaviside):
    _binary(_f, None, d1=(T, T), d2=(T, T), cross=True)
