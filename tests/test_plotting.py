"""Figures for papers (issue 13): gaps not dropped curves, the tail at its real values,
the stop marked, orthographic maps, panels per model, vector formats."""

import json

import numpy as np
import pytest

import spectral_qc as sq
from spectral_qc import maps, plotting
from spectral_qc.errors import ConfigError
from spectral_qc.simulation import StopCriteria

from .test_cli import call, small_config, write_config


class Capture:
    """Stands in for the figure writer: keeps the figures instead of saving them."""

    def __init__(self):
        self.figs = {}

    def save(self, fig, stem):
        self.figs[stem] = fig
        return stem


def _ds(n=12, N=2, **override):
    """A diagnostics dataset with known series (not from a run)."""
    from spectral_qc import diagnostics as dg

    t = np.linspace(0.0, 1.1, n)
    recs = []
    for k, tk in enumerate(t):
        d = {name: (np.zeros((N, N)) if diag.dims == ("i", "j") else
                    np.array([0.0, 0.0, 1.0]) if diag.dims == ("xyz",) else 1.0 + 1e-6 * tk)
             for name, diag in dg.DIAGNOSTICS.items()}
        d["spectral_tail"] = 1e-25 * np.exp(40.0 * tk)
        for name, values in override.items():
            d[name] = values[k]
        recs.append((tk, d))
    return dg.to_dataset(recs, N, attrs={"model": "hybrid" if N > 1 else "liouville"})


def _line_data(ax):
    return [(ln.get_label(), np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float))
            for ln in ax.get_lines()]


def test_a_nan_leaves_a_gap_not_a_dropped_curve():
    energy = 1.0 + 1e-6 * np.arange(12.0)
    energy[5] = np.nan
    cap = Capture()
    plotting.plot_drifts(_ds(energy=energy), cap)
    lines = {lab.split(",")[0]: y for lab, _, y in _line_data(cap.figs["drifts"].axes[0])}
    y = lines["energy h"]
    assert y.size == 11 and np.isnan(y[4]) and np.all(np.isfinite(np.delete(y, 4)))
    np.testing.assert_allclose(y[0], 1e-6, rtol=1e-9)  # |h(t1) − h(0)| / h(0)


def test_spectral_tail_at_real_values_with_floor_threshold_and_growth():
    crit = StopCriteria()
    cap = Capture()
    ds = _ds()
    plotting.plot_spectral_tail(ds, cap, criteria=crit, lmax=15)
    a1, a2 = cap.figs["spectral_tail"].axes
    (_, _, tail), *_ = _line_data(a1)
    np.testing.assert_array_equal(tail, ds["spectral_tail"].values)  # 1e-25 …, not floored
    hlines = {float(y[0]) for lab, x, y in _line_data(a1) if x.size == 2 and y[0] == y[1]}
    assert {crit.tail_floor, crit.tail_max} <= hlines
    assert a1.get_ylim()[0] < 1e-25
    # growth panel: tail ∝ exp(40 t), so every rate is 40; the threshold 100 + 2·15
    rates = np.concatenate([y[np.isfinite(y)] for lab, _, y in _line_data(a2)
                            if lab.startswith("d ln")])
    np.testing.assert_allclose(rates, 40.0, rtol=1e-9)
    assert any(np.all(y == 130.0) for _, _, y in _line_data(a2))


def test_growth_rates_mark_pairs_below_the_floor():
    t = np.array([0.0, 0.1, 0.2, 0.3])
    tail = np.array([1e-22, 1e-21, 1e-19, 0.0])
    tm, rate, tested = plotting.growth_rates(t, tail, 1e-20)
    np.testing.assert_allclose(tm, [0.05, 0.15, 0.25])
    np.testing.assert_allclose(rate[:2], [np.log(10) / 0.1, np.log(100) / 0.1])
    assert np.isnan(rate[2])
    assert tested.tolist() == [False, False, False]


@pytest.mark.parametrize("N", [1, 2])
def test_stop_marked_on_every_time_series(N):
    stop = plotting.RunStop(0.7, "numerical_failure", "tail")
    cap = Capture()
    plotting.plot_timeseries(_ds(N=N), cap, stop=stop, criteria=StopCriteria(), lmax=15)
    axes = [ax for fig in cap.figs.values() for ax in fig.axes]
    assert len(axes) >= 4
    for ax in axes:
        assert any(x.size == 2 and np.all(x == 0.7) for _, x, _ in _line_data(ax)), ax.get_title()


def test_panels_only_for_what_the_model_has():
    cap = Capture()
    plotting.plot_timeseries(_ds(N=1), cap, criteria=StopCriteria(), lmax=15)
    assert "purity" not in cap.figs  # Tr ρ̂q² ≡ 1 for N = 1
    (ax,) = cap.figs["positivity"].axes
    assert "P" not in ax.get_ylabel()
    labels = [lab for lab, _, _ in _line_data(cap.figs["drifts"].axes[0])]
    assert not any("Tr P" in lab or "entropy" in lab for lab in labels)


