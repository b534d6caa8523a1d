"""Count the compilations JAX and torch perform while a block runs.

JAX reports every XLA compilation as a ``/jax/core/compile/backend_compile_duration`` event
through :mod:`jax.monitoring`; torch's Dynamo keeps ``torch._dynamo.utils.counters``. A
prepared call that triggers either on its second run recompiles on every call.
Neither library is imported here: a library that was never imported compiled nothing.
"""

from __future__ import annotations

import sys
import threading
import time

__all__ = ["CompileCounter"]

_JAX_EVENT = "/jax/core/compile/backend_compile_duration"
_lock = threading.Lock()
_jax_state = {"registered": False, "count": 0, "seconds": 0.0}


def _jax_listener(event, duration, **kwargs):
    if event == _JAX_EVENT:
        with _lock:
            _jax_state["count"] += 1
            _jax_state["seconds"] += duration


def _jax_totals():
    if "jax" not in sys.modules:
        return 0, 0.0
    if not _jax_state["registered"]:
        import jax.monitoring

        jax.monitoring.register_event_duration_secs_listener(_jax_listener)
        _jax_state["registered"] = True
    return _jax_state["count"], _jax_state["seconds"]


def _torch_total():
    dynamo = sys.modules.get("torch._dynamo.utils")
    if dynamo is None:
        return 0
    return int(dynamo.counters["stats"].get("unique_graphs", 0))


class CompileCounter:
    """Context manager: ``count`` compilations and ``seconds`` spent in JAX's compiler.

    Examples
    --------
    >>> from anydiff.testing import CompileCounter
    >>> with CompileCounter() as counter:
    ...     pass
    >>> counter.count
    0
    """

    def __enter__(self):
        self._jax0, self._jax_s0 = _jax_totals()
        self._torch0 = _torch_total()
        self._t0 = time.perf_counter()
        self.count, self.seconds = 0, 0.0
        return self

    def __exit__(self, *exc):
        jax1, jax_s1 = _jax_totals()
        self.jax = jax1 - self._jax0
        self.torch = _torch_total() - self._torch0
        self.count = self.jax + self.torch
        self.seconds = jax_s1 - self._jax_s0
        return False
