"""Radical pairs: exact, Schulten–Wolynes, Ehrenfest and hybrid P_S(t), yields, MFE curve.

``python -m validation.studies.radical_pair [--fast] [--out DIR] [--sections S ...]`` writes
``results/radical_pair.json``, ``results/radical_pair.md`` (the tables quoted in
docs/radical_pairs.md and validation/REPORT.md) and ``figures/radical_pair_*.png`` under
``validation/`` (``--fast``: ``out/radical_pair-fast/``, small sizes, < 1 min).

Cases (couplings in mT, times in τ = 1/(γe·1 mT) ≈ 5.68 ns, rates in 1/τ; singlet start,
unpolarized nuclei, B = 0.5 mT along z unless stated):

``single``   one nucleus, I = ½, 1, 3/2, 5/2, isotropic a(I) = √(3/4)/√(I(I+1)) (the same
             root-mean-square hyperfine field √(I(I+1))·a = √3/2 for every I; a(½) = 1).
``protons``  2 … 6 equivalent protons, a = 1/√n each (same rms field).
``aniso``    I = ½, axial A = diag(0.2, 0.2, 1.6), B = 0.5 along x, exchange J = 0.2,
             dipolar d = −0.2: the electron–electron coupling makes ⟨S1⟩ ≠ 0 locally, so
             the classical nucleus moves. (Without J and D the two electrons evolve
             independently, the reduced state of electron 1 stays ½·1 for a singlet or
             unpolarized-triplet start, and the Ehrenfest nucleus stays put for any
             hyperfine tensor.)
``mfe``      I = ½, a = 1, Φ_S(B) for B = 0 … 5 a (k = 1 and 0.5), the classical models
             through :func:`spectral_qc.sweep` (:func:`spectral_qc.radical_pair.mfe_sweep`).

Models: exact (quantum nucleus, :func:`exact_solve`, Haberkorn-free yields by the
Sylvester equation), Schulten–Wolynes (static nucleus, |Ĩ| = √(I(I+1)) and = I, converged
quadrature), Ehrenfest and the hybrid with the heat-kernel regularization α = 0.01
(lmax 15, dt 0.02, spin_rule "I", i.e. S = ħI as for the exact quantization).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
SWEEP_DIR = HERE.parent / "out" / "radical_pair-sweeps"      # the case directories (not kept)

PROFILES = {
    "full": {"t_end": 20.0, "t_hybrid": 10.0, "t_protons": 10.0, "lmax": 15, "dt": 0.02,
             "out_every": 0.1, "spins": [0.5, 1.0, 1.5, 2.5], "protons": [2, 3, 4, 5, 6],
             "hybrid_protons": [], "fields": [0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0,
                                               3.0, 5.0],
             "hybrid_fields": [0.0, 0.25, 0.5, 1.0, 2.0, 5.0], "t_mfe": 10.0,
             "windows": [2.0, 5.0, 10.0, 20.0], "rates": [0.1, 0.5, 1.0], "nodes": 160},
    "fast": {"t_end": 2.0, "t_hybrid": 1.0, "t_protons": 1.0, "lmax": 7, "dt": 0.05,
             "out_every": 0.1, "spins": [0.5, 1.0], "protons": [2], "hybrid_protons": [],
             "fields": [0.0, 1.0], "hybrid_fields": [1.0], "t_mfe": 1.0,
             "windows": [1.0, 2.0], "rates": [1.0], "nodes": 48},
}
ALPHA = 0.01
MODELS = ("exact", "sw_sqrt", "sw_I", "ehrenfest", "ehrenfest_sqrt", "hybrid")


def _rp():
    from spectral_qc import radical_pair as rp
    return rp


def _run_classical(pair, kind, t_end, p):
    rp = _rp()
    extra = ({"regularization": "heat_kernel", "alpha": ALPHA} if kind == "hybrid" else {})
    rule = "sqrt" if kind.endswith("_sqrt") else "I"
    kind = kind.removesuffix("_sqrt")
    t0 = time.perf_counter()
    ds = rp.simulate(pair, kind=kind, spin_rule=rule, lmax=p["lmax"], t_end=t_end,
                     dt=p["dt"], output_every=p["out_every"], **extra)
    ds.attrs["wall_s"] = time.perf_counter() - t0
    return ds


def _summary(name, ps, ref, times, rates, yields, p, ds=None):
    """max |ΔP_S| per window (None where the run did not reach it), yields, stop."""
    n = len(ps)
    out = {"max_dP": {}, "t_last": float(times[n - 1]), "yields": yields}
    for w in p["windows"]:
        if times[n - 1] + 1e-9 < w:
            out["max_dP"][str(w)] = None
        else:
            m = times[:n] <= w + 1e-9
            out["max_dP"][str(w)] = float(np.max(np.abs(ps[m] - ref[:n][m])))
    if ds is not None:
        out.update(status=list(ds.attrs["status"]), t_stop=float(ds.attrs["t_stop"]),
                   reason=ds.attrs["reason"][:300], wall_s=float(ds.attrs["wall_s"]),
                   max_nucleus_mean=float(np.max(np.abs(ds["nucleus_mean"].values))))
    return out


def compare_case(pair, p, *, t_end, t_hybrid, hybrid=True, label="", sqrt_run=False):
    """All models on one pair: traces and the summary table entries."""
    rp = _rp()
    times = p["out_every"] * np.arange(int(round(t_end / p["out_every"])) + 1)
    nodes = (p["nodes"], 4 if _axisymmetric(pair) else 48)
    exact = rp.exact_solve(pair, times)
    traces = {"exact": rp.singlet_probability(exact).values,
              "sw_sqrt": rp.schulten_wolynes(pair, times, spin_rule="sqrt", nodes=nodes).values,
              "sw_I": rp.schulten_wolynes(pair, times, spin_rule="I", nodes=nodes).values}
    yields = {"exact": {str(k): float(rp.exact_yields(pair, k)[0]) for k in p["rates"]},
              "sw_sqrt": {str(k): rp.schulten_wolynes_yield(pair, k, spin_rule="sqrt",
                                                            nodes=nodes) for k in p["rates"]},
              "sw_I": {str(k): rp.schulten_wolynes_yield(pair, k, spin_rule="I",
                                                         nodes=nodes) for k in p["rates"]}}
    summary = {m: _summary(m, traces[m], traces["exact"], times, p["rates"], yields[m], p)
               for m in ("exact", "sw_sqrt", "sw_I")}
    runs = {"ehrenfest": t_end}
    if sqrt_run:
        runs["ehrenfest_sqrt"] = t_end
    if hybrid:
        runs["hybrid"] = t_hybrid
    extra = {"exact_nucleus_mean": (exact["n_mean"].values * pair.nuclear_spin).tolist()}
    for kind, te in runs.items():
        print(f"[radical_pair] {label} {kind} t_end={te:g} …", file=sys.stderr, flush=True)
        ds = _run_classical(pair, kind, te, p)
        ps = rp.singlet_probability(ds).values
        traces[kind] = ps
        y = rp.singlet_yield(ds, p["rates"])
        ys = {str(k): {"value": float(v), "truncation_weight": float(tw)}
              for k, v, tw in zip(p["rates"], y.values, y.attrs["truncation_weight"])}
        summary[kind] = _summary(kind, ps, traces["exact"], times, p["rates"], ys, p, ds)
        extra[f"{kind}_nucleus_mean"] = ds["nucleus_mean"].values.tolist()
    return {"times": times.tolist(), "traces": {k: np.asarray(v).tolist()
                                                for k, v in traces.items()},
            "summary": summary, **extra}


def _axisymmetric(pair):
    A = np.asarray(pair._checked["A"])
    B = pair._checked["B"]
    return (np.allclose(A, A[0, 0] * np.eye(3)) and np.allclose(B[:2], 0)
            and pair.exchange == 0 and np.allclose(pair._checked["D"], 0))


def single_section(p):
    rp = _rp()
    out = {}
    for i_ in p["spins"]:
        a = math.sqrt(0.75) / math.sqrt(i_ * (i_ + 1))
        pair = rp.RadicalPair(hyperfine=a, nuclear_spin=i_, field=(0.0, 0.0, 0.5))
        out[f"I={i_:g}"] = compare_case(pair, p, t_end=p["t_end"], t_hybrid=p["t_hybrid"],
                                        label=f"I={i_:g}")
        out[f"I={i_:g}"]["a"] = a
    return out


def protons_section(p):
    rp = _rp()
    out = {}
    for n in p["protons"]:
        pair = rp.RadicalPair(hyperfine=1 / math.sqrt(n), count=n, field=(0.0, 0.0, 0.5))
        out[f"{n}H"] = compare_case(pair, p, t_end=p["t_protons"], t_hybrid=p["t_hybrid"],
                                    hybrid=n in p["hybrid_protons"], label=f"{n}H")
    return out


def aniso_section(p):
    rp = _rp()
    pair = rp.RadicalPair(hyperfine=np.diag([0.2, 0.2, 1.6]), field=(0.5, 0.0, 0.0),
                          exchange=0.2, dipolar=-0.2)
    return {"aniso": compare_case(pair, p, t_end=p["t_end"], t_hybrid=p["t_hybrid"],
                                  label="aniso", sqrt_run=True)}


def mfe_section(p, out):
    import spectral_qc as sq
    rp = _rp()
    pair = rp.RadicalPair(hyperfine=1.0)
    rates = [1.0, 0.5]
    res = {"fields": p["fields"], "hybrid_fields": p["hybrid_fields"], "rates": rates}
    nodes = (p["nodes"], 4)
    for k in rates:
        res[f"exact k={k:g}"] = [float(rp.exact_yields(rp.field_along(pair, b), k)[0])
                                 for b in p["fields"]]
        for rule in ("sqrt", "I"):
            res[f"sw_{rule} k={k:g}"] = [rp.schulten_wolynes_yield(
                rp.field_along(pair, b), k, spin_rule=rule, nodes=nodes) for b in p["fields"]]
    for kind, fields in (("ehrenfest", p["fields"]), ("hybrid", p["hybrid_fields"])):
        extra = ({"regularization": "heat_kernel", "alpha": ALPHA} if kind == "hybrid" else {})
        spec = rp.mfe_sweep(pair, fields, kind=kind, lmax=p["lmax"], t_end=p["t_mfe"],
                            dt=p["dt"], output_every=p["out_every"], spin_rule="I", **extra)
        print(f"[radical_pair] mfe {kind} sweep ({len(fields)} cases) …", file=sys.stderr,
              flush=True)
        t0 = time.perf_counter()
        ds = sq.sweep(spec, out=SWEEP_DIR / f"mfe_{kind}", workers=2, progress=False,
                      resume=False)
        res[f"{kind} wall_s"] = time.perf_counter() - t0
        for k in rates:
            y = rp.mfe_yields(ds, k, fields)
            res[f"{kind} k={k:g}"] = y.values.tolist()
            res[f"{kind} truncation k={k:g}"] = y["truncation_weight"].values.tolist()
        res[f"{kind} t_last"] = [float(v) for v in ds["t_last"].values]
        res[f"{kind} status"] = [str(v) for v in ds["status"].values]
    return res


# ----------------------------------------------------------------- tables and figures

def _fmt(v):
    return "—" if v is None else (f"{v:.2e}" if v < 1e-3 else f"{v:.3f}")


def table(sections, p):
    lines = []
    head = ("| case | model | " + " | ".join(f"max\\|ΔP_S\\| t≤{w:g}" for w in p["windows"])
            + " | " + " | ".join(f"Φ_S k={k:g}" for k in p["rates"]) + " | stop |")
    ncol = 3 + len(p["windows"]) + len(p["rates"])
    lines += [head, "|" + "---|" * ncol]
    for case, d in sections.items():
        for m in MODELS:
            if m not in d["summary"]:
                continue
            s = d["summary"][m]
            ys = []
            for k in p["rates"]:
                y = s["yields"][str(k)]
                if isinstance(y, dict):
                    tw = y["truncation_weight"]
                    ys.append(f"{y['value']:.4f}" + (f" (±{tw:.1e})" if tw > 1e-6 else ""))
                else:
                    ys.append(f"{y:.4f}")
            stop = ""
            if "status" in s:
                stop = ("ok" if all(x == "ok" for x in s["status"])
                        else f"stopped t = {s['t_stop']:g}")
            dp = " | ".join("" if m == "exact" else _fmt(s["max_dP"][str(w)])
                            for w in p["windows"])
            lines.append(f"| {case} | {m} | {dp} | {' | '.join(ys)} | {stop} |")
    return "\n".join(lines)


def mfe_table(m):
    f = m["fields"]
    lines = ["| B/a | " + " | ".join(f"{b:g}" for b in f) + " |",
             "|" + "---|" * (len(f) + 1)]
    for key in ("exact k=1", "sw_sqrt k=1", "sw_I k=1", "ehrenfest k=1"):
        lines.append(f"| {key} | " + " | ".join(f"{v:.4f}" for v in m[key]) + " |")
    hy = dict(zip(m["hybrid_fields"], m["hybrid k=1"]))
    tl = dict(zip(m["hybrid_fields"], m["hybrid t_last"]))
    lines.append("| hybrid k=1 (t_stop) | " + " | ".join(
        f"{hy[b]:.3f} ({tl[b]:g})" if b in hy else "" for b in f) + " |")
    return "\n".join(lines)


def figures(data, figdir):
    sys.path.insert(0, str(HERE.parent))
    from validation.studies.plotting import plt, save

    paths = []
    for group in ("single", "protons", "aniso"):
        cases = data[group]
        fig, axes = plt.subplots(1, len(cases), figsize=(3.2 * len(cases), 3.0), sharey=True,
                                 squeeze=False)
        for ax, (name, d) in zip(axes[0], cases.items()):
            t = np.asarray(d["times"])
            for m in MODELS:
                if m in d["traces"]:
                    y = np.asarray(d["traces"][m])
                    ax.plot(t[:len(y)], y, label=m, lw=1.2 if m == "exact" else 0.9)
            ax.set_title(name)
            ax.set_xlabel("t [1/(γe·1 mT)]")
        axes[0][0].set_ylabel("P_S(t)")
        axes[0][-1].legend(fontsize=7)
        fig.tight_layout()
        paths.append(str(save(fig, figdir, f"radical_pair_{group}")))
    m = data["mfe"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
    for ax, k in zip(axes, m["rates"]):
        for key, style in (("exact", "k-"), ("sw_sqrt", "C0--"), ("sw_I", "C1--"),
                           ("ehrenfest", "C2o-")):
            ax.plot(m["fields"], m[f"{key} k={k:g}"], style, label=key, ms=3)
        ax.plot(m["hybrid_fields"], m[f"hybrid k={k:g}"], "C3s:", ms=4,
                label="hybrid α=0.01 (truncated at its stop)")
        ax.set_xlabel("B / a")
        ax.set_ylabel("Φ_S")
        ax.set_title(f"MFE, I = ½, k = {k:g} a")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    paths.append(str(save(fig, figdir, "radical_pair_mfe")))
    return paths


SECTIONS = {"single": single_section, "protons": protons_section, "aniso": aniso_section,
            "mfe": mfe_section}


def main(argv=None):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS),
                    help="recompute only these (the others are read from the saved parts)")
    args = ap.parse_args(argv)
    p = PROFILES["fast" if args.fast else "full"]
    out = args.out or (HERE.parent / "out" / "radical_pair-fast" if args.fast else HERE)
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    parts = out / "results" / "radical_pair_parts"
    parts.mkdir(parents=True, exist_ok=True)
    from validation.report import jsonable
    for name in args.sections:
        t0 = time.perf_counter()
        d = SECTIONS[name](p, out) if name == "mfe" else SECTIONS[name](p)
        doc = {"data": d, "wall_s": time.perf_counter() - t0, "profile": p}
        (parts / f"{name}.json").write_text(json.dumps(jsonable(doc)))
    missing = [n for n in SECTIONS if not (parts / f"{n}.json").exists()]
    if missing:
        print(f"sections still missing: {missing}; the report is assembled once all exist")
        return 0
    docs = {n: json.loads((parts / f"{n}.json").read_text()) for n in SECTIONS}
    data = {"profile": p, **{n: docs[n]["data"] for n in SECTIONS},
            "wall_s": {n: docs[n]["wall_s"] for n in SECTIONS}}
    data["figures"] = figures(data, out / "figures")
    tables = {**data["single"], **data["protons"], **data["aniso"]}
    wall = ", ".join(f"{n} {w:.0f} s" for n, w in data["wall_s"].items())
    md = (f"Study wall time: {wall}.\n\n" + table(tables, p) + "\n\n"
          + mfe_table(data["mfe"]) + "\n")
    (out / "results" / "radical_pair.md").write_text(md)
    (out / "results" / "radical_pair.json").write_text(json.dumps(jsonable(data), indent=1))
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
