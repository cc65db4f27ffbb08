"""Side-by-side peer benchmark: the classical Liouville equation with Dedalus 3 and spectral_qc.

Problem (issue 8): H = ½nz² + 0.3nx on the unit sphere (S = 1), ϱ₀ a von Mises–Fisher
density (κ = 2, centre (1, 0, 1)/√2), ∂tϱ = −div(ϱ X_H), X_H = ∇H × n, up to t = 1, with
the same time step in both codes, at lmax 63, 127, 255.

* spectral_qc: the ``liouville`` model, Strang step (the rotation is trivial for N = 1, so
  a step is one classical RK4 step), Gauss grid with the 3/2 rule.
* Dedalus: ``SphereBasis`` with (Nφ, Nθ) = (2(L+1), L+1), dealias 3/2, the same equation
  with X_H given on the grid, timestepper RK443 (Dedalus has no classical explicit RK4;
  RK443 is its 4-stage, 3rd-order IMEX Runge–Kutta, here with everything explicit).

Reports the CPU time per step of each (``time.process_time``: robust on a shared
machine), the ratio, and the largest difference of the two
solutions at t_end on a sample of Dedalus grid points (relative to max ϱ). With dt small
enough both time errors are below the agreement target (≤ 1e-8).

Runs only when Dedalus is importable; otherwise prints how to install it::

    pip install 'spectral_qc[peer]'      # or: pip install dedalus
    # Dedalus builds from source: apt-get install libopenmpi-dev libfftw3-mpi-dev,
    # then CC=mpicc pip install dedalus

Usage::

    python benchmarks/peer_dedalus.py [--lmax 63 127 255] [--dt 5e-3] [--t-end 1.0]

Both codes single-threaded for a fair comparison: ``OMP_NUM_THREADS=1
NUMEXPR_NUM_THREADS=1`` (Dedalus runs as one MPI process).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KAPPA = 2.0
CENTER = np.array([1.0, 0.0, 1.0]) / np.sqrt(2.0)


def vmf(nx, ny, nz):
    cos_ang = CENTER[0] * nx + CENTER[1] * ny + CENTER[2] * nz
    return KAPPA / (2 * np.pi * -np.expm1(-2 * KAPPA)) * np.exp(KAPPA * (cos_ang - 1))


def run_spectral_qc(lmax, dt, t_end):
    from spectral_qc import SphereGrid
    from spectral_qc.hamiltonians import Hamiltonian
    from spectral_qc.integrators import make_integrator
    from spectral_qc.models import make_model
    from spectral_qc.states import State

    grid = SphereGrid(lmax)
    model = make_model("liouville", grid, Hamiltonian([(np.eye(1), "0.5*nz**2 + 0.3*nx")]))
    state = State(grid.analysis(vmf(*grid.n)), np.zeros((1, grid.nlm), complex))
    integ = make_integrator("strang", model)
    n = int(round(t_end / dt))
    t0 = time.process_time()
    for _ in range(n):
        state = integ.step(state, dt)
    elapsed = time.process_time() - t0
    return grid, state.rho_lm, elapsed / n


def run_dedalus(lmax, dt, t_end):
    import logging

    import dedalus.public as d3

    logging.getLogger().setLevel(logging.WARNING)  # Dedalus logs every matrix build
    for name in ("subsystems", "solvers", "timesteppers", "problems", "numexpr.utils"):
        logging.getLogger(name).setLevel(logging.WARNING)

    coords = d3.S2Coordinates("phi", "theta")
    dist = d3.Distributor(coords, dtype=np.float64)
    basis = d3.SphereBasis(coords, (2 * (lmax + 1), lmax + 1), radius=1, dealias=3 / 2,
                           dtype=np.float64)
    phi, theta = dist.local_grids(basis)  # theta: colatitude
    nx, ny, nz = np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)
    rho = dist.Field(name="rho", bases=basis)
    rho["g"] = vmf(nx, ny, nz)
    # X_H = ∇H × n: X_θ = (1/sinθ)∂φH = −0.3 sinφ, X_φ = −∂θH = cosθ sinθ − 0.3 cosθ cosφ;
    # Dedalus orders S² vector components (φ, θ).
    u = dist.VectorField(coords, name="u", bases=basis)
    u["g"][0] = np.cos(theta) * np.sin(theta) - 0.3 * np.cos(theta) * np.cos(phi)
    u["g"][1] = -0.3 * np.sin(phi) + 0 * theta
    problem = d3.IVP([rho], namespace={"rho": rho, "u": u, "div": d3.div, "dt": d3.dt})
    problem.add_equation("dt(rho) = - div(rho*u)")
    solver = problem.build_solver(d3.RK443)
    solver.stop_sim_time = t_end
    n = int(round(t_end / dt))
    solver.step(dt)  # the first step builds the transforms' plans: not timed
    t0 = time.process_time()
    for _ in range(n - 1):
        solver.step(dt)
    elapsed = time.process_time() - t0
    rho.change_scales(1)
    th = np.broadcast_to(theta, rho["g"].shape)
    ph = np.broadcast_to(phi, rho["g"].shape)
    return np.array(rho["g"]), th, ph, elapsed / max(n - 1, 1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lmax", type=int, nargs="+", default=[63, 127, 255])
    ap.add_argument("--dt", type=float, default=5e-3)
    ap.add_argument("--t-end", type=float, default=1.0)
    ap.add_argument("--samples", type=int, default=2000,
                    help="Dedalus grid points at which the solutions are compared")
    args = ap.parse_args(argv)
    try:
        import dedalus.public  # noqa: F401
    except ImportError:
        print("Dedalus is not installed; this peer benchmark needs it:\n"
              "    pip install 'spectral_qc[peer]'   # or: pip install dedalus\n"
              "Dedalus builds from source against MPI and FFTW-MPI; on Debian/Ubuntu first\n"
              "    apt-get install libopenmpi-dev libfftw3-mpi-dev\n"
              "and build with CC=mpicc. Then run: python benchmarks/peer_dedalus.py")
        return 0
    rng = np.random.default_rng(0)
    print(f"Liouville, H = ½nz² + 0.3nx, vMF κ = {KAPPA}, t = {args.t_end}, dt = {args.dt}")
    print(f"{'lmax':>5} {'spectral_qc ms/step':>20} {'Dedalus ms/step':>16} {'ratio':>7} "
          f"{'max |Δϱ|/max ϱ':>15}")
    for lmax in args.lmax:
        grid, rho_lm, t_sq = run_spectral_qc(lmax, args.dt, args.t_end)
        rho_d, th, ph, t_d = run_dedalus(lmax, args.dt, args.t_end)
        idx = rng.choice(rho_d.size, size=min(args.samples, rho_d.size), replace=False)
        ours = grid.evaluate(rho_lm, th.ravel()[idx], ph.ravel()[idx])
        diff = np.max(np.abs(ours - rho_d.ravel()[idx])) / np.max(np.abs(rho_d))
        print(f"{lmax:5d} {1e3 * t_sq:20.3f} {1e3 * t_d:16.3f} {t_d / t_sq:7.1f} {diff:15.2e}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
