"""Sparsity detection time, side by side: anydiff's NumPy tracer, anydiff's jaxpr detector, asdex.

Run: ``.venv/bin/python -m benchmarks.bench_detection [--quick]``
(writes ``benchmarks/results/detection.{json,md}``).

Problems (self-contained here, true patterns built independently from the stencils):
* Brusselator 2-D, N = 16, 32, 64 (input and output size 2N²): 5-point periodic Laplacian
  via ``roll`` plus the reactions ``u²v``;
* banded ``f(x) = D(x²)`` with ``D(x)_i = x_i − x_{i−1}`` (``x_{−1} = 0``), n = 1e4, 1e5.

Each detector is timed from the plain function to a pattern (tracing included: detection is a
one-time cost per function), min over repeats after one warm-up call. Targets (issue 4):
identical patterns; detection time ≤ asdex's (ratio ≤ 1).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

from anydiff.sparse.detect import JaxSparsityDetector, TracerSparsityDetector

from ._common import fmt_time, machine_info, write_results


def brusselator_2d(xp, N):
    """``f(x)`` for the 2-D Brusselator on an N×N periodic grid (NumPy or jax.numpy as ``xp``)."""
    A, B, alpha = 3.4, 1.0, 10.0
    g = np.linspace(0.0, 1.0, N)
    X, Y = np.meshgrid(g, g, indexing="ij")
    forcing = np.where((X - 0.3) ** 2 + (Y - 0.6) ** 2 <= 0.01, 5.0, 0.0)
    coef = alpha * (N - 1) ** 2

    def lap(w):
        return xp.roll(w, 1, 0) + xp.roll(w, -1, 0) + xp.roll(w, 1, 1) + xp.roll(w, -1, 1) - 4.0 * w

    def f(x):
        u, v = x[: N * N].reshape(N, N), x[N * N:].reshape(N, N)
        uuv = u * u * v
        du = coef * lap(u) + B + uuv - (A + 1.0) * u + forcing
        dv = coef * lap(v) + A * u - uuv
        return xp.concatenate([du.ravel(), dv.ravel()])

    return f


def brusselator_truth(N):
    i, j = np.divmod(np.arange(N * N), N)
    stencil = [i * N + j, ((i + 1) % N) * N + j, ((i - 1) % N) * N + j, i * N + (j + 1) % N, i * N + (j - 1) % N]
    r = np.arange(N * N)
    rows = np.concatenate([np.tile(r, 5), np.tile(r, 5) + N * N, r, r + N * N])
    cols = np.concatenate([np.concatenate(stencil), np.concatenate(stencil) + N * N, r + N * N, r])
    return _csr(rows, cols, (2 * N * N, 2 * N * N))


def banded(xp):
    def f(x):
        y = x * x
        return y - xp.concatenate([xp.zeros(1, dtype=y.dtype), y[:-1]])

    return f


def banded_truth(n):
    r = np.arange(n)
    return _csr(np.concatenate([r, r[1:]]), np.concatenate([r, r[:-1]]), (n, n))


def _csr(rows, cols, shape):
    S = sp.coo_array((np.ones(rows.size, bool), (rows, cols)), shape=shape).tocsr()
    S.sum_duplicates()
    return sp.csr_array(S, dtype=bool)


def same(S, truth):
    S = sp.csr_array(S, dtype=bool)
    return S.shape == truth.shape and (S != truth).nnz == 0


def best(fn, repeat):
    out = fn()  # warm-up (imports, JAX primitive caches); detection itself is not cached
    t_best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, out


def problems(quick):
    for N in [16] if quick else [16, 32, 64]:
        x = np.random.default_rng(N).uniform(0.0, 1.0, 2 * N * N)
        yield f"Brusselator N={N}", (lambda xp, N=N: brusselator_2d(xp, N)), x, brusselator_truth(N)
    for n in [10_000] if quick else [10_000, 100_000]:
        yield f"banded D(x²) n={n}", banded, np.linspace(0.5, 1.5, n), banded_truth(n)


def run(quick, repeat):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    try:
        import asdex
    except ImportError:
        asdex = None
    rows = []
    for label, make, x, truth in problems(quick):
        f_np, f_jax, xj = make(np), make(jnp), jnp.asarray(x)
        row = {"problem": label, "n": int(x.size), "nnz": int(truth.nnz)}
        row["f_numpy_s"], _ = best(lambda: f_np(x), repeat)
        row["tracer_s"], S1 = best(lambda: TracerSparsityDetector().jacobian_sparsity(f_np, x), repeat)
        row["jaxpr_s"], S2 = best(lambda: JaxSparsityDetector().jacobian_sparsity(f_jax, xj), repeat)
        row["tracer_exact"], row["jaxpr_exact"] = same(S1, truth), same(S2, truth)
        if asdex is not None:
            row["asdex_s"], P = best(lambda: asdex.jacobian_sparsity(f_jax, xj), repeat)
            row["asdex_exact"] = same(_csr(np.asarray(P.rows), np.asarray(P.cols), P.shape), truth)
            row["tracer_ratio"] = row["tracer_s"] / row["asdex_s"]
            row["jaxpr_ratio"] = row["jaxpr_s"] / row["asdex_s"]
        rows.append(row)
        print({k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    return rows


def markdown(rows, info):
    v = info["versions"]
    L = ["# Sparsity detection (Jacobian patterns)", "",
         f"Machine: {info['machine']}, {info['cpus']} CPUs, Python {info['python']}, numpy {v.get('numpy')}, "
         f"scipy {v.get('scipy')}, jax {v.get('jax')}, asdex {v.get('asdex')}; commit {info['commit']}, "
         f"{info['timestamp']}. Times: min over repeats, from the plain function to the pattern "
         "(tracing included). Ratios < 1: faster than asdex.", "",
         "| problem | n | nnz | f(x) NumPy | NumPy tracer | jaxpr detector | asdex | tracer / asdex | jaxpr / asdex | patterns exact (tracer, jaxpr, asdex) |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = lambda k: "—" if r.get(k) is None else f"{r[k]:.2f}"  # noqa: E731
        L.append(f"| {r['problem']} | {r['n']} | {r['nnz']} | {fmt_time(r['f_numpy_s'])} | {fmt_time(r['tracer_s'])} "
                 f"| {fmt_time(r['jaxpr_s'])} | {fmt_time(r.get('asdex_s'))} | {ratio('tracer_ratio')} "
                 f"| {ratio('jaxpr_ratio')} | {r['tracer_exact']}, {r['jaxpr_exact']}, {r.get('asdex_exact', '—')} |")
    L.append("")
    return "\n".join(L)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smallest sizes only")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args(argv)
    info = machine_info()
    rows = run(args.quick, args.repeat or (3 if args.quick else 7))
    write_results("detection", {"machine": info, "rows": rows}, markdown(rows, info))


if __name__ == "__main__":
    main()
