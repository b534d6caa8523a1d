"""Textbook simulation codes: integrators, finite-difference stencils, ODE right-hand sides.

Written as in numerical-methods courses: preallocate the trajectory with ``np.zeros``, loop over
time steps and grid points, return ``np.array([...])`` from right-hand sides.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from . import Case


# ----------------------------------------------------------- right-hand sides
def lorenz(state, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    x, y, z = state
    return np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def robertson(y):
    y1, y2, y3 = y[0], y[1], y[2]
    return np.array([
        -0.04 * y1 + 1.0e4 * y2 * y3,
        0.04 * y1 - 1.0e4 * y2 * y3 - 3.0e7 * y2 ** 2,
        3.0e7 * y2 ** 2,
    ])


def van_der_pol(y, mu=1.5):
    return np.array([y[1], mu * (1.0 - y[0] ** 2) * y[1] - y[0]])


def rigid_body(y, i1=0.5, i2=2.0, i3=3.0):
    dy = np.zeros(3)
    dy[0] = (i2 - i3) / i1 * y[1] * y[2]
    dy[1] = (i3 - i1) / i2 * y[2] * y[0]
    dy[2] = (i1 - i2) / i3 * y[0] * y[1]
    return dy


def brusselator_1d(u, a=1.0, b=3.0, alpha=0.02):
    """Method of lines for the 1-D Brusselator: interleaved (u_i, v_i), Dirichlet ends."""
    n = len(u) // 2
    dx = 1.0 / (n + 1)
    du = np.zeros(2 * n)
    for i in range(n):
        ui, vi = u[2 * i], u[2 * i + 1]
        ul = u[2 * i - 2] if i > 0 else 1.0
        ur = u[2 * i + 2] if i < n - 1 else 1.0
        vl = u[2 * i - 1] if i > 0 else 3.0
        vr = u[2 * i + 3] if i < n - 1 else 3.0
        du[2 * i] = a + ui ** 2 * vi - (b + 1.0) * ui + alpha * (ul - 2.0 * ui + ur) / dx ** 2
        du[2 * i + 1] = b * ui - ui ** 2 * vi + alpha * (vl - 2.0 * vi + vr) / dx ** 2
    return du


def spring_chain(y, k=4.0, m=1.0):
    """Masses on nonlinear springs (fixed ends): state (positions, velocities)."""
    n = len(y) // 2
    q, p = y[:n], y[n:]
    acc = np.zeros(n)
    for i in range(n):
        left = q[i] - (q[i - 1] if i > 0 else 0.0)
        right = (q[i + 1] if i < n - 1 else 0.0) - q[i]
        acc[i] = (k * (right + right ** 3) - k * (left + left ** 3)) / m
    return np.concatenate([p, acc])


def nbody_accelerations(pos, masses=(1.0, 0.8, 0.6)):
    """Planar gravitational accelerations of three bodies, positions flattened (x0, y0, x1, ...)."""
    nb = len(masses)
    acc = np.zeros(2 * nb)
    for i in range(nb):
        for j in range(nb):
            if i == j:
                continue
            dx = pos[2 * j] - pos[2 * i]
            dy = pos[2 * j + 1] - pos[2 * i + 1]
            r3 = math.sqrt(dx * dx + dy * dy) ** 3
            acc[2 * i] += masses[j] * dx / r3
            acc[2 * i + 1] += masses[j] * dy / r3
    return acc


# ----------------------------------------------------------------- integrators
def euler_decay(params, t_end=2.0, steps=40):
    """Explicit Euler on y' = -k y + c sin(t); returns the trajectory."""
    k, c, y0 = params
    h = t_end / steps
    y = np.zeros(steps + 1)
    y[0] = y0
    for i in range(steps):
        t = i * h
        y[i + 1] = y[i] + h * (-k * y[i] + c * math.sin(t))
    return y


def rk4(rhs, y0, h, steps):
    y = np.zeros((steps + 1, len(y0)))
    y[0] = y0
    for i in range(steps):
        k1 = rhs(y[i])
        k2 = rhs(y[i] + 0.5 * h * k1)
        k3 = rhs(y[i] + 0.5 * h * k2)
        k4 = rhs(y[i] + h * k3)
        y[i + 1] = y[i] + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def rk4_lorenz(y0):
    return rk4(lorenz, y0, 0.01, 30)[-1]


