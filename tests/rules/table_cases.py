"""One test function per entry of the function table (``anydiff.rules.FUNCTIONS``).

``CASES[name] = (f, x)``: ``f`` maps a float vector to a real float array and calls the
function ``name`` (by its table name) on traced input; ``x`` is a point away from kinks.
"""

from __future__ import annotations

import numpy as np
import scipy.special as sc

R = np.random.default_rng(7)


def _scipy(name):
    """``scipy.special.<name>`` when anydiff intercepts it during a call (the idioms scope),
    else the table's NumPy-terms version of it (the same entry)."""
    from anydiff.rules import FUNCTIONS

    try:
        import anydiff._numpy_scope  # noqa: F401
    except ImportError:
        return FUNCTIONS[getattr(sc, name)].impl
    return getattr(sc, name)


def _linalg(name):
    """``scipy.linalg.<name>``, looked up at call time (anydiff intercepts it during a call)."""
    import scipy.linalg

    return getattr(scipy.linalg, name)


_LU = __import__("scipy.linalg").linalg.lu_factor(np.array([[0.1, 2.0, 0.3], [1.5, 0.2, 0.4], [0.3, 0.6, 2.5]]))
X6 = R.uniform(0.2, 0.9, 6)
X4 = R.uniform(0.2, 0.9, 4)
X9 = R.uniform(0.2, 0.9, 9)
S3 = np.array([2.0, 0.3, 0.1, 0.4, 3.0, 0.2, 0.1, 0.5, 4.0])  # well conditioned, distinct eigenvalues
NAN6 = X6.copy()


def m23(x):
    return np.reshape(x, (2, 3))


def m33(x):
    return np.reshape(x, (3, 3))


def spd(x):
    a = m33(x)
    return a @ a.T + 3.0 * np.eye(3)


def ri(z):
    """Real and imaginary parts of a complex result, one real vector."""
    return np.concatenate([np.ravel(np.real(z)), np.ravel(np.imag(z))])


def times(k):
    """``x * k`` as float: zero-derivative results enter as constants."""
    return lambda x: x * (np.sum(k(x) * 1.0) + 1.0)


def _nan_in(x):
    return np.where(np.arange(np.size(x)) == 2, np.nan, x)


