"""spectral_qc.io: atomic writes, checkpoints, Simulation.restore, open_run."""

import numpy as np
import pytest
import xarray as xr

import spectral_qc as sq
from spectral_qc import io as sio

from .test_cli import small_config


def _sim(**sections):
    return sq.Simulation(small_config(**sections))


def test_checkpoint_roundtrip_is_exact(tmp_path):
    sim = _sim()
    sim.run(0.04)
    ck = sim.checkpoint()
    path = sio.save_checkpoint(tmp_path, ck)
    assert path.name == "step_000000004.npz"
    back = sio.load_checkpoint(path)
    assert np.array_equal(back["rho_lm"], ck["rho_lm"]) and back["rho_lm"].dtype == complex
    assert np.array_equal(back["p_lm"], ck["p_lm"])
    assert (back["iteration"], back["t0"], back["dt"]) == (4, 0.0, 0.01)
    assert back["tail_history"] == ck["tail_history"]
    assert back["records"] == []  # the history lives in diagnostics.nc, not in checkpoints


def test_checkpoint_size_does_not_grow_with_the_run(tmp_path):
    """State and clock only: a checkpoint after 10 outputs is as large as after 1."""
    sim = _sim(time={"output_every": 0.01})
    sim.run(0.01)
    early = sio.save_checkpoint(tmp_path / "a", sim.checkpoint())
    sim.run(0.1)
    late = sio.save_checkpoint(tmp_path / "b", sim.checkpoint())
    assert len(sim.records) == 11
    # the tail history may hold a few more (time, tail) pairs: 2 floats each
    assert abs(late.stat().st_size - early.stat().st_size) <= 16 * 8


def test_restore_continues_bit_for_bit(tmp_path):
    whole = _sim().run()
    part = _sim()
    part.run(0.06)
    path = sio.save_checkpoint(tmp_path, part.checkpoint())
    again = sq.Simulation.restore(part.config, sio.load_checkpoint(path))
    assert again.time == part.time and again.iteration == 6
    rest = again.run()  # records from the restart time on
    tail = whole.isel(time=slice(3, None))
    assert float(rest["time"][0]) == part.time
    for k in whole.data_vars:
        assert np.array_equal(tail[k].values, rest[k].values, equal_nan=True), k
    assert np.array_equal(tail["time"].values, rest["time"].values)


def test_write_dataset_is_atomic(tmp_path):
    path = tmp_path / "d.nc"
    good = xr.Dataset({"a": ("x", np.arange(3.0))})
    sio.write_dataset(good, path)
    bad = xr.Dataset({"a": ("x", np.arange(3.0))}, attrs={"bad": {"nested": 1}})
    with pytest.raises(Exception):
        sio.write_dataset(bad, path)
    assert np.array_equal(xr.load_dataset(path)["a"].values, np.arange(3.0))
    assert [p.name for p in tmp_path.iterdir()] == ["d.nc"]


def test_open_run_of_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.toml"):
        sq.open_run(tmp_path)


def test_run_writer_with_python_api(tmp_path):
    """RunWriter is usable from Python as the Simulation.run callback."""
    sim = _sim(output={"fields": False})
    writer = sio.RunWriter(sim, tmp_path)
    ds = sim.run(callback=writer)
    run = sq.open_run(tmp_path)
    assert run.fields is None
    for k in ds.data_vars:
        assert np.array_equal(ds[k].values, run.diagnostics[k].values, equal_nan=True), k
    assert [p.name for p in run.checkpoints][-1] == "step_000000010.npz"


def test_outputs_are_readable_at_every_output(tmp_path):
    """diagnostics.nc and fields.nc are complete files after every output (crash safety)."""
    sim = _sim()
    writer = sio.RunWriter(sim, tmp_path)
    seen = []

    def check(s, t, d):
        writer(s, t, d)
        diag = xr.load_dataset(tmp_path / "diagnostics.nc")
        fields = xr.load_dataset(tmp_path / "fields.nc")
        seen.append((diag.sizes["time"], fields.sizes["time"], float(diag["time"][-1])))

    sim.run(callback=check)
    assert [(a, b) for a, b, _ in seen] == [(k, k) for k in range(1, 7)]
    np.testing.assert_allclose([t for _, _, t in seen], [0, .02, .04, .06, .08, .1], atol=1e-12)


# ------------------------------------------------------------ appended outputs (issue 13)
def test_record_file_reads_back_like_the_library_writes(tmp_path):
    """Records appended by RecordFile read back (netCDF library) as the same dataset
    written whole by xarray: same values, dims, attributes and coordinates."""
    from spectral_qc import diagnostics as dg
    from spectral_qc.ncrecords import RecordFile

    sim = _sim(time={"output_every": 0.01})
    sim.run(0.05)
    whole = sim.dataset()
    rf = RecordFile(tmp_path / "d.nc", dg.to_dataset([], sim.model.N, attrs=sim._attrs()))
    for t, d in sim.records:
        rf.append(t, d)
        assert len(rf) == len(xr.load_dataset(tmp_path / "d.nc")["time"])
    rf.close()
    back = xr.load_dataset(tmp_path / "d.nc")
    assert back.attrs["config"] == whole.attrs["config"]
    assert list(back["xyz"].values) == ["x", "y", "z"]
    assert np.array_equal(back["time"].values, whole["time"].values)
    for k in whole.data_vars:
        assert back[k].dims == whole[k].dims, k
        assert back[k].attrs["units"] == whole[k].attrs["units"], k
        assert np.array_equal(back[k].values, whole[k].values, equal_nan=True), k


