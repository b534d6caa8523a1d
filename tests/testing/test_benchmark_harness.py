"""benchmark_differentiation records have the documented columns and export to CSV, markdown, JSON and PNG."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import anydiff as ad
from anydiff.testing import COLUMNS, benchmark_differentiation, default_scenarios, sparse_scenarios, structured_scenarios


def test_records_columns_and_exports(tmp_path):
    scenarios = [s for s in default_scenarios() if s.name == "vector->scalar"] + sparse_scenarios(n=8, grid=3)[1:2]
    backends = [ad.AutoNumPy(), ad.AutoSparse(ad.AutoNumPy()), ad.AutoFiniteDiff()]
    records = benchmark_differentiation(backends, scenarios, ["gradient", "jacobian"], seconds=0.002)
    assert records and all(set(r) == set(COLUMNS) for r in records)
    assert all(r["error"] is None for r in records)
    by = {(r["backend"], r["scenario"], r["operator"], r["prepared"]): r for r in records}
    # calls of f are counted: AutoNumPy's gradient is one dual evaluation, central differences 2n (+1 value)
    assert by[("AutoNumPy()", "vector->scalar", "gradient", True)]["f_calls"] == 1
    assert by[("AutoFiniteDiff()", "vector->scalar", "gradient", True)]["f_calls"] == 2 * 3 + 1
    sparse = by[("AutoSparse(AutoNumPy())", "banded k=2 n=8", "jacobian", True)]
    assert sparse["colors"] == 3 and sparse["color_bound"] == 3 and sparse["compressed_ratio"] > 0
    for r in records:
        assert 0 < r["time_min"] <= r["time_median"] and r["samples"] >= 3 and r["peak_memory"] > 0
        assert r["time_ratio"] > 0 and (r["prep_time"] is not None) == r["prepared"]
    paths = [records.to_csv(tmp_path / "b.csv"), records.to_json(tmp_path / "b.json"), records.plot(tmp_path / "b.png")]
    assert all(p.stat().st_size > 0 for p in paths)
    with open(paths[0]) as fh:
        assert tuple(csv.DictReader(fh).fieldnames) == COLUMNS
    assert len(json.loads(paths[1].read_text())) == len(records)
    assert paths[2].read_bytes()[:4] == b"\x89PNG"
    md = records.to_markdown()
    assert md.count("\n") == len(records) + 1 and "| backend |" in md


def test_failing_combination_becomes_an_error_record():
    def bad(xp):
        return lambda x: xp.sum(x) + np.asarray(x).item(0)  # not traceable by the dual engine

    from dataclasses import replace

    sc = replace(default_scenarios()[2], name="untraceable", make=bad)
    records = benchmark_differentiation([ad.AutoNumPy()], [sc], ["gradient"], seconds=0.001)
    assert len(records) == 1 and records[0]["error"] and records[0]["time_min"] is None


def test_to_pandas_is_optional():
    records = benchmark_differentiation([ad.AutoNumPy()], default_scenarios()[:1], ["derivative"], seconds=0.001)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ad.BackendNotInstalledError, match="pandas"):
            records.to_pandas()
    else:
        assert list(records.to_pandas().columns) == list(COLUMNS)


def test_pytree_and_multiarg_scenarios_give_the_same_records():
    sc = structured_scenarios()
    pytree, multiarg = sc[0], sc[4]  # a dict of 8 entries; two arguments with 3 + 4 entries and a Constant
    records = benchmark_differentiation([ad.AutoNumPy(), ad.AutoFiniteDiff()], [pytree, multiarg], ["gradient", "jacobian"],
                                        seconds=0.001)
    assert len(records) == 2 * 2 * 2 * 2 and all(tuple(r) == COLUMNS and r["error"] is None for r in records)
    calls = {(r["backend"], r["scenario"]): r["f_calls"] for r in records}
    # the user's f is counted (not the flattened wrapper): one dual evaluation; central differences 2n + 1
    assert calls[("AutoNumPy()", pytree.name)] == calls[("AutoNumPy()", multiarg.name)] == 1
    assert calls[("AutoFiniteDiff()", pytree.name)] == 2 * 8 + 1 and calls[("AutoFiniteDiff()", multiarg.name)] == 2 * 7 + 1
