"""Liouville and Ehrenfest on (S²)^j (issue 17): one spin through the product path is the
one-spin solver; two uncoupled spins factorize; rigid rotations of both spins move the vMF
product rigidly; a coupled pair matches its characteristics; the energy drift falls at the
order of the scheme."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.spatial.transform import Rotation

from spectral_qc import SphereGrid
from spectral_qc.hamiltonians import Hamiltonian
from spectral_qc.integrators import make_integrator
from spectral_qc.models.classical import Ehrenfest, Liouville
from spectral_qc.models.product import (ProductEhrenfest, ProductLiouville, product_state,
                                        von_mises_fisher_product)
from spectral_qc.product_hamiltonians import ProductHamiltonian
from spectral_qc.sphere.product import ProductGrid
from spectral_qc.states import state_from_grid, von_mises_fisher

P0 = np.array([[0.7, 0.2 + 0.1j], [0.2 - 0.1j, 0.3]])


def run(model, state, dt, steps, scheme="strang"):
    step = make_integrator(scheme, model)
    for _ in range(steps):
        state = step.step(state, dt)
    return state


def relative(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


# ------------------------------------------------------------------ j = 1
ONE_SPIN = {
    2: ([("I", "0.5*nz**2 + 0.3*nx"), ("X", "0.5*nx"), ("Z", 0.35), ("Y", "0.2*ny*nz")],
        [("I", lambda n: 0.5 * n[2] ** 2 + 0.3 * n[0]), ("X", lambda n: 0.5 * n[0]),
         ("Z", 0.35), ("Y", lambda n: 0.2 * n[1] * n[2])]),
    4: ([("II", "0.4*ny"), ("XI", "0.5*nx"), ("ZZ", 0.3), ("IY", "0.4*nz")],
        [("II", lambda n: 0.4 * n[1]), ("XI", lambda n: 0.5 * n[0]), ("ZZ", 0.3),
         ("IY", lambda n: 0.4 * n[2])]),
}


@pytest.mark.parametrize("N", [1, 2, 4])
def test_one_spin_through_the_product_path_is_the_one_spin_solver(N):
    sg = SphereGrid(13)
    pg = ProductGrid(13, nlat=sg.nlat)
    rho = von_mises_fisher(sg, [0.3, 0.2, 1.0], 2.0)
    if N == 1:
        terms, pterms = ONE_SPIN[2][0][:1], ONE_SPIN[2][1][:1]
        H = Hamiltonian(terms).reduced_to_scalar()
        PH = ProductHamiltonian([(np.eye(1), pterms[0][1])], spins=1)
        m1, m2, density = Liouville, ProductLiouville, np.eye(1)
    else:
        H, PH = Hamiltonian(ONE_SPIN[N][0]), ProductHamiltonian(ONE_SPIN[N][1], spins=1)
        m1, m2 = Ehrenfest, ProductEhrenfest
        density = P0 if N == 2 else np.kron(P0, np.diag([0.6, 0.4]))
    P = np.broadcast_to(density[:, :, None, None], density.shape + sg.shape)
    kw = dict(hbar=0.7, spin_magnitude=1.3)
    s1 = run(m1(sg, H, **kw), state_from_grid(sg, rho, P), 0.01, 10)
    s2 = run(m2(pg, PH, **kw), product_state(pg, rho, density), 0.01, 10)
    assert relative(pg.to_sphere(s2.rho_lm), s1.rho_lm) < 1e-13
    assert relative(pg.to_sphere(s2.p_lm), s1.p_lm) < 1e-13


# ------------------------------------------------------------------ j = 2
def test_uncoupled_spins_factorize_into_the_one_spin_solutions():
    """H = f(n1)·1 + g(n2)·1 + h(n1)·σ: ϱ = ϱ1 ⊗ ϱ2 with ϱ1 the Ehrenfest solution for
    f + h·σ on sphere 1 and ϱ2 the Liouville solution for g on sphere 2 (shtns solvers)."""
    f = "0.4*nz**2 + 0.3*nx"
    g = "0.5*ny*nz + 0.2*nz"
    pg = ProductGrid([10, 6])
    PH = ProductHamiltonian([("I", lambda n1, n2: 0.4 * n1[2] ** 2 + 0.3 * n1[0]
                              + 0.5 * n2[1] * n2[2] + 0.2 * n2[2]),
                             ("X", lambda n1, n2: 0.5 * n1[0]), ("Z", 0.35)], spins=2)
    c1, c2, k1, k2 = [0.3, 0.2, 1.0], [1.0, -0.5, 0.2], 1.5, 1.0
    dt, steps, S = 0.01, 20, (1.3, 0.8)
    s = run(ProductEhrenfest(pg, PH, hbar=0.7, spin_magnitude=S),
            product_state(pg, von_mises_fisher_product(pg, [c1, c2], [k1, k2]), P0), dt, steps)
    g1, g2 = SphereGrid(10), SphereGrid(6)
    P = np.broadcast_to(P0[:, :, None, None], (2, 2) + g1.shape)
    e = run(Ehrenfest(g1, Hamiltonian([("I", f), ("X", "0.5*nx"), ("Z", 0.35)]), hbar=0.7,
                      spin_magnitude=S[0]),
            state_from_grid(g1, von_mises_fisher(g1, c1, k1), P), dt, steps)
    lv = run(Liouville(g2, Hamiltonian([("I", g)]).reduced_to_scalar(), spin_magnitude=S[1]),
             state_from_grid(g2, von_mises_fisher(g2, c2, k2), np.ones((1, 1) + g2.shape)),
             dt, steps)
    a, b = pg.factors[0].from_sphere_coefficients(e.rho_lm), \
        pg.factors[1].from_sphere_coefficients(lv.rho_lm)
    ref = np.multiply.outer(a, b).ravel()
    assert relative(s.rho_lm, ref) < 1e-11
    # P depends on n1 only and is the one-spin P: p(n1, n2) = p1(n1) ⊗ constant
    p1 = pg.factors[0].from_sphere_coefficients(e.p_lm)
    ref_p = np.multiply.outer(p1, np.eye(1, pg.factors[1].ncoef)[0] * np.sqrt(4 * np.pi))
    assert relative(s.p_lm, ref_p.reshape(4, -1)) < 1e-11


def _rotate(b, s, t, v):
    """v turned by dn/dt = (1/S) b × n over t: angle |b| t / S about b (right-handed)."""
    return Rotation.from_rotvec(np.asarray(b) * t / s).apply(v)


def test_rigid_rotations_of_both_spins_move_the_vmf_product_rigidly():
    b1, b2, S = np.array([0.3, -0.4, 0.8]), np.array([-0.6, 0.2, 0.3]), (1.2, 0.7)
    pg = ProductGrid([10, 12])
    PH = ProductHamiltonian([(np.eye(1), lambda n1, n2: np.tensordot(b1, n1, 1)
                              + np.tensordot(b2, n2, 1))], spins=2)
    c1, c2, k = [0.0, 0.6, 0.8], [1.0, 0.0, 0.0], [1.0, 1.2]
    dt, steps = 0.01, 50
    s = run(ProductLiouville(pg, PH, spin_magnitude=S),
            product_state(pg, von_mises_fisher_product(pg, [c1, c2], k)), dt, steps)
    t = dt * steps
    ref = von_mises_fisher_product(pg, [_rotate(b1, S[0], t, c1), _rotate(b2, S[1], t, c2)], k)
    assert np.abs(pg.synthesis(s.rho_lm) - ref).max() < 1e-10


def _pair_rhs(S, J, b1):
    """dn_a/dt = (1/S_a) ∂_{n_a}H × n_a for H = J n1·n2 + b1·n1 + ½ n2z² (ambient gradients)."""
    def rhs(_, y):
        n1, n2 = y.reshape(2, 3, -1)
        g1 = J * n2 + b1[:, None]
        g2 = J * n1 + np.array([0, 0, 1.0])[:, None] * n2[2]
        return np.concatenate([np.cross(g1, n1, axis=0) / S[0],
                               np.cross(g2, n2, axis=0) / S[1]]).ravel()
    return rhs


def test_coupled_pair_matches_its_characteristics():
    """ϱ(x, t) = ϱ0(Φ_{−t} x): trajectories integrated backwards (DOP853) from grid points."""
    S, J, b1 = (1.0, 1.5), 0.8, np.array([0.2, 0.0, 0.5])
    pg = ProductGrid([11, 11])
    PH = ProductHamiltonian([(np.eye(1), lambda n1, n2: J * (n1 * n2).sum(0) + np.tensordot(b1, n1, 1)
                              + 0.5 * n2[2] ** 2)], spins=2)
    c = [[0.0, 0.6, 0.8], [1.0, 0.2, 0.0]]
    k = [1.0, 1.0]
    dt, steps = 0.01, 50
    s = run(ProductLiouville(pg, PH, spin_magnitude=S),
            product_state(pg, von_mises_fisher_product(pg, c, k)), dt, steps)
    rho = pg.synthesis(s.rho_lm)
    rng = np.random.default_rng(7)
    idx = [rng.integers(0, n, 40) for n in pg.shape]
    n1 = np.stack([x[idx[0], idx[1], 0, 0] for x in np.broadcast_arrays(*pg.n[0], rho)[:3]])
    n2 = np.stack([x[0, 0, idx[2], idx[3]] for x in np.broadcast_arrays(*pg.n[1], rho)[:3]])
    sol = solve_ivp(_pair_rhs(S, J, b1), (dt * steps, 0.0), np.concatenate([n1, n2]).ravel(),
                    method="DOP853", rtol=1e-13, atol=1e-14)
    m1, m2 = sol.y[:, -1].reshape(2, 3, -1)
    ref = 1.0
    for m, cc, kk in zip((m1, m2), c, k):
        cc = np.asarray(cc) / np.linalg.norm(cc)
        ref = ref * kk / (2 * np.pi * (1 - np.exp(-2 * kk))) * np.exp(kk * (cc @ m - 1))
    assert np.abs(rho[tuple(idx)] - ref).max() < 1e-9


def _coupled_ehrenfest():
    pg = ProductGrid([6, 7])
    PH = ProductHamiltonian([("I", lambda n1, n2: 0.8 * (n1 * n2).sum(0) + 0.3 * n2[2]),
                             ("X", lambda n1, n2: 0.6 * n1[0]), ("Z", lambda n1, n2: 0.4 * n1[2]),
                             ("Y", 0.3)], spins=2)
    model = ProductEhrenfest(pg, PH, hbar=0.5, spin_magnitude=(1.0, 1.4))
    s0 = product_state(pg, von_mises_fisher_product(pg, [[0, 0.6, 0.8], [1, 0.2, 0]], [1.0, 1.0]),
                       P0)
    return model, s0


def test_coupled_ehrenfest_energy_drift_falls_at_the_order_of_rk4():
    """Bilinear n1·n2 coupling and a qubit on spin 1. Both sub-flows conserve
    h = ∫ϱ Tr(PH) exactly (the rotation pointwise, the transport because X ⊥ Tr(P∇H)), so
    the drift is that of the RK4 transport: ∝ dt⁴ (and faster) for either splitting."""
    model, s0 = _coupled_ehrenfest()
    e0 = model.energy(s0)
    for scheme in ("strang", "yoshida4"):
        drift = [abs(model.energy(run(model, s0, 0.5 / n, n, scheme)) - e0) for n in (2, 4)]
        order = np.log2(drift[0] / drift[1])
        assert 3.7 < order < 6.5, (scheme, drift, order)
    assert abs(model.mass(run(model, s0, 0.1, 2)) - 1) < 1e-13


def test_coupled_ehrenfest_state_converges_at_second_order_with_strang():
    """Strang's error in ϱ and P at t = 0.5 against the independent characteristics (DOP853;
    ϱ(n(t)) = ϱ0(n0)/J with J the flow-map determinant by central differences, P = (1 + b·σ)/2
    along them) at 12 random starting pairs falls by 2² per halving of dt. Measured at lmax
    10 × 11: ϱ 2.2e-3 / 5.5e-4 / 1.4e-4 and P 2.7e-3 / 6.6e-4 / 1.7e-4 for 2 / 4 / 8 steps,
    above the truncation floor (yoshida4 with 16 steps: 1.9e-7 and 2.1e-8). Unlike a
    self-convergence test, a consistent scheme for a wrong equation fails it."""
    from spectral_qc import hermitian as hm
    from validation.studies.product_characteristics import flow_jacobian

    centers, kappas = [[0, 0.6, 0.8], [1, 0.2, 0]], [1.0, 1.0]
    pg = ProductGrid([10, 11])
    model = ProductEhrenfest(pg, _coupled_ehrenfest()[0].hamiltonian, hbar=0.5,
                             spin_magnitude=(1.0, 1.4))
    s0 = product_state(pg, von_mises_fisher_product(pg, centers, kappas), P0)
    rng = np.random.default_rng(2)
    n1, n2 = (x / np.linalg.norm(x, axis=0) for x in rng.normal(size=(2, 3, 12)))
    jac, _ = flow_jacobian(n1, n2, [0.5])
    rho0 = 1.0
    for n, c, k in zip((n1, n2), centers, kappas):  # the vMF product at the starting points
        c = np.asarray(c) / np.linalg.norm(c)
        rho0 = rho0 * k / (2 * np.pi * (1 - np.exp(-2 * k))) * np.exp(k * (c @ n - 1))
    rho_ref = rho0 / jac[0]
    b0 = np.array([2 * P0[0, 1].real, -2 * P0[0, 1].imag, (P0[0, 0] - P0[1, 1]).real])
    m1, m2, b = _ehrenfest_trajectories(n1, n2, np.repeat(b0[:, None], 12, 1), 0.5)
    sigma = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])
    p_ref = hm.to_components(0.5 * (np.eye(2)[:, :, None] + np.einsum("kp,kij->ijp", b, sigma)))
    points = [(np.arccos(m[2]), np.arctan2(m[1], m[0]) % (2 * np.pi)) for m in (m1, m2)]
    errors = {"rho_lm": [], "p_lm": []}
    for n in (2, 4, 8):
        s = run(model, s0, 0.5 / n, n)
        errors["rho_lm"].append(np.abs(pg.evaluate(s.rho_lm, points) - rho_ref).max()
                                / np.abs(rho_ref).max())
        errors["p_lm"].append(np.abs(np.stack([pg.evaluate(s.p_lm[c], points)
                                               for c in range(4)]) - p_ref).max())
    for attr, e in errors.items():
        for d in (e[:2], e[1:]):
            assert 1.7 < np.log2(d[0] / d[1]) < 2.3, (attr, e)
        assert e[-1] < 3e-4, (attr, e)


def _ehrenfest_trajectories(n1, n2, b, t, S=(1.0, 1.4), hbar=0.5):
    """The characteristics of :func:`_coupled_ehrenfest` (solver-free, DOP853; the
    right-hand side is the two-spin study's, validation/studies/product_characteristics.py)."""
    from validation.studies.product_characteristics import characteristics_rhs

    k = n1.shape[1]
    y0 = np.concatenate([n1, n2, b]).ravel()
    sol = solve_ivp(characteristics_rhs(k, S, hbar), (0, t), y0, method="DOP853",
                    rtol=1e-12, atol=1e-13)
    return sol.y[:, -1].reshape(3, 3, k)


def test_coupled_ehrenfest_p_is_carried_along_its_trajectories():
    """P(n1(t), n2(t), t) = (1 + b(t)·σ)/2 along the independent characteristics, at 20
    random starting pairs (yoshida4, lmax 10 × 11, t = 0.5: measured 4.9e-8; the error is
    the truncation, 4.1e-7 at 8 × 9)."""
    from spectral_qc import hermitian as hm

    pg = ProductGrid([10, 11])
    model, _ = _coupled_ehrenfest()
    model = ProductEhrenfest(pg, model.hamiltonian, hbar=0.5, spin_magnitude=(1.0, 1.4))
    s0 = product_state(pg, von_mises_fisher_product(pg, [[0, 0.6, 0.8], [1, 0.2, 0]], [1.0, 1.0]),
                       P0)
    s = run(model, s0, 0.5 / 16, 16, "yoshida4")
    rng = np.random.default_rng(1)
    n1, n2 = (x / np.linalg.norm(x, axis=0) for x in rng.normal(size=(2, 3, 20)))
    b0 = np.array([2 * P0[0, 1].real, -2 * P0[0, 1].imag, (P0[0, 0] - P0[1, 1]).real])
    m1, m2, b = _ehrenfest_trajectories(n1, n2, np.repeat(b0[:, None], 20, 1), 0.5)
    sigma = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])
    expected = hm.to_components(0.5 * (np.eye(2)[:, :, None]
                                       + np.einsum("kp,kij->ijp", b, sigma)))
    points = [(np.arccos(m[2]), np.arctan2(m[1], m[0]) % (2 * np.pi)) for m in (m1, m2)]
    got = np.stack([pg.evaluate(s.p_lm[c], points) for c in range(4)])
    assert np.abs(got - expected).max() < 5e-7


