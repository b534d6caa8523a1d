"""Overhead of anydiff's common interface over calling each backend directly.

Run: ``python -m benchmarks.overhead`` (writes ``benchmarks/results/overhead.{json,md}``).

For each backend and size, times side by side (interleaved rounds) the fastest direct call
(jitted ``jax.grad``, ``torch.func.grad`` and torch's classic tape ``torch.autograd.grad``,
``autograd.grad``; jitted ``jax.jacfwd/jacrev``)
against prepared and unprepared anydiff calls on the same inputs, native arrays in and out.
Targets (issue 3): prepared ratio ≤ 1.10 at n = 10 and ≤ 1.02 at n = 100 000.
Structured inputs (issue 10): a dict of 10 arrays of 1e3 entries, and two active arguments,
against jitted ``jax.grad(argnums=...)`` and ``torch.func.grad(argnums=...)``: ≤ 1.10.
"""

from __future__ import annotations

import argparse

import numpy as np

import anydiff as ad

from ._common import fmt_time, machine_info, time_pair, write_results

TARGETS = {10: 1.10, 100_000: 1.02}


def gradient_cases(sizes):
    cases = []
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)

        def f_jax(x):
            return jnp.sum(x**2) + jnp.sum(jnp.sin(x))

        for n in sizes:
            x = jnp.linspace(0.0, 1.0, n)
            direct = jax.jit(jax.grad(f_jax))
            cases.append(("jax", "gradient", n, f_jax, ad.AutoJax(), x,
                          lambda d=direct, x=x: d(x).block_until_ready(), lambda r: r.block_until_ready()))
    except ImportError:
        pass
    try:
        import torch

        def f_torch(x):
            return torch.sum(x**2) + torch.sum(torch.sin(x))

        for n in sizes:
            x = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
            direct = torch.func.grad(f_torch)
            cases.append(("torch", "gradient", n, f_torch, ad.AutoTorch(), x, lambda d=direct, x=x: d(x), None))
            # the classic tape (what AutoTorch's eager gradient runs): the tightest direct call
            cases.append(("torch-tape", "gradient", n, f_torch, ad.AutoTorch(), x,
                          lambda x=x: _tape_gradient(f_torch, x), None))
    except ImportError:
        pass
    try:
        import autograd
        import autograd.numpy as anp

        def f_ag(x):
            return anp.sum(x**2) + anp.sum(anp.sin(x))

        for n in sizes:
            x = np.linspace(0.0, 1.0, n)
            direct = autograd.grad(f_ag)
            cases.append(("autograd", "gradient", n, f_ag, ad.AutoAutograd(), x, lambda d=direct, x=x: d(x), None))
    except ImportError:
        pass
    return cases


def _tape_gradient(f, x):
    import torch

    xr = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = f(xr)
    return torch.autograd.grad(y, xr)[0]


def jacobian_cases(sizes):
    cases = []
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return cases

    def f_jac(x):
        return jnp.sin(x) * jnp.roll(x, 1) + x**2

    for n in sizes:
        x = jnp.linspace(0.0, 1.0, n)
        for mode, direct in (("forward", jax.jit(jax.jacfwd(f_jac))), ("reverse", jax.jit(jax.jacrev(f_jac)))):
            cases.append((f"jax-{mode}", "jacobian", n, f_jac, ad.AutoJax(mode=mode), x,
                          lambda d=direct, x=x: d(x).block_until_ready(), None))
    return cases


STRUCTURED_TARGET = 1.10


def _tree_f(xp):
    def f_tree(p):
        return sum(xp.sum(xp.sin(v) * v) for v in p.values())

    def f_two(a, b):
        return xp.sum(a**2 * b) + xp.sum(xp.sin(b))

    return f_tree, f_two


