"""The three models on the shared transport core: structure, invariants and limits.

References are independent of the code under test: analytic solutions (rigid rotation,
uncoupled precession), a different formula for the hybrid velocity (paper eq. 53, in
Cartesian components), and finite differences of the energy along the tendency.
"""

import numpy as np
import pytest

from spectral_qc import hermitian as hm
from spectral_qc.diagnostics import evaluate
from spectral_qc.errors import InstabilityDetected
from spectral_qc.hamiltonians import Hamiltonian
from spectral_qc.integrators import SCHEMES, make_integrator
from spectral_qc.models import make_model
from spectral_qc.simulation import Simulation
from spectral_qc.states import (State, bloch_density, spin_coherent_field, state_from_grid,
                                uniform_density_matrix, von_mises_fisher)

from .conftest import sphere

NOTE_H = [("I", "0.5*nz**2 + 0.3*nx"), ("X", "0.5*nx"), ("Y", "0.5*ny"), ("Z", "0.5*nz + 0.35")]
HBAR, SPIN = 0.7, 1.3  # deliberately not 1, so that misplaced factors of ħ or S show up


def note_hamiltonian():
    return Hamiltonian(NOTE_H)


def correlated_state(g, center=(0.3, 0.2, 1.0), kappa=2.0, tilt=0.5):
    return state_from_grid(g, von_mises_fisher(g, center, kappa), spin_coherent_field(g, tilt))


def models(g, ham):
    kw = dict(hbar=HBAR, spin_magnitude=SPIN)
    return {
        "ehrenfest": make_model("ehrenfest", g, ham, **kw),
        "hybrid": make_model("hybrid", g, ham, **kw),
        "hybrid_heat_kernel": make_model("hybrid", g, ham, regularization="heat_kernel",
                                         alpha=0.01, **kw),
    }


def run(integrator, state, dt, n):
    for _ in range(n):
        state = integrator.step(state, dt)
    return state


# ------------------------------------------------------------------ energy structure
@pytest.mark.parametrize("name", ["ehrenfest", "hybrid", "hybrid_heat_kernel", "liouville"])
def test_energy_is_conserved_by_the_tendency(name):
    """dh/dt along model.tendency vanishes: 𝒦 = δh/δ𝒫 (4th-order finite difference)."""
    g = sphere(47)
    if name == "liouville":
        m = make_model("liouville", g, Hamiltonian([("I", "0.5*nz**2 + 0.3*nx")]).reduced_to_scalar(),
                       hbar=HBAR, spin_magnitude=SPIN)
        state = state_from_grid(g, von_mises_fisher(g, (0.3, 0.2, 1.0), 2.0),
                                np.ones((1, 1) + g.shape))
    else:
        m = models(g, note_hamiltonian())[name]
        state = correlated_state(g)
    drho, dP = m.tendency(state)
    d = state_from_grid(g, drho, dP)

    def h(eps):
        return m.energy(State(state.rho_lm + eps * d.rho_lm, state.p_lm + eps * d.p_lm))

    eps = 1e-3
    dh = (-h(2 * eps) + 8 * h(eps) - 8 * h(-eps) + h(-2 * eps)) / (12 * eps)
    # scale: the rate at which h would change if the dynamics did not belong to h
    scale = np.sqrt(np.sum(np.abs(d.rho_lm) ** 2) + np.sum(np.abs(d.p_lm) ** 2))
    assert abs(dh) < 1e-11 * scale
    # a wrong generator is caught: the same test on a perturbed tendency fails
    wrong = state_from_grid(g, drho, dP * 1.01)
    dh_wrong = (m.energy(State(state.rho_lm + eps * wrong.rho_lm, state.p_lm + eps * wrong.p_lm))
                - m.energy(State(state.rho_lm - eps * wrong.rho_lm,
                                 state.p_lm - eps * wrong.p_lm))) / (2 * eps)
    if name != "liouville":
        assert abs(dh_wrong) > 1e3 * abs(dh)


def test_mass_rate_is_zero_to_round_off():
    g = sphere(31)
    for m in models(g, note_hamiltonian()).values():
        drho, _ = m.tendency(correlated_state(g))
        assert abs(np.sum(drho * g.weights)) < 1e-15


# ------------------------------------------------------------------ paper eq. (53)
def unit_vectors(g):
    """θ̂ and φ̂ as Cartesian vectors, (3, nlat, nphi) each."""
    th, ph = np.meshgrid(g.theta, g.phi, indexing="ij")
    e_th = np.stack([np.cos(th) * np.cos(ph), np.cos(th) * np.sin(ph), -np.sin(th)])
    e_ph = np.stack([-np.sin(ph), np.cos(ph), 0 * ph])
    return e_th, e_ph


