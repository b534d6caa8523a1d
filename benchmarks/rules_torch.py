"""Cost of rules written once inside torch code: ``differentiate_with`` and ``custom_rule``.

Run: ``python -m benchmarks.rules_torch`` (writes ``benchmarks/results/rules_torch.{json,md,png}``).

1. ``differentiate_with(f, backend)`` called inside torch code, its gradient taken by
   ``torch.autograd.grad`` (classic tape) and by ``torch.func.grad``, against calling the
   wrapped backend directly (prepared ``ad.gradient(f, backend, x)`` on a NumPy array).
   Target (issue 10 states it for JAX; the same number is used for torch): ≤ 1.5×.
2. ``custom_rule`` inside torch code against the same rule written by hand as a
   ``torch.autograd.Function`` (``setup_context`` form, ``generate_vmap_rule``), under
   ``torch.autograd.grad`` and ``torch.func.grad``. Target: ≤ 1.05×.

Each pair is timed side by side (interleaved rounds, ``time_pair``) with one torch thread;
the whole comparison is repeated ``--repeats`` times and the spread of the per-repeat median
ratios is reported. The load average is recorded: run it on a quiet machine (load < 3).
"""

from __future__ import annotations

import argparse
import os
from functools import partial

import numpy as np

import anydiff as ad

from ._common import RESULTS, machine_info, ratio_table, time_groups, write_results

TARGETS = {"differentiate_with": 1.5, "custom_rule": 1.05, "by hand": None}


def f_numpy(x):
    return np.sum(np.sin(x) * np.roll(x, 1)) + np.sum(x**2)


def f_torch(x):
    import torch

    return torch.sum(torch.sin(x) * torch.roll(x, 1)) + torch.sum(x**2)


def f_jax(x):
    import jax.numpy as jnp

    return jnp.sum(jnp.sin(x) * jnp.roll(x, 1)) + jnp.sum(x**2)


def _wrapped_backends():
    out = [("AutoNumPy", f_numpy, ad.AutoNumPy())]
    out.append(("AutoTorch", f_torch, ad.AutoTorch()))
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        out.append(("AutoJax", f_jax, ad.AutoJax()))
    except ImportError:
        pass
    return out


def differentiate_with_cases(n):
    """(name, direct prepared gradient, gradient inside torch code) per backend and transform."""
    import torch

    x = np.linspace(0.1, 1.0, n)
    out = []
    for name, f, backend in _wrapped_backends():
        prep = ad.prepare_gradient(f, backend, x)
        direct = lambda f=f, b=backend, p=prep: ad.gradient(f, b, x, prep=p)
        ref = np.asarray(direct())
        w = ad.differentiate_with(f, backend)
        xt = torch.tensor(x)

        def classic(w=w):
            v = xt.detach().requires_grad_(True)
            return torch.autograd.grad(w(v), v)[0]

        func = lambda g=torch.func.grad(w): g(xt)
        for what, ours in (("torch.autograd.grad", classic), ("torch.func.grad", func)):
            assert np.allclose(ours().numpy(), ref, rtol=1e-10, atol=1e-12), (name, what)
            out.append((f"differentiate_with({name}) {what}", direct, ours))
    return out


def _by_hand(f, backend, x):
    """The best a user can write by hand: a ``torch.autograd.Function`` (``setup_context`` form,
    needed for torch.func) whose forward calls a prepared ``ad.value_and_gradient`` and whose
    backward multiplies by the gradient (no second-order refusal, no vmap/jvp rules)."""
    import torch

    prep = ad.prepare_gradient(f, backend, x)

    class ByHand(torch.autograd.Function):
        @staticmethod
        def forward(v):
            y, g = ad.value_and_gradient(f, backend, v.detach().numpy(), prep=prep)
            return torch.as_tensor(y), torch.from_numpy(np.array(g))

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.mark_non_differentiable(output[1])
            ctx.g = output[1]

        @staticmethod
        def backward(ctx, gy, _):
            return gy * ctx.g

    return lambda v: ByHand.apply(v)[0]


def by_hand_cases(n):
    """(name, hand-written Function, differentiate_with) under both torch transforms."""
    import torch

    x = np.linspace(0.1, 1.0, n)
    xt = torch.tensor(x)
    out = []
    for name, f, backend in _wrapped_backends():
        hand, w = _by_hand(f, backend, x), ad.differentiate_with(f, backend)

        def classic(fn):
            def run():
                v = xt.detach().requires_grad_(True)
                return torch.autograd.grad(fn(v), v)[0]

            return run

        for what, make in (("torch.autograd.grad", classic), ("torch.func.grad", lambda fn: partial(torch.func.grad(fn), xt))):
            base, ours = make(hand), make(w)
            torch.testing.assert_close(base(), ours(), rtol=1e-10, atol=1e-12)
            out.append((f"differentiate_with({name}) {what}", base, ours))
    return out


