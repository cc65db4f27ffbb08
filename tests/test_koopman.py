"""Koopman wave equations (paper eqs. 13, 14, 29): references computed independently."""

import numpy as np
import pytest
from scipy.linalg import expm

from spectral_qc.expressions import Expression
from spectral_qc.hamiltonians import Hamiltonian
from spectral_qc.integrators import make_integrator
from spectral_qc.koopman_integrators import make_koopman_integrator, run_koopman
from spectral_qc.models import make_model
from spectral_qc.sphere import bracket, integrate
from spectral_qc.states import State, bloch_density, von_mises_fisher
from spectral_qc.wavestates import (ensemble_from_density, koopman_initial_wave,
                                    wave_state_from_grid)

from .conftest import sphere

DEMO = [("I", "0.5*nz**2 + 0.3*nx"), ("X", "0.5*nx"), ("Y", "0.5*ny"), ("Z", "0.5*nz + 0.35")]
SCALAR = "0.5*nz**2 + 0.3*nx"


def scalar_h(coef):
    return Hamiltonian([("I", coef)]).reduced_to_scalar()


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# ------------------------------------------------------------- the phase term
@pytest.mark.parametrize("source", [
    "0.5*nx + 2*ny - nz", "0.5*nz**2", "0.5*nz**2/(nx**2+ny**2+nz**2)",
    "sin(nx*ny) + exp(nz)", "sqrt(nx**2+ny**2+nz**2)", "abs(nx)**1.5", "(2+nz)**nx",
    "log(2+nx)", "tan(nz)", "-nx**3", "cos(pi*nz)/(3-ny)",
])
def test_euler_derivative_equals_the_radial_difference_quotient(source):
    # n·∇f = d/dλ f(λn) at λ = 1; reference: a 4th-order central difference in λ
    f = Expression(source)
    rng = np.random.default_rng(7)
    n = rng.uniform(0.2, 0.8, (3, 50)) * rng.choice([-1, 1], (3, 50))
    h = 1e-3
    fd = (-f(*(n * (1 + 2 * h))) + 8 * f(*(n * (1 + h))) - 8 * f(*(n * (1 - h)))
          + f(*(n * (1 - 2 * h)))) / (12 * h)
    tol = 1e-9  # the difference quotient's own error is O(h^4) ~ 1e-12 relative
    assert np.max(np.abs(f.euler_derivative(*n) - fd)) < tol * max(1, np.abs(fd).max())


@pytest.mark.parametrize("coef, expected", [
    ("0.3*nx - 0.2*ny + 0.5*nz", lambda nx, ny, nz: 0 * nx),          # n·B: 0
    ("0.5*nz**2", lambda nx, ny, nz: 0.5 * nz**2),                     # degree 2: +H
    ("0.5*nz**2/(nx**2+ny**2+nz**2)", lambda nx, ny, nz: -0.5 * nz**2),  # degree 0: −H
])
def test_lagrangian_depends_on_how_H_is_written_off_the_sphere(coef, expected):
    g = sphere(15)
    L = scalar_h(coef).lagrangian(g.n)[0, 0]
    assert np.max(np.abs(L - expected(*g.n))) < 1e-14


def test_a_callable_coefficient_is_continued_constant_along_rays():
    g = sphere(15)
    H = Hamiltonian([("Z", lambda nx, ny, nz: 0.5 * nz**2)])
    assert np.max(np.abs(H.lagrangian(g.n) + H.evaluate(g.n))) == 0.0  # L = −H


# ------------------------------------------------------- KvN, KvH vs references
def test_kvn_density_equals_the_liouville_solution():
    # |χ|² of KvN (eq. 13) obeys eq. 5; reference: the liouville model (ϱ, another code path)
    g = sphere(63)
    H = scalar_h(SCALAR)
    rho0 = von_mises_fisher(g, [1.0, 0.2, 0.3], 2.0)
    dt, steps = 0.005, 400  # t = 2
    kvn = make_model("kvn", g, H)
    chi = run_koopman(kvn, koopman_initial_wave(g, rho0, [[1]]), 2.0, dt, scheme="rk4")
    liouville = make_model("liouville", g, H)
    stepper = make_integrator("strang", liouville)
    state = State(g.analysis(rho0), g.analysis(np.ones((1,) + g.shape)))
    for _ in range(steps):
        state = stepper.step(state, dt)
    density = np.abs(kvn.wave(chi)[0, 0]) ** 2
    assert rel(density, g.synthesis(state.rho_lm)) <= 1e-10  # measured 7.9e-12