def cartesian_gradient(g, f_lm):
    """Surface gradient of scalar fields as Cartesian vectors: (3, ..., nlat, nphi)."""
    e_th, e_ph = unit_vectors(g)
    gt, gp = g.gradient(f_lm)
    shape = (3,) + (1,) * (gt.ndim - 2) + g.shape
    return e_th.reshape(shape) * gt + e_ph.reshape(shape) * gp


def complex_field_gradient(g, a):
    """Cartesian surface gradient of a complex field of any batch shape: (3, ...)."""
    re = cartesian_gradient(g, g.analysis(a.real))
    im = cartesian_gradient(g, g.analysis(a.imag))
    return re + 1j * im


def test_hybrid_velocity_equals_paper_eq53():
    """X = ⟨X_H⟩ − (ħ/2ϱ) Tr[(ϱΞ)·∇X_H − X_H·∇(ϱΞ)], Ξ = i[P, ∇P] × n / S (eq. 53).

    Evaluated with Cartesian components and surface gradients of each Cartesian
    component (no generator, no product-rule trick), then projected on (θ̂, φ̂).
    """
    g = sphere(63)
    ham = note_hamiltonian()
    m = make_model("hybrid", g, ham, hbar=HBAR, spin_magnitude=SPIN)
    rho = von_mises_fisher(g, (0.3, 0.2, 1.0), 1.0)
    P = spin_coherent_field(g, 0.5)
    state = state_from_grid(g, rho, P)
    rho, P = g.synthesis(state.rho_lm), hm.from_components(g.synthesis(state.p_lm))
    n = g.n
    H = ham.evaluate(n)
    grad_H = complex_field_gradient(g, H)                      # (3, N, N, ...)
    X_H = np.cross(grad_H, n[:, None, None], axis=0) / SPIN     # (1/S) ∇H × n
    grad_P = complex_field_gradient(g, P)
    comm = np.stack([hm.commutator(P, grad_P[c]) for c in range(3)])
    xi = 1j * np.cross(comm, n[:, None, None], axis=0) / SPIN   # Ξ, (3, N, N, ...)
    rho_xi = rho * xi
    d_XH = np.stack([complex_field_gradient(g, X_H[c]) for c in range(3)])   # (c, d, N, N, ...)
    d_rxi = np.stack([complex_field_gradient(g, rho_xi[c]) for c in range(3)])
    lie = (np.einsum("dij...,cdjk...->cik...", rho_xi, d_XH)
           - np.einsum("dij...,cdjk...->cik...", X_H, d_rxi))
    X = (np.real(np.einsum("ij...,cji...->c...", P, X_H))
         - HBAR / (2 * rho) * np.real(np.einsum("cii...->c...", lie)))
    e_th, e_ph = unit_vectors(g)
    xt, xp = m.velocity(state)
    scale = np.max(np.hypot(xt, xp))
    assert np.max(np.abs(np.sum(X * e_th, 0) - xt)) < 1e-10 * scale
    assert np.max(np.abs(np.sum(X * e_ph, 0) - xp)) < 1e-10 * scale
    # and the ħ-correction is not negligible here, so the check has teeth
    x0t, x0p = make_model("ehrenfest", g, ham, hbar=HBAR, spin_magnitude=SPIN).velocity(state)
    assert np.max(np.abs(x0t - xt)) > 1e-3 * scale