def rk4_van_der_pol(y0):
    return rk4(van_der_pol, y0, 0.05, 40).ravel()


def lotka_volterra_euler(params, steps=60, h=0.05):
    alpha, beta, gamma, delta = params
    prey = np.zeros(steps + 1)
    pred = np.zeros(steps + 1)
    prey[0], pred[0] = 10.0, 5.0
    for i in range(steps):
        prey[i + 1] = prey[i] + h * (alpha * prey[i] - beta * prey[i] * pred[i])
        pred[i + 1] = pred[i] + h * (delta * prey[i] * pred[i] - gamma * pred[i])
    return np.array([prey[-1], pred[-1]])


def sir_final_size(params, steps=100, h=0.2):
    beta, gamma = params
    s, i, r = 0.99, 0.01, 0.0
    for _ in range(steps):
        new_inf = beta * s * i
        new_rec = gamma * i
        s, i, r = s - h * new_inf, i + h * (new_inf - new_rec), r + h * new_rec
    return np.array([s, i, r])


def pendulum_leapfrog(params, steps=50, h=0.05):
    """Symplectic Euler for a damped pendulum; the final angle and angular velocity."""
    theta, omega, damping = params
    for _ in range(steps):
        omega = omega - h * (9.81 * math.sin(theta) + damping * omega)
        theta = theta + h * omega
    return np.array([theta, omega])


def heat_explicit(u0, steps=10, r=0.4):
    """FTCS scheme for u_t = u_xx with u = 0 at both ends."""
    n = len(u0)
    u = np.array(u0, dtype=float)
    for _ in range(steps):
        unew = np.zeros(n)
        for i in range(1, n - 1):
            unew[i] = u[i] + r * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u = unew
    return u


def burgers_upwind(u0, steps=8, dt=0.01, nu=0.05):
    n = len(u0)
    dx = 1.0 / n
    u = u0.copy()
    for _ in range(steps):
        un = u.copy()
        for i in range(n):
            adv = un[i] * (un[i] - un[i - 1]) / dx
            diff = nu * (un[(i + 1) % n] - 2.0 * un[i] + un[i - 1]) / dx ** 2
            u[i] = un[i] + dt * (diff - adv)
    return u


def bratu_residual(u, lam=2.0):
    """Residual of the 2-D Bratu problem on a 5x5 interior grid (5-point Laplacian)."""
    n = int(round(math.sqrt(len(u))))
    h = 1.0 / (n + 1)
    U = np.zeros((n + 2, n + 2))
    U[1:-1, 1:-1] = np.reshape(u, (n, n))
    res = np.empty((n, n))
    for i in range(1, n + 1):
        for j in range(1, n + 1):
            lap = (U[i - 1, j] + U[i + 1, j] + U[i, j - 1] + U[i, j + 1] - 4.0 * U[i, j]) / h ** 2
            res[i - 1, j - 1] = lap + lam * math.exp(U[i, j])
    return res.ravel()


def crank_nicolson(u0, steps=4, r=0.5):
    """Crank-Nicolson for the heat equation with a nonlinear source, np.linalg.solve per step."""
    n = len(u0)
    A = np.zeros((n, n))
    B = np.zeros((n, n))
    for i in range(n):
        A[i, i], B[i, i] = 1.0 + r, 1.0 - r
        if i > 0:
            A[i, i - 1], B[i, i - 1] = -r / 2.0, r / 2.0
        if i < n - 1:
            A[i, i + 1], B[i, i + 1] = -r / 2.0, r / 2.0
    u = np.asarray(u0)
    for _ in range(steps):
        u = np.linalg.solve(A, B @ u + 0.01 * np.sin(u))
    return u


def implicit_euler_scipy(u0, steps=3, h=0.1):
    """Linearly implicit Euler with scipy.linalg.solve (compiled LAPACK; anydiff substitutes
    np.linalg.solve for it while differentiating)."""
    n = len(u0)
    L = -2.0 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
    u = u0
    for _ in range(steps):
        u = scipy.linalg.solve(np.eye(n) - h * L, u + h * u ** 3)
    return u


