"""Array-library plumbing: which library an array comes from, conversions, input checks."""

from __future__ import annotations

import numbers
import sys

import numpy as np

from ._errors import InputError, OutputError

__all__ = ["library_of", "as_input", "to_numpy", "from_numpy", "check_float_dtype"]


def library_of(x) -> str:
    """Return ``"numpy"``, ``"jax"`` or ``"torch"`` for an array (Python scalars count as NumPy)."""
    if isinstance(x, (np.ndarray, np.generic, numbers.Number)):
        return "numpy"
    module = type(x).__module__
    if module.startswith(("jax", "jaxlib")):
        return "jax"
    if module.startswith("torch"):
        return "torch"
    return "other"


def check_float_dtype(dtype, what: str = "x") -> None:
    """Raise :class:`InputError` unless ``dtype`` is a floating or complex dtype."""
    kind = np.dtype(dtype).kind if not hasattr(dtype, "is_floating_point") else None
    if kind is None:  # torch dtype
        if dtype.is_floating_point or dtype.is_complex:
            return
        kind = "i"
    if kind in "fc":
        return
    raise InputError(
        f"{what} has dtype {dtype}; anydiff differentiates floating-point (or complex) inputs only.\n"
        f"Hint: convert it first, e.g. {what}.astype(float) (NumPy) or {what}.double() (torch)."
    )


def _dtype_of(x):
    dt = x.dtype
    if library_of(x) == "torch":
        import torch

        # map to a NumPy dtype for the check and the signature
        return dt if not isinstance(dt, torch.dtype) else dt
    return dt


def as_input(x):
    """Validate an input point and return ``(x, library)``.

    Python scalars and lists become NumPy arrays (``float`` → float64). Integer, boolean
    and object arrays raise :class:`InputError`.
    """
    lib = library_of(x)
    if lib == "numpy":
        if isinstance(x, np.ndarray):
            arr = x
        else:
            arr = np.asarray(x)
            if arr.dtype.kind in "iub" and isinstance(x, numbers.Number):
                raise InputError(
                    f"x = {x!r} is an integer; anydiff differentiates floating-point inputs only.\n"
                    f"Hint: pass {float(x)!r} instead."
                )
        check_float_dtype(arr.dtype)
        return arr, lib
    if lib == "other":
        if isinstance(x, (list, tuple)):
            arr = np.asarray(x)
            check_float_dtype(arr.dtype)
            return arr, "numpy"
        raise InputError(
            f"x has type {type(x).__name__}, which anydiff does not know how to differentiate.\n"
            "Hint: pass a NumPy array, a jax.Array or a torch.Tensor."
        )
    check_float_dtype(x.dtype)
    return x, lib


def to_numpy(a):
    """Convert a NumPy/JAX/torch array (or scalar) to NumPy without copying when possible."""
    lib = library_of(a)
    if lib == "torch":
        return a.detach().cpu().numpy()
    return np.asarray(a)


def from_numpy(a, library: str, like=None):
    """Convert NumPy array ``a`` to ``library`` (``"numpy"``, ``"jax"``, ``"torch"``)."""
    if library == "numpy":
        return a
    if library == "jax":
        import jax.numpy as jnp

        return jnp.asarray(a)
    if library == "torch":
        import torch

        t = torch.from_numpy(np.require(a, requirements=("C", "W")))  # torch refuses read-only memory
        if like is not None and hasattr(like, "device"):
            t = t.to(like.device)
        return t
    raise InputError(f"unknown array library {library!r}.\nHint: use 'numpy', 'jax' or 'torch'.")


class TreeOutputError(OutputError):
    """``f`` returned a pytree: operators with array outputs retry on the flattened problem."""


def check_output(y, what: str = "f(x)"):
    """Return ``y`` if it is an array or a number, else raise :class:`OutputError`."""
    if isinstance(y, (numbers.Number, np.ndarray, np.generic)) or library_of(y) in ("jax", "torch"):
        return y
    if hasattr(y, "shape") and hasattr(y, "dtype"):
        return y
    from ._trees import is_tree

    if is_tree(y):
        raise TreeOutputError(
            f"{what} returned a {type(y).__name__} (a pytree); gradient, hvp and hessian need a scalar "
            "output.\nHint: return a scalar (e.g. the sum of the leaves), or use ad.jacobian, "
            "ad.pushforward or ad.pullback, which accept pytree outputs."
        )
    raise OutputError(
        f"{what} returned a {type(y).__name__}; anydiff can only differentiate functions that "
        "return an array or a scalar.\n"
        "Hint: return an array (e.g. np.stack(...) or np.asarray(...)) instead of a list, tuple or dict."
    )


def module_loaded(name: str) -> bool:
    return name in sys.modules


def as_dtype_of_leaf(v, dtype):
    """``v`` cast to the floating ``dtype`` of its leaf.

    A complex result for a real leaf keeps its real part: derivatives with respect to a real
    leaf, and tangents of a real output leaf, are real (the imaginary part is zero).
    """
    have = getattr(v, "dtype", None)
    if have is None or have == dtype:
        return v
    have_np, want_np = numpy_dtype(have), numpy_dtype(dtype)
    if have_np is not None and want_np is not None and have_np.kind == "c" and want_np.kind == "f":
        v, have_np = v.real, np.empty(0, have_np).real.dtype
        if have_np == want_np:
            return v
    if have_np is None or want_np is None or have_np == want_np or have_np.kind != "f" or want_np.kind != "f":
        return v
    if hasattr(have, "is_floating_point"):  # a torch tensor
        import torch

        return v.to(torch.from_numpy(np.empty(0, want_np)).dtype)
    return v.astype(want_np)


def leaf_dtype(v):
    """NumPy dtype of an output leaf (an array of any library, a number), None for other objects."""
    try:
        return numpy_dtype(v.dtype if hasattr(v, "dtype") else np.result_type(v))
    except (TypeError, ValueError):
        return None


def numpy_dtype(dtype):
    """The NumPy dtype of a NumPy, JAX or torch dtype (None if NumPy has none)."""
    try:
        return np.dtype(str(dtype).removeprefix("torch.")) if hasattr(dtype, "is_floating_point") else np.dtype(dtype)
    except TypeError:
        return None
