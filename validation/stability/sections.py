"""The sections of the stability study; every size comes from ``profiles[...]["stability"]``.

Each ``section_<name>(p)`` takes its table of :data:`validation.profiles.FULL` /
:data:`~validation.profiles.FAST` ``["stability"]`` and returns a JSON-ready dict.
"""

from __future__ import annotations

import time

import numpy as np

from spectral_qc.models.regularizations import Regularization
from spectral_qc.sphere import heat_kernel

from .linear import band, fit_exponent, growth_rate, wkb_coefficient
from .problem import model, study_base
from .runs import replay, rho_q_error, rho_q_run, tail_history

MAP_KERNELS = ("heat_kernel", "hyper_heat_kernel")


def _log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def _rate_entry(lmax, kind, l, *, hbar=1.0, regularization="none", alpha=0.0, width=None):
    m = model(lmax, hbar=hbar, regularization=regularization, alpha=alpha)
    lo, hi = band(l, lmax, width)
    t0 = time.time()
    r = growth_rate(m, study_base(kind, lmax), lo, hi)
    r.update(lmax=lmax, base=kind, l=l, band=[lo, hi], hbar=hbar,
             regularization=regularization if isinstance(regularization, str)
             else regularization.name, alpha=alpha, wall=round(time.time() - t0, 2))
    return r


def section_exponent(p):
    """Growth rate against l at α = 0, ħ = 1, fitted exponent per base state and lmax."""
    out = {"entries": [], "fits": {}, "wkb_c2": {}}
    for lmax, ls, bases in p["cases"]:
        for kind in bases:
            rows = [_rate_entry(lmax, kind, l, width=p["width"]) for l in ls]
            out["entries"] += rows
            c2 = wkb_coefficient(model(lmax), study_base(kind, lmax))[0]
            out["wkb_c2"][f"{kind}"] = c2
            big = [r for r in rows if r["l"] >= p["fit_from"]]
            b, a = fit_exponent([r["l"] for r in big], [r["rate"] for r in big])
            bh, ah = fit_exponent([r["l"] for r in big if r["l"] >= 16],
                                  [r["rate"] for r in big if r["l"] >= 16]) \
                if sum(r["l"] >= 16 for r in big) >= 2 else (None, None)
            out["fits"][f"{kind}@{lmax}"] = {"exponent_l>=8": b, "prefactor": a,
                                            "exponent_l>=16": bh}
            _log(f"exponent {kind} lmax {lmax}: {b:.3f} (l≥16: {bh}) "
                 f"rates {[round(r['rate'], 2) for r in rows]} c2 {c2:.4g}")
    return out


def section_hbar(p):
    """Growth rate at a fixed band against ħ: fitted ħ-exponent per base state."""
    lmax, l, hbars = p["lmax"], p["l"], p["hbars"]
    out = {"entries": [], "fits": {}, "lmax": lmax, "l": l}
    for kind in p["bases"]:
        rows = [_rate_entry(lmax, kind, l, hbar=h, width=p["width"]) for h in hbars]
        out["entries"] += rows
        b, _ = fit_exponent(hbars, [r["rate"] for r in rows])
        out["fits"][kind] = b
        _log(f"hbar {kind}: exponent {b:.3f} rates {[round(r['rate'], 2) for r in rows]}")
    return out


def section_map(p):
    """Stability map: the fastest band growth rate against α and ħ for each kernel.

    The maximum over bands of width ±w centred at ``bands`` (base state ``base``); α = 0
    is included for reference. Arnoldi with tol 1e-3.
    """
    lmax, ls, w, base = p["lmax"], p["bands"], p["width"], p["base"]
    out = {"lmax": lmax, "bands": ls, "base": base, "entries": [],
           "wkb_c2": wkb_coefficient(model(lmax), study_base(base, lmax))[0]}
    for hbar in p["hbars"]:
        for reg, alpha in [("none", 0.0)] + [(k, a) for k in MAP_KERNELS for a in p["alphas"]]:
            m = model(lmax, hbar=hbar, regularization=reg, alpha=alpha)
            b = study_base(base, lmax)
            rows = [growth_rate(m, b, l - w, l + w, k=4, tol=1e-3, maxiter=60, dense_below=1000)
                    for l in ls]
            i = int(np.argmax([r["rate"] for r in rows]))
            out["entries"].append({"regularization": reg, "alpha": alpha, "hbar": hbar,
                                   "max_rate": rows[i]["rate"], "l_max_rate": ls[i],
                                   "rates": [r["rate"] for r in rows]})
            _log(f"map {reg} α={alpha} ħ={hbar}: max {rows[i]['rate']:.3f} at l={ls[i]} "
                 f"{[round(r['rate'], 2) for r in rows]}")
    return out


