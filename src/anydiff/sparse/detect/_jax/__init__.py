"""Jacobian/Hessian sparsity of JAX functions from their jaxpr.

Every variable of the jaxpr carries either a concrete value (it does not depend on ``x``) or an
*index set* per element: a boolean sparse matrix with one row per element and one column per
input element. Equations propagate these sets:

* elementwise primitives: union of the operands' sets (zero-derivative ones such as
  comparisons, ``floor``, ``sign``: empty sets);
* structural primitives (reshape, slice, concatenate, pad, gather, transpose, ...): the
  primitive itself is run on arrays of element ids, which says which input element each
  output element is (no per-primitive index arithmetic);
* reductions and ``dot_general``: 0/1 aggregation matrices times the operands' sets;
* ``jit``/``pjit``/``custom_jvp``/``custom_vjp``/``remat`` calls: recursion; ``cond``: union of branches.

The pattern is global (valid for every input): value-dependent branches take all branches.
Hessian patterns are the Jacobian patterns of ``jax.grad(f)``, symmetrized.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ...._errors import MissingRuleError
from ._deps import _Deps, _as_csr, _identity
from ._walk import _walk

__all__ = ["JaxSparsityDetector"]


@dataclass(frozen=True)
class JaxSparsityDetector:
    """Global sparsity detection for JAX functions, by walking their jaxpr.

    Examples
    --------
    >>> import jax; jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp, anydiff as ad
    >>> S = ad.JaxSparsityDetector().jacobian_sparsity(lambda x: x[1:] * x[:-1], jnp.ones(4))
    >>> S.toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """

    def jacobian_sparsity(self, f, x, contexts=(), y=None):
        import jax

        if y is not None:
            from ...._errors import UnsupportedOperationError

            raise UnsupportedOperationError(
                "JaxSparsityDetector cannot trace in-place functions f(y, x) (JAX arrays are immutable).\n"
                "Hint: write f to return its output."
            )
        if isinstance(x, (np.ndarray, jax.Array)):  # trace on the abstract value: no device transfer
            x = _abstract(jax, x)
        else:
            x = jax.numpy.asarray(x)
        contexts = _values(contexts)
        closed = jax.make_jaxpr(lambda x: f(x, *contexts))(x)
        n = int(np.prod(x.shape, dtype=int))
        outs = _walk(closed.jaxpr, closed.consts, [_Deps(_identity(n))], n)
        if len(outs) != 1:
            raise MissingRuleError(
                "JaxSparsityDetector supports functions with one array output.\n"
                "Hint: return one array (e.g. jnp.concatenate of the raveled outputs)."
            )
        return _as_csr(outs[0], n)

    def hessian_sparsity(self, f, x, contexts=()):
        import jax

        S = self.jacobian_sparsity(lambda x, *c: jax.grad(f)(x, *c), x, contexts=contexts)
        return sp.csr_array((S + S.T) > 0)


def _values(contexts):
    """Plain values of contexts given as values or as ``Constant``/``Cache`` objects."""
    from ...._contexts import Context

    return tuple(c.value if isinstance(c, Context) else c for c in contexts)


def _abstract(jax, x):
    """The abstract value of array ``x`` (its weak type kept where ``ShapeDtypeStruct`` takes one)."""
    dtype = jax.dtypes.canonicalize_dtype(x.dtype)
    try:
        return jax.ShapeDtypeStruct(x.shape, dtype, weak_type=bool(getattr(x, "weak_type", False)))
    except TypeError:  # JAX < 0.4.33 has no weak_type
        return jax.ShapeDtypeStruct(x.shape, dtype)
