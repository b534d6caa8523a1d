"""Scalar test functions for optimisers, in the style of benchmark-function libraries.

Written the way such collections usually are: a loop over the coordinates, ``math`` functions on
each element, accumulators starting at ``0.0``, the occasional ``np.asarray(x)`` at the top and
constants from ``math``. Nothing here is written with automatic differentiation in mind.
"""

from __future__ import annotations

import math
from math import cos, exp, pi, sin, sqrt

import numpy as np
import scipy.special

from . import Case


def ackley(x, a=20.0, b=0.2, c=2.0 * math.pi):
    n = len(x)
    sum_sq = 0.0
    sum_cos = 0.0
    for xi in x:
        sum_sq += xi ** 2
        sum_cos += math.cos(c * xi)
    return -a * math.exp(-b * math.sqrt(sum_sq / n)) - math.exp(sum_cos / n) + a + math.e


def rastrigin(x):
    x = np.asarray(x)
    total = 10.0 * len(x)
    for xi in x:
        total += xi * xi - 10.0 * cos(2.0 * pi * xi)
    return total


def griewank(x):
    s = 0.0
    p = 1.0
    for i, xi in enumerate(x):
        s += xi ** 2 / 4000.0
        p *= math.cos(xi / math.sqrt(i + 1))
    return s - p + 1.0


def levy(x):
    w = [1.0 + (xi - 1.0) / 4.0 for xi in x]
    term1 = math.sin(math.pi * w[0]) ** 2
    term3 = (w[-1] - 1.0) ** 2 * (1.0 + math.sin(2.0 * math.pi * w[-1]) ** 2)
    mid = 0.0
    for wi in w[:-1]:
        mid += (wi - 1.0) ** 2 * (1.0 + 10.0 * math.sin(math.pi * wi + 1.0) ** 2)
    return term1 + mid + term3


def michalewicz(x, m=10):
    total = 0.0
    for i in range(len(x)):
        total -= sin(x[i]) * sin((i + 1) * x[i] ** 2 / pi) ** (2 * m)
    return total


def rosenbrock(x):
    total = 0.0
    for i in range(len(x) - 1):
        total += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return total


def schwefel(x):
    d = len(x)
    total = 0.0
    for xi in x:
        total += xi * math.sin(math.sqrt(abs(xi)))
    return 418.9829 * d - total


def styblinski_tang(x):
    return sum(xi ** 4 - 16.0 * xi ** 2 + 5.0 * xi for xi in x) / 2.0


def zakharov(x):
    s1 = 0.0
    s2 = 0.0
    for i, xi in enumerate(x):
        s1 += xi ** 2
        s2 += 0.5 * (i + 1) * xi
    return s1 + s2 ** 2 + s2 ** 4


def dixon_price(x):
    total = (x[0] - 1.0) ** 2
    for i in range(1, len(x)):
        total += (i + 1) * (2.0 * x[i] ** 2 - x[i - 1]) ** 2
    return total


def trid(x):
    s1 = sum((xi - 1.0) ** 2 for xi in x)
    s2 = sum(x[i] * x[i - 1] for i in range(1, len(x)))
    return s1 - s2


def sphere(x):
    x = np.asarray(x, dtype=float)
    return np.sum(x ** 2)


def alpine1(x):
    return sum(abs(xi * math.sin(xi) + 0.1 * xi) for xi in x)


def salomon(x):
    r = math.sqrt(sum(xi * xi for xi in x))
    return 1.0 - math.cos(2.0 * math.pi * r) + 0.1 * r


