"""Crossing characteristics on the other cases of issue 14: stops against the trajectories.

The ``cases`` section of :mod:`validation.studies.characteristics`. For each case — the
exact-comparison case at I = 5 and I = 50 (:mod:`validation.exact_comparison`), the
mixed-P0 run of notebook 03, and the sweep/demo config (``spectral_qc/data/demo.toml``,
the regularized hybrid at dt = 0.01) — and each model (Ehrenfest; the heat-kernel hybrid,
α = 0.01), it records the stop at lmax 31 / 63 / 127 (class, time, min J at the stop)
and the first crossing of the Ehrenfest characteristics from the trajectory reference
(:func:`validation.references.ehrenfest_flow_jacobian`, solver-free). The Ehrenfest X does
not depend on ϱ, so the reference depends only on H, S, ħ and the initial Bloch vector; the
hybrid's X differs from it by its ħ-terms, so for hybrid rows the Ehrenfest crossing is the
classical-transport yardstick, not the hybrid's own.

Verdict of a row: ``crossing`` when the run stops with CharacteristicsCross; ``runs to
t_end`` when it does not stop; otherwise the class of the stop (e.g. the refusal of an
initial state the grid cannot represent).
"""

from __future__ import annotations

import numpy as np

from spectral_qc.errors import SpectralQCError

from .. import references as ref
from ..cases import ID2, SX, SY, SZ
from ..cases import grad_h_matrix, h_matrix
from ..exact_comparison.case import CASE, case_config
from .characteristics import DEMO_TERMS, gauss_points, run

LMAXES = (31, 63, 127)


def exact_case_h(n, a=CASE["a"], b=CASE["b"], c=CASE["c"]):
    """H(n) = (a/2) n·σ + (b/2) σz + c nz of the exact-comparison case, ``(M, 2, 2)``."""
    x, y, z = n
    return (np.multiply.outer(c * z, ID2) + np.multiply.outer(0.5 * a * x, SX)
            + np.multiply.outer(0.5 * a * y, SY) + np.multiply.outer(0.5 * a * z + 0.5 * b, SZ))


def exact_case_grad_h(n, a=CASE["a"], c=CASE["c"]):
    """Cartesian gradient of every entry of :func:`exact_case_h`, ``(3, M, 2, 2)``."""
    one = np.ones(n.shape[1])
    return np.stack([np.multiply.outer(0.5 * a * one, SX), np.multiply.outer(0.5 * a * one, SY),
                     np.multiply.outer(one, c * ID2 + 0.5 * a * SZ)])


def _exact_comparison(spin):
    def cfg(kind, lmax):
        return case_config(kind, spin, lmax=lmax, t_end=10.0, dt=0.1, output_every=0.1)
    return dict(config=cfg, h=exact_case_h, grad_h=exact_case_grad_h, S=float(spin),
                bloch=CASE["bloch"], t_ref=10.0)


def _demo_like(center, kappa, bloch, dt, t_end, every):
    def cfg(kind, lmax):
        model = {"kind": kind, "hbar": 1.0, "spin_magnitude": 1.0}
        if kind == "hybrid":
            model.update(regularization="heat_kernel", alpha=0.01)
        return {"grid": {"lmax": lmax}, "model": model, "hamiltonian": {"terms": DEMO_TERMS},
                "initial": {"classical": {"kind": "von_mises_fisher", "center": center,
                                          "kappa": kappa},
                            "quantum": {"bloch": bloch}},
                "time": {"t_end": t_end, "dt": dt, "output_every": every}}
    return dict(config=cfg, h=h_matrix, grad_h=grad_h_matrix, S=1.0, bloch=bloch, t_ref=t_end)


CASES = {
    "exact I=5": _exact_comparison(5),
    "exact I=50": _exact_comparison(50),
    "notebook 03 (mixed P0)": _demo_like([0.3, 0.0, 1.0], 3.0, [0.6, 0.0, 0.5], 0.02, 3.0, 0.04),
    "demo.toml / sweep (dt 0.01)": _demo_like([0.0, 0.0, 1.0], 2.0, [1.0, 0.0, 0.0], 0.01, 2.5, 0.05),
}


def reference_crossing(case, nlat):
    """First crossing of the Ehrenfest characteristics of ``case`` (inf: none by t_ref),
    and min J at t_ref."""
    c = CASES[case]
    times = np.arange(0.0, c["t_ref"] + 1e-9, 0.02)
    r = ref.ehrenfest_flow_jacobian(c["h"], c["grad_h"], c["bloch"], gauss_points(nlat), times,
                                    spin_magnitude=c["S"])
    return ref.first_crossing(r.times, r.minimum), r.minimum


def verdict(stop):
    if stop is None:
        return "runs to t_end"
    if stop["class"] == "CharacteristicsCross":
        return "crossing"
    return stop["class"]


def cases(fast):
    nlat = 32 if fast else 96
    out = {}
    for name, c in CASES.items():
        t_x, jmin = reference_crossing(name, nlat)
        row = {"reference_crossing": t_x, "reference_min_J_at_t_end": float(jmin[-1]),
               "t_end": c["t_ref"], "runs": {}}
        for kind in ("ehrenfest", "hybrid"):
            for lmax in ((31,) if fast else LMAXES):
                try:
                    _, stop, wall = run(c["config"](kind, lmax))
                except SpectralQCError as exc:  # refused before the first step
                    stop, wall = {"class": type(exc).__name__, "time": 0.0,
                                  "message": str(exc), "jacobian_min": 1.0}, 0.0
                row["runs"][f"{kind}/{lmax}"] = {"stop": stop, "verdict": verdict(stop),
                                                 "wall_s": wall}
        out[name] = row
    return out


def _cell(run):
    stop = run["stop"]
    if stop is None:
        return "runs to t_end"
    if run["verdict"] == "ConfigError":
        return "refused at t = 0"
    what = "crossing" if run["verdict"] == "crossing" else f"under-res. ({stop['quantity']})"
    if "breakdown" in stop.get("message", ""):
        what = f"breakdown ({stop['quantity']})"
    return f"{stop['time']:.3g} {what} (J {stop['jacobian_min']:.2g})"


def markdown_rows(section):
    """Rows of the docs table (docs/stability.md §9.1) from the ``cases`` section."""
    rows = []
    for name, row in section.items():
        t_x = row["reference_crossing"]
        ref_txt = (f"{t_x:.3g}" if np.isfinite(t_x)
                   else f"none by t = {row['t_end']:g} (min J {row['reference_min_J_at_t_end']:.2g})")
        for kind in ("ehrenfest", "hybrid"):
            cells = [_cell(row["runs"][f"{kind}/{lmax}"]) for lmax in LMAXES
                     if f"{kind}/{lmax}" in row["runs"]]
            rows.append(f"| {name} | {kind} | " + " | ".join(cells) + f" | {ref_txt} |")
    return "\n".join(rows)


if __name__ == "__main__":
    import json

    from .characteristics import RESULTS

    print(markdown_rows(json.loads(RESULTS.read_text())["cases"]))
