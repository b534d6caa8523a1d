"""Multi-objective test problems (ZDT, DTLZ, classic two- and three-objective problems).

Written as multi-objective libraries write their problem classes' ``evaluate``: objectives as
Python scalars computed in loops with ``math``, returned as ``np.array([f1, f2, ...])``.
"""

from __future__ import annotations

import math

import numpy as np

from . import Case


def zdt1(x):
    n = len(x)
    f1 = x[0]
    g = 1.0 + 9.0 * sum(x[1:]) / (n - 1)
    h = 1.0 - math.sqrt(f1 / g)
    return np.array([f1, g * h])


def zdt2(x):
    n = len(x)
    f1 = x[0]
    g = 1.0 + 9.0 * np.sum(x[1:]) / (n - 1)
    return np.array([f1, g * (1.0 - (f1 / g) ** 2)])


def zdt3(x):
    n = len(x)
    f1 = x[0]
    g = 1.0 + 9.0 / (n - 1) * sum(x[i] for i in range(1, n))
    h = 1.0 - math.sqrt(f1 / g) - (f1 / g) * math.sin(10.0 * math.pi * f1)
    return np.array([f1, g * h])


def zdt4(x):
    n = len(x)
    f1 = x[0]
    g = 1.0 + 10.0 * (n - 1)
    for i in range(1, n):
        g += x[i] ** 2 - 10.0 * math.cos(4.0 * math.pi * x[i])
    return np.array([f1, g * (1.0 - math.sqrt(f1 / g))])


def zdt6(x):
    n = len(x)
    f1 = 1.0 - math.exp(-4.0 * x[0]) * math.sin(6.0 * math.pi * x[0]) ** 6
    g = 1.0 + 9.0 * (sum(x[1:]) / (n - 1)) ** 0.25
    return np.array([f1, g * (1.0 - (f1 / g) ** 2)])


def _dtlz_g1(xm):
    k = len(xm)
    return 100.0 * (k + sum((xi - 0.5) ** 2 - math.cos(20.0 * math.pi * (xi - 0.5)) for xi in xm))


def dtlz1(x, n_obj=3):
    xm = x[n_obj - 1:]
    g = _dtlz_g1(xm)
    f = []
    for i in range(n_obj):
        fi = 0.5 * (1.0 + g)
        for j in range(n_obj - 1 - i):
            fi *= x[j]
        if i > 0:
            fi *= 1.0 - x[n_obj - 1 - i]
        f.append(fi)
    return np.array(f)


def _dtlz_sphere(x, g, n_obj, alpha=1.0):
    f = np.zeros(n_obj)
    for i in range(n_obj):
        fi = 1.0 + g
        for j in range(n_obj - 1 - i):
            fi *= math.cos(x[j] ** alpha * math.pi / 2.0)
        if i > 0:
            fi *= math.sin(x[n_obj - 1 - i] ** alpha * math.pi / 2.0)
        f[i] = fi
    return f


def dtlz2(x, n_obj=3):
    g = sum((xi - 0.5) ** 2 for xi in x[n_obj - 1:])
    return _dtlz_sphere(x, g, n_obj)


def dtlz3(x, n_obj=3):
    return _dtlz_sphere(x, _dtlz_g1(x[n_obj - 1:]), n_obj)


def dtlz4(x, n_obj=3):
    g = sum((xi - 0.5) ** 2 for xi in x[n_obj - 1:])
    return _dtlz_sphere(x, g, n_obj, alpha=4.0)


def dtlz7(x, n_obj=3):
    xm = x[n_obj - 1:]
    g = 1.0 + 9.0 / len(xm) * sum(xm)
    f = list(x[:n_obj - 1])
    h = n_obj - sum(fi / (1.0 + g) * (1.0 + math.sin(3.0 * math.pi * fi)) for fi in f)
    f.append((1.0 + g) * h)
    return np.array(f)


def fonseca_fleming(x):
    n = len(x)
    s1 = sum((xi - 1.0 / math.sqrt(n)) ** 2 for xi in x)
    s2 = sum((xi + 1.0 / math.sqrt(n)) ** 2 for xi in x)
    return np.array([1.0 - math.exp(-s1), 1.0 - math.exp(-s2)])


