"""Test and benchmark any AD backend on shared scenarios (for anydiff's tests and other packages').

A package checks its backend in a few lines::

    from anydiff.testing import test_differentiation, default_scenarios, sparse_scenarios, structured_scenarios
    test_differentiation([MyBackend()], default_scenarios() + structured_scenarios() + sparse_scenarios())

``structured_scenarios()`` holds pytree inputs/outputs and several active arguments; from
pytest, the ``anydiff_check`` fixture (:mod:`anydiff.pytest_plugin`) does the same in one line.
"""

from ._benchmark import benchmark_differentiation
from ._check import (
    VARIANTS, CheckResult, backend_label, check_operator, declared_gap, expected_result, run_operator, tolerances,
)
from ._compiles import CompileCounter
from ._harness import check_case, check_threads, differentiation_cases, format_failures, test_differentiation
from ._records import COLUMNS, BenchmarkRecords
from ._problems import (
    banded_diff, banded_pattern, brusselator_2d, brusselator_pattern, brusselator_point,
    rosenbrock_chain, rosenbrock_chain_gradient, rosenbrock_chain_hessian, rosenbrock_chain_hessian_pattern,
)
from ._scenarios import Scenario, default_scenarios, namespace_for
from ._sparse_scenarios import arrowhead, arrowhead_pattern, sparse_scenarios
from ._structured_scenarios import structured_scenarios
from ._transform import batchify, cachify, change_dtype, closurify, constantify, float32_scenarios

__all__ = [
    "Scenario", "default_scenarios", "sparse_scenarios", "structured_scenarios", "namespace_for",
    "batchify", "closurify", "constantify", "cachify", "change_dtype", "float32_scenarios",
    "VARIANTS", "CheckResult", "backend_label", "check_operator", "declared_gap", "expected_result", "run_operator",
    "tolerances", "test_differentiation", "check_threads", "differentiation_cases", "check_case",
    "format_failures", "CompileCounter", "benchmark_differentiation", "BenchmarkRecords", "COLUMNS",
    "brusselator_2d", "brusselator_pattern", "brusselator_point", "banded_diff", "banded_pattern",
    "rosenbrock_chain", "rosenbrock_chain_gradient", "rosenbrock_chain_hessian",
    "rosenbrock_chain_hessian_pattern", "arrowhead", "arrowhead_pattern",
]

from ._check_rule import RuleCheck, check_rule

__all__ += ["RuleCheck", "check_rule"]
