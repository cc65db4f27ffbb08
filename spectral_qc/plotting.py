"""Figures of a run directory (matplotlib's Agg canvas; no pyplot state is touched).

:func:`plot_run` writes into ``DIR/figures/`` (PNG, PDF or SVG, ``format=``):

* ``maps_rho`` — ϱ at the initial, middle and final snapshot, in orthographic views
  centred on the initial mean direction ⟨n⟩(0) (top row) and on −⟨n⟩(0) (bottom row);
* ``maps_bloch`` — the local Bloch vector of P (b_x, b_y, b_z) at the same times, seen
  from ⟨n⟩(0), with contours of ϱ (qubits; for N > 2 ``maps_purity_P``, the local purity
  Tr P²; nothing for N = 1, where P ≡ 1);
* ``drifts`` — relative drifts of the energy, the mass and the Casimirs the model has
  (log scale; a NaN leaves a gap, the rest of the curve stays);
* ``purity`` — purity Tr ρ̂q² of the quantum density matrix (N ≥ 2 only);
* ``positivity`` — min ϱ, and min eig P when N ≥ 2;
* ``spectral_tail`` — the spectral-tail fraction at its real values with the stop
  threshold and the floor of the growth test, and the growth rate between outputs with
  its threshold.

Every time series marks where the run stopped (numerical failure or interrupt), read from
``status.json`` when the run directory has one, else from ``checkpoints/failure.npz``.
Snapshots for the maps come from ``fields.nc`` when written, else from the initial state
of the config and the checkpoints. :func:`plot_comparison` draws the demo's
hybrid-versus-Ehrenfest figure.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .maps import _figure, bloch_components  # noqa: F401 (bloch_components: public here too)

log = logging.getLogger(__name__)

__all__ = ["plot_run", "plot_comparison", "bloch_components", "run_stop", "RunStop",
           "TIME_LABEL", "FORMATS"]

TIME_LABEL = "time t  [ħ / energy unit of H]"
DPI = 110
FORMATS = ("png", "pdf", "svg")
FLOOR = 1e-17  # drifts that are exactly 0 are drawn at this value (log scale)
STATUS_FILE = "status.json"


@dataclasses.dataclass(frozen=True)
class _Out:
    """Where and how figures are saved."""

    figdir: Path
    format: str = "png"
    dpi: float = DPI

    def save(self, fig, stem):
        path = self.figdir / f"{stem}.{self.format}"
        tmp = path.with_name(f".{path.stem}.tmp.{self.format}")
        fig.savefig(tmp, dpi=self.dpi, format=self.format)
        tmp.replace(path)
        log.debug("wrote %s", path)
        return path


# ------------------------------------------------------------------------------ stop
@dataclasses.dataclass(frozen=True)
class RunStop:
    """How a run ended early: ``time`` (last output or failure time), ``status``
    (``"numerical_failure"``, ``"interrupted"``, …) and a one-line ``reason``."""

    time: float
    status: str
    reason: str = ""

    def label(self) -> str:
        what = {"numerical_failure": "run stopped", "interrupted": "run interrupted"}.get(
            self.status, f"run ended ({self.status})")
        return f"{what} at t = {self.time:.4g}"


def run_stop(run) -> RunStop | None:
    """The early end of a run (:class:`RunStop`), or None when it ran to its end.

    From ``status.json`` (keys ``status``, ``reason``, ``t_last``) when present, else
    from the attributes ``stop_time``/``stop_status``/``stop_reason`` of diagnostics.nc,
    else from ``checkpoints/failure.npz`` (a numerical failure).
    """
    path = Path(run.path) / STATUS_FILE
    if path.is_file():
        try:
            st = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable (%s); stop not marked", path, exc)
            return None
        if st.get("status", "ok") == "ok" or st.get("t_last") is None:
            return None
        return RunStop(float(st["t_last"]), str(st["status"]), str(st.get("reason") or ""))
    attrs = run.diagnostics.attrs
    if "stop_time" in attrs:
        return RunStop(float(attrs["stop_time"]), str(attrs.get("stop_status", "stopped")),
                       str(attrs.get("stop_reason", "")))
    if run.failure is not None:
        from .io import load_checkpoint

        c = load_checkpoint(run.failure)
        return RunStop(c["t0"] + c["iteration"] * c["dt"], "numerical_failure")
    return None


def _mark_stop(ax, stop):
    if stop is not None:
        ax.axvline(stop.time, color="crimson", ls="-.", lw=1.2, label=stop.label())


# ------------------------------------------------------------------------ time series
def _drift(values):
    """Relative drift from the first finite value (absolute when that is ≈ 0); NaN stays
    NaN (a gap), exact zeros are drawn at FLOOR."""
    v = np.asarray(values, float)
    finite = np.flatnonzero(np.isfinite(v))
    if finite.size == 0:
        return None, ""
    ref = v[finite[0]]
    d, how = (np.abs(v - ref), " (absolute)") if abs(ref) < 1e-12 else \
        (np.abs(v - ref) / abs(ref), "")
    return np.where(d == 0, FLOOR, d), how


def _title(ds):
    model = ds.attrs.get("model", "")
    return f" — {model} model" if model else ""


def _n_levels(ds) -> int:
    return int(ds.sizes.get("i", 1))


def _stop_criteria(config):
    """The StopCriteria of a run's config ([solver.stop]; the defaults without a config)."""
    from .stopping import StopCriteria

    return StopCriteria() if config is None else config.solver.stop


