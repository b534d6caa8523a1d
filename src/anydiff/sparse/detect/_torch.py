"""Jacobian/Hessian sparsity of PyTorch functions, from their ATen graph.

The function is traced once with ``make_fx`` on *fake* tensors (shapes and dtypes only, no
data), functionalized (in-place writes and views become pure operations such as
``slice_scatter``) and decomposed into core ATen operators. Then the graph is walked, as the
jaxpr detector walks a jaxpr: every tensor that depends on ``x`` carries one *index set* per
element (a row of a boolean CSR matrix with one column per input element); every tensor that
does not is computed for real.

Why a graph and not a ``__torch_function__`` tracer: the ATen graph is the same small,
canonical operator set whatever Python API produced it (``x @ W``, ``torch.einsum``,
``F.linear``, methods, operators), functionalization removes aliasing and in-place updates,
and fake tensors make value-dependent Python control flow fail loudly instead of baking one
branch into a pattern that is supposed to hold for every input.

Rules, by kind of operator:

* elementwise (with broadcasting): union of the operands' sets; zero-derivative operators
  (comparisons, ``sign``, ``floor``, ``argmax``, ``detach``) give empty sets;
* ``where`` with a condition that does not depend on ``x``: element-wise choice (exact);
* structural operators (views, slicing, indexing, ``gather``, ``cat``, ``roll``, padding,
  scatter without accumulation): the operator itself is run on tensors of element ids, which
  tells which input element each output element is;
* accumulating scatters (``scatter_add``, ``index_add``, ``index_put(accumulate=True)``):
  a 0/1 matrix from the scatter positions times the source's sets;
* reductions and cumulative operators: 0/1 aggregation matrices;
* ``mm``/``bmm``/``addmm``: exact when one operand is constant (its zeros are honoured);
* ``convolution`` with a constant kernel: the kernel's nonzero taps over the unfolded windows.

* ``as_strided`` views and ``as_strided_scatter`` writes: run on element ids when the base is
  contiguous at storage offset 0 (exact), refused otherwise.

Hessian patterns are the Jacobian patterns of ``torch.func.grad(f)``, symmetrized. The gradient
is traced as it runs first (views keep their true storage offsets) and that graph is then
functionalized: functionalizing ``grad(f)`` directly misplaces the gradient of a view of a buffer
written later (torch 2.13), which would give wrong patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..._errors import MissingRuleError, OutputError, TracingError
from . import _torch_ops as ops
from ._index_sets import _any_row, _product, _rows

__all__ = ["TorchSparsityDetector"]


@dataclass(frozen=True)
class TorchSparsityDetector:
    """Global sparsity detection for PyTorch functions, from their ATen graph.

    The pattern holds for every input of the given shape and dtype: ``f`` is traced on fake
    tensors, so Python branches on the values of ``x`` raise :class:`TracingError` (use
    :class:`DenseSparsityDetector` for such functions).

    Examples
    --------
    >>> import torch, anydiff as ad
    >>> S = ad.TorchSparsityDetector().jacobian_sparsity(
    ...     lambda x: x[1:] * x[:-1], torch.ones(4, dtype=torch.float64))
    >>> S.toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """

    def jacobian_sparsity(self, f, x, contexts=(), y=None):
        """Boolean ``(m, n)`` CSR pattern of the Jacobian of ``f`` at inputs shaped like ``x``."""
        import torch

        x = _as_tensor(x)
        contexts = _values(contexts)
        if y is not None:
            y_shape, y_dtype = tuple(y.shape), _torch_dtype(y.dtype)

            def fun(x):
                out = x.new_zeros(y_shape, dtype=y_dtype)
                f(out, x, *contexts)
                return out
        else:
            def fun(x):
                return f(x, *contexts)
        gm = _trace(torch.func.functionalize(fun, remove="mutations_and_views"), x)
        return _walk(gm, x)

    def hessian_sparsity(self, f, x, contexts=()):
        """Boolean ``(n, n)`` CSR pattern of the Hessian of scalar ``f``."""
        import torch

        x = _as_tensor(x)
        contexts = _values(contexts)
        # grad is traced first as it runs (views at their true storage offsets), then that graph is
        # functionalized: functionalize(grad(f)) reads the gradient of a view of a buffer written
        # later at the wrong offset (torch 2.13), which gave wrong Hessian patterns
        graph = _trace(torch.func.grad(lambda x: f(x, *contexts)), x, functional=False)
        S = _walk(_trace(torch.func.functionalize(graph, remove="mutations_and_views"), x), x)
        return sp.csr_array((S + S.T) > 0)


def _values(contexts):
    from ..._contexts import Context

    return tuple(c.value if isinstance(c, Context) else c for c in contexts)


def _torch_dtype(dtype):
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    return torch.from_numpy(np.zeros(0, dtype=dtype)).dtype


def _as_tensor(x):
    import torch

    if isinstance(x, torch.Tensor):
        return x.detach()
    return torch.as_tensor(np.asarray(x))


def _trace(fun, x, functional=True):
    """ATen graph of ``fun`` at fake tensors shaped like ``x`` (core ATen operators unless
    ``functional=False``: then the operators as they run, in-place writes and views included)."""
    from torch._decomp import core_aten_decompositions
    from torch.fx.experimental.proxy_tensor import make_fx

    table = core_aten_decompositions() if functional else None
    try:
        return make_fx(fun, tracing_mode="fake", decomposition_table=table, _allow_non_fake_inputs=True)(x)
    except Exception as err:  # noqa: BLE001 - torch raises many types; all mean "cannot trace"
        text = str(err).split("\n")[0]
        if "data-dependent" in str(err) or "GuardOnDataDependent" in type(err).__name__:
            raise TracingError(
                "The torch function branches on the values of its input (Python control flow such as "
                f"`if x.sum() > 0`), so no pattern valid for every input exists: {text}\n"
                "Hint: use sparsity_detector=ad.DenseSparsityDetector(ad.AutoTorch()) (the pattern at "
                "one point), or replace the branch by torch.where."
            ) from None
        raise TracingError(
            f"torch could not trace the function for sparsity detection: {type(err).__name__}: {text}\n"
            "Hint: use sparsity_detector=ad.DenseSparsityDetector(ad.AutoTorch()), or "
            "ad.KnownSparsityDetector(S) with the pattern you know."
        ) from None


class Traced:
    """A tensor that depends on ``x``: its shape and one index set per element (``S``).

    ``unknown_values``: the values are unknown at detection (they depend on ``x``) even when
    ``S`` is empty, e.g. ``argmax(x)``; used as indices they make results depend on everything.
    """

    __slots__ = ("S", "shape", "unknown_values")

    def __init__(self, S, shape, unknown_values=True):
        self.S = S
        self.shape = tuple(shape)
        self.unknown_values = unknown_values

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))


def _walk(gm, x):
    import torch

    n = x.numel()
    env = {}
    out = None
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            env[node] = Traced(sp.csr_array(sp.identity(n, dtype=bool, format="csr")), x.shape)
        elif node.op == "get_attr":
            env[node] = _get_attr(gm, node.target)
        elif node.op == "call_function":
            env[node] = _call(node, env, n)
        elif node.op == "output":
            out = _lookup(node.args[0], env)
    if isinstance(out, (tuple, list)):
        if len(out) != 1:
            raise OutputError(
                "TorchSparsityDetector supports functions returning one tensor.\n"
                "Hint: return a single tensor (e.g. torch.cat of the parts)."
            )
        out = out[0]
    if isinstance(out, Traced):
        return sp.csr_array(out.S, dtype=bool)
    if isinstance(out, torch.Tensor):  # does not depend on x
        return sp.csr_array((max(1, out.numel()), n), dtype=bool) if out.dim() == 0 else sp.csr_array((out.numel(), n), dtype=bool)
    raise OutputError(f"The function returned {type(out).__name__}, not a tensor.\nHint: return a torch.Tensor.")


def _get_attr(gm, target):
    value = gm
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _lookup(arg, env):
    from torch import fx

    if isinstance(arg, fx.Node):
        return env[arg]
    if isinstance(arg, (list, tuple)):
        return type(arg)(_lookup(a, env) for a in arg)
    if isinstance(arg, dict):
        return {k: _lookup(v, env) for k, v in arg.items()}
    return arg


def _has_traced(value):
    if isinstance(value, Traced):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_traced(v) for v in value)
    return False


def _call(node, env, n):
    import operator

    args = _lookup(node.args, env)
    kwargs = _lookup(node.kwargs, env)
    target = node.target
    if target is operator.getitem:
        seq, index = args
        return seq[index]
    if not _has_traced(args) and not _has_traced(list(kwargs.values())):
        return target(*args, **kwargs)  # constant: computed for real
    name = getattr(getattr(target, "overloadpacket", None), "__name__", str(target))
    shapes = _out_shapes(node)
    if not _differentiable_output(node):  # integer/bool results (comparisons, argmax, ...)
        return Traced(sp.csr_array((int(np.prod(shapes, dtype=np.int64)), n), dtype=bool), shapes)
    rule = ops.RULES.get(name)
    if rule is None:
        raise MissingRuleError(
            f"TorchSparsityDetector has no rule for the torch operator aten.{name} "
            f"(from {node.format_node()[:120]}).\n"
            "Hint: use sparsity_detector=ad.DenseSparsityDetector(ad.AutoTorch()) (the pattern at one "
            "point), ad.KnownSparsityDetector(S), or wrap that piece with ad.custom_rule and a "
            "declared jacobian_sparsity."
        )
    return rule(ops.Call(name, args, kwargs, shapes, n, target, node))


def _differentiable_output(node):
    val = node.meta.get("val")
    dtype = getattr(val, "dtype", None)
    return dtype is None or dtype.is_floating_point or dtype.is_complex


def _out_shapes(node):
    val = node.meta.get("val")
    if isinstance(val, (list, tuple)):
        return [tuple(v.shape) if hasattr(v, "shape") else None for v in val]
    return tuple(val.shape) if hasattr(val, "shape") else None


# re-exported for the rules module
__helpers__ = (_any_row, _product, _rows)
