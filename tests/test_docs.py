"""The Python examples in README.md and docs/*.md run as written (in order, per file)."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_examples_run(path):
    pytest.importorskip("jax")
    pytest.importorskip("torch")
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), re.S)
    assert blocks, f"no python examples found in {path.name}"
    namespace = {}
    for k, code in enumerate(blocks):
        exec(compile(code, f"{path.name} example {k}", "exec"), namespace)  # noqa: S102