CASES = {
    # ------------------------------------------------------------------ zero derivative
    "np.argmax": (times(lambda x: np.argmax(x)), X6), "np.argmin": (times(lambda x: np.argmin(x)), X6),
    "np.argsort": (times(lambda x: np.argsort(x)[0]), X6), "np.argwhere": (times(lambda x: np.argwhere(x > 0.5)[0]), X6),
    "np.nonzero": (times(lambda x: np.nonzero(x > 0.5)[0][0]), X6),
    "np.flatnonzero": (times(lambda x: np.flatnonzero(x > 0.5)[0]), X6),
    "np.count_nonzero": (times(lambda x: np.count_nonzero(x > 0.5)), X6),
    "np.isclose": (times(lambda x: np.isclose(x, 0.5)), X6), "np.allclose": (times(lambda x: np.allclose(x, 0.5)), X6),
    "np.array_equal": (times(lambda x: np.array_equal(x, x)), X6), "np.any": (times(lambda x: np.any(x > 0.5)), X6),
    "np.all": (times(lambda x: np.all(x > 0.1)), X6), "np.searchsorted": (times(lambda x: np.searchsorted([0.5], x)), X6),
    "np.round": (times(lambda x: np.round(x, 1)), X6), "np.around": (times(lambda x: np.around(x, 1)), X6),
    "np.fix": (times(lambda x: np.fix(3 * x)), X6), "np.iscomplex": (times(lambda x: np.iscomplex(x)), X6),
    "np.isreal": (times(lambda x: np.isreal(x)), X6), "np.isneginf": (times(lambda x: np.isneginf(x)), X6),
    "np.isposinf": (times(lambda x: np.isposinf(x)), X6), "np.digitize": (times(lambda x: np.digitize(x, [0.5])), X6),
    "np.unique": (lambda x: np.unique(np.round(m23(x), 1))[1:] * x[0], X6), "np.lexsort": (times(lambda x: np.lexsort((x,))[0]), X6),
    "np.min_scalar_type": (times(lambda x: np.min_scalar_type(x) == np.float64), X6),
    "np.nanargmax": (times(lambda x: np.nanargmax(x)), X6), "np.nanargmin": (times(lambda x: np.nanargmin(x)), X6),
    "np.linalg.matrix_rank": (times(lambda x: np.linalg.matrix_rank(m33(x))), X9),
    "np.shape": (times(lambda x: np.shape(x)[0]), X6), "np.ndim": (times(lambda x: np.ndim(x)), X6),
    "np.size": (times(lambda x: np.size(x)), X6), "np.iscomplexobj": (times(lambda x: np.iscomplexobj(x)), X6),
    "np.isrealobj": (times(lambda x: np.isrealobj(x)), X6),
    "np.result_type": (times(lambda x: np.result_type(x) == np.float64), X6),
    "np.can_cast": (times(lambda x: np.can_cast(x, np.float64)), X6),
    "np.may_share_memory": (times(lambda x: np.may_share_memory(x, np.ones(2))), X6),
    "np.shares_memory": (times(lambda x: np.shares_memory(x, np.ones(2))), X6),
    # ----------------------------------------------------------------------- linear
    "np.transpose": (lambda x: np.transpose(m23(x)) * np.arange(1.0, 7.0).reshape(3, 2), X6),
    "np.permute_dims": (lambda x: np.permute_dims(m23(x), (1, 0)), X6),
    "np.swapaxes": (lambda x: np.swapaxes(m23(x), 0, 1), X6), "np.moveaxis": (lambda x: np.moveaxis(m23(x), 0, -1), X6),
    "np.expand_dims": (lambda x: np.expand_dims(x, 0), X6), "np.squeeze": (lambda x: np.squeeze(x[None]), X6),
    "np.flip": (lambda x: np.flip(m23(x), axis=1), X6), "np.roll": (lambda x: np.roll(x, 2), X6),
    "np.take": (lambda x: np.take(x, [0, 2, 2, 5]), X6), "np.repeat": (lambda x: np.repeat(m23(x), 2, axis=0), X6),
    "np.diagonal": (lambda x: np.diagonal(m33(x), 1), X9), "np.rot90": (lambda x: np.rot90(m23(x)), X6),
    "np.fft.fftshift": (lambda x: np.fft.fftshift(x), X6), "np.fft.ifftshift": (lambda x: np.fft.ifftshift(x), X6),
    "np.cumsum": (lambda x: np.cumsum(m23(x), axis=1), X6),
    "np.cumulative_sum": (lambda x: np.cumulative_sum(x, include_initial=True), X6),
    "np.reshape": (lambda x: np.reshape(x, (3, 2), order="F"), X6), "np.ravel": (lambda x: np.ravel(m23(x)), X6),
    "np.broadcast_to": (lambda x: np.broadcast_to(x, (2, 6)), X6), "np.tile": (lambda x: np.tile(x, 2), X6),
    "np.pad": (lambda x: np.pad(x, 2, mode="reflect"), X6),
    "np.concatenate": (lambda x: np.concatenate([x, x[:2] ** 2]), X6),
    "np.stack": (lambda x: np.stack([x, 2 * x], axis=1), X6),
    "np.take_along_axis": (lambda x: np.take_along_axis(m23(x), np.array([[2, 0], [1, 1]]), axis=1), X6),
    "np.copy": (lambda x: np.copy(x) * x, X6), "np.tril": (lambda x: np.tril(m33(x)), X9),
    "np.triu": (lambda x: np.triu(m33(x), 1), X9), "np.diag": (lambda x: np.diag(x[:3]) + np.diag(m33(x))[:, None], X9),
    "np.real": (lambda x: np.real(x * (1 + 2j)), X6), "np.imag": (lambda x: np.imag(x * (1 + 2j)), X6),
    "np.sum": (lambda x: np.sum(m23(x) ** 2, axis=0), X6),
    "np.einsum": (lambda x: np.einsum("ij,kj->ik", m23(x), m23(x)), X6),
    "np.matmul": (lambda x: m23(x) @ m23(x).T, X6),
    "np.convolve": (lambda x: np.convolve(x[:4], x[4:], mode="same"), X6),
    "np.correlate": (lambda x: np.correlate(x[:4], x[4:], mode="full"), X6),
    "np.fft.fft": (lambda x: ri(np.fft.fft(x)), X6), "np.fft.ifft": (lambda x: ri(np.fft.ifft(x, n=8)), X6),
    "np.fft.rfft": (lambda x: ri(np.fft.rfft(x)), X6), "np.fft.irfft": (lambda x: np.fft.irfft(x), X6),
    "np.fft.hfft": (lambda x: np.fft.hfft(x), X6), "np.fft.ihfft": (lambda x: ri(np.fft.ihfft(x)), X6),
    "np.fft.fft2": (lambda x: ri(np.fft.fft2(m23(x))), X6), "np.fft.ifft2": (lambda x: ri(np.fft.ifft2(m23(x))), X6),
    "np.fft.rfft2": (lambda x: ri(np.fft.rfft2(m23(x))), X6),
    "np.fft.irfft2": (lambda x: np.fft.irfft2(m23(x)), X6), "np.fft.fftn": (lambda x: ri(np.fft.fftn(m23(x))), X6),
    "np.fft.ifftn": (lambda x: ri(np.fft.ifftn(m23(x), axes=(1,))), X6),
    "np.fft.rfftn": (lambda x: ri(np.fft.rfftn(m23(x))), X6), "np.fft.irfftn": (lambda x: np.fft.irfftn(m23(x)), X6),
    # -------------------------------------------------------------------- composites
    "np.atleast_1d": (lambda x: np.atleast_1d(np.sum(x)) * x, X6), "np.atleast_2d": (lambda x: np.atleast_2d(x), X6),
    "np.atleast_3d": (lambda x: np.atleast_3d(m23(x)), X6),
    "np.broadcast_arrays": (lambda x: np.broadcast_arrays(x[:3], m23(x))[0] * m23(x), X6),
    "np.append": (lambda x: np.append(x, x[0] ** 2), X6), "np.column_stack": (lambda x: np.column_stack([x, x ** 2]), X6),
    "np.fliplr": (lambda x: np.fliplr(m23(x)), X6), "np.flipud": (lambda x: np.flipud(m23(x)), X6),
    "np.diagflat": (lambda x: np.diagflat(x[:3]), X6), "np.trace": (lambda x: np.trace(m33(x)) * x, X9),
    "np.select": (lambda x: np.select([x < 0.4, x < 0.7], [x ** 2, np.sin(x)], x), X6),
    "np.clip": (lambda x: np.clip(x, 0.3, 0.8), X6), "np.ptp": (lambda x: np.ptp(m23(x), axis=1), X6),
    "np.mean": (lambda x: np.mean(m23(x) ** 2, axis=1), X6), "np.var": (lambda x: np.var(m23(x), axis=0, ddof=1), X6),
    "np.std": (lambda x: np.std(x), X6), "np.average": (lambda x: np.average(m23(x), axis=1, weights=x[:3]), X6),
    "np.cumprod": (lambda x: np.cumprod(x), X6), "np.cumulative_prod": (lambda x: np.cumulative_prod(m23(x), axis=1), X6),
    "np.diff": (lambda x: np.diff(x ** 2, n=2), X6), "np.trapezoid": (lambda x: np.trapezoid(x[:3], x=x[3:]), X6),
    "np.nansum": (lambda x: np.nansum(_nan_in(x) ** 2), X6), "np.nanprod": (lambda x: np.nanprod(m23(_nan_in(x)), axis=1), X6),
    "np.nanmean": (lambda x: np.nanmean(m23(_nan_in(x)), axis=1), X6), "np.nanmax": (lambda x: np.nanmax(_nan_in(x)), X6),
    "np.nanmin": (lambda x: np.nanmin(m23(_nan_in(x)), axis=0), X6), "np.nanvar": (lambda x: np.nanvar(_nan_in(x)), X6),
    "np.nanstd": (lambda x: np.nanstd(m23(_nan_in(x)), axis=1), X6),
    "np.nancumsum": (lambda x: np.nancumsum(_nan_in(x)), X6), "np.nancumprod": (lambda x: np.nancumprod(_nan_in(x)), X6),
    "np.nan_to_num": (lambda x: np.nan_to_num(_nan_in(x) ** 2), X6),
    "np.tensordot": (lambda x: np.tensordot(m23(x), m23(x), axes=([1], [1])), X6),
    "np.linalg.tensordot": (lambda x: np.linalg.tensordot(x[:3], x[3:], axes=1), X6),
    "np.dot": (lambda x: np.dot(m23(x), x[:3]), X6), "np.inner": (lambda x: np.inner(m23(x), x[3:]), X6),
    "np.vdot": (lambda x: np.vdot(x[:3], x[3:]), X6), "np.outer": (lambda x: np.outer(x[:2], x[2:]), X6),
    "np.linalg.outer": (lambda x: np.linalg.outer(x[:2], x[2:]), X6), "np.kron": (lambda x: np.kron(x[:2], x[2:]), X6),
    "np.vecdot": (lambda x: np.vecdot(m23(x), x[3:]), X6), "np.linalg.vecdot": (lambda x: np.linalg.vecdot(x[:3], x[3:]), X6),
    "np.linalg.matmul": (lambda x: np.linalg.matmul(m23(x), x[:3]), X6),
    "np.matvec": (lambda x: np.matvec(m23(x), x[3:]), X6), "np.vecmat": (lambda x: np.vecmat(x[:2], m23(x)), X6),
    "np.linalg.multi_dot": (lambda x: np.linalg.multi_dot([m33(x), m33(x), x[:3]]), X9),
    "np.cross": (lambda x: np.cross(x[:3], x[3:]), X6), "np.linalg.cross": (lambda x: np.linalg.cross(x[:3], x[3:]), X6),
    "np.linalg.matrix_power": (lambda x: np.linalg.matrix_power(m33(x), 3), X9),
    "np.linalg.norm": (lambda x: np.linalg.norm(m23(x), axis=1) + np.linalg.norm(m23(x), ord=1), X6),
    "np.linalg.lstsq": (lambda x: np.linalg.lstsq(np.stack([x[:3], x[3:]], axis=1), np.arange(3.0))[0], X6),
    "np.polyfit": (lambda x: np.polyfit(np.arange(6.0), x, 2), X6),
    "np.polyval": (lambda x: np.polyval(x[:3], x[3:]), X6), "np.sinc": (lambda x: np.sinc(x), X6),
    "np.i0": (lambda x: np.i0(x), X6), "np.real_if_close": (lambda x: np.real_if_close(x + 0j), X6),
    "np.hstack": (lambda x: np.hstack([x, x[:2]]), X6), "np.vstack": (lambda x: np.vstack([x, x ** 2]), X6),
    "np.dstack": (lambda x: np.dstack([m23(x), m23(x)]), X6), "np.split": (lambda x: np.split(x, 2)[1] * x[0], X6),
    "np.array_split": (lambda x: np.array_split(x, 4)[1], X6), "np.hsplit": (lambda x: np.hsplit(m23(x), 3)[2], X6),
    "np.vsplit": (lambda x: np.vsplit(m23(x), 2)[1], X6),
    "np.dsplit": (lambda x: np.dsplit(np.reshape(x, (1, 2, 3)), 3)[1], X6),
    "scipy.special.logsumexp": (lambda x: _scipy("logsumexp")(m23(x), axis=1), X6),
    "scipy.special.softmax": (lambda x: _scipy("softmax")(m23(x), axis=0), X6),
    "scipy.special.log_softmax": (lambda x: _scipy("log_softmax")(x), X6),
    # scipy.linalg (one triangle read where SciPy reads one: the other gets no derivative)
    "scipy.linalg.solve": (lambda x: _linalg("solve")(m33(x) + 2 * np.eye(3), x[:3], assume_a="sym"), X9),
    "scipy.linalg.inv": (lambda x: _linalg("inv")(m33(x) + 2 * np.eye(3)), X9),
    "scipy.linalg.det": (lambda x: _linalg("det")(m33(x)) * x[:2], X9),
    "scipy.linalg.cholesky": (lambda x: _linalg("cholesky")(spd(x) + np.triu(m33(x), 1)), X9),
    "scipy.linalg.cho_factor": (lambda x: _linalg("cho_factor")(spd(x), lower=True)[0], X9),
    "scipy.linalg.cho_solve": (lambda x: _linalg("cho_solve")((_linalg("cholesky")(spd(x)), False), x[:3]), X9),
    "scipy.linalg.lu_solve": (lambda x: _linalg("lu_solve")(_LU, np.reshape(x[:6], (3, 2)), trans=1) * x[6], X9),
    "scipy.linalg.lu_factor": (lambda x: _linalg("lu_factor")(m33(x) + np.diag(x[:3]))[0], X9),
    "scipy.linalg.solve_triangular": (lambda x: _linalg("solve_triangular")(m33(x) + 2 * np.eye(3), x[3:6], trans="T"), X9),
    "scipy.linalg.norm": (lambda x: _linalg("norm")(m33(x), axis=0), X9),
    "scipy.linalg.eigh": (lambda x: _linalg("eigh")(spd(x) + np.tril(m33(x), -1), lower=False, eigvals_only=True), X9),
    # ------------------------------------------------------------------- dense blocks
    "np.linalg.solve": (lambda x: np.linalg.solve(m33(x) + 2 * np.eye(3), x[:3]), X9),
    "np.linalg.inv": (lambda x: np.linalg.inv(m33(x) + 2 * np.eye(3)), X9),
    "np.linalg.det": (lambda x: np.linalg.det(m33(x)) * x[:2], X9),
    "np.linalg.slogdet": (lambda x: np.linalg.slogdet(m33(x) + 2 * np.eye(3))[1] * x[:2], X9),
    "np.linalg.cholesky": (lambda x: np.linalg.cholesky(spd(x)), X9),
    "np.linalg.pinv": (lambda x: np.linalg.pinv(m23(x)), X6),
    "np.linalg.eigh": (lambda x: np.linalg.eigh(spd(x))[0], X9),
    "np.linalg.eigvalsh": (lambda x: np.linalg.eigvalsh(spd(x)), X9),
    "np.linalg.svd": (lambda x: np.linalg.svd(m23(x), compute_uv=False), X6),
    "np.linalg.svdvals": (lambda x: np.linalg.svdvals(m23(x)), X6),
    "np.linalg.qr": (lambda x: np.linalg.qr(np.reshape(x, (3, 2)), mode="r"), X6),
    "np.linalg.eig": (lambda x: ri(np.linalg.eig(m33(x))[0]), S3),
    "np.linalg.eigvals": (lambda x: ri(np.linalg.eigvals(m33(x))), S3),
    # ------------------------------------------------------------------------ custom
    "np.max": (lambda x: np.max(m23(x), axis=1), X6), "np.amax": (lambda x: np.amax(x) * x, X6),
    "np.min": (lambda x: np.min(m23(x), axis=0), X6), "np.amin": (lambda x: np.amin(x) * x, X6),
    "np.prod": (lambda x: np.prod(m23(x), axis=1), X6), "np.sort": (lambda x: np.sort(x) * np.arange(6.0), X6),
    "np.median": (lambda x: np.median(m23(x), axis=1), X6), "np.percentile": (lambda x: np.percentile(x, 30), X6),
    "np.quantile": (lambda x: np.quantile(x, [0.2, 0.7]), X6), "np.nanmedian": (lambda x: np.nanmedian(_nan_in(x)), X6),
    "np.nanpercentile": (lambda x: np.nanpercentile(_nan_in(x), 40), X6),
    "np.nanquantile": (lambda x: np.nanquantile(_nan_in(x), 0.6), X6),
    "np.interp": (lambda x: np.interp(x[:3], [0.0, 0.5, 1.0], x[3:]), X6),
    "np.where": (lambda x: np.where(x > 0.5, x ** 2, -x), X6),
    "np.zeros_like": (lambda x: np.zeros_like(x) + x, X6), "np.ones_like": (lambda x: np.ones_like(x) * x, X6),
    "np.empty_like": (lambda x: _filled(np.empty_like(x), x), X6),
    "np.full_like": (lambda x: np.full_like(x, 2.0) * x, X6),
    "np.copyto": (lambda x: _copied(x), X6),
}


def _filled(buf, x):
    buf[...] = x ** 2
    return buf


def _copied(x):
    buf = np.zeros_like(x)
    np.copyto(buf, np.sin(x))
    return buf
