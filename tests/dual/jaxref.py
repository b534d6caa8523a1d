"""Helpers for the Dual array tests: JAX forward mode as the reference."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)


def jax_jvps(fn, x, T):
    """``fn(jnp, x)`` and its JVPs along each row of ``T`` (JAX forward mode)."""
    import jax.numpy as jnp

    y = fn(jnp, jnp.asarray(x))
    tys = [jax.jvp(lambda v: fn(jnp, v), (jnp.asarray(x),), (jnp.asarray(t),))[1] for t in T]
    return np.asarray(y), np.stack([np.asarray(t) for t in tys])
