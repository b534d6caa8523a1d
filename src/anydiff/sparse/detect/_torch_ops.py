"""Index-set rules of the ATen operators, for :mod:`anydiff.sparse.detect._torch`.

Each rule takes a :class:`Call` (operator name, arguments with traced tensors replaced by
:class:`~anydiff.sparse.detect._torch.Traced` objects, the output shape from the graph) and
returns a ``Traced`` (or a list of them, for operators with several outputs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._index_sets import _any_row, _product, _rows

__all__ = ["RULES", "Call"]

RULES: dict = {}


@dataclass
class Call:
    name: str
    args: tuple
    kwargs: dict
    shapes: object  # output shape, or list of shapes
    n: int
    target: object
    node: object = None  # the graph node (its arguments' metadata: strides, storage offsets)


def _traced_cls():
    from ._torch import Traced

    return Traced


def _empty(size, n):
    return sp.csr_array((size, n), dtype=bool)


def _union(mats, size, n):
    mats = [m for m in mats if m is not None and m.nnz]
    if not mats:
        return _empty(size, n)
    if len(mats) == 1:
        return mats[0]
    total = mats[0]
    for m in mats[1:]:
        total = total + m
    return sp.csr_array(total, dtype=bool)


def _flat_traced(values):
    Traced = _traced_cls()
    out = []
    for v in values:
        if isinstance(v, Traced):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out.extend(_flat_traced(v))
    return out


def _broadcast_rows(a, shape):
    """``a.S`` broadcast to ``shape`` (NumPy broadcasting of the element ids)."""
    if a.shape == tuple(shape):
        return a.S
    ids = np.broadcast_to(np.arange(a.size, dtype=np.int64).reshape(a.shape), shape)
    return _rows(a.S, ids.ravel())


def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


def _result(S, shape):
    return _traced_cls()(sp.csr_array(S, dtype=bool), shape)


def register(*names):
    def deco(rule):
        for name in names:
            RULES[name] = rule
        return rule

    return deco


# ---------------------------------------------------------------- elementwise
ELEMENTWISE = ["abs", "acos", "acosh", "add", "addcdiv", "addcmul", "asin", "asinh", "atan", "atan2", "atanh", "clamp", "clamp_min", "clamp_max", "cos", "cosh", "div", "erf", "erfc", "erfinv", "exp", "exp2", "expm1", "fmod", "remainder", "hypot", "lerp", "lgamma", "digamma", "log", "log10", "log1p", "log2", "logaddexp", "logit", "maximum", "minimum", "fmax", "fmin", "mul", "neg", "pow", "reciprocal", "relu", "rsqrt", "sigmoid", "silu", "sin", "sinh", "sqrt", "square", "sub", "rsub", "tan", "tanh", "xlogy", "nan_to_num", "gelu", "elu", "leaky_relu", "hardtanh", "softplus", "mish", "hardswish", "hardsigmoid", "threshold", "threshold_backward", "tanh_backward", "sigmoid_backward", "gelu_backward", "silu_backward", "elu_backward", "softplus_backward", "leaky_relu_backward", "hardtanh_backward", "hardswish_backward", "hardsigmoid_backward", "mish_backward", "real", "imag", "conj", "conj_physical", "_conj", "lift_fresh_copy", "clone", "_to_copy", "alias", "contiguous", "sinc", "deg2rad", "rad2deg", "i0", "frac", "copysign", "masked_fill", "polar", "complex", "logical_not_float"]
ZERO = ["sign", "sgn", "floor", "ceil", "round", "trunc", "detach", "heaviside", "bernoulli", "signbit"]
CREATION = ["zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "randint_like", "new_zeros", "new_ones", "new_empty", "new_full", "fill", "empty_strided", "new_empty_strided"]


@register(*ELEMENTWISE)
def elementwise(c):
    operands = _flat_traced(list(c.args) + list(c.kwargs.values()))
    size = _size(c.shapes)
    S = _union([_broadcast_rows(a, c.shapes) for a in operands], size, c.n)
    if c.name == "mul":  # a constant factor's zeros are structural zeros (x @ W decomposes to this)
        S = _mask_constant_zeros(c, S)
    return _result(S, c.shapes)


def _mask_constant_zeros(c, S):
    import torch

    keep = np.ones(c.shapes, dtype=bool)
    for a in c.args:
        if isinstance(a, torch.Tensor) and a.numel() > 1:
            keep &= np.broadcast_to(a.detach().numpy() != 0, c.shapes)
    if keep.all():
        return S
    ids = np.where(keep.ravel(), np.arange(keep.size), -1)
    return _rows(S, ids)


@register(*ZERO)
def zero(c):
    return _result(_empty(_size(c.shapes), c.n), c.shapes)


@register(*CREATION)
def creation(c):
    """``zeros_like(x)`` and friends: the values do not depend on x (only its shape)."""
    import torch

    if c.name == "fill" and _flat_traced(c.args[1:]):
        return _result(_broadcast_rows(c.args[1], c.shapes), c.shapes)
    Traced = _traced_cls()
    args = [torch.zeros(a.shape, dtype=torch.float64) if isinstance(a, Traced) else a for a in c.args]
    return c.target(*args, **c.kwargs)


@register("where")
def where(c):
    import torch

    cond = c.args[0]
    if isinstance(cond, torch.Tensor):  # constant condition: each element picks one branch
        return structural(c, data=(1, 2))
    return elementwise(c)


# ----------------------------------------------------------------- structural
UNARY_STRUCTURAL = ["view", "_unsafe_view", "reshape", "permute", "transpose", "t", "expand", "squeeze", "unsqueeze", "slice", "select", "index_select", "gather", "flip", "roll", "repeat", "narrow", "diagonal", "unfold", "constant_pad_nd", "index", "view_copy", "slice_copy", "select_copy", "permute_copy", "expand_copy", "unsqueeze_copy", "squeeze_copy", "transpose_copy", "t_copy", "alias_copy", "diagonal_copy", "tril", "triu", "reflection_pad1d", "reflection_pad2d", "replication_pad1d", "replication_pad2d", "split", "split_with_sizes", "unbind", "chunk", "movedim", "split_copy", "split_with_sizes_copy", "unbind_copy", "repeat_interleave_self_int"]
MULTI_STRUCTURAL = {
    "cat": (0,), "stack": (0,), "slice_scatter": (0, 1), "select_scatter": (0, 1),
    "diagonal_scatter": (0, 1), "copy": (0, 1), "embedding": (0,),
}


def _ids_like(value, offset):
    """Float64 ids ``offset + 1 ...`` for a traced tensor, zeros for a constant one."""
    import torch

    Traced = _traced_cls()
    if isinstance(value, Traced):
        return torch.arange(offset + 1, offset + 1 + value.size, dtype=torch.float64).reshape(value.shape)
    if isinstance(value, torch.Tensor):
        return torch.zeros(value.shape, dtype=torch.float64)
    return value


def _substitute(value, slots, n_offset):
    """Replace traced tensors by id tensors; collect their index sets in ``slots``."""
    Traced = _traced_cls()
    if isinstance(value, Traced):
        ids = _ids_like(value, n_offset[0])
        slots.append(value.S)
        n_offset[0] += value.size
        return ids
    if isinstance(value, (list, tuple)):
        return type(value)(_substitute(v, slots, n_offset) for v in value)
    return _ids_like(value, 0)


def structural(c, data=(0,)):
    """Run the operator on element ids: output element k *is* input element ``ids[k] - 1``."""
    args = list(c.args)
    others = [a for i, a in enumerate(args) if i not in data] + list(c.kwargs.values())
    if _flat_traced(others):  # x-dependent indices or masks: anything may land anywhere
        return _dependent_indices(c)
    slots, offset = [], [0]
    for i in data:
        if i < len(args):
            args[i] = _substitute(args[i], slots, offset)
    out = c.target(*args, **c.kwargs)
    stacked = sp.csr_array(sp.vstack(slots, format="csr"), dtype=bool) if slots else _empty(0, c.n)
    if isinstance(out, (list, tuple)):
        return [_from_ids(o, stacked) for o in out]
    return _from_ids(out, stacked)


def _from_ids(out, stacked):
    import torch

    ids = out.detach().reshape(-1).to(dtype=torch.int64).numpy() - 1
    return _traced_cls()(_rows(stacked, ids), tuple(out.shape))


def _dependent_indices(c):
    operands = _flat_traced(list(c.args) + list(c.kwargs.values()))
    row = _any_row([a.S for a in operands], c.n)
    shapes = c.shapes if isinstance(c.shapes, list) else [c.shapes]
    outs = [_result(_rows(row, np.zeros(_size(s), dtype=np.int64)), s) for s in shapes]
    return outs if isinstance(c.shapes, list) else outs[0]


for _name in UNARY_STRUCTURAL:
    RULES[_name] = structural
def _structural_on(data):
    return lambda c: structural(c, data=data)


for _name, _data in MULTI_STRUCTURAL.items():
    RULES[_name] = _structural_on(_data)


@register("as_strided", "as_strided_copy", "as_strided_scatter")
def as_strided(c):
    """Views at explicit strides of the base's memory, and writes into them (``as_strided_scatter``:
    the base with the strided region replaced by ``src``). Run on element ids laid out as the base
    is (contiguous, offset 0), this is exact element by element; other layouts are refused."""
    from ..._errors import MissingRuleError

    base = getattr(getattr(c.node, "args", (None,))[0], "meta", {}).get("val")
    plain = base is not None and base.is_contiguous() and base.storage_offset() == 0
    try:
        if plain:
            return structural(c, data=(0, 1) if c.name == "as_strided_scatter" else (0,))
        problem = "the base tensor is not contiguous at storage offset 0"
    except RuntimeError as err:  # out-of-bounds or overlapping strided regions
        problem = str(err).split("\n")[0]
    raise MissingRuleError(
        f"TorchSparsityDetector cannot follow aten.{c.name} here: {problem}.\n"
        "Hint: use sparsity_detector=ad.DenseSparsityDetector(ad.AutoTorch()) (the pattern at one point) "
        "or ad.KnownSparsityDetector(S); or index with slicing instead of torch.as_strided."
    )


@register("index_put")
def index_put(c):
    accumulate = c.args[3] if len(c.args) > 3 else c.kwargs.get("accumulate", False)
    if not accumulate:
        return structural(c, data=(0, 2))
    base, indices, values = c.args[:3]
    if _flat_traced(indices):
        return _dependent_indices(c)
    return _accumulate(c, base, values, lambda ids: ids[tuple(indices)])


@register("scatter")
def scatter(c):
    return structural(c, data=(0, 3))


@register("scatter_add", "scatter_reduce")
def scatter_add(c):
    import torch

    base, dim, index, src = c.args[:4]
    if _flat_traced([index]):
        return _dependent_indices(c)
    src = _sliced(src, tuple(index.shape))
    return _accumulate(c, base, src, lambda ids: torch.gather(ids, dim, index))


@register("index_add")
def index_add(c):
    base, dim, index, source = c.args[:4]
    if _flat_traced([index]):
        return _dependent_indices(c)
    return _accumulate(c, base, source, lambda ids: ids.index_select(dim, index))


def _sliced(src, shape):
    """``src[:shape[0], :shape[1], ...]`` (scatter uses the leading block of ``src``)."""
    Traced = _traced_cls()
    if not isinstance(src, Traced) or src.shape == shape:
        return src
    ids = np.arange(src.size).reshape(src.shape)[tuple(slice(0, s) for s in shape)]
    return Traced(_rows(src.S, ids.ravel()), shape)


def _accumulate(c, base, src, positions):
    """``out[p] = base[p] + sum of src elements sent to p``: a 0/1 matrix times src's sets."""
    import torch

    Traced = _traced_cls()
    shape = c.shapes
    size = _size(shape)
    base_ids = torch.arange(size, dtype=torch.int64).reshape(shape)
    pos = positions(base_ids)
    terms = [base.S if isinstance(base, Traced) else None]
    if isinstance(src, Traced):
        rows = np.asarray(pos.reshape(-1).numpy())
        src_ids = np.broadcast_to(np.arange(src.size).reshape(src.shape), tuple(pos.shape)).ravel()
        P = sp.csr_array((np.ones(rows.size, dtype=bool), (rows, src_ids)), shape=(size, src.size))
        terms.append(_product(P, src.S))
    return _result(_union(terms, size, c.n), shape)


