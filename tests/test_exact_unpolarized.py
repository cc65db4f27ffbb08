"""Tests of spectral_qc.exact.unpolarized: κ = 0 (maximally mixed spin), equivalent spins
through total-spin multiplets, Haberkorn recombination.

References are independent of the code under test: the full product space built here with
``numpy.kron`` (nucleus first, unlike the solver) and propagated with
``scipy.linalg.expm``; the Liouville superoperator (vectorized, its own ``expm`` and linear
solve); QuTiP's ``mesolve`` on the full product space of several spins (no multiplets);
the closed-form exponential-model yield over eigenpairs.
"""

import numpy as np
import pytest
import scipy.linalg as sla

from spectral_qc import exact as ex
from spectral_qc.errors import ConfigError

SX = np.array([[0, 1], [1, 0]], dtype=complex)
SY = np.array([[0, -1j], [1j, 0]], dtype=complex)
SZ = np.array([[1, 0], [0, -1]], dtype=complex)
ID2 = np.eye(2, dtype=complex)
SING = np.array([0, 1, -1, 0], dtype=complex) / np.sqrt(2)      # (|↑↓⟩ − |↓↑⟩)/√2
P_S = np.outer(SING, SING.conj())
P_T = np.eye(4) - P_S


def electron_ops():
    """S1, S2 on the 4-dim two-electron space, shape (3, 4, 4)."""
    s = 0.5 * np.array([SX, SY, SZ])
    return (np.array([np.kron(m, ID2) for m in s]), np.array([np.kron(ID2, m) for m in s]))


def rp_matrices(a, omega):
    """H(n) = a I n·S1 + ω (S1z + S2z) for the spin-½ nucleus: A0, A (S = ħI, I = ½)."""
    S1, S2 = electron_ops()
    return omega * (S1[2] + S2[2]), 0.5 * a * S1


def rp_config(a, omega, t_end, out_every, spin=0.5):
    c = a * spin / 2
    terms = [{"op": "XI", "coef": f"{c}*nx"}, {"op": "YI", "coef": f"{c}*ny"},
             {"op": "ZI", "coef": f"{c}*nz + {omega / 2}"}, {"op": "IZ", "coef": omega / 2}]
    s = 1 / np.sqrt(2)
    return {"grid": {"lmax": 7},
            "model": {"kind": "ehrenfest", "hbar": 1.0, "spin_magnitude": spin},
            "hamiltonian": {"terms": terms},
            "initial": {"classical": {"kind": "von_mises_fisher", "center": [0, 0, 1],
                                      "kappa": 0.0},
                        "quantum": {"ket": [[0, 0], [s, 0], [-s, 0], [0, 0]]}},
            "time": {"t_end": t_end, "dt": 0.01, "output_every": out_every}}


def full_space_hamiltonian(a, omega):
    """Nucleus ⊗ electron 1 ⊗ electron 2 (8×8), spin-½ nucleus, by hand."""
    s = 0.5 * np.array([SX, SY, SZ])
    h = sum(a * np.kron(np.kron(s[k], s[k]), ID2) for k in range(3))
    h = h + omega * (np.kron(np.kron(ID2, s[2]), ID2) + np.kron(np.kron(ID2, ID2), s[2]))
    return h


def p_s_full_space(a, omega, times):
    h = full_space_hamiltonian(a, omega)
    ps = np.kron(ID2, P_S)
    rho0 = np.kron(ID2 / 2, P_S)
    out = []
    for t in times:
        U = sla.expm(-1j * h * t)
        out.append(np.trace(ps @ U @ rho0 @ U.conj().T).real)
    return np.array(out)


def p_s_of(ds):
    rho = ds.rho_q_real.values + 1j * ds.rho_q_imag.values
    return np.einsum("ij,tji->t", P_S, rho).real


# ------------------------------------------------------------------ Done-when item 1

