"""The flow Jacobian J (q = ln J) and the crossing diagnostic on (S²)^j (issue 17, item 2):
q transport against the analytic gradient flow on both spheres and against the flow-map
determinant of the independent two-spin Ehrenfest trajectories; Liouville keeps J = 1; the
place of min J, the crossing message and every failure rule on a product grid."""

import numpy as np
import pytest

from spectral_qc import characteristics as ch
from spectral_qc.models.product import ProductLiouville, product_state, von_mises_fisher_product
from spectral_qc.product_hamiltonians import ProductHamiltonian
from spectral_qc.sphere.product import ProductGrid
from spectral_qc.states import State
from validation.studies import product_characteristics as pc


def _gradient_flow_jacobian(theta, c, t):
    """Area ratio of X = −c sinθ θ̂ (= c∇nz) at time t: with u = tan(θ/2),
    J = e^{−2ct} ((1 + u² e^{2ct}) / (1 + u²))² (Eulerian, at the end point θ)."""
    u2 = np.tan(theta / 2) ** 2
    return np.exp(-2 * c * t) * ((1 + u2 * np.exp(2 * c * t)) / (1 + u2)) ** 2


def test_log_jacobian_on_two_spheres_is_the_product_of_the_analytic_gradient_flows():
    """X_a = −c_a sinθ_a θ̂_a on each sphere (frozen, RK4 on ch.log_jacobian_tendency):
    the flow is a product of two one-sphere flows, so J = J_1(θ1) J_2(θ2) exactly."""
    g = ProductGrid([12, 10])
    c, t_end, nsteps = (0.4, -0.3), 0.5, 25
    th1, th2 = (np.broadcast_to(g.n[a][2], g.shape) for a in range(2))  # cos θ_a
    x = np.zeros((4,) + g.shape)
    x[0] = -c[0] * np.sqrt(1 - th1 ** 2)
    x[2] = -c[1] * np.sqrt(1 - th2 ** 2)
    q = ch.initial_log_jacobian(g)
    assert q.shape == (g.ncoef,) and not np.iscomplexobj(q)
    h = t_end / nsteps
    for _ in range(nsteps):
        k1 = ch.log_jacobian_tendency(g, x, q)
        k2 = ch.log_jacobian_tendency(g, x, q + h / 2 * k1)
        k3 = ch.log_jacobian_tendency(g, x, q + h / 2 * k2)
        k4 = ch.log_jacobian_tendency(g, x, q + h * k3)
        q = q + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    exact = (_gradient_flow_jacobian(np.arccos(th1), c[0], t_end)
             * _gradient_flow_jacobian(np.arccos(th2), c[1], t_end))
    assert np.max(np.abs(ch.jacobian_field(g, q) / exact - 1)) < 1e-4
    j_min, j_max = ch.jacobian_extremes(g, q)
    assert j_min == pytest.approx(exact.min(), rel=1e-4)
    assert j_max == pytest.approx(exact.max(), rel=1e-4)
    # the minimum is at the node nearest the north pole of sphere 1 and the south pole of 2
    value, theta, phi = ch.jacobian_minimum(g, q)
    assert value == j_min and len(theta) == len(phi) == 2
    assert theta[0] == g.factors[0].theta.min() and theta[1] == g.factors[1].theta.max()


def test_two_spin_liouville_keeps_unit_jacobian():
    """X = X_H is divergence free on (S²)² (bilinear coupling, two spins): q stays 0."""
    from spectral_qc.integrators import make_integrator

    g = ProductGrid([9, 8])
    H = ProductHamiltonian([(np.eye(1), lambda n1, n2: 0.8 * (n1 * n2).sum(0) + 0.3 * n1[0]
                             + 0.5 * n2[2] ** 2)], spins=2)
    model = ProductLiouville(g, H, spin_magnitude=(1.0, 1.5))
    s = product_state(g, von_mises_fisher_product(g, [[0, 0.6, 0.8], [1, 0.2, 0]], [1.0, 1.0]))
    s = State(s.rho_lm, s.p_lm, ch.initial_log_jacobian(g))
    step = make_integrator("strang", model)
    for _ in range(20):
        s = step.step(s, 0.05)
    assert np.abs(g.synthesis(s.q_lm)).max() < 1e-12
    assert max(abs(v - 1) for v in ch.jacobian_extremes(g, s.q_lm)) < 1e-12


