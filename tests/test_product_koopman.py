"""Koopman models of several classical spins (issue 17): one spin through the product path is
the one-sphere KvN/KvH/hybrid KvH; two uncoupled spins factorize into the one-spin solutions;
for two coupled spins |χ|² of KvN is the Liouville density (ProductLiouville), and the norm
and energy are conserved."""

from types import SimpleNamespace as NS

import numpy as np
import pytest

from spectral_qc import SphereGrid
from spectral_qc.errors import ConfigError
from spectral_qc.hamiltonians import Hamiltonian
from spectral_qc.integrators import make_integrator
from spectral_qc.models import make_model
from spectral_qc.models.product import ProductLiouville, product_state, von_mises_fisher_product
from spectral_qc.models.product_koopman import (ProductHybridKvH, ProductKvH, ProductKvN,
                                                product_initial_wave, product_tail_fraction,
                                                product_wave_state)
from spectral_qc.product_hamiltonians import EulerCoefficient, ProductHamiltonian, homogeneous
from spectral_qc.sphere.product import ProductGrid
from spectral_qc.sphere import integrate
from spectral_qc.states import von_mises_fisher
from spectral_qc.wavestates import WaveState, koopman_initial_wave, wave_state_from_grid

P0 = np.array([[0.7, 0.2 + 0.1j], [0.2 - 0.1j, 0.3]])


def rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def run(model, state, dt, steps, scheme="rk4"):
    step = model.make_integrator(scheme)
    for _ in range(steps):
        state = step.step(state, dt)
    return state


# ------------------------------------------------- H as written, on one sphere and on products
SCALAR = "0.5*nz**2 + 0.3*nx"
SCALAR_P = EulerCoefficient(lambda n: 0.5 * n[2] ** 2 + 0.3 * n[0],
                            lambda n: n[2] ** 2 + 0.3 * n[0])  # n·∇ by hand
MATRIX = [("I", SCALAR), ("X", "0.5*nx"), ("Y", "0.2*ny*nz"), ("Z", "0.5*nz + 0.35")]
MATRIX_P = [("I", SCALAR_P), ("X", homogeneous(lambda n: 0.5 * n[0], 1)),
            ("Y", homogeneous(lambda n: 0.2 * n[1] * n[2], 2)),
            ("Z", EulerCoefficient(lambda n: 0.5 * n[2] + 0.35, lambda n: 0.5 * n[2]))]


def test_lagrangian_of_a_product_hamiltonian_is_the_euler_derivative_minus_H():
    """Σ_a n_a·∇_{n_a}H − H: n1·n2 (degree 2) gives +n1·n2; a plain callable −c; a number −c;
    reference: a central difference of c(λn1, λn2) in λ."""
    J = 0.8
    c = lambda n1, n2: J * (n1 * n2).sum(0) + 0.3 * n1[0] * n2[2] ** 2  # noqa: E731
    euler = lambda n1, n2: 2 * J * (n1 * n2).sum(0) + 0.9 * n1[0] * n2[2] ** 2  # noqa: E731
    PH = ProductHamiltonian([("I", EulerCoefficient(c, euler)), ("Z", lambda n1, n2: n1[2]),
                             ("X", 0.4)], spins=2)
    rng = np.random.default_rng(3)
    n1, n2 = (x / np.linalg.norm(x, axis=0) for x in rng.normal(size=(2, 3, 20)))
    h = 1e-4
    fd = (c(n1 * (1 + h), n2 * (1 + h)) - c(n1 * (1 - h), n2 * (1 - h))) / (2 * h)
    L = PH.lagrangian([n1, n2])
    I, Z, X = np.eye(2), np.diag([1.0, -1.0]), np.array([[0, 1.0], [1.0, 0]])
    ref = np.einsum("ab,k->abk", I, fd - c(n1, n2)) - np.einsum("ab,k->abk", Z, n1[2]) \
        - 0.4 * X[:, :, None]
    assert np.abs(L - ref).max() < 1e-7  # the difference quotient's O(h²) error
    assert np.abs(PH.lagrangian([n1, n2])[0, 0] - (J * (n1 * n2).sum(0) + 0.6 * n1[0] * n2[2] ** 2
                                                   - n1[2])).max() < 1e-14


