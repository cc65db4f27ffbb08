"""Cost of the Liouville and Ehrenfest tendencies on (S²)², in pair-equivalents (issue 17, item 5).

A *pair* is one product synthesis + analysis of one real field on the same grid, measured in
the same process. Per lmax (both factors the same), the case of docs/performance.md:

* ``liouville``: ``transport_tendency`` of the two-spin Liouville model (N = 1,
  H = 0.8 n1·n2 + 0.3 n1z + ½ n2z², X_H computed once);
* ``ehrenfest``: ``fields`` + ``transport_tendency`` + ``generator_components`` (what one RK4
  stage needs, as benchmarks/run.py), N = 2, H = 0.8 n1·n2 + 0.6 n1x σx + 0.4 n1z σz + 0.3 σy;
* ``hybrid``, ``hybrid_heat_kernel``: the same stage of the hybrid model with the same H
  (plain, and with the heat kernel at α = 0.01);
* ``step_peak_MB``: tracemalloc peak of one Ehrenfest Strang step (beyond the model and the
  state), and ``model_MB``: the model's stored fields (h and the non-zero parts of ∇h);
* ``rss_step_MB``: the resident-set high-water mark of a fresh process that sets up the
  model and makes one step (``rss_setup_MB`` without the step) — the memory the machine
  must have (never-written zero pages, e.g. the trace component of ∇P, are not resident);
* the cost exponent: a least-squares fit of log time against log lmax.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/product_models.py [--lmax 11 15 19 23] [--memory 11 15 19]

Times are process CPU times, minimum over repeats.
"""

from __future__ import annotations

import argparse
import json
import tracemalloc

import numpy as np

from spectral_qc.integrators import make_integrator
from spectral_qc.models.product import (ProductEhrenfest, ProductLiouville, product_state,
                                        von_mises_fisher_product)
from spectral_qc.models.product_hybrid import ProductHybrid
from spectral_qc.product_hamiltonians import ProductHamiltonian
from spectral_qc.sphere.product import ProductGrid

from product_transforms import _best  # noqa: E402  (benchmarks/ is on sys.path as the script dir)

P0 = np.array([[0.7, 0.2 + 0.1j], [0.2 - 0.1j, 0.3]])
CENTERS, KAPPAS = [[0, 0.6, 0.8], [1, 0.2, 0]], [2.0, 2.0]


def liouville(grid):
    H = ProductHamiltonian([(np.eye(1), lambda n1, n2: 0.8 * (n1 * n2).sum(0) + 0.3 * n1[2]
                             + 0.5 * n2[2] ** 2)], spins=2)
    return ProductLiouville(grid, H, spin_magnitude=(1.0, 1.5))


def ehrenfest(grid):
    H = ProductHamiltonian([("I", lambda n1, n2: 0.8 * (n1 * n2).sum(0)),
                            ("X", lambda n1, n2: 0.6 * n1[0]), ("Z", lambda n1, n2: 0.4 * n1[2]),
                            ("Y", 0.3)], spins=2)
    return ProductEhrenfest(grid, H, hbar=0.5, spin_magnitude=(1.0, 1.5))




def hybrid(grid, regularization="none", alpha=0.0):
    """The Ehrenfest case's H and spins in the hybrid model (eq. 55 with the ħ-terms)."""
    e = ehrenfest(grid)
    return ProductHybrid(grid, e.hamiltonian, hbar=0.5, spin_magnitude=(1.0, 1.5),
                         regularization=regularization, alpha=alpha)


def tendencies(lmax, repeats=3):
    g = ProductGrid([lmax, lmax])
    c = np.random.default_rng(3).normal(size=g.ncoef)
    pair = _best(lambda: g.analysis(g.synthesis(c)), repeats)
    rho = von_mises_fisher_product(g, CENTERS, KAPPAS)
    out = {"lmax": lmax, "shape": g.shape, "pair_ms": 1e3 * pair}
    m = liouville(g)
    s = product_state(g, rho)
    m.transport_tendency(s)  # X_H once
    out["liouville_pairs"] = _best(lambda: m.transport_tendency(s), repeats) / pair
    del m, s
    s = product_state(g, rho, P0)
    m = ehrenfest(g)
    out["ehrenfest_pairs"] = _best(_stage(m, s), repeats) / pair
    out["ehrenfest_ms"] = 1e3 * _best(_stage(m, s), 1)
    del m
    for key, reg, alpha in (("hybrid", "none", 0.0), ("hybrid_heat_kernel", "heat_kernel", 0.01)):
        out[key + "_pairs"] = _best(_stage(hybrid(g, reg, alpha), s), repeats) / pair
    return out


def _stage(m, s):
    """What one RK4 stage of model ``m`` computes at state ``s`` (as benchmarks/run.py)."""
    def stage():
        f = m.fields(s)
        m.transport_tendency(s, f)
        m.generator_components(f)
    return stage


def step_memory(lmax):
    g = ProductGrid([lmax, lmax])
    m = ehrenfest(g)
    s = product_state(g, von_mises_fisher_product(g, CENTERS, KAPPAS), P0)
    step = make_integrator("strang", m)
    tracemalloc.start()
    step.step(s, 0.01)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    model = m.h.nbytes + sum(x.nbytes for x in m.grad_h_terms.values())
    return {"lmax": lmax, "step_peak_MB": peak / 2**20, "model_MB": model / 2**20,
            "total_MB": (peak + model) / 2**20}


def step_rss(lmax):
    """Resident-set high-water mark (MB) of a fresh process that builds the lmax × lmax
    Ehrenfest model and state and makes one Strang step (everything: interpreter, model,
    state, step), and of the same process without the step."""
    import subprocess
    import sys

    # VmHWM of the new process image (ru_maxrss would carry the parent's over exec)
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import product_models as pm; "
            "g = pm.ProductGrid([{L}, {L}]); m = pm.ehrenfest(g); "
            "s = pm.product_state(g, pm.von_mises_fisher_product(g, pm.CENTERS, pm.KAPPAS), pm.P0); "
            "{step}print([int(x.split()[1]) / 1024 for x in open('/proc/self/status') "
            "if x.startswith('VmHWM')][0])")
    out = {}
    for key, step in (("rss_setup_MB", ""), ("rss_step_MB",
                                              "pm.make_integrator('strang', m).step(s, 0.01); ")):
        res = subprocess.run([sys.executable, "-c", code.format(L=lmax, step=step)],
                             capture_output=True, text=True, check=True)
        out[key] = float(res.stdout.split()[-1])
    return out


def exponent(rows, key):
    lm = np.log([r["lmax"] + 1 for r in rows])
    return float(np.polyfit(lm, np.log([r[key] for r in rows]), 1)[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lmax", type=int, nargs="+", default=[11, 15, 19, 23])
    ap.add_argument("--memory", type=int, nargs="*", default=[11, 15, 19])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    rows = [tendencies(L, args.repeats) for L in args.lmax]
    for r in rows:
        r["ehrenfest_abs_ms"] = r["ehrenfest_pairs"] * r["pair_ms"]
    mem = [{**step_memory(L), **step_rss(L)} for L in args.memory]
    res = {"tendencies": rows, "memory": mem}
    if len(rows) > 1:
        res["exponent_pair"] = exponent(rows, "pair_ms")
        res["exponent_ehrenfest"] = exponent(rows, "ehrenfest_abs_ms")
    if len(mem) > 1:
        res["exponent_memory"] = exponent(mem, "total_MB")
        res["memory_31_extrapolated_MB"] = float(
            mem[-1]["total_MB"] * (32 / (mem[-1]["lmax"] + 1)) ** res["exponent_memory"])
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
