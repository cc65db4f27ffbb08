"""Several classical spins run from a config and the CLI (issue 17 items 2–4): the run equals
the Python API's, outputs and their dimensions, resume bit for bit, the example config."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectral_qc import Simulation
from spectral_qc.budget import estimate
from spectral_qc.cli import main
from spectral_qc.config import load_config
from spectral_qc.diagnostics import DIAGNOSTICS
from spectral_qc.integrators import make_integrator
from spectral_qc.io import load_checkpoint, list_checkpoints, open_run
from spectral_qc.models.product import (ProductEhrenfest, product_state,
                                        von_mises_fisher_product)
from spectral_qc.product_hamiltonians import ProductHamiltonian
from spectral_qc.sphere.product import ProductGrid
from spectral_qc.stopping import StopCriteria

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "two_spins.toml"

CONFIG = """
[grid]
lmax = [5, 6]
[model]
kind = "{kind}"
spin_magnitude = [1.0, 1.5]
[hamiltonian]
terms = [
  {{ op = "I", coef = "0.3*(n1x*n2x + n1y*n2y + n1z*n2z) + 0.2*n2z" }},
  {{ op = "X", coef = "0.5*n1x" }}, {{ op = "Z", coef = "0.5*nz + 0.35" }},
]
[initial.classical]
kind = "product"
factors = [{{ kind = "von_mises_fisher", center = [1.0, 0.0, 1.0], kappa = 2.0 }},
           {{ kind = "von_mises_fisher", center = [0.0, 1.0, 0.0], kappa = 1.5 }}]