def test_kvh_with_a_linear_hamiltonian_is_kvn_and_a_rigid_rotation():
    # H = n·B: the phase term vanishes identically (eq. 14 → eq. 13) and the flow is the
    # rigid rotation about B with angular velocity |B|/S; reference: the rotated vMF density
    g = sphere(31)
    S, B = 1.3, np.array([0.0, 0.6, 0.8])
    H = scalar_h("0.0*nx + 0.6*ny + 0.8*nz")
    rho0 = von_mises_fisher(g, [1.0, 0.0, 0.0], 3.0)
    t, dt = 1.0, 0.005
    out = {}
    for kind in ("kvn", "kvh"):
        m = make_model(kind, g, H, hbar=0.7, spin_magnitude=S)
        out[kind] = m.wave(run_koopman(m, koopman_initial_wave(g, rho0, [[1]]), t, dt,
                                       scheme="strang"))[0, 0]
    assert np.max(np.abs(out["kvh"] - out["kvn"])) <= 1e-12
    # dn/dt = X_H = (1/S) B × n: n(t) = R(t) n0, so ϱ(n, t) = ϱ0(R(−t) n)
    angle = -np.linalg.norm(B) * t / S
    k = B / np.linalg.norm(B)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    back = expm(angle * kx)
    center = back.T @ np.array([1.0, 0.0, 0.0])  # ϱ0(R⁻¹n) = vMF centred at R e_x
    assert rel(np.abs(out["kvh"]) ** 2, von_mises_fisher(g, center, 3.0)) < 1e-9


def test_scalings_hbar_and_S_as_documented():
    # (H, ħ, S) is the model (H/S, ħ/S, 1) (docs/models.md, "Koopman models")
    g = sphere(23)
    rho0 = von_mises_fisher(g, [0.3, 0.0, 1.0], 2.0)
    S, hbar = 2.5, 0.8
    a = make_model("kvh", g, scalar_h(SCALAR), hbar=hbar, spin_magnitude=S)
    b = make_model("kvh", g, scalar_h(f"({SCALAR})/{S}"), hbar=hbar / S, spin_magnitude=1.0)
    w0 = koopman_initial_wave(g, rho0, [[1]])
    wa = run_koopman(a, w0, 0.5, 0.01, scheme="rk4")
    wb = run_koopman(b, w0, 0.5, 0.01, scheme="rk4")
    assert np.max(np.abs(wa.upsilon_lm - wb.upsilon_lm)) < 1e-13
    assert np.max(np.abs(a.classical_density(wa) - b.classical_density(wb))) < 1e-12


# --------------------------------------------------------------- sphere density
def test_initial_density_and_quantum_state():
    g = sphere(31)
    rho0 = von_mises_fisher(g, [0.0, 0.0, 1.0], 2.0)
    mixed = bloch_density([0.3, -0.2, 0.5])
    m = make_model("hybrid_kvh", g, Hamiltonian(DEMO))
    w = koopman_initial_wave(g, rho0, mixed)
    assert w.members == 2 and w.N == 2
    assert np.max(np.abs(m.classical_density(w) - rho0)) < 1e-12  # ρc(0) = ϱ0
    assert np.max(np.abs(m.quantum_density(w) - mixed)) < 1e-13   # ρ̂q(0) = ρ0
    assert ensemble_from_density(bloch_density([0, 0, 1])).shape == (1, 2)  # pure: M = 1


def _random_wave(g, N, seed):
    rng = np.random.default_rng(seed)
    nx, ny, nz = g.n
    comps = []
    for a in range(N):
        c = rng.normal(size=6)
        comps.append(np.exp(c[0] * nx + c[1] * nz) * np.exp(1j * (c[2] * nx * ny + c[3] * nz
                                                                    + c[4] * ny + c[5])))
    return wave_state_from_grid(g, np.array(comps))


