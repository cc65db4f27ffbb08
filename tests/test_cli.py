"""The spectral-qc command line: outputs, exit codes, bad input, interruption and resume."""

import io
import json
import math
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

# shtns' OpenMP threads only slow these small grids down (and oversubscribe shared CI
# machines); the CLI makes the same choice for lmax < 128. Must precede the first grid.

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import spectral_qc as sq  # noqa: E402
from spectral_qc import cli, runs  # noqa: E402
from spectral_qc.config import load_config  # noqa: E402
from spectral_qc.io import RunWriter  # noqa: E402

HAM = [{"op": "I", "coef": "0.5*nz**2 + 0.3*nx"}, {"op": "X", "coef": "0.5*nx"},
       {"op": "Y", "coef": "0.5*ny"}, {"op": "Z", "coef": "0.5*nz + 0.35"}]

DIAGNOSTICS = ["mass", "energy", "rho_q_real", "rho_q_imag", "purity", "min_eig_rho_q",
               "min_rho", "min_eig_P", "casimir_trP2", "entropy", "berry_casimir", "n_mean",
               "spectral_tail"]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if v != v else ("inf" if v > 0 else "-inf")
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def to_toml(cfg):
    lines = []

    def table(name, t):
        lines.append(f"[{name}]")
        subs = []
        for k, v in t.items():
            if isinstance(v, dict):
                subs.append((k, v))
            else:
                lines.append(f"{k} = {toml_value(v)}")
        for k, v in subs:
            table(f"{name}.{k}", v)

    for name, t in cfg.items():
        table(name, t)
    return "\n".join(lines) + "\n"


def small_config(**sections):
    """A fast config: regularized hybrid at lmax 15, 10 steps."""
    cfg = {
        "grid": {"lmax": 15},
        "model": {"kind": "hybrid", "regularization": "heat_kernel", "alpha": 0.01},
        "hamiltonian": {"terms": [dict(t) for t in HAM]},
        "initial": {"classical": {"kind": "von_mises_fisher", "center": [0.0, 0.0, 1.0],
                                  "kappa": 2.0},
                    "quantum": {"bloch": [1.0, 0.0, 0.0]}},
        "time": {"t_end": 0.1, "dt": 0.01, "output_every": 0.02},
        "output": {"dir": "unused", "fields": True, "figures": False,
                   "checkpoint_every": 0.04},
    }
    for name, t in sections.items():
        cfg[name] = {**cfg.get(name, {}), **t}
    return cfg


def write_config(path, cfg):
    path.write_text(to_toml(cfg))
    return path


def call(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def arrays(run_dir, name="diagnostics.nc"):
    ds = xr.load_dataset(Path(run_dir) / name)
    return {k: ds[k].values for k in list(ds.data_vars) + ["time"]}


def assert_bit_identical(a_dir, b_dir, name="diagnostics.nc"):
    a, b = arrays(a_dir, name), arrays(b_dir, name)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k], equal_nan=True), k


