"""SciPy's optimisers, least squares, root finding and stiff ODE solvers with exact derivatives.

``anydiff.scipy`` hands SciPy exact gradients, Hessians (or Hessian-vector products),
Jacobians and constraint derivatives from any anydiff backend, prepared once and reused at
every iteration; with ``ad.AutoSparse(...)`` they are ``scipy.sparse`` matrices whose
sparsity pattern anydiff detects and colors by itself (no hand-written ``jac_sparsity``).

* :func:`minimize` (``scipy.optimize.minimize``), :func:`least_squares`, :func:`root`;
* :func:`ode_jacobian` (a ``jac(t, y)`` for ``solve_ivp``) and :func:`solve_ivp`.

Functions may be plain NumPy code (``AutoNumPy``), ``jax.numpy`` code (``AutoJax``) or torch
code (``AutoTorch``); starting points may be pytrees (dicts, lists, tuples of arrays).

Examples
--------
>>> import numpy as np, anydiff as ad
>>> res = ad.scipy.minimize(lambda x: np.sum((x - 3.0) ** 2), np.zeros(3), ad.AutoNumPy())
>>> np.round(res.x, 6), res.anydiff_backend
(array([3., 3., 3.]), AutoNumPy())
"""

from ._lsq import least_squares, root
from ._minimize import minimize
from ._ode import OdeJacobian, ode_jacobian, solve_ivp

__all__ = ["OdeJacobian", "least_squares", "minimize", "ode_jacobian", "root", "solve_ivp"]
