"""Every operator × backend × call variant against analytic references (anydiff.testing)."""

from __future__ import annotations

import pytest

from anydiff.testing import VARIANTS, check_operator, default_scenarios
from conftest import all_backends

SCENARIOS = default_scenarios()
CASES = [(sc, op) for sc in SCENARIOS for op in sc.operators()]


def declared_gap(backend, scenario, op):
    """Combinations a backend documents as unsupported (tested separately to raise clearly)."""
    if scenario.inplace and not backend.supports_inplace:
        return "in-place functions unsupported"
    if "Cache" in repr(scenario.contexts()) and not backend.supports_cache:
        return "Cache contexts unsupported"
    name = type(backend).__name__
    if scenario.complex and (name == "AutoAutograd" or getattr(backend, "method", None) == "complex"):
        return "complex inputs unsupported"
    return None


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("scenario,op", CASES, ids=[f"{sc.name}-{op}" for sc, op in CASES])
@pytest.mark.parametrize("backend", all_backends())
def test_operator(backend, scenario, op, variant):
    reason = declared_gap(backend, scenario, op)
    if reason:
        pytest.skip(reason)
    result = check_operator(backend, scenario, op, variant)
    assert result.ok, result.message