def powell(x):
    total = 0.0
    for i in range(len(x) // 4):
        a, b, c, d = x[4 * i], x[4 * i + 1], x[4 * i + 2], x[4 * i + 3]
        total += (a + 10.0 * b) ** 2 + 5.0 * (c - d) ** 2 + (b - 2.0 * c) ** 4 + 10.0 * (a - d) ** 4
    return total


def beale(x):
    x1, x2 = x
    return ((1.5 - x1 + x1 * x2) ** 2 + (2.25 - x1 + x1 * x2 ** 2) ** 2
            + (2.625 - x1 + x1 * x2 ** 3) ** 2)


def branin(x, a=1.0, b=5.1 / (4.0 * math.pi ** 2), c=5.0 / math.pi, r=6.0, s=10.0, t=1.0 / (8.0 * math.pi)):
    x1, x2 = x[0], x[1]
    return a * (x2 - b * x1 ** 2 + c * x1 - r) ** 2 + s * (1.0 - t) * math.cos(x1) + s


def six_hump_camel(x):
    x1, x2 = x
    return (4.0 - 2.1 * x1 ** 2 + x1 ** 4 / 3.0) * x1 ** 2 + x1 * x2 + (-4.0 + 4.0 * x2 ** 2) * x2 ** 2


def goldstein_price(x):
    x1, x2 = x
    a = 1.0 + (x1 + x2 + 1.0) ** 2 * (19.0 - 14.0 * x1 + 3.0 * x1 ** 2 - 14.0 * x2 + 6.0 * x1 * x2 + 3.0 * x2 ** 2)
    b = 30.0 + (2.0 * x1 - 3.0 * x2) ** 2 * (18.0 - 32.0 * x1 + 12.0 * x1 ** 2 + 48.0 * x2 - 36.0 * x1 * x2 + 27.0 * x2 ** 2)
    return a * b


def easom(x):
    x1, x2 = x
    return -cos(x1) * cos(x2) * exp(-((x1 - pi) ** 2 + (x2 - pi) ** 2))


_H3_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H3_A = np.array([[3.0, 10.0, 30.0], [0.1, 10.0, 35.0], [3.0, 10.0, 30.0], [0.1, 10.0, 35.0]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]])


def hartmann3(x):
    outer = 0.0
    for i in range(4):
        inner = 0.0
        for j in range(3):
            inner += _H3_A[i, j] * (x[j] - _H3_P[i, j]) ** 2
        outer += _H3_ALPHA[i] * math.exp(-inner)
    return -outer


_SHEKEL_C = np.array([[4.0, 1.0, 8.0, 6.0, 3.0], [4.0, 1.0, 8.0, 6.0, 7.0],
                      [4.0, 1.0, 8.0, 6.0, 3.0], [4.0, 1.0, 8.0, 6.0, 7.0]])
_SHEKEL_BETA = 0.1 * np.array([1.0, 2.0, 2.0, 4.0, 4.0])


def shekel(x):
    total = 0.0
    for i in range(5):
        denom = _SHEKEL_BETA[i]
        for j in range(4):
            denom += (x[j] - _SHEKEL_C[j, i]) ** 2
        total -= 1.0 / denom
    return total


def perm_beta(x, beta=0.5):
    d = len(x)
    outer = 0.0
    for i in range(1, d + 1):
        inner = 0.0
        for j in range(1, d + 1):
            inner += (j + beta) * (x[j - 1] ** i - 1.0 / j ** i)
        outer += inner ** 2
    return outer


def qing(x):
    return sum((xi ** 2 - (i + 1)) ** 2 for i, xi in enumerate(x))


def xin_she_yang4(x):
    a = sum(math.sin(xi) ** 2 for xi in x)
    b = math.exp(-sum(xi ** 2 for xi in x))
    c = math.exp(-sum(math.sin(math.sqrt(abs(xi))) ** 2 for xi in x))
    return (a - b) * c


def bukin6(x):
    return 100.0 * math.sqrt(abs(x[1] - 0.01 * x[0] ** 2)) + 0.01 * abs(x[0] + 10.0)


def drop_wave(x):
    r2 = x[0] ** 2 + x[1] ** 2
    return -(1.0 + math.cos(12.0 * math.sqrt(r2))) / (0.5 * r2 + 2.0)


def logistic_nll(w):
    """Negative log-likelihood of a logistic regression, one sample at a time."""
    total = 0.0
    for xi, yi in zip(_LOGREG_X, _LOGREG_Y):
        z = sum(wj * xij for wj, xij in zip(w, xi))
        total += math.log1p(math.exp(-yi * z))
    return total / len(_LOGREG_Y)


