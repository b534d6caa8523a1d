"""Scenario transformers: the same derivatives, called in another way.

Each transformer returns a new :class:`Scenario` whose references follow from the original's,
so every backend can be checked on batches of seeds, closures, constant and cache contexts
without writing new analytic derivatives.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .._contexts import Cache, Constant
from ._pytrees import is_node, tree_map
from ._scenarios import Scenario

__all__ = ["batchify", "closurify", "constantify", "cachify", "change_dtype", "float32_scenarios"]


def batchify(scenario: Scenario, size: int = 4) -> Scenario:
    """Give ``size`` seeds to ``pushforward``, ``pullback`` and ``hvp`` instead of the default.

    Examples
    --------
    >>> from anydiff.testing import batchify, default_scenarios
    >>> batchify(default_scenarios()[3]).batch
    4
    """
    return replace(scenario, name=f"{scenario.name} [batch {size}]", batch=size)


def closurify(scenario: Scenario) -> Scenario:
    """Close over the :class:`~anydiff.Constant` contexts instead of passing them.

    ``Cache`` contexts stay contexts (a closure over a scratch array is not something every
    backend can differentiate). A scenario without constants is returned unchanged.

    Examples
    --------
    >>> from anydiff.testing import closurify, default_scenarios
    >>> sc = next(s for s in default_scenarios() if s.name == "constant context")
    >>> closurify(sc).contexts()
    ()
    """
    kinds = [isinstance(c, Constant) for c in scenario.contexts()]
    if not any(kinds):
        return scenario
    make0, contexts0 = scenario.make, scenario.contexts
    lead = len(scenario.actives) + scenario.inplace  # positional arguments before the contexts

    def merge(given):
        fresh, it = contexts0(), iter(given)
        return [c.value if k else next(it) for c, k in zip(fresh, kinds)]

    def make(xp):
        f0 = make0(xp)
        return lambda *args: f0(*args[:lead], *merge(args[lead:]))

    def contexts():
        return tuple(c for c, k in zip(contexts0(), kinds) if not k)

    return replace(scenario, name=f"{scenario.name} [closure]", make=make, contexts=contexts,
                   tags=scenario.tags | {"closure"})


def constantify(scenario: Scenario, a: float = 2.0) -> Scenario:
    """Append a :class:`~anydiff.Constant` context ``a`` and multiply the output by it.

    Examples
    --------
    >>> import numpy as np
    >>> from anydiff.testing import constantify, default_scenarios
    >>> sc = constantify(default_scenarios()[0], a=3.0)
    >>> bool(np.isclose(sc.value(sc.x), 3.0 * default_scenarios()[0].value(sc.x)))
    True
    """
    make0, contexts0 = scenario.make, scenario.contexts

    def make(xp):
        f0 = make0(xp)
        if scenario.inplace:
            def f_inplace(y, x, *ctx):
                f0(y, x, *ctx[:-1])
                y *= ctx[-1]

            return f_inplace
        return lambda *args: tree_map(lambda v: args[-1] * v, f0(*args[:-1]))

    def scaled(ref):
        return None if ref is None else (lambda *x: a * np.asarray(ref(*x)))

    value0 = scenario.value
    return replace(
        scenario, name=f"{scenario.name} [constant]", make=make,
        contexts=lambda: contexts0() + (Constant(a),),
        value=lambda *x: tree_map(lambda v: a * np.asarray(v), value0(*x)), jacobian=scaled(scenario.jacobian),
        hessian=scaled(scenario.hessian), second_derivative=scaled(scenario.second_derivative),
    )


def cachify(scenario: Scenario) -> Scenario:
    """Append a :class:`~anydiff.Cache` context: ``f`` writes its output there, returns a copy.

    Backends that declare ``supports_cache = False`` (JAX, autograd) skip these scenarios.
    In-place scenarios and scenarios with a pytree output are returned unchanged (they
    already write into an array, resp. have no single output array to cache).

    Examples
    --------
    >>> from anydiff.testing import cachify, default_scenarios
    >>> sc = cachify(default_scenarios()[3])
    >>> type(sc.contexts()[-1]).__name__
    'Cache'
    """
    if scenario.inplace or is_node(scenario.y):
        return scenario
    make0, contexts0 = scenario.make, scenario.contexts
    y0 = np.asarray(scenario.y)

    def make(xp):
        f0 = make0(xp)

        def f(*args):
            buf = args[-1]
            buf[...] = f0(*args[:-1])
            return buf * 1

        return f

    return replace(scenario, name=f"{scenario.name} [cache]", make=make,
                   contexts=lambda: contexts0() + (Cache(np.zeros(y0.shape, y0.dtype)),))


def change_dtype(scenario: Scenario, dtype=np.float32) -> Scenario:
    """The same scenario at the input point cast to ``dtype`` (results must keep it).

    Examples
    --------
    >>> import numpy as np
    >>> from anydiff.testing import change_dtype, default_scenarios
    >>> change_dtype(default_scenarios()[2]).x.dtype
    dtype('float32')
    """
    name, contexts0 = np.dtype(dtype).name, scenario.contexts

    def cast(c):
        value = c.value
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return type(c)(value.astype(dtype))
        return type(c)(np.asarray(value, dtype).item() if np.ndim(value) == 0 else value)

    x = tree_map(lambda v: np.asarray(v).astype(dtype), scenario.x)
    return replace(scenario, name=f"{scenario.name} [{name}]", x=x,
                   contexts=lambda: tuple(cast(c) for c in contexts0()))


def float32_scenarios() -> list[Scenario]:
    """First-order default scenarios at float32 points: every result must stay float32.

    (Second order in float32 is left out: finite differences cannot reach a useful tolerance.)

    Examples
    --------
    >>> from anydiff.testing import float32_scenarios
    >>> [sc.name for sc in float32_scenarios()]
    ['scalar->vector [float32]', 'vector->vector [float32]', 'matrix->matrix [float32]', 'in-place [float32]']
    """
    from ._scenarios import default_scenarios

    keep = ("scalar->vector", "vector->vector", "matrix->matrix", "in-place")
    return [replace(change_dtype(s), second_derivative=None, hessian=None)
            for s in default_scenarios() if s.name in keep]
