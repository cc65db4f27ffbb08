"""The clock, its handlers and the Result (issue 12): Simulation.run, run_to_directory, [solver]."""

import json
import os
import signal
import tomllib

import numpy as np
import pytest
import xarray as xr

import spectral_qc as sq
from spectral_qc import cli
from spectral_qc.runs import STATUS_FILE, run_to_directory

HAM = [{"op": "I", "coef": "0.5*nz**2 + 0.3*nx"}, {"op": "X", "coef": "0.5*nx"},
       {"op": "Y", "coef": "0.5*ny"}, {"op": "Z", "coef": "0.5*nz + 0.35"}]


def config(**over):
    c = {"grid": {"lmax": 15},
         "model": {"kind": "hybrid", "regularization": "heat_kernel", "alpha": 0.01},
         "hamiltonian": {"terms": [dict(t) for t in HAM]},
         "time": {"t_end": 0.1, "dt": 0.01, "output_every": 0.02},
         "output": {"figures": False, "checkpoint_every": 0.04}}
    for k, v in over.items():
        c[k] = {**c.get(k, {}), **v}
    return c


#: The unregularized hybrid at lmax 31 grows short waves and stops near t ≈ 0.34.
ILL_POSED = config(grid={"lmax": 31}, model={"regularization": "none", "alpha": 0.0},
                   time={"t_end": 1.0, "dt": 0.01, "output_every": 0.05},
                   output={"checkpoint_every": 0.1})

SOLVER = {"scheme": "yoshida4", "spectral_filter": True,
          "stop": {"rho_tol": 2e-3, "eig_tol": 5e-3, "tail_max": 0.05, "growth_max": 321.0,
                   "growth_window": 0.03, "tail_floor": 1e-18}}


def test_result_of_a_finished_run():
    sim = sq.Simulation(config())
    counts0 = dict(sim.grid.counts)
    res = sim.run()
    assert isinstance(res, sq.Result) and res.status == "ok" and res.ok
    assert res.reason is None and res.error is None and res.exit_code == 0
    assert res.t_last == pytest.approx(0.1) and res.stats["steps"] == 10
    assert res.stats["wall_s"] > 0
    spent = {k: v - counts0.get(k, 0) for k, v in sim.grid.counts.items()}
    assert res.stats["transforms"] == spent and sum(spent.values()) > 0
    assert list(res.diagnostics.time.values) == pytest.approx([0, .02, .04, .06, .08, .1])
    # the Dataset's item and attribute access still work on the Result (contract §5)
    xr.testing.assert_identical(res["energy"], res.diagnostics["energy"])
    assert res.energy.shape == (6,)
    assert res.final_state is sim.state
    text = repr(res)
    assert "status='ok'" in text and "outputs=6" in text and "energy" in text


def test_failure_raises_or_returns():
    with pytest.raises(sq.InstabilityDetected) as info:
        sq.Simulation(ILL_POSED).run()
    exc = info.value
    assert exc.result.status == "numerical_failure" and exc.result.t_last == exc.time
    res = sq.Simulation(ILL_POSED).run(raise_on_failure=False)
    assert res.status == "numerical_failure" and res.exit_code == 3
    assert isinstance(res.error, sq.InstabilityDetected)
    assert res.t_last == pytest.approx(exc.time) and res.t_last < 1.0
    assert "regularization" in res.reason  # the hint names the remedy the config offers
    assert res.diagnostics.time.values[-1] <= res.t_last


def test_stop_criteria_can_be_switched_off():
    with np.errstate(over="ignore", invalid="ignore"):  # the unstopped run may overflow
        res = sq.Simulation(ILL_POSED, stop=sq.StopCriteria.off()).run(0.5,
                                                                       raise_on_failure=False)
    stopped = sq.Simulation(ILL_POSED).run(raise_on_failure=False)
    # without the tests the same run goes past the stop (until it is non-finite, if ever)
    assert res.t_last > stopped.t_last
    assert res.status == "ok" or isinstance(res.error, sq.NonFiniteState)


def test_handlers_every_step_every_k_and_every_output():
    sim = sq.Simulation(config())
    steps, thirds, outputs = [], [], []
    h1 = sim.add_handler(lambda s: steps.append(s.iteration), every=1)
    sim.add_handler(lambda s: thirds.append(s.iteration), every=3)
    sim.add_handler(lambda s, t, d: outputs.append((t, d["energy"])))
    sim.run(0.06)
    assert steps == list(range(1, 7)) and thirds == [3, 6]
    assert [t for t, _ in outputs] == pytest.approx([0, .02, .04, .06])
    sim.remove_handler(h1)
    sim.run(0.1)
    assert steps == list(range(1, 7)) and thirds == [3, 6, 9]
    energies = [e for _, e in outputs]
    np.testing.assert_array_equal(energies, sim.dataset()["energy"].values)
    with pytest.raises(ValueError, match="every"):
        sim.add_handler(print, every=0)


