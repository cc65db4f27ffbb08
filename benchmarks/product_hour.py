"""What two classical spins cost per step, and the largest runs one core does in an hour
(issue 17, item 5).

One Strang step (Ehrenfest, heat-kernel hybrid; the cases of benchmarks/product_models.py,
N = 2) and one RK4 step of the hybrid KvH model at lmax L × L, process CPU time (minimum
over ``--repeats``), with ln J tracked as in a run. Prints JSON: seconds per step, and the
steps and model time (dt = 0.02) that fit in one hour of one core.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/product_hour.py [--lmax 11 15 19] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from spectral_qc.characteristics import initial_log_jacobian
from spectral_qc.integrators import make_integrator
from spectral_qc.models.product import product_state, von_mises_fisher_product
from spectral_qc.models.product_hybrid import ProductHybrid
from spectral_qc.models.product_koopman import ProductHybridKvH, product_initial_wave
from spectral_qc.sphere.product import ProductGrid
from spectral_qc.states import State

import product_models as pm  # noqa: E402  (benchmarks/ is on sys.path as the script dir)

HOUR = 3600.0
DT = 0.02


def _seconds(step, state, repeats):
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        step(state)
        best = min(best, time.process_time() - t0)
    return best


def row(lmax, repeats):
    g = ProductGrid([lmax, lmax])
    rho = von_mises_fisher_product(g, pm.CENTERS, pm.KAPPAS)
    out = {"lmax": lmax, "points": int(np.prod(g.shape))}
    ehr = pm.ehrenfest(g)
    hyb = ProductHybrid(g, ehr.hamiltonian, hbar=0.5, spin_magnitude=(1.0, 1.5),
                        regularization="heat_kernel", alpha=0.01)
    for name, model in (("ehrenfest", ehr), ("hybrid_heat_kernel", hyb)):
        s = product_state(g, rho, pm.P0)
        s = State(s.rho_lm, s.p_lm, initial_log_jacobian(g))
        integ = make_integrator("strang", model)
        integ.step(s, DT)  # compile and warm up
        out[name + "_s"] = _seconds(lambda x: integ.step(x, DT), s, repeats)
    kvh = ProductHybridKvH(g, ehr.hamiltonian, hbar=0.5, spin_magnitude=(1.0, 1.5))
    w = product_initial_wave(g, rho, pm.P0)
    integ = kvh.make_integrator("rk4")
    integ.step(w, DT)
    out["hybrid_kvh_s"] = _seconds(lambda x: integ.step(x, DT), w, repeats)
    for key in ("ehrenfest", "hybrid_heat_kernel", "hybrid_kvh"):
        steps = int(HOUR // out[key + "_s"])
        out[key + "_steps_per_hour"] = steps
        out[key + "_model_time_per_hour"] = steps * DT
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lmax", type=int, nargs="+", default=[11, 15, 19])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    print(json.dumps([row(L, args.repeats) for L in args.lmax], indent=1))


if __name__ == "__main__":
    main()
