"""Where the time of one ``solve_ivp`` run goes: Jacobian, LU factorisations, LU solves, f, the rest.

``split_solver(base)`` subclasses SciPy's ``BDF`` or ``Radau`` and times, without changing
what the solver does: every Jacobian evaluation (the first one inside ``__init__`` included;
for SciPy's finite differences the f-evaluations they make count as Jacobian time), every
``splu`` (and the fill ``nnz(L) + nnz(U)`` of the last one), every LU solve, and every
evaluation of the right-hand side outside a Jacobian (``timed_rhs`` wraps the user's
right-hand side; for anydiff runs its own ``anydiff_stats["fun"]`` is used, since a jitted
f runs no Python), and the ``setup`` before SciPy's solver starts (anydiff's checks, the
cached preparation and its first Jacobian at ``y0``). ``rest`` is the wall time minus these
parts: the solver's own Python and vector work.
"""

from __future__ import annotations

import time

_clock = time.perf_counter


class Split:
    """Seconds and calls per part, filled while one solver run is in progress."""

    def __init__(self):
        self.seconds = {"jacobian": 0.0, "lu": 0.0, "lu_solve": 0.0, "f": 0.0}
        self.calls = {"jacobian": 0, "lu": 0, "lu_solve": 0, "f": 0}
        self.in_jacobian = False
        self.fill = self.solver_start = None

    def timed(self, part, fn, flag=False):
        def run(*args):
            start = _clock()
            if flag:
                self.in_jacobian = True
            try:
                return fn(*args)
            finally:
                if flag:
                    self.in_jacobian = False
                self.seconds[part] += _clock() - start
                self.calls[part] += 1

        return run

    def report(self, start, wall, sol):
        stats = getattr(sol, "anydiff_stats", None)
        if stats is not None:  # anydiff's own count of f (a jitted f runs no Python: timed_rhs cannot see it)
            self.seconds["f"], self.calls["f"] = stats["fun"]["seconds"], stats["fun"]["calls"]
        # before SciPy's solver starts: anydiff's set-up (checks, cached preparation, first Jacobian)
        self.seconds["setup"] = self.solver_start - start
        self.calls["setup"] = 1
        out = {k: {"seconds": self.seconds[k], "calls": self.calls[k]} for k in self.seconds}
        out["rest"] = {"seconds": wall - sum(self.seconds.values())}
        out["wall_s"] = wall
        out["lu_fill_nnz"] = self.fill
        return out


CURRENT = {"split": None}


def timed_rhs(rhs):
    """``rhs`` whose calls outside a Jacobian count as f-time of the current split."""

    def run(t, y):
        split = CURRENT["split"]
        if split is None or split.in_jacobian:
            return rhs(t, y)
        start = _clock()
        try:
            return rhs(t, y)
        finally:
            split.seconds["f"] += _clock() - start
            split.calls["f"] += 1

    return run


def split_solver(base):
    """A subclass of SciPy's ``base`` solver (``BDF`` or ``Radau``) timing its parts."""

    class Timed(base):
        def __init__(self, *args, **kwargs):
            split = CURRENT["split"]
            split.solver_start = _clock()
            super().__init__(*args, **kwargs)
            self._time_parts(split)

        def _time_parts(self, split):
            lu = split.timed("lu", self.lu)

            def lu_with_fill(A):
                LU = lu(A)
                split.fill = int(LU.L.nnz + LU.U.nnz) if hasattr(LU, "L") else None
                return LU

            lu_with_fill.timed = True
            self.lu = lu_with_fill
            if not getattr(self.solve_lu, "timed", False):
                self.solve_lu = split.timed("lu_solve", self.solve_lu)
                self.solve_lu.timed = True

        def _step_impl(self):
            # a subclass of this class (anydiff's solve_ivp with lu_options) may set its own
            # ``lu`` after this __init__: time that one too
            if not getattr(self.lu, "timed", False):
                self._time_parts(CURRENT["split"])
            return super()._step_impl()

        def _validate_jac(self, jac, sparsity):
            split = CURRENT["split"]
            jac_wrapped, J = split.timed("jacobian", super()._validate_jac, flag=True)(jac, sparsity)
            if jac_wrapped is not None:
                jac_wrapped = split.timed("jacobian", jac_wrapped, flag=True)
            return jac_wrapped, J

    Timed.__name__ = f"Timed{base.__name__}"
    return Timed


def run_split(solve):
    """``(solution, split report)`` of ``solve()``, a run with a ``split_solver`` method."""
    split = Split()
    CURRENT["split"] = split
    try:
        start = _clock()
        sol = solve()
        wall = _clock() - start
    finally:
        CURRENT["split"] = None
    return sol, split.report(start, wall, sol)


def ordered_solver(base, permc_spec="MMD_AT_PLUS_A"):
    """A subclass of SciPy's ``base`` (``BDF``) whose sparse LU uses ``permc_spec`` instead of
    SciPy's default column ordering (COLAMD); dense runs are left alone. Not part of anydiff:
    the benchmark's check of how much of the LU time a fill-reducing ordering for structurally
    symmetric matrices saves, for SciPy's finite differences and anydiff alike."""
    from scipy.sparse import issparse
    from scipy.sparse.linalg import splu

    class Ordered(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if issparse(self.J):
                def lu(A):
                    self.nlu += 1
                    return splu(A, permc_spec=permc_spec)

                self.lu = lu

    Ordered.__name__ = f"{base.__name__}_{permc_spec}"
    return Ordered
