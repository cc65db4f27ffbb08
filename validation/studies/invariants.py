"""Invariants and positivity over time, for every model, at two resolutions.

Runs (shared with :mod:`.decoherence` through :func:`validation.protocol.cached`):

* liouville: ϱ0 von Mises–Fisher, H0; Casimir ∫ϱ² dA (the Berry Casimir with Ω = 1).
* ehrenfest and hybrid (coupled qubit; hybrid with the heat-kernel regularization, the
  unregularized model blows up, see validation.stability), three initial P:
  ``pure_uniform`` (Bloch (1, 0, 0) everywhere), ``pure_correlated``
  (spin_coherent_field, tilt 0.5), ``mixed_correlated`` (Bloch radius 0.2 … 0.9).

Invariants (paper §4.3, theory note §4): mass ∫ϱ; energy h (h_α for the regularized
hybrid); eigenvalue Casimirs ∫ϱ Tr P² and −∫ϱ Tr P log P (mixed P; trivial for pure P);
the Berry-curvature Casimir ∫ϱ²/Ω, Ω = 1 + ħ Im Tr(P{P, P}) (pure P; evaluated without
the purity gate of the solver's diagnostic, which returns NaN once truncation makes
1 − Tr P² > 1e-6 somewhere).
Measured: max over the run of |C(t) − C(0)| / |C(0)|.

Positivity (paper properties 1–2): min ϱ, min eig P over the grid, min eig ρ̂q.
"""

from __future__ import annotations

import numpy as np

from .. import cases as C
from ..protocol import cached, evolve
from ..report import row
from .plotting import plt, save

INVARIANTS = {
    "mass": "mass ∫ϱ",
    "energy": "energy h",
    "casimir_trP2": "∫ϱ Tr P²",
    "entropy": "−∫ϱ Tr P log P",
    "berry_casimir": "Berry ∫ϱ²/Ω",
}
NAMES = list(INVARIANTS) + ["min_rho", "min_eig_P", "min_eig_rho_q", "purity", "rho_q_real",
                            "rho_q_imag"]


def cases_for(model):
    return ["vmf"] if model == "liouville" else list(C.P_CASES)


def invariant_run(model, case, lmax, p, *, scheme=None, dt=None):
    """The (cached) run of one model/case/resolution with the invariants profile ``p``."""
    scheme = scheme or p["schemes"][model]
    dt = dt or p["dt"]
    t_end = t_end_of(p, model, case)
    key = ("inv", model, case, lmax, scheme, dt, t_end, p["every"])

    def make():
        P = None if case == "vmf" else C.P_CASES[case]
        sim = C.make_sim(model, lmax, dt, scheme=scheme, P=P, t_end=t_end)
        return evolve(sim, t_end, every=p["every"], names=NAMES,
                        label=f"{model}/{case}/L{lmax}")

    return cached(key, make)


def t_end_of(p, model, case):
    """t_end of a run: the profile's, unless ``t_end_overrides["model/case"]`` shortens it."""
    return p.get("t_end_overrides", {}).get(f"{model}/{case}", p["t_end"])


def _drift(series):
    s = np.asarray(series, float)
    if not np.all(np.isfinite(s)):
        return float("nan")
    return float(np.max(np.abs(s - s[0])) / abs(s[0]))


def applicable(model, case, name):
    if name in ("casimir_trP2", "entropy"):
        return case == "mixed_correlated"  # constant for pure P
    if name == "berry_casimir":
        return case != "mixed_correlated"
    return True


def all_runs(p):
    out = {}
    for model, lmaxes in p["lmaxes"].items():
        for case in cases_for(model):
            for L in lmaxes:
                out[(model, case, L)] = invariant_run(model, case, L, p)
    return out