def kursawe(x):
    f1 = 0.0
    for i in range(len(x) - 1):
        f1 += -10.0 * math.exp(-0.2 * math.sqrt(x[i] ** 2 + x[i + 1] ** 2))
    f2 = 0.0
    for xi in x:
        f2 += abs(xi) ** 0.8 + 5.0 * math.sin(xi ** 3)
    return np.array([f1, f2])


def viennet(x):
    a, b = x[0], x[1]
    r = a * a + b * b
    f1 = 0.5 * r + math.sin(r)
    f2 = (3.0 * a - 2.0 * b + 4.0) ** 2 / 8.0 + (a - b + 1.0) ** 2 / 27.0 + 15.0
    f3 = 1.0 / (r + 1.0) - 1.1 * math.exp(-r)
    return np.array([f1, f2, f3])


def binh_korn(x):
    f = np.empty(2)
    f[0] = 4.0 * x[0] ** 2 + 4.0 * x[1] ** 2
    f[1] = (x[0] - 5.0) ** 2 + (x[1] - 5.0) ** 2
    return f


def poloni(x):
    a1 = 0.5 * math.sin(1.0) - 2.0 * math.cos(1.0) + math.sin(2.0) - 1.5 * math.cos(2.0)
    a2 = 1.5 * math.sin(1.0) - math.cos(1.0) + 2.0 * math.sin(2.0) - 0.5 * math.cos(2.0)
    b1 = 0.5 * math.sin(x[0]) - 2.0 * math.cos(x[0]) + math.sin(x[1]) - 1.5 * math.cos(x[1])
    b2 = 1.5 * math.sin(x[0]) - math.cos(x[0]) + 2.0 * math.sin(x[1]) - 0.5 * math.cos(x[1])
    return np.array([1.0 + (a1 - b1) ** 2 + (a2 - b2) ** 2, (x[0] + 3.0) ** 2 + (x[1] + 1.0) ** 2])


def constrained_chankong_haimes(x):
    """Objectives and constraint values stacked, as constrained problem classes return them."""
    f1 = 2.0 + (x[0] - 2.0) ** 2 + (x[1] - 1.0) ** 2
    f2 = 9.0 * x[0] - (x[1] - 1.0) ** 2
    g1 = x[0] ** 2 + x[1] ** 2 - 225.0
    g2 = x[0] - 3.0 * x[1] + 10.0
    return np.stack([np.array([f1, f2]), np.array([g1, g2])])


_UNIT = np.array([0.31, 0.62, 0.47, 0.55, 0.28, 0.71, 0.44])

CASES = [
    Case("zdt1", zdt1, _UNIT[:6], "multi-objective"),
    Case("zdt2", zdt2, _UNIT[:6], "multi-objective"),
    Case("zdt3", zdt3, _UNIT[:6], "multi-objective"),
    Case("zdt4", zdt4, _UNIT[:5], "multi-objective"),
    Case("zdt6", zdt6, _UNIT[:5], "multi-objective"),
    Case("dtlz1", dtlz1, _UNIT, "multi-objective"),
    Case("dtlz2", dtlz2, _UNIT, "multi-objective"),
    Case("dtlz3", dtlz3, _UNIT, "multi-objective"),
    Case("dtlz4", dtlz4, _UNIT, "multi-objective"),
    Case("dtlz7", dtlz7, _UNIT, "multi-objective"),
    Case("fonseca_fleming", fonseca_fleming, np.array([0.2, -0.4, 0.6]), "multi-objective"),
    Case("kursawe", kursawe, np.array([0.8, -1.3, 1.7]), "multi-objective"),
    Case("viennet", viennet, np.array([0.6, -0.9]), "multi-objective"),
    Case("binh_korn", binh_korn, np.array([1.2, 2.3]), "multi-objective"),
    Case("poloni", poloni, np.array([0.7, -1.4]), "multi-objective"),
    Case("chankong_haimes", constrained_chankong_haimes, np.array([1.5, 4.2]), "multi-objective"),
]
