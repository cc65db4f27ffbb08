"""The exact reference for two classical spins (issue 17 item 4): N-level ⊗ spin-I1 ⊗
spin-I2 by eigendecomposition, checked against QuTiP's sesolve (independent spin matrices,
coherent states and integrator), against the one-spin exact solver when spin 2 only feels
a field, against the analytic precession of spin 2, and for unitarity."""

import numpy as np
import pytest

from spectral_qc.errors import ConfigError
from spectral_qc.exact import (solve_matrices, solve_two_spins, solve_two_spins_qutip,
                               two_spin_hamiltonian)

PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], complex)
RHO_MIXED = np.array([[0.7, 0.2 + 0.1j], [0.2 - 0.1j, 0.3]])
C1, C2 = [1.0, 0.0, 1.0], [0.2, -0.5, 0.4]


def random_hermitian(rng, *shape, n=2):
    m = rng.normal(size=shape + (n, n)) + 1j * rng.normal(size=shape + (n, n))
    return 0.5 * (m + np.swapaxes(m.conj(), -1, -2))


def generic_case(seed=3):
    rng = np.random.default_rng(seed)
    return (random_hermitian(rng), 0.5 * random_hermitian(rng, 3), 0.4 * random_hermitian(rng, 3),
            0.3 * random_hermitian(rng, 3, 3))


def rho_q(ds):
    return ds["rho_q_real"].values + 1j * ds["rho_q_imag"].values


@pytest.mark.parametrize("spins", [(0.5, 1.0), (1.0, 1.5), (1.5, 0.5)])
def test_two_spin_exact_matches_qutip(spins):
    A0, A, B, C = generic_case()
    t = np.linspace(0.0, 3.0, 7)
    kw = dict(hbar=0.8)
    ex = solve_two_spins(A0, A, B, C, RHO_MIXED, (C1, C2), spins, t, **kw)
    qt = solve_two_spins_qutip(A0, A, B, C, RHO_MIXED, (C1, C2), spins, t, **kw)
    assert np.abs(rho_q(ex) - rho_q(qt)).max() < 1e-9
    assert np.abs(ex["n_mean"].values - qt["n_mean"].values).max() < 1e-9
    assert np.abs(ex["energy"].values - qt["energy"].values).max() < 1e-9
    # the dynamics is not trivial: ρq and both spins move
    assert np.abs(rho_q(ex)[-1] - RHO_MIXED).max() > 1e-2
    assert np.abs(ex["n_mean"].values[-1] - ex["n_mean"].values[0]).max(axis=-1).min() > 1e-2


def rotate(v, axis, angle):
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    v = np.asarray(v, float)
    return (v * np.cos(angle) + np.cross(k, v) * np.sin(angle)
            + k * (k @ v) * (1 - np.cos(angle)))


@pytest.mark.parametrize("spins", [(1.0, 1.5), (2.5, 2.0)])
def test_spin_two_in_a_field_reduces_to_the_one_spin_exact_solution(spins):
    """C = 0, B_b = β_b·1: the qubit ⊗ spin 1 block is the one-spin problem, spin 2 precesses
    as d⟨n2⟩/dt = β × ⟨n2⟩ /(ħ I2) (Heisenberg equation of β·Ĵ2/I2)."""
    hbar = 0.7
    A0 = 0.25 * PAULI[2]
    A = 0.5 * PAULI + 0.3 * np.eye(2)[None] * np.array([0, 0, 1.0])[:, None, None]
    beta = np.array([0.1, -0.2, 0.35])
    B = beta[:, None, None] * np.eye(2)[None]
    t = np.linspace(0.0, 4.0, 9)
    two = solve_two_spins(A0, A, B, None, RHO_MIXED, (C1, C2), spins, t, hbar=hbar)
    one = solve_matrices(A0, A, RHO_MIXED, C1, spins[0], t, hbar=hbar)
    assert np.abs(rho_q(two) - rho_q(one)).max() < 1e-12
    assert np.abs(two["n_mean"].values[:, 0] - one["n_mean"].values).max() < 1e-12
    c2 = np.asarray(C2) / np.linalg.norm(C2)
    omega = np.linalg.norm(beta) / (hbar * spins[1])
    expected = np.array([rotate(c2, beta, omega * tk) for tk in t])
    assert np.abs(two["n_mean"].values[:, 1] - expected).max() < 1e-12


def test_two_spin_exact_is_unitary_and_conserves_energy():
    A0, A, B, C = generic_case(seed=7)
    spins = (2.0, 1.5)
    t = np.linspace(0.0, 20.0, 11)
    ds = solve_two_spins(A0, A, B, C, RHO_MIXED, (C1, C2), spins, t)
    H = two_spin_hamiltonian(A0, A, B, C, spins)
    assert H.shape == (2 * 5 * 4,) * 2
    assert np.abs(H - H.conj().T).max() == 0.0
    assert np.abs(ds["mass"].values - 1.0).max() < 1e-12
    assert np.abs(ds["energy"].values - ds["energy"].values[0]).max() < 1e-12
    assert np.abs(rho_q(ds)[0] - RHO_MIXED).max() < 1e-13
    assert ds["min_eig_rho_q"].values.min() > -1e-12
    assert ds["purity"].values.max() <= ds["purity"].values[0] + 1e-12
    # initial means: the coherent states point along c1, c2 exactly (⟨Ĵ⟩ = I c)
    for a, c in enumerate((C1, C2)):
        assert np.abs(ds["n_mean"].values[0, a] - np.asarray(c) / np.linalg.norm(c)).max() < 1e-13
    # a pure ρq0 stays pure in the total space: Tr ρq² = Tr ρ_spins² by Schmidt
    pure = solve_two_spins(A0, A, B, C, np.diag([1.0, 0.0]), (C1, C2), spins, t)
    assert pure["purity"].values[0] == pytest.approx(1.0, abs=1e-14)
    assert pure["purity"].values[-1] < 0.99


@pytest.mark.parametrize("change, key", [
    (dict(B=np.zeros((3, 3, 3))), "B"), (dict(C=np.zeros((3, 2, 2))), "C"),
    (dict(spins=(0.5,)), "spins"), (dict(centers=([0, 0, 1],)), "centers"),
    (dict(spins=(0.5, 0.7)), "spin"), (dict(centers=([0, 0, 1], [0, 0, 0])), "center")])
def test_two_spin_exact_rejects_bad_input(change, key):
    A0, A, B, C = generic_case()
    kw = dict(A0=A0, A=A, B=B, C=C, rho_q0=RHO_MIXED, centers=(C1, C2), spins=(0.5, 1.0),
              times=[0.0, 1.0])
    kw.update(change)
    with pytest.raises(ConfigError, match=key):
        solve_two_spins(**kw)