# ------------------------------------------------------------------------- outputs
def test_run_writes_documented_outputs(tmp_path, capsys):
    cfg = write_config(tmp_path / "c.toml", small_config(output={"figures": True}))
    out = tmp_path / "run"
    code, _, err = call(["run", cfg, "--out", out, "--quiet"], capsys)
    assert code == 0, err
    assert err == ""  # quiet and no TTY: no bar, no info lines
    for name in ("config.toml", "diagnostics.nc", "fields.nc"):
        assert (out / name).is_file(), name
    assert load_config(out / "config.toml").output.dir == str(out)

    ds = xr.open_dataset(out / "diagnostics.nc")
    try:
        assert set(DIAGNOSTICS) <= set(ds.data_vars)
        np.testing.assert_allclose(ds["time"].values, [0, .02, .04, .06, .08, .1], atol=1e-12)
        assert ds["rho_q_real"].dims == ("time", "i", "j")
        assert ds["n_mean"].dims == ("time", "xyz")
        for v in DIAGNOSTICS:
            assert ds[v].attrs["units"] and ds[v].attrs["long_name"], v
        assert ds.attrs["spectral_qc_version"] == sq.__version__
        assert load_config(tomllib.loads(ds.attrs["config"])) == load_config(out / "config.toml")
        assert np.allclose(ds["mass"].values, 1.0, atol=1e-10)
    finally:
        ds.close()

    f = xr.open_dataset(out / "fields.nc")
    try:
        grid = sq.SphereGrid(15)
        assert f["rho"].dims == ("time", "theta", "phi")
        assert f["P_real"].dims == f["P_imag"].dims == ("time", "i", "j", "theta", "phi")
        assert f.sizes["time"] == 6 and f.sizes["i"] == 2
        np.testing.assert_array_equal(f["theta"].values, grid.theta)
        np.testing.assert_allclose(f["phi"].values, 2 * np.pi * np.arange(grid.nphi) / grid.nphi)
        # P has unit trace, ϱ integrates to 1
        tr = f["P_real"].values[:, 0, 0] + f["P_real"].values[:, 1, 1]
        np.testing.assert_allclose(tr, 1.0, atol=1e-10)
        np.testing.assert_allclose((f["rho"].values[-1] * grid.weights).sum(), 1.0, atol=1e-10)
    finally:
        f.close()

    ckpts = sorted(p.name for p in (out / "checkpoints").glob("*.npz"))
    # written at t = 0, 0.04, 0.08 and t_end = 0.1; the latest 2 kept (output.keep_checkpoints)
    assert ckpts == ["step_000000008.npz", "step_000000010.npz"]
    figs = {p.name for p in (out / "figures").glob("*.png")}
    assert {"maps_rho.png", "maps_bloch.png", "drifts.png", "purity.png", "positivity.png",
            "spectral_tail.png"} <= figs
    assert not list(out.rglob(".*tmp*"))  # no temporary files left behind

    run = sq.open_run(out)
    assert isinstance(run.diagnostics, xr.Dataset) and isinstance(run.fields, xr.Dataset)
    assert run.config == load_config(out / "config.toml")
    assert run["diagnostics"] is run.diagnostics
    assert len(run.checkpoints) == 2 and len(run.figures) == len(figs)

    # plot DIR regenerates the figures
    for p in (out / "figures").glob("*.png"):
        p.unlink()
    code, stdout, err = call(["plot", out], capsys)
    assert code == 0, err
    assert {p.name for p in (out / "figures").glob("*.png")} == figs
    assert len(stdout.splitlines()) == len(figs)


def test_set_overrides_and_no_fields(tmp_path, capsys):
    cfg = write_config(tmp_path / "c.toml", small_config())
    out = tmp_path / "run"
    code, _, err = call(["run", cfg, "--out", out, "--quiet", "--set", "time.t_end=0.04",
                         "--set", "output.fields=false", "--set", "model.kind=ehrenfest",
                         "--set", "model.regularization=none", "--set", "model.alpha=0"],
                        capsys)
    assert code == 0, err
    assert not (out / "fields.nc").exists()
    run = sq.open_run(out)
    assert run.fields is None
    assert run.config.model.kind == "ehrenfest" and run.config.time.t_end == 0.04
    assert run.diagnostics.attrs["model"] == "ehrenfest"
    np.testing.assert_allclose(run.diagnostics["time"].values, [0, .02, .04], atol=1e-12)


def test_progress_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    class TTY(io.StringIO):
        def isatty(self):
            return True

    cfg = write_config(tmp_path / "c.toml", small_config(time={"t_end": 0.04},
                                                         output={"fields": False}))
    monkeypatch.setattr(runs, "PROGRESS_DELAY", 0.0)
    for quiet in (False, True):
        err = TTY()
        monkeypatch.setattr(sys, "stderr", err)
        argv = ["run", str(cfg), "--out", str(tmp_path / f"r{quiet}")] + ["--quiet"] * quiet
        assert cli.main(argv) == 0
        monkeypatch.undo()
        monkeypatch.setattr(runs, "PROGRESS_DELAY", 0.0)
        text = err.getvalue()
        if quiet:
            assert text == ""
        else:
            assert "step" in text and "/4" in text


