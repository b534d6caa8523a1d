"""Command line: ``anydiff demo | sparsity | recommend | bench | test`` (also ``python -m anydiff``).

Bad input (a module or function not found, a function that raises, a wrong shape, a backend
that is not installed) prints one line and exits with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

__all__ = ["main", "CommandError"]


class CommandError(Exception):
    """A user error on the command line: printed as one line, exit status 2."""


def _fmt(t):
    if t is None:
        return "—"
    return f"{t * 1e6:.1f} µs" if t < 1e-3 else (f"{t * 1e3:.2f} ms" if t < 1 else f"{t:.2f} s")


def _console():
    from rich.console import Console

    console = Console()
    if console.width < 110:  # logs and pipes: keep the tables readable
        console = Console(width=110)
    return console


# ----------------------------------------------------------------------------- inputs
def load_function(target: str):
    """``MODULE:FUNCTION`` (a module name or a ``.py`` path) to the function object."""
    module_name, sep, func_name = target.rpartition(":")
    if not sep or not module_name or not func_name:
        raise CommandError(f"{target!r} is not MODULE:FUNCTION (e.g. mypkg.models:residual or model.py:f)")
    try:
        if module_name.endswith(".py") or Path(module_name).is_file():
            path = Path(module_name)
            if not path.is_file():
                raise CommandError(f"file {module_name!r} not found")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise CommandError(f"module {module_name!r} not found ({err})") from err
    except CommandError:
        raise
    except Exception as err:  # noqa: BLE001 - importing user code can raise anything
        raise CommandError(f"importing {module_name!r} raised {type(err).__name__}: {err}") from err
    func = getattr(module, func_name, None)
    if not callable(func):
        raise CommandError(f"module {module_name!r} has no function {func_name!r}")
    return func


def parse_shape(text: str) -> tuple:
    """``"100"`` → ``(100,)``, ``"10,10"`` → ``(10, 10)``."""
    try:
        shape = tuple(int(p) for p in text.replace("x", ",").split(",") if p.strip() != "")
    except ValueError:
        shape = ()
    if not shape or any(s <= 0 for s in shape):
        raise CommandError(f"--shape {text!r} is not a shape; use e.g. --shape 100 or --shape 10,10")
    return shape


def make_input(args):
    """The evaluation point: ``--x file.npy`` or random uniform(0.5, 1.5) of ``--shape``, in ``--dtype``."""
    import numpy as np

    dtype = np.dtype(args.dtype)
    if args.x is not None:
        try:
            x = np.load(args.x)
        except (OSError, ValueError) as err:
            raise CommandError(f"cannot read --x {args.x!r}: {err}") from err
        return np.asarray(x, dtype=dtype)
    if args.shape is None:
        raise CommandError("give the input with --shape N (or N,M) or --x file.npy")
    return np.random.default_rng(args.seed).uniform(0.5, 1.5, parse_shape(args.shape)).astype(dtype)


def evaluate(f, x):
    """Call ``f(x)`` once, turning an exception into a one-line error."""
    import numpy as np

    try:
        return np.asarray(f(x))
    except Exception as err:  # noqa: BLE001 - user code
        text = f"{type(err).__name__}: {err}".splitlines()[0]
        raise CommandError(f"f raised {text} at x of shape {x.shape}") from err


def enable_x64(dtype: str) -> None:
    """The command line works in the requested precision: 64-bit JAX for float64 inputs."""
    if dtype == "float64" and importlib.util.find_spec("jax") is not None:
        import jax

        jax.config.update("jax_enable_x64", True)


def resolve_backends(names):
    """Backend objects from names (``jax``, ``torch-forward``, ``numpy``, ``fd`` ...), checked installed."""
    from . import resolve_backend
    from ._errors import AnyDiffError

    out = []
    for name in names:
        try:
            b = resolve_backend(name)
            b.check_available()
        except AnyDiffError as err:
            raise CommandError(str(err).replace("\n", " ")) from err
        out.append(b)
    return out


# ----------------------------------------------------------------------------- parser
def _input_options(p):
    p.add_argument("target", help="MODULE:FUNCTION (module name or path/to/file.py)")
    p.add_argument("--shape", default=None, help="input shape, e.g. 100 or 10,10 (random point in [0.5, 1.5))")
    p.add_argument("--x", default=None, help="input point from a .npy file")
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument("--seed", type=int, default=0)


def build_parser():
    from . import _cli_commands as cmd

    parser = argparse.ArgumentParser(prog="anydiff", description="One interface to every Python AD backend.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    sub_add = sub.add_parser
    sub.add_parser = lambda name, **kw: sub_add(name, parents=[common], **kw)
    p = sub.add_parser("demo", help="differentiate a real problem with every installed backend")
    p.add_argument("-n", type=int, default=100, help="problem size (default 100)")
    p.add_argument("--grid", type=int, default=32, help="Brusselator grid size N for the sparse part")
    p.add_argument("--png", default="anydiff-demo-coloring.png", help="picture of the coloring (PNG)")
    p.set_defaults(func=cmd.demo)
    p = sub.add_parser("sparsity", help="detect, color and draw the sparsity pattern of f's Jacobian or Hessian")
    _input_options(p)
    p.add_argument("--hessian", action="store_true", help="the Hessian of a scalar f instead of the Jacobian")
    p.add_argument("--png", default=None, help="write a picture of the best coloring to this PNG file")
    p.set_defaults(func=cmd.sparsity)
    p = sub.add_parser("recommend", help="run every installed backend on f and recommend one")
    _input_options(p)
    p.add_argument("--operator", default=None, help="gradient (scalar f), jacobian (default otherwise), hessian ...")
    p.add_argument("--backends", nargs="+", default=None, help="candidates (default: every installed backend)")
    p.add_argument("--budget", type=float, default=5.0, help="rough time budget in seconds")
    p.set_defaults(func=cmd.recommend)
    p = sub.add_parser("bench", help="benchmark backends on the standard scenarios")
    p.add_argument("--backends", nargs="+", default=None, help="default: every installed backend")
    p.add_argument("--scenarios", nargs="+", default=None,
                   help="names or substrings of scenario names; 'sparse' for the sparse scenarios, "
                   "'structured' for pytrees and several active arguments")
    p.add_argument("--operators", nargs="+", default=None)
    p.add_argument("--seconds", type=float, default=0.2, help="timing budget per combination")
    p.add_argument("--out", default="anydiff-bench", help="directory for bench.json, bench.md, bench.csv, bench.png")
    p.set_defaults(func=cmd.bench)
    p = sub.add_parser("test", help="test_differentiation on the default scenarios: a pass/fail table")
    p.add_argument("--backends", nargs="+", default=None, help="default: every installed backend")
    p.add_argument("--scenarios", nargs="+", default=None,
                   help="names or substrings; 'sparse' adds the sparse ones, 'structured' the pytree and multi-argument ones")
    p.set_defaults(func=cmd.test)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``anydiff`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CommandError as err:
        if getattr(args, "debug", False):
            raise
        print(f"anydiff {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
