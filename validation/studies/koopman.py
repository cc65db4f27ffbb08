"""Koopman models: when does ρc stay positive, and how close is ``hybrid_kvh`` to exact?

``python -m validation.studies.koopman [--fast] [--out DIR]`` (or ``python -m validation
--only koopman``) writes ``results/koopman.json``, ``results/koopman.md`` and
``figures/koopman_*.png`` under DIR (default ``validation/``; the full run also copies the
figures to ``docs/figures``). Sizes: ``validation.profiles`` (section ``koopman``).

(a) The paper's claim (after eq. 33): H = H0(n)·1 + H1(n)σz keeps ρc sign-preserving.
    ``hybrid_kvh`` (and the scalar ``kvh``) on several H, with and without H1, of degree
    1 and 2, and one H written three ways off the sphere; min ρc(t), ∫max(−ρc, 0) dA.
(b) Generic H: the same two numbers as maps over the coupling strength g (scale of the
    n·σ term) × ħ/S, for the demo Hamiltonian H = H0·1 + g·½n·σ + 0.35σz (S = 1, ħ varied)
    and the exact-comparison case H = g·½n·σ + ¼σz + 0.3nz (ħ = 1, S = I, κ = 2I).
(c) ``hybrid_kvh`` (H as written, and written homogeneous of degree 0) next to Ehrenfest
    and the regularized hybrid against exact qubit ⊗ spin-I dynamics
    (:mod:`validation.exact_comparison`): trace distance and purity error.

Sphere density (docs/numerics.md): ρc = Σ_a |Υ_a|² + ħ Im{Υ_a*, Υ_a}; for σz-only H the
components decouple into scalar KvH problems, χ_a = √ϱ_a e^{iσ_a/ħ}, and
ρc = Σ_a (ϱ_a + {ϱ_a, σ_a}) with ∂tσ_a = {H_a, σ_a} + L_a, L = n·∇H − H.
"""

from __future__ import annotations

import time

import numpy as np

from spectral_qc.hamiltonians import Hamiltonian
from spectral_qc.koopman_integrators import run_koopman
from spectral_qc.models import make_model
from spectral_qc.sphere import SphereGrid, integrate
from spectral_qc.states import bloch_density, von_mises_fisher
from spectral_qc.wavestates import koopman_initial_wave

R = "sqrt(nx**2+ny**2+nz**2)"
H0Q = "0.5*nz**2 + 0.3*nx"
#: The claim's Hamiltonians: label → (kind, terms, what L = n·∇H − H is).
CLAIM_CASES = {
    "H0 = 0.3nx + 0.5nz, H1 = 0": ("hybrid_kvh", [("I", "0.3*nx + 0.5*nz")], "L = 0"),
    "H0 = ½nz² + 0.3nx, H1 = 0": ("hybrid_kvh", [("I", H0Q)], "L = ½nz²"),
    "H0 = ½nz² + 0.3nx, H1 = 0.35": ("hybrid_kvh", [("I", H0Q), ("Z", "0.35")],
                                     "L = ½nz² − 0.35σz"),
    "H0 = 0.3nx, H1 = 0.5nz": ("hybrid_kvh", [("I", "0.3*nx"), ("Z", "0.5*nz")], "L = 0"),
    "H0 = 0.3nx, H1 = 0.5nz + 0.35": ("hybrid_kvh", [("I", "0.3*nx"), ("Z", "0.5*nz + 0.35")],
                                      "L = −0.35σz"),
    "H0 = ½nz² + 0.3nx, H1 = 0.5nz + 0.35": (
        "hybrid_kvh", [("I", H0Q), ("Z", "0.5*nz + 0.35")], "L = ½nz² − 0.35σz"),
    "H0 = 0.3nx, H1 = nx nz": ("hybrid_kvh", [("I", "0.3*nx"), ("Z", "nx*nz")], "L = nxnz σz"),
    "same, written degree 1: (½nz²)/|n| + 0.3nx, 0.5nz + 0.35|n|": (
        "hybrid_kvh", [("I", f"0.5*nz**2/{R} + 0.3*nx"), ("Z", f"0.5*nz + 0.35*{R}")], "L = 0"),
    "same, written degree 0: (½nz² + 0.3nx|n|)/|n|², (0.5nz + 0.35|n|)/|n|": (
        "hybrid_kvh", [("I", f"(0.5*nz**2 + 0.3*nx*{R})/({R})**2"),
                       ("Z", f"(0.5*nz + 0.35*{R})/{R}")], "L = −H"),
    "kvh: H = ½nz² + 0.3nx": ("kvh", [("I", H0Q)], "L = ½nz²"),
    "kvh: H = (½nz² + 0.3nx|n|)/|n|²": ("kvh", [("I", f"(0.5*nz**2 + 0.3*nx*{R})/({R})**2")],
                                        "L = −H"),
    "kvh: H = (½nz²)/|n| + 0.3nx": ("kvh", [("I", f"0.5*nz**2/{R} + 0.3*nx")], "L = 0"),
}
#: The initial state of (a): vMF κ = 2 at this centre, Bloch x̂ (both σz components).
CLAIM_CENTER = (0.48, 0.36, 0.8)