# ----------------------------------------------------------------------- bad input
def _mod(path_value):
    """A config modifier setting a dotted key (None deletes it)."""
    def apply(cfg):
        *tables, leaf = path_value[0].split(".")
        node = cfg
        for t in tables:
            node = node.setdefault(t, {})
        if path_value[1] is None:
            node.pop(leaf, None)
        else:
            node[leaf] = path_value[1]
        return cfg
    return apply


def _term(coef=None, op="X", index=1):
    def apply(cfg):
        t = cfg["hamiltonian"]["terms"][index]
        t["op"] = op
        if coef is not None:
            t["coef"] = coef
        return cfg
    return apply


INVALID = [  # (id, modifier, text that must appear in the message)
    ("lmax-zero", _mod(("grid.lmax", 0)), "grid.lmax"),
    ("lmax-float", _mod(("grid.lmax", 15.5)), "grid.lmax"),
    ("unknown-key", _mod(("grid.lmx", 15)), "grid.lmx"),
    ("unknown-section", _mod(("gird.lmax", 15)), "gird"),
    ("model-kind", _mod(("model.kind", "quantum")), "model.kind"),
    ("hbar-zero", _mod(("model.hbar", 0.0)), "model.hbar"),
    ("hbar-negative", _mod(("model.hbar", -1.0)), "model.hbar"),
    ("spin-zero", _mod(("model.spin_magnitude", 0.0)), "model.spin_magnitude"),
    ("alpha-negative", _mod(("model.alpha", -0.1)), "model.alpha"),
    ("alpha-needed", _mod(("model.alpha", 0.0)), "model.alpha"),
    ("regularization", _mod(("model.regularization", "magic")), "model.regularization"),
    ("kappa-negative", _mod(("initial.classical.kappa", -1.0)), "initial.classical.kappa"),
    ("center-zero", _mod(("initial.classical.center", [0.0, 0.0, 0.0])),
     "initial.classical.center"),
    ("bloch-long", _mod(("initial.quantum.bloch", [1.0, 1.0, 0.0])), "initial.quantum.bloch"),
    ("density-non-hermitian", _mod(("initial.quantum.density",
                                    [[[0.5, 0], [0.3, 0]], [[0.1, 0], [0.5, 0]]])),
     "initial.quantum.density"),
    ("density-non-positive", _mod(("initial.quantum.density",
                                   [[[1.5, 0], [0, 0]], [[0, 0], [-0.5, 0]]])),
     "initial.quantum.density"),
    ("ket-length", _mod(("initial.quantum.ket", [[1, 0], [0, 0], [0, 0]])),
     "initial.quantum.ket"),
    ("dt-zero", _mod(("time.dt", 0.0)), "time.dt"),
    ("dt-nan", _mod(("time.dt", float("nan"))), "time.dt"),
    ("t_end-negative", _mod(("time.t_end", -1.0)), "time.t_end"),
    ("t_end-inf", _mod(("time.t_end", float("inf"))), "time.t_end"),
    ("output-every", _mod(("time.output_every", 0.015)), "time.output_every"),
    ("checkpoint-every", _mod(("output.checkpoint_every", 0.03)), "output.checkpoint_every"),
    ("fields-type", _mod(("output.fields", "yes")), "output.fields"),
    ("pauli-mixed-lengths", _term(op="XZ"), "hamiltonian.terms"),
    ("pauli-unknown", _term(op="Q"), "hamiltonian.terms"),
    ("coef-unknown-name", _term(coef="0.5*nw"), "hamiltonian.terms"),
    ("coef-attribute", _term(coef="nx.real"), "hamiltonian.terms"),
    ("coef-infinite", _term(coef="log(nz)"), "hamiltonian.terms"),
    ("hamiltonian-missing", _mod(("hamiltonian.terms", None)), "hamiltonian"),
    ("liouville-non-identity", lambda c: _mod(("model.alpha", 0.0))(_mod(
        ("model.regularization", "none"))(_mod(("model.kind", "liouville"))(c))),
     "hamiltonian.terms"),
]


