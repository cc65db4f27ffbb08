"""Tests of spectral_qc.radical_pair: configs from chemistry inputs, singlet probability
and yields, the exact and Schulten–Wolynes references.

Independent references: the spin Hamiltonian written out here with explicit Pauli
matrices; the closed-form exponential-model yield over eigenpairs of the full 8×8
Hamiltonian (built here, nucleus first); the triplet/singlet relation
P_S^(T start) = (1 − P_S^(S start))/3 of the unpolarized start; CODATA constants typed in.
"""

import numpy as np
import pytest

import spectral_qc as sq
from spectral_qc import radical_pair as rp
from spectral_qc.config import load_config
from spectral_qc.errors import ConfigError

X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
Z = np.array([[1, 0], [0, -1]], dtype=complex)
E = np.eye(2, dtype=complex)
SIG = [X, Y, Z]


def closed_form_yield(a, omega, k):
    """Φ_S = (1/2) Σ_ij |⟨i|P_S|j⟩|² k²/(k²+ω_ij²) for H = a I·S1 + ω(S1z+S2z), I = ½."""
    h = sum(a / 4 * np.kron(np.kron(s, s), E) for s in SIG)
    h = h + omega / 2 * (np.kron(np.kron(E, Z), E) + np.kron(np.kron(E, E), Z))
    sing = np.array([0, 1, -1, 0]) / np.sqrt(2)
    ps = np.kron(E, np.outer(sing, sing))
    e, V = np.linalg.eigh(h)
    m = V.conj().T @ ps @ V
    w = e[:, None] - e[None, :]
    return float(np.sum(np.abs(m) ** 2 * k ** 2 / (k ** 2 + w ** 2)) / 2)


PAIR = rp.RadicalPair(hyperfine=1.0, nuclear_spin=0.5, field=(0.0, 0.0, 0.5))


# ------------------------------------------------------------------ Done-when item 2

@pytest.mark.parametrize("k", [0.5, 1.0])
def test_singlet_yield_matches_closed_form(k):
    t = np.linspace(0.0, 40.0, 4001)
    ds = rp.exact_solve(PAIR, t)
    y = rp.singlet_yield(ds, k)
    assert y.attrs["truncation_weight"] == pytest.approx(np.exp(-40 * k))
    assert abs(float(y) - closed_form_yield(1.0, 0.5, k)) <= 1e-6
    ys = rp.singlet_yield(ds, [k, 2 * k])
    assert ys.dims == ("k",) and float(ys[0]) == float(y)


@pytest.mark.parametrize("k", [0.1, 0.5, 1.0])
def test_exact_yields_equal_rates_closed_form(k):
    ys = rp.exact_yields(PAIR, k)
    assert abs(ys[0] - closed_form_yield(1.0, 0.5, k)) < 1e-12
    assert abs(ys.sum() - 1.0) < 1e-12


def test_haberkorn_yields_depend_on_both_rates():
    equal = rp.exact_yields(PAIR, 1.0, 1.0)[0]
    assert abs(rp.exact_yields(PAIR, 1.0, 3.0)[0] - equal) > 1e-2
    assert abs(rp.exact_yields(PAIR, 1.0, 3.0).sum() - 1) < 1e-12
    # quantum Zeno limit: a very fast triplet channel (k_T ≫ a) freezes the S–T mixing,
    # Φ_T ≈ Σ (mixing rate)²/k_T → 0; a very fast singlet channel recombines at once
    assert rp.exact_yields(PAIR, 1.0, 1e4)[1] < 1e-3
    assert rp.exact_yields(PAIR, 1e4, 1.0)[0] > 1 - 1e-3


def test_truncated_yield_differs_by_at_most_the_truncation_weight():
    t = np.linspace(0.0, 4.0, 401)
    y = rp.singlet_yield(rp.exact_solve(PAIR, t), 0.5)
    gap = closed_form_yield(1.0, 0.5, 0.5) - float(y)
    assert 0 < gap <= y.attrs["truncation_weight"]
    assert rp.truncation_time(0.5, np.exp(-2.0)) == pytest.approx(4.0, rel=1e-15)
    assert sq.radical_pair is rp


def test_triplet_start_is_the_complement():
    """Unpolarized nucleus: P_S^(T)(t) = (1 − P_S^(S)(t))/3, exact and Schulten–Wolynes."""
    pair = rp.RadicalPair(hyperfine=np.diag([0.3, 0.5, 1.2]), nuclear_spin=1.0,
                          field=(0.2, 0.0, 0.7), exchange=0.1)
    t = np.linspace(0, 6, 61)
    s = rp.singlet_probability(rp.exact_solve(pair, t)).values
    tr = rp.singlet_probability(rp.exact_solve(pair, t, start="triplet")).values
    assert np.max(np.abs(tr - (1 - s) / 3)) < 1e-13
    s = rp.schulten_wolynes(pair, t, nodes=(40, 16)).values
    tr = rp.schulten_wolynes(pair, t, start="triplet", nodes=(40, 16)).values
    assert np.max(np.abs(tr - (1 - s) / 3)) < 1e-13
    assert abs(tr[0]) < 1e-15 and np.max(tr) > 0.01                 # it does evolve


