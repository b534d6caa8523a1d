"""How many times each operator evaluates (and, under JAX, traces) the user's ``f``.

For every operator x installed backend: ``prepare_<op>`` alone, the first unprepared call,
a second unprepared call (the preparation cache), and a call with the preparation. Counts
are deterministic (no timing), so the machine's load does not matter.

Run: ``python -m benchmarks.evaluation_counts`` (writes ``benchmarks/results/evaluation_counts.{json,md}``).
"""

from __future__ import annotations

import json
import sys

import numpy as np

import anydiff as ad

from ._common import RESULTS, machine_info

N = 4


class Counted:
    """``f`` wrapped to count its calls: on JAX tracers (traces) and on anything else (evaluations)."""

    def __init__(self, fun):
        self.fun, self.evals, self.traces = fun, 0, 0

    def __call__(self, x, *ctx):
        if _is_jax_tracer(x):
            self.traces += 1
        else:
            self.evals += 1
        return self.fun(x, *ctx)

    def take(self):
        counts = (self.evals, self.traces)
        self.evals = self.traces = 0
        return counts


def _is_jax_tracer(x):
    if "jax" not in sys.modules:
        return False
    import jax

    return isinstance(x, jax.core.Tracer)


def scalar_fun(x):
    return (x * x * x).sum() + (x[0] * x[-1])


def vector_fun(x):
    return x * x[0] + x * x


def scalar_of_scalar(t):
    return t * t * t


def backends():
    out = [("AutoNumPy(forward)", ad.AutoNumPy(mode="forward")), ("AutoNumPy(reverse)", ad.AutoNumPy(mode="reverse")),
           ("AutoNumPy(auto)", ad.AutoNumPy()), ("AutoFiniteDiff", ad.AutoFiniteDiff())]
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        out.append(("AutoJax", ad.AutoJax()))
    except ImportError:  # pragma: no cover
        pass
    for name, make in (("AutoTorch", ad.AutoTorch), ("AutoAutograd", ad.AutoAutograd)):
        try:
            make().check_available()
            out.append((name, make()))
        except ad.BackendNotInstalledError:  # pragma: no cover
            pass
    sparse = [("AutoSparse(AutoNumPy)", ad.AutoSparse(ad.AutoNumPy()))]
    if any(n == "AutoJax" for n, _ in out):
        sparse.append(("AutoSparse(AutoJax)", ad.AutoSparse(ad.AutoJax())))
    if any(n == "AutoTorch" for n, _ in out):
        sparse.append(("AutoSparse(AutoTorch)", ad.AutoSparse(ad.AutoTorch())))
    return out, sparse


def point(backend, scalar=False):
    x = np.array(0.7) if scalar else np.linspace(0.5, 1.5, N)
    if backend.library == "torch":
        import torch

        return torch.tensor(x)
    return x