def _drift_curves(ds):
    """(name, label) of the conserved quantities this model has."""
    N = _n_levels(ds)
    curves = [("energy", "energy h"), ("mass", "mass ∫ϱ")]
    if N >= 2:  # for N = 1, Tr P² ≡ 1 and P log P ≡ 0
        curves += [("casimir_trP2", "∫ϱ Tr P²"), ("entropy", "entropy −∫ϱ Tr P log P"),
                   ("berry_casimir", "Berry Casimir ∫ϱ²/Ω")]
    else:      # Ω ≡ 1: the Berry Casimir is the Liouville Casimir ∫ϱ²
        curves += [("berry_casimir", "Casimir ∫ϱ²")]
    return [(n, lab) for n, lab in curves if n in ds]


def plot_drifts(ds, out, stop=None):
    t = ds["time"].values
    mark = dict(marker="." if t.size < 40 else None, ms=4)
    fig = _figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    undefined = []
    for name, lab in _drift_curves(ds):
        d, how = _drift(ds[name].values)
        if d is None or t.size < 2:
            undefined.append(lab)
            continue
        gaps = int(np.sum(~np.isfinite(d[1:])))
        extra = f", undefined at {gaps} of {t.size - 1} outputs" if gaps else ""
        if np.any(d[1:] == FLOOR):
            extra += f"; exact 0 drawn at {FLOOR:g}"
        ax.semilogy(t[1:], d[1:], label=lab + how + extra, **mark)
    _mark_stop(ax, stop)
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("relative drift |C(t) − C(0)| / |C(0)|  [1]")
    ax.set_title("Energy and Casimir drifts" + _title(ds))
    ax.grid(True, which="both", alpha=0.3)
    if undefined:
        ax.text(0.01, 0.01, "not defined in this run: " + ", ".join(undefined),
                transform=ax.transAxes, fontsize=7, color="0.3")
    if ax.lines:
        ax.legend(fontsize=8)
    return out.save(fig, "drifts")


def plot_purity(ds, out, stop=None):
    t = ds["time"].values
    N = _n_levels(ds)
    fig = _figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(t, ds["purity"].values, color="C0", marker="." if t.size < 40 else None, ms=4,
            label="Tr ρ̂q²")
    ax.axhline(1.0, color="0.5", ls=":", lw=1, label="pure state (1)")
    ax.axhline(1.0 / N, color="0.5", ls="--", lw=1, label=f"maximally mixed (1/N = 1/{N})")
    _mark_stop(ax, stop)
    ax.legend(fontsize=8, loc="center left")
    ax.set_ylim(1.0 / N - 0.03, 1.03)
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("purity Tr ρ̂q²  [1]")
    ax.set_title("Purity of the quantum density matrix ρ̂q = ∫ϱP dA" + _title(ds))
    ax.grid(True, alpha=0.3)
    return out.save(fig, "purity")