def test_output_handlers_see_the_failing_output():
    seen = []
    cfg = config(time={"t_end": 1.0}, solver={"stop": {"eig_tol": 0.0, "rho_tol": 0.0}})
    sim = sq.Simulation(cfg)
    sim.add_handler(lambda s, t, d: seen.append(t))
    res = sim.run(raise_on_failure=False)
    assert res.status == "numerical_failure" and isinstance(res.error, sq.PositivityLost)
    assert seen[-1] == pytest.approx(res.t_last)


def test_solver_table_is_validated():
    for bad, match in [({"scheme": "rk4"}, "solver.scheme = 'rk4'"),
                       ({"spectral_filter": 1}, "solver.spectral_filter"),
                       ({"stop": {"growth_max": "fast"}}, "solver.stop.growth_max"),
                       ({"stop": {"tail_max": 0}}, "solver.stop.tail_max"),
                       ({"stop": {"tail_maxx": 1}}, "did you mean 'tail_max'")]:
        with pytest.raises(sq.ConfigError, match=match):
            sq.Simulation(config(solver=bad))
    c = sq.Simulation(config(solver=SOLVER)).config.solver
    assert c.scheme == "yoshida4" and c.spectral_filter is True
    assert c.stop == sq.StopCriteria(rho_tol=2e-3, eig_tol=5e-3, tail_max=0.05,
                                     growth_max=321.0, growth_window=0.03, tail_floor=1e-18)
    auto = sq.Simulation(config()).tail
    assert auto.limit == 100 + 2 * 15  # growth_max = "auto"


def test_keyword_overrides_are_recorded_in_the_config():
    sim = sq.Simulation(config(), scheme="yoshida4", spectral_filter=True)
    assert sim.integrator.name == "yoshida4" and sim.config.solver.spectral_filter
    text = sim.dataset().attrs["config"]
    assert tomllib.loads(text)["solver"]["scheme"] == "yoshida4"


def _interrupt_at(sim, iteration):
    def send(s):
        if s.iteration == iteration:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered to this thread

    return sim.add_handler(send, every=1)


def test_sigint_resume_with_solver_options_is_bit_identical(tmp_path):
    cfg = config(solver=SOLVER, output={"fields": True})
    ref = run_to_directory(sq.Simulation(cfg), tmp_path / "ref", quiet=True)
    assert ref.status == "ok"
    d = tmp_path / "run"
    sim = sq.Simulation(cfg)
    _interrupt_at(sim, 7)
    res = run_to_directory(sim, d, quiet=True)
    assert res.status == "interrupted" and res.exit_code == 130
    status = json.loads((d / STATUS_FILE).read_text())
    assert status["status"] == "interrupted" and status["exit_code"] == 130
    assert status["t_last"] == pytest.approx(0.06)  # the latest output state is saved
    written = tomllib.loads((d / "config.toml").read_text())["solver"]
    assert written["scheme"] == "yoshida4" and written["spectral_filter"] is True
    assert written["stop"]["growth_max"] == 321.0 and written["stop"]["tail_floor"] == 1e-18
    assert cli.main(["resume", str(d), "--quiet"]) == 0
    assert json.loads((d / STATUS_FILE).read_text())["status"] == "ok"
    for name in ("diagnostics.nc", "fields.nc"):
        with xr.open_dataset(tmp_path / "ref" / name) as a, xr.open_dataset(d / name) as b:
            assert a.attrs["scheme"] == b.attrs["scheme"] == "yoshida4"
            for v in a.data_vars:
                np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)
            np.testing.assert_array_equal(a.time.values, b.time.values)


def test_status_file_after_success_and_failure(tmp_path):
    res = run_to_directory(sq.Simulation(ILL_POSED), tmp_path / "bad", quiet=True,
                           command=["spectral-qc", "run", "x.toml"])
    status = json.loads((tmp_path / "bad" / STATUS_FILE).read_text())
    assert status["status"] == "numerical_failure" and status["exit_code"] == 3
    assert status["t_last"] == pytest.approx(res.t_last) and "t = " in status["reason"]
    assert status["command"] == ["spectral-qc", "run", "x.toml"]
    assert status["versions"]["spectral_qc"] == sq.__version__ and "numpy" in status["versions"]
    assert status["wall_s"] >= 0
