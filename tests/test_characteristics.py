"""Flow Jacobian J (q = ln J transport), the CharacteristicsCross stop and the stop messages."""

import dataclasses
import numpy as np
import pytest

import spectral_qc as sq
from spectral_qc import characteristics as ch
from spectral_qc import io
from spectral_qc.errors import CharacteristicsCross, NumericalFailure
from spectral_qc.states import State
from tests.conftest import sphere
from validation import references as ref
from validation.studies import characteristics as study


def test_log_jacobian_transport_matches_the_analytic_gradient_flow():
    """X = ∇(c nz) = −c sinθ θ̂ squeezes the sphere towards the north pole; with
    u = tan(θ/2) its Eulerian area ratio is J = e^{−2ct} ((1 + u² e^{2ct}) / (1 + u²))²."""
    g = sphere(31)
    c, t_end, nsteps = 0.4, 0.5, 100
    th = np.broadcast_to(g.theta[:, None], g.shape)
    x = np.stack([-c * np.sin(th), np.zeros(g.shape)])
    q = ch.initial_log_jacobian(g)
    h = t_end / nsteps
    for _ in range(nsteps):  # RK4 with the frozen velocity
        k1 = ch.log_jacobian_tendency(g, x, q)
        k2 = ch.log_jacobian_tendency(g, x, q + h / 2 * k1)
        k3 = ch.log_jacobian_tendency(g, x, q + h / 2 * k2)
        k4 = ch.log_jacobian_tendency(g, x, q + h * k3)
        q = q + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    u2 = np.tan(th / 2) ** 2
    exact = np.exp(-2 * c * t_end) * ((1 + u2 * np.exp(2 * c * t_end)) / (1 + u2)) ** 2
    assert np.max(np.abs(ch.jacobian_field(g, q) / exact - 1)) < 1e-6
    j_min, j_max = ch.jacobian_extremes(g, q)
    assert j_min == pytest.approx(np.exp(-2 * c * t_end), rel=1e-3)  # at the pole


def test_liouville_flow_keeps_unit_jacobian_to_t2():
    cfg = study.config("demo", 15, 2.0, kind="liouville", output_every=0.1)
    cfg["hamiltonian"]["terms"] = study.DEMO_TERMS[:1]
    del cfg["initial"]["quantum"]
    cfg["time"]["dt"] = 0.01
    ds = sq.Simulation(cfg).run()
    assert ds.time.values[-1] == pytest.approx(2.0)
    assert np.max(np.abs(ds.jacobian_min.values - 1)) <= 1e-8
    assert np.max(np.abs(ds.jacobian_max.values - 1)) <= 1e-8


def test_ehrenfest_jacobian_agrees_with_trajectories():
    """The second case of issue 14 at lmax 31 to t = 2 against the trajectory equations
    dn/dt = X, db/dt = (2/ħ) h × b (DOP853, neighbouring starting points)."""
    ds = sq.Simulation(study.config("second", 31, 2.0, output_every=0.25)).run()
    r = study.reference("second", ds.time.values, nlat=48)
    j = ds.jacobian_min.values
    assert j[-1] < 0.5  # the flow is strongly compressive here: the check has teeth
    assert study.relative_agreement(j, r.minimum) <= 0.02


def test_tracking_the_same_velocity_gives_the_same_jacobian():
    """The particle-tracking reference, fed an analytic velocity (the gradient flow above),
    gives the analytic Lagrangian J = sinθ dθ / (sinθ0 dθ0)."""
    c, t = 0.4, 0.5

    def velocity(_t, n):
        return c * (np.array([0.0, 0.0, 1.0])[:, None] - n[2] * n)  # c∇nz = −c sinθ θ̂

    n0 = study.gauss_points(8)
    r = ref.tracked_flow_jacobian(velocity, n0, [t], dt=0.01)
    u0 = np.tan(np.arccos(n0[2]) / 2)
    u = u0 * np.exp(-c * t)
    exact = np.exp(-2 * c * t) * ((1 + u**2 * np.exp(2 * c * t)) / (1 + u**2)) ** 2
    assert np.max(np.abs(r.jacobian[0] / exact - 1)) < 1e-6


def test_tracking_the_state_leaves_rho_and_P_bit_identical():
    cfg = study.config("second", 15, 0.3)
    a, b = sq.Simulation(cfg), sq.Simulation(cfg)
    b.state = State(b.state.rho_lm, b.state.p_lm)  # J not tracked
    a.run()
    b.run()
    assert b.state.q_lm is None and a.state.q_lm is not None
    assert np.array_equal(a.state.rho_lm, b.state.rho_lm)
    assert np.array_equal(a.state.p_lm, b.state.p_lm)
    assert np.isnan(b.records[-1][1]["jacobian_min"])