# ------------------------------------------------------------------ configs

def hand_hamiltonian(n, s, A, g, B, J, D, radical):
    """The radical-pair Hamiltonian written out with explicit Kronecker products."""
    S1 = [np.kron(m, E) / 2 for m in SIG]
    S2 = [np.kron(E, m) / 2 for m in SIG]
    Sr = S1 if radical == 1 else S2
    h = np.zeros((4, 4), complex)
    for a in range(3):
        h += g[0] / rp.G_ELECTRON * B[a] * S1[a] + g[1] / rp.G_ELECTRON * B[a] * S2[a]
        for b in range(3):
            h += s * n[a] * A[a][b] * Sr[b] + D[a][b] * S1[a] @ S2[b]
        h += -J * 2 * S1[a] @ S2[a]
    return h - J / 2 * np.eye(4)


@pytest.mark.parametrize("rule", ["I", "sqrt"])
@pytest.mark.parametrize("radical", [1, 2])
def test_config_hamiltonian_equals_hand_built(rule, radical):
    A = [[0.9, 0.1, -0.2], [0.1, 0.4, 0.05], [-0.2, 0.05, 1.7]]
    D = [[0.1, 0.02, 0], [0.02, -0.3, 0.01], [0, 0.01, 0.2]]
    g, B, J = (2.0031, 2.0052), (0.3, -0.1, 0.8), 0.07
    pair = rp.RadicalPair(hyperfine=A, nuclear_spin=1.5, g=g, field=B, exchange=J,
                          dipolar=D, radical=radical)
    cfg = rp.radical_pair_config(pair, spin_rule=rule, kind="hybrid")
    c = load_config(cfg)
    s = 1.5 if rule == "I" else np.sqrt(1.5 * 2.5)
    assert c.model.spin_magnitude == pytest.approx(s, abs=1e-15)
    assert c.initial.classical.kappa == 0.0
    rng = np.random.default_rng(3)
    n = rng.normal(size=(3, 5))
    n /= np.linalg.norm(n, axis=0)
    got = c.hamiltonian_operator().evaluate(n)
    for p in range(5):
        ref = hand_hamiltonian(n[:, p], s, A, g, B, J, D, radical)
        assert np.max(np.abs(got[:, :, p] - ref)) < 1e-13
    assert np.max(np.abs(pair.hamiltonian(s * n[:, 0])
                         - hand_hamiltonian(n[:, 0], s, A, g, B, J, D, radical))) < 1e-13


def test_scalar_dipolar_is_axial():
    pair = rp.RadicalPair(dipolar=0.3)
    ref = hand_hamiltonian([0, 0, 1], 0.0, np.eye(3), (2, 2), (0, 0, 0), 0.0,
                           0.3 * np.diag([1, 1, -2]), 1)
    assert np.max(np.abs(pair.electron_hamiltonian() - ref)) < 1e-15


def test_exchange_sign_singlet_above_triplet():
    """−J(2 S1·S2 + ½): E_S = +J, E_T = −J."""
    h = rp.RadicalPair(exchange=0.25).electron_hamiltonian()
    e = np.linalg.eigvalsh(h)
    assert np.allclose(e, [-0.25, -0.25, -0.25, 0.25], atol=1e-15)
    sing = np.array([0, 1, -1, 0]) / np.sqrt(2)
    assert sing @ h @ sing == pytest.approx(0.25)


def test_time_unit_from_codata():
    gamma = 2.00231930436 * 9.2740100783e-24 / 1.054571817e-34      # rad s⁻¹ T⁻¹
    assert rp.GAMMA_E == pytest.approx(gamma, rel=1e-8)       # CODATA 2018 vs scipy's
    assert rp.TIME_UNIT_NS == pytest.approx(1e9 / (gamma * 1e-3), rel=1e-8)
    assert 5.67 < rp.TIME_UNIT_NS < 5.69


@pytest.mark.parametrize("kwargs,match", [
    ({"hyperfine": [1, 2]}, "hyperfine"), ({"field": (1, 2)}, "field"),
    ({"g": (2.0, -1.0)}, "g ="), ({"radical": 3}, "radical"),
    ({"nuclear_spin": 0.7}, "2I"), ({"count": 0}, "count")])
