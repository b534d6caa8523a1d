"""Cost of rules written once: ``differentiate_with`` and ``custom_rule`` inside jitted JAX code.

Run: ``python -m benchmarks.rules`` (writes ``benchmarks/results/rules.{json,md}``).

1. ``differentiate_with(f, backend)`` inside ``jax.jit(jax.grad(...))`` at n = 1000, against
   calling the wrapped backend directly (prepared ``ad.gradient(f, backend, x)``), for a
   NumPy function ``f``. Target (issue 10): ≤ 1.5×.
   Next to it, the floor without anydiff: a hand-written torch gradient inside a jitted host
   callback, against the same function called directly.
2. ``custom_rule`` inside jitted JAX code (``jax.jit(jax.grad(...))`` and ``jax.jit(f)``)
   against the same rule written by hand with ``jax.custom_jvp``. Target: ≤ 1.05×.

Each pair is timed side by side (interleaved rounds, ``time_pair``); the whole comparison is
repeated ``--repeats`` times and the spread of the per-repeat median ratios is reported.
"""

from __future__ import annotations

import argparse

import numpy as np

import anydiff as ad

from ._common import machine_info, ratio_table, time_groups, write_results

TARGETS = {"differentiate_with": 1.5, "value_and_grad": None, "custom_rule": 1.05, "floor": None}


def f_numpy(x):
    return np.sum(np.sin(x) * np.roll(x, 1)) + np.sum(x**2)


def f_torch(x):
    import torch

    return torch.sum(torch.sin(x) * torch.roll(x, 1)) + torch.sum(x**2)


def _wrapped_backends(finite_differences=True):
    """(name, f, backend): NumPy f by AutoNumPy (and finite differences), torch f by AutoTorch."""
    cases = [("AutoNumPy", f_numpy, ad.AutoNumPy())]
    if finite_differences:
        cases.append(("AutoFiniteDiff", f_numpy, ad.AutoFiniteDiff()))
    try:
        import torch  # noqa: F401 - a torch function inside JAX code

        cases.append(("AutoTorch", f_torch, ad.AutoTorch()))
    except ImportError:
        pass
    return cases


def differentiate_with_cases(n):
    """(name, direct call, call inside jax.jit(jax.grad)) for each wrapped backend."""
    import jax

    jax.config.update("jax_enable_x64", True)
    x = np.linspace(0.1, 1.0, n)
    out = []
    for name, f, backend in _wrapped_backends():
        prep = ad.prepare_gradient(f, backend, x)
        direct = lambda f=f, b=backend, p=prep: ad.gradient(f, b, x, prep=p)
        wrapped = ad.differentiate_with(f, backend)
        inside = jax.jit(jax.grad(lambda v, w=wrapped: w(v)))
        xj = jax.numpy.asarray(x)
        ref = np.asarray(direct())
        assert np.allclose(np.asarray(inside(xj)), ref, rtol=1e-10, atol=1e-12), name
        out.append((f"differentiate_with({name})", direct, lambda i=inside, v=xj: i(v).block_until_ready()))
    return out


def value_and_grad_cases(n):
    """``jax.jit(jax.value_and_grad(...))`` of the wrapped f vs a prepared ``ad.value_and_gradient``."""
    import jax

    x = np.linspace(0.1, 1.0, n)
    xj = jax.numpy.asarray(x)
    out = []
    for name, f, backend in _wrapped_backends(finite_differences=False):
        prep = ad.prepare_gradient(f, backend, x)
        direct = lambda f=f, b=backend, p=prep: ad.value_and_gradient(f, b, x, prep=p)
        inside = jax.jit(jax.value_and_grad(ad.differentiate_with(f, backend)))
        v, g = inside(xj)
        v0, g0 = direct()
        assert np.isclose(v, v0, rtol=1e-12) and np.allclose(g, g0, rtol=1e-10, atol=1e-12), name
        out.append((f"value_and_grad({name})", direct, lambda i=inside: i(xj)[1].block_until_ready()))
    return out


def torch_tape_gradient(x):
    """The gradient of ``f_torch`` by hand: one classic autograd tape, NumPy in and out."""
    import torch

    xr = torch.from_numpy(np.array(x)).requires_grad_(True)
    with torch.enable_grad():
        y = f_torch(xr)
    return torch.autograd.grad(y, xr)[0].numpy()


