"""Decoherence: the purity Tr ρ̂q² over time, Ehrenfest against the (regularized) hybrid.

Paper property 5: Tr ρ̂q² is not conserved when the classical and quantum parts
interact. Same case for both models (coupled qubit, ϱ0 von Mises–Fisher κ = 2, P0 pure
and uniform, Bloch (1, 0, 0)); the runs are those of the invariants study (both
resolutions). Controls: the uncoupled Hamiltonian H0·1 + 0.35σz + 0.2σx, where ρ̂q
evolves unitarily and the purity must stay 1. When the lmax study ran in the same
process its Monte Carlo purity of the trajectory ensemble is drawn too (the purity of
the mean of M samples is biased by O(1/M)).
"""

from __future__ import annotations

import numpy as np

from .. import cases as C
from ..protocol import cached_value, evolve
from ..report import row
from .invariants import invariant_run
from .plotting import plt, save


def decoherence_study(profile, figdir):
    from ..profiles import sibling

    p = profile
    inv = sibling(profile, "invariants")
    if (p["t_end"], p["dt"]) != (inv["t_end"], inv["dt"]):
        raise ValueError("decoherence must use the invariants study's t_end and dt")
    curves, rows = {}, []
    for model in ("ehrenfest", "hybrid"):
        for L in inv["lmaxes"][model]:
            r = invariant_run(model, "pure_uniform", L, inv)
            curves[f"{model}/L{L}"] = {"times": r.times, "purity": r.series("purity")}
    H = [{"op": "I", "coef": C.H0_EXPR}, {"op": "Z", "coef": "0.35"}, {"op": "X", "coef": "0.2"}]
    controls = {}
    for model in ("ehrenfest", "hybrid"):
        sim = C.make_sim(model, p["control_lmax"], p["dt"], hamiltonian=H, t_end=p["t_end"])
        r = evolve(sim, p["t_end"], every=inv["every"], names=["purity"])
        controls[model] = {"times": r.times, "purity": r.series("purity")}
    for model in ("ehrenfest", "hybrid"):
        L = p["lmax"]
        pur = curves[f"{model}/L{L}"]["purity"]
        decay = float(1 - pur[-1])
        rows.append(row(f"{model}: purity of ρ̂q decays (coupled qubit, lmax {L}, "
                        f"t = {p['t_end']:g})", f"1 − Tr ρ̂q² = {decay:.3e}",
                        f"≥ {p['min_decay']:g}", decay >= p["min_decay"], value=decay,
                        limit=p["min_decay"]))
        Ls = inv["lmaxes"][model]
        if len(Ls) > 1:
            a, b = (curves[f"{model}/L{x}"]["purity"] for x in Ls[-2:])
            d = float(np.max(np.abs(a - b)))
            rows.append(row(f"{model}: purity curve resolved (lmax {Ls[-2]} vs {Ls[-1]})",
                            f"{d:.1e}", "informative", None, value=d))
        c = controls[model]["purity"]
        dc = float(np.max(np.abs(c - 1)))
        rows.append(row(f"{model}, uncoupled control: purity stays 1 (lmax {p['control_lmax']})",
                        f"{dc:.1e}", "≤ 1e-10", dc <= 1e-10, value=dc, limit=1e-10))
    e = curves[f"ehrenfest/L{p['lmax']}"]["purity"]
    h = curves[f"hybrid/L{p['lmax']}"]["purity"]
    rows.append(row("hybrid − Ehrenfest purity at t_end (same case)",
                    f"{h[-1] - e[-1]:+.3e}", "informative", None, value=h[-1] - e[-1]))
    mc = cached_value("mc_purity")
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for k, v in curves.items():
        ax.plot(v["times"], v["purity"], "-" if "ehrenfest" in k else "--", label=k)
    for k, v in controls.items():
        ax.plot(v["times"], v["purity"], ":", color="gray", label=f"{k} uncoupled")
    if mc is not None:
        sel = np.asarray(mc["times"]) <= p["t_end"] + 1e-12
        ax.plot(np.asarray(mc["times"])[sel], np.asarray(mc["purity"])[sel], "ko", ms=4,
                label=f"Ehrenfest trajectories (M = {mc['n']:.0e})")
    ax.set(xlabel="t", ylabel="Tr ρ̂q²", title="Decoherence: purity of ρ̂q (paper property 5)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    figs = [save(fig, figdir, "decoherence")]
    about = (__doc__.split("\n\n", 1)[1].strip()
             + f"\n\nHybrid: heat-kernel α = {C.HYBRID_REG['alpha']}; schemes {inv['schemes']}, "
               f"dt = {p['dt']:g}.\n\n| t | " + " | ".join(curves) + " |\n|---|"
             + "---|" * len(curves) + "\n"
             + "\n".join(f"| {t:.2f} | " + " | ".join(f"{v['purity'][i]:.6f}" for v in curves.values())
                         + " |" for i, t in enumerate(curves[f"ehrenfest/L{p['lmax']}"]["times"])
                         if i % 2 == 0))
    return {"title": "Decoherence", "about": about, "rows": rows,
            "data": {"curves": curves, "controls": controls,
                     "mc": mc and {k: v for k, v in mc.items()}}, "figures": figs}
