"""Shared test configuration: 64-bit JAX, the list of installed backends."""

from __future__ import annotations

import importlib.util
import os

import pytest
from hypothesis import settings

import anydiff as ad

# Property tests draw the same examples on every run by default, so a CI result can be
# reproduced; ANYDIFF_HYPOTHESIS=random explores new examples (run it while developing).
settings.register_profile("reproducible", derandomize=True, database=None)
settings.register_profile("random")
settings.load_profile("random" if os.environ.get("ANYDIFF_HYPOTHESIS") == "random" else "reproducible")

if importlib.util.find_spec("jax") is not None:
    import jax

    jax.config.update("jax_enable_x64", True)


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def all_backends():
    """Every backend configuration under test (the optional ones only when installed)."""
    out = [
        pytest.param(ad.AutoFiniteDiff(), id="fd-central"),
        pytest.param(ad.AutoFiniteDiff(method="forward", step=None), id="fd-forward"),
        pytest.param(ad.AutoFiniteDiff(method="complex"), id="fd-complex"),
    ]
    if installed("jax"):
        out += [pytest.param(ad.AutoJax(), id="jax"), pytest.param(ad.AutoJax(mode="forward", jit=False), id="jax-fwd-nojit")]
    if installed("torch"):
        out += [pytest.param(ad.AutoTorch(), id="torch"), pytest.param(ad.AutoTorch(mode="forward"), id="torch-fwd")]
    if installed("autograd"):
        out.append(pytest.param(ad.AutoAutograd(), id="autograd"))
    if hasattr(ad, "AutoNumPy"):
        out.append(pytest.param(ad.AutoNumPy(), id="numpy-dual"))
    return out