# ------------------------------------------------------------------ one wave run
def wave_run(kind, terms, lmax, t_end, dt, every, *, hbar=1.0, spin=1.0,
             center=CLAIM_CENTER, kappa=2.0, bloch=(1.0, 0.0, 0.0), keep=False):
    """Run a Koopman model from Υ0 = √ϱ0 ψ0; record ρc diagnostics every ``every``.

    Returns a dict of lists: ``time``, ``rho_c_min``, ``rho_c_max``, ``negative_mass``
    (∫max(−ρc, 0) dA), ``norm``, ``spectral_tail``, ``rho_q`` (N×N complex → [re, im]
    lists), ``purity``; ``wall_s``; with ``keep`` the model and final state too.
    """
    g = SphereGrid(lmax, nthreads=1)
    H = Hamiltonian(terms)
    if kind in ("kvn", "kvh"):
        H = H.reduced_to_scalar()
    m = make_model(kind, g, H, hbar=hbar, spin_magnitude=spin)
    rho0 = von_mises_fisher(g, center, kappa)
    w0 = koopman_initial_wave(g, rho0, [[1.0]] if m.N == 1 else bloch_density(bloch))
    out = {k: [] for k in ("time", "rho_c_min", "rho_c_max", "negative_mass", "norm",
                           "spectral_tail", "purity", "rho_q")}

    def record(t, s):
        rc = m.classical_density(s)
        rq = m.quantum_density(s)
        out["time"].append(float(t))
        out["rho_c_min"].append(float(rc.min()))
        out["rho_c_max"].append(float(rc.max()))
        out["negative_mass"].append(float(integrate(g, np.maximum(-rc, 0.0))))
        out["norm"].append(m.norm(s))
        out["spectral_tail"].append(m.spectral_tail(s))
        out["purity"].append(float(np.real(np.trace(rq @ rq))))
        out["rho_q"].append(rq)

    t0 = time.perf_counter()
    final = run_koopman(m, w0, t_end, dt, scheme="rk4", every=max(1, round(every / dt)),
                        callback=record)
    out["wall_s"] = time.perf_counter() - t0
    out["lmax"] = lmax
    if keep:
        out["model"], out["state"], out["rho0"] = m, final, rho0
    return out


def at(run, key, t):
    """``run[key]`` at the recorded time nearest ``t``."""
    i = int(np.argmin(np.abs(np.asarray(run["time"]) - t)))
    return run[key][i]


def worst(run, key, t):
    """min (rho_c_min) or max (others) of ``run[key]`` over recorded times ≤ t."""
    sel = np.asarray(run["time"]) <= t + 1e-9
    v = np.asarray(run[key])[sel]
    return float(v.min() if key == "rho_c_min" else v.max())