# ------------------------------------------------------------------ (a) j = 1
def _one_sphere(kind, N, members):
    """(one-sphere model, product model, ϱ0, ρ0) for the same H on SphereGrid(13)."""
    sg = SphereGrid(13)
    pg = ProductGrid(13, nlat=sg.nlat)
    kw = dict(hbar=0.7, spin_magnitude=1.3)
    if N == 1:
        H = Hamiltonian([("I", SCALAR)]).reduced_to_scalar()
        PH = ProductHamiltonian([(np.eye(1), SCALAR_P)], spins=1)
        density = np.eye(1)
    else:
        H, PH = Hamiltonian(MATRIX), ProductHamiltonian(MATRIX_P, spins=1)
        density = P0 if members == 2 else np.diag([1.0, 0.0])
    classes = {"kvn": ProductKvN, "kvh": ProductKvH, "hybrid_kvh": ProductHybridKvH}
    return (sg, pg, make_model(kind, sg, H, **kw), classes[kind](pg, PH, **kw),
            von_mises_fisher(sg, [0.3, 0.2, 1.0], 2.0), density)


def _one_sphere_run(kind, N, members, scheme):
    sg, pg, m1, m2, rho, density = _one_sphere(kind, N, members)
    # a classical phase, so that the bracket term of ρc is not zero
    grid0 = m1.wave(koopman_initial_wave(sg, rho, density)) * np.exp(0.8j * sg.n[0] * sg.n[2])
    s1, s2 = wave_state_from_grid(sg, grid0), product_wave_state(pg, grid0)
    assert s2.members == members
    return sg, pg, m1, m2, run(m1, s1, 0.01, 10, scheme), run(m2, s2, 0.01, 10, scheme)


def _l2(sg, a, b):
    """‖a − b‖/‖b‖ in L²(dA) on the one-sphere grid (the product grid has the same nodes)."""
    return float(np.sqrt(integrate(sg, (a - b) ** 2) / integrate(sg, b ** 2)))


@pytest.mark.parametrize("kind, N, members", [
    ("kvn", 1, 1), ("kvh", 1, 1), ("hybrid_kvh", 2, 1), ("hybrid_kvh", 2, 2)])
def test_one_spin_through_the_product_path_is_the_one_sphere_koopman_model(kind, N, members):
    """The default scheme (RK4): Υ, every diagnostic, ρ̂q and the energy to ≤ 1e-13
    (measured ≤ 3e-15 for Υ); ρc in L² (3e-14): pointwise it carries ProductGrid's ∂θ at the
    nodes next to the poles, 2e-13 against shtns's 1.5e-14 at lmax 13 (the engine's, not the
    model's; both paths run the same model code)."""
    sg, pg, m1, m2, s1, s2 = _one_sphere_run(kind, N, members, "rk4")
    assert rel(pg.to_sphere(s2.upsilon_lm), s1.upsilon_lm) < 1e-13
    d1, d2 = m1.diagnostics(s1), m2.diagnostics(s2)
    assert set(d1) == set(d2)
    for name in d1:
        assert np.abs(np.asarray(d2[name]) - np.asarray(d1[name])).max() < 1e-13, name
    assert _l2(sg, m2.classical_density(s2), m1.classical_density(s1)) < 1e-13
    assert rel(m2.quantum_density(s2), m1.quantum_density(s1)) < 1e-13
    assert abs(m2.energy(s2) - m1.energy(s1)) < 1e-13 * abs(m1.energy(s1))


def test_one_spin_strang_through_the_product_path_is_the_one_sphere_strang():
    """Strang with the exact phase sub-flow exp(iLτ/ħ)Υ: Υ to ≤ 1e-13 (measured 6.0e-14).
    The phase factor makes Υ non-band-limited before each analysis, and the two engines'
    round-off in the top degrees differs; ρc weights those by l through ∇Υ: measured 6.3e-13
    in L², bounded here by 1e-12 (with RK4 above: 3e-14)."""
    sg, pg, m1, m2, s1, s2 = _one_sphere_run("hybrid_kvh", 2, 2, "strang")
    assert rel(pg.to_sphere(s2.upsilon_lm), s1.upsilon_lm) < 1e-13
    assert _l2(sg, m2.classical_density(s2), m1.classical_density(s1)) < 1e-12
    assert rel(m2.quantum_density(s2), m1.quantum_density(s1)) < 1e-13


