"""A corpus of NumPy code written the way third-party code is written (not for anydiff).

Three families, each a module with a ``CASES`` list:

* ``benchmark_functions``: scalar benchmark functions for optimisers (Ackley, Rastrigin, Griewank,
  Levy, Michalewicz, ...), written as benchmark-function libraries write them: Python loops over
  the elements, ``math`` functions, ``from math import ...``, accumulators;
* ``multiobjective``: multi-objective test problems (ZDT, DTLZ, Kursawe, ...), returning
  ``np.array([f1, f2, ...])`` built from computed scalars;
* ``simulation``: textbook simulation codes: Euler/RK4 integrators filling ``np.zeros`` buffers,
  finite-difference stencils in loops, ODE right-hand sides returning ``np.array([...])``.

``benchmarks/numpy_corpus.py`` differentiates every case with anydiff's NumPy engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Case", "all_cases"]


@dataclass(frozen=True)
class Case:
    name: str
    f: Callable
    x: np.ndarray
    family: str
    note: str = ""  # why the case is expected to stay refused somewhere, if it is

    @property
    def scalar(self) -> bool:
        return np.ndim(self.f(np.array(self.x))) == 0


def all_cases() -> list[Case]:
    from . import benchmark_functions, multiobjective, simulation

    return [*benchmark_functions.CASES, *multiobjective.CASES, *simulation.CASES]