# ------------------------------------------------------------------ (a) the claim
def claim_part(p, log=print):
    """(a): every :data:`CLAIM_CASES` case at the profile's lmaxes, to ``t_end``."""
    res = {}
    for label, (kind, terms, lag) in CLAIM_CASES.items():
        runs = {}
        for L in p["lmaxes"]:
            r = wave_run(kind, terms, L, p["t_end"], p["dt"], p["every"])
            r.pop("rho_q")
            runs[str(L)] = r
        res[label] = {"kind": kind, "terms": terms, "lagrangian": lag, "runs": runs}
        hi = runs[str(p["lmaxes"][-1])]
        log(f"  (a) {label}: min ρc(t ≤ {p['t_end']:g}) = {min(hi['rho_c_min']):.3e}, "
            f"neg. mass {max(hi['negative_mass']):.3e} ({hi['wall_s']:.1f} s)")
    if p.get("hbar_check"):
        label = p["hbar_check"]["case"]
        kind, terms, lag = CLAIM_CASES[label]
        r = wave_run(kind, terms, p["lmaxes"][-1], p["t_end"], p["dt"], p["every"],
                     hbar=p["hbar_check"]["hbar"])
        r.pop("rho_q")
        res[label]["hbar_variant"] = {"hbar": p["hbar_check"]["hbar"], "run": r}
    return res


def linear_rotation_reference(grid, t, center=CLAIM_CENTER, kappa=2.0, b=(0.3, 0.0, 0.5),
                              spin=1.0):
    """ϱ0 rigidly rotated by H0 = n·B (analytic): X_H = B × n/S, so n(t) = R(|B|t/S) n0
    about B and ϱ(n, t) = ϱ0(R(−|B|t/S) n) = vMF centred on R(|B|t/S) c."""
    b = np.asarray(b, float)
    axis = b / np.linalg.norm(b)
    ang = np.linalg.norm(b) * t / spin
    c = np.asarray(center, float)
    c = c / np.linalg.norm(c)
    rot = (c * np.cos(ang) + np.cross(axis, c) * np.sin(ang)
           + axis * np.dot(axis, c) * (1 - np.cos(ang)))
    nc = np.tensordot(rot, grid.n, axes=(0, 0))
    return kappa / (4 * np.pi * np.sinh(kappa)) * np.exp(kappa * nc)


def liouville_check(p):
    """H0 = 0.3nx + 0.5nz, H1 = 0 (L = 0): ρc(t) equals the rigidly rotated ϱ0 (analytic)."""
    kind, terms, _ = CLAIM_CASES["H0 = 0.3nx + 0.5nz, H1 = 0"]
    L, T = p["liouville_check"]["lmax"], p["liouville_check"]["t"]
    r = wave_run(kind, terms, L, T, p["dt"], T, keep=True)
    rc = r["model"].classical_density(r["state"])
    ref = linear_rotation_reference(r["model"].grid, T)
    return {"lmax": L, "t": T, "max_abs_diff": float(np.max(np.abs(rc - ref))),
            "rel_diff": float(np.max(np.abs(rc - ref)) / np.max(ref))}


# ------------------------------------------------------------------ (b) the maps
def map_family(name, fam):
    """(kind, terms(g), run keywords(ħ/S)) of a map family."""
    if name == "demo":
        def terms(g):
            return [("I", H0Q), ("X", f"{0.5 * g!r}*nx"), ("Y", f"{0.5 * g!r}*ny"),
                    ("Z", f"{0.5 * g!r}*nz + 0.35")]

        def kw(x):  # S = 1, ħ = x
            return dict(hbar=x, spin=1.0, center=(0.0, 0.0, 1.0), kappa=2.0)
        return terms, kw
    deg0 = name == "exact_deg0"

    def terms(g):
        a = 0.5 * g
        if deg0:
            return [("X", f"{a!r}*nx/{R}"), ("Y", f"{a!r}*ny/{R}"),
                    ("Z", f"{a!r}*nz/{R} + 0.25"), ("I", f"0.3*nz/{R}")]
        return [("X", f"{a!r}*nx"), ("Y", f"{a!r}*ny"), ("Z", f"{a!r}*nz + 0.25"),
                ("I", "0.3*nz")]

    def kw(x):  # ħ = 1, S = I = 1/x, κ = 2I (exact_comparison's moment match)
        spin = 1.0 / x
        return dict(hbar=1.0, spin=spin, center=(1.0, 0.0, 1.0), kappa=2.0 * spin)
    return terms, kw


