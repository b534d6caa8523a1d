"""JAX side of ``custom_rule`` and ``differentiate_with``.

* ``call_rule``: a :class:`~anydiff._custom_rule.CustomRule` becomes a ``jax.custom_jvp``
  function (traced natively, so jit, vmap and reverse mode by transposition all work).
* ``call_black_box``: a :class:`~anydiff.DifferentiateWith` becomes three JAX primitives,
  ``anydiff_call`` (``f``), ``anydiff_push`` (the backend's pushforward, linear in its tangent)
  and ``anydiff_pull`` (its pullback). Each is evaluated on the host: compiled for CPU, by a
  host callback that gets XLA's buffers as NumPy arrays (``mlir.emit_python_callback``;
  ``pure_callback`` would first copy each operand into a JAX array), elsewhere and eagerly by
  ``jax.pure_callback``. The jvp of ``call`` is ``push``, ``push`` and ``pull`` are each
  other's transposes (for a scalar ``f`` the transpose of ``push`` is the cotangent times
  ``anydiff_grad``, a callback with one operand fewer), and the batching rules hand a whole batch of tangents (``jacfwd``,
  ``jacrev``, ``vmap``) to the backend as one batched pushforward/pullback.
"""

from __future__ import annotations

import numpy as np

from ._errors import InputError, OutputError, UnsupportedOperationError

__all__ = ["call_black_box", "call_rule"]


def _is_array(a):
    import jax

    return isinstance(a, (jax.Array, np.ndarray, np.generic))


# ====================================================================== custom_rule
def call_rule(rule, x, contexts):
    """Evaluate ``rule`` as a ``jax.custom_jvp`` function of ``x`` (contexts held constant)."""
    import jax

    arrays = [i for i, c in enumerate(contexts) if _is_array(c)]

    def rebuild(arrs):
        full = list(contexts)
        for i, a in zip(arrays, arrs):
            full[i] = a
        return full

    @jax.custom_jvp
    def g(x, *arrs):
        return rule.f(x, *rebuild(arrs))

    def g_jvp(primals, tangents):
        x, *arrs = primals
        tx, *tarrs = tangents
        if not all(isinstance(t, jax.custom_derivatives.SymbolicZero) for t in tarrs):
            raise UnsupportedOperationError(
                f"{rule!r}: JAX differentiates with respect to a context argument, but contexts are "
                "held constant.\nHint: differentiate with respect to x only, or pack the "
                "differentiated values into x."
            )
        c = rebuild(arrs)
        y = g(x, *arrs)
        if isinstance(tx, jax.custom_derivatives.SymbolicZero):
            return y, jax.numpy.zeros(np.shape(y), jax.numpy.result_type(y))
        return y, _tangent(rule, x, tx, c, y)

    g.defjvp(g_jvp, symbolic_zeros=True)
    return g(x, *[contexts[i] for i in arrays])


def _tangent(rule, x, tx, contexts, y):
    import jax

    from ._custom_rule import _transposed

    if rule.jvp is not None:
        ty = rule.check("jvp", rule.jvp(x, tx, *contexts), y)
    else:
        def pull(c):
            return rule.check("vjp", rule.vjp(x, c, *contexts), x)

        spec = jax.ShapeDtypeStruct(np.shape(y), jax.numpy.result_type(y))
        (ty,) = _transposed(rule, "vjp", lambda: jax.linear_transpose(pull, spec)(tx))
    return jax.numpy.asarray(ty).astype(jax.numpy.result_type(y))


