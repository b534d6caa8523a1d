"""The package itself: lazy imports, explicit re-exports, version, and a hint on every error."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import pathlib
import pkgutil
import subprocess
import sys

import pytest

import anydiff as ad

SRC = pathlib.Path(ad.__file__).parent


def test_import_is_light():
    code = (
        "import sys, anydiff\n"
        "heavy = [m for m in ('numba', 'matplotlib', 'jax', 'torch', 'autograd') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import anydiff imported {out.stdout.strip()}"


def test_public_names_resolve_and_no_star_imports():
    assert all(hasattr(ad, name) for name in ad.__all__)
    assert len(set(ad.__all__)) == len(ad.__all__)
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert all(a.name != "*" for a in node.names), f"star import in {path}"


def test_version_from_metadata():
    assert ad.__version__ == importlib.metadata.version("anydiff")


def test_min_constraints_pin_every_lower_bound():
    """constraints-min.txt (``make test-min``) installs each lower bound of pyproject.toml."""
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement
    from packaging.version import Version

    root = SRC.parent.parent
    if not (root / "constraints-min.txt").exists():
        pytest.skip("not a source checkout")
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    extras = project["optional-dependencies"]
    reqs += [Requirement(r) for extra in ("jax", "autograd", "plot", "test") for r in extras[extra]]
    lines = (root / "constraints-min.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    for req in reqs:
        (bound,) = [Version(s.version) for s in req.specifier if s.operator == ">="]
        pin = Version(pins[req.name])  # the lowest release of the bound's series: 1.13 -> 1.13.0, 9.8 -> 9.8.3296
        assert pin >= bound and pin.release[: len(bound.release)] == bound.release, (req, pin)


def _error_classes():
    for info in pkgutil.walk_packages([str(SRC)], "anydiff."):
        try:
            importlib.import_module(info.name)
        except ImportError:  # optional dependency missing: its raise sites are still scanned
            pass
    found, todo = {}, [ad.AnyDiffError]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo += cls.__subclasses__()
    return found


def _raise_sites():
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                fn = node.exc.func
                name = fn.id if isinstance(fn, ast.Name) else getattr(fn, "attr", None)
                yield f"{path.relative_to(SRC)}:{node.lineno}", name, node.exc


def test_every_raise_site_carries_a_hint():
    classes = _error_classes()
    sites = [(where, classes[name], call) for where, name, call in _raise_sites() if name in classes]
    assert len(sites) > 100  # the scan sees the whole package
    missing = []
    for where, cls, call in sites:
        texts = [n.value for n in ast.walk(call) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        names = [n.id for n in ast.walk(call) if isinstance(n, ast.Name)]
        # a site's own hint: a literal "Hint:", a shared hint constant (``_HINT``, ``missing_rule_hint(...)``),
        # the message of a wrapped anydiff error (which carries its hint), or an "Internal error" (a bug to report)
        own = (
            any("Hint" in s or s.startswith("Internal error") for s in texts)
            or any("hint" in name.lower() for name in names)
            or ("err" in names and isinstance(call.args[0], ast.JoinedStr))
        )
        if not own and cls.__init__ is ad.AnyDiffError.__init__:  # classes with their own __init__ add one
            missing.append(f"{where} {cls.__name__}")
    assert not missing, "raise sites without a specific hint:\n" + "\n".join(missing)


@pytest.mark.parametrize("name", sorted(_error_classes()))
def test_every_error_class_adds_a_hint(name):
    cls = _error_classes()[name]
    if name == "BackendNotInstalledError":
        err = cls("X", "x", "x")
    else:
        err = cls("something went wrong.")
    assert "\nHint: " in str(err)
    with_own = cls("bad.\nHint: do this.") if name != "BackendNotInstalledError" else err
    assert str(with_own).count("Hint:") == 1