def map_part(p, log=print):
    """(b): for each family, min ρc and max negative mass over t ≤ T on the g × ħ/S grid."""
    out = {}
    for name, fam in p["families"].items():
        terms, kw = map_family(name, fam)
        cells = []
        for g in fam["couplings"]:
            for x, L in zip(fam["hbar_over_S"], fam["lmax"]):
                r = wave_run("hybrid_kvh", terms(g), L, p["t_end"], p["dt"], p["every"],
                             **kw(x))
                r.pop("rho_q")
                cells.append({"g": g, "hbar_over_S": x, "lmax": L, "run": r})
        checks = []
        for g, x, L in fam.get("checks", []):
            r = wave_run("hybrid_kvh", terms(g), L, p["t_end"], p["dt"], p["every"], **kw(x))
            r.pop("rho_q")
            checks.append({"g": g, "hbar_over_S": x, "lmax": L, "run": r})
        out[name] = {"couplings": fam["couplings"], "hbar_over_S": fam["hbar_over_S"],
                     "lmax": fam["lmax"], "cells": cells, "checks": checks,
                     "terms_g1": terms(1.0), "setup": fam["setup"]}
        log(f"  (b) {name}: {len(cells)} cells, "
            f"{sum(c['run']['wall_s'] for c in cells):.0f} s")
    return out


def map_grid(fam, key, t):
    """(couplings × hbar_over_S) array of :func:`worst` of ``key`` over t' ≤ t."""
    a = np.full((len(fam["couplings"]), len(fam["hbar_over_S"])), np.nan)
    for c in fam["cells"]:
        i, j = fam["couplings"].index(c["g"]), fam["hbar_over_S"].index(c["hbar_over_S"])
        a[i, j] = worst(c["run"], key, t)
    return a


# --------------------------------------------------------- (c) exact comparison
def exact_part(p, log=print):
    """(c): exact ρ̂q(t) and the four models per spin I (validation.exact_comparison)."""
    from ..exact_comparison.case import case_config, compare, run_model, solve_exact

    kw = dict(t_end=p["t_end"], dt=p["dt"], output_every=p["output_every"])
    out = {}
    for s in p["spins"]:
        t0 = time.perf_counter()
        exact = solve_exact(s, **kw)
        rq = (np.asarray(exact["rho_q_real"].values) + 1j * np.asarray(exact["rho_q_imag"].values))
        res = {"exact": {"time": exact["time"].values.tolist(),
                         "purity": exact["purity"].values.tolist(),
                         "trace": np.real(np.trace(rq, axis1=1, axis2=2)).tolist(),
                         "wall_s": time.perf_counter() - t0}, "models": {}}
        for label, kind in (("ehrenfest", "ehrenfest"), ("hybrid", "hybrid"),
                            ("hybrid_kvh", "hybrid_kvh"), ("hybrid_kvh_deg0", "hybrid_kvh")):
            cfg = case_config(kind, s, **kw)
            if label == "hybrid_kvh_deg0":
                cfg["hamiltonian"]["terms"] = degree0_terms(cfg["hamiltonian"]["terms"])
            ds, info = run_model(cfg)
            if "min_rho" not in ds:
                ds = ds.assign(min_rho=ds["rho_c_min"])
            r = compare(ds, exact)
            r.update(info)
            if "negative_mass" in ds:
                r["negative_mass"] = np.asarray(ds["negative_mass"].values).tolist()
            res["models"][label] = r
            log(f"  (c) I = {s} {label}: TD(end) = {r['trace_distance'][-1]:.3e}"
                + (f", STOPPED at t = {info['stop_time']:g}" if info["stopped"] else ""))
        out[str(s)] = res
    return out


def degree0_terms(terms):
    """The same H on the sphere written homogeneous of degree 0: each n-dependent
    coefficient (linear in n here) divided by |n|, so that L = n·∇H − H = −H."""
    out = []
    for t in terms:
        c = t["coef"]
        lin, plus, const = c.partition(" + ")
        if "n" in lin:
            c = f"({lin})/{R}" + (f" + {const}" if plus else "")
        out.append({**t, "coef": c})
    return out


