"""Rule entries for common ``scipy.special`` ufuncs (see ``numpy_rules.py`` for the fields).

Only functions whose partial derivatives are themselves NumPy/SciPy ufuncs are listed (so
``gammainc``'s derivative in its first argument, which has no closed form, keeps it out).
``scipy.special.logsumexp`` and ``softmax`` are not elementwise and are not rules.
``digamma``'s partial uses ``scipy.special.polygamma`` (no rule of its own, so nested duals
through ``digamma`` stop with a ``MissingRuleError`` rather than a wrong value).
"""

from __future__ import annotations

import numpy as np
import scipy.special as sc

from ._table import Rule, register

__all__: list[str] = []

_SQRT_PI = float(np.sqrt(np.pi))
_SQRT_2PI = float(np.sqrt(2.0 * np.pi))
_DEG = float(np.pi / 180.0)


def _unary(func, partial):
    register(func, Rule(f"scipy.special.{func.__name__}", d1_zero=(False,), d2_zero=(False,),
                        partials=lambda x, out: (partial(x, out),)))


_unary(sc.erf, lambda x, out: (2.0 / _SQRT_PI) * np.exp(-x * x))
_unary(sc.erfc, lambda x, out: (-2.0 / _SQRT_PI) * np.exp(-x * x))
_unary(sc.erfcx, lambda x, out: 2.0 * x * out - 2.0 / _SQRT_PI)
_unary(sc.erfinv, lambda x, out: (_SQRT_PI / 2.0) * np.exp(out * out))
_unary(sc.gamma, lambda x, out: out * sc.digamma(x))
_unary(sc.gammaln, lambda x, out: sc.digamma(x))
_unary(sc.digamma, lambda x, out: sc.polygamma(1, x))
_unary(sc.expit, lambda x, out: out * (1.0 - out))
_unary(sc.logit, lambda x, out: 1.0 / (x * (1.0 - x)))
_unary(sc.log_expit, lambda x, out: sc.expit(-x))
_unary(sc.ndtr, lambda x, out: np.exp(-0.5 * x * x) / _SQRT_2PI)
_unary(sc.log_ndtr, lambda x, out: np.exp(-0.5 * x * x - out) / _SQRT_2PI)
_unary(sc.ndtri, lambda x, out: _SQRT_2PI * np.exp(0.5 * out * out))
_unary(sc.j0, lambda x, out: -sc.j1(x))
_unary(sc.j1, lambda x, out: sc.j0(x) - sc.j1(x) / x)
_unary(sc.y0, lambda x, out: -sc.y1(x))
_unary(sc.y1, lambda x, out: sc.y0(x) - sc.y1(x) / x)
_unary(sc.i0, lambda x, out: sc.i1(x))
_unary(sc.i1, lambda x, out: sc.i0(x) - sc.i1(x) / x)
_unary(sc.i0e, lambda x, out: sc.i1e(x) - np.sign(x) * out)
_unary(sc.i1e, lambda x, out: sc.i0e(x) - out / x - np.sign(x) * out)
_unary(sc.expm1, lambda x, out: out + 1.0)
_unary(sc.log1p, lambda x, out: 1.0 / (1.0 + x))
_unary(sc.cbrt, lambda x, out: 1.0 / (3.0 * out * out))
_unary(sc.exp10, lambda x, out: out * float(np.log(10.0)))
_unary(sc.exp2, lambda x, out: out * float(np.log(2.0)))
_unary(sc.sindg, lambda x, out: _DEG * sc.cosdg(x))
_unary(sc.cosdg, lambda x, out: -_DEG * sc.sindg(x))
_unary(sc.dawsn, lambda x, out: 1.0 - 2.0 * x * out)
_unary(sc.spence, lambda x, out: np.log(x) / (1.0 - x))
_unary(sc.entr, lambda x, out: -np.log(x) - 1.0)


def _binary(func, partials, d2=(False, False), cross=False):
    register(func, Rule(f"scipy.special.{func.__name__}", d1_zero=(False, False), d2_zero=d2,
                        cross_zero=cross, partials=partials))


# x * log(y) and x * log1p(y): linear in x
_binary(sc.xlogy, lambda x, y, out: (np.log(y), x / y), d2=(True, False))
_binary(sc.xlog1py, lambda x, y, out: (np.log1p(y), x / (1.0 + y)), d2=(True, False))
_binary(sc.rel_entr, lambda x, y, out: (np.log(x / y) + 1.0, -x / y))
_binary(sc.kl_div, lambda x, y, out: (np.log(x / y), 1.0 - x / y))
_binary(sc.beta, lambda a, b, out: (out * (sc.digamma(a) - sc.digamma(a + b)),
                                    out * (sc.digamma(b) - sc.digamma(a + b))))
_binary(sc.betaln, lambda a, b, out: (sc.digamma(a) - sc.digamma(a + b),
                                      sc.digamma(b) - sc.digamma(a + b)))
