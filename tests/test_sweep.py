"""Parameter sweeps (spectral_qc.sweep): Dask runs equal single runs, failures are
recorded, re-runs only complete what is missing, Dask stays optional."""

import copy
import importlib
import json
import shutil
import sys
import tomllib

import numpy as np
import pytest

import spectral_qc as sq
sw = importlib.import_module("spectral_qc.sweep")  # spectral_qc.sweep is the function
from spectral_qc.errors import ConfigError
from spectral_qc.io import list_checkpoints

BASE = {
    "grid": {"lmax": 15},
    "model": {"kind": "ehrenfest"},
    "hamiltonian": {"terms": [{"op": "Z", "coef": "0.5*nz"}, {"op": "X", "coef": "0.3*nx"},
                              {"op": "I", "coef": "0.2*nx*nz"}]},
    "initial": {"classical": {"kappa": 3.0}},
    "time": {"t_end": 0.08, "dt": 0.01, "output_every": 0.04},
    "output": {"figures": False},
}


def sweep_dict(**sweep):
    return {**copy.deepcopy(BASE), "sweep": sweep}


# --------------------------------------------------------------- sweep file, no Dask
def test_cases_and_names():
    spec = sw.load_sweep(sweep_dict(product={"grid.lmax": [15, 21],
                                             "model": {"hbar": [1.0, 0.5]}}))
    assert spec.dims == ("grid.lmax", "model.hbar") and spec.shape == (2, 2)
    cases = spec.iter_cases()
    assert [c.name for c in cases] == [
        "grid.lmax=15__model.hbar=1", "grid.lmax=15__model.hbar=0.5",
        "grid.lmax=21__model.hbar=1", "grid.lmax=21__model.hbar=0.5"]
    assert cases[3].raw["grid"]["lmax"] == 21 and cases[3].raw["model"]["hbar"] == 0.5
    assert "sweep" not in cases[0].raw and BASE["grid"]["lmax"] == 15  # base untouched
    spec = sw.load_sweep(sweep_dict(
        cases=[{"name": "vdir", "initial.quantum.bloch": [0, 0, 1]},
               {"initial": {"quantum": {"ket": [[1, 0], [0, 1]]}}}],
        product={"grid.lmax": [15]}))
    cases = spec.iter_cases()
    assert spec.dims == ("case", "grid.lmax")
    assert [c.name for c in cases] == ["vdir__grid.lmax=15",
                                       "initial.quantum.ket=1,0,0,1__grid.lmax=15"]
    assert cases[1].raw["initial"]["quantum"] == {"ket": [[1, 0], [0, 1]]}


@pytest.mark.parametrize("sweep, match", [
    ({}, r"^sweep: empty"),
    ({"prodcut": {}}, r"^sweep\.prodcut: unknown key.*did you mean 'product'"),
    ({"product": {"grid.lmx": [15]}}, r"^sweep\.product\.grid\.lmx: unknown config key"
                                      r".*did you mean 'grid\.lmax'"),
    ({"product": {"grid.lmax": 15}}, r"^sweep\.product\.grid\.lmax = 15: expected a "
                                     r"non-empty list"),
    ({"product": {"grid.lmax": []}}, r"^sweep\.product\.grid\.lmax = \[\]"),
    ({"product": {"grid.lmax": [15, 15]}}, r"listed twice"),
    ({"product": {"output.dir": ["a", "b"]}}, r"^sweep\.product\.output\.dir: cannot be swept"),
    ({"cases": [{"model.kind": "liouville"}, {"model.kind": "liouville"}]}, r"listed twice"),
    ({"cases": [{"model.hbar": 1.0}], "product": {"model.hbar": [1.0, 2.0]}},
     r"^sweep\.cases\[0\]\.model\.hbar: also swept"),
    ({"cases": [{"name": 3}]}, r"^sweep\.cases\[0\]\.name = 3"),
    ({"cases": {"grid.lmax": 15}}, r"^sweep\.cases = "),
    ({"product": {"grid.lmax": [15]}, "time_series": ["mas"]},
     r"^sweep\.time_series = 'mas'.*did you mean 'mass'"),
])
def test_invalid_sweep_names_the_key(sweep, match):
    with pytest.raises(ConfigError, match=match):
        sw.load_sweep(sweep_dict(**sweep))