def implicit_euler_lu(u0, steps=3, h=0.1):
    """The same steps with the matrix factorized once (scipy.linalg.lu_factor / lu_solve)."""
    n = len(u0)
    L = -2.0 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
    lu = scipy.linalg.lu_factor(np.eye(n) - h * L * (1.0 + u0[0] ** 2))
    u = u0
    for _ in range(steps):
        u = scipy.linalg.lu_solve(lu, u + h * u ** 3)
    return u


def trapezoid_laplace(params, n=20):
    """Laplace transform of a damped cosine by the trapezoid rule in a Python loop."""
    s, w = params
    t_end = 5.0
    h = t_end / n
    total = 0.0
    for i in range(n + 1):
        t = i * h
        weight = 0.5 if i in (0, n) else 1.0
        total += weight * math.exp(-s * t) * math.cos(w * t)
    return total * h


def shooting_residual(p):
    """Shooting method for y'' = -exp(y), y(0) = 0: residual y(1) - 0.5 for slopes p."""
    out = np.empty(len(p))
    for k in range(len(p)):
        y, v = 0.0, p[k]
        h = 0.05
        for _ in range(20):
            y, v = y + h * v, v - h * math.exp(y)
        out[k] = y - 0.5
    return out


CASES = [
    Case("lorenz_rhs", lorenz, np.array([1.0, 1.5, 20.0]), "simulation"),
    Case("robertson_rhs", robertson, np.array([0.9, 3e-5, 0.1]), "simulation"),
    Case("van_der_pol_rhs", van_der_pol, np.array([1.2, -0.4]), "simulation"),
    Case("rigid_body_rhs", rigid_body, np.array([0.3, 0.9, -0.4]), "simulation"),
    Case("brusselator_1d_rhs", brusselator_1d, np.linspace(0.5, 2.0, 12), "simulation"),
    Case("spring_chain_rhs", spring_chain, np.linspace(-0.3, 0.4, 10), "simulation"),
    Case("nbody_accelerations", nbody_accelerations, np.array([0.0, 0.1, 1.0, -0.2, -0.4, 0.9]), "simulation"),
    Case("euler_decay", euler_decay, np.array([0.7, 0.3, 1.5]), "simulation"),
    Case("rk4_lorenz", rk4_lorenz, np.array([1.0, 1.5, 20.0]), "simulation"),
    Case("rk4_van_der_pol", rk4_van_der_pol, np.array([1.2, -0.4]), "simulation"),
    Case("lotka_volterra_euler", lotka_volterra_euler, np.array([1.1, 0.2, 0.9, 0.1]), "simulation"),
    Case("sir_final_size", sir_final_size, np.array([0.6, 0.25]), "simulation"),
    Case("pendulum_leapfrog", pendulum_leapfrog, np.array([0.8, 0.1, 0.2]), "simulation"),
    Case("heat_explicit", heat_explicit, np.sin(np.linspace(0.0, np.pi, 9)), "simulation"),
    Case("burgers_upwind", burgers_upwind, 1.0 + 0.3 * np.sin(np.linspace(0.0, 2 * np.pi, 8, endpoint=False)),
         "simulation"),
    Case("bratu_residual", bratu_residual, np.linspace(0.1, 0.3, 9), "simulation"),
    Case("crank_nicolson", crank_nicolson, np.linspace(0.0, 1.0, 6) ** 2, "simulation"),
    Case("implicit_euler_scipy", implicit_euler_scipy, np.linspace(0.1, 0.6, 5), "simulation"),
    Case("implicit_euler_lu", implicit_euler_lu, np.linspace(0.1, 0.6, 5), "simulation",
         "scipy.linalg.lu_factor of a matrix depending on x is compiled LAPACK: refused with a TracingError naming differentiate_with"),
    Case("trapezoid_laplace", trapezoid_laplace, np.array([0.8, 2.0]), "simulation"),
    Case("shooting_residual", shooting_residual, np.array([0.8, 1.0, 1.2]), "simulation"),
]