def test_resume_from_a_checkpoint_file_continues_J_bit_for_bit(tmp_path):
    cfg = study.config("second", 15, 0.4, output_every=0.1)
    full = sq.Simulation(cfg)
    full.run()
    half = sq.Simulation(cfg)
    half.run(0.2)
    path = io.save_checkpoint(tmp_path, half.checkpoint())
    resumed = sq.Simulation.restore(cfg, io.load_checkpoint(path))
    resumed.run()
    assert np.array_equal(resumed.state.q_lm, full.state.q_lm)
    assert resumed.records[-1][1]["jacobian_min"] == full.records[-1][1]["jacobian_min"]


def _crossing_bump(grid, centre, depth):
    """q = ln J with J = 1 − depth·exp(5(n·c − 1)), a dip at ``centre``."""
    c = np.asarray(centre, float) / np.linalg.norm(centre)
    dot = np.einsum("i,ijk->jk", c, grid.n)
    return grid.analysis(np.log(1 - depth * np.exp(5 * (dot - 1))))


def test_stop_names_time_place_and_value_of_the_crossing():
    sim = sq.Simulation(study.config("second", 15, 1.0))
    centre = (0.0, np.sin(1.0), np.cos(1.0))  # θ = 1, φ = π/2
    sim.state = State(sim.state.rho_lm, sim.state.p_lm, _crossing_bump(sim.grid, centre, 0.999))
    with pytest.raises(CharacteristicsCross) as info:
        sim.step()
    e = info.value
    assert isinstance(e, NumericalFailure) and e.quantity == "jacobian_min"
    assert e.value < ch.JACOBIAN_STOP and e.time == pytest.approx(sim.dt)
    msg = str(e)
    assert "characteristics cross" in msg and f"t = {sim.dt:g}" in msg
    theta = float(msg.split("θ = ")[1].split(",")[0])
    phi = float(msg.split("φ = ")[1].split(" ")[0])
    assert theta == pytest.approx(1.0, abs=0.05) and phi == pytest.approx(np.pi / 2, abs=0.05)
    assert "no smooth single-valued solution" in msg and "Raising lmax" in msg


def test_crossing_threshold_is_the_config_key_solver_stop_jacobian_stop():
    """[solver.stop] jacobian_stop sets the threshold; 0 switches the test off."""
    centre = (0.0, np.sin(1.0), np.cos(1.0))
    outcomes = {}
    for value in (0.5, 0.0):
        cfg = study.config("second", 15, 1.0)
        cfg["solver"] = {"stop": {"jacobian_stop": value}}
        sim = sq.Simulation(cfg)
        assert sim.stop.jacobian_stop == value
        # min J = 1 − 0.6 = 0.4: below 0.5, above 0
        sim.state = State(sim.state.rho_lm, sim.state.p_lm, _crossing_bump(sim.grid, centre, 0.6))
        try:
            sim.step()
            outcomes[value] = None
        except CharacteristicsCross as e:
            outcomes[value] = e
    assert outcomes[0.5] is not None and "(threshold 0.5)" in str(outcomes[0.5])
    assert 0.35 < outcomes[0.5].value < 0.45
    assert outcomes[0.0] is None
    bad = study.config("second", 15, 1.0)
    bad["solver"] = {"stop": {"jacobian_stop": -1}}
    with pytest.raises(sq.ConfigError, match="solver.stop.jacobian_stop"):
        sq.Simulation(bad)


def test_crossing_message_dates_the_crossing_or_names_a_collapse():
    """With min J one step earlier the message extrapolates the time J reaches 0; a fall by
    more than COLLAPSE_FACTOR in one step is named as a breakdown instead."""
    centre = (0.0, np.sin(1.0), np.cos(1.0))
    messages = {}
    for name, first, second in (("smooth", 0.5, 0.6), ("collapse", 0.1, 0.999)):
        sim = sq.Simulation(study.config("second", 15, 1.0))
        rho, p = sim.state.rho_lm, sim.state.p_lm
        sim.state = State(rho, p, _crossing_bump(sim.grid, centre, first))
        sim.step()
        j1 = sim._previous_jacobian[1]
        sim.stop = dataclasses.replace(sim.stop, jacobian_stop=0.45)
        sim.state = State(sim.state.rho_lm, sim.state.p_lm, _crossing_bump(sim.grid, centre, second))
        with pytest.raises(CharacteristicsCross) as info:
            sim.step()
        messages[name] = (str(info.value), j1, info.value.value, sim.time)
    msg, j1, j2, t2 = messages["smooth"]
    t_x = t2 + j2 * (t2 - t2 / 2) / (j1 - j2)  # linear through (dt, j1), (2 dt, j2)
    assert f"J reaches 0 at t ≈ {t_x:.4g} (extrapolated)" in msg and "fell from" not in msg
    msg, j1, j2, _ = messages["collapse"]
    assert j1 > ch.COLLAPSE_FACTOR * j2
    assert f"fell from {j1:.3g} to {j2:.3g} in one step" in msg and "extrapolated" not in msg