def _solver_against_flow_map(lmax, t_end=1.25):
    """Max relative difference of the solver's J (make_integrator steps, q_lm from
    initial_log_jacobian) and the independent flow-map determinant, at 10 pairs: the 5
    smallest J of 400 random starting pairs and 5 random others (their end points)."""
    rng = np.random.default_rng(11)
    n1, n2 = (x / np.linalg.norm(x, axis=0) for x in rng.normal(size=(2, 3, 400)))
    jac, ends = pc.flow_jacobian(n1, n2, [t_end])
    pick = np.concatenate([np.argsort(jac[0])[:5], np.arange(5)])
    run = pc.solver_run(list(lmax), 0.05, t_end)
    g = run["grid"]
    got = np.exp(g.evaluate(run["state"].q_lm, [pc.angles(ends[0, a][:, pick]) for a in range(2)]))
    return np.abs(got / jac[0, pick] - 1).max(), jac[0, pick].min(), run["min_j"][-1]


def test_two_spin_ehrenfest_jacobian_matches_the_flow_map_determinant():
    """Coupled pair (n1·n2 coupling, a qubit on spin 1) at t = 1.25, where min J ≈ 0.5: the
    solver's J = exp(q) at the flow's end points against det D(flow map) in tangent
    coordinates (DOP853 + central differences, validation.studies.product_characteristics).
    Measured 4.4e-2 / 1.8e-2 / 7.8e-3 / 3.5e-3 at lmax 6 × 7 / 8 × 9 / 10 × 11 / 12 × 13, the
    largest at the smallest J (at 5 random pairs alone 1.3e-2 / 3.8e-3 / 7e-4); dt 0.025 or
    yoshida4 change it by < 2e-5 at 8 × 9: the error is the spectral truncation."""
    coarse, _, _ = _solver_against_flow_map((6, 7))
    fine, ref_min, solver_min = _solver_against_flow_map((8, 9))
    assert ref_min < 0.55 and solver_min < 0.55  # J is far from 1: the check has teeth
    assert fine < 2.5e-2
    assert coarse > 1.8 * fine  # and the difference falls with lmax (spectral truncation)


# ----------------------------------------------------------------- the stop messages
def _bump(grid, centres, depth, width=5.0):
    """q = ln J with J = 1 − depth·exp(w(n1·c1 − 1) + w(n2·c2 − 1)): a dip at (c1, c2)."""
    arg = 0.0
    for n, c in zip(grid.n, centres):
        c = np.asarray(c, float) / np.linalg.norm(c)
        arg = arg + width * (np.tensordot(c, n, axes=(0, 0)) - 1)
    return grid.analysis(np.log(1 - depth * np.exp(np.broadcast_to(arg, grid.shape))))


CENTRES = [(0.0, np.sin(1.0), np.cos(1.0)), (np.sin(2.0), 0.0, np.cos(2.0))]  # (1, π/2), (2, 0)


def _parse_places(text):
    """[(θ1, φ1), (θ2, φ2)] from "(θ1, φ1) = (a, b), (θ2, φ2) = (c, d)"."""
    out = []
    for a in (1, 2):
        pair = text.split(f"(θ{a}, φ{a}) = (")[1].split(")")[0]
        out.append(tuple(float(x) for x in pair.split(",")))
    return out


def _near_centres(places, grid):
    spacing = [np.pi / f.nlat + 2 * np.pi / f.nphi for f in grid.factors]
    expected = [(1.0, np.pi / 2), (2.0, 0.0)]
    for (t, p), (te, pe), tol in zip(places, expected, spacing):
        dp = (p - pe + np.pi) % (2 * np.pi) - np.pi
        assert abs(t - te) < tol and abs(dp) < tol, (places, expected)


def test_jacobian_minimum_and_crossing_message_name_one_place_per_spin():
    g = ProductGrid([15, 13])
    q = _bump(g, CENTRES, 0.99)
    value, theta, phi = ch.jacobian_minimum(g, q)
    assert value == pytest.approx(ch.jacobian_extremes(g, q)[0], rel=1e-14) and value < 0.05
    _near_centres(list(zip(theta, phi)), g)
    msg = ch.crossing_message(1.5, value, theta, phi, lmax=g.lmax, previous=(1.4, 0.1))
    _near_centres(_parse_places(msg), g)
    assert "at lmax = [15, 13]" in msg and "n1 = (" in msg and "n2 = (" in msg
    n2 = [float(x) for x in msg.split("n2 = (")[1].split(")")[0].split(",")]
    assert np.allclose(n2, [np.sin(theta[1]) * np.cos(phi[1]), np.sin(theta[1]) * np.sin(phi[1]),
                            np.cos(theta[1])], atol=1e-3)
    assert "J reaches 0 at t ≈" in msg
    # the measured effect of lmax is the two-spin one (the one-spin sentence is not true here)
    assert ch.PRODUCT_CROSSING_RESOLUTION in msg and ch.CROSSING_RESOLUTION not in msg