#: operator -> (function, prepare, call(f, backend, x, prep))
OPERATORS = {
    "pushforward": (vector_fun, ad.prepare_pushforward, lambda f, b, x, p: ad.pushforward(f, b, x, (x * 0 + 1,), prep=p)),
    "value_and_pushforward": (vector_fun, ad.prepare_pushforward,
                              lambda f, b, x, p: ad.value_and_pushforward(f, b, x, (x * 0 + 1,), prep=p)),
    "pullback": (vector_fun, ad.prepare_pullback, lambda f, b, x, p: ad.pullback(f, b, x, (x * 0 + 1,), prep=p)),
    "value_and_pullback": (vector_fun, ad.prepare_pullback,
                           lambda f, b, x, p: ad.value_and_pullback(f, b, x, (x * 0 + 1,), prep=p)),
    "derivative": (scalar_of_scalar, ad.prepare_derivative, lambda f, b, x, p: ad.derivative(f, b, x, prep=p)),
    "value_and_derivative": (scalar_of_scalar, ad.prepare_derivative,
                             lambda f, b, x, p: ad.value_and_derivative(f, b, x, prep=p)),
    "gradient": (scalar_fun, ad.prepare_gradient, lambda f, b, x, p: ad.gradient(f, b, x, prep=p)),
    "value_and_gradient": (scalar_fun, ad.prepare_gradient, lambda f, b, x, p: ad.value_and_gradient(f, b, x, prep=p)),
    "jacobian": (vector_fun, ad.prepare_jacobian, lambda f, b, x, p: ad.jacobian(f, b, x, prep=p)),
    "value_and_jacobian": (vector_fun, ad.prepare_jacobian, lambda f, b, x, p: ad.value_and_jacobian(f, b, x, prep=p)),
    "hvp": (scalar_fun, ad.prepare_hvp, lambda f, b, x, p: ad.hvp(f, b, x, (x * 0 + 1,), prep=p)),
    "gradient_and_hvp": (scalar_fun, ad.prepare_hvp, lambda f, b, x, p: ad.gradient_and_hvp(f, b, x, (x * 0 + 1,), prep=p)),
    "hessian": (scalar_fun, ad.prepare_hessian, lambda f, b, x, p: ad.hessian(f, b, x, prep=p)),
    "value_gradient_and_hessian": (scalar_fun, ad.prepare_hessian,
                                   lambda f, b, x, p: ad.value_gradient_and_hessian(f, b, x, prep=p)),
    "second_derivative": (scalar_of_scalar, ad.prepare_second_derivative,
                          lambda f, b, x, p: ad.second_derivative(f, b, x, prep=p)),
    "value_derivative_and_second_derivative": (
        scalar_of_scalar, ad.prepare_second_derivative,
        lambda f, b, x, p: ad.value_derivative_and_second_derivative(f, b, x, prep=p)),
}
#: a first call of another operator, which learns f's output (for the "after" column)
LEARNER = {
    scalar_fun: lambda f, b, x: ad.value_and_gradient(f, b, x),
    vector_fun: lambda f, b, x: ad.value_and_pullback(f, b, x, (x * 0 + 1,)),
    scalar_of_scalar: lambda f, b, x: ad.value_and_derivative(f, b, x),
}
SPARSE_OPERATORS = ("jacobian", "value_and_jacobian", "hessian", "value_gradient_and_hessian")


def count(backend, op):
    """``{"prepare": (evals, traces), "first": ..., "second": ..., "prepared": ...}`` or an error string."""
    fun, prepare, call = OPERATORS[op]
    if isinstance(backend, ad.AutoAutograd):
        import autograd.numpy as anp  # noqa: F401 - the functions only use array methods and indexing
    x = point(backend, scalar=fun is scalar_of_scalar)
    f = Counted(fun)
    try:
        prep = prepare(f, backend, x)
        counts = {"prepare": f.take()}
        g = Counted(fun)
        call(g, backend, x, None)
        counts["first"] = g.take()
        call(g, backend, x, None)
        counts["second"] = g.take()
        h = Counted(fun)  # a first call after another operator's first call with the same f
        LEARNER[fun](h, backend, x)
        h.take()
        call(h, backend, x, None)
        counts["after"] = h.take()
        call(f, backend, x, prep)
        counts["prepared"] = f.take()
    except ad.AnyDiffError as err:
        return f"{type(err).__name__}"
    return counts


def table():
    dense, sparse = backends()
    rows = []
    for name, backend in dense + sparse:
        for op in OPERATORS:
            if backend in [b for _, b in sparse] and op not in SPARSE_OPERATORS:
                continue
            ad.clear_cache()
            rows.append({"backend": name, "operator": op, "counts": count(backend, op)})
    return rows


def _fmt(c):
    evals, traces = c
    return f"{evals}" if not traces else f"{evals} (+{traces}t)"


def markdown(rows) -> str:
    lines = [
        "# Evaluations of f per call",
        "",
        "Evaluations of `f` (on values, including AD engines' dual/tape values); `(+Nt)`: JAX traces.",
        f"n = {N}; `first`/`second`: unprepared calls with a new function object; `prepared`: with `prep=`; "
        "`first after another op`: the first unprepared call after a first `value_and_gradient` (scalar f), "
        "`value_and_pullback` (vector f) or `value_and_derivative` (scalar x) of the same f.",
        "",
        "| backend | operator | prepare | first | second | prepared | first after another op |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r["counts"]
        if isinstance(c, str):
            lines.append(f"| {r['backend']} | {r['operator']} | {c} | | | | |")
        else:
            lines.append(f"| {r['backend']} | {r['operator']} | " + " | ".join(
                _fmt(c[k]) for k in ("prepare", "first", "second", "prepared", "after")) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    rows = table()
    md = markdown(rows)
    print(md)
    if "--no-write" not in (argv or sys.argv[1:]):
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "evaluation_counts.json").write_text(json.dumps({"machine": machine_info(), "rows": rows}, indent=1))
        (RESULTS / "evaluation_counts.md").write_text(md)


if __name__ == "__main__":
    main()