def test_the_usage_example_runs_as_written():
    """docs/usage.md, "Several classical spins": the example runs and keeps mass and energy."""
    import contextlib
    import io
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "usage.md").read_text("utf-8")
    section = text[text.index("## Several classical spins"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "usage.md", "exec"), {})
    mass, drift = map(float, out.getvalue().split())
    assert abs(mass - 1) < 1e-13 and abs(drift) < 1e-8


def test_cfl_timestep_adds_the_spins_advection_rates():
    """Rigid rotations: max|X_a| = |b_a|/S_a (at the equator of b_a), so
    dt = safety·2√2 / Σ_a (lmax_a + 1)|b_a|/S_a; one sphere: (lmax + 1)|b|/S."""
    from spectral_qc.integrators import cfl_timestep

    b1, b2, S = np.array([0.3, -0.4, 0.8]), np.array([-0.6, 0.2, 0.3]), (1.2, 0.7)
    pg = ProductGrid([10, 12])
    PH = ProductHamiltonian([(np.eye(1), lambda n1, n2: np.tensordot(b1, n1, 1)
                              + np.tensordot(b2, n2, 1))], spins=2)
    model = ProductLiouville(pg, PH, spin_magnitude=S)
    state = product_state(pg, von_mises_fisher_product(pg, [[0, 0, 1], [1, 0, 0]], [1.0, 1.0]))
    rate = 11 * np.linalg.norm(b1) / S[0] + 13 * np.linalg.norm(b2) / S[1]
    # the grid maximum of |X_a| is below |b_a|/S_a by at most the nodes' distance from the
    # great circle ⟂ b_a (a few 1e-3 relative at these sizes)
    assert cfl_timestep(model, state) == pytest.approx(0.5 * 2 * np.sqrt(2) / rate, rel=2e-2)
    g = SphereGrid(31)
    ham = Hamiltonian.from_config([{"op": "I", "coef": "0.3*nx - 0.4*ny + 0.8*nz"}])
    ham = ham.reduced_to_scalar()
    one = Liouville(g, ham, spin_magnitude=S[0])
    st = state_from_grid(g, von_mises_fisher(g, [0, 0, 1], 1.0), np.ones((1, 1) + g.shape))
    assert cfl_timestep(one, st) == pytest.approx(
        0.5 * 2 * np.sqrt(2) / (32 * np.linalg.norm(b1) / S[0]), rel=2e-2)