# ------------------------------------------------------------------ limits
def test_uncoupled_hybrid_equals_ehrenfest_equals_independent_motion():
    """H = H₀(n)·1 + A: ϱ follows Liouville with H₀, P rotates by exp(−iAt/ħ) uniformly."""
    g = sphere(31)
    A = [("X", 0.3), ("Z", -0.45)]
    ham = Hamiltonian([("I", "0.5*nz**2 + 0.3*nx")] + A)
    rho0 = von_mises_fisher(g, (0.3, 0.2, 1.0), 2.0)
    P0 = bloch_density([0.6, -0.2, 0.5])
    state = state_from_grid(g, rho0, uniform_density_matrix(g, P0))
    dt, nsteps = 0.01, 20
    out = {}
    for kind in ("ehrenfest", "hybrid"):
        m = make_model(kind, g, ham, hbar=HBAR, spin_magnitude=SPIN)
        out[kind] = run(make_integrator("strang", m), state, dt, nsteps)
    np.testing.assert_allclose(out["hybrid"].rho_lm, out["ehrenfest"].rho_lm, atol=1e-13)
    np.testing.assert_allclose(out["hybrid"].p_lm, out["ehrenfest"].p_lm, atol=1e-13)
    # classical part: the Liouville model with H₀ alone
    liou = make_model("liouville", g, Hamiltonian([("I", "0.5*nz**2 + 0.3*nx")]).reduced_to_scalar(),
                      hbar=HBAR, spin_magnitude=SPIN)
    s1 = run(make_integrator("strang", liou), state_from_grid(g, rho0, np.ones((1, 1) + g.shape)),
             dt, nsteps)
    np.testing.assert_allclose(out["hybrid"].rho_lm, s1.rho_lm, atol=1e-13)
    # quantum part: P(t) = U P0 U†, U = exp(−i A t/ħ), uniform over the sphere
    from scipy.linalg import expm

    Amat = 0.3 * np.array([[0, 1], [1, 0]]) - 0.45 * np.diag([1.0, -1.0])
    U = expm(-1j * Amat * dt * nsteps / HBAR)
    P_exact = U @ P0 @ U.conj().T
    P_num = hm.from_components(g.synthesis(out["hybrid"].p_lm))
    assert np.max(np.abs(P_num - P_exact[:, :, None, None])) < 1e-13


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_liouville_rigid_rotation(scheme):
    """H = b·n rotates ϱ about b at rate |b|/S: compare with the rotated vMF (1e-10)."""
    g = sphere(63)
    b = np.array([0.4, -0.3, 0.8])
    ham = Hamiltonian([("I", f"{b[0]}*nx + {b[1]}*ny + {b[2]}*nz")]).reduced_to_scalar()
    m = make_model("liouville", g, ham, hbar=HBAR, spin_magnitude=SPIN)
    c0 = np.array([0.6, 0.1, 0.79])
    state = state_from_grid(g, von_mises_fisher(g, c0, 2.0), np.ones((1, 1) + g.shape))
    t, n = 1.0, {"strang": 400, "yoshida4": 160}[scheme]
    s = run(make_integrator(scheme, m), state, t / n, n)
    # dn/dt = (1/S) b × n: Rodrigues rotation of the centre by angle |b| t / S about b
    k = b / np.linalg.norm(b)
    ang = np.linalg.norm(b) * t / SPIN
    c_t = (c0 * np.cos(ang) + np.cross(k, c0) * np.sin(ang)
           + k * np.dot(k, c0) * (1 - np.cos(ang)))
    exact = von_mises_fisher(g, c_t, 2.0)
    assert np.max(np.abs(g.synthesis(s.rho_lm) - exact)) < 1e-10  # the bound; max ϱ ≈ 0.32


# ------------------------------------------------------------------ invariants
def drift(name, model, scheme, dt, t_end=0.2):
    g = model.grid
    state = correlated_state(g) if name == "pure" else state_from_grid(
        g, von_mises_fisher(g, (0.3, 0.2, 1.0), 2.0),
        uniform_density_matrix(g, bloch_density([0.5, 0.2, -0.3])))
    d0 = evaluate(model, state)
    s = run(make_integrator(scheme, model), state, dt, round(t_end / dt))
    d1 = evaluate(model, s)
    keys = ["mass", "energy"] + (["berry_casimir"] if name == "pure" else ["casimir_trP2", "entropy"])
    return {k: abs(d1[k] - d0[k]) / abs(d0[k]) for k in keys}


@pytest.mark.parametrize("kind", ["ehrenfest", "hybrid_heat_kernel"])
def test_invariants_drift_at_the_scheme_order(kind):
    g = sphere(31)
    m = models(g, note_hamiltonian())[kind]
    coarse, fine = drift("pure", m, "strang", 0.02), drift("pure", m, "strang", 0.01)
    assert coarse["mass"] < 1e-14 and fine["mass"] < 1e-14
    for key in ("energy", "berry_casimir"):
        if coarse[key] > 1e-12:  # above round-off: must shrink at second order
            assert np.log2(coarse[key] / fine[key]) > 1.7, (key, coarse, fine)
    mixed = drift("mixed", m, "strang", 0.01)
    # eigenvalue Casimirs: the rotation is isospectral; only transport/projection errors
    assert mixed["casimir_trP2"] < 1e-9 and mixed["entropy"] < 1e-9, mixed
    assert mixed["energy"] < 1e-6


