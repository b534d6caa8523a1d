"""``jacobian_sparsity`` / ``hessian_sparsity``: patterns as boolean ``scipy.sparse`` arrays."""

from __future__ import annotations

import importlib.util

import numpy as np

from ..._arrays import library_of
from ..._contexts import Context
from ..._errors import InputError, TracingError

__all__ = ["jacobian_sparsity", "hessian_sparsity", "default_detector"]


def default_detector(library: str):
    """The detector used when none is given, for functions written for ``library``."""
    if library == "jax":
        from ._jax import JaxSparsityDetector

        return JaxSparsityDetector()
    if library == "torch":
        from ._torch import TorchSparsityDetector

        return TorchSparsityDetector()
    if library == "numpy":
        from ._tracer import TracerSparsityDetector

        return TracerSparsityDetector()
    raise InputError(
        f"No default sparsity detector for {library} code ({library} functions cannot be traced).\n"
        "Hint: pass detector=ad.DenseSparsityDetector(backend) (pattern at x only) or "
        "ad.KnownSparsityDetector(S)."
    )


def _split(args):
    arrays = [a for a in args if not isinstance(a, Context)]
    contexts = tuple(a.value if isinstance(a, Context) else a for a in args[len(arrays):])
    if len(arrays) == 1:
        return None, arrays[0], contexts
    if len(arrays) == 2:
        return arrays[0], arrays[1], contexts
    raise InputError("Expected (f, x, *contexts) or (f, y, x, *contexts).\nHint: wrap extra arguments in ad.Constant.")


def jacobian_sparsity(f, *args, detector=None):
    """Jacobian sparsity pattern of ``f`` at ``x`` as a boolean ``scipy.sparse.csr_array`` (m, n).

    ``m`` and ``n`` count the elements of the flattened output and input. In-place functions:
    ``jacobian_sparsity(f, y, x)`` (two arrays before any context).

    Parameters
    ----------
    f : callable
    *args
        ``x, *contexts`` or ``y, x, *contexts`` (contexts as ``ad.Constant``/``ad.Cache``).
    detector : optional
        Default: ``TracerSparsityDetector()`` for NumPy inputs (falling back to the jaxpr
        detector when ``f`` turns out to be ``jax.numpy`` code), ``JaxSparsityDetector()`` for
        JAX inputs. Others: ``TracerLocalSparsityDetector()``, ``DenseSparsityDetector(backend)``,
        ``KnownSparsityDetector(S)``.

    Examples
    --------
    >>> import jax; jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp, anydiff as ad
    >>> ad.jacobian_sparsity(lambda x: jnp.diff(x**2), jnp.ones(4)).toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """
    y, x, contexts = _split(args)
    if detector is None:
        return _with_default(library_of(x), lambda d: d.jacobian_sparsity(f, x, contexts=contexts, y=y))
    return detector.jacobian_sparsity(f, x, contexts=contexts, y=y)


def hessian_sparsity(f, x, *contexts, detector=None):
    """Hessian sparsity pattern of a scalar ``f`` at ``x`` (boolean ``(n, n)`` CSR).

    Examples
    --------
    >>> import jax; jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp, anydiff as ad
    >>> f = lambda x: jnp.sum(x[1:] * x[:-1])
    >>> ad.hessian_sparsity(f, jnp.ones(3)).toarray().astype(int)
    array([[0, 1, 0],
           [1, 0, 1],
           [0, 1, 0]])
    """
    contexts = tuple(c.value if isinstance(c, Context) else c for c in contexts)
    x = np.asarray(x) if library_of(x) == "numpy" else x
    if detector is None:
        return _with_default(library_of(x), lambda d: d.hessian_sparsity(f, x, contexts=contexts))
    return detector.hessian_sparsity(f, x, contexts=contexts)


def _with_default(library, detect):
    """Run ``detect`` with the default detector for ``library``. A NumPy input given to a
    function written with ``jax.numpy`` makes the NumPy tracer fail; the jaxpr detector is
    then tried (if JAX is installed), and the tracer's error is raised if that fails too."""
    try:
        return detect(default_detector(library))
    except TracingError as err:
        if library != "numpy" or importlib.util.find_spec("jax") is None:
            raise
        from ._jax import JaxSparsityDetector

        try:
            return detect(JaxSparsityDetector())
        except Exception:  # noqa: BLE001 - not JAX code either: the tracer's message applies
            raise err from None