def test_one_spin_spectral_filter_through_the_product_path_is_the_one_sphere_filter():
    """``spectral_filter = True``: the product grid's per-factor filter against
    sphere.exponential_filter on shtns coefficients (a Υ with energy at the top degrees)."""
    sg, pg, m1, m2, rho, density = _one_sphere("hybrid_kvh", 2, 2)
    grid0 = m1.wave(koopman_initial_wave(sg, rho, density)) * np.exp(3j * sg.n[0] * sg.n[2])
    s1, s2 = wave_state_from_grid(sg, grid0), product_wave_state(pg, grid0)
    def filtered(model, state):
        step = model.make_integrator("rk4", spectral_filter=True)
        for _ in range(3):
            state = step.step(state, 0.01)
        return state

    f1, f2, unfiltered = filtered(m1, s1), filtered(m2, s2), run(m1, s1, 0.01, 3)
    assert rel(f1.upsilon_lm, unfiltered.upsilon_lm) > 1e-8  # the filter acts
    assert rel(pg.to_sphere(f2.upsilon_lm), f1.upsilon_lm) < 1e-13


def test_product_initial_wave_is_the_one_sphere_initial_wave_for_one_spin():
    sg = SphereGrid(13)
    pg = ProductGrid(13, nlat=sg.nlat)
    rho = von_mises_fisher(sg, [0.3, 0.2, 1.0], 2.0)
    a, b = koopman_initial_wave(sg, rho, P0), product_initial_wave(pg, rho, P0)
    assert rel(pg.to_sphere(b.upsilon_lm), a.upsilon_lm) < 1e-14


# ------------------------------------------------------------------ (b) j = 2 uncoupled
def _tensor(c1, c2):
    """Real coefficients (M, 2, N, ncoef1·ncoef2) of Υ1(n1) χ2(n2) from those of Υ1
    (M, 2, N, ncoef1) and χ2 (1, 2, 1, ncoef2): (u1 + iv1)(u2 + iv2)."""
    u1, v1 = c1[:, 0], c1[:, 1]
    u2, v2 = c2[0, 0, 0], c2[0, 1, 0]
    outer = lambda x, y: np.multiply.outer(x, y).reshape(x.shape[:-1] + (-1,))  # noqa: E731
    return np.stack([outer(u1, u2) - outer(v1, v2), outer(u1, v2) + outer(v1, u2)], 1)


