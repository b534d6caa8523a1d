"""What a prepared sparse call returns: scipy CSR (default), dense, JAX BCSR or torch sparse CSR.

The gathered nonzeros arrive in the row-major order of the pattern; these wrappers attach them
to the pattern's index arrays, validated once at preparation.
"""

from __future__ import annotations

import numpy as np

from .._arrays import from_numpy, to_numpy
from ..backends._base import _np_dtype

__all__ = ["finisher", "wrapper"]


def finisher(sparse_output, spec, shape2d, hessian=False):
    """Scipy CSR result -> the requested output (used where decompression runs on the host)."""
    if sparse_output is True:
        return lambda J: J
    if sparse_output == "jax":
        from jax.experimental import sparse as jsparse

        return lambda J: jsparse.BCSR.from_scipy_sparse(J)
    if sparse_output == "torch":
        import torch

        _quiet_torch_csr()
        return lambda J: torch.sparse_csr_tensor(
            torch.from_numpy(J.indptr.astype(np.int64)), torch.from_numpy(J.indices.astype(np.int64)),
            torch.from_numpy(np.array(J.data)), size=J.shape, check_invariants=False)
    full = (spec.x_shape + spec.x_shape) if hessian else (spec.y_shape + spec.x_shape)
    library = spec.input_library
    return lambda J: from_numpy(J.toarray().reshape(full), library)

def wrapper(sparse_output, template, spec, shape2d, hessian=False):
    """``data -> result``: the gathered nonzeros (row-major order of ``template``) as the
    requested output. ``"jax"`` keeps them on the device (no host transfer)."""
    if sparse_output == "jax":
        import jax.numpy as jnp
        from jax.experimental import sparse as jsparse

        import jax

        indices, indptr = jnp.asarray(template.indices), jnp.asarray(template.indptr)
        # validated once; each call only attaches the new values (the constructor costs
        # ~30 µs per call, as much as a small sparse Jacobian)
        first = jsparse.BCSR((jnp.zeros(template.nnz, dtype=_np_dtype(spec.y_dtype)), indices, indptr), shape=shape2d,
                             indices_sorted=True, unique_indices=True)
        treedef = jax.tree_util.tree_structure(first)
        unflatten = jax.tree_util.tree_unflatten
        return lambda data: unflatten(treedef, (data, indices, indptr))
    if sparse_output == "torch":
        import torch

        _quiet_torch_csr()
        structure = {}  # per device: (crow, col), validated once

        def to_torch(data):
            values = data if isinstance(data, torch.Tensor) else torch.from_numpy(np.asarray(data))  # fresh from the gather: no copy
            pair = structure.get(values.device)
            if pair is None:
                pair = structure.setdefault(values.device, (
                    torch.from_numpy(template.indptr.astype(np.int64)).to(values.device),
                    torch.from_numpy(template.indices.astype(np.int64)).to(values.device)))
            return torch.sparse_csr_tensor(*pair, values, size=shape2d, check_invariants=False)

        return to_torch
    finish = finisher(sparse_output, spec, shape2d, hessian)
    return lambda data: finish(_csr_like(template, to_numpy(data)))


def _quiet_torch_csr():
    """torch warns once per process that sparse CSR tensors are "in beta": let that one
    warning happen here, silenced, instead of in a user's prepared call."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        torch.sparse_csr_tensor(torch.zeros(2, dtype=torch.int64), torch.zeros(1, dtype=torch.int64),
                                torch.zeros(1), size=(1, 1), check_invariants=False)


def _csr_like(template, data):
    """A new CSR array with ``template``'s structure and ``data`` (no validation pass).

    The structure was validated once when the template was built; each prepared call only
    attaches a fresh data array (index arrays are shared between results and must not be
    modified in place). With a JAX backend the data array is a read-only view of JAX's output
    buffer: copying it would cost as much as a third of a prepared call (Brusselator N = 32).
    """
    J = object.__new__(type(template))
    J.__dict__.update(template.__dict__)
    J.data = np.asarray(data)  # with JAX: a read-only view of the output buffer (no copy)
    return J

