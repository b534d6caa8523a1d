"""``check_rule``: test a :func:`anydiff.custom_rule` against finite differences and under each backend."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RuleCheck", "check_rule"]


@dataclass
class RuleCheck:
    """One comparison made by :func:`check_rule`."""

    backend: str
    what: str
    ok: bool
    max_error: float
    message: str = ""


def _installed_backends():
    from .._recommend import installed_library_backends
    from ..backends import AutoNumPy

    return [AutoNumPy(), *installed_library_backends()]


def _compare(backend, what, got, ref, rtol, atol):
    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape:
        return RuleCheck(backend, what, False, np.inf, f"shape {got.shape} != expected {ref.shape}")
    err = float(np.max(np.abs(got - ref), initial=0.0))
    ok = bool(np.allclose(got, ref, rtol=rtol, atol=atol))
    return RuleCheck(backend, what, ok, err, "" if ok else f"max abs error {err:.3g} (rtol={rtol}, atol={atol})")


def _rule_jacobians(rule, x, contexts, y, checks):
    """The Jacobian from each direction the rule gives, as ``{"jvp": J, "vjp": J}`` (m, n);
    a direction that raises is recorded in ``checks`` as a failure."""
    from .._custom_rule import CustomRule

    out = {}
    for which in ("jvp", "vjp"):
        if getattr(rule, which) is not None:
            single = CustomRule(rule.f, **{which: getattr(rule, which)})
            single.__name__ = rule.__name__
            try:
                out[which] = single._materialise(x, contexts, y)
            except Exception as err:  # noqa: BLE001 - a rule that raises is a finding
                checks.append(RuleCheck("rule", which, False, np.inf, f"raised {type(err).__name__}: {err}"))
    return out


def check_rule(f, x, *contexts, backends=None, rtol=1e-5, atol=1e-7, exact_rtol=1e-9, exact_atol=1e-11):
    """Check a custom rule against finite differences and under each installed backend.

    Three kinds of comparison, all at ``x`` (with ``contexts`` held constant):

    1. each direction the rule gives (``jvp``, ``vjp``) against central finite differences of
       ``f`` (tolerances ``rtol``/``atol``);
    2. ``jvp`` against ``vjp`` when both are given (``exact_rtol``/``exact_atol``): they must
       be transposes of each other;
    3. a pushforward and a pullback of random seeds through each backend (``AutoNumPy`` and
       the installed ones among ``AutoJax``, ``AutoTorch``, ``AutoAutograd``) against the
       rule's own Jacobian (``exact_rtol``/``exact_atol``): the adapters honour the rule in
       both directions, deriving the missing one.

    Parameters
    ----------
    f : CustomRule
        A function made by :func:`anydiff.custom_rule`.
    x : numpy.ndarray
        The point (floating point).
    *contexts
        Extra arguments of ``f``, held constant.
    backends : list of Backend or str, optional
        The backends of step 3 (default: every installed native backend).
    rtol, atol, exact_rtol, exact_atol : float
        Tolerances of the finite-difference and of the exact comparisons.

    Returns
    -------
    list of RuleCheck
        Every comparison made (``ok``, ``max_error``, ``message``).

    Raises
    ------
    AssertionError
        Listing the comparisons that failed (or raised).

    Examples
    --------
    >>> import numpy as np, anydiff as ad
    >>> from anydiff.testing import check_rule
    >>> cube = ad.custom_rule(lambda x: x * x * x, jvp=lambda x, t: 3 * x * x * t)
    >>> checks = check_rule(cube, np.array([0.5, -1.0]), backends=[ad.AutoNumPy()])
    >>> [(c.backend, c.what, c.ok) for c in checks]  # doctest: +NORMALIZE_WHITESPACE
    [('finite differences', 'jvp', True), ('AutoNumPy()', 'pushforward', True),
     ('AutoNumPy()', 'pullback', True)]
    >>> wrong = ad.custom_rule(lambda x: x * x * x, jvp=lambda x, t: 2 * x * t)
    >>> check_rule(wrong, np.array([0.5, -1.0]), backends=[])
    Traceback (most recent call last):
    ...
    AssertionError: check_rule(custom_rule(<lambda>, jvp)): 1 of 1 checks failed:
      finite differences / jvp: max abs error 5 (rtol=1e-05, atol=1e-07)
    """
    from .. import operators
    from .._contexts import Constant
    from .._custom_rule import CustomRule
    from .._errors import InputError
    from ..backends import AutoFiniteDiff, resolve_backend

    if not isinstance(f, CustomRule):
        raise InputError(f"check_rule needs a function made by ad.custom_rule, got {type(f).__name__}.\n"
                         "Hint: wrap it first: ad.custom_rule(f, jvp=..., vjp=...).")
    x = np.asarray(x)
    y = np.asarray(f.f(x, *contexts))
    consts = [Constant(c) for c in contexts]
    J_fd = np.asarray(operators.jacobian(f.f, AutoFiniteDiff(), x, *consts)).reshape(y.size, x.size)
    checks = []
    rule_J = _rule_jacobians(f, x, contexts, y, checks)
    for which, J in rule_J.items():
        checks.append(_compare("finite differences", which, J, J_fd, rtol, atol))
    if len(rule_J) == 2:
        checks.append(_compare("rule", "jvp vs vjp", rule_J["jvp"], rule_J["vjp"], exact_rtol, exact_atol))
    J = rule_J.get("jvp", rule_J.get("vjp"))
    if J is None:
        backends = []  # nothing to compare the backends with
    rng = np.random.default_rng(0)
    tx = rng.standard_normal(x.shape).astype(x.dtype)
    ty = rng.standard_normal(y.shape).astype(y.dtype)
    for b in _installed_backends() if backends is None else [resolve_backend(b) for b in backends]:
        checks += _check_backend(f, b, x, consts, tx, ty, J, exact_rtol, exact_atol)
    failed = [c for c in checks if not c.ok]
    if failed:
        lines = "\n".join(f"  {c.backend} / {c.what}: {c.message}" for c in failed)
        raise AssertionError(f"check_rule({f!r}): {len(failed)} of {len(checks)} checks failed:\n{lines}")
    return checks


def _check_backend(f, backend, x, consts, tx, ty, J, rtol, atol):
    from .. import operators

    name = repr(backend)
    out = []
    for what, op, seed, ref in (
        ("pushforward", operators.pushforward, tx, (J @ tx.ravel()).reshape(ty.shape)),
        ("pullback", operators.pullback, ty, (ty.ravel() @ J).reshape(tx.shape)),
    ):
        try:
            (got,) = op(f, backend, x, (seed,), *consts)
            got = got.detach().numpy() if hasattr(got, "detach") else np.asarray(got)
        except Exception as err:  # noqa: BLE001 - a rule that fails under a backend is a finding
            out.append(RuleCheck(name, what, False, np.inf, f"raised {type(err).__name__}: {err}"))
            continue
        out.append(_compare(name, what, got, ref, rtol, atol))
    return out