def plot_positivity(ds, out, stop=None, criteria=None):
    t = ds["time"].values
    mark = dict(marker="." if t.size < 40 else None, ms=4)
    if "rho_c_min" in ds:  # Koopman models: ρc is signed, ρ̂q is the quantum state
        panels = [("rho_c_min", "min ρc over the sphere  [1/sr]"),
                  ("min_eig_rho_q", "min eigenvalue of ρ̂q  [1]")]
    elif "spin" in ds.dims:  # several classical spins: ϱ lives on (S²)^j
        j = ds.sizes["spin"]
        panels = [("min_rho", f"min ϱ over (S²)^{j}  [1/sr^{j}]")]
    else:
        panels = [("min_rho", "min ϱ over the sphere  [1/sr]")]
    if _n_levels(ds) >= 2:
        panels.append(("min_eig_P", "min eigenvalue of P(n)  [1]"))
    panels = [p for p in panels if p[0] in ds]
    fig = _figure(figsize=(7, 2.3 + 1.9 * len(panels)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(panels), 1, sharex=True))
    for k, (ax, (name, lab)) in enumerate(zip(axes, panels)):
        ax.plot(t, ds[name].values, color=f"C{k}", **mark)
        ax.set_ylabel(lab)
        ax.axhline(0.0, color="k", lw=0.8)
        if criteria is not None and name == "min_eig_P":
            ax.axhline(-criteria.eig_tol, color="k", ls="--", lw=0.8,
                       label=f"stop below −{criteria.eig_tol:g}")
        _mark_stop(ax, stop)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    axes[-1].set_xlabel(TIME_LABEL)
    what = "ϱ and P" if len(panels) > 1 else "ϱ"
    axes[0].set_title(f"Positivity of {what} (negative values: positivity lost)" + _title(ds))
    return out.save(fig, "positivity")


def growth_rates(t, tail, floor):
    """d ln(tail)/dt between consecutive outputs: (midpoint times, rates, tested), where
    ``tested`` marks the pairs with both tails above ``floor`` (those the stop criterion
    looks at); NaN where a tail is 0 or not finite."""
    t, tail = np.asarray(t, float), np.asarray(tail, float)
    if t.size < 2:
        return np.empty(0), np.empty(0), np.empty(0, bool)
    a, b = tail[:-1], tail[1:]
    ok = (a > 0) & (b > 0) & np.isfinite(a) & np.isfinite(b) & (np.diff(t) > 0)
    ratio = np.where(ok, b, 1.0) / np.where(ok, a, 1.0)
    rate = np.where(ok, np.log(ratio) / np.where(ok, np.diff(t), 1.0), np.nan)
    return 0.5 * (t[1:] + t[:-1]), rate, ok & (a > floor) & (b > floor)