@pytest.mark.parametrize("kind, terms", [("kvh", [("I", SCALAR)]), ("hybrid_kvh", DEMO)])
def test_energy_is_the_density_weighted_hamiltonian(kind, terms):
    # ∫⟨Υ|𝓛_HΥ⟩ = ∫Tr(H D) d³n on the shell = ∫ Tr(H D_S) dA − ∫ Υ†(n·∇H)Υ dA with the
    # sphere operator D_S = ΥΥ† + iħ{Υ, Υ†} (the div term gives the second integral)
    g = sphere(31)
    H = Hamiltonian(terms)
    H = H.reduced_to_scalar() if kind == "kvh" else H
    m = make_model(kind, g, H, hbar=0.6, spin_magnitude=1.4)
    w = _random_wave(g, m.N, 3)
    ups = m.wave(w)[0]
    gr = m.gradients(w.upsilon_lm)[:, 0]
    # D_S_ab = Υ_a Υ_b* + iħ {Υ_a, Υ_b*}, written out with the bracket's 1/S
    brk = (np.einsum("a...,b...->ab...", gr[0], np.conj(gr[1]))
           - np.einsum("a...,b...->ab...", gr[1], np.conj(gr[0]))) / m.spin_magnitude
    D = np.einsum("a...,b...->ab...", ups, np.conj(ups)) + 1j * m.hbar * brk
    Hn = H.evaluate(g.n)
    euler = H.lagrangian(g.n) + Hn
    ref = (np.real(integrate(g, np.einsum("ab...,ba...->...", Hn, D)))
           - np.real(integrate(g, np.einsum("a...,ab...,b...->...", np.conj(ups), euler, ups))))
    assert abs(m.energy(w) - ref) < 1e-12 * max(1, abs(ref))
    assert np.max(np.abs(np.real(np.einsum("aa...->...", D)) - m.classical_density(w))) < 1e-12


def test_the_kvh_sphere_density_obeys_liouville_plus_a_phase_source():
    # Derived (docs/numerics.md): ∂tρ = {H, ρ} − {L, |χ|²} with L = n·∇H − H; the sphere
    # density of KvH obeys the Liouville equation on S² only where {L, |χ|²} = 0.
    g = sphere(47)
    H = scalar_h(SCALAR)
    m = make_model("kvh", g, H, hbar=0.5)
    w = run_koopman(m, koopman_initial_wave(g, von_mises_fisher(g, [1, 0, 1], 2.0), [[1]]),
                    0.5, 0.01, scheme="rk4")
    dt = 1e-3
    stepper = make_koopman_integrator("rk4", m)
    w1 = stepper.step(w, dt)
    w2 = stepper.step(w1, dt)
    r0, r1, r2 = (m.classical_density(s) for s in (w, w1, w2))
    drho = (-3 * r0 + 4 * r1 - r2) / (2 * dt)  # one-sided, second order
    rho = m.classical_density(w)
    chi2 = np.abs(m.wave(w)[0, 0]) ** 2
    h_lm = g.analysis(H.evaluate(g.n)[0, 0].real)
    l_lm = g.analysis(m.L[0, 0].real)
    liouville = bracket(g, h_lm, g.analysis(rho))
    source = -bracket(g, l_lm, g.analysis(chi2))
    scale = np.abs(drho).max()
    assert np.max(np.abs(drho - liouville - source)) < 1e-6 * scale   # O(dt²) difference
    assert np.max(np.abs(drho - liouville)) > 1e-2 * scale            # not Liouville on S²


# ------------------------------------------------------------- hybrid KvH (eq. 29)
def test_hybrid_kvh_uncoupled_case_is_classical_kvh_times_quantum_rotation():
    # Property 4: H = H0(n)·1 + A gives Υ = e^{−iAt/ħ} χ ψ0, so ρ̂q(t) = e^{−iAt/ħ}ρ̂0e^{iAt/ħ}
    # (analytic) and ρc = the kvh density of H0 (the scalar model, another code path)
    g = sphere(31)
    hbar, t, dt = 0.7, 2.0, 0.005
    A = 0.35 * np.diag([1.0, -1.0]) + 0.2 * np.array([[0, 1], [1, 0]])
    H = Hamiltonian([("I", SCALAR), ("Z", 0.35), ("X", 0.2)])
    rho0 = von_mises_fisher(g, [0.0, 0.6, 0.8], 2.0)
    p0 = bloch_density([0.6, 0.0, 0.8])
    hyb = make_model("hybrid_kvh", g, H, hbar=hbar, spin_magnitude=1.2)
    w = run_koopman(hyb, koopman_initial_wave(g, rho0, p0), t, dt, scheme="rk4")
    kvh = make_model("kvh", g, scalar_h(SCALAR), hbar=hbar, spin_magnitude=1.2)
    chi = run_koopman(kvh, koopman_initial_wave(g, rho0, [[1]]), t, dt, scheme="rk4")
    u = expm(-1j * A * t / hbar)
    assert np.max(np.abs(hyb.quantum_density(w) - u @ p0 @ u.conj().T)) <= 1e-11
    assert rel(hyb.classical_density(w), kvh.classical_density(chi)) <= 1e-10


