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
    assert [t for t, _ in back["records"]] == [t for t, _ in ck["records"]]
    for (_, a), (_, b) in zip(back["records"], ck["records"]):
        assert a.keys() == b.keys()
        for k in a:
            assert np.array_equal(a[k], b[k], equal_nan=True), k


def test_restore_continues_bit_for_bit(tmp_path):
    whole = _sim().run()
    part = _sim()
    part.run(0.06)
    path = sio.save_checkpoint(tmp_path, part.checkpoint())
    again = sq.Simulation.restore(part.config, sio.load_checkpoint(path))
    assert again.time == part.time and again.iteration == 6
    rest = again.run()
    for k in whole.data_vars:
        assert np.array_equal(whole[k].values, rest[k].values, equal_nan=True), k
    assert np.array_equal(whole["time"].values, rest["time"].values)


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
