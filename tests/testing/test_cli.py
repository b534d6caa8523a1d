"""Every CLI command end to end in a subprocess on a small problem; bad input exits cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")

MODEL = textwrap.dedent("""
    import numpy as np

    def residual(x):
        return np.diff(x**2) + np.sin(x[:-1])

    def energy(x):
        return np.sum((x[1:] - x[:-1]**2)**2) + np.sum(np.cos(x))

    def broken(x):
        raise ValueError("negative mass")
""")


def run(tmp_path, *args, timeout=900):  # generous: a loaded CI machine is slow to import jax/torch
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "anydiff", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def model(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    return tmp_path


def test_sparsity_jacobian_and_png(model):
    out = run(model, "sparsity", "model.py:residual", "--shape", "30", "--png", "s.png")
    assert out.returncode == 0, out.stderr
    assert "29 × 30, 58 nonzeros" in out.stdout and "column (forward)" in out.stdout
    assert (model / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert str((model / "s.png").resolve()) in out.stdout.replace("\n", "")


def test_sparsity_hessian_from_npy(model):
    np.save(model / "x.npy", np.linspace(0.5, 1.5, 12))
    out = run(model, "sparsity", "model:energy", "--x", "x.npy", "--hessian", "--dtype", "float32")
    assert out.returncode == 0, out.stderr
    assert "12 × 12, 34 nonzeros" in out.stdout and "star (direct)" in out.stdout


def test_recommend_table(model):
    out = run(model, "recommend", "model.py:energy", "--shape", "10", "--backends", "numpy", "fd", "complex_step",
              "--budget", "0.3")
    assert out.returncode == 0, out.stderr
    assert "gradient of f: R^10 → R^1; reverse mode" in out.stdout
    assert "Recommended: AutoNumPy()" in out.stdout


def test_bench_writes_json_markdown_png(model):
    out = run(model, "bench", "--backends", "numpy", "fd", "--scenarios", "vector->scalar", "banded",
              "--operators", "gradient", "jacobian", "--seconds", "0.005", "--out", "res")
    assert out.returncode == 0, out.stderr
    records = json.loads((model / "res" / "bench.json").read_text())
    assert {r["scenario"] for r in records} == {"vector->scalar", "banded k=2 n=24"}
    assert "| backend |" in (model / "res" / "bench.md").read_text()
    assert (model / "res" / "bench.png").read_bytes()[:4] == b"\x89PNG"
    assert (model / "res" / "bench.csv").exists()


def test_test_command_table(model):
    out = run(model, "test", "--backends", "numpy", "--scenarios", "vector->scalar", "in-place")
    assert out.returncode == 0, out.stderr + out.stdout
    assert "AutoNumPy()" in out.stdout and "✓" in out.stdout and "0 failed" in out.stdout


def test_bad_input_in_a_subprocess_is_one_line(model):
    out = run(model, "sparsity", "model.py:broken", "--shape", "3", timeout=900)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == "anydiff sparsity: error: f raised ValueError: negative mass at x of shape (3,)"


@pytest.mark.parametrize("args, message", [
    (("sparsity", "nomod_anydiff_test:f", "--shape", "3"), "module 'nomod_anydiff_test' not found"),
    (("sparsity", "model.py:nothere", "--shape", "3"), "has no function 'nothere'"),
    (("sparsity", "missing.py:f", "--shape", "3"), "file 'missing.py' not found"),
    (("recommend", "model.py:energy", "--shape", "3,a"), "--shape '3,a' is not a shape"),
    (("recommend", "model.py:energy"), "give the input with --shape"),
    (("recommend", "model.py:energy", "--x", "nothere.npy"), "cannot read --x 'nothere.npy'"),
    (("recommend", "model.py:energy", "--shape", "3", "--backends", "nosuch"), "Unknown backend 'nosuch'"),
    (("recommend", "model.py:energy", "--shape", "3", "--operator", "curl"), "is not supported"),
    (("sparsity", "model.py:energy", "--shape", "3", "--hessian", "--png", "x.png"), None),
    (("sparsity", "model.py:residual", "--shape", "3", "--hessian"), "--hessian needs a scalar f"),
    (("test", "--scenarios", "no-such-scenario"), "no scenario matches"),
    (("sparsity", "model.py", "--shape", "3"), "is not MODULE:FUNCTION"),
])
def test_bad_input_is_one_line(model, monkeypatch, capsys, args, message):
    from anydiff import cli

    monkeypatch.chdir(model)
    status = cli.main(list(args))
    err = capsys.readouterr().err
    if message is None:  # the control: a good call
        assert status == 0 and err == ""
        return
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_debug_shows_the_traceback(model, monkeypatch):
    from anydiff import cli

    monkeypatch.chdir(model)
    with pytest.raises(cli.CommandError, match="negative mass") as info:
        cli.main(["sparsity", "model.py:broken", "--shape", "3", "--debug"])
    assert isinstance(info.value.__cause__, ValueError)


def test_backend_not_installed_is_one_line(monkeypatch, capsys):
    from anydiff import cli
    from anydiff.backends import AutoJax

    monkeypatch.setattr(AutoJax, "package", "jax_is_not_installed_here")
    assert cli.main(["test", "--backends", "jax"]) == 2
    err = capsys.readouterr().err
    assert "needs the package 'jax_is_not_installed_here'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow  # every installed backend, compiled: the slowest CLI test (still runs in CI)
def test_demo_small_writes_its_picture(tmp_path):
    out = run(tmp_path, "demo", "-n", "8", "--grid", "4", "--png", "demo.png")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "All backends agree." in out.stdout
    assert (tmp_path / "demo.png").read_bytes()[:4] == b"\x89PNG"
    assert str((tmp_path / "demo.png").resolve()) in out.stdout.replace("\n", "")


def test_structured_scenarios_are_selectable_by_name():
    from anydiff._cli_commands import select_scenarios

    chosen = select_scenarios(["structured"], default_sparse=False)
    assert chosen and all(s.structured for s in chosen)
    assert [s.name for s in select_scenarios(["namedtuple"], default_sparse=False)] == ["pytree namedtuple->dict"]