# ====================================================================== differentiate_with
class _Op:
    """Static description of one wrapped call (a primitive parameter; hashed by identity)."""

    def __init__(self, dw, contexts, arrays, x, y_shape, y_dtype):
        self.dw, self.contexts, self.arrays = dw, contexts, arrays
        self.x_shape, self.x_dtype = tuple(x.shape), np.dtype(x.dtype)
        self.y_shape, self.y_dtype = tuple(y_shape), np.dtype(y_dtype)
        self.runners = {}  # kind -> host runner, set on the first unbatched host call

    def rebuild(self, arrs):
        full = list(self.contexts)
        for i, a in zip(self.arrays, arrs):
            full[i] = a
        return full

    def outs(self, kind):
        """(shape, dtype) of each result of the primitive ``kind``."""
        y, x = (self.y_shape, self.y_dtype), (self.x_shape, self.x_dtype)
        return {"call": [y], "push": [y], "pull": [x], "grad": [x], "value_grad": [y, x]}[kind]

    def fuses_value_and_gradient(self):
        """A scalar real f whose backend has a reverse mode: its JVP is the gradient (one host
        call computing f and ∇f together) contracted with the tangent, so ``value_and_grad``
        and ``grad`` cost one callback, and no pushforward is needed."""
        return (self.y_shape == () and self.x_dtype.kind == "f" and self.y_dtype.kind == "f"
                and self.dw.backend.has_reverse)


_PRIMITIVES = {}


def _primitives():
    if not _PRIMITIVES:
        for kind in ("call", "push", "pull", "grad", "value_grad"):
            _PRIMITIVES[kind] = _make_primitive(kind)
        _define_derivatives(_PRIMITIVES)
    return _PRIMITIVES


def _no_token(mlir):
    """``returns_token=False`` where ``emit_python_callback`` takes it (older JAX returns no token for ``None``)."""
    import inspect

    return {"returns_token": False} if "returns_token" in inspect.signature(mlir.emit_python_callback).parameters else {}


def _batch_shape(operands, nb):
    return tuple(np.broadcast_shapes(*(tuple(o.shape[:nb]) for o in operands)))


def _make_primitive(kind):
    import jax
    from jax.extend.core import Primitive
    from jax.interpreters import batching, mlir

    from ._differentiate_with import host_batched

    p = Primitive("anydiff_" + kind)
    multiple = p.multiple_results = kind == "value_grad"  # (f(x), ∇f(x))
    n_lin = 1 if kind in ("push", "pull") else 0

    def abstract(*operands, op, nb):
        batch = _batch_shape(operands, nb)
        outs = [jax.core.ShapedArray(batch + shape, dtype) for shape, dtype in op.outs(kind)]
        return outs if multiple else outs[0]

    def host(*operands, op, nb):  # -> a tuple of NumPy results
        if nb == 0 and not n_lin:  # jit(grad(...)) and the like: one closure per op, built once
            fast = op.runners.get(kind)
            if fast is None:
                fast = op.runners[kind] = _unbatched_host(op, kind, multiple, operands)
            return fast(operands)
        x, lin, arrs = operands[0], (operands[1] if n_lin else None), operands[1 + n_lin:]
        specs = op.outs(kind)
        out = host_batched(op.dw, kind, x, lin, op.rebuild(arrs), nb, [s for s, _ in specs])
        out = out if multiple else (out,)
        return tuple(np.asarray(o, dtype=dtype) for o, (_, dtype) in zip(out, specs))

    def via_callback(*operands, op, nb):
        a = abstract(*operands, op=op, nb=nb)
        specs = [jax.ShapeDtypeStruct(o.shape, o.dtype) for o in (a if multiple else [a])]
        out = jax.pure_callback(lambda *o: host(*o, op=op, nb=nb), specs, *operands)
        return list(out) if multiple else out[0]

    def on_cpu(ctx, *operands, op, nb):  # the host function gets the buffers as NumPy arrays
        out, _, _ = mlir.emit_python_callback(
            ctx, lambda *o: host(*o, op=op, nb=nb), None, list(operands), ctx.avals_in,
            ctx.avals_out, has_side_effect=False, **_no_token(mlir))
        return out

    p.def_abstract_eval(abstract)
    p.def_impl(via_callback)
    mlir.register_lowering(p, mlir.lower_fun(via_callback, multiple_results=multiple))
    if hasattr(mlir, "emit_python_callback"):  # skips pure_callback's copy of each operand into a JAX array
        mlir.register_lowering(p, on_cpu, platform="cpu")

    def batch(operands, dims, *, op, nb):
        jnp = jax.numpy
        moved = [jnp.expand_dims(o, 0) if d is None else jnp.moveaxis(o, d, 0) for o, d in zip(operands, dims)]
        out = p.bind(*moved, op=op, nb=nb + 1)
        return (out, [0] * len(out)) if multiple else (out, 0)

    batching.primitive_batchers[p] = batch
    return p