def plot_spectral_tail(ds, out, stop=None, criteria=None, lmax=None, final=None):
    """spectral_tail: the tail (log) with threshold and floor, and its growth rate.

    ``final``: optional (time, tail) of the state the run stopped on (failure.npz), when
    the stop came between two outputs.
    """
    t = ds["time"].values
    tail = np.asarray(ds["spectral_tail"].values, float)
    crit = criteria if criteria is not None else _stop_criteria(None)
    if final is not None and (t.size == 0 or final[0] > t[-1]):
        t_all, tail_all = np.append(t, final[0]), np.append(tail, final[1])
    else:
        t_all, tail_all, final = t, tail, None
    mark = dict(marker="." if t.size < 40 else None, ms=4)
    fig = _figure(figsize=(7, 6.2), layout="constrained")
    a1, a2 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    shown = np.where(tail > 0, tail, np.nan)  # an exact 0 has no place on a log axis
    zeros = int(np.sum(tail == 0))
    a1.semilogy(t, shown, color="C3", label="tail fraction at the outputs" + (
        f" ({zeros} exactly 0, not drawn)" if zeros else ""), **mark)
    if final is not None:
        a1.semilogy(final[0], final[1], "x", color="crimson", ms=8, mew=2,
                    label=f"state the run stopped on: {final[1]:.3g}")
    a1.axhline(crit.tail_max, color="k", ls="--", lw=1,
               label=f"stop threshold tail_max = {crit.tail_max:g}")
    a1.axhline(crit.tail_floor, color="0.4", ls=":", lw=1,
               label=f"floor {crit.tail_floor:g}: growth not tested below")
    finite = tail_all[np.isfinite(tail_all) & (tail_all > 0)]
    lo = min(crit.tail_floor, finite.min()) if finite.size else crit.tail_floor
    hi = max(crit.tail_max, finite.max()) if finite.size else crit.tail_max
    a1.set_ylim(lo / 10, hi * 10)
    a1.set_ylabel("variance fraction in top 10% of degrees  [1]")
    a1.set_title("Spectral tail of ϱ and P (resolution)" + _title(ds))
    tm, rate, tested = growth_rates(t_all, tail_all, crit.tail_floor)
    a2.plot(tm, np.where(tested, np.nan, rate), color="0.6", marker=".", ms=3, lw=0.8,
            label="d ln(tail)/dt between outputs, a tail below the floor (not tested)")
    a2.plot(tm, np.where(tested, rate, np.nan), color="C4", marker=".", ms=4, lw=1.0,
            label="d ln(tail)/dt between outputs, both above the floor")
    if lmax is not None:
        limit = crit.growth_threshold(lmax)
        a2.axhline(limit, color="k", ls="--", lw=1, label=f"stop threshold {limit:g}")
    a2.axhline(0.0, color="0.5", lw=0.6)
    a2.set_ylabel("growth rate of the tail  [1 / time]")
    a2.set_xlabel(TIME_LABEL)
    a2.text(0.01, 0.02, f"the detector fits every step over growth_window = "
            f"{crit.growth_window:g}", transform=a2.transAxes, fontsize=7, color="0.3")
    for ax in (a1, a2):
        _mark_stop(ax, stop)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    return out.save(fig, "spectral_tail")


def plot_timeseries(ds, out, *, stop=None, criteria=None, lmax=None, final_tail=None):
    """drifts, purity (N ≥ 2), positivity and spectral_tail from the diagnostics."""
    paths = [plot_drifts(ds, out, stop)]
    if _n_levels(ds) >= 2 and "purity" in ds:
        paths.append(plot_purity(ds, out, stop))
    paths.append(plot_positivity(ds, out, stop, criteria))
    if "spectral_tail" in ds:
        paths.append(plot_spectral_tail(ds, out, stop, criteria, lmax, final_tail))
    return paths


def _failure_tail(run):
    """(time, spectral tail) of checkpoints/failure.npz, or None."""
    if run.failure is None:
        return None
    from .diagnostics import state_spectral_tail
    from .io import load_checkpoint
    from .sphere import SphereGrid
    from .states import State

    c = load_checkpoint(run.failure)
    if "rho_lm" not in c or run.config.spins > 1:  # a Koopman wave state; several spins
        return None
    grid = SphereGrid(run.config.grid.lmax)
    return (c["t0"] + c["iteration"] * c["dt"],
            state_spectral_tail(grid, State(c["rho_lm"], c["p_lm"])))


def plot_run(run_dir, format="png", dpi=DPI):
    """Write every figure of a run directory into ``DIR/figures``; returns their paths.

    Parameters
    ----------
    run_dir : path
    format : {"png", "pdf", "svg"}
        File format of the figures (PDF and SVG are vector graphics; the maps inside
        them stay raster images at ``dpi``).
    dpi : float
        Resolution of raster output (default 110).
    """
    from .io import FIGURE_DIR, open_run
    from .maps import plot_maps

    fmt = str(format).lower()
    if fmt not in FORMATS:
        raise ConfigError(f"--format {format!r}: must be one of {', '.join(FORMATS)}")
    if not (isinstance(dpi, (int, float)) and np.isfinite(dpi) and 10 <= dpi <= 2400):
        raise ConfigError(f"--dpi {dpi!r}: must be a number between 10 and 2400")
    run = open_run(run_dir)
    figdir = Path(run_dir) / FIGURE_DIR
    figdir.mkdir(exist_ok=True)
    out = _Out(figdir, fmt, float(dpi))
    stop = run_stop(run)
    paths = []
    if run.diagnostics.sizes.get("time", 0):
        paths += plot_timeseries(run.diagnostics, out, stop=stop,
                                 criteria=_stop_criteria(run.config),
                                 lmax=run.config.grid.lmax, final_tail=_failure_tail(run))
    if run.config.spins > 1:  # several spins: ⟨n_a⟩ per spin instead of sphere maps
        if run.diagnostics.sizes.get("time", 0) and "n_mean" in run.diagnostics:
            paths.append(plot_mean_spins(run.diagnostics, out, stop))
    elif "rho_c_min" not in run.diagnostics:  # Koopman runs have no (ϱ, P) state to map
        paths += plot_maps(run, out, stop)
    return paths


