"""Benchmark suite of spectral_qc: cost of a tendency and of a time step, in milliseconds
and in *pair-equivalents* (multiples of one scalar synthesis + analysis pair on the same
grid, measured in the same process).

Usage::

    python benchmarks/run.py                      # lmax 63 127 255 511, writes docs + JSON
    python benchmarks/run.py --lmax 63 127        # a subset
    python benchmarks/run.py --quick              # fewer repeats, lmax ≤ 255
    python benchmarks/run.py --no-docs            # do not touch docs/performance.md

What is measured (per lmax, per case):

* ``pair``: one ``grid.synthesis(grid.analysis(f))`` of one real scalar field;
* ``tendency``: ``f = model.fields(state)``, ``model.transport_tendency(state, f)`` and
  ``model.generator_components(f)`` — everything one stage of the full tendency needs
  (grid fields, velocity, transport part, the rotation generator 𝒦 in the real
  components the integrator uses; the complex matrix form ``generator_from_fields`` is a
  view for users and costs one conversion more);
* ``step``: one Strang step R(½) T(1) R(½) (4 RK4 tendencies + 2 rotations);
* ``transforms``: the transform calls of one transport tendency (``grid.counts``),
  one per real scalar field (a gradient or a vector transform counts 1);
* ``peak_MB``: tracemalloc peak of one step (numpy allocations, beyond the state);
  ``maxrss_MB``: the process' resident-set high-water mark after the case.

Times are process CPU times (``time.process_time``), the minimum over repeats (robust
to a loaded machine; the wall times are in the JSON). The pair is timed before the first
case of an lmax, after each case and after the last one; every row of that lmax is
divided by the same pair time, the minimum of all these (a measurement fix: before, the
pair was refined during the run, so early cases were divided by a slower pair). The OpenMP thread
count of shtns is taken from ``OMP_NUM_THREADS`` (see docs/performance.md).
Results: ``benchmarks/results/bench-<stamp>.json`` and the table between the markers of
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import spectral_qc  # noqa: E402
from spectral_qc import SphereGrid  # noqa: E402
from spectral_qc.hamiltonians import Hamiltonian  # noqa: E402
from spectral_qc.integrators import make_integrator  # noqa: E402
from spectral_qc.models import make_model  # noqa: E402
from spectral_qc.states import (  # noqa: E402
    spin_coherent_field, state_from_grid, two_qubit_correlated_field, von_mises_fisher)

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

H_SCALAR = "0.5*nz**2 + 0.3*nx"
HAMILTONIANS = {
    1: [(np.eye(1), H_SCALAR)],
    2: [("I", H_SCALAR), ("X", "0.5*nx"), ("Y", "0.5*ny"), ("Z", "0.5*nz + 0.35")],
    # two qubits: Pauli strings with coefficients linear in n
    4: [("II", H_SCALAR), ("XI", "0.5*nx + 0.2"), ("IX", "0.4*ny"), ("ZZ", "0.3*nz + 0.1"),
        ("ZI", "0.35")],
    # three qubits
    8: [("III", H_SCALAR), ("XII", "0.5*nx + 0.2"), ("IXI", "0.4*ny"), ("ZZI", "0.3*nz + 0.1"),
        ("IZZ", "0.2*nx"), ("IIX", "0.35")],
}
CASES = [  # (label, model kind, N, keywords)
    ("liouville", "liouville", 1, {}),
    ("ehrenfest", "ehrenfest", 2, {}),
    ("ehrenfest", "ehrenfest", 4, {}),
    ("hybrid", "hybrid", 2, {}),
    ("hybrid+hk", "hybrid", 2, dict(regularization="heat_kernel", alpha=0.01)),
    ("hybrid", "hybrid", 4, {}),
    ("hybrid+hk", "hybrid", 4, dict(regularization="heat_kernel", alpha=0.01)),
    ("ehrenfest", "ehrenfest", 8, {}),
    ("hybrid", "hybrid", 8, {}),
]


def initial_state(grid, N):
    rho = von_mises_fisher(grid, [0.3, 0.1, 1.0], 2.0)
    if N == 1:
        P = np.ones((1, 1) + grid.shape, complex)
    elif N == 2:
        P = spin_coherent_field(grid, 0.6)
    elif N == 4:  # a correlated pure two-qubit state
        P = two_qubit_correlated_field(grid)
    else:
        P = three_qubit_correlated_field(grid)
    return state_from_grid(grid, rho, P)


def three_qubit_correlated_field(grid):
    """A pure three-qubit P(n) = |ψ(n)⟩⟨ψ(n)| correlated with n, ``(8, 8, nlat, nphi)``."""
    nx, ny, nz = grid.n
    one = np.ones(grid.shape)
    psi = np.stack([one + 0j, nx + 1j * ny, (0.5 + 0.2j) * nz, nx * nz + 0.3j,
                    0.2 * ny + 0j, 0.1j * nx, 0.3 * one + 0j, 0.1 * nz + 0.1j])
    psi /= np.linalg.norm(psi, axis=0)
    return np.einsum("i...,j...->ij...", psi, psi.conj())


def best_time(fn, repeats, budget_s):
    """Minimum CPU time and minimum wall time of ``fn()``, seconds, over up to ``repeats``
    runs (at least one; fewer when ``budget_s`` of wall time is spent).

    CPU time (``time.process_time``, all threads of the process) is what the tables use:
    on a shared machine the wall time also counts the time the process waited for a core.
    """
    best_cpu = best_wall = math.inf
    t_start = time.perf_counter()
    for _ in range(repeats):
        c, t = time.process_time(), time.perf_counter()
        fn()
        best_cpu = min(best_cpu, time.process_time() - c)
        best_wall = min(best_wall, time.perf_counter() - t)
        if time.perf_counter() - t_start > budget_s:
            break
    return best_cpu, best_wall


def transform_counts(model, state):
    g = model.grid
    g.counts.clear()
    model.transport_tendency(state)
    return dict(g.counts)


def bench_lmax(lmax, args, dt=1e-3):
    grid = SphereGrid(lmax)
    rng = np.random.default_rng(1)
    f = rng.standard_normal(grid.shape)
    f_lm = grid.analysis(f)

    def pair():
        grid.synthesis(grid.analysis(f))

    pair()
    # One pair time for every case of this lmax: measured before, between and after the
    # cases (interleaved, the machine's state drifts on a shared host) and the minimum
    # used for all rows, so that no case is divided by a slower pair than another.
    t_pair, w_pair = best_time(pair, args.pair_repeats, 5.0)
    rows = []
    for label, kind, N, kw in CASES:
        if args.models and label not in args.models:
            continue
        if args.max_lmax_n4 and N == 4 and lmax > args.max_lmax_n4:
            continue
        if N == 8 and lmax > args.max_lmax_n8:
            continue
        model = make_model(kind, grid, Hamiltonian(HAMILTONIANS[N]), **kw)
        state = initial_state(grid, N)
        integ = make_integrator("strang", model)
        # the generator as the integrator uses it (real components); older versions
        # of spectral_qc only have the complex matrix form
        generator = getattr(model, "generator_components", model.generator_from_fields)

        def tendency():
            fl = model.fields(state)
            model.transport_tendency(state, fl)
            generator(fl)

        def step():
            integ.step(state, dt)

        tendency()  # warm-up
        t_tend, w_tend = best_time(tendency, args.repeats, args.budget)
        t_step, w_step = best_time(step, args.repeats, args.budget)
        # the pair again, next to this case (the machine's state drifts on a shared host)
        t_pair, w_pair = map(min, zip((t_pair, w_pair),
                                      best_time(pair, args.pair_repeats, 2.0)))
        counts = transform_counts(model, state)
        tracemalloc.start()
        integ.step(state, dt)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB → MB (Linux)
        row = dict(lmax=lmax, nlat=grid.nlat, nphi=grid.nphi, case=label, model=kind, N=N,
                   regularization=kw.get("regularization", "none"),
                   alpha=kw.get("alpha", 0.0),
                   tendency_ms=1e3 * t_tend, step_ms=1e3 * t_step,
                   wall_tendency_ms=1e3 * w_tend, wall_step_ms=1e3 * w_step,
                   transforms=sum(counts.values()), counts=counts,
                   peak_MB=peak / 2**20, maxrss_MB=rss)
        rows.append(row)
        print(f"lmax {lmax:4d} {label:10s} N={N}  tendency {1e3 * t_tend:9.2f} ms  "
              f"step {1e3 * t_step:9.1f} ms  transforms {sum(counts.values()):3d}  "
              f"peak {peak / 2**20:7.1f} MB", flush=True)
        del model, state, integ
    # the pair once more after the last case; the minimum divides every row of this lmax
    t_pair, w_pair = map(min, zip((t_pair, w_pair), best_time(pair, args.pair_repeats, 5.0)))
    for row in rows:
        row.update(pair_ms=1e3 * t_pair, wall_pair_ms=1e3 * w_pair,
                   tendency_pairs=row["tendency_ms"] / (1e3 * t_pair),
                   step_pairs=row["step_ms"] / (1e3 * t_pair))
        print(f"lmax {lmax:4d} {row['case']:10s} N={row['N']}  pair {row['pair_ms']:8.3f} ms  "
              f"tendency {row['tendency_pairs']:6.1f} pairs  step {row['step_pairs']:7.1f} "
              "pairs", flush=True)
    del f_lm
    return rows


def fit_exponents(rows, lo=127, hi=511):
    """Least-squares slope of log(step ms) against log(lmax) over lo ≤ lmax ≤ hi."""
    out = {}
    keys = sorted({(r["case"], r["N"]) for r in rows})
    for case, N in keys:
        pts = [(r["lmax"], r["step_ms"]) for r in rows
               if r["case"] == case and r["N"] == N and lo <= r["lmax"] <= hi]
        if len({p[0] for p in pts}) >= 2:
            x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
            out[f"{case} N={N}"] = float(np.polyfit(x, y, 1)[0])
    pair = {}
    for r in rows:
        if lo <= r["lmax"] <= hi:
            pair[r["lmax"]] = min(pair.get(r["lmax"], math.inf), r["pair_ms"])
    if len(pair) >= 2:
        x, y = np.log(list(pair)), np.log(list(pair.values()))
        out["scalar pair"] = float(np.polyfit(x, y, 1)[0])
    return out


def markdown(rows, exps, meta):
    lines = [f"Run {meta['date']} on `{meta['machine']}`, {meta['cpus']} CPUs, "
             f"OMP_NUM_THREADS={meta['omp_num_threads']}, spectral_qc {meta['version']}, "
             f"git {meta['git']}, load average {meta['load']}. Times: process CPU time, "
             "minimum over repeats; *pairs* = "
             "time / time of one scalar synthesis+analysis pair on the same grid in the same "
             "process.",
             "",
             "| lmax | case | N | pair ms | tendency ms | tendency pairs | step ms | "
             "step pairs | transforms/tendency | peak MB (step) |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['lmax']} | {r['case']} | {r['N']} | {r['pair_ms']:.3f} | "
                     f"{r['tendency_ms']:.2f} | {r['tendency_pairs']:.1f} | "
                     f"{r['step_ms']:.1f} | {r['step_pairs']:.1f} | {r['transforms']} | "
                     f"{r['peak_MB']:.0f} |")
    if exps:
        lines += ["", "Exponent p of step cost ∝ lmax^p (least squares, lmax 127 … 511 "
                  "where measured):", "", "| case | p |", "|---|---:|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in exps.items()]
    return "\n".join(lines) + "\n"


def whole_run():
    """CPU time of the demo (spectral_qc/data/demo.toml: hybrid, heat kernel, lmax 31) run
    to t = 1 by ``Simulation.run`` (diagnostics at every output included, no files)."""
    import tomllib

    from spectral_qc import Simulation

    text = (ROOT / "spectral_qc" / "data" / "demo.toml").read_text("utf-8")
    cfg = tomllib.loads(text)
    cfg["time"]["t_end"] = 1.0
    sim = Simulation(cfg)
    grid = sim.grid
    f = np.random.default_rng(1).standard_normal(grid.shape)
    t_pair = best_time(lambda: grid.synthesis(grid.analysis(f)), 50, 5.0)[0]
    c, w = time.process_time(), time.perf_counter()
    ds = sim.run()
    cpu, wall = time.process_time() - c, time.perf_counter() - w
    n = sim.iteration
    drift = float(abs(ds["casimir_trP2"][-1] / ds["casimir_trP2"][0] - 1))
    row = dict(case="demo run to t = 1", lmax=grid.lmax, N=sim.model.N, steps=n,
               outputs=int(ds.sizes["time"]), cpu_s=cpu, wall_s=wall,
               step_pairs=cpu / n / t_pair, casimir_trP2_drift=drift,
               min_eig_P=float(ds["min_eig_P"].min()))
    print(f"demo run: {n} steps, {cpu:.2f} s CPU ({row['step_pairs']:.0f} pairs/step), "
          f"Casimir Tr P² drift {drift:.2e}", flush=True)
    return row


#: (category, test on the profiled function's file and name), first match wins
PROFILE_CATEGORIES = [
    ("transforms (shtns)", lambda f, n: "shtns" in f or "_shtns" in n),
    ("rotation U P U†", lambda f, n: "exponential.py" in f or n in (
        "_qubit_rotate", "unitary_conjugate_components", "conjugate_components_with", "eigh",
        "qubit_rotate", "conjugate_series", "conjugate_with", "traceless_norm2_max")),
    ("generator 𝒦 (ħ-part)", lambda f, n: n in (
        "quantum_generator_components", "qubit_quantum_generator", "commutator_components",
        "_cross_minus_cross", "quantum_part", "generator_components", "qubit_generator",
        "quantum_generator", "commutator", "quantum_fields_components", "normalized_fields",
        "smoothed_qubit_generator", "_smoothed_qubit_generator", "_unsmoothed_quantum_part",
        "rotation_generator_components", "smoothed_state")),
]


def profile_steps(lmax, cases=(("hybrid", 2), ("hybrid", 4), ("hybrid", 8), ("hybrid+hk", 2),
                                ("ehrenfest", 2), ("ehrenfest", 4), ("ehrenfest", 8))):
    """Where a Strang step's time goes (cProfile with the process CPU clock, own time by
    category), per case (a label of CASES and N)."""
    import cProfile
    import pstats

    grid = SphereGrid(lmax)
    out = []
    for label, N in cases:
        kind, kw = next((c[1], c[3]) for c in CASES if c[0] == label and c[2] == N) \
            if any(c[0] == label and c[2] == N for c in CASES) else (label, {})
        model = make_model(kind, grid, Hamiltonian(HAMILTONIANS[N]), **kw)
        state = initial_state(grid, N)
        integ = make_integrator("strang", model)
        integ.step(state, 1e-3)
        best = None
        for _ in range(3):
            pr = cProfile.Profile(time.process_time)
            pr.enable()
            integ.step(state, 1e-3)
            pr.disable()
            st = pstats.Stats(pr).stats
            total = sum(v[2] for v in st.values())
            if best is None or total < best[0]:
                best = (total, st)
        total, st = best
        parts = dict.fromkeys([c for c, _ in PROFILE_CATEGORIES] + ["rest"], 0.0)
        for (fname, _, name), v in st.items():
            cat = next((c for c, test in PROFILE_CATEGORIES if test(fname, name)), "rest")
            parts[cat] += v[2]
        row = dict(lmax=lmax, model=label, N=N, total_ms=1e3 * total,
                   parts_ms={k: 1e3 * v for k, v in parts.items()})
        out.append(row)
        print(f"profile lmax {lmax} {label} N={N}: " + ", ".join(
            f"{k} {v:.1f} ms" for k, v in row["parts_ms"].items()), flush=True)
    return out


def markdown_runs(runs):
    if not runs:
        return ""
    lines = ["", "Whole run (CPU time; pairs per step on the same grid):", "",
             "| case | lmax | N | steps | outputs | CPU s | pairs/step | Casimir Tr P² drift |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        lines.append(f"| {r['case']} | {r['lmax']} | {r['N']} | {r['steps']} | "
                     f"{r['outputs']} | {r['cpu_s']:.2f} | {r['step_pairs']:.0f} | "
                     f"{r['casimir_trP2_drift']:.1e} |")
    return "\n".join(lines) + "\n"


def markdown_profile(profile):
    if not profile:
        return ""
    cats = list(profile[0]["parts_ms"])
    lines = ["", "Where a Strang step's time goes (cProfile own time, ms and share; the "
             "heat-kernel smoothing of the fields counts as generator):", "",
             "| lmax | model | N | step ms | " + " | ".join(cats) + " |",
             "|---:|---|---:|---:|" + "---:|" * len(cats)]
    for r in profile:
        t = r["total_ms"]
        lines.append(f"| {r['lmax']} | {r['model']} | {r['N']} | {t:.1f} | " + " | ".join(
            f"{r['parts_ms'][c]:.1f} ({100 * r['parts_ms'][c] / t:.0f} %)" for c in cats) + " |")
    return "\n".join(lines) + "\n"


def write_docs(text, path):
    doc = path.read_text() if path.exists() else f"{BEGIN}\n{END}\n"
    if BEGIN not in doc or END not in doc:
        doc += f"\n{BEGIN}\n{END}\n"
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}{END}{tail}")


def git_rev():
    try:
        import subprocess
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except Exception:  # noqa: BLE001
        return "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lmax", type=int, nargs="+", default=None)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, lmax ≤ 255")
    ap.add_argument("--models", nargs="+", default=None,
                    help="subset of case labels: " + " ".join(sorted({c[0] for c in CASES})))
    ap.add_argument("--max-lmax-n4", type=int, default=255,
                    help="skip N = 4 cases above this lmax (default 255: at 511 a hybrid "
                         "N = 4 step needs about 3 GB and minutes; pass 511 to include it)")
    ap.add_argument("--max-lmax-n8", type=int, default=127,
                    help="skip N = 8 cases above this lmax (default 127)")
    ap.add_argument("--no-run", action="store_true", help="skip the whole-run case (demo)")
    ap.add_argument("--no-profile", action="store_true", help="skip the step profile")
    ap.add_argument("--profile-lmax", type=int, nargs="+", default=[63, 127])
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--docs", default=str(ROOT / "docs" / "performance.md"))
    args = ap.parse_args(argv)
    lmaxes = args.lmax or ([63, 127, 255] if args.quick else [63, 127, 255, 511])
    args.repeats = 3 if args.quick else 7
    args.pair_repeats = 20 if args.quick else 50
    args.budget = 3.0 if args.quick else 10.0
    rows = []
    load_start = os.getloadavg()[0]
    for lmax in lmaxes:
        rows += bench_lmax(lmax, args)
    runs = [] if args.no_run else [whole_run()]
    profile = [] if args.no_profile else [r for lm in args.profile_lmax
                                          for r in profile_steps(lm)]
    exps = fit_exponents(rows)
    for k, v in exps.items():
        print(f"exponent {k}: {v:.2f}")
    meta = dict(date=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                machine=platform.node() or platform.machine(), cpus=os.cpu_count(),
                omp_num_threads=os.environ.get("OMP_NUM_THREADS", "unset"),
                version=getattr(spectral_qc, "__version__", "?"), git=git_rev(),
                load=f"{load_start:.1f} → {os.getloadavg()[0]:.1f} (start → end)",
                numpy=np.__version__, python=platform.python_version())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    (out / f"bench-{stamp}.json").write_text(json.dumps(
        dict(meta=meta, rows=rows, exponents=exps, runs=runs, profile=profile), indent=1))
    if not args.no_docs:
        write_docs(markdown(rows, exps, meta) + markdown_runs(runs) + markdown_profile(profile),
                   Path(args.docs))
    return rows


if __name__ == "__main__":
    main()