def test_record_file_refuses_a_wrong_shape(tmp_path):
    from spectral_qc import diagnostics as dg
    from spectral_qc.ncrecords import RecordFile

    sim = _sim()
    d = sim.record()
    rf = RecordFile(tmp_path / "d.nc", dg.to_dataset([], sim.model.N))
    with pytest.raises(ValueError, match="n_mean"):
        rf.append(0.0, {**d, "n_mean": np.zeros(4)})
    rf.append(0.0, d)
    assert xr.load_dataset(tmp_path / "d.nc").sizes["time"] == 1


_APPENDER = """
import sys, numpy as np
from spectral_qc import diagnostics as dg
from spectral_qc.ncrecords import RecordFile
names = list(dg.DIAGNOSTICS)
rf = RecordFile(sys.argv[1], dg.to_dataset([], 2))
print("ready", flush=True)
k = 0
while True:
    rf.append(float(k), {n: np.full((2, 2) if n.startswith("rho_q") else
                                    (3,) if n == "n_mean" else (), float(k)) for n in names})
    k += 1
"""


def test_appended_file_survives_kill_at_any_moment(tmp_path):
    """SIGKILL while records are appended: the file reads back with complete records only
    (every value of record k equals k), never damaged."""
    import random
    import subprocess
    import sys
    import time

    script = tmp_path / "append.py"
    script.write_text(_APPENDER)
    seen = []
    rng = random.Random(13)
    for trial in range(4):
        path = tmp_path / f"d{trial}.nc"
        p = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE)
        assert p.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.3))
        p.kill()
        p.wait()
        ds = xr.load_dataset(path)
        n = ds.sizes["time"]
        assert np.array_equal(ds["time"].values, np.arange(n))
        for k in ds.data_vars:
            v = ds[k].values.reshape(n, -1)
            assert np.array_equal(v, np.broadcast_to(np.arange(n)[:, None], v.shape)), k
        seen.append(n)
    assert max(seen) > 0  # records were being written when the process died


def test_resume_drops_records_after_the_checkpoint(tmp_path):
    """A run killed between checkpoints has outputs past its last checkpoint: continuing
    from that checkpoint drops them and writes them again, bit for bit."""
    cfg = small_config(output={"checkpoint_every": 0.04})
    sim = sq.Simulation(cfg)
    sim.run(callback=sio.RunWriter(sim, tmp_path))
    whole = xr.load_dataset(tmp_path / "diagnostics.nc")
    fields = xr.load_dataset(tmp_path / "fields.nc")
    ckpt = sio.load_checkpoint(tmp_path / "checkpoints" / "step_000000008.npz")
    (tmp_path / "checkpoints" / "step_000000010.npz").unlink()  # as if killed at t = 0.09
    again = sq.Simulation.restore(cfg, ckpt)
    writer = sio.RunWriter(again, tmp_path, fresh=False)
    np.testing.assert_allclose(xr.load_dataset(tmp_path / "diagnostics.nc")["time"].values,
                               [0, .02, .04, .06], atol=1e-12)
    again.run(callback=writer)
    for name, ref in (("diagnostics.nc", whole), ("fields.nc", fields)):
        ds = xr.load_dataset(tmp_path / name)
        assert np.array_equal(ds["time"].values, ref["time"].values), name
        for k in ref.data_vars:
            assert np.array_equal(ds[k].values, ref[k].values, equal_nan=True), (name, k)


@pytest.mark.parametrize("keep", [1, 2, 3])
def test_checkpoint_retention_keeps_the_latest(tmp_path, keep):
    """A checkpoint at every output (t = 0 … 0.1, every 0.02): the latest `keep` stay,
    plus the latest on the output grid (here always one of them)."""
    sim = _sim(output={"checkpoint_every": 0.02, "fields": False})
    sim.run(callback=sio.RunWriter(sim, tmp_path, keep_checkpoints=keep))
    names = [p.name for p in sio.list_checkpoints(tmp_path)]
    expected = [f"step_{i:09d}.npz" for i in (0, 2, 4, 6, 8, 10)][-keep:]
    assert names == expected


def test_retention_keeps_the_latest_checkpoint_on_the_output_grid(tmp_path):
    """t_end between outputs: the final checkpoint (step 5) is off the grid of outputs
    (every 2 steps), so the one at step 4 stays for `resume --t-end` even with keep = 1."""
    sim = _sim(time={"t_end": 0.05}, output={"fields": False})
    sim.run(callback=sio.RunWriter(sim, tmp_path, keep_checkpoints=1))
    assert [p.name for p in sio.list_checkpoints(tmp_path)] == ["step_000000004.npz",
                                                                 "step_000000005.npz"]


def test_keep_checkpoints_must_be_positive(tmp_path):
    with pytest.raises(sq.errors.ConfigError, match="keep_checkpoints"):
        sio.RunWriter(_sim(), tmp_path, keep_checkpoints=0)


def test_resume_without_diagnostics_is_refused(tmp_path):
    """The records before the checkpoint cannot be recovered: ConfigError with the fix."""
    sim = _sim(output={"fields": False})
    sim.run(callback=sio.RunWriter(sim, tmp_path))
    (tmp_path / "diagnostics.nc").unlink()
    again = sq.Simulation.restore(sim.config, sio.load_checkpoint(sio.list_checkpoints(tmp_path)[0]))
    with pytest.raises(sq.errors.ConfigError, match=r"diagnostics.nc.*spectral-qc run"):
        sio.RunWriter(again, tmp_path, fresh=False)
