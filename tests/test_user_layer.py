"""Bad input exits 2 with one line; check; provenance (issue 13 items 2–4, the runner's part)."""

import json
import tomllib

import pytest

from spectral_qc import cli
from spectral_qc.runs import STATUS_FILE

CONFIG = """
[grid]
lmax = 15
[model]
kind = "ehrenfest"
[hamiltonian]
terms = [{ op = "I", coef = "0.5*nz**2" }, { op = "Z", coef = "0.5*nz" }]
[time]
t_end = 0.04
dt = 0.01
output_every = 0.02
[output]
figures = false
"""


def one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("spectral-qc: error: "), err
    assert "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize("data, needle", [
    (b"\xff\xfe[grid]\n", "not UTF-8"),
    (CONFIG.replace("kind = \"ehrenfest\"", "kind = \"ehrenfest\"\nregularization = "
                    "\"heat_kernel\"\nalpha = 0.01").encode(), "model.regularization"),
    (CONFIG.replace("t_end = 0.04", "t_end = 0.045").encode(), "time.t_end = 0.045"),
    (CONFIG.replace("t_end = 0.04", "t_end = 1e9").encode(), "refused"),
], ids=["not-utf8", "regularization-unused", "t_end-off-grid", "too-many-outputs"])
def test_bad_input_exits_2_and_leaves_nothing(tmp_path, capsys, data, needle):
    path = tmp_path / "c.toml"
    path.write_bytes(data)
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    assert needle in one_error_line(capsys)
    assert not out.exists()


def test_check_prints_the_summary(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    assert cli.main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "16 × 32" not in out  # lmax 15 has the nlat ≥ 32 floor
    assert "32 × 64 (nlat × nphi)" in out and "4 steps, 3 outputs" in out
    assert "ms per step" in out
    path.write_text(CONFIG.replace("t_end = 0.04", "t_end = 1e4"))
    assert cli.main(["check", str(path)]) == 0  # check reports, run refuses
    assert "refuses this without --force" in capsys.readouterr().out


def test_non_empty_foreign_directory_needs_force(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    foreign = tmp_path / "papers"
    foreign.mkdir()
    (foreign / "draft.tex").write_text("x")
    assert cli.main(["run", str(path), "--out", str(foreign), "--quiet"]) == 2
    assert "not a spectral-qc run directory" in one_error_line(capsys)
    assert sorted(p.name for p in foreign.iterdir()) == ["draft.tex"]
    assert cli.main(["run", str(path), "--out", str(foreign), "--quiet", "--force"]) == 0


def test_rerun_removes_stale_outputs_and_records_status(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    out = tmp_path / "run"
    assert cli.main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    status = json.loads((out / STATUS_FILE).read_text())
    assert status["status"] == "ok" and status["exit_code"] == 0 and status["t_last"] == 0.04
    (out / "figures").mkdir(exist_ok=True)
    (out / "figures" / "old.png").write_bytes(b"stale")
    assert cli.main(["run", str(path), "--out", str(out), "--quiet"]) == 0  # a run dir
    assert not (out / "figures" / "old.png").exists()
    written = tomllib.loads((out / "config.toml").read_text())
    assert written["solver"]["scheme"] == "strang"
