"""Rule entries for common ``scipy.special`` ufuncs (flags; see ``numpy_rules.py``)."""

from __future__ import annotations

import scipy.special as sc

from ._table import RULES, Rule, register

__all__: list[str] = []

for _f in (sc.erf, sc.erfc, sc.erfcx, sc.erfinv, sc.gamma, sc.gammaln, sc.digamma, sc.expit,
           sc.logit, sc.log_expit, sc.ndtr, sc.log_ndtr, sc.ndtri, sc.j0, sc.j1, sc.y0, sc.y1,
           sc.i0, sc.i1, sc.i0e, sc.i1e, sc.expm1, sc.log1p, sc.cbrt, sc.exp10, sc.exp2,
           sc.sindg, sc.cosdg, sc.dawsn, sc.spence, sc.entr):
    if _f not in RULES:  # some are NumPy's own ufuncs re-exported
        register(_f, Rule(f"scipy.special.{_f.__name__}", d1_zero=(False,), d2_zero=(False,)))

for _f in (sc.xlogy, sc.xlog1py):  # x * log(y): linear in x
    register(_f, Rule(f"scipy.special.{_f.__name__}", d1_zero=(False, False), d2_zero=(True, False), cross_zero=False))

for _f in (sc.rel_entr, sc.kl_div, sc.beta, sc.betaln, sc.gammainc, sc.gammaincc):
    register(_f, Rule(f"scipy.special.{_f.__name__}", d1_zero=(False, False), d2_zero=(False, False), cross_zero=False))
