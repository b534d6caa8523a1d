"""The function table is complete in every engine, its documentation is current, and a
function outside it fails with a hint in terms of the public API."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import anydiff as ad
from anydiff import _engine_table
from anydiff.rules import FUNCTIONS, KINDS, RULES, function_rule

DOC = pathlib.Path(__file__).parents[2] / "docs" / "numpy_engine.md"


@pytest.mark.parametrize("engine", list(_engine_table.ENGINES))
def test_every_engine_covers_the_whole_table(engine):
    assert _engine_table.coverage()[engine] == []


def test_every_entry_has_a_known_kind():
    assert {rule.kind for rule in FUNCTIONS.values()} <= set(KINDS)
    composites = [r for r in FUNCTIONS.values() if r.kind == "composite"]
    assert all(callable(r.impl) for r in composites)
    assert not set(FUNCTIONS) & {f for f in RULES if isinstance(f, np.ufunc) and f.signature is None}


@pytest.mark.skipif(not hasattr(np, "matvec"), reason="docs list the functions of NumPy >= 2.2")
def test_documentation_table_is_current():
    text = DOC.read_text(encoding="utf-8")
    assert _engine_table.markdown() in text, "run: python -m anydiff._engine_table docs/numpy_engine.md"


def test_rules_package_is_a_leaf():
    for path in (pathlib.Path(ad.__file__).parent / "rules").glob("*.py"):
        imports = [line for line in path.read_text(encoding="utf-8").splitlines()
                   if line.lstrip().startswith(("import ", "from "))]
        for engine in ("dual", "sparse", "reverse", "backends", "operators"):
            assert not [line for line in imports if engine in line], path


@pytest.mark.parametrize("call", [
    lambda x: np.gradient(x),
    lambda x: np.sum(np.frexp(x)[0]),
])
@pytest.mark.parametrize("run", [
    lambda f, x: ad.jacobian(f, ad.AutoNumPy(), x),
    lambda f, x: ad.jacobian_sparsity(f, x, detector=ad.TracerSparsityDetector()),
    lambda f, x: ad.jacobian_sparsity(f, x, detector=ad.TracerLocalSparsityDetector()),
])
def test_missing_rule_names_what_a_user_can_do(call, run):
    with pytest.raises(ad.MissingRuleError) as info:
        run(call, np.ones(4))
    message = str(info.value)
    assert "Hint" in message and "differentiate_with" in message and "custom_rule" in message
    assert "DenseSparsityDetector" in message
    assert "src/" not in message and ".py" not in message and "edit" not in message


def test_function_rule_lookup():
    assert function_rule(np.linalg.slogdet).zero_outputs == (0,)
    with pytest.raises(ad.MissingRuleError, match="tensorinv"):
        function_rule(np.linalg.tensorinv)
