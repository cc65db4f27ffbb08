"""Ehrenfest and hybrid models on (S²)² against exact qubit ⊗ spin-I1 ⊗ spin-I2 dynamics.

``python -m validation.exact_comparison_two_spins [--fast] [--out DIR]`` writes
``DIR/results/exact_comparison_two_spins.json`` (every time series and the setup),
``DIR/figures/exact_comparison_two_spins.png`` and prints a markdown table (the one in
``docs/exact.md`` §"Two classical spins"). Default DIR: ``validation/``.

The case (issue 17 item 4): a qubit coupled to spin 1, spin 1 coupled to spin 2, a weak
field on spin 2::

    H(n1, n2) = ½ n1·σ + ¼ σz + J n1·n2 + h2 n2z,      J = 0.3, h2 = 0.1

Exact: ``spectral_qc.exact.solve_two_spins`` with ρq0 = |+x⟩⟨+x| and coherent states along
c1 = (1, 0, 1)/√2, c2 = (0, 1, 1)/√2. Models (Python API, ``ProductGrid([lmax, lmax])``):
ħ = 1, S_a = ħ I_a, ϱ0 the product of von Mises–Fisher densities with κ_a = 2I_a (as the
one-spin study, docs/exact.md §1.2) mixed with a uniform background of weight ``w``;
P0 = ρq0 uniform; split-step Strang. ρ̂q = ∫ϱP dA by ``ProductGrid.integrate``.

Resolution is the limitation: κ = 2I needs lmax ≈ 23 (I = 5) to 47 (I = 20) per factor for
a 1e-10 truncation (one-spin study), while a product step at lmax 23 × 23 costs seconds. At
the affordable lmax 13–15 the truncated ϱ0 has negative lobes (relative size in the JSON,
``vmf_min``), which Ehrenfest transports harmlessly but which the hybrid (∇ln ϱ̃, 1/ϱ̃)
refuses; the hybrid therefore gets the smallest background that keeps its smoothed ϱ̃0
positive (:func:`hybrid_background`; it moves ρ̂q by at most w in trace distance, since
the background is a mixture component of weight w) and runs that still stop are
reported with their time.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from spectral_qc import hermitian as hm
from spectral_qc.errors import SpectralQCError
from spectral_qc.exact import solve_two_spins
from spectral_qc.integrators import make_integrator
from spectral_qc.models.product import ProductEhrenfest, product_state, von_mises_fisher_product
from spectral_qc.models.product_hybrid import ProductHybrid
from spectral_qc.product_hamiltonians import ProductHamiltonian
from spectral_qc.sphere.product import ProductGrid
from validation.report import jsonable

HERE = Path(__file__).resolve().parent
CASE = {"J": 0.3, "h2": 0.1, "c1": [1.0, 0.0, 1.0], "c2": [0.0, 1.0, 1.0],
        "bloch": [1.0, 0.0, 0.0]}
BACKGROUND = 1e-5
#: Largest background the hybrid is given (a larger one would dominate its error).
MAX_BACKGROUND = 1e-2
ALPHA = 0.01
PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], complex)
#: Runs: (I, lmax per factor, [(model, background w or "auto"), …]); "auto" is
#: :func:`hybrid_background`. The last full-mode entry is the lmax check of Ehrenfest and the
#: one hybrid run that survives (I = 5, lmax 15, w = 1e-2; Ehrenfest at the same w shows
#: what the background alone does).
MODES = {
    "full": {"t_end": 5.0, "dt": 0.25, "output_every": 0.5, "runs": [
        (5, 13, [("ehrenfest", BACKGROUND), ("hybrid", "auto")]),
        (10, 13, [("ehrenfest", BACKGROUND), ("hybrid", "auto")]),
        (20, 13, [("ehrenfest", BACKGROUND), ("hybrid", "auto")]),
        (5, 15, [("ehrenfest", BACKGROUND), ("ehrenfest", 1e-2), ("hybrid", 1e-2)])]},
    "fast": {"t_end": 0.5, "dt": 0.25, "output_every": 0.25, "runs": [
        (2, 9, [("ehrenfest", BACKGROUND), ("hybrid", "auto")])]},
}


def rho_q0(case=CASE):
    b = np.asarray(case["bloch"], float)
    return 0.5 * (np.eye(2) + np.tensordot(b, PAULI, axes=1))


def exact_matrices(case=CASE):
    """``(A0, A, B, C)`` of H(n1, n2) for :func:`spectral_qc.exact.solve_two_spins`."""
    eye = np.eye(2)
    A0 = 0.25 * PAULI[2]
    A = 0.5 * PAULI
    B = np.zeros((3, 2, 2), complex)
    B[2] = case["h2"] * eye
    C = np.zeros((3, 3, 2, 2), complex)
    for a in range(3):
        C[a, a] = case["J"] * eye
    return A0, A, B, C


def product_hamiltonian(case=CASE):
    """The same H(n1, n2) as a :class:`ProductHamiltonian` (an independent transcription)."""
    J, h2 = case["J"], case["h2"]
    return ProductHamiltonian([
        ("X", lambda n1, n2: 0.5 * n1[0]), ("Y", lambda n1, n2: 0.5 * n1[1]),
        ("Z", lambda n1, n2: 0.5 * n1[2] + 0.25),
        ("I", lambda n1, n2: J * (n1 * n2).sum(0) + h2 * n2[2])], spins=2)


def exact_solution(spin, times, case=CASE):
    return solve_two_spins(*exact_matrices(case), rho_q0(case), (case["c1"], case["c2"]),
                           (spin, spin), times)


def initial_state(grid, spin, background, case=CASE):
    rho = von_mises_fisher_product(grid, [case["c1"], case["c2"]], [2.0 * spin] * 2)
    rho_t = grid.synthesis(grid.analysis(rho))
    vmf_min = float(rho_t.min() / rho_t.max())
    rho = (1.0 - background) * rho + background / (4 * np.pi) ** 2
    return product_state(grid, rho, rho_q0(case)), vmf_min


def hybrid_background(grid, spin, alpha=ALPHA, case=CASE):
    """Smallest background weight w ≥ BACKGROUND with which the heat-kernel-smoothed,
    truncated ϱ0 stays positive: w/(4π)² ≥ 2 × its undershoot (then rounded up to 1 digit)."""
    rho = von_mises_fisher_product(grid, [case["c1"], case["c2"]], [2.0 * spin] * 2)
    smooth = grid.synthesis(grid.heat_kernel(grid.analysis(rho), alpha))
    need = 2.0 * max(-float(smooth.min()), 0.0) * (4 * np.pi) ** 2
    if need <= BACKGROUND:
        return BACKGROUND
    exponent = math.floor(math.log10(need))
    return float(math.ceil(need / 10 ** exponent) * 10 ** exponent)


def make_model(kind, grid, spin, case=CASE):
    kw = dict(hbar=1.0, spin_magnitude=(float(spin), float(spin)))
    if kind == "hybrid":
        return ProductHybrid(grid, product_hamiltonian(case), regularization="heat_kernel",
                             alpha=ALPHA, **kw)
    return ProductEhrenfest(grid, product_hamiltonian(case), **kw)


def reduced_density(model, state):
    """ρ̂q = ∫ϱP dA ``(N, N)`` complex (ProductGrid.integrate of ϱ times P's components)."""
    f = model.fields(state)
    return hm.from_components(model.grid.integrate(f.rho * f.p))


def trace_distance(r1, r2):
    d = np.asarray(r1) - np.asarray(r2)
    d = 0.5 * (d + np.swapaxes(d.conj(), -1, -2))
    return 0.5 * np.abs(np.linalg.eigvalsh(d)).sum(axis=-1)


def run_model(kind, spin, lmax, *, t_end, dt, output_every, background, case=CASE):
    """Strang steps to ``t_end``; ρ̂q at every output time. A SpectralQCError or a
    non-finite ρ̂q stops the run; ``stop_time`` (the end of the step that failed) and the
    message are recorded."""
    grid = ProductGrid([lmax, lmax])
    model = make_model(kind, grid, spin, case)
    state, vmf_min = initial_state(grid, spin, background, case)
    step = make_integrator("strang", model)
    every = round(output_every / dt)
    nsteps = round(t_end / dt)
    if every < 1 or abs(every * dt - output_every) > 1e-12 or nsteps % every:
        raise ValueError(f"output_every = {output_every} and t_end = {t_end} must be "
                         f"multiples of dt = {dt}")
    out = {"kind": kind, "spin": spin, "lmax": lmax, "dt": dt, "background": background,
           "vmf_min": vmf_min, "time": [], "rho_q": [], "stopped": False, "message": ""}
    t0 = time.perf_counter()
    k, fail_at = 0, 0.0
    try:
        while True:
            r = reduced_density(model, state)
            if not np.all(np.isfinite(r)):
                raise FloatingPointError("non-finite ρ̂q")
            out["time"].append(k * dt)
            out["rho_q"].append(r)
            if k >= nsteps:
                break
            for _ in range(every):
                fail_at = (k + 1) * dt
                state = step.step(state, dt)
                k += 1
            fail_at = k * dt
    except (SpectralQCError, FloatingPointError) as exc:
        out.update(stopped=True, message=f"{type(exc).__name__}: {exc}", stop_time=fail_at)
    out["wall_s"] = time.perf_counter() - t0
    out["steps"] = k
    return out


def compare(run, exact):
    """Trace distance and purity error (model − exact) at the model's output times."""
    te = np.asarray(exact["time"].values)
    idx = [int(np.argmin(np.abs(te - t))) for t in run["time"]]
    if np.any(np.abs(te[idx] - np.asarray(run["time"])) > 1e-9):
        raise ValueError("model and exact output times differ")
    re = (exact["rho_q_real"].values + 1j * exact["rho_q_imag"].values)[idx]
    rm = np.array(run["rho_q"]).reshape(-1, 2, 2)
    pm = np.einsum("tij,tji->t", rm, rm).real
    return {"trace_distance": trace_distance(rm, re).tolist(),
            "purity_error": (pm - exact["purity"].values[idx]).tolist(),
            "trace_error": np.abs(np.einsum("tii->t", rm).real - 1.0).tolist()}


def study(mode="full", log=print, case=CASE):
    p = MODES[mode]
    times = np.round(np.arange(0.0, p["t_end"] + 1e-9, p["output_every"]), 12)
    res = {"mode": mode, "case": case, "setup": {k: v for k, v in p.items()},
           "alpha": ALPHA, "spins": {}}
    for spin, lmax, runs in p["runs"]:
        t0 = time.perf_counter()
        exact = exact_solution(spin, times, case)
        entry = res["spins"].setdefault(str(spin), {"exact": {
            "time": times.tolist(), "purity": exact["purity"].values.tolist(),
            "trace": exact["mass"].values.tolist(), "wall_s": time.perf_counter() - t0,
            "dimension": int(exact.attrs["dimension"])}, "runs": []})
        for kind, bg in runs:
            if bg == "auto":
                bg = hybrid_background(ProductGrid([lmax, lmax]), spin, case=case)
            if bg > MAX_BACKGROUND:
                run = {"kind": kind, "spin": spin, "lmax": lmax, "background": bg,
                       "time": [], "rho_q": [], "stopped": True, "stop_time": 0.0,
                       "wall_s": 0.0, "message": f"not run: ϱ̃0 > 0 needs background "
                       f"w ≈ {bg:.2g} > {MAX_BACKGROUND:g}"}
            else:
                run = run_model(kind, spin, lmax, t_end=p["t_end"], dt=p["dt"],
                                output_every=p["output_every"], background=bg, case=case)
            run.update(compare(run, exact))
            run["rho_q"] = [[[complex(x) for x in row] for row in m] for m in run["rho_q"]]
            entry["runs"].append(run)
            td = run["trace_distance"]
            if not td:
                log(f"I = {spin:2d} {kind:9s} lmax {lmax:2d}: {run['message']}")
                continue
            log(f"I = {spin:2d} {kind:9s} lmax {lmax:2d}: t = {run['time'][-1]:.1f} "
                f"TD {td[-1]:.3e} dP {run['purity_error'][-1]:+.3e} "
                f"{'STOPPED ' + run['message'] if run['stopped'] else ''} "
                f"({run['wall_s']:.0f} s)")
    res["checks"] = checks(res)
    res["markdown"] = markdown(res)
    return res


def _max_td_between(r1, r2):
    """max over shared output times of the trace distance between two runs' ρ̂q."""
    n = min(len(r1["rho_q"]), len(r2["rho_q"]))
    if n == 0:
        return None
    a, b = (np.array(r["rho_q"][:n], complex) for r in (r1, r2))
    return float(trace_distance(a, b).max())


def checks(res):
    """Ehrenfest lmax convergence (same I, same w, two lmax) and the background effect
    (same I, lmax, two w), as max trace distances between the runs' ρ̂q."""
    out = {}
    for spin, entry in res["spins"].items():
        ehr = [r for r in entry["runs"] if r["kind"] == "ehrenfest"]
        for i, r1 in enumerate(ehr):
            for r2 in ehr[i + 1:]:
                if r1["background"] == r2["background"] and r1["lmax"] != r2["lmax"]:
                    out[f"I={spin} ehrenfest lmax {r1['lmax']} vs {r2['lmax']}"] = \
                        _max_td_between(r1, r2)
                if r1["lmax"] == r2["lmax"] and r1["background"] != r2["background"]:
                    out[f"I={spin} ehrenfest lmax {r1['lmax']} background "
                        f"{r1['background']:g} vs {r2['background']:g}"] = _max_td_between(r1, r2)
    return out


def markdown(res, at=(1.0, 2.5, 5.0)):
    lines = ["| I | model | lmax | background w | " + " | ".join(
        f"TD t={t:g}" for t in at) + " | " + " | ".join(f"ΔP t={t:g}" for t in at)
        + " | stopped |",
        "|---" * (5 + 2 * len(at)) + "|"]
    for spin, entry in res["spins"].items():
        for run in entry["runs"]:
            tt = np.asarray(run["time"])

            def pick(key, t):
                i = np.flatnonzero(np.abs(tt - t) < 1e-9)
                return f"{run[key][i[0]]:.2e}" if i.size else "—"
            stop = (f"t = {run['stop_time']:g}: {run['message'].split(':')[0]}"
                    if run["stopped"]
                    else "no")
            lines.append(f"| {spin} | {run['kind']} | {run['lmax']} | {run['background']:g} | "
                         + " | ".join(pick("trace_distance", t) for t in at) + " | "
                         + " | ".join(pick("purity_error", t) for t in at) + f" | {stop} |")
    return "\n".join(lines)


def figure(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for spin, entry in res["spins"].items():
        for run in entry["runs"]:
            if not run["time"]:
                continue
            style = "-" if run["kind"] == "ehrenfest" else "--"
            label = f"I={spin} {run['kind']} L={run['lmax']} w={run['background']:g}"
            ax[0].semilogy(run["time"], np.maximum(run["trace_distance"], 1e-16), style,
                           label=label)
            ax[1].plot(run["time"], run["purity_error"], style, label=label)
    ax[0].set(xlabel="t", ylabel="trace distance ρ̂q vs exact")
    ax[1].set(xlabel="t", ylabel="purity error (model − exact)")
    ax[0].legend(fontsize=7)
    fig.suptitle("two classical spins: qubit ⊗ spin-I ⊗ spin-I, H = ½n1·σ + ¼σz + 0.3 n1·n2 "
                 "+ 0.1 n2z", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m validation.exact_comparison_two_spins",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="I = 2, lmax 9, t = 0.5")
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = study("fast" if args.fast else "full")
    res["wall_s"] = time.perf_counter() - t0
    (args.out / "results").mkdir(parents=True, exist_ok=True)
    (args.out / "results" / "exact_comparison_two_spins.json").write_text(
        json.dumps(jsonable(res), indent=1, default=str))
    figure(res, args.out / "figures" / "exact_comparison_two_spins.png")
    print(res["markdown"])
    for k, v in res["checks"].items():
        print(f"{k}: max trace distance {v:.2e}")
    print(f"total {res['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