# ------------------------------------------------------------------ honest stop
@pytest.mark.slow
def test_unregularized_hybrid_stops_with_instability_not_nan():
    cfg = {"grid": {"lmax": 63}, "model": {"kind": "hybrid"},
           "hamiltonian": {"terms": [{"op": op, "coef": c} for op, c in NOTE_H]},
           "initial": {"classical": {"kind": "von_mises_fisher", "center": [0, 0, 1],
                                     "kappa": 2.0}, "quantum": {"bloch": [1.0, 0.0, 0.0]}},
           "time": {"t_end": 1.0, "dt": 0.005, "output_every": 0.05}}
    sim = Simulation(cfg)
    with pytest.raises(InstabilityDetected) as info:
        sim.run()
    err = info.value
    assert 0.1 < err.time < 0.4  # measured: 0.185 at lmax 63
    assert "heat_kernel" in str(err) and "short-wave" in str(err)
    ds = err.diagnostics
    assert ds.time.size >= 3 and float(ds.time[-1]) <= err.time
    assert np.all(np.isfinite(ds.energy.values))


def test_liouville_runs_through_simulation():
    """N = 1 has no traceless P components: the tail check and diagnostics must cope."""
    cfg = {"grid": {"lmax": 21}, "model": {"kind": "liouville"},
           "hamiltonian": {"terms": [{"op": "I", "coef": "0.4*nx - 0.3*ny + 0.8*nz"}]},
           "initial": {"classical": {"kind": "von_mises_fisher", "center": [0.6, 0.1, 0.79],
                                     "kappa": 2.0}},
           "time": {"t_end": 0.2, "dt": 0.01, "output_every": 0.1}}
    ds = Simulation(cfg).run()
    assert ds.time.size == 3
    np.testing.assert_allclose(ds.purity.values, 1.0, atol=1e-13)  # (∫ϱ)² for N = 1
    # rigid rotation keeps ⟨n⟩'s length and the spectral tail stays at round-off
    lengths = np.linalg.norm(ds.n_mean.values, axis=1)
    np.testing.assert_allclose(lengths, lengths[0], rtol=1e-10)
    assert float(ds.spectral_tail.max()) < 1e-10


def test_hybrid_refuses_a_density_that_is_not_positive_on_the_grid():
    from spectral_qc.errors import ConfigError

    cfg = {"grid": {"lmax": 31}, "model": {"kind": "hybrid"},
           "hamiltonian": {"terms": [{"op": op, "coef": c} for op, c in NOTE_H]},
           "initial": {"classical": {"kind": "von_mises_fisher", "center": [0, 0, 1],
                                     "kappa": 40.0}, "quantum": {"bloch": [1.0, 0.0, 0.0]}},
           "time": {"t_end": 0.1, "dt": 0.01, "output_every": 0.1}}
    with pytest.raises(ConfigError, match="mixture") as info:
        Simulation(cfg)
    suggested = float(str(info.value).split("weight ≳ ")[1].split(")")[0])
    assert 1e-5 < suggested < 1e-2
    # the documented remedy: a small uniform background makes it admissible
    cfg["initial"]["classical"] = {"kind": "mixture", "components": [
        {"center": [0, 0, 1], "kappa": 40.0, "weight": 1.0},
        {"center": [0, 0, 1], "kappa": 0.0, "weight": suggested}]}
    assert Simulation(cfg).model.name == "hybrid"


@pytest.mark.parametrize("N", [2, 4])
def test_solver_generator_equals_the_matrix_formula(N):
    """The optimized component (and qubit cross-product) forms used by the solver equal the
    readable matrix formulas of eqs. (50), (54) in models/hybrid.py."""
    from spectral_qc.models.hybrid import quantum_energy_density, quantum_generator
    from spectral_qc.sphere import integrate
    from spectral_qc.states import two_qubit_correlated_field

    g = sphere(31)
    ham = note_hamiltonian() if N == 2 else Hamiltonian(
        [("II", "0.5*nz**2"), ("XI", "0.5*nx + 0.2"), ("IX", "0.4*ny"), ("ZZ", "0.3*nz")])
    P = spin_coherent_field(g, 0.5) if N == 2 else two_qubit_correlated_field(g)
    state = state_from_grid(g, von_mises_fisher(g, (0.3, 0.2, 1.0), 2.0), P)
    m = make_model("hybrid", g, ham, hbar=HBAR, spin_magnitude=SPIN)
    f = m.fields(state)
    grad_H = np.stack([hm.from_components(m.grad_h[k]) for k in range(2)])
    G = quantum_generator(f.rho, f.grad_rho, f.P, f.grad_P, grad_H, HBAR, SPIN)
    K = m.generator(state)
    assert np.max(np.abs(K - (m.H + G))) < 1e-12 * np.max(np.abs(G))
    e_ref = integrate(g, f.rho * np.real(hm.trace_product(f.P, m.H))) + integrate(
        g, quantum_energy_density(f.rho, f.grad_rho, f.P, f.grad_P, grad_H, HBAR, SPIN))
    assert abs(m.energy(state) - e_ref) < 1e-12 * abs(e_ref)
