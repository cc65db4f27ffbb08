"""Why ρ̂q(10) of the demo ``hybrid_kvh`` run differs by 4e-5 between lmax 47 and 63.

``python -m validation.studies.koopman_resolution [--lmax-max 127]`` (≈ 10 min on a loaded
2-core machine; not part of the suite) runs the demo case of docs/models.md ("Measured
behaviour": H = (½nz² + 0.3nx)·1 + ½n·σ + 0.35σz, ħ = S = 1, vMF κ = 2 at ẑ, Bloch x̂,
RK4) and separates the candidate causes:

* time step: lmax 47 at dt = 0.01 and 0.0025 (RK4 damps the top degrees ∝ (ω dt)⁶);
* grid / aliasing: lmax 47 on the default 3/2 grid and on twice as many latitudes;
* truncation: lmax 47, 63, 95, 127 at dt = 0.01, the spectrum of Υ per degree, and the
  error of the lmax 47 run against the lmax 95 run projected to l ≤ 47, per degree.

Prints the numbers quoted in docs/models.md ("Resolution of ρ̂q at t = 10").
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spectral_qc.hamiltonians import Hamiltonian
from spectral_qc.koopman_integrators import run_koopman
from spectral_qc.models import make_model
from spectral_qc.sphere import SphereGrid
from spectral_qc.sphere.grid import default_nlat
from spectral_qc.sphere.operators import power_spectrum, resample
from spectral_qc.states import bloch_density, von_mises_fisher
from spectral_qc.wavestates import koopman_initial_wave

DEMO = [("I", "0.5*nz**2 + 0.3*nx"), ("X", "0.5*nx"), ("Y", "0.5*ny"), ("Z", "0.5*nz + 0.35")]


def demo_run(lmax, dt, t_end, *, nlat=None, every=2.5):
    """Records {t: (ρ̂q, degree spectrum of Υ, Υ_lm)} every ``every``; returns (grid, rec)."""
    g = SphereGrid(lmax, nlat=nlat, nthreads=1)
    m = make_model("hybrid_kvh", g, Hamiltonian(DEMO))
    w0 = koopman_initial_wave(g, von_mises_fisher(g, [0, 0, 1], 2.0), bloch_density([1, 0, 0]))
    rec = {}

    def keep(t, s):
        spec = power_spectrum(g, s.upsilon_lm).reshape(-1, lmax + 1).sum(axis=0)
        rec[round(t, 6)] = (m.quantum_density(s), spec, s.upsilon_lm.copy())

    t0 = time.perf_counter()
    run_koopman(m, w0, t_end, dt, scheme="rk4", every=int(round(every / dt)), callback=keep)
    print(f"  lmax {lmax}, dt {dt:g}, nlat {g.nlat}: {time.perf_counter() - t0:.0f} s", flush=True)
    return g, rec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lmax-max", type=int, default=127)
    ap.add_argument("--t-end", type=float, default=20.0)
    args = ap.parse_args(argv)
    T = 10.0
    runs = {"47": demo_run(47, 0.01, T), "47 dt/4": demo_run(47, 0.0025, T),
            "47 2×nlat": demo_run(47, 0.01, T, nlat=2 * default_nlat(47)),
            "63": demo_run(63, 0.01, T), "95": demo_run(95, 0.01, T)}
    top = str(args.lmax_max)
    runs[top] = demo_run(args.lmax_max, 0.01, args.t_end)
    print(f"max |Δρ̂q(t = {T:g})|:")
    for a, b in (("47", "47 dt/4"), ("47", "47 2×nlat"), ("47", "63"), ("63", "95"),
                 ("95", top)):
        print(f"  {a:9s} vs {b:9s}: {np.max(np.abs(runs[a][1][T][0] - runs[b][1][T][0])):.2e}")
    g47, g95 = runs["47"][0], runs["95"][0]
    err = power_spectrum(g47, runs["47"][1][T][2] - resample(g95, runs["95"][1][T][2], g47))
    err = err.reshape(-1, 48).sum(axis=0)
    ref = runs["95"][1][T][1] / runs["95"][1][T][1].sum()
    print(f"per degree at t = {T:g}: E_l/E of Υ (lmax 95) | |Υ47 − P47 Υ95|² (relative)")
    for l in (10, 20, 30, 40, 44, 47, 63, 80, 95):
        print(f"  l = {l:3d}: {ref[l]:.1e}" + (f" | {err[l] / runs['95'][1][T][1].sum():.1e}"
                                              if l <= 47 else ""))
    print(f"  error in l ≤ 30: {err[:31].sum():.1e}, in 30 < l ≤ 47: {err[31:].sum():.1e}")
    print(f"fraction of ‖Υ‖² above degree l (lmax {top}) and the degree where it is < 1e-6:")
    for t, (_, spec, _) in sorted(runs[top][1].items()):
        c = np.cumsum((spec / spec.sum())[::-1])[::-1]
        need = int(np.argmax(c < 1e-6)) if np.any(c < 1e-6) else f"> {top}"
        print(f"  t = {t:5.1f}: > 47 {c[48]:.1e}, > 63 {c[64]:.1e}, > 95 {c[96]:.1e}, "
              f"> {int(top) - 7} {c[int(top) - 6]:.1e}; tail < 1e-6 from l = {need}")


if __name__ == "__main__":
    main()
