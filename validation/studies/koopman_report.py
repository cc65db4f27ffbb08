"""Rows and markdown of the Koopman study (:mod:`validation.studies.koopman`)."""

from __future__ import annotations

import numpy as np

from ..report import row
from .koopman import CLAIM_CENTER, at, map_grid, worst

MODEL_LABELS = {"ehrenfest": "Ehrenfest", "hybrid": "hybrid (heat kernel α = 0.01)",
                "hybrid_kvh": "hybrid_kvh, H as written (L = −¼σz)",
                "hybrid_kvh_deg0": "hybrid_kvh, H written degree 0 (L = −H)"}


#: Phase terms of :data:`~validation.studies.koopman.CLAIM_CASES` that are constant on S².
CONSTANT_L = ("L = 0", "L = −0.35σz")


def _times(res):
    return [t for t in (2.0, 5.0, 10.0, 20.0) if t <= res["profile"]["claim"]["t_end"] + 1e-9]


def claim_sign_kept(case, lmax):
    """min ρc ≥ −1e-12 max ρc over the run (the sign kept to round-off)."""
    r = case["runs"][str(lmax)]
    return min(r["rho_c_min"]) >= -1e-12 * max(r["rho_c_max"])


def rows(res):
    p = res["profile"]
    out = []
    lc = res["liouville_check"]
    tol = 1e-9
    out.append(row(f"(a) hybrid_kvh, H = (0.3nx + 0.5nz)·1 (L = 0): ρc(t) = ϱ0 rigidly rotated "
                   f"about B (analytic), lmax {lc['lmax']}, t = {lc['t']:g}, relative",
                   f"{lc['rel_diff']:.1e}", f"≤ {tol:g}", lc["rel_diff"] <= tol,
                   value=lc["rel_diff"], limit=tol))
    sh = res["shell"]
    nm3 = np.asarray(sh["neg_mass_3d"])
    drift = float(np.max(np.abs(nm3 - nm3[0])) / nm3[0])
    out.append(row(f"(a) R³ (thin shell δ = {sh['setup']['delta']:g}, kvh H = ½nz² + 0.3nx): "
                   "the paper's density D is sign preserving — ∫max(−D, 0) d³n constant while "
                   f"the sphere marginal's grows (t ≤ {sh['setup']['t_end']:g})",
                   f"R³: {nm3[0]:.4g} → {nm3[-1]:.4g} (max rel. change {drift:.1e}); marginal: "
                   f"{sh['neg_mass_marginal'][0]:.1e} → {sh['neg_mass_marginal'][-1]:.3g}",
                   "R³ change ≤ 1e-2, marginal end ≥ 1e-3",
                   drift <= 1e-2 and sh["neg_mass_marginal"][-1] >= 1e-3, value=drift,
                   limit=1e-2))
    L = p["claim"]["lmaxes"][-1]
    for label, case in res["claim"].items():
        r = case["runs"][str(L)]
        mn, nm = min(r["rho_c_min"]), max(r["negative_mass"])
        if case["lagrangian"] in CONSTANT_L:  # Υ real up to a uniform phase per component
            out.append(row(f"(a) {case['kind']}, {label} ({case['lagrangian']}): ρc ≥ 0 to "
                           f"t = {p['claim']['t_end']:g}, lmax {L}",
                           f"min ρc = {mn:.1e}", "≥ −1e-12 max ρc",
                           claim_sign_kept(case, L), value=mn))
        else:
            out.append(row(f"(a) {case['kind']}, {label} ({case['lagrangian']}): sign of ρc, "
                           f"t ≤ {p['claim']['t_end']:g}, lmax {L}",
                           f"min ρc = {mn:.3g}, ∫max(−ρc, 0) = {nm:.3g}", "informative", None,
                           value=nm))
    for s, e in res["exact"].items():
        for group, tol, why in (
                (("ehrenfest", "hybrid"), 1e-12, ""),
                (("hybrid_kvh", "hybrid_kvh_deg0"), 1e-11,
                 " (ρ̂q(0) = ρ0 ∫‖P_lmax √ϱ0‖² dA: the truncated √ϱ0 of κ = 100 with the 1e-5 "
                 "background loses 2.5e-12 of its norm at lmax 63)")):
            td0 = max(e["models"][k]["trace_distance"][0] for k in group if k in e["models"])
            out.append(row(f"(c) I = {s}: trace distance at t = 0, {' and '.join(group)}{why}",
                           f"{td0:.1e}", f"≤ {tol:g}", td0 <= tol, value=td0, limit=tol))
        dtr = float(np.max(np.abs(np.asarray(e["exact"]["trace"]) - 1)))
        out.append(row(f"(c) I = {s}: exact reference keeps Tr ρ̂q = 1", f"{dtr:.1e}",
                       "≤ 1e-12", dtr <= 1e-12, value=dtr, limit=1e-12))
        for k, m in e["models"].items():
            stop = f", stopped at t = {m['stop_time']:g}" if m["stopped"] else ""
            out.append(row(f"(c) I = {s} {MODEL_LABELS[k]}: max trace distance to exact",
                           f"{max(m['trace_distance']):.3e}{stop}", "informative", None,
                           value=max(m["trace_distance"])))
    return out


