"""Figures of the stability study (``stability_*.png``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .runs import LEGACY_STOP, PROPOSED_STOP
from .sections import MAP_KERNELS


def figures(data, outdir):
    """Write ``stability_*.png`` for the sections present in ``data``; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []

    def save(fig, name):
        fig.tight_layout()
        path = outdir / f"stability_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)

    if "exponent" in data:
        d = data["exponent"]
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        keys = sorted({(e["base"], e["lmax"]) for e in d["entries"]})
        for base, lmax in keys:
            rows = [e for e in d["entries"] if e["base"] == base and e["lmax"] == lmax]
            fit = d["fits"].get(f"{base}@{lmax}", {})
            ax.loglog([r["l"] for r in rows], [max(r["rate"], 1e-3) for r in rows], "o-",
                      label=f"{base}, lmax {lmax} (slope {fit.get('exponent_l>=8', 0):.2f})")
        ls = np.arange(4, 64)
        for base, c2 in d.get("wkb_c2", {}).items():
            if c2 > 1e-8:
                ax.loglog(ls, c2 * ls * (ls + 1), ":", color="gray")
        ax.set_xlabel("degree l (band centre)")
        ax.set_ylabel("growth rate (1/time)")
        ax.set_title("hybrid, α = 0, ħ = 1: linearized growth; dotted: ħ c₂ l(l+1)")
        ax.legend(fontsize=7)
        save(fig, "growth_vs_l")
    if "hbar" in data:
        d = data["hbar"]
        fig, ax = plt.subplots(figsize=(5, 4))
        for base, b in d["fits"].items():
            rows = [e for e in d["entries"] if e["base"] == base]
            ax.loglog([r["hbar"] for r in rows], [r["rate"] for r in rows], "o-",
                      label=f"{base} (slope {b:.2f})")
        ax.set_xlabel("ħ")
        ax.set_ylabel("growth rate")
        ax.set_title(f"band l ≈ {d['l']}, lmax {d['lmax']}")
        ax.legend(fontsize=8)
        save(fig, "hbar")
    if "map" in data:
        d = data["map"]
        fig, ax = plt.subplots(figsize=(6, 4.4))
        for reg in MAP_KERNELS:
            for hbar in sorted({e["hbar"] for e in d["entries"]}):
                rows = sorted([e for e in d["entries"] if e["regularization"] == reg
                               and e["hbar"] == hbar], key=lambda e: e["alpha"])
                if rows:
                    ax.loglog([r["alpha"] for r in rows],
                              [max(r["max_rate"], 1e-3) for r in rows], "o-",
                              label=f"{reg}, ħ = {hbar}")
        for e in d["entries"]:
            if e["regularization"] == "none":
                ax.axhline(e["max_rate"], ls="--", lw=0.8, color="k")
        ax.set_xlabel("α")
        ax.set_ylabel("fastest growth rate (1/time)")
        c2 = d.get("wkb_c2")
        if c2:
            al = np.array([0.002, 0.04])
            for cap, ls_ in ((0.18, ":"), (0.30, "-.")):
                ax.loglog(al, cap * c2 / al, ls_, color="gray", lw=0.8)
        ax.set_title(f"stability map, lmax {d['lmax']}; dashed: α = 0; gray: 0.18, 0.30 c₂/α",
                     fontsize=9)
        ax.legend(fontsize=7)
        save(fig, "map")
    if "convergence" in data:
        d = data["convergence"]
        fig, ax = plt.subplots(figsize=(5, 4))
        for reg, errs in d["errors"].items():
            ax.semilogy([int(k) for k in errs], [max(float(v), 1e-17) for v in errs.values()], "o-",
                        label=f"{reg} α=0.01 t={d['t_end']}")
        for key, errs in data.get("horizon", {}).get("errors", {}).items():
            ok = {k: float(v) for k, v in errs.items() if float(v) == float(v)}  # drop NaN
            ax.semilogy([int(k) for k in ok], [max(v, 1e-17) for v in ok.values()], "s--",
                        ms=4, label=key.replace("@", " ").replace("alpha=", "α="))
        ax.set_xlabel("lmax")
        ax.set_ylabel("max |Δρ̂q| vs the finest run of each line")
        ax.set_title("convergence in lmax, ħ = 1 (α = 0.01 unless stated)", fontsize=9)
        ax.legend(fontsize=6)
        save(fig, "convergence")
    if "alpha_limit" in data:
        d = data["alpha_limit"]
        fig, ax = plt.subplots(figsize=(5, 4))
        for reg, errs in d["errors"].items():
            ax.loglog([float(k) for k in errs], [float(v) for v in errs.values()], "o-", label=reg)
        ax.axhline(d["resolution_check"], ls="--", color="k", lw=0.8)
        ax.set_xlabel("α")
        ax.set_ylabel(f"max |ρ̂q(α) − ρ̂q(0)| at t = {d['t_end']}")
        ax.set_title(f"α → 0, lmax {d['lmax']} (dashed: α = 0 resolution error)")
        ax.legend(fontsize=8)
        save(fig, "alpha_limit")
    if "detector" in data:
        d = data["detector"]
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        for h in d["runs"]:
            lab = (f"{h['kind']} {h['regularization']} α={h['alpha']} L={h['lmax']} dt={h['dt']}"
                   + (" corr." if h.get("correlated") else ""))
            line, = ax.semilogy(h["t"], np.maximum(h["tail"], 1e-30), label=lab)
            trig = h.get("default_trigger", [None])[0]
            if trig is not None:
                ax.axvline(trig, color=line.get_color(), ls=":", lw=0.8)
            prop = h.get("proposed_trigger", [None])[0]
            if prop is not None:
                i = int(np.argmin(np.abs(np.asarray(h["t"]) - prop)))
                ax.plot(prop, h["tail"][i], "x", color=line.get_color(), ms=8)
        ax.axhline(1e-2, color="k", lw=0.6)
        ax.axhline(LEGACY_STOP["tail_floor"], color="k", lw=0.6, ls="--")
        ax.axhline(PROPOSED_STOP["tail_floor"], color="k", lw=0.6, ls=":")
        ax.set_xlabel("t")
        ax.set_ylabel("spectral tail fraction")
        ax.set_title("solver's tail after each step; dotted: legacy stop; ×: proposed stop",
                     fontsize=9)
        ax.legend(fontsize=6)
        save(fig, "detector")
    return paths
