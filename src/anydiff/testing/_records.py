"""Benchmark records: a list of dicts that exports to CSV, markdown, JSON, pandas and a PNG plot."""

from __future__ import annotations

import csv
import json
from pathlib import Path

__all__ = ["COLUMNS", "BenchmarkRecords"]

#: Columns of every benchmark record, in order.
COLUMNS = (
    "backend", "scenario", "operator", "prepared", "f_calls", "time_min", "time_median", "samples",
    "prep_time", "compile_time", "peak_memory", "time_ratio", "colors", "color_bound", "compressed_ratio",
    "error",
)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


class BenchmarkRecords(list):
    """The records of :func:`benchmark_differentiation`: one dict per backend × scenario × operator × prepared.

    Columns: ``backend``, ``scenario``, ``operator``, ``prepared`` (bool); ``f_calls``: calls
    of the Python function ``f`` during one operator call (counted; 0 when the call runs
    compiled code only); ``time_min``, ``time_median`` (seconds) over ``samples`` calls;
    ``prep_time``: ``prepare_<op>`` (prepared rows); ``compile_time``: seconds JAX spent
    compiling during preparation and the first call (None without JAX); ``peak_memory``:
    bytes, peak of ``tracemalloc`` during one call; ``time_ratio``: ``time_min`` ÷ one NumPy
    evaluation of ``f``; for sparse results ``colors``, ``color_bound`` (the most nonzeros in a
    row, resp. column: no coloring needs fewer colors) and ``compressed_ratio``: ``time_min`` ÷
    (``colors`` × one evaluation of ``f``), the cost relative to the compressed limit;
    ``error``: the exception text when the combination failed.

    Examples
    --------
    >>> from anydiff.testing import BenchmarkRecords
    >>> records = BenchmarkRecords([{"backend": "b", "scenario": "s", "operator": "gradient", "time_min": 1e-5}])
    >>> print(records.to_markdown(columns=("backend", "operator", "time_min")))
    | backend | operator | time_min |
    |---|---|---|
    | b | gradient | 1e-05 |
    """

    def to_markdown(self, columns=COLUMNS) -> str:
        """A markdown table of the given columns."""
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_cell(r.get(c)) for c in columns) + " |" for r in self]
        return "\n".join(lines)

    def to_csv(self, path) -> Path:
        """Write a CSV file with every column; returns its path."""
        path = Path(path)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self)
        return path

    def to_json(self, path) -> Path:
        """Write the records as a JSON list; returns its path."""
        path = Path(path)
        path.write_text(json.dumps(list(self), indent=1))
        return path

    def to_pandas(self):
        """A ``pandas.DataFrame`` (pandas is an optional dependency)."""
        try:
            import pandas as pd
        except ImportError as err:
            from .._errors import BackendNotInstalledError

            raise BackendNotInstalledError("to_pandas export", "pandas", "pandas") from err
        return pd.DataFrame(list(self), columns=list(COLUMNS))

    def plot(self, path, *, title: str = "anydiff benchmark") -> Path:
        """Bar chart of prepared ``time_ratio`` (time ÷ one f) per scenario/operator and backend (PNG)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = [r for r in self if r.get("prepared") and r.get("time_ratio")]
        groups = list(dict.fromkeys(f"{r['scenario']}\n{r['operator']}" for r in rows))
        backends = list(dict.fromkeys(r["backend"] for r in rows))
        width = 0.8 / max(1, len(backends))
        fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(groups) + 2), 4.5))
        for k, b in enumerate(backends):
            xs, hs = [], []
            for r in rows:
                if r["backend"] == b:
                    xs.append(groups.index(f"{r['scenario']}\n{r['operator']}") + (k - (len(backends) - 1) / 2) * width)
                    hs.append(r["time_ratio"])
            ax.bar(xs, hs, width=width, label=_short(b))
        ax.set_yscale("log")
        ax.set_xticks(range(len(groups)), groups, fontsize=7)
        ax.set_ylabel("prepared call time ÷ one evaluation of f")
        ax.set_title(title)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."
