"""The tracer-based sparsity detectors (global and local)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ...._errors import AnyDiffError, TracingError
from ...._numpy_scope import numpy_scope
from ._core import _Context, _Tracer

__all__ = ["TracerSparsityDetector", "TracerLocalSparsityDetector"]


def _trace(f, x, contexts, y, local, hessian=False):
    from ...._contexts import Cache, Context

    x = np.asarray(x)
    n = x.size
    ctx = _Context(n, local, hessian)
    xt = _Tracer(sp.eye_array(n, dtype=bool, format="csr"), x.shape, x if local else None, ctx)
    args = []
    for c in contexts:
        if isinstance(c, Cache):  # scratch buffers must be able to hold traced values
            args.append(ctx.lift(np.zeros_like(np.asarray(c.value))))
        else:
            args.append(c.value if isinstance(c, Context) else c)
    engine = "TracerLocalSparsityDetector" if local else "TracerSparsityDetector"
    try:
        with numpy_scope(xt, f, engine, lift=ctx.lift):  # np.zeros(n), math.sin, np.array([...]) in f
            if y is not None:
                yt = ctx.lift(np.zeros(np.shape(y)))
                f(yt, xt, *args)
                out = yt
            else:
                out = f(xt, *args)
    except (ValueError, TypeError) as err:
        if isinstance(err, AnyDiffError):
            raise
        if "sequence" in str(err) or "_Tracer" in str(err) or "traced array" in str(err):
            raise TracingError(
                f"f wrote a traced value into a plain NumPy array or passed it to code NumPy cannot "
                f"dispatch ({err}).\nHint: create buffers with np.zeros_like(x) / np.empty_like(x) "
                "instead of np.zeros(n); for non-NumPy code use DenseSparsityDetector(backend)."
            ) from err
        raise
    if not isinstance(out, _Tracer):
        out = ctx.lift(out)  # does not depend on x
    if hessian:
        if out.size != 1:
            from ...._errors import OutputError

            raise OutputError(
                f"hessian_sparsity needs a scalar-valued f; f(x) has shape {out.shape}.\n"
                "Hint: use ad.jacobian_sparsity for a vector-valued f."
            )
        H = ctx.H if ctx.H is not None else sp.csr_array((n, n), dtype=bool)
        return sp.csr_array((H + H.T) > 0)
    return sp.csr_array(out.S, dtype=bool)


@dataclass(frozen=True)
class TracerSparsityDetector:
    """Global Jacobian sparsity of unmodified NumPy code (valid for every input).

    Value-dependent control flow (``if x[0] > 0``) raises :class:`~anydiff.MissingPrimalError`
    suggesting :class:`TracerLocalSparsityDetector`; NumPy functions without a rule raise
    :class:`~anydiff.MissingRuleError` naming them (never a silently wrong pattern).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> ad.jacobian_sparsity(lambda x: np.diff(x**2), np.ones(4), detector=ad.TracerSparsityDetector()).toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """

    def jacobian_sparsity(self, f, x, contexts=(), y=None):
        return _trace(f, x, contexts, y, local=False)

    def hessian_sparsity(self, f, x, contexts=()):
        """Hessian pattern of a scalar ``f``: second-order interactions recorded along the trace
        from the rule table (nonlinear in one argument: its index set with itself; mixed terms
        such as ``x * y``: the two sets with each other). Accumulated globally, so a superset."""
        return _trace(f, x, contexts, None, local=False, hessian=True)


@dataclass(frozen=True)
class TracerLocalSparsityDetector(TracerSparsityDetector):
    """Jacobian sparsity at this ``x``: follows the branches taken (``maximum``, ``where``, ``if``).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> f = lambda x: np.maximum(x, 0.0)
    >>> ad.jacobian_sparsity(f, np.array([1.0, -1.0]), detector=ad.TracerLocalSparsityDetector()).toarray()
    array([[ True, False],
           [False, False]])
    """

    def jacobian_sparsity(self, f, x, contexts=(), y=None):
        return _trace(f, x, contexts, y, local=True)

    def hessian_sparsity(self, f, x, contexts=()):
        return _trace(f, x, contexts, None, local=True, hessian=True)