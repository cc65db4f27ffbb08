"""Tests of the independent reference solutions in ``validation.references``.

The references must be trustworthy on their own, so every check here is against a
closed form (rigid rotations, precessions, vMF moments), a conservation law that the
exact dynamics obeys, or a second, differently formulated integration (Bloch equations
with scipy's DOP853). Nothing here imports spectral_qc.
"""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from validation.references import (
    classical_flow,
    ehrenfest_trajectories,
    gauss_sphere_quadrature,
    liouville_characteristics,
    liouville_expectation,
    sample_von_mises_fisher,
    von_mises_fisher_density,
)

SX = np.array([[0, 1], [1, 0]], dtype=complex)
SY = np.array([[0, -1j], [1j, 0]], dtype=complex)
SZ = np.array([[1, 0], [0, -1]], dtype=complex)
PAULI = np.stack([SX, SY, SZ])


# --------------------------------------------------------------------------- helpers


def rodrigues(axis, angle, v):
    """Rotate the columns of v (3, M) by ``angle`` (scalar or (M,)) about ``axis``."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    k = k[:, None]
    c, s = np.cos(angle), np.sin(angle)
    kxv = np.cross(k, v, axis=0)
    return v * c + kxv * s + k * np.sum(k * v, axis=0) * (1 - c)


def mean_cos(kappa):
    """E[n·n0] for vMF on S²: coth κ − 1/κ."""
    return 1.0 / np.tanh(kappa) - 1.0 / kappa


def uniform_points(m, seed):
    return sample_von_mises_fisher([0, 0, 1], 0.0, m, np.random.default_rng(seed))


def rho0_asym(n):
    """A smooth, non-symmetric test density (not normalized; just transported)."""
    c = np.array([0.2, -0.5, 0.84])
    return np.exp(1.5 * (c / np.linalg.norm(c)) @ n) + 0.3 * n[0] * n[1] ** 2 + 0.1 * n[2]


def qubit_field(h0, grad_h0, hvec, jac_hvec):
    """Matrix field H = h0(n)·1 + hvec(n)·σ and its Cartesian gradient.

    h0: (3, M) -> (M,); grad_h0: (3, M) -> (3, M); hvec: (3, M) -> (3, M) (Pauli
    components); jac_hvec: (3, M) -> (3, 3, M) with [a, k] = ∂_a hvec_k.
    """

    def h_matrix(n):
        return (h0(n)[:, None, None] * np.eye(2)
                + np.einsum("km,kij->mij", hvec(n), PAULI))

    def grad_h_matrix(n):
        return (grad_h0(n)[:, :, None, None] * np.eye(2)
                + np.einsum("akm,kij->amij", jac_hvec(n), PAULI))

    return h_matrix, grad_h_matrix


def brief_qubit():
    """H = ½nz² + 0.3nx + ½ n·σ + 0.35σz."""
    return qubit_field(
        lambda n: 0.5 * n[2] ** 2 + 0.3 * n[0],
        lambda n: np.stack([np.full_like(n[0], 0.3), np.zeros_like(n[0]), n[2]]),
        lambda n: np.stack([0.5 * n[0], 0.5 * n[1], 0.5 * n[2] + 0.35]),
        lambda n: np.broadcast_to(0.5 * np.eye(3)[:, :, None], (3, 3, n.shape[1])),
    )


# --------------------------------------------------------------------------- quadrature


def test_gauss_quadrature_is_exact_to_its_degree_and_not_beyond():
    nodes, w = gauss_sphere_quadrature(6, 12)  # exact up to degree 11
    assert nodes.shape == (3, 72) and w.shape == (72,)
    np.testing.assert_allclose(np.linalg.norm(nodes, axis=0), 1.0, atol=1e-15)
    assert abs(w.sum() - 4 * np.pi) < 1e-13
    a = np.array([0.3, -0.8, 0.52])
    a /= np.linalg.norm(a)
    for k in (2, 4, 6, 8, 10):  # ∫ (a·n)^k dA = 4π/(k+1) for even k
        assert abs(w @ (a @ nodes) ** k - 4 * np.pi / (k + 1)) < 1e-13
    assert abs(w @ (nodes[0] ** 2 * nodes[1] ** 2) - 4 * np.pi / 15) < 1e-13
    assert abs(w @ (nodes[0] * nodes[1] ** 3 * nodes[2] ** 5)) < 1e-13
    # degree 14 is beyond the rule: a visible error (the test can fail)
    assert abs(w @ (a @ nodes) ** 14 - 4 * np.pi / 15) > 1e-8


# --------------------------------------------------------------------------- vMF


@pytest.mark.parametrize("kappa", [0.0, 0.5, 2.0, 50.0, 400.0])
def test_vmf_density_is_normalized(kappa):
    nodes, w = gauss_sphere_quadrature(160, 320)
    c = np.array([1.0, 2.0, -0.5])
    rho = von_mises_fisher_density(nodes, c, kappa)
    assert abs(w @ rho - 1.0) < 1e-11
    # and its first moment matches coth κ − 1/κ
    if kappa > 0:
        m1 = nodes @ (w * rho)
        np.testing.assert_allclose(m1, mean_cos(kappa) * c / np.linalg.norm(c),
                                   atol=1e-11)


@pytest.mark.parametrize("kappa", [0.5, 2.0, 50.0])
def test_vmf_sampler_mean_cosine(kappa):
    rng = np.random.default_rng(1234)
    c = np.array([0.3, -0.4, 0.2])
    x = sample_von_mises_fisher(c, kappa, 200_000, rng)
    assert x.shape == (3, 200_000)
    np.testing.assert_allclose(np.linalg.norm(x, axis=0), 1.0, atol=1e-14)
    wv = (c / np.linalg.norm(c)) @ x
    se = wv.std(ddof=1) / np.sqrt(wv.size)
    assert abs(wv.mean() - mean_cos(kappa)) < 4 * se


@pytest.mark.parametrize("kappa", [0.0, 2.0, 50.0])
def test_vmf_sampler_second_moments(kappa):
    """E[n nᵀ] = E[w²] ccᵀ + ½(1 − E[w²])(1 − ccᵀ), E[w²] = 1 − 2 A(κ)/κ; mean A(κ) c."""
    rng = np.random.default_rng(99)
    c = np.array([-1.0, 0.5, 2.0])
    c /= np.linalg.norm(c)
    m = 200_000
    x = sample_von_mises_fisher(c, kappa, m, rng)
    a = 0.0 if kappa == 0 else mean_cos(kappa)
    ew2 = 1.0 / 3.0 if kappa == 0 else 1.0 - 2.0 * a / kappa
    cc = np.outer(c, c)
    second = ew2 * cc + 0.5 * (1.0 - ew2) * (np.eye(3) - cc)
    prods = x[:, None, :] * x[None, :, :]
    se2 = prods.std(axis=2, ddof=1) / np.sqrt(m)
    assert np.all(np.abs(prods.mean(axis=2) - second) < 4.5 * se2 + 1e-15)
    se1 = x.std(axis=1, ddof=1) / np.sqrt(m)
    assert np.all(np.abs(x.mean(axis=1) - a * c) < 4.5 * se1)
    # the azimuth about c is uniform: transverse components are uncorrelated and equal
    # in variance (checked by the second-moment formula above); the sample covariance
    # is positive definite with eigenvector c
    cov = np.cov(x)
    evals, evecs = np.linalg.eigh(cov)
    assert evals[0] > 0
    var_w = ew2 - a**2
    j = np.argmin(np.abs(evals - var_w)) if kappa > 0 else 0
    if kappa > 0:
        assert abs(abs(evecs[:, j] @ c) - 1.0) < 1e-2


def test_vmf_sampler_extreme_concentrations():
    rng = np.random.default_rng(5)
    for kappa in (1e-12, 1e6):
        x = sample_von_mises_fisher([0, 0, 1], kappa, 100_000, rng)
        assert np.all(np.isfinite(x))
        np.testing.assert_allclose(np.linalg.norm(x, axis=0), 1.0, atol=1e-14)
        one_minus_w = 1.0 - x[2]
        if kappa > 1:
            # 1 − w is exponential with mean 1/κ (to O(e^{−2κ}))
            se = one_minus_w.std(ddof=1) / np.sqrt(one_minus_w.size)
            assert abs(one_minus_w.mean() - 1 / kappa) < 4 * se
            assert np.all(one_minus_w >= 0)
        else:
            se = x[2].std(ddof=1) / np.sqrt(x.shape[1])
            assert abs(x[2].mean()) < 4 * se
            assert abs(x[2].var() - 1 / 3) < 0.01


def test_vmf_sampler_reproducible_with_seed():
    a = sample_von_mises_fisher([1, 0, 0], 3.0, 10, 7)
    b = sample_von_mises_fisher([1, 0, 0], 3.0, 10, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- Liouville


@pytest.mark.parametrize("spin", [1.0, 2.5])
def test_characteristics_rigid_rotation(spin):
    b = np.array([0.3, -0.7, 1.1])
    t = 1.7
    pts = uniform_points(600, 3)

    def grad_h(n):  # H = b·n
        return np.broadcast_to(b[:, None], n.shape)

    rho, info = liouville_characteristics(grad_h, rho0_asym, pts, t, spin_magnitude=spin,
                                          return_info=True)
    exact = rho0_asym(rodrigues(b, -np.linalg.norm(b) * t / spin, pts))
    assert np.max(np.abs(rho - exact)) < 1e-10 * np.max(np.abs(exact))
    assert info.norm_drift < 1e-10
    # the opposite sense of rotation is clearly wrong (the test can fail)
    wrong = rho0_asym(rodrigues(b, +np.linalg.norm(b) * t / spin, pts))
    assert np.max(np.abs(rho - wrong)) > 1e-2


def test_characteristics_twist_flow():
    """H = ½ a nz²: rotation about z at the latitude-dependent rate a nz / S."""
    a, spin, t = 1.3, 0.8, 2.0
    pts = uniform_points(500, 4)

    def grad_h(n):
        return np.stack([np.zeros_like(n[0]), np.zeros_like(n[0]), a * n[2]])

    rho = liouville_characteristics(grad_h, rho0_asym, pts, t, spin_magnitude=spin)
    exact = rho0_asym(rodrigues([0, 0, 1], -a * pts[2] * t / spin, pts))
    assert np.max(np.abs(rho - exact)) < 1e-10 * np.max(np.abs(exact))
    moved, _ = classical_flow(grad_h, pts, [0.0, t], spin_magnitude=spin)
    np.testing.assert_allclose(moved[0], pts, atol=0)
    np.testing.assert_allclose(moved[1], rodrigues([0, 0, 1], a * pts[2] * t / spin, pts),
                               atol=1e-10)


def test_expectation_rigid_rotation_of_vmf_mean():
    b = np.array([0.0, 0.9, -0.4])
    c = np.array([0.6, 0.0, 0.8])
    kappa, spin = 2.0, 1.5
    nodes, w = gauss_sphere_quadrature(40, 80)
    times = np.array([0.0, 0.5, 1.0, 3.0])

    def grad_h(n):
        return np.broadcast_to(b[:, None], n.shape)

    mean_n = liouville_expectation(grad_h, lambda n: n, times, nodes=nodes, weights=w,
                                   rho0=lambda n: von_mises_fisher_density(n, c, kappa),
                                   spin_magnitude=spin)
    assert mean_n.shape == (4, 3)
    for k, t in enumerate(times):
        exact = mean_cos(kappa) * rodrigues(b, np.linalg.norm(b) * t / spin, c[:, None])[:, 0]
        np.testing.assert_allclose(mean_n[k], exact, atol=1e-12)


def test_expectation_and_characteristics_agree_for_a_nonlinear_flow():
    """∫ϱ0 f∘Φ_t dA (forward push) = ∫ (ϱ0∘Φ_{-t}) f dA (characteristics): both are the
    Liouville solution; plus mass and energy conservation."""
    def grad_h(n):  # H = ½nz² + 0.3nx + 0.2 nx ny
        return np.stack([0.3 + 0.2 * n[1], 0.2 * n[0], n[2]])

    def ham(n):
        return 0.5 * n[2] ** 2 + 0.3 * n[0] + 0.2 * n[0] * n[1]

    c = np.array([0.5, 0.5, 0.7])
    kappa, t = 2.0, 1.0

    def rho0(n):
        return von_mises_fisher_density(n, c, kappa)

    nodes, w = gauss_sphere_quadrature(48, 96)

    def obs(n):
        return np.stack([n[0], n[1] * n[2], ham(n), np.ones_like(n[0])])

    fwd = liouville_expectation(grad_h, obs, t, nodes=nodes, weights=w, rho0=rho0)
    rho_t = liouville_characteristics(grad_h, rho0, nodes, t)
    bwd = obs(nodes) @ (w * rho_t)
    np.testing.assert_allclose(fwd, bwd, atol=1e-9)
    assert abs(bwd[3] - 1.0) < 1e-9  # mass
    e0 = ham(nodes) @ (w * rho0(nodes))
    assert abs(fwd[2] - e0) < 1e-11 and abs(bwd[2] - e0) < 1e-9  # energy
    assert abs(fwd[0] - nodes[0] @ (w * rho0(nodes))) > 1e-2  # it did move


# --------------------------------------------------------------------------- Ehrenfest


def test_ehrenfest_uncoupled_matches_analytic_motion():
    """H = h0(n)·1 + (ω/2)σz with h0 = ½ a nz² + bz nz: n rotates about z at rate
    (a nz + bz)/S, ψ = e^{−i h0 t/ħ} diag(e^{−iωt/2ħ}, e^{iωt/2ħ}) ψ0."""
    a, bz, om, hbar, spin = 1.2, -0.4, 1.9, 0.7, 1.3
    h_matrix, grad_h_matrix = qubit_field(
        lambda n: 0.5 * a * n[2] ** 2 + bz * n[2],
        lambda n: np.stack([np.zeros_like(n[0]), np.zeros_like(n[0]), a * n[2] + bz]),
        lambda n: np.stack([np.zeros_like(n[0]), np.zeros_like(n[0]),
                            np.full_like(n[0], 0.5 * om)]),
        lambda n: np.zeros((3, 3, n.shape[1])),
    )
    n0 = sample_von_mises_fisher([0.3, 0.2, 0.9], 3.0, 300, 11)
    psi0 = np.array([0.6, 0.8 * np.exp(0.4j)])
    times = np.array([0.0, 0.25, 1.0, 2.0])
    r = ehrenfest_trajectories(h_matrix, grad_h_matrix, psi0, n0, times, hbar=hbar,
                               spin_magnitude=spin, keep_trajectories=True, batch=128)
    assert r.n_trajectories == 300
    assert r.rho_q.shape == (4, 2, 2) and r.n_mean.shape == (4, 3)
    h0 = 0.5 * a * n0[2] ** 2 + bz * n0[2]
    for k, t in enumerate(times):
        n_exact = rodrigues([0, 0, 1], (a * n0[2] + bz) * t / spin, n0)
        np.testing.assert_allclose(r.n_traj[k], n_exact, atol=1e-9)
        phase = np.exp(-1j * h0 * t / hbar)[:, None]
        psi_exact = phase * (psi0 * np.exp([-0.5j * om * t / hbar, 0.5j * om * t / hbar]))
        if t <= 1.0:  # ψ itself, including the global phase e^{−i h0 t/ħ}
            np.testing.assert_allclose(r.psi_traj[k], psi_exact, atol=1e-9)
        proj = r.psi_traj[k][:, :, None] * r.psi_traj[k].conj()[:, None, :]
        proj_exact = psi_exact[:, :, None] * psi_exact.conj()[:, None, :]
        np.testing.assert_allclose(proj, proj_exact, atol=1e-9)
        rho_exact = np.outer(psi0, psi0.conj())
        rho_exact[0, 1] *= np.exp(-1j * om * t / hbar)
        rho_exact[1, 0] *= np.exp(1j * om * t / hbar)
        np.testing.assert_allclose(r.rho_q[k], rho_exact, atol=1e-9)
        np.testing.assert_allclose(r.n_mean[k], n_exact.mean(axis=1), atol=1e-9)
        se = n_exact.std(axis=1, ddof=1) / np.sqrt(300)
        np.testing.assert_allclose(r.n_stderr[k], se, rtol=1e-6)
    # all trajectories share ψ0 and the quantum motion is uncoupled: no spread
    assert np.max(np.abs(r.rho_q_stderr)) < 1e-9
    assert r.max_energy_drift < 1e-9


def test_ehrenfest_coupled_conserves_energy_and_total_jz():
    """H = (λ/2) n·σ + (ω/2)σz + ½ a nz² is symmetric about z: S nz + (ħ/2)⟨σz⟩ is
    conserved along each trajectory, as is the energy ⟨ψ|H(n)|ψ⟩."""
    lam, om, a, hbar, spin = 0.9, 0.7, 0.6, 0.7, 1.3
    h_matrix, grad_h_matrix = qubit_field(
        lambda n: 0.5 * a * n[2] ** 2,
        lambda n: np.stack([np.zeros_like(n[0]), np.zeros_like(n[0]), a * n[2]]),
        lambda n: np.stack([0.5 * lam * n[0], 0.5 * lam * n[1], 0.5 * lam * n[2] + 0.5 * om]),
        lambda n: np.broadcast_to(0.5 * lam * np.eye(3)[:, :, None], (3, 3, n.shape[1])),
    )
    n0 = sample_von_mises_fisher([1.0, 0.0, 0.3], 1.0, 400, 12)
    psi0 = np.array([1.0, 1.0j]) / np.sqrt(2)
    times = np.linspace(0.0, 1.0, 5)
    r = ehrenfest_trajectories(h_matrix, grad_h_matrix, psi0, n0, times, hbar=hbar,
                               spin_magnitude=spin, keep_trajectories=True)
    sz = np.abs(r.psi_traj[..., 0]) ** 2 - np.abs(r.psi_traj[..., 1]) ** 2
    jz = spin * r.n_traj[:, 2] + 0.5 * hbar * sz
    assert np.max(np.abs(jz - jz[0])) < 1e-9
    assert np.max(np.abs(r.n_traj[-1, 2] - r.n_traj[0, 2])) > 1e-2  # not trivially
    assert np.max(np.abs(r.energy_traj - r.energy_traj[0])) < 1e-9
    assert r.max_energy_drift < 1e-9
    assert r.max_n_norm_drift < 1e-10 and r.max_psi_norm_drift < 1e-10
    # a wrong relative sign/scale between S and ħ would break Jz (the test can fail)
    assert np.max(np.abs((spin * r.n_traj[:, 2] - 0.5 * hbar * sz)
                         - (spin * r.n_traj[0, 2] - 0.5 * hbar * sz[0]))) > 1e-3


def test_ehrenfest_brief_qubit_accuracy_by_step_halving_and_invariants():
    h_matrix, grad_h_matrix = brief_qubit()
    n0 = sample_von_mises_fisher([0.2, -0.3, 1.0], 2.0, 500, 13)
    psi0 = np.array([1.0, 1.0]) / np.sqrt(2)
    times = np.linspace(0.0, 1.0, 6)
    r1 = ehrenfest_trajectories(h_matrix, grad_h_matrix, psi0, n0, times,
                                keep_trajectories=True)
    r2 = ehrenfest_trajectories(h_matrix, grad_h_matrix, psi0, n0, times,
                                dt=r1.dt / 2, keep_trajectories=True)
    assert r2.n_steps == 2 * r1.n_steps
    # Richardson: error of r1 ≈ (16/15)|r1 − r2| for a 4th-order method
    err_n = 16 / 15 * np.max(np.abs(r1.n_traj - r2.n_traj))
    err_psi = 16 / 15 * np.max(np.abs(r1.psi_traj - r2.psi_traj))
    err_rho = 16 / 15 * np.max(np.abs(r1.rho_q - r2.rho_q))
    assert max(err_n, err_psi, err_rho) < 1e-9
    assert err_n > 1e-14  # the comparison is not vacuous
    for r in (r1, r2):
        assert np.max(np.abs(r.energy_traj - r.energy_traj[0])) < 1e-9
        assert np.max(np.abs(np.linalg.norm(r.n_traj, axis=1) - 1)) < 1e-10
        assert np.max(np.abs(np.linalg.norm(r.psi_traj, axis=2) - 1)) < 1e-10
    # decoherence: the purity of ρ̂q drops (the classical and quantum parts interact)
    purity = np.einsum("tij,tji->t", r1.rho_q, r1.rho_q).real
    assert purity[0] == pytest.approx(1.0, abs=1e-14) and purity[-1] < 0.99
    # ρ̂q is a density matrix
    np.testing.assert_allclose(np.trace(r1.rho_q, axis1=1, axis2=2), 1.0, atol=1e-10)
    np.testing.assert_allclose(r1.rho_q, np.conj(np.swapaxes(r1.rho_q, 1, 2)), atol=1e-15)


def test_ehrenfest_against_bloch_equations_with_dop853():
    """Independent formulation: for H = h0 + h·σ, the Bloch vector s = ⟨σ⟩ obeys
    ds/dt = (2/ħ) h × s and the force is ∇h0 + Σ_k s_k ∇h_k."""
    hbar, spin = 0.8, 1.4
    h_matrix, grad_h_matrix = brief_qubit()
    n0 = sample_von_mises_fisher([0.0, 0.6, 0.8], 1.0, 6, 14)
    psi0 = np.array([np.cos(0.4), np.sin(0.4) * np.exp(0.9j)])
    times = np.array([0.0, 0.3, 1.0])
    r = ehrenfest_trajectories(h_matrix, grad_h_matrix, psi0, n0, times, hbar=hbar,
                               spin_magnitude=spin, keep_trajectories=True)

    def rhs(_t, y):
        n, s = y[:3], y[3:]
        hv = np.array([0.5 * n[0], 0.5 * n[1], 0.5 * n[2] + 0.35])
        force = np.array([0.3, 0.0, n[2]]) + 0.5 * s
        return np.concatenate([np.cross(force, n) / spin, 2.0 / hbar * np.cross(hv, s)])

    s0 = np.einsum("i,kij,j->k", psi0.conj(), PAULI, psi0).real
    for j in range(n0.shape[1]):
        sol = solve_ivp(rhs, (0, times[-1]), np.concatenate([n0[:, j], s0]),
                        method="DOP853", t_eval=times, rtol=1e-13, atol=1e-14)
        psi = r.psi_traj[:, j]
        s_traj = np.einsum("ti,kij,tj->tk", psi.conj(), PAULI, psi).real
        np.testing.assert_allclose(r.n_traj[:, :, j], sol.y[:3].T, atol=1e-9)
        np.testing.assert_allclose(s_traj, sol.y[3:].T, atol=1e-9)


def test_ehrenfest_spin_and_hbar_scaling():
    """(H, ħ, S) is the same dynamics as (H/S, ħ/S, 1)."""
    h_matrix, grad_h_matrix = brief_qubit()
    spin, hbar = 2.0, 0.5
    n0 = sample_von_mises_fisher([0, 0, 1], 1.0, 50, 15)
    psi0 = np.array([1.0, 0.0])
    times = [0.0, 0.5, 1.0]
    r1 = ehrenfest_trajectories(h_matrix, grad_h_matrix, psi0, n0, times, hbar=hbar,
                                spin_magnitude=spin, dt=0.01)
    r2 = ehrenfest_trajectories(lambda n: h_matrix(n) / spin,
                                lambda n: grad_h_matrix(n) / spin, psi0, n0, times,
                                hbar=hbar / spin, spin_magnitude=1.0, dt=0.01)
    np.testing.assert_allclose(r1.rho_q, r2.rho_q, atol=1e-13)
    np.testing.assert_allclose(r1.n_mean, r2.n_mean, atol=1e-13)
    r3 = ehrenfest_trajectories(h_matrix, grad_h_matrix, psi0, n0, times, hbar=hbar,
                                spin_magnitude=1.0, dt=0.01)
    assert np.max(np.abs(r3.n_mean - r1.n_mean)) > 1e-4  # S does matter


def test_ehrenfest_statistics_independent_of_batching_and_threads():
    h_matrix, grad_h_matrix = brief_qubit()
    m = 301
    n0 = sample_von_mises_fisher([0.4, 0.0, 0.9], 2.0, m, 16)
    psi0 = np.array([1.0, 1.0]) / np.sqrt(2)
    times = [0.0, 0.5]
    ref = ehrenfest_trajectories(h_matrix, grad_h_matrix, psi0, n0, times, batch=10_000,
                                 keep_trajectories=True)
    for kw in ({"batch": 37}, {"batch": 50, "workers": 2}):
        r = ehrenfest_trajectories(h_matrix, grad_h_matrix, psi0, n0, times, **kw)
        for name in ("rho_q", "rho_q_stderr", "n_mean", "n_stderr", "energy_mean",
                     "energy_stderr"):
            np.testing.assert_allclose(r[name], ref[name], rtol=1e-12, atol=1e-15)
    # the standard errors are those of the per-trajectory samples
    psi = ref.psi_traj[-1]
    outer = psi[:, :, None] * psi.conj()[:, None, :]
    se = (outer.real.std(axis=0, ddof=1) + 1j * outer.imag.std(axis=0, ddof=1)) / np.sqrt(m)
    np.testing.assert_allclose(ref.rho_q_stderr[-1], se, rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(ref.n_stderr[-1],
                               ref.n_traj[-1].std(axis=1, ddof=1) / np.sqrt(m), rtol=1e-10)
    assert np.all(ref.rho_q_stderr_re[-1] > 0)
    # per-trajectory initial states (shape (M, N)) give the same answer
    r = ehrenfest_trajectories(h_matrix, grad_h_matrix, np.tile(psi0, (m, 1)), n0, times,
                               batch=10_000)
    np.testing.assert_allclose(r.rho_q, ref.rho_q, rtol=1e-14, atol=1e-15)


def test_input_validation():
    h_matrix, grad_h_matrix = brief_qubit()
    n0 = uniform_points(4, 0)
    with pytest.raises(ValueError):
        ehrenfest_trajectories(h_matrix, grad_h_matrix, [1, 0], n0, [1.0, 0.5])
    with pytest.raises(ValueError):
        ehrenfest_trajectories(h_matrix, grad_h_matrix, np.ones((3, 2)), n0, [1.0])
    with pytest.raises(ValueError, match="not Hermitian"):
        ehrenfest_trajectories(lambda n: h_matrix(n) + 0.1j * np.eye(2), grad_h_matrix,
                               [1, 0], n0, [1.0])
    with pytest.raises(ValueError, match="shape"):
        ehrenfest_trajectories(h_matrix, lambda n: grad_h_matrix(n)[:2], [1, 0], n0, [1.0])
    with pytest.raises(ValueError):
        sample_von_mises_fisher([0, 0, 0], 1.0, 3)
    with pytest.raises(ValueError):
        sample_von_mises_fisher([0, 0, 1], -1.0, 3)
