"""The commands behind ``anydiff ...`` (see :mod:`anydiff.cli` for the parser and error handling)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from rich.markup import escape

from .cli import CommandError, _console, _fmt, enable_x64, evaluate, load_function, make_input, resolve_backends

__all__ = ["demo", "sparsity", "recommend", "bench", "test", "installed_backends"]


def _err(e):
    return "—" if e is None else f"{e:.1e}"


def installed_backends():
    """One configuration of each installed backend (forward and reverse where both exist)."""
    from ._recommend import installed_library_backends
    from .backends import AutoFiniteDiff, AutoNumPy

    return installed_library_backends() + [AutoNumPy(), AutoFiniteDiff(), AutoFiniteDiff(method="complex")]


# ---------------------------------------------------------------------------- demo
def demo(args) -> int:
    from rich.table import Table

    from ._demo import run_dense_demo
    from ._demo_sparse import run_sparse_demo

    console = _console()
    console.print(f"[bold]anydiff demo[/bold]: chained Rosenbrock, n = {args.n}; gradient and Hessian "
                  "with every installed backend, checked against the analytic derivatives.")
    rows = run_dense_demo(n=args.n)
    table = Table(title="Dense derivatives (prepared calls; errors relative to the analytic values)")
    for col in ("backend", "gradient err", "gradient time", "Hessian err", "Hessian time", "prepare", "agrees"):
        table.add_column(col, justify="right" if col != "backend" else "left")
    for r in rows:
        if "error" in r:
            table.add_row(r["backend"], "[red]" + escape(r["error"][:60]), "", "", "", "", "[red]no")
            continue
        table.add_row(r["backend"], _err(r["gradient_error"]), _fmt(r["gradient_s"]), _err(r["hessian_error"]),
                      _fmt(r["hessian_s"]), _fmt(r["prepare_s"]), "[green]yes" if r["ok"] else "[red]no")
    console.print(table)
    sparse_ok = run_sparse_demo(console, args)
    ok = all(r["ok"] for r in rows) and sparse_ok
    console.print("[bold green]All backends agree." if ok else "[bold red]Some backends disagree or failed.")
    return 0 if ok else 1


# ---------------------------------------------------------------------------- sparsity
def _detect(f, x, hessian):
    from ._errors import AnyDiffError
    from .sparse import JaxSparsityDetector, TracerSparsityDetector, hessian_sparsity, jacobian_sparsity

    errors = []
    detectors = [TracerSparsityDetector()]
    if importlib.util.find_spec("jax") is not None:
        detectors.append(JaxSparsityDetector())
    for detector in detectors:
        try:
            S = (hessian_sparsity if hessian else jacobian_sparsity)(f, x, detector=detector)
            return S, type(detector).__name__
        except (AnyDiffError, TypeError, ValueError) as err:
            errors.append(f"{type(detector).__name__}: {str(err).splitlines()[0]}")
    raise CommandError("no detector could trace f (" + "; ".join(errors) + ")")


def _colorings(S, hessian):
    """``[(problem, order, ColoringResult)]`` for every relevant partition and vertex order."""
    from .sparse.coloring import ORDERS, GreedyColoring, color

    problems = ([("symmetric", "star (direct)", "direct"), ("symmetric", "acyclic (substitution)", "substitution")]
                if hessian else [("column", "column (forward)", "direct"), ("row", "row (reverse)", "direct")])
    out = []
    for partition, label, decompression in problems:
        for order in ORDERS:
            if order == "random":
                continue
            algorithm = GreedyColoring(order=order, decompression=decompression)
            if partition == "symmetric":
                result = color(S, "symmetric", algorithm=algorithm)
            else:
                result = color(S, partition=partition, algorithm=algorithm)
            out.append((label, order, result))
    return out


def sparsity(args) -> int:
    from rich.table import Table

    f = load_function(args.target)
    x = make_input(args)
    y = evaluate(f, x)
    if args.hessian and y.size != 1:
        raise CommandError(f"--hessian needs a scalar f; f returns shape {y.shape}")
    S, detector = _detect(f, x, args.hessian)
    console, m, n = _console(), S.shape[0], S.shape[1]
    per_row, per_col = np.diff(S.tocsr().indptr), np.diff(S.tocsc().indptr)
    what = "Hessian" if args.hessian else "Jacobian"
    console.print(f"[bold]{what} pattern[/bold] of {escape(args.target)} at x of shape {x.shape} ({detector}): "
                  f"{m} × {n}, {S.nnz} nonzeros ({100 * S.nnz / max(1, m * n):.2f} % dense); "
                  f"per row max {per_row.max(initial=0)} / mean {per_row.mean():.1f}; "
                  f"per column max {per_col.max(initial=0)} / mean {per_col.mean():.1f}")
    results = _colorings(S, args.hessian)
    table = Table(title=f"Colors per algorithm and vertex order (dense {what}: {n} products)")
    for col in ("coloring", "order", "colors", "products saved"):
        table.add_column(col, justify="left" if col in ("coloring", "order") else "right")
    best = min(results, key=lambda r: r[2].ncolors)
    for label, order, result in results:
        mark = " [green]← fewest" if (label, order) == best[:2] else ""
        table.add_row(label, order, str(result.ncolors), f"{n / max(1, result.ncolors):.1f}×{mark}")
    console.print(table)
    if args.png:
        from .sparse import show_colors

        path = show_colors(best[2], args.png, title=f"{args.target}: {best[2].ncolors} colors ({best[0]}, {best[1]})")
        console.print(f"Picture of the coloring written to {Path(path).resolve()}")
    return 0


# ---------------------------------------------------------------------------- recommend
def recommend(args) -> int:
    from ._recommend import recommend as run

    enable_x64(args.dtype)
    f = load_function(args.target)
    x = make_input(args)
    y = evaluate(f, x)
    operator = args.operator or ("gradient" if y.size == 1 and x.size > 1 else
                                 "derivative" if x.size == 1 else "jacobian")
    candidates = resolve_backends(args.backends) if args.backends else None
    console = _console()
    with console.status(f"running every candidate on the {operator} of {args.target} ..."):
        try:
            report = run(f, x, operator=operator, candidates=candidates, budget_s=args.budget)
        except Exception as err:  # noqa: BLE001 - InputError for a bad operator, or f itself
            raise CommandError(str(err).replace("\n", " ")) from err
    console.print(report)
    if report.best is None:
        console.print("[bold red]No candidate computed a derivative that agrees with the reference.")
        return 1
    best = next(r for r in report.rows if r["verdict"] == "best")
    console.print(f"[bold]Recommended:[/bold] {escape(best['label'])} — {escape(best['reason'])}.")
    return 0


# ---------------------------------------------------------------------------- bench / test
def select_scenarios(names, default_sparse: bool):
    """Scenarios by name or substring; ``default``/``sparse``/``structured`` select the standard lists."""
    from .testing import default_scenarios, float32_scenarios, sparse_scenarios, structured_scenarios

    dense, sparse, structured = default_scenarios() + float32_scenarios(), sparse_scenarios(), structured_scenarios()
    if not names:
        return dense + (sparse if default_sparse else [])
    chosen = []
    for name in names:
        if name in ("default", "dense"):
            hits = dense
        elif name in ("sparse", "structured"):
            hits = sparse if name == "sparse" else structured
        else:
            hits = [s for s in dense + sparse + structured if name.lower() in s.name.lower()]
        if not hits:
            known = ", ".join(s.name for s in dense + sparse + structured)
            raise CommandError(f"no scenario matches {name!r}; known: default, sparse, structured, {known}")
        chosen += [s for s in hits if s not in chosen]
    return chosen


def _backends_for(args, scenarios):
    """The chosen backends (default: every installed one, plus sparse ones for sparse scenarios)."""
    from .testing._check import _library

    out = _chosen_backends(args, scenarios)
    if any(_library(b) == "jax" for b in out):
        enable_x64("float64")  # the scenarios are float64
    return out


def _chosen_backends(args, scenarios):
    if args.backends:
        return resolve_backends(args.backends)
    out = installed_backends()
    if any(s.pattern is not None for s in scenarios):
        from .backends import AutoNumPy
        from .sparse import AutoSparse

        out.append(AutoSparse(AutoNumPy()))
        if importlib.util.find_spec("jax") is not None:
            from .backends import AutoJax

            out.append(AutoSparse(AutoJax()))
    return out


_BENCH_MD = ("backend", "scenario", "operator", "prepared", "f_calls", "time_min", "time_median", "prep_time",
             "compile_time", "peak_memory", "time_ratio", "colors", "compressed_ratio", "error")


def bench(args) -> int:
    from rich.table import Table

    from .testing import benchmark_differentiation

    scenarios = select_scenarios(args.scenarios, default_sparse=True)
    backends = _backends_for(args, scenarios)
    records = benchmark_differentiation(backends, scenarios, args.operators, seconds=args.seconds,
                                        progress=_console().is_terminal)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records.to_json(out / "bench.json")
    records.to_csv(out / "bench.csv")
    (out / "bench.md").write_text("# anydiff bench\n\nTimes in seconds; `time_ratio` = prepared time ÷ one NumPy "
                                  "evaluation of f.\n\n" + records.to_markdown(_BENCH_MD) + "\n")
    png = records.plot(out / "bench.png")
    console = _console()
    table = Table(title="anydiff bench (prepared calls)")
    for col in ("backend", "scenario", "operator", "f calls", "time", "÷ f", "prepare", "compile", "colors"):
        table.add_column(col, justify="left" if col in ("backend", "scenario", "operator") else "right")
    for r in records:
        if r["error"]:
            table.add_row(escape(r["backend"]), escape(r["scenario"]), r["operator"], "[red]" + escape(r["error"][:50]),
                          *[""] * 5)
        elif r["prepared"]:
            table.add_row(escape(r["backend"]), escape(r["scenario"]), r["operator"], str(r["f_calls"]),
                          _fmt(r["time_min"]),
                          f"{r['time_ratio']:.3g}", _fmt(r["prep_time"]), _fmt(r["compile_time"]),
                          "" if r["colors"] is None else str(r["colors"]))
    console.print(table)
    console.print(f"Wrote {out / 'bench.json'}, {out / 'bench.md'}, {out / 'bench.csv'} and {png.resolve()}")
    return 0


def test(args) -> int:
    from rich.table import Table

    from .testing import test_differentiation

    scenarios = select_scenarios(args.scenarios, default_sparse=False)
    backends = _backends_for(args, scenarios)
    console = _console()
    results = test_differentiation(backends, scenarios, progress=console.is_terminal, raise_on_failure=False)
    labels = list(dict.fromkeys(r.backend for r in results))
    table = Table(title="test_differentiation: passed / failed / skipped checks per scenario and backend")
    table.add_column("scenario")
    for label in labels:
        table.add_column(escape(label), justify="center", overflow="fold")
    for sc in scenarios:
        cells = []
        for label in labels:
            mine = [r for r in results if r.backend == label and r.scenario == sc.name]
            cells.append(_cell(mine))
        table.add_row(escape(sc.name), *cells)
    console.print(table)
    failures = [r for r in results if r.status == "fail"]
    for r in failures:
        console.print("[red]FAIL[/red] " + escape(f"{r.backend} | {r.scenario} | {r.operator} | {r.variant}: {r.message}"),
                      highlight=False)
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "skip")}
    console.print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped "
                  "(skipped: combinations the backend declares it cannot do).")
    return 1 if failures else 0


def _cell(results) -> str:
    passed = sum(r.status == "pass" for r in results)
    failed = sum(r.status == "fail" for r in results)
    if failed:
        return f"[red]✗ {failed} failed[/red], {passed} ok"
    if passed:
        return f"[green]✓ {passed}[/green]"
    return "[yellow]skipped" if results else ""




test.__test__ = False  # a command, not a pytest test (pytest collects functions named test*)