def test_run_stop_from_status_json_or_failure(tmp_path):
    cfg = small_config(output={"fields": False})
    sim = sq.Simulation(cfg)
    sim.run(callback=sq.io.RunWriter(sim, tmp_path))
    assert plotting.run_stop(sq.open_run(tmp_path)) is None
    (tmp_path / "status.json").write_text(json.dumps(
        {"status": "interrupted", "reason": "SIGINT", "t_last": 0.06}))
    stop = plotting.run_stop(sq.open_run(tmp_path))
    assert (stop.time, stop.status) == (0.06, "interrupted") and "0.06" in stop.label()
    (tmp_path / "status.json").write_text(json.dumps({"status": "ok", "t_last": 0.1}))
    assert plotting.run_stop(sq.open_run(tmp_path)) is None


def test_view_basis_is_a_right_handed_view_from_outside():
    for c in ([1.0, 0, 0], [0, 0, 1.0], [0.3, -0.5, 0.8], [0, 0, -1.0]):
        right, up, out = maps.view_basis(c)
        B = np.stack([right, up, out])
        np.testing.assert_allclose(B @ B.T, np.eye(3), atol=1e-14)
        np.testing.assert_allclose(np.cross(right, up), out, atol=1e-14)
        np.testing.assert_allclose(out, np.asarray(c) / np.linalg.norm(c))
    right, up, _ = maps.view_basis([1.0, 0, 0])  # from +x: y to the right, z up
    np.testing.assert_allclose(right, [0, 1, 0], atol=1e-15)
    np.testing.assert_allclose(up, [0, 0, 1], atol=1e-15)


def test_orthographic_image_of_a_known_field():
    """f(n) = n·c seen from c is the depth √(1 − x² − y²) of each pixel; f = n·up is y."""
    grid = sq.SphereGrid(15)
    c = np.array([0.2, -0.4, 0.9])
    c /= np.linalg.norm(c)
    right, up, out = maps.view_basis(c)
    x = np.linspace(-1, 1, maps.ORTHO_PIXELS)
    X, Y = np.meshgrid(x, x)
    inside = X**2 + Y**2 <= 1
    # tol: bilinear interpolation on the 32 × 64 Gauss grid, error ≲ (Δθ)²/8 ≈ 4e-3
    tol = 1e-2
    img = maps.orthographic_image(grid.theta, grid.phi, np.tensordot(c, grid.n, 1), c)
    assert np.all(np.isnan(img[~inside]))
    np.testing.assert_allclose(img[inside], np.sqrt(np.clip(1 - X**2 - Y**2, 0, None))[inside], atol=tol)
    img = maps.orthographic_image(grid.theta, grid.phi, np.tensordot(up, grid.n, 1), c)
    np.testing.assert_allclose(img[inside], Y[inside], atol=tol)


def test_view_centre_is_the_initial_mean_direction():
    np.testing.assert_allclose(maps.view_centre([0, 0.3, 0.4]), [0, 0.6, 0.8])
    grid = sq.SphereGrid(15)
    rho = np.exp(5 * grid.n[0])  # peaked at +x, mean direction given as 0: use the peak
    np.testing.assert_allclose(maps.view_centre([0, 0, 0], grid.theta, grid.phi, rho),
                               [1, 0, 0], atol=0.1)


def test_plot_formats_and_dpi(tmp_path, capsys):
    raw = small_config(model={"kind": "liouville", "regularization": "none", "alpha": 0.0},
                       hamiltonian={"terms": [{"op": "I", "coef": "0.5*nz"}]},
                       output={"fields": False, "figures": True})
    del raw["initial"]["quantum"]  # Liouville: P ≡ 1
    cfg = write_config(tmp_path / "c.toml", raw)
    out = tmp_path / "run"
    assert call(["run", cfg, "--out", out, "--quiet"], capsys)[0] == 0
    names = {p.name for p in (out / "figures").iterdir()}
    assert names == {"drifts.png", "positivity.png", "spectral_tail.png", "maps_rho.png"}
    code, stdout, err = call(["plot", out, "--format", "svg", "--dpi", "72"], capsys)
    assert code == 0, err
    svgs = [p for p in stdout.split() if p.endswith(".svg")]
    assert len(svgs) == 4 and all(open(p).read(5) in ("<?xml", "<svg ") for p in svgs)
    code, stdout, err = call(["plot", out, "--format", "pdf"], capsys)
    assert code == 0 and all(open(p, "rb").read(4) == b"%PDF" for p in stdout.split())
    assert len(sq.open_run(out).figures) == 12
    code, _, err = call(["plot", out, "--format", "gif"], capsys)
    assert code == 2 and "--format" in err
    with pytest.raises(ConfigError, match="--dpi"):
        plotting.plot_run(out, dpi=0)