def invariants_study(profile, figdir):
    p = profile
    runs = all_runs(p)
    data, rows = {}, []
    for (model, case, L), r in runs.items():
        data[f"{model}/{case}/L{L}"] = {
            "drifts": {n: _drift(r.series(n)) for n in INVARIANTS if applicable(model, case, n)},
            "failure": r.failure, "wall_s": r.wall,
            "series": {n: r.series(n) for n in INVARIANTS if applicable(model, case, n)},
            "times": r.times}
    for model, lmaxes in p["lmaxes"].items():
        tol = p["tolerance"][model]
        for name, label in INVARIANTS.items():
            lim = p["mass_tolerance"] if name == "mass" else (
                tol.get(name, tol["default"]) if isinstance(tol, dict) else tol)
            cells, worst = [], 0.0
            for L in lmaxes:
                vals = [data[f"{model}/{c}/L{L}"]["drifts"][name] for c in cases_for(model)
                        if applicable(model, c, name)]
                if not vals:
                    continue
                v = float("nan") if np.any(np.isnan(vals)) else max(vals)
                worst = max(worst, v) if np.isfinite(v) and np.isfinite(worst) else float("nan")
                cells.append(f"L{L}: {v:.1e}")
            if not cells:
                continue
            cases = [c for c in cases_for(model) if applicable(model, c, name)]
            short = [f"{c} to t = {t_end_of(p, model, c):g}" for c in cases
                     if t_end_of(p, model, c) != p["t_end"]]
            rows.append(row(f"{model} ({p['schemes'][model]}, dt {p['dt']:g}, t = {p['t_end']:g}): "
                            f"relative drift of {label} [{', '.join(cases)}]"
                            + (f" ({'; '.join(short)})" if short else ""),
                            "; ".join(cells), f"≤ {lim:g}", bool(worst <= lim),
                            value=worst, limit=lim))
    extra = {}
    sc = p.get("strang_check")
    if sc and p["schemes"][sc["model"]] != "strang":
        r = invariant_run(sc["model"], sc["case"], sc["lmax"], p, scheme="strang")
        d = {n: _drift(r.series(n)) for n in INVARIANTS if applicable(sc["model"], sc["case"], n)}
        extra["strang_check"] = {**sc, "drifts": d}
        rows.append(row(f"why {p['schemes'][sc['model']]} for {sc['model']}: the same run "
                        f"({sc['case']}, lmax {sc['lmax']}) with strang, dt {p['dt']:g}",
                        ", ".join(f"{INVARIANTS[n]} {v:.1e}" for n, v in d.items()),
                        "informative", None))
    hc = p.get("halving_check")
    if hc:
        base = invariant_run(hc["model"], hc["case"], hc["lmax"], p)
        half = invariant_run(hc["model"], hc["case"], hc["lmax"], p, dt=p["dt"] / 2)
        for name in ("energy", "berry_casimir"):
            e1, e2 = _drift(base.series(name)), _drift(half.series(name))
            extra[f"halving_check_{name}"] = {**hc, "drift_dt": e1, "drift_dt_half": e2,
                                              "ratio": e1 / e2 if e2 else float("inf")}
            rows.append(row(f"{hc['model']} {INVARIANTS[name]} drift is a time-step error: "
                            f"{hc['case']}, lmax {hc['lmax']}, dt {p['dt']:g} → {p['dt'] / 2:g} "
                            f"({p['schemes'][hc['model']]}: order 2 means ratio 4)",
                            f"{e1:.1e} → {e2:.1e} (ratio {e1 / e2:.2f})", "informative", None))
    data["extra"] = extra
    failures = {k: v["failure"] for k, v in data.items() if k != "extra" and v["failure"]}
    for k, f in failures.items():
        rows.append(row(f"{k} runs to t_end", f, "no failure", False))
    # figure: drifts over time at the finest resolution; colour = invariant, style = case
    models = list(p["lmaxes"])
    colors = dict(zip(INVARIANTS, ["C0", "C1", "C2", "C3", "C4"]))
    styles = {"vmf": "-", "pure_uniform": "-", "pure_correlated": "--", "mixed_correlated": ":"}
    fig, axes = plt.subplots(1, len(models), figsize=(4.6 * len(models), 4), sharey=True)
    for ax, model in zip(np.atleast_1d(axes), models):
        L = max(p["lmaxes"][model])
        for case in cases_for(model):
            d = data[f"{model}/{case}/L{L}"]
            t = np.array(d["times"])
            for name, s in d["series"].items():
                s = np.asarray(s, float)
                rel = np.abs(s - s[0]) / abs(s[0])
                ax.semilogy(t[1:], np.maximum(rel[1:], 1e-17), styles[case], color=colors[name],
                            label=f"{INVARIANTS[name]} ({case})")
        ax.set(title=f"{model} ({p['schemes'][model]}), lmax {L}", xlabel="t",
               ylabel="|C(t) − C(0)| / |C(0)|")
        ax.legend(fontsize=6, ncol=1)
    fig.tight_layout()
    figs = [save(fig, figdir, "invariants")]
    about = (__doc__.split("\n\n", 1)[1].strip()
             + f"\n\nSchemes: {p['schemes']}; dt = {p['dt']:g}; t_end = {p['t_end']:g}; "
               f"resolutions {p['lmaxes']}. Hybrid: heat-kernel α = {C.HYBRID_REG['alpha']}.\n\n"
               "| run | " + " | ".join(INVARIANTS.values()) + " | wall (s) |\n|---|"
             + "---|" * (len(INVARIANTS) + 1) + "\n"
             + "\n".join(f"| {k} | " + " | ".join(
                 f"{v['drifts'][n]:.1e}" if n in v["drifts"] else "—" for n in INVARIANTS)
                 + f" | {v['wall_s']:.0f} |" for k, v in data.items() if k != "extra"))
    for k, d in data.items():
        d.pop("series", None)
    return {"title": "Invariants over time", "about": about, "rows": rows, "data": data,
            "figures": figs}


