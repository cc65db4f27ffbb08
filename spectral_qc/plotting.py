"""Figures of a run directory (PNG, matplotlib's Agg canvas; no pyplot state is touched).

:func:`plot_run` writes into ``DIR/figures/``:

* ``maps_rho.png`` — Mollweide maps of ϱ at the initial, middle and final snapshot;
* ``maps_bloch.png`` — the local Bloch vector of P (components b_x, b_y, b_z) at the same
  times (qubits; for N > 2 the local purity Tr P² instead, nothing for N = 1);
* ``drifts.png`` — relative drifts of the energy, the mass and the Casimirs (log scale);
* ``purity.png`` — purity Tr ρ̂q² of the quantum density matrix;
* ``positivity.png`` — min ϱ and min eig P over the sphere;
* ``spectral_tail.png`` — the spectral-tail fraction (log scale) with the stop threshold.

Snapshots for the maps come from ``fields.nc`` when written, else from the checkpoints.
:func:`plot_comparison` draws the demo's hybrid-versus-Ehrenfest figure.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["plot_run", "plot_comparison", "bloch_components", "TIME_LABEL"]

TIME_LABEL = "time t  [ħ / energy unit of H]"
DPI = 110
FLOOR = 1e-17  # drifts and tails below this are drawn at this value (log scale)
MAP_NOTE = ("{what} — Mollweide maps, longitude φ (0 at the centre, ±180° at the edges) and "
            "latitude 90° − θ,\ngraticule every 30°, north pole (n = +z) at the top")


def _figure(**kw):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kw)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=DPI)
    tmp.replace(path)
    log.debug("wrote %s", path)
    return path


def bloch_components(P):
    """Bloch vector (b_x, b_y, b_z) of qubit density matrices P (2, 2, ...): P = (1 + b·σ)/2."""
    P = np.asarray(P)
    return np.stack([2 * P[0, 1].real, -2 * P[0, 1].imag, (P[0, 0] - P[1, 1]).real])


# ------------------------------------------------------------------------- snapshots
def _snapshots(run, k=3):
    """Up to ``k`` snapshots (time, theta, phi, rho, P, at_failure) — first, middle(s),
    last; for a run that stopped on a NumericalFailure the last one is its final state."""
    if run.fields is not None and run.fields.sizes.get("time", 0):
        f = run.fields
        nt = f.sizes["time"]
        idx = sorted(set(np.linspace(0, nt - 1, min(k, nt)).round().astype(int)))
        out = []
        for i in idx:
            P = f["P_real"].values[i] + 1j * f["P_imag"].values[i]
            out.append((float(f["time"].values[i]), f["theta"].values, f["phi"].values,
                        f["rho"].values[i], P, False))
        return out
    files = list(run.checkpoints)
    if not files:
        return []
    from . import hermitian as hm
    from .io import load_checkpoint
    from .sphere import SphereGrid

    grid = SphereGrid(run.config.grid.lmax)
    idx = sorted(set(np.linspace(0, len(files) - 1, min(k, len(files))).round().astype(int)))
    files = [files[i] for i in idx]
    if run.failure is not None:  # show the state the run stopped on as the last snapshot
        files = (files[:-1] if len(files) == k else files) + [run.failure]
    out = []
    for path in files:
        c = load_checkpoint(path)
        if "rho_lm" not in c:  # a Koopman wave state: no (ϱ, P) maps
            return []
        rho = grid.synthesis(c["rho_lm"])
        P = hm.from_components(grid.synthesis(c["p_lm"]))
        t = c["t0"] + c["iteration"] * c["dt"]
        out.append((t, grid.theta, grid.phi, rho, P, path == run.failure))
    return out


def _when(t, failed):
    return f"t = {t:.4g} (run stopped here)" if failed else f"t = {t:.4g}"


def _lonlat(theta, phi, field):
    """Longitudes in [−π, π) and latitudes ascending, with the field reordered to match."""
    lon = np.where(phi >= np.pi, phi - 2 * np.pi, phi)
    order = np.argsort(lon)
    lat = np.pi / 2 - np.asarray(theta)
    lorder = np.argsort(lat)
    f = field[..., lorder, :][..., order]
    # repeat the first column at +π so the map closes at the right edge
    return (np.append(lon[order], lon[order][0] + 2 * np.pi), lat[lorder],
            np.concatenate([f, f[..., :1]], axis=-1))


def _map(ax, theta, phi, field, **kw):
    lon, lat, f = _lonlat(theta, phi, field)
    m = ax.pcolormesh(lon, lat, f, shading="nearest", rasterized=True, **kw)
    # graticule every 30° without tick labels (they crowd small maps and are slow to lay out)
    ax.set_xticks(np.radians(np.arange(-150, 180, 30)))
    ax.set_yticks(np.radians(np.arange(-60, 90, 30)))
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.grid(True, color="0.55", lw=0.4)
    return m


def plot_maps(run, figdir):
    """maps_rho.png and maps_bloch.png (or maps_purity_P.png) from fields or checkpoints."""
    snaps = _snapshots(run)
    if not snaps:
        log.info("no fields.nc or checkpoints: no maps")
        return []
    out = []
    nt = len(snaps)
    vmax = max(float(s[3].max()) for s in snaps)
    vmin = min(0.0, min(float(s[3].min()) for s in snaps))
    fig = _figure(figsize=(4.2 * nt + 1.0, 3.0))
    fig.subplots_adjust(left=0.01, right=0.9, bottom=0.02, top=0.82, wspace=0.04)
    axes = [fig.add_subplot(1, nt, i + 1, projection="mollweide") for i in range(nt)]
    for ax, (t, th, ph, rho, _, failed) in zip(axes, snaps):
        m = _map(ax, th, ph, rho, cmap="viridis", vmin=vmin, vmax=vmax)
        ax.set_title(_when(t, failed), fontsize=10)
    fig.colorbar(m, cax=fig.add_axes([0.915, 0.12, 0.015, 0.62]), label="ϱ(n)  [1/sr]")
    fig.suptitle(MAP_NOTE.format(what="Classical density ϱ(n)"), fontsize=10)
    out.append(_save(fig, figdir / "maps_rho.png"))

    N = snaps[0][4].shape[0]
    if N == 2:
        names = ("b_x", "b_y", "b_z")
        fig = _figure(figsize=(13.0, 2.6 * nt + 0.7))
        fig.subplots_adjust(left=0.01, right=0.9, bottom=0.02, top=1 - 0.6 / (2.6 * nt + 0.7),
                            wspace=0.04, hspace=0.18)
        axes = []
        for r, (t, th, ph, _, P, failed) in enumerate(snaps):
            b = bloch_components(P)
            for c in range(3):
                ax = fig.add_subplot(nt, 3, 3 * r + c + 1, projection="mollweide")
                m = _map(ax, th, ph, b[c], cmap="RdBu_r", vmin=-1, vmax=1)
                ax.set_title(f"{names[c]}(n),  {_when(t, failed)}", fontsize=10)
                axes.append(ax)
        fig.colorbar(m, cax=fig.add_axes([0.915, 0.2, 0.013, 0.55]),
                     label="Bloch component of P(n)  [1]")
        fig.suptitle(MAP_NOTE.format(what="Local Bloch vector b(n) of P(n) = (1 + b·σ)/2"),
                     fontsize=10)
        out.append(_save(fig, figdir / "maps_bloch.png"))
    elif N > 2:
        fig = _figure(figsize=(4.2 * nt + 1.0, 3.0))
        fig.subplots_adjust(left=0.01, right=0.9, bottom=0.02, top=0.82, wspace=0.04)
        axes = [fig.add_subplot(1, nt, i + 1, projection="mollweide") for i in range(nt)]
        for ax, (t, th, ph, _, P, failed) in zip(axes, snaps):
            pur = np.einsum("ij...,ji...->...", P, P).real
            m = _map(ax, th, ph, pur, cmap="magma", vmin=1.0 / N, vmax=1.0)
            ax.set_title(_when(t, failed), fontsize=10)
        fig.colorbar(m, cax=fig.add_axes([0.915, 0.12, 0.015, 0.62]), label="Tr P(n)²  [1]")
        fig.suptitle(MAP_NOTE.format(what="Local purity Tr P(n)²"), fontsize=10)
        out.append(_save(fig, figdir / "maps_purity_P.png"))
    return out


# ------------------------------------------------------------------------ time series
def _drift(values):
    v = np.asarray(values, float)
    if v.size == 0 or not np.isfinite(v[0]):
        return None, ""
    ref = abs(v[0])
    if ref < 1e-12:
        return np.maximum(np.abs(v - v[0]), FLOOR), " (absolute)"
    return np.maximum(np.abs(v - v[0]) / ref, FLOOR), ""


def _title(ds):
    model = ds.attrs.get("model", "")
    return f" — {model} model" if model else ""


def plot_timeseries(ds, figdir):
    """drifts.png, purity.png, positivity.png, spectral_tail.png from diagnostics."""
    t = ds["time"].values
    out = []
    mark = dict(marker="." if t.size < 40 else None, ms=4)

    fig = _figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    labels = {"energy": "energy h", "mass": "mass ∫ϱ", "casimir_trP2": "∫ϱ Tr P²",
              "entropy": "entropy −∫ϱ Tr P log P", "berry_casimir": "Berry Casimir ∫ϱ²/Ω"}
    for name, lab in labels.items():
        if name not in ds or t.size < 2 or not np.all(np.isfinite(ds[name].values)):
            continue
        d, how = _drift(ds[name].values)
        if d is not None:
            ax.semilogy(t[1:], d[1:], label=lab + how, **mark)
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("relative drift |C(t) − C(0)| / |C(0)|  [1]")
    ax.set_title("Energy and Casimir drifts" + _title(ds))
    ax.grid(True, which="both", alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    out.append(_save(fig, figdir / "drifts.png"))

    fig = _figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(t, ds["purity"].values, color="C0", **mark)
    N = ds.sizes.get("i", 2)
    ax.axhline(1.0, color="0.5", ls=":", lw=1, label="pure state (1)")
    ax.axhline(1.0 / N, color="0.5", ls="--", lw=1, label=f"maximally mixed (1/N = 1/{N})")
    ax.legend(fontsize=8, loc="center left")
    ax.set_ylim(1.0 / N - 0.03, 1.03)
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("purity Tr ρ̂q²  [1]")
    ax.set_title("Purity of the quantum density matrix ρ̂q = ∫ϱP dA" + _title(ds))
    ax.grid(True, alpha=0.3)
    out.append(_save(fig, figdir / "purity.png"))

    fig = _figure(figsize=(7, 5.6), layout="constrained")
    a1, a2 = fig.subplots(2, 1, sharex=True)
    wave = "min_rho" not in ds  # Koopman models: ρc and ρ̂q (spectral_qc.wave_diagnostics)
    a1.plot(t, ds["rho_c_min" if wave else "min_rho"].values, color="C0", **mark)
    a1.set_ylabel(("min ρc" if wave else "min ϱ") + " over the sphere  [1/sr]")
    a2.plot(t, ds["min_eig_rho_q" if wave else "min_eig_P"].values, color="C1", **mark)
    a2.set_ylabel("min eigenvalue of " + ("ρ̂q" if wave else "P(n)") + "  [1]")
    for a in (a1, a2):
        a.axhline(0.0, color="k", lw=0.8)
        a.grid(True, alpha=0.3)
    a2.set_xlabel(TIME_LABEL)
    a1.set_title("Positivity of ϱ and P (negative values: positivity lost)" + _title(ds))
    out.append(_save(fig, figdir / "positivity.png"))

    fig = _figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    tail = np.maximum(ds["spectral_tail"].values, FLOOR)
    ax.semilogy(t, tail, color="C3", label=f"tail fraction (values < {FLOOR:g} drawn at "
                f"{FLOOR:g})", **mark)
    from .simulation import StopCriteria

    ax.axhline(StopCriteria().tail_max, color="k", ls="--", lw=1, label="stop threshold")
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("variance fraction in top 10% of degrees  [1]")
    ax.set_title("Spectral tail of ϱ and P (resolution)" + _title(ds))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    out.append(_save(fig, figdir / "spectral_tail.png"))
    return out


def plot_run(run_dir):
    """Write every figure of a run directory into ``DIR/figures``; returns their paths."""
    from .io import FIGURE_DIR, open_run

    run = open_run(run_dir)
    figdir = Path(run_dir) / FIGURE_DIR
    figdir.mkdir(exist_ok=True)
    out = []
    if run.diagnostics.sizes.get("time", 0):
        out += plot_timeseries(run.diagnostics, figdir)
    out += plot_maps(run, figdir)
    return out


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
    return _save(fig, path)
