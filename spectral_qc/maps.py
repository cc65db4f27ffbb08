"""Maps of fields on the sphere for the figures of a run: orthographic views.

A field on S² is drawn as the sphere is seen from outside: an orthographic disc centred
on a direction ``c`` (by default the mean direction ⟨n⟩ = ∫ϱ n dA of the initial density,
so that the mass is in view), north (+z) up, and the opposite hemisphere in a second disc.
Equal-area or cylindrical maps of the whole sphere (Mollweide) turn a polar cap into a
stripe along the top edge; the orthographic view keeps its shape where the mass is.

Functions here take grid fields ``(nlat, nphi)`` with the colatitudes ``theta`` (radians,
ascending) and longitudes ``phi`` (radians, 2πj/nphi) of :class:`~spectral_qc.SphereGrid`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["view_basis", "orthographic_image", "draw_orthographic", "view_centre",
           "describe", "snapshots", "plot_maps", "ORTHO_PIXELS"]

#: Pixels across one disc.
ORTHO_PIXELS = 241
GRATICULE_DEG = 30



def _figure(**kw):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kw)
    FigureCanvasAgg(fig)
    return fig


def bloch_components(P):
    """Bloch vector (b_x, b_y, b_z) of qubit density matrices P (2, 2, ...): P = (1 + b·σ)/2."""
    P = np.asarray(P)
    return np.stack([2 * P[0, 1].real, -2 * P[0, 1].imag, (P[0, 0] - P[1, 1]).real])

def view_basis(centre):
    """Screen axes of the view from outside along ``centre``: (right, up, out), each (3,).

    ``up`` is the projection of +z on the screen (of +x when looking along ±z), ``out`` =
    ``centre`` / |centre|, and right × up = out (a right-handed view from outside).
    """
    c = np.asarray(centre, float)
    c = c / np.linalg.norm(c)
    ref = np.array([0.0, 0.0, 1.0]) if abs(c[2]) < 0.99 else np.array([1.0, 0.0, 0.0])
    up = ref - (ref @ c) * c
    up /= np.linalg.norm(up)
    return np.cross(up, c), up, c


def _interpolator(theta, phi, field):
    """Bilinear interpolation in (θ, φ), periodic in φ, with pole rows (ring means)."""
    from scipy.interpolate import RegularGridInterpolator

    f = np.asarray(field, float)
    th = np.concatenate([[0.0], theta, [np.pi]])
    ph = np.concatenate([phi, [2 * np.pi]])
    rows = np.concatenate([f[:1].mean(axis=1, keepdims=True) * np.ones((1, f.shape[1])), f,
                           f[-1:].mean(axis=1, keepdims=True) * np.ones((1, f.shape[1]))])
    rows = np.concatenate([rows, rows[:, :1]], axis=1)
    return RegularGridInterpolator((th, ph), rows, bounds_error=False, fill_value=None)


def orthographic_image(theta, phi, field, centre, *, pixels=ORTHO_PIXELS):
    """The field seen from outside along ``centre``: (pixels, pixels) array, NaN off the disc.

    Row 0 is the bottom of the disc (use ``origin="lower"``); the disc spans [−1, 1]².
    """
    right, up, out = view_basis(centre)
    x = np.linspace(-1.0, 1.0, pixels)
    X, Y = np.meshgrid(x, x)
    r2 = X**2 + Y**2
    inside = r2 <= 1.0
    Z = np.sqrt(np.clip(1.0 - r2, 0.0, None))
    n = X[..., None] * right + Y[..., None] * up + Z[..., None] * out
    th = np.arccos(np.clip(n[..., 2], -1.0, 1.0))
    ph = np.mod(np.arctan2(n[..., 1], n[..., 0]), 2 * np.pi)
    img = _interpolator(theta, phi, field)(np.stack([th.ravel(), ph.ravel()], axis=-1))
    img = img.reshape(X.shape)
    img[~inside] = np.nan
    return img


def _project(points, centre):
    """Screen coordinates (x, y) of unit vectors (..., 3); NaN on the far side."""
    right, up, out = view_basis(centre)
    x, y, depth = points @ right, points @ up, points @ out
    hidden = depth < 0
    return np.where(hidden, np.nan, x), np.where(hidden, np.nan, y)


def _graticule(ax, centre, step=GRATICULE_DEG):
    s = np.radians(np.linspace(0.0, 180.0, 181))
    for lon in np.radians(np.arange(0, 360, step)):  # meridians
        pts = np.stack([np.sin(s) * np.cos(lon), np.sin(s) * np.sin(lon), np.cos(s)], -1)
        ax.plot(*_project(pts, centre), color="0.6", lw=0.4)
    a = np.radians(np.linspace(0.0, 360.0, 361))
    for colat in np.radians(np.arange(step, 180, step)):  # parallels
        pts = np.stack([np.sin(colat) * np.cos(a), np.sin(colat) * np.sin(a),
                        np.full_like(a, np.cos(colat))], -1)
        ax.plot(*_project(pts, centre), color="0.6", lw=0.4)
    for pole, label in ((1.0, "N"), (-1.0, "S")):
        x, y = _project(np.array([0.0, 0.0, pole]), centre)
        if np.isfinite(x):
            ax.plot(x, y, "+", color="k", ms=6, mew=1)
            ax.annotate(label, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=7)


def draw_orthographic(ax, theta, phi, field, centre, *, contour=None, **imshow_kw):
    """Draw one orthographic disc of ``field`` on ``ax``; returns the image (colorbars).

    ``contour``: optional (field, levels) drawn as thin black lines on the same view
    (e.g. ϱ at a fraction of its maximum, to show where the mass is on a map of P).
    """
    img = orthographic_image(theta, phi, field, centre)
    im = ax.imshow(img, origin="lower", extent=(-1, 1, -1, 1), interpolation="nearest",
                   **imshow_kw)
    if contour is not None:
        cfield, levels = contour
        cimg = orthographic_image(theta, phi, cfield, centre)
        x = np.linspace(-1.0, 1.0, cimg.shape[0])
        ax.contour(x, x, cimg, levels=levels, colors="k", linewidths=0.6)
    t = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(t), np.sin(t), color="k", lw=0.8)
    _graticule(ax, centre)
    ax.set_xlim(-1.04, 1.04)
    ax.set_ylim(-1.04, 1.04)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return im


def view_centre(n_mean0, theta=None, phi=None, rho0=None):
    """The view direction: ⟨n⟩(0) when the initial density has a clear mean direction
    (|⟨n⟩| > 1e-3), else the point where ϱ0 is largest, else +z."""
    v = np.asarray(n_mean0, float) if n_mean0 is not None else np.zeros(3)
    if np.all(np.isfinite(v)) and np.linalg.norm(v) > 1e-3:
        return v / np.linalg.norm(v)
    if rho0 is not None:
        i, j = np.unravel_index(np.argmax(rho0), np.shape(rho0))
        th, ph = theta[i], phi[j]
        return np.array([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
    return np.array([0.0, 0.0, 1.0])


def describe(c) -> str:
    """A short label of a view direction: 'n = (0.71, 0, 0.71)'."""
    return "n = (" + ", ".join(f"{x:.2g}" if abs(x) > 5e-3 else "0" for x in c) + ")"


# --------------------------------------------------------------- run snapshots, figures
def _initial_snapshot(config):
    """(ϱ0, P0) on the grid of a config, from the config (checkpoints of t = 0 are
    usually gone after retention)."""
    from . import hermitian as hm
    from .simulation import initial_state
    from .sphere import SphereGrid

    grid = SphereGrid(config.grid.lmax)
    state = initial_state(config, grid)
    return grid, grid.synthesis(state.rho_lm), hm.from_components(grid.synthesis(state.p_lm))


def snapshots(run, k=3):
    """Up to ``k`` snapshots (time, theta, phi, rho, P, at_failure) — first, middle(s),
    last — from fields.nc, else from the config's initial state and the checkpoints; for a
    run that stopped on a NumericalFailure the last one is the state it stopped on."""
    if run.fields is not None and run.fields.sizes.get("time", 0):
        f = run.fields
        nt = f.sizes["time"]
        idx = sorted(set(np.linspace(0, nt - 1, min(k, nt)).round().astype(int)))
        return [(float(f["time"].values[i]), f["theta"].values, f["phi"].values,
                 f["rho"].values[i], f["P_real"].values[i] + 1j * f["P_imag"].values[i],
                 False) for i in idx]
    from . import hermitian as hm
    from .io import load_checkpoint

    grid, rho0, P0 = _initial_snapshot(run.config)
    out = [(0.0, grid.theta, grid.phi, rho0, P0, False)]
    loaded = [(path, load_checkpoint(path)) for path in run.checkpoints]
    if run.failure is not None:  # replaces a checkpoint of the same time
        fail = load_checkpoint(run.failure)
        loaded = [(p, c) for p, c in loaded if c["iteration"] != fail["iteration"]]
        loaded.append((run.failure, fail))
    loaded = [(p, c) for p, c in loaded if c["t0"] + c["iteration"] * c["dt"] > 0
              and "rho_lm" in c]  # Koopman wave states have no (ϱ, P) maps
    for path, c in loaded[-(k - 1):] if k > 1 else []:
        out.append((c["t0"] + c["iteration"] * c["dt"], grid.theta, grid.phi,
                    grid.synthesis(c["rho_lm"]), hm.from_components(grid.synthesis(c["p_lm"])),
                    path == run.failure))
    return out


def _when(t, failed):
    return f"t = {t:.4g} (run stopped here)" if failed else f"t = {t:.4g}"


def _centre(run, snaps):
    ds = run.diagnostics
    n0 = ds["n_mean"].values[0] if "n_mean" in ds and ds.sizes.get("time", 0) else None
    if n0 is not None and np.ndim(n0) > 1:  # several classical spins: the first one
        n0 = n0[0]
    _, th, ph, rho0, _, _ = snaps[0]
    return view_centre(n0, th, ph, rho0)


def plot_maps(run, out, stop=None):
    """maps_rho (two orthographic views per snapshot) and maps_bloch / maps_purity_P."""

    snaps = snapshots(run)
    if not snaps:
        return []
    c = _centre(run, snaps)
    nt = len(snaps)
    paths = []
    vmax = max(float(np.max(s[3])) for s in snaps)
    vmin = min(0.0, min(float(np.min(s[3])) for s in snaps))
    fig = _figure(figsize=(2.9 * nt + 1.2, 6.0))
    fig.subplots_adjust(left=0.06, right=0.88, bottom=0.02, top=0.86, wspace=0.05,
                        hspace=0.12)
    for col, (t, th, ph, rho, _, failed) in enumerate(snaps):
        for row, centre in enumerate((c, -c)):
            ax = fig.add_subplot(2, nt, row * nt + col + 1)
            im = draw_orthographic(ax, th, ph, rho, centre, cmap="viridis", vmin=vmin,
                                   vmax=vmax)
            if row == 0:
                ax.set_title(_when(t, failed), fontsize=10)
            if col == 0:
                ax.text(-0.08, 0.5, ("seen from " if row == 0 else "far side, from ")
                        + describe(centre), transform=ax.transAxes, rotation=90,
                        ha="center", va="center", fontsize=8)
    fig.colorbar(im, cax=fig.add_axes([0.9, 0.12, 0.015, 0.66]), label="ϱ(n)  [1/sr]")
    note = f"; {stop.label()}" if stop is not None else ""
    fig.suptitle("Classical density ϱ(n) — orthographic views centred on the initial mean "
                 f"direction ⟨n⟩(0) and its antipode\ngraticule every {GRATICULE_DEG}°, "
                 f"+ marks the poles (N: n = +z){note}", fontsize=9)
    paths.append(out.save(fig, "maps_rho"))

    N = snaps[0][4].shape[0]
    if N == 2:
        names = ("b_x", "b_y", "b_z")
        fig = _figure(figsize=(9.5, 3.0 * nt + 0.9))
        fig.subplots_adjust(left=0.02, right=0.86, bottom=0.02,
                            top=1 - 0.8 / (3.0 * nt + 0.9), wspace=0.05, hspace=0.15)
        for r, (t, th, ph, rho, P, failed) in enumerate(snaps):
            b = bloch_components(P)
            levels = sorted({0.1 * float(np.max(rho)), 0.5 * float(np.max(rho))})
            for k in range(3):
                ax = fig.add_subplot(nt, 3, 3 * r + k + 1)
                im = draw_orthographic(ax, th, ph, b[k], c, cmap="RdBu_r", vmin=-1, vmax=1,
                                       contour=(rho, levels))
                ax.set_title(f"{names[k]}(n),  {_when(t, failed)}", fontsize=9)
        fig.colorbar(im, cax=fig.add_axes([0.88, 0.2, 0.015, 0.55]),
                     label="Bloch component of P(n)  [1]")
        fig.suptitle("Local Bloch vector b(n) of P(n) = (1 + b·σ)/2, seen from "
                     f"{describe(c)} (⟨n⟩(0));\nblack lines: ϱ at 10% and 50% of its "
                     "maximum (where the mass is)", fontsize=9)
        paths.append(out.save(fig, "maps_bloch"))
    elif N > 2:
        fig = _figure(figsize=(2.9 * nt + 1.2, 3.3))
        fig.subplots_adjust(left=0.02, right=0.86, bottom=0.02, top=0.8, wspace=0.05)
        for i, (t, th, ph, rho, P, failed) in enumerate(snaps):
            ax = fig.add_subplot(1, nt, i + 1)
            pur = np.einsum("ij...,ji...->...", P, P).real
            im = draw_orthographic(ax, th, ph, pur, c, cmap="magma", vmin=1.0 / N, vmax=1.0)
            ax.set_title(_when(t, failed), fontsize=9)
        fig.colorbar(im, cax=fig.add_axes([0.88, 0.12, 0.015, 0.62]), label="Tr P(n)²  [1]")
        fig.suptitle(f"Local purity Tr P(n)², seen from {describe(c)} (⟨n⟩(0))", fontsize=9)
        paths.append(out.save(fig, "maps_purity_P"))
    return paths