# ----------------------------------------------------------------- reductions
REDUCTIONS = ["sum", "mean", "amax", "amin", "prod", "logsumexp", "var", "std", "max", "min", "nansum", "linalg_vector_norm", "norm", "var_mean", "std_mean", "any", "all", "argmax", "argmin"]


def _reduce_dims(c, ndim):
    args, kw = c.args, c.kwargs
    if c.name in ("linalg_vector_norm", "norm"):
        dims = args[2] if len(args) > 2 else kw.get("dim")
    else:
        dims = args[1] if len(args) > 1 and not isinstance(args[1], bool) else kw.get("dim")
    if dims is None or (isinstance(dims, (list, tuple)) and len(dims) == 0):
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    return tuple(sorted(d % max(ndim, 1) for d in dims))


def _line_matrix(shape, dims):
    """0/1 matrix (lines × size): line k collects the elements reduced into output k."""
    size = _size(shape)
    keep = [d for d in range(len(shape)) if d not in dims]
    ids = np.arange(size, dtype=np.int64).reshape(shape).transpose(keep + list(dims))
    k = _size([shape[d] for d in dims])
    lines = size // max(k, 1) if k else _size([shape[d] for d in keep])
    ids = ids.reshape(lines, k)
    rows = np.repeat(np.arange(lines), k)
    return sp.csr_array((np.ones(rows.size, dtype=bool), (rows, ids.ravel())), shape=(lines, size))