@pytest.mark.slow
def test_hybrid_kvh_demo_conserves_norm_energy_and_positivity_of_rho_q():
    g = sphere(47)
    m = make_model("hybrid_kvh", g, Hamiltonian(DEMO))
    w0 = koopman_initial_wave(g, von_mises_fisher(g, [0, 0, 1], 2.0), bloch_density([1, 0, 0]))
    e0 = m.energy(w0)
    records = []
    run_koopman(m, w0, 10.0, 0.01, scheme="rk4", every=100,
                callback=lambda t, s: records.append(m.diagnostics(s)))
    assert max(abs(d["norm"] - 1) for d in records) <= 1e-9          # measured 6.2e-11
    assert max(abs(d["energy"] - e0) for d in records) <= 1e-9 * abs(e0)  # measured 6.8e-10
    assert min(d["min_eig_rho_q"] for d in records) >= -1e-13


def test_model_errors():
    g = sphere(15)
    with pytest.raises(ValueError, match="scalar Hamiltonian"):
        make_model("kvh", g, Hamiltonian(DEMO))
    with pytest.raises(ValueError, match="valid"):
        make_koopman_integrator("euler", make_model("kvn", g, scalar_h("nz")))


# ------------------------------------------------------------------- the driver
def _config(kind):
    cfg = {"grid": {"lmax": 15}, "model": {"kind": kind, "hbar": 0.8},
           "hamiltonian": {"terms": [{"op": "I", "coef": SCALAR}]},
           "initial": {"classical": {"kind": "von_mises_fisher", "center": [0, 0, 1],
                                     "kappa": 2.0}},
           "time": {"t_end": 0.2, "dt": 0.01, "output_every": 0.05}}
    if kind == "hybrid_kvh":
        cfg["hamiltonian"]["terms"] = [{"op": op, "coef": c} for op, c in DEMO]
        cfg["initial"]["quantum"] = {"bloch": [1.0, 0.0, 0.0]}
    return cfg


@pytest.mark.parametrize("kind", ["kvn", "kvh", "hybrid_kvh"])
def test_simulation_runs_the_koopman_kinds_and_resumes_bit_for_bit(kind):
    from spectral_qc import Simulation

    sim = Simulation(_config(kind))
    ds = sim.run()
    assert {"norm", "rho_c_min", "mass", "energy", "n_mean", "rho_q_real"} <= set(ds)
    assert np.max(np.abs(ds["norm"].values - 1)) < 1e-10  # RK4 at lmax 15: measured ≤ 2e-12
    half = Simulation(_config(kind))
    half.run(0.1)
    resumed = Simulation.restore(_config(kind), half.checkpoint())
    resumed.run()
    assert np.array_equal(resumed.state.upsilon_lm, sim.state.upsilon_lm)


