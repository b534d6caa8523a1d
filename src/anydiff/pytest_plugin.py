"""pytest plugin: test an AD backend on anydiff's shared scenarios in a few lines.

Installing anydiff registers this module with pytest (the ``pytest11`` entry point), which
gives every test the fixture ``anydiff_check``::

    import anydiff as ad
    from anydiff.testing import structured_scenarios

    def test_my_backend(anydiff_check):
        anydiff_check([MyBackend()])                     # default + float32 + pytree/multiarg
        anydiff_check([MyBackend()], structured_scenarios(), ["gradient"], variants=("plain",))

Without the entry point (e.g. a source checkout on ``PYTHONPATH``), load it with
``pytest -p anydiff.pytest_plugin`` or ``pytest_plugins = ["anydiff.pytest_plugin"]`` in a
top-level ``conftest.py``. Importing this module imports neither anydiff's harness nor any AD
library; they load when a test asks for the fixture.
"""

from __future__ import annotations

import pytest

__all__ = ["anydiff_check", "make_checker"]


def make_checker():
    """The callable behind the ``anydiff_check`` fixture.

    ``check(backends, scenarios=None, operators=None, **options)`` runs
    :func:`anydiff.testing.test_differentiation` and fails the calling test with one message
    listing every failing combination (backend | scenario | operator | variant: what went
    wrong). It returns the :class:`~anydiff.testing.CheckResult` list, skips included (the
    combinations a backend declares it cannot do, and the ones anydiff refuses).

    Examples
    --------
    >>> import anydiff as ad
    >>> from anydiff.pytest_plugin import make_checker
    >>> from anydiff.testing import default_scenarios
    >>> check = make_checker()
    >>> results = check([ad.AutoNumPy()], default_scenarios()[:1], ["derivative"], variants=("plain",))
    >>> [r.status for r in results]
    ['pass']
    """
    from .testing import format_failures, test_differentiation

    def check(backends, scenarios=None, operators=None, **options):
        results = test_differentiation(backends, scenarios, operators, raise_on_failure=False, **options)
        failures = [r for r in results if r.status == "fail"]
        if failures:
            pytest.fail(format_failures(failures, len(results)), pytrace=False)
        return results

    return check


@pytest.fixture
def anydiff_check():
    """Fixture: :func:`make_checker`'s ``check(backends, scenarios=None, operators=None, **options)``."""
    return make_checker()