def test_bad_pair_inputs(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        rp.RadicalPair(**kwargs)


def test_bad_config_inputs():
    with pytest.raises(ConfigError, match="spin_rule"):
        rp.radical_pair_config(PAIR, spin_rule="classical")
    with pytest.raises(ConfigError, match="start"):
        rp.radical_pair_config(PAIR, start="quintet")
    with pytest.raises(ConfigError, match="multiplet"):
        rp.radical_pair_config(rp.RadicalPair(count=2))
    with pytest.raises(ConfigError, match="multiplet"):
        rp.radical_pair_config(rp.RadicalPair(count=2), multiplet=0.5)
    with pytest.raises(ConfigError, match="k ="):
        rp.singlet_yield(rp.exact_solve(PAIR, np.linspace(0, 1, 11)), 0.0)


# ------------------------------------------------------------------ Ehrenfest = SW

def test_ehrenfest_equals_static_nucleus_quadrature():
    """Isotropic hyperfine, B ∥ z: ⟨S1⟩ = 0 locally, the nucleus does not move, and
    Ehrenfest's P_S(t) is the Schulten–Wolynes quadrature on the solver's own nodes."""
    cfg = rp.radical_pair_config(PAIR, kind="ehrenfest", lmax=7, t_end=8.0, dt=0.02,
                                 output_every=0.2)
    sim = sq.Simulation(cfg)
    res = sim.run()
    ps = rp.singlet_probability(res)
    sw = rp.schulten_wolynes(PAIR, ps.time.values, spin_rule="I",
                             nodes=(sim.grid.nlat, sim.grid.nphi))
    assert res.ok and ps.time.values[-1] == pytest.approx(8.0)
    assert np.max(np.abs(ps.values - sw.values)) <= 1e-10
    assert np.max(np.abs(res.n_mean.values)) < 1e-12
    assert np.max(np.abs(ps.values - 1)) > 0.3                       # P_S does evolve


def test_simulate_mixes_multiplets_and_reports_status():
    """Two equivalent protons: J = 0 (weight ¼, electron-only) and J = 1 (weight ¾)."""
    pair = rp.RadicalPair(hyperfine=1.0, count=2, field=(0, 0, 0.5))
    ds = rp.simulate(pair, kind="ehrenfest", lmax=7, t_end=2.0, dt=0.02, output_every=0.2)
    assert ds.attrs["weights"] == [0.25, 0.75] and ds.attrs["status"] == ["ok", "ok"]
    assert np.isnan(ds.attrs["t_stop"])
    sim_nodes = sq.Simulation(rp.radical_pair_config(pair, multiplet=1.0, lmax=7)).grid
    sw = rp.schulten_wolynes(pair, ds.time.values, spin_rule="I",
                             nodes=(sim_nodes.nlat, sim_nodes.nphi))
    assert np.max(np.abs(rp.singlet_probability(ds).values - sw.values)) < 1e-10


def test_schulten_wolynes_yield_closed_form_equals_quadrature_of_trace():
    """The closed-form static yield = k∫P_S e^{−kt} of the SW trace (Simpson, long t)."""
    pair = rp.RadicalPair(hyperfine=np.diag([0.4, 0.4, 1.3]), field=(0.5, 0.0, 0.2))
    t = np.linspace(0.0, 40.0, 8001)
    ps = rp.schulten_wolynes(pair, t, nodes=(24, 12))
    from scipy.integrate import simpson
    ref = simpson(ps.values * np.exp(-t), x=t)
    got = rp.schulten_wolynes_yield(pair, 1.0, nodes=(24, 12))
    assert abs(got - ref) < 1e-8
    assert abs(got - rp.exact_yields(pair, 1.0)[0]) > 1e-3        # not the exact yield


def test_mfe_sweep_cases_set_the_field_in_the_terms():
    pair = rp.RadicalPair(hyperfine=1.0)
    spec = rp.mfe_sweep(pair, [0.0, 2.0], kind="ehrenfest", t_end=1.0)
    cases = spec["sweep"]["cases"]
    assert [c["name"] for c in cases] == ["B=0", "B=2"]
    h2 = load_config({**{k: v for k, v in spec.items() if k != "sweep"},
                      "hamiltonian": {"terms": cases[1]["hamiltonian.terms"]}})
    ref = rp.RadicalPair(hyperfine=1.0, field=(0, 0, 2.0)).hamiltonian(0.5 * np.array([0, 1.0, 0]))
    got = h2.hamiltonian_operator().evaluate(np.array([[0.0], [1.0], [0.0]]))[:, :, 0]
    assert np.max(np.abs(got - ref)) < 1e-14
    with pytest.raises(ConfigError, match="count"):
        rp.mfe_sweep(rp.RadicalPair(count=2), [1.0])
