"""Ehrenfest and hybrid models against exact qubit ⊗ spin-I quantum dynamics.

``python -m validation --only exact_comparison`` (the study :func:`study`, sizes in
:mod:`validation.profiles`; or ``python -m validation.exact_comparison [--fast]``) writes

* ``validation/results/exact_comparison.json`` — every time series and the setup;
* ``validation/results/exact_comparison.md``  — a markdown fragment (setup, table of
  errors at fixed times, verdict) for ``validation/REPORT.md``; figure links in it are
  relative to ``validation/``;
* ``validation/figures/exact_comparison_{trace_distance,purity,trend}.png`` and, full mode,
  ``exact_comparison_B_{trace_distance,purity}.png`` (second case, pure coupling).

Full mode: I = 5, 10, 20, 50 to t = 10, plus the checks below (≈ 2–3 min on the optimized
solver); fast mode: I = 5, 10, 20 to t = 2 (≈ 5–10 s).

The case
--------
A qubit coupled to a spin, every entry linear in n (as the exact solver requires)::

    H(n) = (a/2) n·σ + (b/2) σz + c nz · 1,      a = 1, b = 0.5, c = 0.3

and, full mode, case B: a = 1, b = c = 0 (pure coupling; the exact Ĥ has two eigenvalues).

Exact: the spin is a quantum spin I (n → Ĵ/I), initial state ρq0 ⊗ |I; c0⟩⟨I; c0|
(spin-coherent along c0 = (1, 0, 1)/√2), ``spectral_qc.exact.solve``.
Models: the classical spin has S = ħI with ħ = 1 (docs/exact.md §1.1), ϱ0 a von
Mises–Fisher density with κ = 2I centred on c0 (the moment match of docs/exact.md §1.2),
P0 = ρq0 uniform (pure, Bloch vector x̂). The Hamiltonian is held fixed as I grows: the
qubit precesses at a rate O(a/ħ) = O(1), the classical spin moves at a rate
O(a/S) = O(1/I) and the ħ-corrections of the hybrid model are O(ħ/S) = O(1/I). The
equivalent description (H/I, ħ = 1/I, S = 1) is the same computation; S = ħI with ħ = 1 was
kept because it is what ``exact.solve`` checks (spin_magnitude = ħI) and it keeps both the
classical transport (velocity ∝ 1/I) and the phase mixing of P (rate ∝ b) slow, so the
resolution is set by the initial vMF width alone.

Numerical choices (measured, see the markdown fragment):

* ``lmax`` per I from the truncation error of the vMF (κ = 2I) at the grid: the error
  relative to max ϱ is ~1e-10 at (I, lmax) = (5, 23), (10, 31); 3e-12 at (20, 47);
  2e-9 at (50, 63). κ = 100 needs lmax ≈ 63–71 for 1e-9–1e-11. The observables converge
  earlier: at I = 50 the trace distances at lmax 39 and 47 agree with lmax 63 to 2e-10 and
  2e-12 over t ≤ 10, while at lmax 31 (truncation error 5e-3) the runs stop (measured in
  full mode, ``lmax_check``).
* A uniform background of weight ``BACKGROUND`` = 1e-5 is mixed into ϱ0 (both models).
  For κ = 2I ≳ 20 the vMF tail exp(−2κ) is below round-off, so the truncated ϱ0 has
  sign changes of size ~truncation error at the antipode; the hybrid generator contains
  ∇ln ϱ and 1/ϱ̃ and then blows up in the first step (measured at I = 10, lmax 31). The
  background changes ρ̂q by O(1e-5), far below the errors measured here.
* The hybrid model is regularized with ``[model] regularization = "heat_kernel"``,
  ``alpha = 0.01`` (docs/stability.md); the unregularized model is attempted at the
  small spins and its failure time is recorded; full mode repeats I = 20, 50 with
  α = 0.003 (``alpha_check``).
* Split-step Strang, dt = 0.1: the Ehrenfest rotation is exact and the transport slow;
  dt = 0.2 changes the Ehrenfest trace distance by < 1e-4 (I = 10). Full mode repeats
  I = 10 at dt = 0.05 and at a higher lmax to show the numbers are converged.

Modules: :mod:`.case` (configs, metrics, runs), :mod:`.figures`, :mod:`.report` (table,
verdict, markdown, rows).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np

from .case import (BACKGROUND, CASE, LMAX, MODELS, REGULARIZATION, case_config, compare,
                   exact_config, hamiltonian_terms, rho_q, run_model, solve_exact, study_spin,
                   trace_distance, vmf_degree_needed, vmf_truncation_error)
from .figures import plot_purity, plot_trace_distance, plot_trend
from .report import error_table, markdown, rows, verdict

TITLE = "Ehrenfest and hybrid models against exact qubit ⊗ spin-I dynamics"


def _dmax(a, b):
    """max |TD_a − TD_b| over the output times two runs share."""
    ta, tb = np.asarray(a["time"]), np.asarray(b["time"])
    common = [t for t in ta if np.any(np.abs(tb - t) < 1e-9)]
    va = [a["trace_distance"][int(np.argmin(np.abs(ta - t)))] for t in common]
    vb = [b["trace_distance"][int(np.argmin(np.abs(tb - t)))] for t in common]
    return float(np.max(np.abs(np.subtract(va, vb)))) if common else float("nan")


def compute(params, *, spins=None, log=print):
    """Run the study with ``params`` (the ``exact_comparison`` table of a profile; no files
    written); returns the results dict."""
    st = copy.deepcopy(params)
    fast = st["mode"] == "fast"
    if spins is not None:
        st["spins"] = list(spins)
    t0 = time.perf_counter()
    kw = dict(t_end=st["t_end"], dt=st["dt"], output_every=st["output_every"])
    results = {"fast": bool(fast), "case": CASE, "spins": st["spins"], "dt": st["dt"],
               "t_end": st["t_end"], "table_times": st["table_times"],
               "background": BACKGROUND, "regularization": REGULARIZATION,
               "hbar": 1.0, "spin_magnitude": "hbar*I", "kappa": "2*I",
               "runs": {}, "resolution": {}, "unregularized": {}}
    for s in st["spins"]:
        results["resolution"][str(s)] = {
            "truncation_error": vmf_truncation_error(s, LMAX.get(s, 31)),
            "degree_1e-9": vmf_degree_needed(s, 1e-9),
            "degree_1e-12": vmf_degree_needed(s, 1e-12)}
        results["runs"][str(s)] = study_spin(s, log=log, **kw)
    for s in st["unregularized_spins"]:
        exact = solve_exact(s, **kw)
        ds, info = run_model(case_config("hybrid", s, regularization="none", alpha=0.0, **kw))
        res = compare(ds, exact)
        res.update(info)
        results["unregularized"][str(s)] = res
        log(f"  I = {s} unregularized hybrid: "
            + (f"stopped at t = {info['stop_time']:g}" if info["stopped"] else "ran to t_end"))
    conv = st["convergence"]
    if conv:
        s = conv["spin"]
        base = results["runs"][str(s)]["models"]
        hi = study_spin(s, lmax=conv["lmax"], models=("hybrid",), log=log, **kw)
        fine = study_spin(s, models=MODELS, log=log, **{**kw, "dt": conv["dt"]})

        results["convergence"] = {
            "spin": s, "lmax_base": LMAX[s], "lmax": conv["lmax"], "dt_base": st["dt"],
            "dt": conv["dt"],
            "d_td_lmax": _dmax(base["hybrid"], hi["models"]["hybrid"]),
            "d_td_dt": _dmax(base["hybrid"], fine["models"]["hybrid"]),
            "d_td_dt_ehrenfest": _dmax(base["ehrenfest"], fine["models"]["ehrenfest"])}
    lc = st.get("lmax_check")
    if lc:
        s = lc["spin"]
        base = results["runs"][str(s)]
        checks = []
        for L in lc["lmax"]:
            hi = study_spin(s, lmax=L, log=log, **kw)
            checks.append({
                "lmax": L, "truncation_error": vmf_truncation_error(s, L),
                "d_td": {k: _dmax(base["models"][k], v) for k, v in hi["models"].items()},
                "stopped": {k: (f"t = {v['stop_time']:g} "
                                f"({v['message'].split('[')[-1].split(']')[0]})"
                                if v["stopped"] else "") for k, v in hi["models"].items()},
                "s_per_step": {k: v["s_per_step"] for k, v in hi["models"].items()},
                "refused": hi.get("refused", {})})
        results["lmax_check"] = {"spin": s, "lmax_base": base["lmax"], "checks": checks}
    ac = st.get("alpha_check")
    if ac:
        results["alpha_check"] = {"alpha": ac["alpha"], "runs": {}}
        for s in ac["spins"]:
            r = study_spin(s, models=("hybrid",), log=log, alpha=ac["alpha"], **kw)
            results["alpha_check"]["runs"][str(s)] = r["models"]["hybrid"]
    results["other_cases"] = {}
    for name, over in st.get("other_cases", {}).items():
        case = {**CASE, **over}
        sub = {"case": case, "spins": st["spins"], "table_times": st["table_times"],
               "runs": {}}
        for s in st["spins"]:
            sub["runs"][str(s)] = study_spin(s, log=log, case=case, **kw)
        sub["table"] = error_table(sub)
        sub["verdict"] = verdict(sub)
        results["other_cases"][name] = sub
    results["table"] = error_table(results)
    results["verdict"] = verdict(results)
    results["wall_s"] = time.perf_counter() - t0
    return results


def write(results, results_dir, figures_dir):
    """Write the JSON, the markdown fragment and the figures; returns the figure paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    results_dir, figures_dir = Path(results_dir), Path(figures_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "exact_comparison.md").write_text(markdown(results))
    paths = []
    for name, fn in [("trace_distance", plot_trace_distance), ("purity", plot_purity),
                     ("trend", plot_trend)]:
        fig = fn(results)
        paths.append(figures_dir / f"exact_comparison_{name}.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    for case, sub in (results.get("other_cases") or {}).items():
        for name, fn in [("trace_distance", plot_trace_distance), ("purity", plot_purity)]:
            fig = fn(sub)
            fig.suptitle(f"case {case}: a = {sub['case']['a']:g}, b = {sub['case']['b']:g}, "
                         f"c = {sub['case']['c']:g}", y=1.02)
            paths.append(figures_dir / f"exact_comparison_{case}_{name}.png")
            fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
            plt.close(fig)
    return paths


def study(params, figdir):
    """The validation study (:mod:`validation.runner` protocol): the results are the
    study's ``data``; the markdown fragment goes next to the figures' results folder."""
    results = compute(params)
    figdir = Path(figdir)
    figs = write(results, figdir.parent / "results", figdir)
    return {"title": TITLE, "about": markdown(results), "rows": rows(results),
            "data": results, "figures": figs}


__all__ = ["study", "compute", "write", "rows", "markdown", "error_table", "verdict",
           "case_config", "exact_config", "hamiltonian_terms", "compare", "rho_q",
           "trace_distance", "run_model", "solve_exact", "study_spin", "vmf_degree_needed",
           "vmf_truncation_error", "plot_purity", "plot_trace_distance", "plot_trend",
           "CASE", "LMAX", "BACKGROUND", "REGULARIZATION", "MODELS", "TITLE"]