def test_uncoupled_spins_factorize_into_the_one_spin_solutions():
    """H = f(n1)·1 + g(n2)·1 + h(n1)·σ, Υ0 = Υ1(n1) χ2(n2): Υ(t) = Υ1(t) χ2(t) with Υ1 the
    one-sphere hybrid KvH solution for f + h·σ (S1) and χ2 the one-sphere KvH solution for g
    (S2), both by the shtns solvers. L separates too: the phase term of g counts once."""
    f = "0.4*nz**2 + 0.3*nx"
    g = "0.5*ny*nz + 0.2*nz"
    pg = ProductGrid([10, 6])
    S, hbar = (1.3, 0.8), 0.7
    value = lambda n1, n2: (0.4 * n1[2] ** 2 + 0.3 * n1[0]  # noqa: E731
                            + 0.5 * n2[1] * n2[2] + 0.2 * n2[2])
    euler = lambda n1, n2: (0.8 * n1[2] ** 2 + 0.3 * n1[0]  # noqa: E731
                            + 1.0 * n2[1] * n2[2] + 0.2 * n2[2])
    PH = ProductHamiltonian([("I", EulerCoefficient(value, euler)),
                             ("X", homogeneous(lambda n1, n2: 0.5 * n1[0], 1)), ("Z", 0.35)],
                            spins=2)
    g1, g2 = SphereGrid(10), SphereGrid(6)
    m1 = make_model("hybrid_kvh", g1, Hamiltonian([("I", f), ("X", "0.5*nx"), ("Z", 0.35)]),
                    hbar=hbar, spin_magnitude=S[0])
    m2 = make_model("kvh", g2, Hamiltonian([("I", g)]).reduced_to_scalar(), hbar=hbar,
                    spin_magnitude=S[1])
    a0 = koopman_initial_wave(g1, von_mises_fisher(g1, [0.3, 0.2, 1.0], 1.5), P0)
    chi = np.sqrt(von_mises_fisher(g2, [1.0, -0.5, 0.2], 1.0)) * np.exp(0.6j * g2.n[0])
    b0 = WaveState(g2.analysis(np.stack([chi.real, chi.imag])[None, :, None]))
    # RK4 of the sum is not the product of the RK4s: the mismatch is the time error of the
    # product run, 1.6e-11 at dt = 0.01 and 9.9e-13 at 0.005 for t = 0.2 (order 4);
    # the one-sphere references take dt/4 (256× smaller)
    dt, steps = 0.005, 20
    a, b = run(m1, a0, dt / 4, 4 * steps), run(m2, b0, dt / 4, 4 * steps)
    convert = [f.from_sphere_coefficients for f in pg.factors]
    s0 = WaveState(_tensor(convert[0](a0.upsilon_lm), convert[1](b0.upsilon_lm)))
    model = ProductHybridKvH(pg, PH, hbar=hbar, spin_magnitude=S)
    s = run(model, s0, dt, steps)
    ref = _tensor(convert[0](a.upsilon_lm), convert[1](b.upsilon_lm))
    assert rel(s.upsilon_lm, ref) < 1e-11
    # ρ̂q is the one-spin ρ̂q times ∫|χ2|²; the norm is the product of the norms
    assert rel(model.quantum_density(s), m1.quantum_density(a) * m2.norm(b)) < 1e-11
    assert abs(model.norm(s) - m1.norm(a) * m2.norm(b)) < 1e-11
    # ρc = Σ_k [ρc1⁽ᵏ⁾(n1)|χ2|²(n2) + ‖Υ1⁽ᵏ⁾‖²(n1)(ρc2 − |χ2|²)(n2)]: each spin's bracket term
    # with its own S_a, the one-spin densities from the j = 1 product path on each factor's
    # nodes (checked against the one-sphere models above)
    f1, f2 = (ProductGrid(f.lmax, nlat=f.nlat) for f in pg.factors)
    one1 = ProductHybridKvH(f1, ProductHamiltonian([("Z", 1.0)], spins=1), hbar=hbar,
                            spin_magnitude=S[0])
    one2 = ProductKvH(f2, ProductHamiltonian([(np.eye(1), 1.0)], spins=1), hbar=hbar,
                      spin_magnitude=S[1])
    a1, b2 = WaveState(convert[0](a.upsilon_lm)), WaveState(convert[1](b.upsilon_lm))
    norm1 = np.sum(np.abs(one1.wave(a1)) ** 2, axis=(0, 1))
    norm2 = np.abs(one2.wave(b2)[0, 0]) ** 2
    rho_c = np.multiply.outer(one1.classical_density(a1), norm2) \
        + np.multiply.outer(norm1, one2.classical_density(b2) - norm2)
    assert rel(model.classical_density(s), rho_c) < 1e-11


# ------------------------------------------------------------------ (c) j = 2 coupled KvN
J, B1 = 0.8, np.array([0.2, 0.0, 0.5])
COUPLED = lambda n1, n2: J * (n1 * n2).sum(0) + np.tensordot(B1, n1, 1)  # noqa: E731


def _coupled(lmax):
    pg = ProductGrid([lmax, lmax])
    PH = ProductHamiltonian([(np.eye(1), COUPLED)], spins=2)
    rho0 = von_mises_fisher_product(pg, [[0.0, 0.6, 0.8], [1.0, 0.2, 0.0]], [1.0, 1.0])
    return pg, PH, rho0


def test_coupled_kvn_density_obeys_the_liouville_equation():
    """|χ(t)|² of KvN (J n1·n2 + b·n1) equals ProductLiouville started from |χ0|²: two
    different discretizations (χ is the transported amplitude, ϱ the transported density).
    Measured max|Δ|/max ϱ at t = 0.5, dt = 0.01: 1.4e-9 (lmax 10), 6.15e-10 (12), 6.18e-10
    (14): resolved at 12; 3.8e-11 at dt = 0.005 (order 4 in dt: the two RK4 time errors)."""
    S, dt, steps = (1.0, 1.5), 0.01, 50
    pg, PH, rho0 = _coupled(12)
    kvn = ProductKvN(pg, PH, spin_magnitude=S)
    chi = run(kvn, product_initial_wave(pg, rho0), dt, steps)
    step = make_integrator("strang", ProductLiouville(pg, PH, spin_magnitude=S))
    state = product_state(pg, rho0)
    for _ in range(steps):
        state = step.step(state, dt)
    rho = pg.synthesis(state.rho_lm)
    density = np.abs(kvn.wave(chi)[0, 0]) ** 2
    assert np.abs(density - rho).max() < 1e-9 * np.abs(rho).max()
    # KvN: no phase was created from a real χ0, so ρc = |χ|² (the bracket term vanishes)
    assert np.abs(kvn.classical_density(chi) - density).max() < 1e-9 * np.abs(rho).max()