def callback_floor_cases(n):
    """The floor for any torch gradient computed inside jitted JAX code, without anydiff: the
    hand-written tape inside a jitted host callback vs the same tape called directly. Two
    callbacks: the public ``jax.pure_callback`` and the CPU lowering anydiff uses
    (``mlir.emit_python_callback``, a JAX-internal helper that hands over XLA's buffers)."""
    import jax
    from jax.extend.core import Primitive
    from jax.interpreters import mlir

    jax.config.update("jax_enable_x64", True)
    x = np.linspace(0.1, 1.0, n)
    xj = jax.numpy.asarray(x)
    spec = jax.ShapeDtypeStruct(x.shape, x.dtype)
    by_pure = jax.jit(lambda v: jax.pure_callback(lambda a: torch_tape_gradient(np.asarray(a)), spec, v))
    prim = Primitive("bench_torch_gradient")
    prim.def_abstract_eval(lambda v: jax.core.ShapedArray(v.shape, v.dtype))

    def lowering(ctx, v):
        out, _, _ = mlir.emit_python_callback(ctx, lambda a: (torch_tape_gradient(a),), None, [v],
                                              ctx.avals_in, ctx.avals_out, has_side_effect=False,
                                              returns_token=False)
        return out

    mlir.register_lowering(prim, lowering, platform="cpu")
    by_emit = jax.jit(prim.bind)
    ref = torch_tape_gradient(x)
    out = []
    for name, fn in (("pure_callback", by_pure), ("emit_python_callback", by_emit)):
        assert np.allclose(np.asarray(fn(xj)), ref, rtol=1e-14, atol=0), name
        out.append((f"floor: hand tape in {name}", lambda: torch_tape_gradient(x),
                    lambda fn=fn: fn(xj).block_until_ready()))
    return out


def custom_rule_cases(n):
    """(name, hand-written jax.custom_jvp, anydiff custom_rule), both jitted."""
    import jax

    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def softplus(x):
        return jnp.logaddexp(x, 0.0)

    def softplus_jvp(x, t):
        return t * jax.nn.sigmoid(x)

    by_hand = jax.custom_jvp(softplus)
    by_hand.defjvp(lambda p, t: (by_hand(p[0]), softplus_jvp(p[0], t[0])))
    rule = ad.custom_rule(softplus, jvp=softplus_jvp)
    x = jnp.linspace(-3.0, 3.0, n)
    out = []
    for what, make in (("jit(grad)", lambda g: jax.jit(jax.grad(lambda v: jnp.sum(g(v) * v)))),
                       ("jit(f)", lambda g: jax.jit(lambda v: jnp.sum(g(v) * v)))):
        a, b = make(by_hand), make(rule)
        assert np.allclose(a(x), b(x), rtol=1e-14, atol=0), what
        out.append((f"custom_rule {what}", lambda a=a: a(x).block_until_ready(), lambda b=b: b(x).block_until_ready()))
    return out


def run(n_dw, n_rule, rounds, repeats):
    groups = [("differentiate_with", n_dw, differentiate_with_cases(n_dw)),
              ("value_and_grad", n_dw, value_and_grad_cases(n_dw))]
    try:
        import torch  # noqa: F401

        groups.append(("floor", n_dw, callback_floor_cases(n_dw)))
    except ImportError:
        pass
    groups += [("custom_rule", n, custom_rule_cases(n)) for n in n_rule]
    return time_groups(groups, TARGETS, rounds, repeats, width=40)


def markdown(rows, info, repeats, rounds) -> str:
    lines = [
        "# Rules written once: cost inside jitted JAX code",
        "",
        (f"Machine: {info['machine']}, {info['cpus']} CPUs (shared with other jobs while measured, so "
         f"absolute times are noisy), Python {info['python']}; commit {info['commit']}; {info['timestamp']}."),
        (f"Each pair timed side by side in {rounds} interleaved rounds; ratio = ours / base, the median "
         f"of the per-round ratios; repeated {repeats} times: the table gives the median over repeats "
         "and the spread (lowest–highest repeat)."),
        "",
        ("- differentiate_with: base = prepared `ad.gradient(f, backend, x)`; ours = "
         "`jax.jit(jax.grad(differentiate_with(f, backend)))(x)`."),
        ("- floor (no anydiff): base = a hand-written torch gradient (one `torch.autograd` tape, NumPy in "
         "and out); ours = the same function inside `jax.jit` as a host callback (`jax.pure_callback`, or "
         "the CPU lowering anydiff uses): what running torch inside jitted JAX code costs by itself."),
        ("- value_and_grad (no target): base = prepared `ad.value_and_gradient(f, backend, x)`; ours = "
         "`jax.jit(jax.value_and_grad(differentiate_with(f, backend)))(x)`."),
        "- custom_rule: base = the same rule as a hand-written `jax.custom_jvp`; ours = `ad.custom_rule`.",
        "",
    ]
    lines += ratio_table(rows)
    lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else 15
    try:
        import torch

        torch.set_num_threads(1)  # the machine is shared; one thread gives steadier times
    except ImportError:
        pass
    info = machine_info()
    rows = run(1000, [1000, 100_000], rounds, args.repeats)
    payload = {"machine": info, "rounds": rounds, "repeats": args.repeats, "rows": rows}
    write_results("rules", payload, markdown(rows, info, args.repeats, rounds))


if __name__ == "__main__":
    main()
