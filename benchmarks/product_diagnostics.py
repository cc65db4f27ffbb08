"""Cost of the diagnostics on (S²)², in pair-equivalents (issue 17, item 2).

A *pair* is one product synthesis + analysis of one real field on the same grid, measured in
the same process (as benchmarks/product_models.py). Per lmax (both factors the same), the
time of ``diagnostics.evaluate(model, state, snapshot=Snapshot(model, state))`` — every
diagnostic, the grid fields included, as the Simulation records them — for

* ``ehrenfest``: N = 2, a mixed uniform P (berry_casimir is NaN after its purity check);
* ``hybrid``: N = 2, heat kernel α = 0.01, a pure uniform P (the Pfaffian form Ω_2 and the
  ħ-part of the energy are evaluated);

and the share of the most expensive diagnostics (each timed alone on a snapshot whose grid
fields are already computed). H = 0.8 n1·n2 + 0.3 n2z + 0.6 n1x σx + 0.4 n1z σz + 0.3 σy.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/product_diagnostics.py [--lmax 11 15]

Times are process CPU times, minimum over repeats.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from spectral_qc import diagnostics as dg
from spectral_qc.models.product import ProductEhrenfest, product_state, von_mises_fisher_product
from spectral_qc.models.product_hybrid import ProductHybrid
from spectral_qc.product_hamiltonians import ProductHamiltonian
from spectral_qc.sphere.product import ProductGrid

from product_transforms import _best  # noqa: E402  (benchmarks/ is on sys.path as the script dir)

TERMS = [("I", lambda n1, n2: 0.8 * (n1 * n2).sum(0) + 0.3 * n2[2]),
         ("X", lambda n1, n2: 0.6 * n1[0]), ("Z", lambda n1, n2: 0.4 * n1[2]), ("Y", 0.3)]
P_MIXED = np.array([[0.7, 0.2 + 0.1j], [0.2 - 0.1j, 0.3]])
PSI = np.array([np.cos(0.4), np.exp(0.7j) * np.sin(0.4)])


def costs(lmax, repeats=3):
    g = ProductGrid([lmax, lmax])
    c = np.random.default_rng(3).normal(size=g.ncoef)
    pair = _best(lambda: g.analysis(g.synthesis(c)), repeats)
    rho = von_mises_fisher_product(g, [[0, 0.6, 0.8], [1, 0.2, 0]], [1.0, 1.0])
    H = ProductHamiltonian(TERMS, spins=2)
    out = {"lmax": lmax, "shape": g.shape, "pair_ms": 1e3 * pair}
    cases = {"ehrenfest": (ProductEhrenfest(g, H, hbar=0.5, spin_magnitude=(1.0, 1.4)), P_MIXED),
             "hybrid": (ProductHybrid(g, H, hbar=0.5, spin_magnitude=(1.0, 1.4),
                                      regularization="heat_kernel", alpha=0.01),
                        np.outer(PSI, PSI.conj()))}
    for name, (model, density) in cases.items():
        s = product_state(g, rho, density)
        t = _best(lambda: dg.evaluate(model, s, snapshot=dg.Snapshot(model, s)), repeats)
        out[f"{name}_ms"] = 1e3 * t
        out[f"{name}_pairs"] = t / pair
        snap = dg.Snapshot(model, s)
        snap.fields.grad_rho  # noqa: B018  (the shared fields first)
        each = {}
        for key, diag in dg.DIAGNOSTICS.items():
            each[key] = _best(lambda: diag.func(snap), 1) / pair
        out[f"{name}_top_pairs"] = dict(sorted(each.items(), key=lambda kv: -kv[1])[:4])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lmax", type=int, nargs="+", default=[11, 15])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(json.dumps([costs(L, args.repeats) for L in args.lmax], indent=1))


if __name__ == "__main__":
    main()