@register(*REDUCTIONS)
def reduction(c):
    a = c.args[0]
    dims = _reduce_dims(c, len(a.shape))
    S = _product(_line_matrix(a.shape, dims), a.S) if a.S.nnz else _empty(_size(c.shapes if not isinstance(c.shapes, list) else c.shapes[0]), c.n)
    if isinstance(c.shapes, list):  # max.dim -> (values, indices); var_mean -> (var, mean)
        outs = []
        for shape in c.shapes:
            indices = c.name in ("max", "min") and len(outs) == 1
            outs.append(_result(_empty(_size(shape), c.n) if indices else S, shape))
        return outs
    if c.name in ("any", "all", "argmax", "argmin"):
        S = _empty(_size(c.shapes), c.n)
    return _result(S, c.shapes)


@register("_softmax", "_log_softmax", "sort", "topk", "cummax", "cummin", "logcumsumexp", "cumsum", "cumprod")
def along_dim(c):
    """Each output element depends on its whole line along ``dim`` (prefix for cumulative ops)."""
    a = c.args[0]
    if c.name in ("sort", "topk"):
        dim = c.args[2] if c.name == "topk" and len(c.args) > 2 else (c.args[1] if c.name == "sort" and len(c.args) > 1 else c.kwargs.get("dim", -1))
    else:
        dim = c.args[1] if len(c.args) > 1 else c.kwargs.get("dim", 0)
    dim %= max(len(a.shape), 1)
    if c.name in ("cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"):
        S = _product(_prefix_matrix(a.shape, dim), a.S)
        values = _result(S, a.shape)
        return [values, _result(_empty(a.size, c.n), a.shape)] if isinstance(c.shapes, list) else values
    line = _product(_line_matrix(a.shape, (dim,)), a.S)
    keep = [d for d in range(len(a.shape)) if d != dim]
    shapes = c.shapes if isinstance(c.shapes, list) else [c.shapes]
    outs = []
    for i, shape in enumerate(shapes):
        if i > 0:  # sort/topk indices
            outs.append(_result(_empty(_size(shape), c.n), shape))
            continue
        line_of = np.arange(_size([a.shape[d] for d in keep]), dtype=np.int64).reshape([a.shape[d] for d in keep])
        ids = np.broadcast_to(np.expand_dims(line_of, dim), shape)
        outs.append(_result(_rows(line, ids.ravel()), shape))
    return outs if isinstance(c.shapes, list) else outs[0]


