"""AutoSparse: sparse Jacobians and Hessians by detection → coloring → compressed products → decompression.

Preparation detects the sparsity pattern, colors it and builds the seed matrices and the dense
backend's batched closure once. A prepared call then costs one batched pushforward (or
pullback, or HVP) with one seed per color, plus one vectorized decompression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from .._arrays import to_numpy
from .._errors import InputError, OutputError, UnsupportedOperationError
from ..backends import resolve_backend
from ..backends._base import Built, _np_dtype
from ..backends._combinators import _Delegating
from ._output import finisher, wrapper
from ._plan import SparsePlan
from .detect._known import KnownSparsityDetector

__all__ = ["AutoSparse", "KnownSparsityDetector"]  # the detector lives in detect/; re-exported here


@dataclass(frozen=True)
class AutoSparse(_Delegating):
    """Sparse Jacobians and Hessians on top of any dense backend.

    Parameters
    ----------
    dense_backend : Backend
        Computes the compressed products (``AutoJax()``, ``AutoTorch()``, ``AutoFiniteDiff()``,
        ``AutoNumPy()``, ...). With ``AutoFiniteDiff()`` this is the classic colored
        finite-difference Jacobian.
    sparsity_detector : detector, optional
        Default: ``JaxSparsityDetector()`` for JAX, ``TracerSparsityDetector()`` for backends
        that run NumPy code. Torch code cannot be traced: pass ``DenseSparsityDetector(...)``
        or ``KnownSparsityDetector(S)``.
    coloring : GreedyColoring, optional
        Coloring algorithm; default ``GreedyColoring(order="largest_first")``.
    partition : {"auto", "column", "row", "bidirectional"}
        ``"auto"`` colors columns (forward mode) and rows (reverse mode), where the dense backend
        has the mode, and keeps the one with fewer colors. On a tie it keeps the dense backend's
        faster products: columns (JVPs), except rows (VJPs) with ``AutoTorch()``.
    sparse_output : {True, False, "jax", "torch"}
        ``True``: Jacobians are ``scipy.sparse.csr_array`` of shape ``(m, n)`` (sizes of the
        flattened output and input), whatever the input's array library (with a JAX backend the
        ``data`` array is a read-only view of JAX's output buffer). ``False``: a dense array of
        the input's library with shape ``y.shape + x.shape``. ``"jax"`` (jitted ``AutoJax()``
        only): a ``jax.experimental.sparse.BCSR`` of shape ``(m, n)`` whose values never leave
        the device. ``"torch"`` (``AutoTorch()`` only): a ``torch`` sparse CSR tensor ``(m, n)``.

    Examples
    --------
    >>> import jax; jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp, numpy as np, anydiff as ad
    >>> b = ad.AutoSparse(ad.AutoJax())
    >>> J = ad.jacobian(lambda x: jnp.diff(x**2), b, np.arange(1.0, 5.0))
    >>> J.toarray()
    array([[-2.,  4.,  0.,  0.],
           [ 0., -4.,  6.,  0.],
           [ 0.,  0., -6.,  8.]])
    """

    dense_backend: Any
    sparsity_detector: Any = None
    coloring: Any = None
    partition: str = "auto"
    sparse_output: Any = True

    name: ClassVar[str] = "sparse"
    sparse_results: ClassVar[bool] = True

    def __post_init__(self):
        object.__setattr__(self, "dense_backend", resolve_backend(self.dense_backend))
        if self.partition not in ("auto", "column", "row", "bidirectional"):
            raise InputError(
                f"AutoSparse(partition={self.partition!r}) is not a partition.\n"
                "Hint: use 'auto', 'column', 'row' or 'bidirectional'."
            )
        if isinstance(self.sparse_output, (bool, np.bool_)):
            object.__setattr__(self, "sparse_output", bool(self.sparse_output))
        elif self.sparse_output not in ("jax", "torch"):
            raise InputError(
                f"AutoSparse(sparse_output={self.sparse_output!r}) is not an output choice.\n"
                "Hint: use True (scipy.sparse CSR), False (dense), 'jax' (jax.experimental.sparse.BCSR) "
                "or 'torch' (torch sparse CSR tensor)."
            )
        if self.sparse_output == "torch" and self.dense_backend.library != "torch":
            raise InputError(
                "AutoSparse(sparse_output='torch') needs a torch dense backend (AutoTorch()).\n"
                "Hint: use sparse_output=True (scipy.sparse) with other backends."
            )
        if self.sparse_output == "jax" and not (
            self.dense_backend.library == "jax" and getattr(self.dense_backend, "jit", False)
        ):
            raise InputError(
                "AutoSparse(sparse_output='jax') needs a jitted JAX dense backend (AutoJax()).\n"
                "Hint: use sparse_output=True (scipy.sparse) with other backends."
            )
        if isinstance(self.dense_backend, AutoSparse):
            raise InputError("AutoSparse(AutoSparse(...)) is not meaningful.\nHint: wrap a dense backend.")

    # ---------------------------------------------------------- delegation
    @property
    def _primary(self):
        return self.dense_backend

    def _members(self):
        return (self.dense_backend,)

    def build_pushforward(self, f, spec):
        return self.dense_backend.build_pushforward(f, spec)

    def build_pullback(self, f, spec):
        return self.dense_backend.build_pullback(f, spec)

    def jacobian_mode(self, spec):
        return self.dense_backend.jacobian_mode(spec)

    def fast_gradient(self, f, spec):
        return self.dense_backend.fast_gradient(f, spec)

    def raw_gradient(self, f, spec):
        return self.dense_backend.raw_gradient(f, spec)

    def raw_derivative(self, f, spec):
        return self.dense_backend.raw_derivative(f, spec)

    def default_outer(self):
        return self.dense_backend.default_outer()

    # ------------------------------------------------------------ pieces
    def detector(self):
        """The sparsity detector in use (the given one or the default for the dense backend)."""
        if self.sparsity_detector is not None:
            return self.sparsity_detector
        from .detect import default_detector

        if self.dense_backend.library in ("jax", "numpy", "torch"):
            return default_detector(self.dense_backend.library)
        raise InputError(
            f"AutoSparse({self.dense_backend!r}) has no default sparsity detector ({self.dense_backend.library} "
            "code cannot be traced).\nHint: pass sparsity_detector=ad.DenseSparsityDetector(backend) "
            "(pattern at x only) or ad.KnownSparsityDetector(S) with the pattern you know."
        )

    def _algorithm(self, decompression="direct"):
        from .coloring import GreedyColoring

        if self.coloring is not None:
            return self.coloring
        return GreedyColoring(order="largest_first", decompression=decompression)

    def _jacobian_coloring(self, S, spec=None):
        from .coloring import color

        algo = self._algorithm()
        allowed = _complex_partitions(spec)
        if self.partition not in allowed and self.partition != "auto":
            raise UnsupportedOperationError(
                f"AutoSparse(partition={self.partition!r}) cannot give this Jacobian: x has dtype "
                f"{spec.x_dtype} and f(x) {spec.y_dtype}; only {' or '.join(sorted(allowed))} products "
                "see both parts of the complex side.\nHint: use partition='auto'."
            )
        if self.partition == "bidirectional":
            return "bidirectional", color(S, structure="nonsymmetric", partition="bidirectional", algorithm=algo)
        options = []
        if self.partition in ("auto", "column") and self.has_forward and "column" in allowed:
            options.append(("column", color(S, structure="nonsymmetric", partition="column", algorithm=algo)))
        if self.partition in ("auto", "row") and self.has_reverse and "row" in allowed:
            options.append(("row", color(S, structure="nonsymmetric", partition="row", algorithm=algo)))
        if not options and allowed == {"row"}:
            raise UnsupportedOperationError(
                f"AutoSparse({self.dense_backend!r}) has no pullback, and pushforwards of real seeds "
                "miss the imaginary directions of a complex x under a real-valued f.\nHint: use a "
                "dense backend with reverse mode (e.g. AutoSparse(AutoNumPy())), or the dense ad.jacobian."
            )
        if not options:
            raise InputError(
                f"AutoSparse(partition={self.partition!r}) needs a mode {self.dense_backend!r} lacks.\n"
                "Hint: use partition='auto'."
            )
        tie = getattr(self.dense_backend, "sparse_tie_partition", "column")  # the faster products on equal colors
        return min(options, key=lambda o: (o[1].ncolors, o[0] != tie))

    # ------------------------------------------------------------ jacobian
    def jacobian_sparsity(self, f, spec):
        """Detect the Jacobian pattern at the preparation point (``(m, n)`` boolean CSR)."""
        x = spec.point
        y = np.zeros(spec.y_shape, dtype=_np_dtype(spec.y_dtype)) if spec.inplace else None
        if spec.input_library != "numpy" and self.dense_backend.library == "torch":
            x = to_numpy(x)
        S = self.detector().jacobian_sparsity(f, x, contexts=_context_objects(spec), y=y)
        return _check_pattern(S, (spec.m, spec.n), "Jacobian")

    def fast_jacobian(self, f, spec, mode=None):
        """``Built(value_and_jacobian, jacobian_only, details=plan)``, from one detection and one coloring."""
        S = self.jacobian_sparsity(f, spec)
        partition, result = self._jacobian_coloring(S, spec)
        from ..operators import _derive

        forward = _derive.pushforward(self.dense_backend, f, spec) if partition != "row" else None
        reverse = _derive.pullback(self.dense_backend, f, spec) if partition != "column" else None
        gather = self._gathering(result, spec, forward=forward, reverse=reverse)
        with_value = self._compile(gather)
        data_only = self._compile(lambda x, ctx: gather(x, ctx)[1])
        wrap = wrapper(self.sparse_output, result.pattern, spec, (spec.m, spec.n))

        def value_and_jacobian(x, ctx):
            y, data = with_value(x, ctx)
            return y, wrap(data)

        def jacobian(x, ctx):
            return wrap(data_only(x, ctx))

        prim, shape = (forward, spec.x_shape) if forward is not None else (reverse, spec.y_shape)
        dense = spec.n if partition == "column" else spec.m if partition == "row" else min(spec.n, spec.m)
        plan = SparsePlan(S, result, partition, dense, self._probe(prim, shape, spec))
        return Built(value_and_jacobian, jacobian, details=plan)

    # ------------------------------------------------------------- hessian
    def hessian_sparsity(self, f, spec):
        x = spec.point
        if spec.input_library != "numpy" and self.dense_backend.library == "torch":
            x = to_numpy(x)
        S = self.detector().hessian_sparsity(f, x, contexts=_context_objects(spec))
        return _check_pattern(S, (spec.n, spec.n), "Hessian")

    def fast_hessian(self, f, spec):
        """``Built(value_gradient_and_hessian, hessian_only, details=plan)``: colored HVPs + one gather."""
        from ..operators.second_order import _b_hvp, _value_fun
        from .coloring import color

        if spec.m != 1:
            raise OutputError(
                f"ad.hessian needs a scalar-valued f; f(x) has shape {spec.y_shape}.\n"
                "Hint: reduce the output to a scalar (e.g. sum), or use ad.jacobian for a vector-valued f."
            )
        S = self.hessian_sparsity(f, spec)
        result = color(S, structure="symmetric", partition="column", algorithm=self._algorithm("direct"))
        hvp = _b_hvp(self.dense_backend, f, spec)
        value = _value_fun(self.dense_backend, f, spec)
        if result.structure == "symmetric" and getattr(result, "_gather", True) is None:
            return self._substitution_hessian(result, S, hvp, value, spec)
        gather = self._gathering(result, spec, forward=hvp)

        def everything(x, ctx):
            grad, data = gather(x, ctx)
            return value(x, ctx), grad, data

        with_value = self._compile(everything)
        data_only = self._compile(lambda x, ctx: gather(x, ctx)[1])
        wrap = wrapper(self.sparse_output, result.pattern, spec, (spec.n, spec.n), hessian=True)

        def value_gradient_and_hessian(x, ctx):
            y, grad, data = with_value(x, ctx)
            return (y, grad), wrap(data)

        def hessian(x, ctx):
            return wrap(data_only(x, ctx))

        plan = SparsePlan(S, result, "symmetric", spec.n, self._probe(hvp, spec.x_shape, spec))
        return Built(value_gradient_and_hessian, hessian, details=plan)

    def _substitution_hessian(self, result, S, hvp, value, spec):
        """Acyclic coloring: colored HVPs, then the coloring's substitution sweep (not a gather)."""
        from .coloring import seed_matrix

        seeds = self._seeds(seed_matrix(result.colors).T, spec.x_shape, spec)
        k, n = result.ncolors, spec.n
        finish = finisher(self.sparse_output, spec, (n, n), hessian=True)

        def gradient_and_hessian(x, ctx):
            grad, HV = hvp(x, seeds, ctx)
            return grad, finish(result.decompress(to_numpy(HV).reshape(-1, n)[:k].T))

        def value_gradient_and_hessian(x, ctx):
            grad, H = gradient_and_hessian(x, ctx)
            return (value(x, ctx), grad), H

        def hessian(x, ctx):  # no evaluation of f for its value
            return gradient_and_hessian(x, ctx)[1]

        plan = SparsePlan(S, result, "symmetric", spec.n, self._probe(hvp, spec.x_shape, spec))
        return Built(value_gradient_and_hessian, hessian, details=plan)

    def _probe(self, prim, shape, spec):
        """``() -> None``: one product with one seed at the preparation point (for estimates)."""
        point, ctx = spec.point, spec.contexts
        if point is None:
            return None
        seed = self._seeds(np.ones((1, int(np.prod(shape, dtype=int)))), shape, spec)
        return lambda: prim(point, seed, ctx)

    # ------------------------------------------------------------- helpers
    def _gathering(self, result, spec, forward=None, reverse=None):  # noqa: C901
        """``(x, ctx) -> (y, data)``: compressed products with one seed per color, then the
        decompression gather (``result.gather_index()``) of the nonzeros' values.

        With a jitted JAX backend the caller compiles this (``_compile``) so that products and
        gather are one XLA call; a prepared sparse Jacobian then only wraps the data in CSR.
        """
        from .coloring import seed_matrix

        flat = result.gather_index()
        parts = []
        if forward is not None:
            colors = result.colors if reverse is None else result.column_colors
            parts.append((forward, self._seeds(seed_matrix(colors).T, spec.x_shape, spec)))
        if reverse is not None:
            colors = result.colors if forward is None else result.row_colors
            parts.append((reverse, self._seeds(seed_matrix(colors).T, spec.y_shape, spec, dtype=spec.y_dtype)))
        counts = [int(np.max(result.colors if len(parts) == 1 else c, initial=-1)) + 1
                  for c in ([result.colors] if len(parts) == 1 else [result.column_colors, result.row_colors])]

        def products(x, ctx, xp):
            y, blocks = None, []
            for (prim, seeds), k in zip(parts, counts):
                value, out = prim(x, seeds, ctx)
                y = value if y is None else y
                blocks.append(xp.reshape(out, (-1,))[: k * int(np.prod(out.shape[1:], dtype=int))])
            return y, blocks[0] if len(blocks) == 1 else xp.concatenate(blocks)

        if self._jax_jit():
            import jax

            flat_j = jax.numpy.asarray(flat)

            def run(x, ctx):
                y, stacked = products(x, ctx, jax.numpy)
                return y, stacked[flat_j]

            return run

        if self.dense_backend.library == "torch" and len(parts) == 1:
            return _torch_gather(*parts[0], flat)
        if self.dense_backend.library == "torch":  # gather where the products are (CPU or GPU)
            import torch

            flat_t = {}

            def run_torch(x, ctx):
                y, stacked = products(x, ctx, _TorchLike)
                index = flat_t.get(stacked.device)
                if index is None:
                    index = flat_t.setdefault(stacked.device, torch.from_numpy(flat).to(stacked.device))
                return y, torch.index_select(stacked, 0, index)  # ~3x faster than stacked[index]

            return run_torch

        def run_numpy(x, ctx):
            y, stacked = products(x, ctx, _NumpyLike)
            return y, np.take(stacked, flat)

        return run_numpy

    def _jax_jit(self) -> bool:
        return self.dense_backend.library == "jax" and bool(getattr(self.dense_backend, "jit", False))

    def _compile(self, fun):
        """One compiled function for products + gather (+ value) with a jitted JAX backend."""
        if self._jax_jit():
            import jax

            return jax.jit(fun)
        return fun

    def _seeds(self, rows, shape, spec, dtype=None):
        """Seed rows (one per color) as the dense backend's stacked tangents.

        With no color at all (an all-zero pattern) one zero seed still runs f once for its value.
        """
        rows = np.ascontiguousarray(rows, dtype=_np_dtype(spec.x_dtype if dtype is None else dtype))  # fast tangents
        if rows.shape[0] == 0:
            rows = np.zeros((1, rows.shape[1]), dtype=rows.dtype)
        return self.dense_backend.from_numpy_native(rows.reshape((rows.shape[0],) + tuple(shape)), spec)


