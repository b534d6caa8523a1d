"""Command line: ``anydiff demo``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _fmt(t):
    if t is None:
        return "—"
    return f"{t * 1e6:.1f} µs" if t < 1e-3 else (f"{t * 1e3:.2f} ms" if t < 1 else f"{t:.2f} s")


def _err(e):
    return "—" if e is None else f"{e:.1e}"


def demo(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from ._demo import run_dense_demo

    console = Console()
    if console.width < 110:  # logs and pipes: keep the tables readable
        console = Console(width=110)
    console.print(f"[bold]anydiff demo[/bold]: chained Rosenbrock, n = {args.n}; gradient and Hessian "
                  "with every installed backend, checked against the analytic derivatives.")
    rows = run_dense_demo(n=args.n)
    table = Table(title="Dense derivatives (prepared calls; errors relative to the analytic values)")
    for col in ("backend", "gradient err", "gradient time", "Hessian err", "Hessian time", "prepare", "agrees"):
        table.add_column(col, justify="right" if col != "backend" else "left")
    for r in rows:
        if "error" in r:
            table.add_row(r["backend"], "[red]" + r["error"][:60], "", "", "", "", "[red]no")
            continue
        table.add_row(
            r["backend"], _err(r["gradient_error"]), _fmt(r["gradient_s"]), _err(r["hessian_error"]),
            _fmt(r["hessian_s"]), _fmt(r["prepare_s"]), "[green]yes" if r["ok"] else "[red]no",
        )
    console.print(table)
    from ._demo_sparse import run_sparse_demo

    sparse_ok = run_sparse_demo(console, args)
    ok = all(r["ok"] for r in rows) and sparse_ok
    console.print("[bold green]All backends agree." if ok else "[bold red]Some backends disagree or failed.")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="anydiff", description="One interface to every Python AD backend.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="differentiate a real problem with every installed backend")
    p.add_argument("-n", type=int, default=100, help="problem size (default 100)")
    p.add_argument("--grid", type=int, default=32, help="Brusselator grid size N for the sparse part")
    p.add_argument("--png", default=None, help="write a picture of the coloring to this PNG file")
    p.set_defaults(func=demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
