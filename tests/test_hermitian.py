"""The real Hermitian basis and the pointwise matrix algebra."""

import numpy as np
import pytest

from spectral_qc import hermitian as hm


@pytest.mark.parametrize("n", [1, 2, 3, 4, 8])
def test_basis_orthonormal_and_complete(n, rng):
    e = hm.basis(n)
    assert e.shape == (n * n, n, n)
    assert all(hm.is_hermitian(e[a]) for a in range(n * n))
    gram = np.einsum("aij,bji->ab", e, e)
    np.testing.assert_allclose(gram, np.eye(n * n), atol=1e-14)
    # completeness: a random Hermitian matrix is reproduced from its components
    a = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
    a = a + a.conj().T
    c = hm.to_components(a)
    assert c.dtype == float
    np.testing.assert_allclose(hm.from_components(c), a, atol=1e-13)


def test_qubit_basis_is_pauli_over_sqrt2():
    e = hm.basis(2) * np.sqrt(2)
    np.testing.assert_allclose(e[1], [[0, 1], [1, 0]])
    np.testing.assert_allclose(e[2], [[0, -1j], [1j, 0]])
    np.testing.assert_allclose(e[3], [[1, 0], [0, -1]])


def test_unitary_conjugation_is_isospectral_and_matches_expm(rng):
    from scipy.linalg import expm

    n, m = 3, 5
    k = rng.standard_normal((m, n, n)) + 1j * rng.standard_normal((m, n, n))
    k = k + np.conj(np.swapaxes(k, 1, 2))
    x = rng.standard_normal((m, n, n)) + 1j * rng.standard_normal((m, n, n))
    p = x @ np.conj(np.swapaxes(x, 1, 2))
    p /= np.trace(p, axis1=1, axis2=2)[:, None, None]
    out = hm.unitary_conjugate(np.moveaxis(p, 0, -1), np.moveaxis(k, 0, -1), 0.37)
    for i in range(m):
        u = expm(-1j * 0.37 * k[i])
        np.testing.assert_allclose(out[..., i], u @ p[i] @ u.conj().T, atol=1e-13)
    np.testing.assert_allclose(hm.eigvalsh(out), hm.eigvalsh(np.moveaxis(p, 0, -1)), atol=1e-13)
