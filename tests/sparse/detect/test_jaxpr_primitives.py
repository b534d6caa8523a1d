"""The jaxpr detector handles the primitives that current ``jax.numpy`` functions emit.

``CASES`` lists functions and the primitives their jaxprs contain (checked, so the list stays
true as JAX changes); each pattern must contain the nonzeros of JAX's own Jacobian.
"""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

import anydiff as ad  # noqa: E402

X = np.linspace(0.15, 0.85, 6)


def _sq(x):
    return jnp.eye(3) + 0.3 * jnp.outer(x[:3], x[3:])


CASES = {  # name: (f, primitives its jaxpr must contain)
    # older JAX (no lax.unstack_p) builds jnp.unstack from slices: still checked, without the primitive
    "unstack": (lambda x: jnp.unstack(jnp.reshape(x, (2, 3)))[1] * x[0],
                {"unstack"} if hasattr(jax.lax, "unstack_p") else set()),
    "tile": (lambda x: jnp.tile(x[:2], 3) * x, set()),
    "fft": (lambda x: jnp.real(jnp.fft.fft(jnp.reshape(x, (2, 3)))), {"fft"}),
    "rfft": (lambda x: jnp.abs(jnp.fft.rfft(x)), {"fft"}),
    "irfft": (lambda x: jnp.fft.irfft(x[:4] + 0j), {"fft"}),
    "solve": (lambda x: jnp.linalg.solve(_sq(x), x[:3]), {"lu", "triangular_solve"}),
    "inv": (lambda x: jnp.linalg.inv(_sq(x)), {"lu"}),
    "slogdet": (lambda x: jnp.linalg.slogdet(_sq(x))[1] * x, {"lu"}),
    "eigh": (lambda x: jnp.linalg.eigh(_sq(x) + _sq(x).T)[0], {"eigh"}),
    "svd": (lambda x: jnp.linalg.svd(jnp.reshape(x, (2, 3)), compute_uv=False), {"svd"}),
    "pinv": (lambda x: jnp.linalg.pinv(jnp.reshape(x, (2, 3))), {"svd"}),
    "cholesky": (lambda x: jnp.linalg.cholesky(_sq(x) @ _sq(x).T), {"cholesky"}),
    "qr": (lambda x: jnp.linalg.qr(jnp.reshape(x, (3, 2)))[1], {"qr"}),
    "top_k": (lambda x: jax.lax.top_k(jnp.reshape(x, (2, 3)), 2)[0], {"top_k"}),
}


def _primitives(jaxpr):
    names = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for p in eqn.params.values():
            for sub in p if isinstance(p, (list, tuple)) else [p]:
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    names |= _primitives(inner)
    return names


@pytest.mark.parametrize("name", sorted(CASES))
def test_jaxpr_detector_handles_primitive(name):
    f, prims = CASES[name]
    assert prims <= _primitives(jax.make_jaxpr(f)(X).jaxpr), f"{name} no longer emits {prims}"
    P = ad.JaxSparsityDetector().jacobian_sparsity(f, X).toarray()
    J = np.asarray(jax.jacobian(f)(X))
    J = np.reshape(J, (-1, X.size))
    assert P.shape == J.shape and not np.any((np.abs(J) > 1e-12) & ~P), name


def test_eig_on_cpu_is_dense():
    f = lambda x: jnp.real(jnp.linalg.eigvals(_sq(x)))  # noqa: E731
    assert "eig" in _primitives(jax.make_jaxpr(f)(X).jaxpr)
    P = ad.JaxSparsityDetector().jacobian_sparsity(f, X).toarray()
    assert P.all()