def positivity_study(profile, figdir, inv_profile=None):
    from ..profiles import sibling

    # the runs are those of the invariants study (same profile as ``profile``)
    p = inv_profile or sibling(profile, "invariants")
    runs = all_runs(p)
    data, rows = {}, []
    for (model, case, L), r in runs.items():
        data[f"{model}/{case}/L{L}"] = {
            "min_rho": float(np.min(r.series("min_rho"))),
            "min_eig_P": float(np.min(r.series("min_eig_P"))),
            "min_eig_P_initial": float(r.series("min_eig_P")[0]),
            "min_eig_rho_q": float(np.min(r.series("min_eig_rho_q"))),
            "times": r.times, "min_rho_t": r.series("min_rho"),
            "min_eig_P_t": r.series("min_eig_P"), "min_eig_rho_q_t": r.series("min_eig_rho_q")}
    checks = [("min_rho", "min ϱ over grid and time", -profile["rho_tol"]),
              ("min_eig_P", "min eigenvalue of P over grid and time", -profile["eig_P_tol"]),
              ("min_eig_rho_q", "min eigenvalue of ρ̂q over time", -profile["eig_rho_q_tol"])]
    for model, lmaxes in p["lmaxes"].items():
        for key, label, lim in checks:
            if model == "liouville" and key != "min_rho":
                continue
            per_l = {}
            for L in lmaxes:
                vals = {c: data[f"{model}/{c}/L{L}"][key] for c in cases_for(model)}
                worst_c = min(vals, key=vals.get)
                per_l[L] = (vals[worst_c], worst_c)
            fine = per_l[max(lmaxes)][0]
            rows.append(row(f"{model}: {label} (worst case; pass judged at the finest lmax)",
                            "; ".join(f"L{L}: {v:.2e} ({c})" for L, (v, c) in per_l.items()),
                            f"≥ {lim:g}", fine >= lim, value=fine, limit=lim))
    probe = p.get("instability_probe")
    if probe:
        q = {**p, "t_end_overrides": {}}
        data["instability_probe"] = {}
        for L in probe["lmaxes"]:
            r = invariant_run(probe["model"], probe["case"], L, q)
            t = np.array(r.times)
            eig = r.series("min_eig_P")
            lost = t[eig < -profile["eig_P_tol"]]
            t_lost = float(lost[0]) if lost.size else None
            data["instability_probe"][f"L{L}"] = {
                **probe, "t_end": p["t_end"], "failure": r.failure, "t_positivity_lost": t_lost,
                "times": r.times, "min_eig_P_t": eig, "min_rho_t": r.series("min_rho")}
            rows.append(row(f"known limitation: {probe['model']} (heat-kernel α = "
                            f"{C.HYBRID_REG['alpha']}) with {probe['case']} P, lmax {L}, "
                            f"run to t = {p['t_end']:g}",
                            (f"min eig P < −{profile['eig_P_tol']:g} from t = {t_lost:g}; "
                             if t_lost is not None else "positivity kept; ")
                            + (f"stopped: {r.failure}" if r.failure else "ran to t_end"),
                            "informative (short-wave instability, validation.stability)", None))
    models = [m for m in p["lmaxes"] if m != "liouville"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for model, ls in zip(p["lmaxes"], ["-", "--", ":"]):
        L = max(p["lmaxes"][model])
        for case in cases_for(model):
            d = data[f"{model}/{case}/L{L}"]
            t = d["times"]
            axes[0].plot(t, d["min_rho_t"], ls, label=f"{model} {case}")
            if model in models:
                axes[1].plot(t, d["min_eig_P_t"], ls, label=f"{model} {case}")
                axes[2].plot(t, d["min_eig_rho_q_t"], ls, label=f"{model} {case}")
    for ax, title in zip(axes, ["min ϱ", "min eig P", "min eig ρ̂q"]):
        ax.set(title=title + " (finest lmax)", xlabel="t")
        ax.axhline(0, color="k", lw=0.5)
    axes[1].set_yscale("symlog", linthresh=1e-12)  # pure P sits at 0 ± round-off
    axes[1].set_title("min eig P (finest lmax; symlog, linear below 1e-12)")
    axes[0].legend(fontsize=6)
    axes[1].legend(fontsize=6)
    fig.tight_layout()
    figs = [save(fig, figdir, "positivity")]
    about = ("Positivity is exact for the continuum models (paper properties 1–2) and "
             "monitored here on the runs of the invariants study: min ϱ over the grid, "
             "the smallest eigenvalue of P anywhere (≈ 0 for pure P: the tolerance allows "
             "round-off and truncation), the smallest eigenvalue of ρ̂q. Positivity is a "
             "property of the continuum model, so a row passes when the finest resolution "
             "meets the tolerance; the coarser one is shown to make the trend visible.\n\n"
             "| run | min ϱ | min eig P | min eig ρ̂q |\n|---|---|---|---|\n"
             + "\n".join(f"| {k} | {v['min_rho']:.2e} | {v['min_eig_P']:.2e} | "
                         f"{v['min_eig_rho_q']:.2e} |" for k, v in data.items()
                         if k != "instability_probe"))
    return {"title": "Positivity over time", "about": about, "rows": rows, "data": data,
            "figures": figs}
