"""``ad.recommend``: the choice of an AD backend as a decision tree you can run.

Does it execute? Is the derivative right? Is it fast enough? Every installed candidate (dense
and sparse, forward and reverse, the NumPy engine, finite differences) is run on the user's
own function and point; the mode follows from the input and output sizes and the operator,
sparsity is detected and reported, and each verdict carries its reason.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field

import numpy as np

from . import operators as ops
from ._arrays import as_input, to_numpy
from ._errors import InputError
from .backends import AutoAutograd, AutoFiniteDiff, AutoJax, AutoNumPy, AutoTorch, resolve_backend

__all__ = ["recommend", "Recommendation"]

OPERATORS = ("gradient", "jacobian", "hessian", "derivative", "second_derivative")


@dataclass
class Recommendation:
    """What :func:`recommend` found: one row per candidate, the best backend and why.

    Attributes
    ----------
    best : Backend or None
        The fastest candidate that executes and agrees with the reference (None if none does).
    rows : list of dict
        Per candidate: ``backend`` (object), ``label``, ``verdict`` (``"best"``, ``"ok"``,
        ``"wrong"``, ``"fails"``), ``reason``, ``error``, ``fix``, ``max_error`` (relative
        to the reference), ``prep_time``, ``time_prepared``, ``time_unprepared`` (seconds).
    mode : str
        The mode the sizes call for (``"forward"``, ``"reverse"``, ``"forward-over-reverse"``).
    sparsity : dict or None
        ``nnz``, ``density``, ``colors`` of the detected pattern (Jacobian/Hessian), or
        ``error`` if detection failed.
    """

    operator: str
    n: int
    m: int
    mode: str
    reason_mode: str
    reference: str = ""
    sparsity: dict | None = None
    rows: list = field(default_factory=list)
    best: object = None

    def table(self):
        """The report as a ``rich.table.Table``."""
        from rich.markup import escape
        from rich.table import Table

        title = f"{self.operator} of f: R^{self.n} → R^{self.m}; {self.mode} mode ({self.reason_mode})"
        table = Table(title=escape(title), caption=escape(self._caption()))
        for col in ("backend", "verdict", "rel. error", "prepared", "unprepared", "preparation", "reason"):
            table.add_column(col, justify="left" if col in ("backend", "verdict", "reason") else "right",
                             overflow="fold")
        colors = {"best": "bold green", "ok": "green", "wrong": "red", "fails": "red"}
        for r in self.rows:
            table.add_row(escape(r["label"]), f"[{colors[r['verdict']]}]{r['verdict']}", _num(r["max_error"]),
                          _time(r["time_prepared"]), _time(r["time_unprepared"]), _time(r["prep_time"]),
                          escape(r["reason"]))
        return table

    def _caption(self):
        parts = [f"reference: {self.reference}"]
        if self.sparsity and "nnz" in self.sparsity:
            s = self.sparsity
            parts.append(f"sparsity: {s['nnz']} nonzeros ({100 * s['density']:.1f} % dense), {s['colors']} colors")
        elif self.sparsity:
            parts.append(f"sparsity not detected: {self.sparsity['error']}")
        return "; ".join(parts)

    def __rich__(self):
        return self.table()

    def __str__(self):
        import io

        from rich.console import Console

        console = Console(width=150, file=io.StringIO(), color_system=None)
        console.print(self.table())
        return console.file.getvalue()


def _time(t):
    if t is None:
        return "—"
    return f"{t * 1e6:.1f} µs" if t < 1e-3 else (f"{t * 1e3:.2f} ms" if t < 1 else f"{t:.2f} s")


def _num(e):
    return "—" if e is None else f"{e:.1e}"


def installed_library_backends() -> list:
    """The JAX (reverse, forward), torch (reverse, forward) and autograd configurations whose
    library is importable (the NumPy-based backends are always there)."""
    out = []
    if importlib.util.find_spec("jax") is not None:
        out += [AutoJax(), AutoJax(mode="forward")]
    if importlib.util.find_spec("torch") is not None:
        out += [AutoTorch(), AutoTorch(mode="forward")]
    if importlib.util.find_spec("autograd") is not None:
        out.append(AutoAutograd())
    return out


def default_candidates(operator: str, sparse: bool = False) -> list:
    """Every installed backend configuration worth trying for ``operator`` (plus sparse ones).

    Examples
    --------
    >>> from anydiff._recommend import default_candidates
    >>> [type(b).__name__ for b in default_candidates("gradient")][-2:]
    ['AutoFiniteDiff', 'AutoFiniteDiff']
    """
    out = installed_library_backends()
    out.append(AutoNumPy())
    try:
        out.append(AutoNumPy(mode="reverse"))  # type: ignore[call-arg]
    except (TypeError, InputError):  # a NumPy engine without reverse mode
        pass
    out += [AutoFiniteDiff(), AutoFiniteDiff(method="complex")]
    if sparse and operator in ("jacobian", "hessian"):
        from .sparse import AutoSparse

        dense = [b for b in out if not isinstance(b, (AutoTorch, AutoAutograd))]  # no tracer for these
        out += [AutoSparse(b) for b in dense if not (isinstance(b, AutoFiniteDiff) and b.method == "complex")]
    return out


def _mode(operator, n, m):
    if operator == "gradient":
        return "reverse", "scalar output: one pullback gives the whole gradient"
    if operator in ("derivative", "second_derivative"):
        return "forward", "scalar input: one pushforward"
    if operator == "hessian":
        return "forward-over-reverse", "n Hessian-vector products, each a pushforward of the gradient"
    if n <= m:
        return "forward", f"n = {n} ≤ m = {m}: n pushforwards"
    return "reverse", f"n = {n} > m = {m}: m pullbacks"


def _detect(f, x, contexts, operator):
    """Detected pattern statistics (Jacobian or Hessian), trying the NumPy tracer, then JAX's."""
    if operator not in ("jacobian", "hessian"):
        return None
    from .sparse import JaxSparsityDetector, TracerSparsityDetector, coloring, hessian_sparsity, jacobian_sparsity

    errors = []
    for detector in (TracerSparsityDetector(), JaxSparsityDetector()):
        try:
            if operator == "jacobian":
                S = jacobian_sparsity(f, x, *contexts, detector=detector)
                colors = coloring.color(S, partition="column").ncolors
            else:
                S = hessian_sparsity(f, x, *contexts, detector=detector)
                colors = coloring.color(S, "symmetric").ncolors
        except Exception as err:  # noqa: BLE001 - reported, not raised
            errors.append(f"{type(detector).__name__}: {_first_line(err)}")
            continue
        return {"nnz": int(S.nnz), "density": S.nnz / max(1, S.shape[0] * S.shape[1]), "colors": int(colors),
                "detector": type(detector).__name__, "pattern": S}
    return {"error": "; ".join(errors)}