def test_singlet_probability_matches_full_space_expm_to_t20():
    """I = ½, ω = 0.5a, singlet start, κ = 0: the config path equals expm on C^8."""
    a, omega = 1.0, 0.5
    ds = ex.solve(rp_config(a, omega, 20.0, 0.05), spin=0.5)
    ref = p_s_full_space(a, omega, ds.time.values)
    assert ds.time.values[-1] == pytest.approx(20.0)
    assert ds.attrs["nuclear_state"] == "maximally mixed"
    err = np.max(np.abs(p_s_of(ds) - ref))
    assert err <= 1e-10, err
    assert abs(p_s_of(ds)[0] - 1.0) < 1e-14
    assert np.max(np.abs(ds.n_mean.values)) < 1e-12     # ⟨I⟩ = 0 stays 0 here
    assert np.max(np.abs(ds.mass.values - 1)) < 1e-13


def test_mixed_state_is_not_the_coherent_state():
    """κ = 0 really changes the start: the coherent start along z gives another P_S(t)."""
    a, omega = 1.0, 0.5
    t = np.linspace(0, 5, 51)
    A0, A = rp_matrices(a, omega)
    mixed = p_s_of(ex.solve_unpolarized(A0, A, P_S, 0.5, t))
    coh = p_s_of(ex.solve_matrices(A0, A, P_S, [0, 0, 1], 0.5, t))
    assert np.max(np.abs(mixed - coh)) > 0.05
    assert np.max(np.abs(mixed - p_s_full_space(a, omega, t))) < 1e-12


# ------------------------------------------------------------------ multiplets

@pytest.mark.parametrize("spin,count,expected", [
    (0.5, 1, [(0.5, 1)]), (0.5, 2, [(0.0, 1), (1.0, 1)]), (0.5, 3, [(0.5, 2), (1.5, 1)]),
    (0.5, 4, [(0.0, 2), (1.0, 3), (2.0, 1)]), (1, 2, [(0.0, 1), (1.0, 1), (2.0, 1)]),
    (0.5, 6, [(0.0, 5), (1.0, 9), (2.0, 5), (3.0, 1)])])
def test_equivalent_multiplets(spin, count, expected):
    got = ex.equivalent_multiplets(spin, count)
    assert got == expected
    assert sum(m * (2 * j + 1) for j, m in got) == round((2 * spin + 1) ** count)
    assert sum(w for _, w in ex.multiplet_weights(spin, count)) == pytest.approx(1, abs=1e-15)


def test_multiplets_reject_bad_count():
    with pytest.raises(ConfigError, match="count"):
        ex.equivalent_multiplets(0.5, 0)


def _qutip_full_space(qutip, a, omega, spin, count, rho_q0, times, b2=0.0):
    """QuTiP on electron1 ⊗ electron2 ⊗ nucleus_1 ⊗ … ⊗ nucleus_count (no multiplets)."""
    M = int(round(2 * spin)) + 1
    dims = [2, 2] + [M] * count
    def op(k, m):
        mats = [qutip.qeye(d) for d in dims]
        mats[k] = m
        return qutip.tensor(mats)
    s = [qutip.jmat(0.5, x) for x in "xyz"]
    jn = [qutip.jmat(spin, x) for x in "xyz"]
    H = omega * (op(0, s[2]) + op(1, s[2])) + b2 * op(1, s[0])
    for n in range(count):
        for x in range(3):
            H = H + a * op(0, s[x]) * op(2 + n, jn[x])
    rho0 = qutip.tensor([qutip.Qobj(rho_q0, dims=[[2, 2], [2, 2]])]
                        + [qutip.qeye(M) / M for _ in range(count)])
    res = qutip.mesolve(H, rho0, times, c_ops=[], e_ops=[],
                        options={"atol": 1e-13, "rtol": 1e-12, "nsteps": 10 ** 6,
                                 "store_states": True})
    return np.array([st.ptrace([0, 1]).full() for st in res.states])


@pytest.mark.parametrize("spin,count", [(0.5, 2), (0.5, 3), (1.0, 1), (1.0, 2), (1.5, 1)])
def test_equivalent_spins_match_qutip_full_space(spin, count):
    """Multiplet decomposition = the full product space of `count` spins (QuTiP)."""
    qutip = pytest.importorskip("qutip")
    a, omega, b2 = 1.0, 0.7, 0.3
    S1, S2 = electron_ops()
    A0 = omega * (S1[2] + S2[2]) + b2 * S2[0]
    A = a * spin * S1                      # H(n) = a I n·S1 per spin: n → Ĵ/I gives a Ĵ·S1
    rho_q0 = 0.6 * P_S + 0.4 * np.kron(np.diag([1.0, 0]), np.diag([0, 1.0]))
    t = np.linspace(0, 6, 31)
    ds = ex.solve_unpolarized(A0, A, rho_q0, spin, t, count=count)
    ref = _qutip_full_space(qutip, a, omega, spin, count, rho_q0, t, b2=b2)
    got = ds.rho_q_real.values + 1j * ds.rho_q_imag.values
    assert np.max(np.abs(got - ref)) < 1e-9