[initial.quantum]
bloch = [0.6, 0.0, 0.8]
[time]
t_end = {t_end}
dt = 0.05
output_every = 0.1
[output]
fields = {fields}
figures = false
"""


def write(tmp_path, name="c.toml", *, kind="ehrenfest", t_end=0.2, fields="false"):
    path = tmp_path / name
    path.write_text(CONFIG.format(kind=kind, t_end=t_end, fields=fields))
    return path


def test_config_run_equals_the_python_api(tmp_path):
    """ProductGrid + ProductHamiltonian (callables) + ProductEhrenfest + make_integrator,
    built by hand, against Simulation(config): the same state to round-off after 4 steps."""
    sim = Simulation(write(tmp_path, t_end=0.2))
    sim.run()
    grid = ProductGrid([5, 6])
    H = ProductHamiltonian([
        ("I", lambda a, b: 0.3 * (a * b).sum(0) + 0.2 * b[2]), ("X", lambda a, b: 0.5 * a[0]),
        ("Z", lambda a, b: 0.5 * a[2] + 0.35)], spins=2)
    model = ProductEhrenfest(grid, H, hbar=1.0, spin_magnitude=(1.0, 1.5))
    rho = von_mises_fisher_product(grid, [(1, 0, 1), (0, 1, 0)], [2.0, 1.5])
    b = np.array([0.6, 0.0, 0.8])
    density = 0.5 * np.array([[1 + b[2], b[0] - 1j * b[1]], [b[0] + 1j * b[1], 1 - b[2]]])
    state = product_state(grid, rho, density)
    step = make_integrator("strang", model)
    for _ in range(4):
        state = step.step(state, 0.05)
    assert sim.iteration == 4
    for got, ref in ((sim.state.rho_lm, state.rho_lm), (sim.state.p_lm, state.p_lm)):
        assert np.max(np.abs(got - ref)) <= 1e-14 * np.max(np.abs(ref))
    # the recorded n_mean (time, spin, xyz) against the API state's own quadrature
    ds = sim.dataset()
    rho_grid = grid.synthesis(state.rho_lm)
    for a in range(2):
        ref = grid.integrate(rho_grid * grid.n[a])
        assert np.max(np.abs(ds["n_mean"].values[-1, a] - ref)) < 1e-14


def test_two_spin_outputs_have_the_one_spin_names_and_a_spin_dim(tmp_path, capsys):
    cfg = write(tmp_path, t_end=0.1, fields="true")
    out = tmp_path / "run"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    run = open_run(out)
    ds, fields = run.diagnostics, run.fields
    assert set(DIAGNOSTICS) <= set(ds.data_vars)           # the same names as one spin
    assert ds["n_mean"].dims == ("time", "spin", "xyz") and ds.sizes["spin"] == 2
    assert ds["rho_q_real"].dims == ("time", "i", "j")
    grid = ProductGrid([5, 6])
    assert fields["rho"].dims == ("time", "theta1", "phi1", "theta2", "phi2")
    assert fields["P_real"].dims == ("time", "i", "j", "theta1", "phi1", "theta2", "phi2")
    assert fields["rho"].shape == (2,) + grid.shape
    np.testing.assert_array_equal(fields["theta2"].values, grid.factors[1].theta)
    # fields.nc holds ϱ at t_end: the synthesis of the final checkpoint's coefficients
    ckpt = load_checkpoint(list_checkpoints(out)[-1])
    assert np.max(np.abs(fields["rho"].values[-1] - grid.synthesis(ckpt["rho_lm"]))) < 1e-14
    assert run.config.spins == 2 and run.config.output.fields


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
    """One uninterrupted two-spin hybrid run to t = 0.3 with fields.nc."""
    d = tmp_path_factory.mktemp("whole")
    path = write(d, "a.toml", kind="hybrid", t_end=0.3, fields="true")
    assert main(["run", str(path), "--out", str(d / "run"), "--quiet"]) == 0
    return d / "run"


@pytest.mark.parametrize("how", ["extend", "interrupt"])
def test_resume_of_two_spins_is_bit_identical(tmp_path, capsys, monkeypatch, whole_run, how):
    """run to 0.1 then ``resume --t-end 0.3``, or Ctrl-C after step 3 (t = 0.15, between
    outputs: exit 130) then ``resume``, == one run to 0.3: diagnostics.nc, fields.nc and the
    final state bit for bit (with q = ln J and the spectral-tail history)."""
    legs = tmp_path / "legs"
    if how == "extend":
        cfg = write(tmp_path, "b.toml", kind="hybrid", t_end=0.1, fields="true")
        assert main(["run", str(cfg), "--out", str(legs), "--quiet"]) == 0
        assert main(["resume", str(legs), "--t-end", "0.3", "--quiet"]) == 0
    else:
        original, calls = Simulation.step, []

        def interrupting(self):
            original(self)
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt

        monkeypatch.setattr(Simulation, "step", interrupting)
        cfg = write(tmp_path, "b.toml", kind="hybrid", t_end=0.3, fields="true")
        assert main(["run", str(cfg), "--out", str(legs), "--quiet"]) == 130
        monkeypatch.undo()
        assert xr.load_dataset(legs / "diagnostics.nc").sizes["time"] == 2  # t = 0, 0.1
        assert main(["resume", str(legs), "--quiet"]) == 0, capsys.readouterr().err
    for name in ("diagnostics.nc", "fields.nc"):
        a, b = xr.load_dataset(whole_run / name), xr.load_dataset(legs / name)
        assert a.sizes["time"] == b.sizes["time"] == 4
        for v in a.data_vars:
            np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=f"{name}:{v}")
    ca, cb = (load_checkpoint(list_checkpoints(d)[-1]) for d in (whole_run, legs))
    for k in ("rho_lm", "p_lm", "q_lm"):
        assert ca[k].dtype == cb[k].dtype == np.float64 and np.array_equal(ca[k], cb[k]), k
    assert ca["tail_history"] == cb["tail_history"] and ca["iteration"] == cb["iteration"] == 6
    assert ca["q_lm"].any()                                  # J moved: q is not all zero


def test_growth_threshold_uses_the_finest_factor(tmp_path):
    """growth_max = "auto" on a product: 100 + 2·max(lmax_a)."""
    assert StopCriteria().growth_threshold((5, 31)) == 100 + 2 * 31
    assert StopCriteria().growth_threshold(31) == 162
    assert StopCriteria(growth_max=7.0).growth_threshold((5, 6)) == 7.0
    sim = Simulation(write(tmp_path))
    assert sim.tail.limit == 100 + 2 * 6


def test_check_summary_and_fields_cost_of_two_spins(tmp_path, capsys):
    cfg = load_config(write(tmp_path, fields="true"))
    est = estimate(cfg, time_steps=False)
    grid = ProductGrid([5, 6])
    points = int(np.prod(grid.shape))                       # Π nlat_a · nphi_a
    assert est.fields_bytes == est.outputs * 8 * (1 + 2 * 2 * 2) * points
    assert main(["check", str(write(tmp_path, "d.toml"))]) == 0
    out = capsys.readouterr().out
    assert "grid lmax = [5, 6]:" in out and f"{points:,} points" in out


def test_example_runs_through_the_cli(tmp_path):
    """examples/two_spins.toml, shortened with --set, in a fresh process: exit 0, the
    documented files, n_mean per spin, and readable figures (no sphere maps for j = 2)."""
    out = tmp_path / "two"
    done = subprocess.run(
        [sys.executable, "-m", "spectral_qc.cli", "run", str(EXAMPLE), "--out", str(out),
         "--set", "time.t_end=0.04", "--set", "time.output_every=0.02", "--quiet"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    for name in ("config.toml", "diagnostics.nc", "status.json"):
        assert (out / name).is_file(), name
    assert not (out / "fields.nc").exists()                 # off by default
    run = open_run(out)
    assert run.config.spins == 2 and run.config.grid.lmax == (11, 11)
    assert tomllib.loads((out / "config.toml").read_text())["time"]["t_end"] == 0.04
    assert run.diagnostics["n_mean"].shape == (3, 2, 3)
    names = {p.name for p in run.figures}
    assert {"drifts.png", "mean_spins.png", "positivity.png", "spectral_tail.png"} <= names
    assert not any(n.startswith("maps_") for n in names)
    assert np.all(np.isfinite(run.diagnostics["energy"].values))


@pytest.mark.parametrize("kind", ["liouville", "hybrid"])
def test_other_product_kinds_run(tmp_path, kind):
    """Liouville (N = 1: only the identity terms) and the hybrid model run from a config;
    Liouville conserves the energy ∫ϱH to round-off (X = X_H, divergence free)."""
    text = CONFIG.format(kind=kind, t_end=0.1, fields="false")
    if kind == "liouville":
        text = text.replace('  {{ op = "X", coef = "0.5*n1x" }}, {{ op = "Z", coef = "0.5*nz '
                            '+ 0.35" }},\n'.replace("{{", "{").replace("}}", "}"), "")
        text = text.replace("[initial.quantum]\nbloch = [0.6, 0.0, 0.8]\n", "")
    raw = tomllib.loads(text)
    if kind == "hybrid":
        raw["model"].update(regularization="heat_kernel", alpha=0.01)
    ds = Simulation(raw).run().diagnostics
    assert ds.sizes["time"] == 2 and np.all(np.isfinite(ds["energy"].values))
    if kind == "liouville":
        assert abs(ds["energy"].values[-1] - ds["energy"].values[0]) < 1e-12


def test_koopman_config_run_equals_the_python_api(tmp_path):
    """kind = "hybrid_kvh" on two spins: Simulation(config) against ProductHybridKvH by hand with
    callables and their Euler derivatives Σ_a n_a·∇_{n_a}c written out (the phase term
    L = Σ_a n_a·∇_{n_a}H − H comes from the expressions' own derivative in the config path)."""
    from spectral_qc.models.product_koopman import ProductHybridKvH, product_initial_wave
    from spectral_qc.product_hamiltonians import EulerCoefficient

    sim = Simulation(write(tmp_path, kind="hybrid_kvh", t_end=0.1))
    sim.run()
    grid = ProductGrid([5, 6])
    H = ProductHamiltonian([
        ("I", EulerCoefficient(lambda a, b: 0.3 * (a * b).sum(0) + 0.2 * b[2],
                               lambda a, b: 0.6 * (a * b).sum(0) + 0.2 * b[2])),
        ("X", EulerCoefficient(lambda a, b: 0.5 * a[0], lambda a, b: 0.5 * a[0])),
        ("Z", EulerCoefficient(lambda a, b: 0.5 * a[2] + 0.35, lambda a, b: 0.5 * a[2]))],
        spins=2)
    model = ProductHybridKvH(grid, H, hbar=1.0, spin_magnitude=(1.0, 1.5))
    rho = von_mises_fisher_product(grid, [(1, 0, 1), (0, 1, 0)], [2.0, 1.5])
    b = np.array([0.6, 0.0, 0.8])
    density = 0.5 * np.array([[1 + b[2], b[0] - 1j * b[1]], [b[0] + 1j * b[1], 1 - b[2]]])
    state = product_initial_wave(grid, rho, density)
    step = model.make_integrator(sim.config.solver.scheme)
    for _ in range(2):
        state = step.step(state, 0.05)
    assert sim.iteration == 2
    ref = state.upsilon_lm
    assert np.max(np.abs(sim.state.upsilon_lm - ref)) <= 1e-13 * np.max(np.abs(ref))
    assert sim.dataset()["n_mean"].dims == ("time", "spin", "xyz")


def test_a_stopped_two_spin_run_keeps_its_outputs(tmp_path, capsys):
    """A stop (here the spectral tail over a tight tail_max) on products: exit 3, status.json,
    every output up to the stop, failure.npz, the figures, and the message names the
    product grid's lmax = [5, 6]."""
    path = write(tmp_path, t_end=0.3)
    path.write_text(path.read_text().replace("figures = false", "figures = true")
                    + "\n[solver.stop]\ntail_max = 1e-9\n")
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "numerical failure" in err and "lmax = [5, 6]" in err and "Traceback" not in err
    run = open_run(out)
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "numerical_failure" and status["exit_code"] == 3
    times = run.diagnostics["time"].values
    assert times[0] == 0 and times[-1] <= status["t_last"] and 0 < status["t_last"] < 0.3
    assert run.failure is not None and load_checkpoint(run.failure)["rho_lm"].dtype == np.float64
    assert {"drifts.png", "mean_spins.png"} <= {p.name for p in run.figures}


def test_three_spins_run_from_a_config():
    """j = 3: a chain n1·n2 + n2·n3 with a qubit on spin 3; the mass ∫ϱ dμ is conserved
    to round-off and the energy to the scheme's accuracy over 2 steps; n_mean (time, 3, 3)."""
    raw = {"grid": {"lmax": [3, 4, 3]},
           "model": {"kind": "ehrenfest", "spin_magnitude": [1.0, 1.0, 2.0]},
           "hamiltonian": {"terms": [
               {"op": "I", "coef": "0.4*(n1x*n2x + n1y*n2y + n1z*n2z) + 0.3*(n2x*n3x + n2z*n3z)"},
               {"op": "X", "coef": "0.5*n3x"}, {"op": "Z", "coef": "0.5*n3z"}]},
           "initial": {"classical": {"kind": "product", "factors": [
               {"center": [0, 0, 1], "kappa": 1.0}, {"center": [1, 0, 0], "kappa": 1.0},
               {"center": [0, 1, 0], "kappa": 0.5}]}},
           "time": {"t_end": 0.1, "dt": 0.05, "output_every": 0.05},
           "output": {"figures": False}}
    ds = Simulation(raw).run().diagnostics
    assert ds["n_mean"].shape == (3, 3, 3)
    mass = ds["mass"].values
    assert abs(mass[0] - 1) < 1e-11                 # Gauss quadrature of ϱ0 on 6 latitudes
    assert np.max(np.abs(mass - mass[0])) < 1e-14    # conserved to round-off
    assert abs(ds["energy"].values[-1] - ds["energy"].values[0]) < 1e-5


def test_spectral_filter_on_two_spins_filters_every_factor(tmp_path):
    """[solver] spectral_filter = true on two spins: one step is the unfiltered step times
    exp(−36 (l1/lmax1)^36) · exp(−36 (l2/lmax2)^36), from the factors' degrees by hand."""
    raw = tomllib.loads(CONFIG.format(kind="ehrenfest", t_end=0.05, fields="false"))
    plain = Simulation(raw)
    plain.step()
    raw["solver"] = {"spectral_filter": True}
    filtered = Simulation(raw)
    filtered.step()
    g = filtered.grid
    sigma = 1.0
    for a, f in enumerate(g.factors):
        sigma = sigma * np.exp(-36.0 * (g.degrees(a) / f.lmax) ** 36)
    ref = sigma * plain.state.p_lm
    assert np.max(np.abs(filtered.state.p_lm - ref)) <= 1e-15 * np.max(np.abs(ref))
    assert np.max(np.abs(filtered.state.rho_lm - sigma * plain.state.rho_lm)) < 1e-16
    top = sigma < 1e-3  # the top degrees of either spin: damped, not left as they were
    assert top.any() and np.max(np.abs(plain.state.rho_lm[top])) > 0
    assert np.max(np.abs(filtered.state.rho_lm[top])) < 1e-3 * np.max(np.abs(plain.state.rho_lm[top]))
