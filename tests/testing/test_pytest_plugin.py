"""The pytest plugin: its fixture passes a correct backend and fails a wrong one, naming the combination."""

from __future__ import annotations

import importlib.metadata
import pathlib
import tomllib

import anydiff.pytest_plugin as plugin

pytest_plugins = ["pytester"]

ROOT = pathlib.Path(__file__).resolve().parents[2]

USER_TESTS = '''
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import anydiff as ad
from anydiff.testing import default_scenarios, structured_scenarios

SCENARIOS = [s for s in default_scenarios() if s.name == "vector->vector"] + structured_scenarios()[3:5]


@dataclass(frozen=True)
class Scaled(ad.Backend):          # a forward backend through the documented contract
    has_forward: ClassVar[bool] = True
    supports_cache: ClassVar[bool] = False
    supports_second_order: ClassVar[bool] = False
    factor: float = 1.0

    def build_pushforward(self, f, spec):
        def pushforward(x, T, ctx):
            TY = [np.imag(f(x + 1e-30j * t, *ctx)) / 1e-30 for t in T]
            return f(x, *ctx), self.factor * np.stack(TY).astype(x.dtype)
        return pushforward


def test_right(anydiff_check):
    results = anydiff_check([Scaled()], SCENARIOS, ["pushforward", "jacobian"], variants=("plain", "out"))
    assert {r.status for r in results} == {"pass"}  # out= too, on the pytree and multi-argument scenarios


def test_wrong(anydiff_check):
    anydiff_check([Scaled(factor=1.1)], SCENARIOS, ["jacobian"], variants=("plain",))
'''


def test_entry_point_is_declared():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["project"]["entry-points"]["pytest11"]["anydiff"] == plugin.__name__


def test_fixture_passes_and_fails_with_the_combinations(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    installed = any(ep.value == plugin.__name__ for ep in importlib.metadata.entry_points(group="pytest11"))
    load = () if installed else ("-p", plugin.__name__)  # a source checkout: the entry point is not installed
    result = pytester.runpytest_subprocess(*load, "-p", "no:cacheprovider", "-W", "error")  # a fresh process, as a user runs it
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*3 of 3 combinations failed:*",
        "*Scaled(factor=1.1) | vector->vector | jacobian | plain: wrong result*",
        "*Scaled(factor=1.1) | pytree vector->dict | jacobian | plain: wrong result: leaf ?'u'?: max abs error*",  # ? for the brackets (fnmatch)
    ])
