"""Every operator × backend × call variant against analytic references (anydiff.testing).

Pytree and multi-argument scenarios (``structured_scenarios``) run in the same matrix; the call
variants anydiff refuses for them are reported as skips with the reason.
"""

from __future__ import annotations

import pytest

from anydiff.testing import VARIANTS, check_operator, default_scenarios, float32_scenarios, structured_scenarios
from conftest import all_backends

SCENARIOS = default_scenarios() + float32_scenarios() + structured_scenarios()  # float32 in, float32 out
CASES = [(sc, op) for sc in SCENARIOS for op in sc.operators()]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("scenario,op", CASES, ids=[f"{sc.name}-{op}" for sc, op in CASES])
@pytest.mark.parametrize("backend", all_backends())
def test_operator(backend, scenario, op, variant):
    result = check_operator(backend, scenario, op, variant)
    if result.skipped:  # a gap the backend declares through its capability flags
        pytest.skip(result.skipped)
    assert result.ok, result.message