# ------------------------------------------------------------------ yields

def closed_form_yield(a, omega, k):
    """Φ_S = (1/M) Σ_ij |⟨i|P_S⊗1|j⟩|² k²/(k² + ω_ij²), eigenpairs of the 8×8 Ĥ (ρ0 = P_S⊗1/M)."""
    h = full_space_hamiltonian(a, omega)
    e, V = np.linalg.eigh(h)
    ps = V.conj().T @ np.kron(ID2, P_S) @ V
    w = e[:, None] - e[None, :]
    return float(np.sum(np.abs(ps) ** 2 * k ** 2 / (k ** 2 + w ** 2)) / 2)


@pytest.mark.parametrize("k", [0.5, 1.0, 0.1])
def test_equal_rates_yield_equals_closed_form(k):
    a, omega = 1.0, 0.5
    A0, A = rp_matrices(a, omega)
    ys = ex.recombination_yields(A0, A, P_S, 0.5, [(k, P_S), (k, P_T)])
    assert abs(ys[0] - closed_form_yield(a, omega, k)) < 1e-12
    assert abs(ys.sum() - 1) < 1e-12


def _liouvillian(h, K):
    """Superoperator of dρ/dt = −i[H, ρ] − {K, ρ}/2, row-major vec (ρ.ravel())."""
    D = h.shape[0]
    one = np.eye(D)
    heff = h - 0.5j * K
    return -1j * (np.kron(heff, one) - np.kron(one, heff.conj()))


def test_haberkorn_asymmetric_against_superoperator():
    """k_S ≠ k_T: trace and yields against the vectorized Liouvillian (expm, solve)."""
    a, omega, kS, kT = 1.0, 0.5, 1.3, 0.2
    A0, A = rp_matrices(a, omega)
    t = np.linspace(0, 8, 41)
    ds = ex.solve_unpolarized(A0, A, P_S, 0.5, t, channels=[(kS, P_S), (kT, P_T)])
    # reference: full space, nucleus first
    h = full_space_hamiltonian(a, omega)
    K = np.kron(ID2, kS * P_S + kT * P_T)
    L = _liouvillian(h, K)
    r0 = np.kron(ID2 / 2, P_S).ravel()
    ref_ps = []
    for tk in t:
        r = (sla.expm(L * tk) @ r0).reshape(8, 8)
        ref_ps.append(np.trace(np.kron(ID2, P_S) @ r).real)
    assert np.max(np.abs(p_s_of(ds) - np.array(ref_ps))) < 1e-11
    assert ds.mass.values[-1] < 0.5                    # recombination removes population
    X = np.linalg.solve(L, -r0).reshape(8, 8)          # ∫_0^∞ ρ dt
    ref_y = [kS * np.trace(np.kron(ID2, P_S) @ X).real,
             kT * np.trace(np.kron(ID2, P_T) @ X).real]
    ys = ex.recombination_yields(A0, A, P_S, 0.5, [(kS, P_S), (kT, P_T)])
    assert np.max(np.abs(ys - ref_y)) < 1e-12
    assert abs(ys.sum() - 1) < 1e-12
    assert abs(ys[0] - closed_form_yield(a, omega, kS)) > 1e-3     # not the equal-k value


def test_yields_need_every_state_to_decay():
    A0, A = rp_matrices(1.0, 0.5)
    with pytest.raises(ConfigError, match="positive definite"):
        ex.recombination_yields(A0, A, P_S, 0.5, [(1.0, P_S)])


def test_solve_rejects_count_with_coherent_start():
    cfg = rp_config(1.0, 0.5, 1.0, 0.5)
    cfg["initial"]["classical"]["kappa"] = 1.0
    with pytest.raises(ConfigError, match="count"):
        ex.solve(cfg, spin=0.5, count=2)