def plot_mean_spins(ds, out, stop=None):
    """⟨n_a⟩ = ∫ϱ n_a dμ of every classical spin a over time, one panel per spin
    (``n_mean`` (time, spin, xyz); a run of one spin has (time, xyz))."""
    t, n = ds["time"].values, ds["n_mean"].values
    n = n[:, None, :] if n.ndim == 2 else n
    fig = _figure(figsize=(7, 1.6 + 2.0 * n.shape[1]), layout="constrained")
    axes = np.atleast_1d(fig.subplots(n.shape[1], 1, sharex=True))
    for a, ax in enumerate(axes):
        for c, x in enumerate("xyz"):
            ax.plot(t, n[:, a, c], color=f"C{c}", label=f"⟨n{a + 1}{x}⟩",
                    marker="." if t.size < 40 else None, ms=4)
        ax.plot(t, np.linalg.norm(n[:, a], axis=1), color="0.4", ls="--", lw=1,
                label=f"|⟨n{a + 1}⟩|")
        _mark_stop(ax, stop)
        ax.set_ylim(-1.05, 1.05)
        ax.set_ylabel(f"spin {a + 1}: ∫ϱ n{a + 1} dμ  [1]")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, ncol=4, loc="lower left")
    axes[-1].set_xlabel(TIME_LABEL)
    axes[0].set_title("Mean direction of every classical spin" + _title(ds))
    return out.save(fig, "mean_spins")


def plot_comparison(run_dirs, labels, path):
    """Side-by-side figure of several runs: purity of ρ̂q, ⟨n⟩ and energy drift vs time."""
    from .io import open_run

    runs = [open_run(d).diagnostics for d in run_dirs]
    fig = _figure(figsize=(15, 4.3), layout="constrained")
    a1, a2, a3 = (fig.add_subplot(1, 3, i + 1) for i in range(3))
    styles = ["-", "--", ":", "-."]
    for k, (ds, lab) in enumerate(zip(runs, labels)):
        t = ds["time"].values
        ls = styles[k % len(styles)]
        a1.plot(t, ds["purity"].values, ls=ls, color=f"C{k}", label=lab)
        for c, comp in enumerate("xyz"):
            a2.plot(t, ds["n_mean"].values[:, c], ls=ls, color=f"C{c + 4}")
        d, how = _drift(ds["energy"].values)
        if d is not None and t.size > 1:
            a3.semilogy(t[1:], d[1:], ls=ls, color=f"C{k}", label=lab + how)
    a1.set_ylabel("purity Tr ρ̂q²  [1]")
    a1.set_title("Purity of ρ̂q = ∫ϱP dA")
    a2.set_ylabel("mean classical spin ⟨n⟩ = ∫ϱ n dA  [1]")
    a2.set_title("Mean classical spin direction")
    a3.set_ylabel("|h(t) − h(0)| / |h(0)|  [1]")
    a3.set_title("Relative energy drift")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=f"C{c + 4}", label=f"⟨n_{comp}⟩")
               for c, comp in enumerate("xyz")]
    handles += [Line2D([], [], color="k", ls=styles[k % len(styles)], label=lab)
                for k, lab in enumerate(labels)]
    for a in (a1, a3):
        a.legend(fontsize=8)
    a2.legend(handles=handles, fontsize=8, ncol=5, loc="upper center",
              bbox_to_anchor=(0.5, -0.15))
    for a in (a1, a2, a3):
        a.set_xlabel(TIME_LABEL)
        a.grid(True, which="both", alpha=0.3)
    fig.suptitle("Qubit coupled to a classical spin: " + " vs ".join(labels), fontsize=12)
    path = Path(path)
    return _Out(path.parent, path.suffix.lstrip(".") or "png").save(fig, path.stem)