@pytest.mark.parametrize("scheme", ["rk4", "strang"])
def test_coupled_kvn_and_kvh_conserve_norm_and_energy_at_the_order_of_the_scheme(scheme):
    """Norm and energy drifts at t = 0.5 for J n1·n2 + b·n1 + ½ n2z² (as written: degree 2):
    bounded, and falling by ≥ 2^order·0.6 when dt halves (or already at round-off)."""
    pg = ProductGrid([8, 8])
    value = lambda n1, n2: COUPLED(n1, n2) + 0.5 * n2[2] ** 2  # noqa: E731
    PH = ProductHamiltonian([(np.eye(1), homogeneous(lambda n1, n2: J * (n1 * n2).sum(0), 2)),
                             (np.eye(1), lambda n1, n2: np.tensordot(B1, n1, 1)),
                             (np.eye(1), homogeneous(lambda n1, n2: 0.5 * n2[2] ** 2, 2))],
                            spins=2)
    rho0 = von_mises_fisher_product(pg, [[0.0, 0.6, 0.8], [1.0, 0.2, 0.0]], [1.0, 1.0])
    phase = np.exp(0.5j * np.broadcast_to(pg.n[0][0] * pg.n[1][2], pg.shape))
    chi0 = product_wave_state(pg, (np.sqrt(rho0) * phase)[None])
    order = 4 if scheme == "rk4" else 2
    for cls in (ProductKvN, ProductKvH):
        model = cls(pg, PH, hbar=0.5, spin_magnitude=(1.0, 1.5))
        assert np.abs(PH.evaluate(pg.n)[0, 0] - value(*pg.n)).max() < 1e-14
        e0, n0 = model.energy(chi0), model.norm(chi0)
        drifts = []
        for dt in (0.05, 0.025):
            s = run(model, chi0, dt, round(0.5 / dt), scheme)
            drifts.append((abs(model.energy(s) - e0), abs(model.norm(s) - n0)))
        for k in range(2):
            assert drifts[0][k] < 1e-5
            assert drifts[1][k] < 1e-13 or drifts[0][k] / drifts[1][k] > 0.6 * 2 ** order


def test_coupled_hybrid_kvh_conserves_norm_energy_and_the_trace_of_rho_q():
    """Hybrid KvH, J n1·n2·1 + ½ n1·σ + 0.35σz (a qubit on spin 1), mixed ρ0 (two members):
    Tr ρ̂q = norm = ∫ρc dμ at all times (∫{f, g}_a dA_a = 0); norm and energy drifts fall as
    RK4's dt⁵ (measured at t = 0.5, dt = 0.05 → 0.025: energy 6.2e-9 → 1.9e-10, norm
    6.8e-8 → 2.1e-9)."""
    pg = ProductGrid([6, 6])
    PH = ProductHamiltonian([("I", homogeneous(lambda n1, n2: J * (n1 * n2).sum(0), 2)),
                             ("X", homogeneous(lambda n1, n2: 0.5 * n1[0], 1)),
                             ("Y", homogeneous(lambda n1, n2: 0.5 * n1[1], 1)),
                             ("Z", homogeneous(lambda n1, n2: 0.5 * n1[2], 1)), ("Z", 0.35)],
                            spins=2)
    rho0 = von_mises_fisher_product(pg, [[0.0, 0.6, 0.8], [1.0, 0.2, 0.0]], [1.0, 1.0])
    model = ProductHybridKvH(pg, PH, hbar=0.5, spin_magnitude=(1.0, 1.5))
    s0 = product_initial_wave(pg, rho0, P0)
    assert s0.members == 2
    assert rel(model.quantum_density(s0), P0) < 1e-13  # measured 8.7e-16
    e0, n0 = model.energy(s0), model.norm(s0)
    drifts = []
    for dt in (0.05, 0.025):
        s = run(model, s0, dt, round(0.5 / dt))
        d = model.diagnostics(s, ["mass", "norm", "rho_q_real", "min_eig_rho_q"])
        rq = model.quantum_density(s)
        assert abs(np.trace(rq).real - d["norm"]) < 1e-14
        assert abs(d["mass"] - d["norm"]) < 1e-13
        assert np.abs(rq - rq.conj().T).max() < 1e-15 and d["min_eig_rho_q"] > 0.1
        drifts.append((abs(model.energy(s) - e0), abs(d["norm"] - n0)))
    for k in range(2):
        assert drifts[0][k] < 1e-6
        assert drifts[1][k] < 1e-13 or drifts[0][k] / drifts[1][k] > 0.6 * 2 ** 4