# ---------------------------------------------------------------------- study
def compute(profile, log=print):
    t0 = time.perf_counter()
    from .koopman_shell import shell_check

    res = {"claim": claim_part(profile["claim"], log),
           "liouville_check": liouville_check(profile["claim"]),
           "shell": shell_check(H0Q, profile["claim"]["shell"], center=CLAIM_CENTER),
           "maps": map_part(profile["maps"], log),
           "exact": exact_part(profile["exact"], log),
           "profile": {k: v for k, v in profile.items()}}
    res["wall_s"] = time.perf_counter() - t0
    return res


def study(profile, figdir, *, results=None):
    """The validation-runner entry point (validation/runner.py protocol); ``results``: the
    ``data`` of an earlier run (figures and tables only, nothing recomputed)."""
    from .koopman_report import markdown, rows
    from .koopman_figures import figures

    res = compute(profile) if results is None else results
    figs = figures(res, figdir)
    return {"title": "Koopman models: positivity of ρc and hybrid_kvh against exact dynamics",
            "about": markdown(res), "rows": rows(res), "data": res, "figures": figs}


REPORT_BEGIN = "<!-- koopman study: begin (python -m validation.studies.koopman) -->"
REPORT_END = "<!-- koopman study: end -->"


def update_report(report_path, title, body, figures, base):
    """Replace (or append) this study's section of REPORT.md between the markers."""
    from pathlib import Path

    report_path = Path(report_path)
    text = report_path.read_text() if report_path.exists() else ""
    figs = "\n\n".join(f"![{Path(f).stem}]({Path(f).relative_to(base).as_posix()})"
                        for f in figures)
    section = f"{REPORT_BEGIN}\n## {title}\n\n{body.strip()}\n\n{figs}\n{REPORT_END}\n"
    if REPORT_BEGIN in text and REPORT_END in text:
        head, rest = text.split(REPORT_BEGIN, 1)
        tail = rest.split(REPORT_END, 1)[1].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    report_path.write_text(text)


def main(argv=None):
    """``python -m validation.studies.koopman [--fast] [--out DIR]``."""
    import argparse
    import json
    import shutil
    from pathlib import Path

    from ..profiles import PROFILES
    from ..report import jsonable

    here = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(prog="python -m validation.studies.koopman",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="small sizes (a few seconds)")
    ap.add_argument("--out", type=Path, default=None,
                    help="output directory (default validation/; --fast: out/koopman-fast/)")
    ap.add_argument("--replot", action="store_true",
                    help="redraw figures and tables from DIR/results/koopman.json")
    args = ap.parse_args(argv)
    out = args.out or (here.parent / "out" / "koopman-fast" if args.fast else here)
    (out / "results").mkdir(parents=True, exist_ok=True)
    old = (json.loads((out / "results" / "koopman.json").read_text())["data"]
           if args.replot else None)
    res = study(PROFILES["fast" if args.fast else "full"]["koopman"], out / "figures",
                results=old)
    (out / "results" / "koopman.json").write_text(json.dumps(jsonable(res), default=str))
    (out / "results" / "koopman.md").write_text(res["about"])
    summary = "\n".join(["| claim | measured | tolerance | pass |", "|---|---|---|---|"] + [
        f"| {r['claim']} | {r['measured']} | {r['tolerance']} | "
        f"{ {True: '✅', False: '❌', None: '—'}[r['passed']]} |" for r in res["rows"]])
    update_report(out / "REPORT.md", res["title"], summary + "\n\n" + res["about"],
                  res["figures"], out)
    if not args.fast and args.out is None:
        docs = here.parent / "docs" / "figures"
        for f in res["figures"]:
            shutil.copy(f, docs / Path(f).name)
    bad = [r["claim"] for r in res["rows"] if r["passed"] is False]
    print(f"koopman study: {len(res['rows']) - len(bad)}/{len(res['rows'])} rows pass "
          f"({res['data']['wall_s']:.0f} s)" + (f"; FAILED: {bad}" if bad else ""))
    return 1 if bad else 0


__all__ = ["study", "compute", "wave_run", "claim_part", "map_part", "exact_part",
           "liouville_check", "linear_rotation_reference", "degree0_terms", "CLAIM_CASES"]


if __name__ == "__main__":
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
