"""Figures of the exact comparison (``exact_comparison_*.png``)."""

from __future__ import annotations

import numpy as np

from .case import MODELS, _at

COLORS = {"exact": "k", "ehrenfest": "tab:blue", "hybrid": "tab:red"}
LABELS = {"exact": "exact", "ehrenfest": "Ehrenfest", "hybrid": "hybrid (heat kernel)"}


def plot_trace_distance(results, ax=None):
    """Trace distance to exact against time, one panel per spin size."""
    import matplotlib.pyplot as plt

    spins = results["spins"]
    fig, axes = plt.subplots(1, len(spins), figsize=(3.2 * len(spins), 3.0), sharey=True,
                             squeeze=False)
    for ax_, s in zip(axes[0], spins):
        r = results["runs"][str(s)]
        for kind, res in r["models"].items():
            ax_.plot(res["time"], res["trace_distance"], color=COLORS[kind], label=LABELS[kind])
        ax_.set_title(f"I = {s:g}  (lmax {r['lmax']})")
        ax_.set_xlabel("t")
        ax_.grid(alpha=0.3)
    axes[0][0].set_ylabel(r"$\frac{1}{2}\|\hat\rho_q - \hat\rho_q^{exact}\|_1$")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_purity(results):
    """Purity Tr ρ̂q² against time (exact, Ehrenfest, hybrid), one panel per spin size."""
    import matplotlib.pyplot as plt

    spins = results["spins"]
    fig, axes = plt.subplots(1, len(spins), figsize=(3.2 * len(spins), 3.0), squeeze=False)
    for ax_, s in zip(axes[0], spins):
        r = results["runs"][str(s)]
        ax_.plot(r["exact"]["time"], r["exact"]["purity"], color="k", lw=2, label="exact")
        for kind, res in r["models"].items():
            ax_.plot(res["time"], res["purity"], color=COLORS[kind], label=LABELS[kind])
        ax_.set_title(f"I = {s:g}")
        ax_.set_xlabel("t")
        ax_.grid(alpha=0.3)
    axes[0][0].set_ylabel(r"Tr $\hat\rho_q^2$")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_trend(results):
    """Errors at the table times against I (log–log), with a 1/I guide."""
    import matplotlib.pyplot as plt

    spins = np.array(results["spins"], float)
    times = results["table_times"]
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.4))
    styles = [":", "-.", "--", "-"]
    for kind in MODELS:
        for k, t in enumerate(times):
            td = [_at(results["runs"][str(int(s))]["models"][kind], "trace_distance", t)
                  for s in spins]
            pe = [abs(_at(results["runs"][str(int(s))]["models"][kind], "purity_error", t))
                  for s in spins]
            axes[0].loglog(spins, td, styles[k % 4], marker="o", color=COLORS[kind],
                           label=f"{LABELS[kind]}, t = {t:g}")
            axes[1].loglog(spins, pe, styles[k % 4], marker="o", color=COLORS[kind],
                           label=f"{LABELS[kind]}, t = {t:g}")
    for ax_, ttl in zip(axes, ["trace distance to exact", "|purity error|"]):
        ref = np.nanmax([ln.get_ydata()[0] for ln in ax_.get_lines()] or [1.0])
        ax_.loglog(spins, ref * spins[0] / spins, color="0.6", lw=1, label="∝ 1/I")
        ax_.set_xlabel("spin I")
        ax_.set_xticks(spins, [f"{x:g}" for x in spins])
        ax_.minorticks_off()
        ax_.set_title(ttl)
        ax_.grid(alpha=0.3, which="both")
    axes[1].legend(fontsize=7, ncol=1)
    fig.tight_layout()
    return fig