_LOGREG_X = np.random.default_rng(3).normal(size=(12, 4))
_LOGREG_Y = np.sign(_LOGREG_X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3)


def softmax_regression_loss(w):
    """Cross-entropy of a 3-class softmax model (weights flattened), through scipy.special."""
    W = np.asarray(w).reshape(3, 4)
    scores = _LOGREG_X @ W.T
    return np.mean(scipy.special.logsumexp(scores, axis=1) - scores[np.arange(12), _LOGREG_LABELS])


_LOGREG_LABELS = np.arange(12) % 3


def huber_sum(x, delta=1.0):
    total = 0.0
    for xi in x:
        if abs(xi) <= delta:
            total += 0.5 * xi ** 2
        else:
            total += delta * (abs(xi) - 0.5 * delta)
    return total


def happy_cat(x, alpha=0.125):
    n = len(x)
    r2 = math.fsum(xi * xi for xi in x)
    s = math.fsum(x)
    return ((r2 - n) ** 2) ** alpha + (0.5 * r2 + s) / n + 0.5


def float_normalised_rosenbrock(x):
    """Library code that normalises its input to a list of Python floats first."""
    x = [float(v) for v in x]
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(len(x) - 1))


def _x(*values):
    return np.array(values, dtype=float)


CASES = [
    Case("ackley", ackley, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("rastrigin", rastrigin, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("griewank", griewank, _x(1.3, -2.8, 0.7, 3.1), "test function"),
    Case("levy", levy, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("michalewicz", michalewicz, _x(2.2, 1.57, 1.3, 1.9), "test function"),
    Case("rosenbrock", rosenbrock, _x(0.3, -0.8, 1.2, 0.5, 0.9), "test function"),
    Case("schwefel", schwefel, _x(30.0, -120.0, 250.0, 420.0), "test function"),
    Case("styblinski_tang", styblinski_tang, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("zakharov", zakharov, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("dixon_price", dixon_price, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("trid", trid, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("sphere", sphere, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("alpine1", alpine1, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("salomon", salomon, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("powell", powell, _x(0.3, -0.8, 1.2, 0.5, 0.2, 0.1, -0.4, 0.9), "test function"),
    Case("beale", beale, _x(1.3, 0.4), "test function"),
    Case("branin", branin, _x(-2.1, 7.3), "test function"),
    Case("six_hump_camel", six_hump_camel, _x(0.3, -0.6), "test function"),
    Case("goldstein_price", goldstein_price, _x(0.2, -0.7), "test function"),
    Case("easom", easom, _x(2.9, 3.3), "test function"),
    Case("hartmann3", hartmann3, _x(0.1, 0.55, 0.85), "test function"),
    Case("shekel", shekel, _x(4.2, 3.9, 4.1, 3.7), "test function"),
    Case("perm_beta", perm_beta, _x(0.9, 0.6, 0.2), "test function"),
    Case("qing", qing, _x(1.1, 1.3, 1.9, 2.1), "test function"),
    Case("xin_she_yang4", xin_she_yang4, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("bukin6", bukin6, _x(-9.0, 0.9), "test function"),
    Case("drop_wave", drop_wave, _x(0.3, -0.8), "test function"),
    Case("logistic_nll", logistic_nll, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("softmax_regression", softmax_regression_loss, np.linspace(-0.5, 0.6, 12), "test function"),
    Case("huber_sum", huber_sum, _x(0.3, -1.8, 1.2, 0.5), "test function",
         "value-dependent branch: no global pattern exists (MissingPrimalError names the local detector)"),
    Case("happy_cat", happy_cat, _x(0.3, -0.8, 1.2, 0.5), "test function"),
    Case("float_normalised_rosenbrock", float_normalised_rosenbrock, _x(0.3, -0.8, 1.2), "test function",
         "float() on every input: the derivative cannot be carried (clear TracingError)"),
]