def claim_table(res):
    p = res["profile"]["claim"]
    Ls = p["lmaxes"]
    L = Ls[-1]
    ts = _times(res)
    head = ("| case | model | L = n·∇H − H | " + " | ".join(f"min ρc, t ≤ {t:g}" for t in ts)
            + " | " + " | ".join(f"∫max(−ρc,0), t ≤ {t:g}" for t in ts)
            + (f" | same at lmax {Ls[0]} | " if len(Ls) > 1 else " | ")
            + "tail(t_end) | sign kept |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for label, c in res["claim"].items():
        r = c["runs"][str(L)]
        mx = max(r["rho_c_max"])
        cells = [f"{worst(r, 'rho_c_min', t):.3g}" for t in ts]
        cells += [f"{worst(r, 'negative_mass', t):.3g}" for t in ts]
        if len(Ls) > 1:
            cells.append(f"{worst(c['runs'][str(Ls[0])], 'negative_mass', ts[-1]):.3g}")
        kept = min(r["rho_c_min"]) >= -1e-12 * mx
        lines.append(f"| {label} | {c['kind']} | {c['lagrangian']} | " + " | ".join(cells)
                     + f" | {r['spectral_tail'][-1]:.0e} | {'yes' if kept else '**no**'} |")
    return "\n".join(lines)


def map_tables(res):
    out = []
    T = res["profile"]["maps"]["t_end"]
    for name, fam in res["maps"].items():
        for key, what in (("negative_mass", "max ∫max(−ρc, 0) dA"),
                          ("rho_c_min", "min ρc")):
            for t in sorted({T / 2, T}):
                a = map_grid(fam, key, t)
                out.append(f"**{name}** — {what} over t ≤ {t:g} ({fam['setup']}); rows g, "
                           "columns ħ/S; lmax per column " + ", ".join(map(str, fam["lmax"])))
                out.append("")
                out.append("| g \\ ħ/S | " + " | ".join(f"{x:g}" for x in fam["hbar_over_S"])
                           + " |")
                out.append("|---|" + "---|" * len(fam["hbar_over_S"]))
                for i, g in enumerate(fam["couplings"]):
                    out.append(f"| {g:g} | " + " | ".join(f"{v:.3g}" for v in a[i]) + " |")
                out.append("")
        tails = [(c["g"], c["hbar_over_S"], at(c["run"], "spectral_tail", T))
                 for c in fam["cells"]]
        bad = [f"(g {g:g}, ħ/S {x:g}: {v:.0e})" for g, x, v in tails if v > 1e-6]
        out.append(f"Spectral tail of Υ at t = {T:g} above 1e-6 (min ρc there not converged): "
                   + (", ".join(bad) if bad else "none") + ".")
        for c in fam["checks"]:
            base = next(b for b in fam["cells"] if b["g"] == c["g"]
                        and b["hbar_over_S"] == c["hbar_over_S"])
            out.append(f"Resolution check g = {c['g']:g}, ħ/S = {c['hbar_over_S']:g}: "
                       + "; ".join(f"t ≤ {t:g}: negative mass {worst(base['run'], 'negative_mass', t):.4g}"
                                   f" (lmax {base['lmax']}) vs {worst(c['run'], 'negative_mass', t):.4g}"
                                   f" (lmax {c['lmax']}), min ρc {worst(base['run'], 'rho_c_min', t):.4g}"
                                   f" vs {worst(c['run'], 'rho_c_min', t):.4g}"
                                   for t in sorted({T / 2, T})) + ".")
        out.append("")
    return "\n".join(out)


def exact_table(res):
    times = res["profile"]["exact"]["table_times"]
    lines = ["| I | model | " + " | ".join(f"TD({t:g})" for t in times)
             + " | max TD | purity error at t_end | max |purity error| | stop |",
             "|---|---|" + "---|" * (len(times) + 4)]
    for s, e in res["exact"].items():
        for k, m in e["models"].items():
            tt = np.asarray(m["time"])

            def val(key, t):
                return (f"{m[key][int(np.argmin(np.abs(tt - t)))]:.3g}"
                        if tt.size and t <= tt[-1] + 1e-9 else "—")
            pe = np.abs(np.asarray(m["purity_error"]))
            stop = f"t = {m['stop_time']:g}" if m["stopped"] else "—"
            lines.append(f"| {s} | {MODEL_LABELS[k]} | "
                         + " | ".join(val("trace_distance", t) for t in times)
                         + f" | {max(m['trace_distance']):.3g} | {m['purity_error'][-1]:+.3g}"
                         f" (t = {tt[-1]:g}) | {pe.max():.3g} | {stop} |")
    return "\n".join(lines)


def markdown(res):
    p = res["profile"]
    lc = res["liouville_check"]
    return "\n\n".join([
        "Generated by `python -m validation.studies.koopman` (docs/koopman.md explains the "
        f"results). Wall time {res['wall_s']:.0f} s. RK4, dt = {p['claim']['dt']:g} "
        "((a), (b)); ρc is the sphere density ‖Υ‖² + ħ Im{Υ†, Υ} (docs/numerics.md), in "
        "units of probability per steradian, total mass 1.",
        f"### (a) The claim: H = H0(n)·1 + H1(n)σz, vMF κ = 2 at {tuple(CLAIM_CENTER)}, "
        f"Bloch x̂, ħ = S = 1, to t = {p['claim']['t_end']:g}, lmax {p['claim']['lmaxes'][-1]}",
        claim_table(res),
        f"Analytic control (H = n·B, L = 0): ρc equals the rotated ϱ0 to {lc['rel_diff']:.1e} "
        f"(relative, lmax {lc['lmax']}, t = {lc['t']:g})."
        + hbar_note(res),
        shell_table(res),
        "### (b) Maps over coupling g × ħ/S",
        map_tables(res),
        "### (c) Against exact qubit ⊗ spin-I dynamics (validation/exact_comparison's case)",
        exact_table(res)])



def hbar_note(res):
    out = []
    for label, c in res["claim"].items():
        hv = c.get("hbar_variant")
        if hv:
            L = str(res["profile"]["claim"]["lmaxes"][-1])
            a, b = c["runs"][L], hv["run"]
            t = 5.0
            out.append(f" ħ-independence ({label}, ħ = 1 vs {hv['hbar']:g}, lmax {L}): "
                       f"min ρc(t ≤ {t:g}) {worst(a, 'rho_c_min', t):.6g} vs "
                       f"{worst(b, 'rho_c_min', t):.6g}; negative mass "
                       f"{worst(a, 'negative_mass', t):.6g} vs {worst(b, 'negative_mass', t):.6g}.")
    return "".join(out)


def shell_table(res):
    sh = res["shell"]
    st = sh["setup"]
    lines = [f"**The claim in R³** (validation/studies/koopman_shell.py): scalar kvh, "
             f"H = {st['coef']}, solved on {st['nodes']} Gauss radii of the shell "
             f"|r − 1| < {st['delta']:g} (each radius its own H_r, L_r and 1/r bracket), "
             f"lmax {st['lmax']}; D = |χ|² + div(n|χ|²) + ħ Im{{χ*, χ}} of eq. 16 in R³ "
             "against its radial marginal and the unit-sphere ρc.", "",
             "| t | ∫max(−D, 0) d³n (R³) | min D (R³) | ∫max(−ρ,0) dA, marginal ∫D r²dr | "
             "same, unit-sphere ρc | max|marginal − ρc| / max|ρc| |", "|---|---|---|---|---|---|"]
    for k, t in enumerate(sh["time"]):
        lines.append(f"| {t:g} | {sh['neg_mass_3d'][k]:.5g} | {sh['min_3d'][k]:.5g} | "
                     f"{sh['neg_mass_marginal'][k]:.3g} | {sh['neg_mass_sphere'][k]:.3g} | "
                     f"{sh['marginal_vs_sphere'][k]:.1e} |")
    return "\n".join(lines)