def test_one_sphere_product_grid_reports_one_place_as_floats():
    g = ProductGrid(15)
    value, theta, phi = ch.jacobian_minimum(g, _bump(g, CENTRES[:1], 0.9))
    assert isinstance(theta, float) and isinstance(phi, float)
    msg = ch.crossing_message(1.0, value, theta, phi, lmax=g.lmax)
    assert "θ = " in msg and "lmax = [15]" in msg and ch.CROSSING_RESOLUTION in msg


def _state(grid, q, tail_spin=None):
    """A state with ϱ = vMF product; ``tail_spin``: add a mode at that spin's lmax."""
    rho = grid.analysis(von_mises_fisher_product(grid, [(0, 0, 1), (1, 0, 0)], [1.0, 1.0]))
    if tail_spin is not None:
        l_top = grid.degrees(tail_spin) == grid.lmax[tail_spin]
        other = grid.degrees(1 - tail_spin) == 0
        rho[np.nonzero(l_top & other)[0][0]] = 0.05
    return State(rho, np.zeros((4, grid.ncoef)), q)


@pytest.mark.parametrize("spin", [0, 1])
def test_refusal_at_t0_names_the_lmax_entry_of_the_spin_with_the_tail(spin):
    g = ProductGrid([9, 11])
    cause, crossing = ch.failure_cause(g, _state(g, None, spin), iteration=0)
    assert crossing is None and "not representable" in cause
    assert "[grid] lmax = [9, 11], first entry " + str(spin + 1) in cause
    assert "kappa of [initial.classical] factors" in cause
    tails = ch.factor_tails(g, _state(g, None, spin))
    assert tails[spin] > 100 * tails[1 - spin]


def test_factor_tails_are_the_spectral_tail_of_each_spin():
    """A mode at l_a = lmax_a carries a known share of Σc²; the cut is the diagnostics' one."""
    from spectral_qc.diagnostics import TAIL_FRACTION

    assert ch.FACTOR_TAIL_FRACTION == TAIL_FRACTION
    g = ProductGrid([9, 11])
    rho = np.zeros(g.ncoef)
    rho[0] = 1.0
    l1, l2 = g.degrees(0), g.degrees(1)
    rho[np.nonzero((l1 == 9) & (l2 == 0))[0][0]] = 0.5  # spin 1's top degree
    rho[np.nonzero((l1 == 8) & (l2 == 3))[0][0]] = 0.5  # below spin 1's cut (l1 > 8), spin 2 low
    tails = ch.factor_tails(g, State(rho, np.zeros((4, g.ncoef))))
    assert tails == pytest.approx((0.25 / 1.5, 0.0), abs=1e-15)


@pytest.mark.parametrize("spin", [0, 1])
def test_under_resolution_names_the_per_spin_lmax_key(spin):
    g = ProductGrid([9, 11])
    state = _state(g, ch.initial_log_jacobian(g), spin)
    cause, crossing = ch.failure_cause(g, state, iteration=5, time=2.0, previous=(1.9, 1.0))
    assert crossing is None and cause.startswith("under-resolution")
    assert "lmax = [9, 11] grid scale while the flow is smooth (min J = 1)" in cause
    assert f"raise [grid] lmax = [9, 11], first entry {spin + 1} (spin {spin + 1}" in cause
    assert "[solver] spectral_filter = true" in cause  # the filter works on products too
    untracked, _ = ch.failure_cause(g, _state(g, None, spin), iteration=5)
    assert untracked.startswith("under-resolution") and f"first entry {spin + 1}" in untracked


def test_breakdown_and_crossing_causes_name_one_place_per_spin():
    g = ProductGrid([15, 13])
    low = _state(g, _bump(g, CENTRES, 0.9))
    j_low = ch.jacobian_minimum(g, low.q_lm)[0]
    assert j_low < ch.JACOBIAN_CONVERGED
    cause, crossing = ch.failure_cause(g, low, iteration=5, time=2.0, previous=(1.9, j_low + 0.05))
    assert cause.startswith("characteristics cross") and f"t ≈ {2.0 + j_low / 0.5:.3g}" in cause
    _near_centres(_parse_places(cause), g)
    assert crossing[0] == j_low and len(crossing[1]) == len(crossing[2]) == 2
    assert ch.PRODUCT_CROSSING_RESOLUTION in cause and "shorten [time] t_end" in cause
    cause, crossing = ch.failure_cause(g, low, iteration=5, time=2.0, previous=(1.96, 0.8))
    assert cause.startswith("breakdown") and crossing is None
    assert "fell from 0.8 at t = 1.96" in cause
    _near_centres(_parse_places(cause), g)