def _unbatched_host(op, kind, multiple, operands):
    """``operands -> results`` of ``kind`` (no batch axes, no tangents) for ``op``: the host runner
    prepared for its signature, with the output dtypes bound (``pure_callback`` hands over JAX
    arrays, the CPU callback NumPy arrays: both go through ``np.asarray``)."""
    from ._differentiate_with import host_runner

    dtypes = [dtype for _, dtype in op.outs(kind)]
    asarray = np.asarray
    if op.arrays:
        args_of = lambda operands: op.rebuild([asarray(a) for a in operands[1:]])
    else:
        constants = list(op.contexts)
        args_of = lambda operands: constants
    run = host_runner(op.dw, kind, asarray(operands[0]), args_of(operands))
    if multiple:
        return lambda operands: tuple(
            asarray(o, dtype=d) for o, d in zip(run(asarray(operands[0]), None, args_of(operands)), dtypes))
    (dtype,) = dtypes
    return lambda operands: (asarray(run(asarray(operands[0]), None, args_of(operands)), dtype=dtype),)


def _define_derivatives(P):
    import jax
    from jax.interpreters import ad

    def first_order_only(op):
        return UnsupportedOperationError(
            f"{op.dw!r} gives first derivatives inside JAX code; JAX asked for a second derivative "
            "(or a derivative with respect to a constant argument).\nHint: differentiate the "
            "wrapped function once inside JAX, or compute Hessians with "
            "ad.hessian(f, ad.SecondOrder(ad.AutoFiniteDiff(), <backend>), x) outside JAX."
        )

    def call_jvp(primals, tangents, *, op, nb):
        if any(type(t) is not ad.Zero for t in tangents[1:]):
            raise first_order_only(op)
        if type(tangents[0]) is ad.Zero:
            y = P["call"].bind(*primals, op=op, nb=nb)
            return y, ad.Zero.from_primal_value(y)
        if op.fuses_value_and_gradient():  # ty = <∇f(x), tx>: reverse mode transposes it to ct ∇f(x)
            y, g = P["value_grad"].bind(*primals, op=op, nb=nb)
            axes = tuple(range(g.ndim - len(op.x_shape), g.ndim))
            return y, jax.numpy.sum(g * tangents[0], axis=axes).astype(op.y_dtype)
        y = P["call"].bind(*primals, op=op, nb=nb)
        return y, P["push"].bind(primals[0], tangents[0], *primals[1:], op=op, nb=nb)

    def linear_jvp(kind):
        def rule(primals, tangents, *, op, nb):
            if any(type(t) is not ad.Zero for i, t in enumerate(tangents) if i != 1):
                raise first_order_only(op)
            out = P[kind].bind(*primals, op=op, nb=nb)
            if type(tangents[1]) is ad.Zero:
                return out, ad.Zero.from_primal_value(out)
            return out, P[kind].bind(primals[0], tangents[1], *primals[2:], op=op, nb=nb)

        return rule

    def transpose(other):
        def rule(ct, x, lin, *arrs, op, nb):
            if ad.is_undefined_primal(x) or any(ad.is_undefined_primal(a) for a in arrs):
                raise first_order_only(op)
            if type(ct) is ad.Zero:
                return [None, None] + [None] * len(arrs)
            if other == "pull" and op.y_shape == ():  # scalar f: ct times the gradient, and the
                g = P["grad"].bind(x, *arrs, op=op, nb=nb)  # callback gets one operand fewer
                scaled = jax.numpy.reshape(ct, np.shape(ct) + (1,) * len(op.x_shape)) * g
                return [None, scaled.astype(op.x_dtype)] + [None] * len(arrs)
            return [None, P[other].bind(x, ct, *arrs, op=op, nb=nb)] + [None] * len(arrs)

        return rule

    def no_second_order(primals, tangents, *, op, nb):
        raise first_order_only(op)

    ad.primitive_jvps[P["call"]] = call_jvp
    ad.primitive_jvps[P["push"]] = linear_jvp("push")
    ad.primitive_jvps[P["pull"]] = linear_jvp("pull")
    ad.primitive_transposes[P["push"]] = transpose("pull")
    ad.primitive_transposes[P["pull"]] = transpose("push")
    ad.primitive_jvps[P["grad"]] = no_second_order
    ad.primitive_jvps[P["value_grad"]] = no_second_order
    _define_dce(P)