def test_sweep_table_required_and_base_stays_strict(tmp_path):
    with pytest.raises(ConfigError, match=r"^sweep: missing"):
        sw.load_sweep(copy.deepcopy(BASE))
    bad = sweep_dict(product={"grid.lmax": [15, 21]})
    bad["time"]["dtt"] = 0.1  # every case invalid: the sweep itself is bad input
    with pytest.raises(ConfigError, match=r"every case of the sweep is invalid.*time\.dtt"):
        sw.sweep(bad, out=tmp_path, progress=False)


def test_missing_dask_message(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(sw.SweepDependencyError, match=r"pip install 'spectral_qc\[sweep\]'"):
        sw.sweep(sweep_dict(product={"grid.lmax": [15]}), out=tmp_path, progress=False)
    path = tmp_path / "s.toml"
    path.write_text('[hamiltonian]\nterms = [{ op = "Z", coef = "0.5*nz" }]\n'
                    '[sweep.product]\n"grid.lmax" = [15]\n')
    from spectral_qc.cli import main

    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'spectral_qc[sweep]'" in err and "Traceback" not in err


# ------------------------------------------------------------------------ with Dask
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


def test_product_equals_single_runs(client, tmp_path):
    spec = sweep_dict(product={"grid.lmax": [15, 21], "model.hbar": [1.0, 0.5]})
    ds = sq.sweep(spec, out=tmp_path, scheduler=client, progress=False)
    assert ds.sizes["grid.lmax"] == 2 and ds.sizes["model.hbar"] == 2
    assert (ds["status"] == "ok").all() and (ds["exit_code"] == 0).all()
    for case in sw.load_sweep(spec).iter_cases():
        at = {"grid.lmax": case.params["grid.lmax"], "model.hbar": case.params["model.hbar"]}
        one = sq.Simulation(case.raw).run()
        for name in one.data_vars:
            np.testing.assert_array_equal(ds[name].sel(at).values,
                                          one[name].isel(time=-1).values)
            np.testing.assert_array_equal(ds[f"{name}_series"].sel(at).values,
                                          one[name].values)
        # the case directory is a normal run directory with its full resolved config
        run = sq.open_run(tmp_path / case.name) if hasattr(sq, "open_run") else None
        with open(tmp_path / case.name / "config.toml", "rb") as fh:
            written = sq.config.load_config(tomllib.load(fh))
        assert written.grid.lmax == at["grid.lmax"] and written.model.hbar == at["model.hbar"]
        if run is not None:
            np.testing.assert_array_equal(run.diagnostics["energy"].values, one["energy"].values)
    back = sq.open_sweep(tmp_path)
    assert back["status"].values.tolist() == [["ok", "ok"], ["ok", "ok"]]
    np.testing.assert_array_equal(back["purity"].values, ds["purity"].values)
    assert list(back["grid.lmax"].values) == [15, 21]


def test_failing_cases_are_recorded(client, tmp_path):
    spec = sweep_dict(cases=[
        {"name": "good"},
        {"name": "bad-hbar", "model.hbar": -1.0},                    # invalid value: exit 2
        {"name": "too-sharp", "initial.classical.kappa": 500.0},     # Gibbs at lmax 15: exit 3
        {"name": "two-qubits", "hamiltonian.terms": [
            {"op": "ZZ", "coef": "0.5*nz"}, {"op": "XI", "coef": 0.3}, {"op": "IX", "coef": "0.3*nx"}],
         "initial.quantum.ket": [[1, 0], [0, 0], [0, 0], [0, 0]]},
    ])
    ds = sq.sweep(spec, out=tmp_path, scheduler=client, progress=False)
    assert ds["case"].values.tolist() == ["good", "bad-hbar", "too-sharp", "two-qubits"]
    st = ds["status"].to_series().to_dict()
    assert st == {"good": "ok", "bad-hbar": "config_error", "too-sharp": "numerical_failure",
                  "two-qubits": "ok"}
    assert ds["exit_code"].values.tolist() == [0, 2, 3, 0]
    reason = ds["reason"].to_series()
    assert reason["bad-hbar"].startswith("model.hbar = -1")
    assert "min_rho" in reason["too-sharp"] and "lost positivity" in reason["too-sharp"]
    assert reason["good"] == "" and ds["t_last"].sel(case="too-sharp") == 0.0
    # the others keep their results; failed cases have NaN final values
    good = sq.Simulation(sw.load_sweep(spec).iter_cases()[0].raw).run()
    assert ds["energy"].sel(case="good") == good["energy"].values[-1]
    assert np.isnan(ds["energy"].sel(case="bad-hbar")) and np.isnan(ds["mass"].sel(case="too-sharp"))
    assert np.isfinite(ds["mass"].sel(case="two-qubits"))
    # N = 2 and N = 4 share the i, j axes: NaN pads the missing entries
    assert ds.sizes["i"] == 4 and np.isnan(ds["rho_q_real"].sel(case="good", i=3, j=3))
    four = sq.Simulation(sw.load_sweep(spec).iter_cases()[3].raw).run().isel(time=-1)
    np.testing.assert_array_equal(ds["rho_q_real"].sel(case="two-qubits").values,
                                  four["rho_q_real"].values)
    # the stopped case keeps its time series up to the stop
    assert np.isfinite(ds["mass_series"].sel(case="too-sharp", time=0.0))
    assert np.isnan(ds["mass_series"].sel(case="too-sharp")).values[1:].all()
    status = json.loads((tmp_path / "too-sharp" / "status.json").read_text())
    assert status["status"] == "numerical_failure" and status["exit_code"] == 3


def test_rerun_completes_only_missing_cases(client, tmp_path):
    spec = sweep_dict(product={"grid.lmax": [15, 17, 19]})
    first = sq.sweep(spec, out=tmp_path, scheduler=client, progress=False)
    names = first["case_dir"].values.tolist()
    stamps = {n: (tmp_path / n / "diagnostics.nc").stat().st_mtime_ns for n in names}
    # interruptions: the middle case stopped at t = 0.04 (no status file, no final
    # checkpoint), the last one before its first output (an empty directory)
    # (its diagnostics.nc stays, with records past the checkpoint it resumes from: they
    # are dropped and written again)
    (tmp_path / names[1] / "status.json").unlink()
    last = list_checkpoints(tmp_path / names[1])[-1]
    assert int(last.stem.split("_")[1]) == 8  # the one at t_end
    last.unlink()
    shutil.rmtree(tmp_path / names[2])
    (tmp_path / names[2]).mkdir()
    second = sq.sweep(spec, out=tmp_path, scheduler=client.scheduler.address,  # --scheduler
                      progress=False)
    assert (second["status"] == "ok").all()
    assert (tmp_path / names[0] / "diagnostics.nc").stat().st_mtime_ns == stamps[names[0]]
    assert json.loads((tmp_path / names[1] / "status.json").read_text())["resumed_from"] == 0.04
    assert json.loads((tmp_path / names[2] / "status.json").read_text())["resumed_from"] is None
    for v in ("energy", "purity", "rho_q_real", "mass_series", "n_mean_series"):
        np.testing.assert_array_equal(second[v].values, first[v].values)
    # a changed case is not "finished": only it runs again
    stamps = {n: (tmp_path / n / "diagnostics.nc").stat().st_mtime_ns for n in names}
    spec["sweep"]["product"]["grid.lmax"] = [15, 17, 21]
    third = sq.sweep(spec, out=tmp_path, scheduler=client, progress=False)
    for n in names[:2]:
        assert (tmp_path / n / "diagnostics.nc").stat().st_mtime_ns == stamps[n]
    assert third["grid.lmax"].values.tolist() == [15, 17, 21]
    assert (third["status"] == "ok").all()


def test_cli_sweep_local_cluster(tmp_path, capsys):
    pytest.importorskip("distributed")
    from spectral_qc.cli import main

    path = tmp_path / "lmax.toml"
    path.write_text("""
[grid]
lmax = 15
[model]
kind = "ehrenfest"
[hamiltonian]
terms = [{ op = "Z", coef = "0.5*nz" }]
[time]
t_end = 0.04
dt = 0.01
output_every = 0.02
[output]
dir = "unused-by-the-test"
figures = false
[sweep.product]
"grid.lmax" = [15, 17]
[[sweep.cases]]
name = "a"
[[sweep.cases]]
"model.spin_magnitude" = 2.0
""")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "4 ok" in err and "sweep.nc" in err
    ds = sq.open_sweep(out)
    assert ds["status"].dims == ("case", "grid.lmax")
    assert ds["case"].values.tolist() == ["a", "model.spin_magnitude=2"]
    assert ds["model.spin_magnitude"].values.tolist() == [1.0, 2.0]  # default filled in
    assert (out / "model.spin_magnitude=2__grid.lmax=17" / "config.toml").is_file()
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1",
                 "--scheduler", "tcp://127.0.0.1:1"]) == 2