def _first_line(err, limit: int = 120) -> str:
    text = f"{type(err).__name__}: {err}".strip().splitlines()[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: (pieces of a foreign error message, what to do), for errors that carry no anydiff Hint.
_FIXES = (
    (("Tracer", "jax"), "f calls NumPy on JAX values: write f with jax.numpy, or use ad.AutoNumPy()"),
    (("ConcretizationTypeError",), "f branches on values: use jnp.where / lax.cond, or ad.AutoNumPy()"),
    (("immutable", "item assignment"), "f writes into an array: use ad.AutoNumPy() or ad.AutoTorch()"),
    (("keyword argument 'axis'", "keyword argument 'keepdims'"),
     "f calls NumPy functions on torch tensors: write f with torch functions, or use ad.AutoNumPy()"),
    (("Tensor", "numpy"), "f mixes NumPy and torch: write f with torch functions, or use ad.AutoNumPy()"),
    (("ArrayBox",), "f calls functions autograd cannot follow: write f with autograd.numpy, or use ad.AutoNumPy()"),
    (("complex",), "f is not complex-safe: use method='central' finite differences"),
)


def _fix(err) -> str:
    text = f"{type(err).__name__}: {err}"
    if "Hint:" in text:
        return text.split("Hint:", 1)[1].strip().splitlines()[0]
    for pieces, fix in _FIXES:
        if any(p in text for p in pieces):
            return fix
    return "see the error text; another candidate may run f as written"


def _best_time(fn, budget):
    t_end, best, k = time.perf_counter() + budget, np.inf, 0
    while k < 2 or (time.perf_counter() < t_end and k < 1000):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        k += 1
    return best


def _run(backend, f, x, contexts, operator, budget):
    """One candidate: its result, the times, or the error and the fix (its warnings are not the caller's)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _run_quietly(backend, f, x, contexts, operator, budget)


def _as_result(result):
    dense = result.toarray() if hasattr(result, "toarray") else np.asarray(to_numpy(result))
    if dense.dtype.kind not in "fc":
        raise InputError(
            f"the backend returned an array of dtype {dense.dtype}, not numbers.\n"
            "Hint: make f return floating-point arrays; this backend is reported as failing."
        )
    return dense


def _run_quietly(backend, f, x, contexts, operator, budget):
    from .testing import backend_label

    row = {"backend": backend, "label": backend_label(backend), "error": None, "fix": None, "max_error": None,
           "prep_time": None, "time_prepared": None, "time_unprepared": None}
    op, prepare = getattr(ops, operator), getattr(ops, f"prepare_{operator}")
    try:
        t0 = time.perf_counter()
        prep = prepare(f, backend, x, *contexts)
        row["prep_time"] = time.perf_counter() - t0
        result = op(f, backend, x, *contexts, prep=prep)
        row["result"] = _as_result(result)
        row["time_prepared"] = _best_time(lambda: op(f, backend, x, *contexts, prep=prep), budget / 2)
        row["time_unprepared"] = _best_time(lambda: op(f, backend, x, *contexts), budget / 2)
    except Exception as err:  # noqa: BLE001 - "does it execute?" is the question
        row["error"], row["fix"] = _first_line(err), _fix(err)
    return row


def _reference(rows):
    """``(result, description, independent)``: complex step when it ran, else what most exact backends agree on.

    ``independent`` is False when nothing but the judged backend itself supports the reference.
    """
    ran = [r for r in rows if r["error"] is None and np.all(np.isfinite(r["result"]))]
    for r in ran:
        b = r["backend"]
        if isinstance(b, AutoFiniteDiff) and b.method == "complex":
            return r["result"], f"complex step ({r['label']}), exact to rounding", True
    exact = [r for r in ran if _exact(r["backend"])]
    pool = exact or ran
    if not pool:
        return None, "none (no candidate executed)", False
    votes = [sum(_agrees(r["result"], s["result"], 1e-8) for s in pool) for r in pool]
    chosen = pool[int(np.argmax(votes))]
    return chosen["result"], f"agreement of {max(votes)} exact backends ({chosen['label']})", max(votes) > 1


def _agrees(a, b, rtol):
    if np.shape(a) != np.shape(b):
        return False
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    return float(np.max(np.abs(a - b), initial=0.0)) <= rtol * scale


def _judge(rows, reference, time_tolerance=1.0):
    """Verdicts and reasons; returns the best row (or None)."""
    for r in rows:
        if r["error"] is not None:
            r["verdict"], r["reason"] = "fails", f"{r['error']} — fix: {r['fix']}"
            continue
        exact = _exact(r["backend"])
        rtol = 1e-8 if exact else 1e-4
        if reference is None:
            r["verdict"], r["reason"] = "ok", "ran; no reference to check against"
            continue
        scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
        r["max_error"] = float(np.max(np.abs(r["result"] - reference), initial=0.0)) / scale
        if r["max_error"] > rtol or not np.all(np.isfinite(r["result"])):
            r["verdict"], r["reason"] = "wrong", f"disagrees with the reference (tolerance {rtol:g})"
        else:
            r["verdict"] = "ok"
            r["reason"] = "right" + ("" if exact else " to finite-difference accuracy (not exact)")
    good = [r for r in rows if r["verdict"] == "ok"]
    if not good:
        return None
    exact_good = [r for r in good if _exact(r["backend"])]
    best = min(exact_good or good, key=lambda r: r["time_prepared"])
    best["verdict"] = "best"
    best["reason"] = ("fastest prepared call among the exact backends that agree" if exact_good
                      else "fastest candidate that agrees (no exact backend ran)")
    return best


def _exact(backend) -> bool:
    """AD backends and complex step are exact to rounding; real finite differences are not."""
    if isinstance(backend, AutoFiniteDiff):
        return backend.method == "complex"
    inner = getattr(backend, "dense_backend", None)
    return _exact(inner) if inner is not None else bool(getattr(backend, "exact", True))


def recommend(f, x, *contexts, operator: str = "gradient", candidates=None, budget_s: float = 5.0,
              sparse=None) -> Recommendation:
    """Run every candidate backend on ``f`` at ``x`` and recommend one, with the reasons.

    The talk's decision tree, executable: the mode follows from the sizes and the operator;
    sparsity is detected (Jacobians and Hessians) and sparse candidates join when it pays;
    each candidate is asked *does it execute?* (the verdict keeps the backend's own error text
    and a fix), *is it right?* (agreement with complex step when it runs, else with the
    majority of exact backends) and *how fast?* (prepared and unprepared calls, preparation).

    Parameters
    ----------
    f : callable
        ``f(x, *contexts)`` written with the array library of your choice.
    x : array
    *contexts : Constant or Cache
    operator : {"gradient", "jacobian", "hessian", "derivative", "second_derivative"}
    candidates : list of Backend or str, optional
        Default: every installed backend configuration (:func:`default_candidates`).
    budget_s : float
        Rough total time budget for the timings.
    sparse : bool, optional
        Add sparse candidates (default: when the detected pattern is at most 25 % dense).

    Returns
    -------
    Recommendation
        ``.best`` is a backend to pass on; ``.rows`` the verdicts; ``print(report)`` a table.

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> report = ad.recommend(lambda x: np.sum(np.sin(x) * x), np.linspace(0, 1, 5),
    ...                       candidates=["numpy", "fd", "complex_step"], budget_s=0.05)
    >>> report.mode, type(report.best).__name__ in ("AutoNumPy", "AutoFiniteDiff")  # the fastest correct one
    ('reverse', True)
    >>> sorted(r["verdict"] for r in report.rows)
    ['best', 'ok', 'ok']
    """
    if operator not in OPERATORS:
        raise InputError(f"recommend(operator={operator!r}) is not supported.\nHint: use one of {', '.join(OPERATORS)}.")
    xa, _ = as_input(x)
    y = np.asarray(to_numpy(f(x, *[c.value for c in contexts])))
    n, m = int(np.size(xa)), int(y.size)
    mode, why = _mode(operator, n, m)
    report = Recommendation(operator, n, m, mode, why, sparsity=_detect(f, x, contexts, operator))
    if sparse is None:
        sparse = bool(report.sparsity and report.sparsity.get("density", 1.0) <= 0.25)
    if candidates is None:
        candidates = default_candidates(operator, sparse)
    candidates = [resolve_backend(b) for b in candidates]
    per = budget_s / max(1, len(candidates))
    report.rows = [_run(b, f, x, contexts, operator, per) for b in candidates]
    reference, report.reference, independent = _reference(report.rows)
    best = _judge(report.rows, reference)
    if not independent:
        for r in report.rows:
            if r["verdict"] in ("ok", "best"):
                r["reason"] += " (unchecked: no second backend to compare with)"
    report.best = None if best is None else best["backend"]
    for r in report.rows:
        r.pop("result", None)
    return report