def structured_cases():
    """(label, f, backend, args, direct, block) for pytree and two-argument gradients."""
    cases = []
    rng = np.random.default_rng(0)
    tree_np = {f"w{i}": rng.standard_normal(1000) for i in range(10)}
    a_np, b_np = rng.standard_normal(1000), rng.standard_normal(1000)
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        f_tree, f_two = _tree_f(jnp)
        tree = {k: jnp.asarray(v) for k, v in tree_np.items()}
        a, b = jnp.asarray(a_np), jnp.asarray(b_np)
        d_tree, d_two = jax.jit(jax.grad(f_tree)), jax.jit(jax.grad(f_two, argnums=(0, 1)))
        block = jax.block_until_ready
        cases.append(("jax-dict10x1e3", f_tree, ad.AutoJax(), (tree,), lambda d=d_tree, t=tree: block(d(t)), block))
        cases.append(("jax-2args-1e3", f_two, ad.AutoJax(), (a, b), lambda d=d_two, a=a, b=b: block(d(a, b)), block))
    except ImportError:
        pass
    try:
        import torch

        f_tree, f_two = _tree_f(torch)
        tree = {k: torch.from_numpy(v) for k, v in tree_np.items()}
        a, b = torch.from_numpy(a_np), torch.from_numpy(b_np)
        d_tree, d_two = torch.func.grad(f_tree), torch.func.grad(f_two, argnums=(0, 1))
        cases.append(("torch-dict10x1e3", f_tree, ad.AutoTorch(), (tree,), lambda d=d_tree, t=tree: d(t), None))
        cases.append(("torch-2args-1e3", f_two, ad.AutoTorch(), (a, b), lambda d=d_two, a=a, b=b: d(a, b), None))
    except ImportError:
        pass
    return cases


def _prepared_call(f, backend, args, prep, block):
    """The prepared call, shaped like the direct lambdas: arguments spelled out and one lambda
    level (a ``*args`` call site alone costs about 1 µs, 2 % of the two-argument JAX case)."""
    if len(args) == 2:
        a, b = args
        if block is not None:
            return lambda: block(ad.gradient(f, backend, a, b, prep=prep))
        return lambda: ad.gradient(f, backend, a, b, prep=prep)
    (a,) = args
    if block is not None:
        return lambda: block(ad.gradient(f, backend, a, prep=prep))
    return lambda: ad.gradient(f, backend, a, prep=prep)


def run_structured(rounds, repeats=3):
    """Each case timed ``repeats`` times side by side; the target applies to the median over
    repeats of the per-repeat median ratio (the min-time ratio is reported too)."""
    rows = []
    for label, f, backend, args, direct, block in structured_cases():
        prep = ad.prepare_gradient(f, backend, *args)
        prepared = _prepared_call(f, backend, args, prep, block)
        want, got = ad.tree_flatten(direct())[0], ad.tree_flatten(prepared())[0]
        assert all(np.allclose(np.asarray(u), np.asarray(v), rtol=1e-12) for u, v in zip(want, got)), label
        times = [time_pair(direct, prepared, rounds=rounds) for _ in range(repeats)]
        t_direct, t_prep = min(t[0] for t in times), min(t[1] for t in times)
        medians = [t[2] for t in times]
        ratio, med_prep = t_prep / t_direct, float(np.median(medians))
        rows.append({
            "backend": label, "operator": "gradient", "n": 10_000 if "dict" in label else 2_000,
            "direct_s": t_direct, "prepared_s": t_prep, "prepared_ratio_min": ratio,
            "prepared_ratio_median": med_prep, "ratio_median_spread": [min(medians), max(medians)],
            "repeats": repeats, "target": STRUCTURED_TARGET, "meets_target": bool(med_prep <= STRUCTURED_TARGET),
        })
        print(f"{label:18s} gradient direct {fmt_time(t_direct):>10s}  prepared {fmt_time(t_prep):>10s} "
              f"(x{ratio:.3f}, median x{med_prep:.3f}, spread {min(medians):.3f}-{max(medians):.3f})")
    return rows


