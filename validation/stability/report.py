"""Report rows and the report fragment of the stability study."""

from __future__ import annotations

from ..report import row


def rows(data):
    """Report rows (claim | measured | tolerance | pass) for validation.runner."""
    rows_ = []

    def add(*args):
        rows_.append(row(*args))

    if "exponent" in data:
        d = data["exponent"]
        for key, fit in d["fits"].items():
            b = fit["exponent_l>=8"]
            if key.startswith("product_evolved") or key.startswith("correlated_tilted"):
                add(f"growth rate ∝ l^p at α = 0 ({key}, bands l ≥ 8)", f"p = {b:.2f}",
                    "0.9 ≤ p ≤ 2.2 (→ 2 as l → ∞ where c₂ > 0)", 0.9 <= b <= 2.2)
            else:
                add(f"growth rate ∝ l^p at α = 0 ({key}; c₂ = 0: no ħl² term)",
                    f"p = {b:.2f}", "informative", None)
    if "map" in data:
        d = data["map"]
        for hbar in sorted({e["hbar"] for e in d["entries"]}):
            e0 = [e for e in d["entries"] if e["hbar"] == hbar and e["regularization"] == "none"]
            for e in d["entries"]:
                if e["hbar"] == hbar and e["regularization"] != "none" and e["alpha"] == 0.01:
                    add(f"{e['regularization']} α = 0.01 lowers the fastest growth (ħ = {hbar},"
                        f" lmax {d['lmax']})", f"{e['max_rate']:.3g} vs {e0[0]['max_rate']:.3g}",
                        "< 0.6 × α = 0", e["max_rate"] < 0.6 * e0[0]["max_rate"])
    if "convergence" in data:
        d = data["convergence"]
        for reg, errs in d["errors"].items():
            worst = max(errs.values())
            add(f"{reg} α = 0.01: ρ̂q(t = {d['t_end']}) converged in lmax "
                f"({', '.join(errs)} vs finest)", f"max error {worst:.2g}", "≤ 1e-10",
                worst <= 1e-10)
    if "detector" in data:
        for h in data["detector"]["runs"]:
            trig = h.get("proposed_trigger", h.get("default_trigger"))[0]
            name = (f"{h['kind']} {h['regularization']} α = {h['alpha']} lmax {h['lmax']} "
                    f"dt {h['dt']}"
                    + (" (correlated P)" if h.get("correlated") else ""))
            if h["kind"] == "hybrid" and h["regularization"] == "none":
                ok = trig is not None and (h["t_nonfinite"] is None or trig < h["t_nonfinite"])
                add(f"detector stops {name} before NaN", f"stop {trig}, NaN {h['t_nonfinite']}",
                    "stop < NaN", ok)
            else:
                ok = trig is None or (h["t_positivity"] is not None and trig >= h["t_positivity"])
                add(f"detector leaves {name} alone while positive",
                    f"stop {trig}, positivity lost {h['t_positivity']}", "no earlier stop", ok)
    return rows_


def markdown(res):
    """A short report fragment for validation.runner."""
    lines = ["Short-wave stability of the hybrid model (docs/stability.md)."]
    d = res.get("exponent")
    if d:
        lines.append("Fitted exponents of growth rate against l (α = 0, ħ = 1): " + ", ".join(
            f"{k}: {v['exponent_l>=8']:.2f}" for k, v in d["fits"].items()) + ".")
    return "\n\n".join(lines)
