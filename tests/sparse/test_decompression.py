"""Decompression: output structure, in-place filling of CSR/CSC outputs, shape errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import scipy.sparse as sp

from anydiff._errors import ColoringError, InputError
from anydiff.sparse import coloring
from anydiff.sparse.decompression import decompress, decompress_data

_RNG = "rng" if "rng" in inspect.signature(sp.random_array).parameters else "random_state"  # SciPy < 1.15
S = sp.csr_array(sp.random_array((30, 20), density=0.15, **{_RNG: np.random.default_rng(2)}) != 0)
H = sp.csr_array((S.T @ S) != 0)


def _values(P, seed=0, symmetric=False):
    J = sp.csr_array(P, dtype=float)
    J.data = np.random.default_rng(seed).standard_normal(J.nnz)
    return sp.csr_array(J + J.T) if symmetric else J


CASES = {
    "column": (S, {}),
    "row": (S, {"partition": "row"}),
    "bidirectional": (S, {"partition": "bidirectional"}),
    "star": (H, {"structure": "symmetric"}),
    "acyclic": (
        H,
        {
            "structure": "symmetric",
            "algorithm": coloring.GreedyColoring(decompression="substitution"),
        },
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_roundtrip_dense_and_sparse_inputs(case):
    P, kwargs = CASES[case]
    res = coloring.color(P, **kwargs)
    J = _values(res.pattern, symmetric=res.structure == "symmetric")
    for given in (J, J.toarray(), sp.csc_array(J)):
        R = res.decompress(res.compress(given))
        assert isinstance(R, sp.csr_array)
        assert np.array_equal(R.indices, res.pattern.indices) and np.array_equal(
            R.indptr, res.pattern.indptr
        )
        np.testing.assert_allclose(R.toarray(), J.toarray(), rtol=1e-12, atol=1e-12)
    assert np.allclose(decompress_data(res, res.compress(J)), J.data)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_out_is_filled_in_place(case, fmt):
    P, kwargs = CASES[case]
    res = coloring.color(P, **kwargs)
    sym = res.structure == "symmetric"
    J1, J2 = _values(res.pattern, 1, sym), _values(res.pattern, 2, sym)
    out = res.decompress(res.compress(J1)).asformat(fmt)
    buffer = out.data
    same = decompress(res, res.compress(J2), out=out)
    assert same is out and out.data is buffer
    np.testing.assert_allclose(out.toarray(), J2.toarray(), rtol=1e-12, atol=1e-12)


def test_wrong_shapes_and_outputs_raise_with_hint():
    res = coloring.color(S)
    B = res.compress(_values(S))
    with pytest.raises(InputError, match=rf"expected \(30, {res.ncolors}\)[\s\S]*Hint"):
        res.decompress(B[:, :-1])
    with pytest.raises(InputError, match="Hint"):
        res.decompress(B, out=sp.csr_array(np.ones((30, 20))))
    with pytest.raises(InputError, match="Hint"):
        res.decompress(B, out=np.zeros((30, 20)))
    with pytest.raises(InputError, match="Hint"):
        res.compress(np.ones((20, 30)))
    bi = coloring.color(S, partition="bidirectional")
    Bc, Br = bi.compress(_values(S))
    with pytest.raises(InputError, match="Hint"):
        bi.decompress(Bc)
    assert np.allclose(bi.decompress(Bc, Br).toarray(), bi.decompress((Bc, Br)).toarray())


def test_direct_is_one_gather_and_substitution_has_none():
    res = coloring.color(S)
    B = res.compress(_values(S))
    assert np.array_equal(np.ravel(B.T)[res.gather_index()], res.decompress(B).data)
    acyclic = CASES["acyclic"]
    with pytest.raises(ColoringError, match="Hint"):
        coloring.color(acyclic[0], **acyclic[1]).gather_index()


def test_seeds_and_groups():
    res = coloring.color(S)
    assert np.array_equal(res.seeds.sum(axis=1), np.ones(S.shape[1]))
    for c, g in enumerate(res.groups):
        assert np.all(res.colors[g] == c)
    bi = coloring.color(S, partition="bidirectional")
    assert len(bi.groups) == bi.ncolors
    assert bi.column_seeds.shape[0] == S.shape[1] and bi.row_seeds.shape[0] == S.shape[0]
    with pytest.raises(ColoringError, match="Hint"):
        _ = bi.seeds


def test_complex_and_float32_products():
    res = coloring.color(
        H, structure="symmetric", algorithm=coloring.GreedyColoring(decompression="substitution")
    )
    J = _values(H, symmetric=True)
    Jc = sp.csr_array(J * (1 + 2j))
    assert np.allclose(res.decompress(res.compress(Jc)).toarray(), Jc.toarray())
    R = coloring.color(S).decompress(coloring.color(S).compress(_values(S)).astype(np.float32))
    assert R.dtype == np.float32
