"""The batched unitary conjugation of spectral_qc.exponential (issue 16) against an
independent reference: scipy's expm at every point, for small, moderate and large τ‖K‖
(the last exercises the sub-steps and the squaring)."""

import math

import numpy as np
import pytest
from scipy.linalg import expm

from spectral_qc import exponential as ex
from spectral_qc import hermitian as hm


def _hermitian(rng, n, shape, scale=1.0):
    a = rng.standard_normal((n, n) + shape) + 1j * rng.standard_normal((n, n) + shape)
    return scale * (a + np.conj(np.swapaxes(a, 0, 1))) / 2


def _expected(p, k, tau):
    out = np.empty_like(p)
    for i in np.ndindex(p.shape[2:]):
        ix = (slice(None), slice(None)) + i
        u = expm(-1j * tau * k[ix])
        out[ix] = u @ p[ix] @ u.conj().T
    return out


@pytest.mark.parametrize("N, method", [(3, "series"), (4, "series"), (3, "taylor"),
                                       (4, "taylor"), (8, "taylor")])
@pytest.mark.parametrize("tau", [1e-4, 0.3, -0.7, 4.0])
def test_conjugation_matches_expm(rng, N, tau, method):
    shape = (3, 4)
    k, p = _hermitian(rng, N, shape), _hermitian(rng, N, shape)
    kc, pc = hm.to_components(k), hm.to_components(p)
    f = ex.conjugate_series if method == "series" else ex.conjugate_taylor
    got = hm.from_components(f(pc, kc, tau))
    np.testing.assert_allclose(got, _expected(p, k, tau), rtol=0, atol=1e-12 * np.abs(p).max())
    # the production entry point (the series up to N = 4, Taylor above) agrees too
    np.testing.assert_allclose(ex.unitary_conjugate_components(pc, kc, tau),
                               hm.to_components(got),
                               rtol=0, atol=1e-12 * np.abs(pc).max())


@pytest.mark.parametrize("N", [4, 8])
def test_unitary_and_isospectral_to_roundoff(rng, N):
    methods = (ex.conjugate_series, ex.conjugate_taylor) if N <= 4 else (ex.conjugate_taylor,)
    shape = (5, 6)
    k = _hermitian(rng, N, shape, scale=3.0)
    rho = _hermitian(rng, N, shape)
    rho = np.einsum("ij...,kj...->ik...", rho, rho.conj())  # positive
    kc, pc = hm.to_components(k), hm.to_components(rho)
    u = ex.unitary_taylor(kc, 0.9)
    eye = np.eye(N)
    assert np.abs(np.conj(np.swapaxes(u, -1, -2)) @ u - eye).max() < 1e-13
    for f in methods:
        out = f(pc, kc, 0.9)
        np.testing.assert_allclose(hm.eigvalsh_components(out), hm.eigvalsh_components(pc),
                                   rtol=0, atol=1e-12 * np.abs(pc).max())
        assert np.array_equal(out[0], pc[0])  # the trace component is carried over


def test_series_terms_is_the_smallest_sufficient():
    assert ex.series_terms(0.0) == 0
    for x in (1e-6, 1e-3, 0.1, 0.5):
        m = ex.series_terms(x)
        assert x ** (m + 1) / math.factorial(m + 1) <= ex.SERIES_TOL
        assert x ** m / math.factorial(m) > ex.SERIES_TOL


def test_zero_generator_and_zero_time_are_the_identity(rng):
    pc = hm.to_components(_hermitian(rng, 4, (2, 3)))
    kc = hm.to_components(_hermitian(rng, 4, (2, 3)))
    np.testing.assert_array_equal(ex.conjugate_series(pc, kc, 0.0), pc)
    np.testing.assert_array_equal(ex.conjugate_series(pc, 0 * kc, 0.5), pc)
    np.testing.assert_allclose(ex.conjugate_taylor(pc, 0 * kc, 0.5), pc, atol=1e-15)


@pytest.mark.parametrize("N", [3, 4])
def test_commutator_with_support_is_bit_identical(rng, N):
    a = hm.to_components(_hermitian(rng, N, (4, 5)))
    b = hm.to_components(_hermitian(rng, N, (4, 5)))
    b[[1, 2, N * N - 1]] = 0.0  # a sparse field, like ∇H of a few Pauli terms
    support = hm.support_of(b[None])
    assert support == frozenset(range(N * N)) - {1, 2, N * N - 1}
    dense = hm.commutator_components(a, b)
    assert np.array_equal(hm.commutator_components(a, b, support), dense)
    # against the matrix commutator (independent path)
    np.testing.assert_allclose(1j * hm.from_components(dense),
                               hm.commutator(hm.from_components(a), hm.from_components(b)),
                               atol=1e-12)


def test_qubit_eigenvalues_closed_form(rng):
    p = _hermitian(rng, 2, (7, 3))
    np.testing.assert_allclose(hm.eigvalsh_components(hm.to_components(p)), hm.eigvalsh(p),
                               atol=1e-13)