def run(sizes, jac_sizes, rounds):
    rows = []
    for lib, op, n, f, backend, x, direct, _ in gradient_cases(sizes) + jacobian_cases(jac_sizes):
        operator = getattr(ad, op)
        prepare = getattr(ad, f"prepare_{op}")
        prep = prepare(f, backend, x)
        if lib.startswith("jax"):  # same shape of call as the direct lambda
            prepared = lambda: operator(f, backend, x, prep=prep).block_until_ready()  # noqa: E731
            unprepared = lambda: operator(f, backend, x).block_until_ready()  # noqa: E731
        else:
            prepared = lambda: operator(f, backend, x, prep=prep)  # noqa: E731
            unprepared = lambda: operator(f, backend, x)  # noqa: E731
        ref = np.asarray(direct() if not lib.startswith("jax") else direct())
        got = np.asarray(prepared())
        assert np.allclose(got, np.asarray(ref), rtol=1e-12, atol=1e-12), f"{lib} {op} n={n}: results differ"
        t_direct, t_prep, med_prep = time_pair(direct, prepared, rounds=rounds)
        t_direct2, t_unprep, med_unprep = time_pair(direct, unprepared, rounds=max(3, rounds // 3))
        target = TARGETS.get(n) if op == "gradient" else None
        ratio = t_prep / t_direct
        rows.append({
            "backend": lib, "operator": op, "n": n,
            "direct_s": t_direct, "prepared_s": t_prep, "unprepared_s": t_unprep,
            "prepared_ratio_min": ratio, "prepared_ratio_median": med_prep,
            "unprepared_ratio_min": t_unprep / min(t_direct, t_direct2), "unprepared_ratio_median": med_unprep,
            "target": target, "meets_target": None if target is None else bool(ratio <= target),
        })
        print(f"{lib:12s} {op:9s} n={n:<7d} direct {fmt_time(t_direct):>10s}  prepared {fmt_time(t_prep):>10s} "
              f"(x{ratio:.3f}, median x{med_prep:.3f})  unprepared x{t_unprep / t_direct:.1f}")
    return rows


def markdown(rows, info) -> str:
    lines = [
        "# Overhead of anydiff over direct backend calls",
        "",
        f"Machine: {info['machine']}, {info['cpus']} CPUs, Python {info['python']}; commit {info['commit']}; "
        f"{info['timestamp']}. Min over interleaved rounds; ratio = anydiff / direct (same inputs, native arrays).",
        "",
        "| backend | operator | n | direct | prepared | ratio (min) | ratio (median) | target | unprepared | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "unprepared_s" not in r:
            continue
        tgt = "—" if r["target"] is None else f"≤ {r['target']:.2f} {'✓' if r['meets_target'] else '✗'}"
        lines.append(
            f"| {r['backend']} | {r['operator']} | {r['n']} | {fmt_time(r['direct_s'])} | {fmt_time(r['prepared_s'])} "
            f"| {r['prepared_ratio_min']:.3f} | {r['prepared_ratio_median']:.3f} | {tgt} | "
            f"{fmt_time(r['unprepared_s'])} | {r['unprepared_ratio_min']:.1f} |"
        )
    structured = [r for r in rows if "unprepared_s" not in r]
    if structured:
        lines += [
            "",
            "Structured inputs (prepared `ad.gradient` vs jitted `jax.grad(argnums=...)` / `torch.func.grad`; "
            "each case timed in several repeats: ratio (median) is the median over repeats of the per-repeat "
            "median ratio, spread the lowest and highest repeat, and the target applies to it):",
            "",
            "| case | direct | prepared | ratio (min) | ratio (median) | spread | target |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in structured:
            lo, hi = r.get("ratio_median_spread", [r["prepared_ratio_median"]] * 2)
            lines.append(
                f"| {r['backend']} | {fmt_time(r['direct_s'])} | {fmt_time(r['prepared_s'])} | "
                f"{r['prepared_ratio_min']:.3f} | {r['prepared_ratio_median']:.3f} | {lo:.3f}–{hi:.3f} | "
                f"≤ {r['target']:.2f} {'✓' if r['meets_target'] else '✗'} |"
            )
    lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (smoke run)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the structured cases")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else 21
    try:
        import torch

        torch.set_num_threads(1)  # the machine is shared; one thread gives steadier times
    except ImportError:
        pass
    info = machine_info()
    rows = run([10, 1000, 100_000], [10, 100, 1000], rounds) + run_structured(rounds, args.repeats)
    write_results("overhead", {"machine": info, "rows": rows}, markdown(rows, info))


if __name__ == "__main__":
    main()
