"""Bad files (issue 13): undecodable or BOM configs, truncated or foreign checkpoints.

Each must end in exit code 2 with one line on stderr that names the file and the fix,
no traceback, and nothing created that looks like a result.
"""

import shutil

import numpy as np
import pytest
import xarray as xr

from spectral_qc import io as sio
from spectral_qc.errors import ConfigError

from .test_cli import call, small_config, to_toml, write_config

GOOD = to_toml(small_config()).encode("utf-8")


def _one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("content, expected", [
    pytest.param(b"\xef\xbb\xbf" + GOOD, "byte-order mark", id="utf8-bom"),
    pytest.param("\ufeff".encode("utf-16-le") + GOOD.decode().encode("utf-16-le"),
                 "not UTF-8", id="utf16"),
    pytest.param(GOOD.replace(b'kind = "hybrid"', b'kind = "hybrid" # caf\xe9'),
                 "byte 0xe9 at offset", id="latin1"),
    pytest.param(bytes(range(256)) * 4, "not UTF-8", id="binary"),
    pytest.param(b"\x00\x01\x02 binary but valid UTF-8", "invalid TOML", id="nul-bytes"),
])
def test_undecodable_config_exits_2_with_one_line(tmp_path, capsys, content, expected):
    cfg = tmp_path / "bad.toml"
    cfg.write_bytes(content)
    out = tmp_path / "run"
    code, stdout, err = call(["run", cfg, "--out", out], capsys)
    assert code == 2
    line = _one_line(err)
    assert expected in line and str(cfg) in line
    assert not out.exists()  # nothing that looks like a result


def _finished_run(tmp_path, capsys):
    cfg = write_config(tmp_path / "c.toml", small_config(
        time={"t_end": 0.08}, output={"fields": False, "checkpoint_every": 0.04}))
    out = tmp_path / "run"
    code, _, err = call(["run", cfg, "--out", out, "--quiet"], capsys)
    assert code == 0, err
    assert [p.name for p in sio.list_checkpoints(out)] == ["step_000000004.npz",
                                                           "step_000000008.npz"]
    return out


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _foreign(path):
    with open(path, "wb") as fh:
        np.savez(fh, weights=np.arange(3.0))


def _text(path):
    path.write_text("not a checkpoint\n")


def _empty(path):
    path.write_bytes(b"")


def _real_numbers(path):  # the right names, but rho_lm is a real grid field
    ck = sio.load_checkpoint(path)
    with open(path, "wb") as fh:
        np.savez(fh, rho_lm=ck["rho_lm"].real, p_lm=ck["p_lm"], iteration=8, t0=0.0,
                 dt=0.01, tail_history=np.zeros((0, 2)))


@pytest.mark.parametrize("damage", [_truncate, _foreign, _text, _empty, _real_numbers],
                         ids=["truncated", "foreign-npz", "text", "empty", "real-valued"])
def test_damaged_checkpoint_names_the_file_and_the_previous_one(tmp_path, capsys, damage):
    out = _finished_run(tmp_path, capsys)
    bad = out / "checkpoints" / "step_000000008.npz"
    damage(bad)
    code, _, err = call(["resume", out, "--t-end", "0.1"], capsys)
    assert code == 2
    line = _one_line(err)
    assert str(bad) in line
    assert "delete it to resume from the previous checkpoint" in line
    assert str(out / "checkpoints" / "step_000000004.npz") in line


def test_following_the_fix_resumes_bit_for_bit(tmp_path, capsys):
    out = _finished_run(tmp_path, capsys)
    before = xr.load_dataset(out / "diagnostics.nc")
    _truncate(out / "checkpoints" / "step_000000008.npz")
    assert call(["resume", out], capsys)[0] == 2
    (out / "checkpoints" / "step_000000008.npz").unlink()       # the fix the message gives
    code, _, err = call(["resume", out, "--quiet"], capsys)     # from t = 0.04 to 0.08
    assert code == 0, err
    after = xr.load_dataset(out / "diagnostics.nc")
    assert np.array_equal(after["time"].values, before["time"].values)
    for k in before.data_vars:
        assert np.array_equal(after[k].values, before[k].values, equal_nan=True), k


def test_the_only_checkpoint_damaged_says_start_again(tmp_path, capsys):
    out = _finished_run(tmp_path, capsys)
    (out / "checkpoints" / "step_000000004.npz").unlink()
    _truncate(out / "checkpoints" / "step_000000008.npz")
    code, _, err = call(["resume", out], capsys)
    assert code == 2
    line = _one_line(err)
    assert "no earlier checkpoint" in line and "spectral-qc run" in line


def test_load_checkpoint_raises_config_error(tmp_path):
    path = tmp_path / "x.npz"
    _foreign(path)
    with pytest.raises(ConfigError, match="not a spectral_qc checkpoint.*'rho_lm'"):
        sio.load_checkpoint(path)
    shutil.rmtree(tmp_path)
    with pytest.raises(FileNotFoundError):
        sio.load_checkpoint(path)