def section_convergence(p):
    """ρ̂q(t) of the note's case (uniform product P) against lmax at fixed α, per kernel."""
    t_end = p["t_end"]
    out = {"t_end": t_end, "runs": [], "errors": {}}
    for reg in MAP_KERNELS:
        runs = [rho_q_run(L, regularization=reg, alpha=0.01, t_end=t_end)
                for L in p["lmaxes"][reg]]
        ref = runs[-1]
        out["errors"][reg] = {str(r["lmax"]): rho_q_error(r, ref) for r in runs[:-1]}
        out["runs"] += runs
        _log(f"convergence {reg} α=0.01 t={t_end}: {out['errors'][reg]} "
             f"energy drift {[r['energy_drift'] for r in runs]}")
    return out


def section_horizon(p):
    """Geometric convergence at small lmax (t = 0.5) and at a longer horizon (t = 1)."""
    out = {"runs": [], "errors": {}}
    for reg, alpha in [(k, a) for a in p["alphas"] for k in MAP_KERNELS]:
        for t_end, lmaxes in p["plan"]:
            runs = [rho_q_run(L, regularization=reg, alpha=alpha, t_end=t_end)
                    for L in lmaxes]
            key = f"{reg}@t={t_end}" + ("" if alpha == 0.01 else f"@alpha={alpha}")
            out["errors"][key] = {str(r["lmax"]): rho_q_error(r, runs[-1]) for r in runs[:-1]}
            out["runs"] += runs
            _log(f"horizon {key}: {out['errors'][key]} energy drift "
                 f"{[r['energy_drift'] for r in runs]} casimir "
                 f"{[r['casimir_drift'] for r in runs]}")
    return out


def section_alpha_limit(p):
    """α → 0 at a window where the unregularized model is resolved (product P)."""
    t_end, lmax = p["t_end"], p["lmax"]
    ref = rho_q_run(lmax, t_end=t_end)
    fine = rho_q_run(lmax + 16, t_end=t_end)
    out = {"t_end": t_end, "lmax": lmax, "resolution_check": rho_q_error(ref, fine),
           "errors": {}}
    for reg in MAP_KERNELS:
        out["errors"][reg] = {str(a): rho_q_error(rho_q_run(lmax, regularization=reg,
                                                            alpha=a, t_end=t_end), ref)
                              for a in p["alphas"]}
        _log(f"alpha limit {reg}: {out['errors'][reg]} (α=0 lmax {lmax} vs {lmax + 16}: "
             f"{out['resolution_check']:.3g})")
    return out


def section_detector(p):
    """Tail histories for calibrating StopCriteria (hybrid α = 0, Ehrenfest, regularized),
    replayed through the solver's TailMonitor under the legacy, the proposed and the
    default criteria."""
    runs = []
    for c in p["cases"]:
        h = tail_history(**c)
        runs.append(h)
        _log(f"detector {c}: nonfinite {h['t_nonfinite']} positivity {h['t_positivity']}")
    return replay(runs)


class DensityOnlySmoothing(Regularization):
    """Study-only (not registered): smooth ϱ inside ln ϱ only, as particle methods do.

    G is evaluated at (S_αϱ, ∇S_αϱ, P, ∇P) and used unsmoothed. Not Hamiltonian (𝒦 is no
    longer δh/δ𝒫 of an energy), keeps the Casimirs (any 𝒦 does). The analysis predicts it
    leaves the ħk² growth, which comes from ∇P, untouched.
    """

    name = "density_only"
    needs_alpha = True

    def quantum_fields_components(self, f, N):
        g = self.grid
        r_lm = heat_kernel(g, g.analysis(f.rho), self.alpha)
        return g.synthesis(r_lm), g.gradient(r_lm), f.p, f.grad_p


def section_variants(p):
    """Growth rates with smoothing of ϱ only (study-only variant) against α = 0."""
    lmax, ls = p["lmax"], p["ls"]
    out = {"lmax": lmax, "entries": []}
    for reg, alpha in (("none", 0.0), (DensityOnlySmoothing, 0.01), (DensityOnlySmoothing, 0.03)):
        for l in ls:
            out["entries"].append(_rate_entry(lmax, "product_evolved", l, regularization=reg,
                                              alpha=alpha))
            e = out["entries"][-1]
            _log(f"variant {e['regularization']} α={alpha} l={l}: {e['rate']:.3f}")
    return out


SECTIONS = {"exponent": section_exponent, "hbar": section_hbar, "map": section_map,
            "convergence": section_convergence, "horizon": section_horizon,
            "alpha_limit": section_alpha_limit, "detector": section_detector,
            "variants": section_variants}