@register("_softmax_backward_data", "_log_softmax_backward_data")
def softmax_backward(c):
    """``(grad_output, output, dim, dtype)``: each element depends on the whole line of both."""
    dim = c.args[2] % max(len(c.shapes), 1)
    terms = []
    for a in _flat_traced(c.args[:2]):
        line = _product(_line_matrix(a.shape, (dim,)), a.S)
        keep = [d for d in range(len(a.shape)) if d != dim]
        line_of = np.arange(_size([a.shape[d] for d in keep]), dtype=np.int64).reshape([a.shape[d] for d in keep])
        terms.append(_rows(line, np.broadcast_to(np.expand_dims(line_of, dim), c.shapes).ravel()))
    return _result(_union(terms, _size(c.shapes), c.n), c.shapes)


def _prefix_matrix(shape, dim):
    size = _size(shape)
    k = shape[dim]
    ids = np.moveaxis(np.arange(size, dtype=np.int64).reshape(shape), dim, -1).reshape(-1, k)
    rows, cols = [], []
    for i in range(k):  # k is one axis length: small next to the data
        rows.append(np.repeat(ids[:, i], i + 1))
        cols.append(ids[:, : i + 1].ravel())
    r, cc = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_array((np.ones(r.size, dtype=bool), (r, cc)), shape=(size, size))


@register("_linalg_check_errors", "_assert_async", "_assert_scalar", "_assert_tensor_metadata", "sym_constrain_range")
def no_output(c):
    """Checks with no output value."""
    return


from . import _torch_contract  # noqa: F401  (registers contractions, convolutions, dense blocks)
