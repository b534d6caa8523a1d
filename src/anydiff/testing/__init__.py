"""Reusable scenarios and checkers for packages that want to test their AD (and for anydiff's own tests)."""

from ._check import (
    VARIANTS,
    CheckResult,
    check_operator,
    expected_result,
    run_operator,
    test_differentiation,
)
from ._problems import (
    banded_diff,
    banded_pattern,
    brusselator_2d,
    brusselator_pattern,
    brusselator_point,
    rosenbrock_chain,
    rosenbrock_chain_hessian_pattern,
)
from ._scenarios import Scenario, default_scenarios, namespace_for

__all__ = [
    "VARIANTS",
    "CheckResult",
    "Scenario",
    "banded_diff",
    "banded_pattern",
    "brusselator_2d",
    "brusselator_pattern",
    "brusselator_point",
    "check_operator",
    "default_scenarios",
    "expected_result",
    "namespace_for",
    "rosenbrock_chain",
    "rosenbrock_chain_hessian_pattern",
    "run_operator",
    "test_differentiation",
]

from ._check_rule import RuleCheck, check_rule

__all__ += ["RuleCheck", "check_rule"]