def _define_dce(P):
    """Dead-code elimination of ``value_grad``: when only the gradient (``jax.grad``) or only
    the value is used, the equation becomes ``grad`` or ``call`` (one result less to compute
    and to copy out of the host callback). Skipped where JAX does not offer the hooks; the
    fused equation is then kept, which is correct, only slower."""
    try:
        from jax.extend.core import new_jaxpr_eqn
        from jax.interpreters.partial_eval import dce_rules
    except ImportError:
        return

    def dce(used_outputs, eqn):
        used_y, used_g = used_outputs
        if not (used_y or used_g):
            return [False] * len(eqn.invars), None
        if used_y and used_g:
            return [True] * len(eqn.invars), eqn
        kind, out = ("grad", eqn.outvars[1]) if used_g else ("call", eqn.outvars[0])
        try:
            new = new_jaxpr_eqn(eqn.invars, [out], P[kind], eqn.params, eqn.effects, eqn.source_info, eqn.ctx)
        except (TypeError, AttributeError):  # another JAX version's signature: keep the fused equation
            return [True] * len(eqn.invars), eqn
        return [True] * len(eqn.invars), new

    dce_rules[P["value_grad"]] = dce


def call_black_box(dw, x, args):
    """``dw(x, *args)`` inside JAX code: host callbacks with derivatives from ``dw.backend``."""
    import jax

    jnp = jax.numpy
    x = jnp.asarray(x)
    arrays = [i for i, a in enumerate(args) if _is_array(a)]
    for a in [x] + [args[i] for i in arrays]:
        _check_precision(dw, a.dtype)
    y_shape, y_dtype = _output_spec(dw, x, args)
    _check_precision(dw, y_dtype, what="f returns")
    op = _Op(dw, args, arrays, x, y_shape, y_dtype)
    return _primitives()["call"].bind(x, *[jnp.asarray(args[i]) for i in arrays], op=op, nb=0)


def _check_precision(dw, dtype, what="an input has"):
    import jax

    dtype = np.dtype(dtype)
    if dtype.kind in "fc" and dtype.itemsize * (2 if dtype.kind == "f" else 1) >= 16 and not jax.config.jax_enable_x64:
        raise InputError(
            f"{dw!r} inside JAX: {what} dtype {dtype}, but JAX is in 32-bit mode and would "
            "silently compute in single precision.\nHint: call jax.config.update('jax_enable_x64', "
            "True) at start-up, or make the inputs and f's output float32."
        )


def _output_spec(dw, x, args):
    """Shape and dtype of ``f(x, *args)``: from ``output_shape=``, else one probe run of ``f``."""
    import jax

    from ._differentiate_with import probe_output

    if dw.output_shape is not None:
        return dw.output_shape, np.result_type(x.dtype, np.float32)
    try:  # (evaluated now even inside a trace: f may itself be written with jax.numpy)
        with jax.ensure_compile_time_eval():
            y = probe_output(dw, x, args)
    except Exception as err:
        raise OutputError(
            f"{dw!r} inside JAX code needs the shape of f's output before any value is known; "
            f"running f on an array of ones to find it failed ({type(err).__name__}: {err}).\n"
            "Hint: pass output_shape= to differentiate_with."
        ) from err
    if y.dtype.kind not in "fc":
        y = y.astype(np.result_type(x.dtype, np.float32))
    return y.shape, y.dtype