@pytest.mark.parametrize("modify, needle", [(m, n) for _, m, n in INVALID],
                         ids=[i for i, _, _ in INVALID])
def test_invalid_config_exits_2_with_one_line(tmp_path, capsys, modify, needle):
    cfg = write_config(tmp_path / "bad.toml", modify(small_config()))
    out = tmp_path / "run"
    code, _, err = call(["run", cfg, "--out", out], capsys)
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("spectral-qc: error: ")
    assert needle in err, err
    assert not (out / "diagnostics.nc").exists()


@pytest.mark.parametrize("argv, needle", [
    (["run", "{missing}"], "missing.toml"),
    (["run", "{badtoml}"], "invalid TOML"),
    (["run", "{good}", "--set", "time.dtt=0.1"], "time.dtt"),
    (["run", "{good}", "--set", "time.dt"], "time.dt"),
    (["run", "{good}", "--set", "time.dt=abc"], "time.dt"),
    (["resume", "{tmp}/nowhere"], "nowhere"),
    (["resume", "{tmp}", "--t-end", "x"], "--t-end"),
    (["plot", "{tmp}/nowhere"], "nowhere"),
    (["run", "{good}", "--out", "{afile}"], "output directory"),
    (["frobnicate"], "frobnicate"),
    ([], "required"),
], ids=["missing-file", "bad-toml", "set-unknown", "set-no-equals", "set-bad-value",
        "resume-missing", "resume-bad-t-end", "plot-missing", "out-is-a-file", "bad-command",
        "no-command"])
def test_bad_command_line_exits_2(tmp_path, capsys, argv, needle):
    (tmp_path / "bad.toml").write_text("[grid\nlmax = 3\n")
    write_config(tmp_path / "good.toml", small_config())
    names = {"missing": tmp_path / "missing.toml", "badtoml": tmp_path / "bad.toml",
             "good": tmp_path / "good.toml", "tmp": tmp_path, "afile": tmp_path / "bad.toml"}
    code, _, err = call([a.format(**names) for a in argv], capsys)
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert needle in err, err


INJECTION = "__import__('os').system('touch PWNED')"


