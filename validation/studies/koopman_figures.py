"""Figures of the Koopman study (``koopman_{claim,map,exact_trace_distance,exact_purity}.png``)."""

from __future__ import annotations

import numpy as np

from .koopman import map_grid
from .koopman_report import MODEL_LABELS
from .plotting import plt, save

COLORS = {"ehrenfest": "tab:blue", "hybrid": "tab:red", "hybrid_kvh": "tab:green",
          "hybrid_kvh_deg0": "tab:purple"}


def plot_claim(res):
    L = str(res["profile"]["claim"]["lmaxes"][-1])
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.4))
    cmap = plt.get_cmap("tab20")
    for k, (label, c) in enumerate(res["claim"].items()):
        r = c["runs"][L]
        t = np.asarray(r["time"])
        style = "--" if c["kind"] == "kvh" else "-"
        ax[0].plot(t, r["rho_c_min"], style, color=cmap(k), label=f"{label} [{c['lagrangian']}]")
        ax[1].plot(t, np.maximum(r["negative_mass"], 1e-17), style, color=cmap(k))
    ax[0].set_yscale("symlog", linthresh=1e-3)
    ax[0].set(xlabel="t (units of S/|H|)", ylabel="min ρc (sr⁻¹)",
              title="minimum of the sphere density ρc")
    ax[1].set_yscale("log")
    ax[1].set(xlabel="t (units of S/|H|)", ylabel="∫ max(−ρc, 0) dA (fraction of mass 1)",
              title="negative mass", ylim=(1e-17, None))
    ax[0].legend(fontsize=6, loc="lower left")
    for a in ax:
        a.grid(alpha=0.3)
    fig.suptitle(f"(a) H = H0(n)·1 + H1(n)σz (solid: hybrid_kvh; dashed: scalar kvh), ħ = S = 1, "
                 f"lmax {L}")
    fig.tight_layout()
    return fig


def plot_maps(res):
    fams = res["maps"]
    T = res["profile"]["maps"]["t_end"]
    fig, axes = plt.subplots(len(fams), 2, figsize=(11, 3.6 * len(fams)), squeeze=False)
    for row_, (name, fam) in zip(axes, fams.items()):
        xs, gs = fam["hbar_over_S"], fam["couplings"]
        nm = map_grid(fam, "negative_mass", T)
        mn = map_grid(fam, "rho_c_min", T)
        for a, data, title, norm_lbl in (
                (row_[0], np.log10(np.maximum(nm, 1e-8)), "log₁₀ max ∫max(−ρc,0) dA",
                 "log₁₀ negative mass (fraction of mass 1; 0 → −8)"),
                (row_[1], np.sign(mn) * np.log10(1 + np.abs(mn) / 1e-3),
                 "min ρc (signed log scale)", "sign(m)·log₁₀(1 + |m|/10⁻³), m = min ρc (sr⁻¹)")):
            im = a.imshow(data, origin="lower", aspect="auto", cmap="viridis" if a is row_[0]
                          else "RdBu")
            if a is row_[1]:
                v = np.nanmax(np.abs(data))
                im.set_clim(-v, v)
            else:
                im.set_clim(-8, max(0.0, float(np.nanmax(data))))
            a.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
            a.set_yticks(range(len(gs)), [f"{g:g}" for g in gs])
            a.set(xlabel="ħ/S", ylabel="coupling g (scale of the n·σ term)",
                  title=f"{name}: {title}, t ≤ {T:g}")
            for i in range(len(gs)):
                for j in range(len(xs)):
                    val = nm[i, j] if a is row_[0] else mn[i, j]
                    dark = a is row_[0] and data[i, j] < -3
                    a.text(j, i, f"{val:.2g}", ha="center", va="center", fontsize=7,
                           color="w" if dark else "k",
                           bbox=dict(boxstyle="round,pad=0.1", fc="w", ec="none", alpha=0.6)
                           if not dark else None)
            for c in fam["cells"]:
                if c["run"]["spectral_tail"][-1] > 1e-6:
                    i, j = gs.index(c["g"]), xs.index(c["hbar_over_S"])
                    a.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                              hatch="//", lw=0))
            fig.colorbar(im, ax=a, label=norm_lbl)
    fig.suptitle("(b) hybrid_kvh: sign of ρc over coupling × ħ/S (hatched: spectral tail of Υ "
                 f"> 1e-6 at t = {T:g}, min ρc not converged)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_exact(res, key):
    spins = list(res["exact"])
    fig, axes = plt.subplots(1, len(spins), figsize=(3.4 * len(spins), 3.3), squeeze=False,
                             sharey=key == "trace_distance")
    for a, s in zip(axes[0], spins):
        e = res["exact"][s]
        for k, m in e["models"].items():
            y = np.abs(m[key]) if key == "purity_error" else np.asarray(m[key])
            a.plot(m["time"][1:], y[1:], color=COLORS[k], label=MODEL_LABELS[k])  # t > 0
            if m["stopped"]:
                a.plot(m["time"][-1], y[-1], "x", color=COLORS[k], ms=8)
        a.set_yscale("log")
        a.set(title=f"I = {s}", xlabel="t")
        if key == "purity_error":
            a.set_ylim(1e-5, 1)
        a.grid(alpha=0.3)
    axes[0][0].set_ylabel(r"$\frac{1}{2}\|\hat\rho_q - \hat\rho_q^{exact}\|_1$"
                          if key == "trace_distance" else
                          r"$|\mathrm{Tr}\,\hat\rho_q^2 - \mathrm{Tr}\,\hat\rho_{q,exact}^2|$")
    axes[0][-1].legend(fontsize=6)
    fig.suptitle("(c) against exact qubit ⊗ spin-I dynamics (× : run stopped, "
                 "NumericalFailure)", fontsize=10)
    fig.tight_layout()
    return fig


def figures(res, figdir):
    from pathlib import Path

    figdir = Path(figdir)
    figdir.mkdir(parents=True, exist_ok=True)
    return [save(plot_claim(res), figdir, "koopman_claim"),
            save(plot_maps(res), figdir, "koopman_map"),
            save(plot_exact(res, "trace_distance"), figdir, "koopman_exact_trace_distance"),
            save(plot_exact(res, "purity_error"), figdir, "koopman_exact_purity")]