def _softplus_functions():
    """softplus as ``custom_rule`` (jvp and vjp; jvp only) and as a hand-written Function."""
    import torch

    f = lambda x: torch.nn.functional.softplus(x)
    jvp = lambda x, t: t * torch.sigmoid(x)

    class ByHand(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x):
            return torch.nn.functional.softplus(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            ctx.save_for_forward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            return g * torch.sigmoid(ctx.saved_tensors[0])

        @staticmethod
        def jvp(ctx, t):
            return t * torch.sigmoid(ctx.saved_tensors[0])

    return {"by hand": ByHand.apply, "jvp+vjp": ad.custom_rule(f, jvp=jvp, vjp=jvp),
            "jvp only": ad.custom_rule(f, jvp=jvp)}


def custom_rule_cases(n):
    """(name, hand-written autograd.Function, anydiff custom_rule) under both torch transforms."""
    import torch

    fns = _softplus_functions()
    x = torch.linspace(-3.0, 3.0, n, dtype=torch.float64)
    loss = lambda g: (lambda v: torch.sum(g(v) * v))

    def classic(g):
        def run():
            v = x.detach().requires_grad_(True)
            return torch.autograd.grad(loss(g)(v), v)[0]

        return run

    def func(g):
        grad = torch.func.grad(loss(g))
        return lambda: grad(x)

    out = []
    for what, make in (("torch.autograd.grad", classic), ("torch.func.grad", func)):
        base = make(fns["by hand"])
        for given in ("jvp+vjp", "jvp only"):
            ours = make(fns[given])
            torch.testing.assert_close(base(), ours(), rtol=1e-14, atol=0)
            out.append((f"custom_rule({given}) {what}", base, ours))
    return out


def run(n_values, rounds, repeats, only=None):
    groups = []
    for n in n_values:
        if only in (None, "differentiate_with"):
            groups.append(("differentiate_with", n, differentiate_with_cases(n)))
        if only in (None, "custom_rule"):
            groups.append(("custom_rule", n, custom_rule_cases(n)))
        if only in (None, "by hand"):
            groups.append(("by hand", n, by_hand_cases(n)))
    return time_groups(groups, TARGETS, rounds, repeats, width=55)


def markdown(rows, info, repeats, rounds, load) -> str:
    lines = [
        "# Rules written once: cost inside torch code",
        "",
        (f"Machine: {info['machine']}, {info['cpus']} CPUs (shared with other jobs), one torch thread, "
         f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min) at the start, "
         f"{load[3]:.2f} at the end; Python {info['python']}, torch {info['versions'].get('torch')}; "
         f"commit {info['commit']}; {info['timestamp']}."),
        (f"Each pair timed side by side in {rounds} interleaved rounds; ratio = ours / base, the median "
         f"of the per-round ratios; repeated {repeats} times: the table gives the median over repeats "
         "and the spread (lowest–highest repeat). Times are the fastest round."),
        "",
        ("- differentiate_with: base = prepared `ad.gradient(f, backend, x)` on a NumPy array; ours = "
         "the gradient of `differentiate_with(f, backend)` at a float64 tensor, by "
         "`torch.autograd.grad(w(v), v)` or `torch.func.grad(w)(v)` (f = sum(sin(x) * roll(x, 1)) + "
         "sum(x²), written in NumPy, torch or jax.numpy for the backend)."),
        ("- by hand (no target; what torch's Function machinery costs anyway): "
         "base = a hand-written `torch.autograd.Function` whose forward calls a prepared "
         "`ad.value_and_gradient` and whose backward multiplies by the gradient; ours as above."),
        ("- custom_rule: base = softplus with its rule as a hand-written `torch.autograd.Function` "
         "(`setup_context`, `jvp`, `generate_vmap_rule`); ours = `ad.custom_rule(softplus, jvp=..., "
         "vjp=...)` (jvp+vjp) or `ad.custom_rule(softplus, jvp=...)` (jvp only: the backward transposes "
         "the jvp); loss = sum(softplus(v) * v)."),
        "",
    ]
    lines += ratio_table(rows, lambda r: f"{r['kind']}: {r['case']}")
    lines.append("")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in TARGETS if any(r["kind"] == k for r in rows)]
    fig, axes = plt.subplots(len(kinds), 1, figsize=(9, 0.4 * len(rows) + 2.5 * len(kinds)), squeeze=False)
    for ax, kind in zip(axes[:, 0], kinds):
        sel = [r for r in rows if r["kind"] == kind]
        labels = [f"{r['case']}  n={r['n']}" for r in sel]
        med = np.array([r["ratio_median"] for r in sel])
        lo = med - np.array([r["ratio_spread"][0] for r in sel])
        hi = np.array([r["ratio_spread"][1] for r in sel]) - med
        ypos = np.arange(len(sel))
        colors = {True: "tab:green", False: "tab:red", None: "tab:blue"}
        ax.barh(ypos, med, xerr=[lo, hi], color=[colors[r["meets_target"]] for r in sel])
        if TARGETS[kind] is not None:
            ax.axvline(TARGETS[kind], color="k", ls="--", label=f"target {TARGETS[kind]}")
        ax.axvline(1.0, color="grey", lw=0.8)
        ax.set_yticks(ypos, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("ours / base (median of interleaved rounds)")
        ax.set_title(kind)
        if TARGETS[kind] is not None:
            ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, n = 1000 only (smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=sorted(TARGETS), default=None)
    parser.add_argument("--name", default="rules_torch", help="result file name (default rules_torch)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # the machine is shared; one thread gives steadier times
    rounds = 5 if args.quick else 15
    n_values = [1000] if args.quick else [1000, 100_000]
    load = list(os.getloadavg())
    info = machine_info()
    rows = run(n_values, rounds, args.repeats, args.only)
    load.append(os.getloadavg()[0])
    payload = {"machine": info, "load_average": load, "rounds": rounds, "repeats": args.repeats, "rows": rows}
    write_results(args.name, payload, markdown(rows, info, args.repeats, rounds, load))
    plot(rows, RESULTS / f"{args.name}.png")


if __name__ == "__main__":
    main()