def test_expression_injection_is_rejected_without_running(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = write_config(tmp_path / "evil.toml", _term(coef=INJECTION)(small_config()))
    code, _, err = call(["run", cfg, "--out", tmp_path / "run"], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "hamiltonian.terms" in err
    good = write_config(tmp_path / "good.toml", small_config())
    code, _, err = call(["run", good, "--out", tmp_path / "run", "--set",
                         f'hamiltonian.terms=[{{op="X", coef="{INJECTION}"}}]'], capsys)
    assert code == 2 and "Traceback" not in err and "hamiltonian.terms" in err
    time.sleep(0.2)
    assert not (tmp_path / "PWNED").exists()
    assert not list(tmp_path.rglob("PWNED"))


# --------------------------------------------------------- interruption and resume
def _interrupt_in_callback(monkeypatch, after_outputs):
    calls = {"n": 0}
    original = RunWriter.__call__

    def interrupting(self, sim, t, d):
        original(self, sim, t, d)
        calls["n"] += 1
        if calls["n"] == after_outputs:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunWriter, "__call__", interrupting)


def _interrupt_in_step(monkeypatch, after_steps):
    calls = {"n": 0}
    original = sq.Simulation.step

    def interrupting(self):
        calls["n"] += 1
        if calls["n"] == after_steps:
            original(self)  # interrupted after the state moved past the last output
            raise KeyboardInterrupt
        original(self)

    monkeypatch.setattr(sq.Simulation, "step", interrupting)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """One uninterrupted run of small_config to t = 0.1."""
    d = tmp_path_factory.mktemp("ref")
    cfg = write_config(d / "c.toml", small_config())
    assert cli.main(["run", str(cfg), "--out", str(d / "run"), "--quiet"]) == 0
    return d / "run"


@pytest.mark.parametrize("where", ["callback", "step"])
def test_interrupt_then_resume_is_bit_identical(tmp_path, capsys, monkeypatch, reference_run,
                                                where):
    cfg = write_config(tmp_path / "c.toml", small_config())
    out = tmp_path / "run"
    if where == "callback":
        _interrupt_in_callback(monkeypatch, after_outputs=4)   # at t = 0.06, no checkpoint
    else:
        _interrupt_in_step(monkeypatch, after_steps=7)          # at t = 0.07, between outputs
    code, _, err = call(["run", cfg, "--out", out], capsys)
    monkeypatch.undo()
    assert code == 130, err
    assert "resume" in err and "Traceback" not in err
    ds = xr.load_dataset(out / "diagnostics.nc")  # outputs so far are readable
    np.testing.assert_allclose(ds["time"].values, [0, .02, .04, .06], atol=1e-12)
    assert (out / "checkpoints" / "step_000000006.npz").is_file()

    code, _, err = call(["resume", out, "--quiet"], capsys)
    assert code == 0, err
    assert_bit_identical(out, reference_run)
    assert_bit_identical(out, reference_run, "fields.nc")


@pytest.mark.parametrize("first_t_end", [0.06, 0.05],
                         ids=["on-output-grid", "between-outputs"])
def test_run_then_extend_is_bit_identical(tmp_path, capsys, reference_run, first_t_end):
    cfg = write_config(tmp_path / "c.toml", small_config(time={"t_end": first_t_end}))
    out = tmp_path / "run"
    code, _, err = call(["run", cfg, "--out", out, "--quiet"], capsys)
    assert code == 0, err
    assert xr.load_dataset(out / "diagnostics.nc")["time"].values[-1] == pytest.approx(
        first_t_end)
    code, _, err = call(["resume", out, "--t-end", "0.1", "--quiet"], capsys)
    assert code == 0, err
    assert_bit_identical(out, reference_run)
    assert_bit_identical(out, reference_run, "fields.nc")
    assert load_config(out / "config.toml").time.t_end == 0.1
    # resuming a finished run changes nothing; an earlier end time is bad input
    code, _, err = call(["resume", out, "--quiet"], capsys)
    assert code == 0, err
    assert_bit_identical(out, reference_run)
    code, _, err = call(["resume", out, "--t-end", "0.05"], capsys)
    assert code == 2 and "--t-end" in err and len(err.strip().splitlines()) == 1


def _default_sigint():
    """In the child before exec: SIGINT as a terminal delivers it to a fresh process
    (default disposition, not blocked), whatever the test process inherited."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_to_a_process_then_resume(tmp_path):
    """A real Ctrl-C: SIGINT to a running spectral-qc process, exit 130, then resume."""
    # 1200 steps: under load the parent may not be scheduled for a while after the first
    # checkpoint, and the run must still be going when the signal arrives
    cfg = write_config(tmp_path / "c.toml", small_config(time={"t_end": 0.6, "dt": 0.0005}))
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "spectral_qc.cli"]
    proc = subprocess.Popen(cmd + ["run", str(cfg), "--out", str(out)], env=env,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    deadline = time.time() + 60
    while not (out / "checkpoints" / "step_000000080.npz").exists():  # t = 0.04 written
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1]
    if proc.returncode == 0:  # finished before the signal arrived: nothing to test
        pytest.fail("run finished before SIGINT; make it longer (parent: SIGINT handler "
                    f"{signal.getsignal(signal.SIGINT)}, blocked "
                    f"{signal.pthread_sigmask(signal.SIG_BLOCK, [])})\n" + err[-2000:])
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "resume" in err
    done = subprocess.run(cmd + ["resume", str(out)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    single = tmp_path / "single"
    assert cli.main(["run", str(cfg), "--out", str(single), "--quiet"]) == 0
    assert_bit_identical(out, single)
    assert_bit_identical(out, single, "fields.nc")


# -------------------------------------------------------------- numerical failure
def test_unregularized_hybrid_exits_3_with_outputs(tmp_path, capsys):
    """The note's case: demo Hamiltonian, vMF κ = 2, bloch [1, 0, 0], lmax 31, dt 0.005."""
    cfg = write_config(tmp_path / "c.toml", small_config(
        grid={"lmax": 31}, model={"regularization": "none", "alpha": 0.0},
        time={"t_end": 1.0, "dt": 0.005, "output_every": 0.05},
        output={"fields": False, "figures": True, "checkpoint_every": 0.1}))
    out = tmp_path / "run"
    code, _, err = call(["run", cfg, "--out", out, "--quiet"], capsys)
    assert code == 3, err
    assert "Traceback" not in err
    line = [ln for ln in err.splitlines() if "numerical failure" in ln]
    assert len(line) == 1, err
    t_stop = float(line[0].split("t = ")[1].split(":")[0])
    assert 0.25 < t_stop < 0.6, err
    assert "Likely cause" in err and "regulariz" in err
    assert any(q in err for q in ("spectral_tail", "min_rho", "min_eig_P", "state"))
    ds = xr.load_dataset(out / "diagnostics.nc")
    t = ds["time"].values
    assert t[0] == 0 and t[-1] <= t_stop + 1e-12 and t[-1] > t_stop - 0.05 - 1e-9
    assert np.all(np.isfinite(ds["energy"].values))
    run = sq.open_run(out)
    assert run.checkpoints and run.failure == out / "checkpoints" / "failure.npz"
    assert {"maps_rho.png", "maps_bloch.png", "spectral_tail.png"} <= {p.name for p in
                                                                        run.figures}
    stopped = sq.io.load_checkpoint(run.failure)
    assert stopped["t0"] + stopped["iteration"] * stopped["dt"] == pytest.approx(t_stop)


# ------------------------------------------------------------------------ the demo
def test_demo_config_is_valid():
    c = cli.demo_config()
    assert c.model.kind == "hybrid" and c.model.regularization == "heat_kernel"
    assert c.model.alpha > 0 and c.grid.lmax == 31
    assert c.initial.quantum.value == (1.0, 0.0, 0.0) and c.initial.classical.kappa == 2.0
    ops = [t["op"] for t in c.hamiltonian.terms]
    assert ops == ["I", "X", "Y", "Z"]


def test_demo_layout(tmp_path, capsys, monkeypatch):
    """The demo's structure with a shortened config (the full demo runs in make demo)."""
    import dataclasses

    full = cli.demo_config()
    short = dataclasses.replace(full, grid=dataclasses.replace(full.grid, lmax=15),
                                time=dataclasses.replace(full.time, t_end=0.1))
    monkeypatch.setattr(cli, "demo_config", lambda: short)
    code, _, err = call(["demo", "--out", tmp_path / "demo", "--quiet"], capsys)
    assert code == 0, err
    for model in ("hybrid", "ehrenfest"):
        run = sq.open_run(tmp_path / "demo" / model)
        assert run.diagnostics.attrs["model"] == model
        assert run.config.model.kind == model
        assert {p.name for p in run.figures} >= {"maps_rho.png", "maps_bloch.png",
                                                 "drifts.png"}
    assert (tmp_path / "demo" / "comparison.png").stat().st_size > 10_000


def test_bad_input_in_a_real_process(tmp_path):
    """The installed entry point: one stderr line, exit 2, nothing executed (no warnings
    or tracebacks leak from numpy or the parser in a real process either)."""
    cfg = write_config(tmp_path / "evil.toml", _term(coef=INJECTION)(small_config()))
    for argv in (["run", str(cfg)],
                 ["run", str(write_config(tmp_path / "log.toml",
                                          _term(coef="log(nz)")(small_config())))]):
        done = subprocess.run([sys.executable, "-m", "spectral_qc.cli"] + argv, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert "hamiltonian.terms[1].coef" in done.stderr
    assert not list(tmp_path.rglob("PWNED"))
