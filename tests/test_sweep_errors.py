"""Sweep cases that cannot run (issue 13): an invalid case is ``config_error`` / exit 2
and keeps its raw config as ``config.toml``; an unreachable ``--scheduler`` is one line,
exit 2, and leaves no directory."""

import copy
import importlib
import json
import tomllib

import pytest

import spectral_qc as sq
from spectral_qc.errors import ConfigError

case = importlib.import_module("spectral_qc.sweep.case")
cluster = importlib.import_module("spectral_qc.sweep.cluster")

BASE = {
    "grid": {"lmax": 15},
    "model": {"kind": "ehrenfest"},
    "hamiltonian": {"terms": [{"op": "Z", "coef": "0.5*nz"}, {"op": "X", "coef": 0.3}]},
    "initial": {"classical": {"kappa": 3.0, "center": [0.0, 0.6, 0.8]},
                "quantum": {"bloch": [1.0, 0.0, 0.0]}},
    "time": {"t_end": 0.04, "dt": 0.01, "output_every": 0.02},
    "output": {"figures": False},
}


def test_raw_toml_reads_back_as_the_raw_config():
    raw = copy.deepcopy(BASE)
    raw["model"]["hbar"] = -1.0           # invalid values are written as given
    raw["solver"] = {"stop": {"tail_max": 0.5}, "scheme": "yoshida4"}
    raw["extra_key"] = "kept"              # so are unknown keys
    assert tomllib.loads(case.raw_toml(raw)) == raw


def test_run_case_config_error_keeps_config(tmp_path):
    raw = copy.deepcopy(BASE)
    raw["model"]["hbar"] = -1.0
    rec = case.run_case(raw, tmp_path / "bad")
    assert rec["status"] == "config_error" and rec["exit_code"] == 2
    assert rec["reason"].startswith("model.hbar = -1")
    status = json.loads((tmp_path / "bad" / "status.json").read_text())
    assert status["status"] == "config_error" and status["exit_code"] == 2
    assert status["reason"] == rec["reason"] and "versions" in status
    written = tomllib.loads((tmp_path / "bad" / "config.toml").read_text())
    assert written["model"]["hbar"] == -1.0
    assert written["output"]["dir"] == str(tmp_path / "bad")
    with pytest.raises(ConfigError, match=r"^model\.hbar = -1"):
        sq.config.load_config(written)
    assert not (tmp_path / "bad" / "diagnostics.nc").exists()


def test_sweep_config_error_case(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = {**copy.deepcopy(BASE), "sweep": {"cases": [
        {"name": "good"}, {"name": "bad-kappa", "initial.classical.kappa": -2.0}]}}
    (tmp_path / "bad-kappa").mkdir()
    (tmp_path / "bad-kappa" / "diagnostics.nc").write_text("from an earlier, valid run")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as lc, distributed.Client(lc) as c:
        ds = sq.sweep(spec, out=tmp_path, scheduler=c, progress=False)
    assert ds["status"].values.tolist() == ["ok", "config_error"]
    assert ds["exit_code"].values.tolist() == [0, 2]
    bad = tmp_path / "bad-kappa"
    status = json.loads((bad / "status.json").read_text())
    assert status["status"] == "config_error" and status["exit_code"] == 2
    assert "initial.classical.kappa" in status["reason"]
    written = tomllib.loads((bad / "config.toml").read_text())
    assert written["initial"]["classical"]["kappa"] == -2.0
    assert written["grid"] == BASE["grid"]
    assert not (bad / "diagnostics.nc").exists()  # no leftover that looks like a result


def test_unreachable_scheduler(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    from spectral_qc.cli import main

    monkeypatch.setattr(cluster, "SCHEDULER_TIMEOUT", 1.0)
    path = tmp_path / "s.toml"
    path.write_text('[grid]\nlmax = 15\n[model]\nkind = "ehrenfest"\n[hamiltonian]\n'
                    'terms = [{ op = "Z", coef = "0.5*nz" }]\n[time]\nt_end = 0.02\n'
                    'dt = 0.01\noutput_every = 0.02\n[sweep.product]\n"grid.lmax" = [15]\n')
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["sweep", str(path), "--out", str(out), "--scheduler",
                 "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "--scheduler tcp://127.0.0.1:1" in err
    assert not out.exists()


def test_interrupted_cases_become_pending(tmp_path):
    """After Ctrl-C the cases without a final outcome are pending, whatever their task wrote
    while the cluster was torn down (it used to be "error: ConnectionPool is closed")."""
    from spectral_qc.sweep.spec import load_sweep

    spec = load_sweep({**copy.deepcopy(BASE), "sweep": {"product": {"model.hbar": [0.5, 1.0,
                                                                                 2.0]}}})
    plan = cluster._plan(spec, tmp_path, resume=False)
    a, b, c = (tmp_path / x.name for x in plan.cases)
    a.mkdir()
    b.mkdir()
    case.update_status(a, {"status": "ok", "exit_code": 0})
    case.update_status(b, {"status": "error", "exit_code": 1,
                           "reason": "RuntimeError: ConnectionPool is closed"})
    cluster._mark_interrupted(plan, [0, 1, 2])  # c has no status.json at all
    got = [json.loads((d / "status.json").read_text())["status"] for d in (a, b, c)]
    assert got == ["ok", "pending", "pending"]