def _torch_gather(prim, seeds, flat):
    """``(x, ctx) -> (y, data)`` for one batched torch product: the products' flat buffer
    gathered on its device, with no other tensor operation (every eager operation costs a few µs
    next to a compiled product of ~100 µs). Any rows past the colors (the one zero seed of an
    empty pattern) are never indexed."""
    import torch

    index = [torch.from_numpy(flat)]

    def run_torch(x, ctx):
        y, out = prim(x, seeds, ctx)
        out = out.reshape(-1)
        if index[0].device != out.device:
            index[0] = index[0].to(out.device)
        return y, torch.index_select(out, 0, index[0])  # ~3x faster than out[index]

    return run_torch


class _TorchLike:
    """reshape/concatenate on torch products, staying on their device."""

    @staticmethod
    def reshape(a, shape):
        import torch

        return torch.reshape(a, shape)

    @staticmethod
    def concatenate(parts):
        import torch

        return torch.cat(parts)


class _NumpyLike:
    """reshape/concatenate on NumPy or torch products, returning NumPy."""

    @staticmethod
    def reshape(a, shape):
        return np.reshape(to_numpy(a), shape)

    @staticmethod
    def concatenate(parts):
        return np.concatenate(parts)


def _context_objects(spec):
    """The preparation's contexts as ``Constant``/``Cache`` objects (detectors need the kinds)."""
    from .._contexts import Cache, Constant

    return tuple(Cache(v) if k == "cache" else Constant(v) for v, k in zip(spec.contexts, spec.context_kinds))


def _check_pattern(S, shape, what):
    if not sp.issparse(S):
        S = sp.csr_array(np.asarray(S, dtype=bool))
    if S.shape != shape:
        raise InputError(
            f"The {what} sparsity pattern has shape {S.shape}, expected {shape} (flattened output × input).\n"
            "Hint: check the detector or the pattern given to KnownSparsityDetector."
        )
    return sp.csr_array(S, dtype=bool)


def _complex_partitions(spec) -> set:
    """Partitions whose compressed products give the Jacobian in anydiff's convention: columns
    (pushforwards of real seeds) miss the imaginary directions of a complex x under a real f;
    rows (pullbacks of real cotangents) miss Im f(x) for a real x."""
    from ..backends._base import _is_complex

    if spec is None:
        return {"column", "row", "bidirectional"}
    cx, cy = _is_complex(spec.x_dtype), spec.y_dtype is not None and _is_complex(spec.y_dtype)
    if cx and not cy:
        return {"row"}
    if cy and not cx:
        return {"column"}
    return {"column", "row"} if cx else {"column", "row", "bidirectional"}