# ------------------------------------------------------------------ small pieces
def test_kvn_and_kvh_need_a_scalar_hamiltonian_and_positive_spins():
    pg = ProductGrid([4, 4])
    PH = ProductHamiltonian([("Z", COUPLED)], spins=2)
    with pytest.raises(ConfigError, match="ProductHybridKvH"):
        ProductKvN(pg, PH)
    with pytest.raises(ConfigError, match="spin_magnitude"):
        ProductHybridKvH(pg, PH, spin_magnitude=[1.0, -1.0])
    with pytest.raises(ConfigError, match="one per spin"):
        ProductHybridKvH(pg, PH, spin_magnitude=[1.0, 1.0, 1.0])


def test_spectral_tail_counts_the_top_degrees_of_every_factor():
    pg = ProductGrid([10, 5])
    c = np.zeros(pg.ncoef)
    c[0] = 3.0                                   # constant
    c[np.flatnonzero((pg.degrees(0) == 10) & (pg.degrees(1) == 0))[0]] = 1.0   # l1 = 10
    c[np.flatnonzero((pg.degrees(0) == 0) & (pg.degrees(1) == 5))[0]] = 2.0    # l2 = 5
    assert product_tail_fraction(pg, c) == pytest.approx(4.0 / 14.0, rel=1e-15)
    c[np.flatnonzero((pg.degrees(0) == 9) & (pg.degrees(1) == 4))[0]] = 5.0    # neither top
    assert product_tail_fraction(pg, c) == pytest.approx(4.0 / 39.0, rel=1e-15)


def test_n_mean_has_a_spin_axis_for_two_spins():
    pg = ProductGrid([12, 12])
    PH = ProductHamiltonian([(np.eye(1), COUPLED)], spins=2)
    c, kappa = [[0.0, 0.6, 0.8], [1.0, 0.2, 0.0]], [1.0, 0.5]
    s = product_initial_wave(pg, von_mises_fisher_product(pg, c, kappa))
    d = ProductKvN(pg, PH).diagnostics(s, ["n_mean", "mass"])
    # vMF mean: (coth κ − 1/κ) ĉ per spin
    ref = [(1 / np.tanh(k) - 1 / k) * np.asarray(x) / np.linalg.norm(x) for x, k in zip(c, kappa)]
    assert d["n_mean"].shape == (2, 3)
    assert np.abs(d["n_mean"] - np.array(ref)).max() < 1e-10
    assert abs(d["mass"] - 1.0) < 1e-10


def test_initial_state_from_a_config_of_vmf_factors():
    """Υ0 of a config with one (center, kappa) per spin: ‖Υ0‖² is the vMF product (analytic,
    each factor normalized), ρ̂q(0) = ρ0; other initial tables are refused by name."""
    pg = ProductGrid([12, 12])
    PH = ProductHamiltonian([("Z", COUPLED)], spins=2)
    c, kappa = [[0.0, 0.6, 0.8], [1.0, 0.2, 0.0]], [1.0, 0.5]
    factors = [NS(kind="von_mises_fisher", center=x, kappa=k) for x, k in zip(c, kappa)]
    config = NS(initial=NS(classical=NS(kind="product", factors=factors),
                           quantum=NS(density=P0)))
    model = ProductHybridKvH(pg, PH)
    s = model.initial_state(config)
    rho = 1.0
    for n, x, k in zip(pg.n, c, kappa):
        x = np.asarray(x) / np.linalg.norm(x)
        rho = rho * k / (2 * np.pi * (1 - np.exp(-2 * k))) * np.exp(k * (np.tensordot(x, n, 1) - 1))
    assert np.abs(np.sum(np.abs(model.wave(s)) ** 2, axis=(0, 1)) - rho).max() < 1e-12
    assert rel(model.quantum_density(s), P0) < 1e-12
    config.initial.classical = NS(kind="mixture", components=[])
    with pytest.raises(ConfigError, match="initial.classical"):
        model.initial_state(config)