def test_ehrenfest_run_stops_as_crossing_with_time_in_the_message():
    """The second case at lmax 31 loses resolution while J is low: the stop is reported
    as a crossing (CharacteristicsCross), not as exhausted resolution."""
    with pytest.raises(CharacteristicsCross) as info:
        sq.Simulation(study.config("second", 31, 3.0)).run()
    e = info.value
    assert "characteristics cross" in str(e) and f"t = {e.time:.6g}" in str(e)
    assert "phase mixing" not in str(e)
    assert e.value < ch.JACOBIAN_LOW
    assert 2.3 < e.time < 2.9  # the reference's first crossing is at t = 2.88


def test_refusal_at_t0_names_the_initial_state():
    cfg = study.config("second", 7, 1.0)
    cfg["initial"]["classical"]["kappa"] = 200.0
    with pytest.raises(NumericalFailure) as info:
        sq.Simulation(cfg).run()
    msg = str(info.value)
    assert info.value.time == 0 and "not representable" in msg
    assert "phase mixing" not in msg and "characteristics" not in msg


def test_failure_causes_name_what_was_measured():
    g = sphere(15)
    p = np.zeros((4, g.nlm), complex)
    healthy = State(np.zeros(g.nlm, complex), p, ch.initial_log_jacobian(g))
    low = State(healthy.rho_lm, p, _crossing_bump(g, (1, 0, 0), 0.9))
    cause, crossing = ch.failure_cause(g, healthy, iteration=5, time=2.0, previous=(1.9, 1.0))
    assert cause.startswith("under-resolution") and crossing is None
    assert "min J = 1" in cause and "[solver] spectral_filter = true" in cause
    j_low = ch.jacobian_minimum(g, low.q_lm)[0]
    cause, crossing = ch.failure_cause(g, low, iteration=5, time=2.0, previous=(1.9, j_low + 0.05))
    assert "characteristics cross" in cause and crossing[0] < ch.JACOBIAN_LOW
    assert f"t ≈ {2.0 + j_low / 0.5:.3g}" in cause  # J falls at 0.05 / 0.1 per unit time
    # J < JACOBIAN_CONVERGED: a crossing whatever the trend
    cause, crossing = ch.failure_cause(g, low, iteration=5, time=2.0, previous=(1.0, j_low + 0.05))
    assert "characteristics cross" in cause and crossing is not None
    mid = State(healthy.rho_lm, p, _crossing_bump(g, (1, 0, 0), 0.7))
    j_mid = ch.jacobian_minimum(g, mid.q_lm)[0]
    assert ch.JACOBIAN_CONVERGED < j_mid < ch.JACOBIAN_LOW
    cause, crossing = ch.failure_cause(g, mid, iteration=5, time=2.0, previous=(1.0, j_mid + 0.05))
    assert cause.startswith("under-resolution") and crossing is None  # J falls too slowly
    cause, crossing = ch.failure_cause(g, mid, iteration=5, time=2.0, previous=(1.96, 0.8),
                                       regularizable=True)
    assert cause.startswith("breakdown") and crossing is None  # 0.8 → 0.3 in one interval
    assert "fell from 0.8 at t = 1.96" in cause and "[model] alpha" in cause
    # a model without [model] alpha (Ehrenfest) is not told to set it
    cause, _ = ch.failure_cause(g, mid, iteration=5, time=2.0, previous=(1.96, 0.8))
    assert cause.startswith("breakdown") and "alpha" not in cause
    cause, _ = ch.failure_cause(g, low, iteration=5, model_cause=ch.SHORT_WAVE_CAUSE)
    assert cause.startswith("short-wave growth") and "regularization" in cause
    cause, _ = ch.failure_cause(g, low, iteration=0)
    assert "not representable" in cause
    for state in (healthy, low):
        for it in (0, 5):
            assert "phase mixing" not in ch.failure_cause(g, state, iteration=it)[0]


def test_reference_hamiltonians_of_the_other_cases_match_their_configs():
    """The trajectory reference of the `cases` section integrates the H the runs solve:
    its hand-written H(n) and ∇H(n) against the package's Hamiltonian of each config
    (∇H by central differences of the package's values)."""
    from spectral_qc.hamiltonians import Hamiltonian
    from validation.studies import characteristics_cases as cc

    rng = np.random.default_rng(3)
    n = rng.normal(size=(3, 40))
    n /= np.linalg.norm(n, axis=0)
    for name, case in cc.CASES.items():
        cfg = case["config"]("ehrenfest", 15)
        ham = Hamiltonian.from_config(cfg["hamiltonian"]["terms"])

        def h(m):
            return np.moveaxis(ham.evaluate(m), -1, 0)  # (M, 2, 2)

        assert np.allclose(h(n), case["h"](n), atol=1e-13), name
        eps = 1e-6
        for a in range(3):
            d = np.zeros((3, 1))
            d[a] = eps
            fd = (h(n + d) - h(n - d)) / (2 * eps)
            assert np.allclose(fd, case["grad_h"](n)[a], atol=1e-8), (name, a)
        assert cfg["model"]["spin_magnitude"] == case["S"]
        assert cfg["initial"]["quantum"]["bloch"] == list(case["bloch"])