def _thin_shell_marginal(g, delta, hbar, t, rho0, nodes=14):
    """∫ D r² dr over the shell 1 − δ < r < 1 + δ with the paper's 3-D density (eq. 16),
    D = |χ|² + div(n|χ|²) + ħ Im{χ*, χ}_3D, from KvH solved on each radius r: there
    {f, g}_3D = (1/r){f, g}_unit, H_r(n̂) = H(r n̂), and n·∇H − H = ½r²nz² (written out
    by hand for H = ½nz² + 0.3nx). div(n f) = r⁻² ∂r(r³ f), ∂r from the interpolant."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    r = 1 + delta * x
    a2 = (1 - x**2) ** 3
    a2 /= np.sum(w * delta * r**2 * a2)  # ∫ a² r² dr = 1
    dens, norm2 = [], []
    for rj, a2j in zip(r, a2):
        m = make_model("kvh", g, scalar_h(f"0.5*{float(rj)**2!r}*nz**2 + 0.3*{float(rj)!r}*nx"),
                       hbar=hbar, spin_magnitude=rj)
        m.L = (0.5 * rj**2 * g.n[2] ** 2)[None, None] + 0j
        chi = run_koopman(m, koopman_initial_wave(g, a2j * rho0, [[1]]), t, 0.01, scheme="rk4")
        gr = m.gradients(chi.upsilon_lm)[:, 0, 0]
        norm2.append(np.abs(m.wave(chi)[0, 0]) ** 2)
        dens.append(norm2[-1] + hbar * 2 * np.imag(np.conj(gr[0]) * gr[1]) / rj)
    norm2 = np.array(norm2)
    # ∂r(r³|χ|²) by differentiating the Lagrange interpolant in x through the nodes
    vander = np.polynomial.legendre.legvander(x, nodes - 1)
    coef = np.linalg.solve(vander, (r[:, None, None] ** 3 * norm2).reshape(nodes, -1))
    deriv = np.polynomial.legendre.legval(x, np.polynomial.legendre.legder(coef)).T / delta
    div = deriv.reshape(norm2.shape) / r[:, None, None] ** 2
    D = np.array(dens) + div
    weights = (w * delta * r**2)[:, None, None]
    return np.sum(weights * D, axis=0), np.sum(weights * div, axis=0)


def test_sphere_density_is_the_thin_shell_marginal_of_the_3d_density():
    # independent route (docs/numerics.md): the 3-D density of eq. 16 integrated over a
    # shell of half-width δ tends to ρ = |χ|² + ħ Im{χ*, χ} of the unit sphere as δ²
    g = sphere(23)
    hbar, t = 0.6, 1.0
    rho0 = von_mises_fisher(g, [1.0, 0.0, 1.0], 2.0)
    m = make_model("kvh", g, scalar_h(SCALAR), hbar=hbar)
    rho = m.classical_density(run_koopman(m, koopman_initial_wave(g, rho0, [[1]]), t, 0.01,
                                          scheme="rk4"))
    errs = []
    for delta in (0.04, 0.02):
        marginal, div = _thin_shell_marginal(g, delta, hbar, t, rho0)
        assert np.max(np.abs(integrate(g, div))) < 1e-12  # the div term integrates out
        errs.append(np.max(np.abs(marginal - rho)) / np.max(np.abs(rho)))
    assert errs[1] < 1e-3 and 3.0 < errs[0] / errs[1] < 5.0  # O(δ²)


def test_koopman_run_directory_via_the_command_line(tmp_path):
    """spectral-qc run/resume of a wave model: appended diagnostics.nc with the wave
    variables, figures without (ϱ, P) maps, and the resumed file equal to one run."""
    import tomllib

    import xarray as xr

    from spectral_qc import cli
    from spectral_qc.config import dumps_config, load_config

    cfg = load_config({**_config("hybrid_kvh"), "output": {"figures": True}})
    path = tmp_path / "c.toml"
    path.write_text(dumps_config(cfg))
    assert cli.main(["run", str(path), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert tomllib.loads((tmp_path / "a" / "config.toml").read_text())["solver"]["scheme"] \
        == "rk4"
    figures = sorted(p.name for p in (tmp_path / "a" / "figures").iterdir())
    assert "positivity.png" in figures and not any(f.startswith("maps") for f in figures)
    with xr.open_dataset(tmp_path / "a" / "diagnostics.nc") as ds:
        assert {"norm", "rho_c_min", "negative_mass"} <= set(ds) and "min_rho" not in ds
        whole = ds.load()
    half = dumps_config(cfg).replace(f"t_end = {cfg.time.t_end!r}", "t_end = 0.1")
    path.write_text(half)
    assert cli.main(["run", str(path), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert cli.main(["resume", str(tmp_path / "b"), "--t-end", str(cfg.time.t_end),
                     "--quiet"]) == 0
    with xr.open_dataset(tmp_path / "b" / "diagnostics.nc") as ds:
        for v in whole.data_vars:
            np.testing.assert_array_equal(ds[v].values, whole[v].values, err_msg=v)
