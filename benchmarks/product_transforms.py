"""Which one-sphere transform to batch inside a product transform (issue 17, item 1).

A product transform on (S²)² applies a one-sphere synthesis (or analysis) to thousands of
fields: ncoef_1 of them along factor 2, then nlat_2·nphi_2 along factor 1. Measured here, per
one-sphere synthesis + analysis pair, for a batch of K fields at each lmax:

* ``shtns_loop``: SphereGrid.synthesis/analysis (shtns 3.7, one C call per field; its Python
  interface has no multi-field call — checked: no ``set_batch``/``howmany`` in shtns.py);
* ``ducc0_loop``: ducc0.sht.synthesis_2d / analysis_2d per field (their ``alm`` takes one
  spin-0 set per call), if ducc0 is installed;
* ``dense_last`` / ``dense_first``: FactorGrid (dense Legendre tables through BLAS + FFT) with
  the factor's axes last (batch in front) or first (batch behind), the two layouts a
  product transform uses.

Also the full product pair (ProductGrid synthesis + analysis) at lmax L×L, and the same
pair made of shtns loops (``shtns_pair_ms``: conversions and transposes included; on the
shtns grid, nlat ≥ 32, which is larger than the product grid's below lmax 21).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/product_transforms.py [--lmax 15 23 31] [--batch 2048]

Times are process CPU times, minimum over repeats, in microseconds per one-sphere pair.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from spectral_qc.sphere import SphereGrid
from spectral_qc.sphere.legendre import FactorGrid
from spectral_qc.sphere.product import ProductGrid


def _best(fn, repeats=3):
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def one_sphere_pairs(lmax, batch, repeats=3):
    """µs per one-sphere synthesis + analysis pair, by method, on the shtns grid (nlat ≥ 32)."""
    sg = SphereGrid(lmax)
    fg = FactorGrid(lmax, nlat=sg.nlat)
    rng = np.random.default_rng(1)
    c = rng.normal(size=(batch, fg.ncoef))
    f_lm = fg.to_sphere_coefficients(c)
    out = {"lmax": lmax, "nlat": sg.nlat, "batch": batch}
    out["shtns_loop"] = _best(lambda: sg.analysis(sg.synthesis(f_lm)), repeats)
    try:
        import ducc0

        def ducc():
            for k in range(batch):
                m = ducc0.sht.synthesis_2d(alm=f_lm[k:k + 1], spin=0, lmax=lmax, geometry="GL",
                                           ntheta=sg.nlat, nphi=sg.nphi, nthreads=1)
                ducc0.sht.analysis_2d(map=m, spin=0, lmax=lmax, geometry="GL", nthreads=1)
        out["ducc0_loop"] = _best(ducc, repeats)
    except ImportError:
        out["ducc0_loop"] = None
    last = c[:, :, None]
    out["dense_last"] = _best(lambda: fg.analyse(fg.synthesize(last)), repeats)
    first = np.ascontiguousarray(c.T)[None]
    out["dense_first"] = _best(lambda: fg.analyse(fg.synthesize(first)), repeats)
    for k in ("shtns_loop", "ducc0_loop", "dense_last", "dense_first"):
        if out[k] is not None:
            out[k] = 1e6 * out[k] / batch
    return out


def product_pair(lmax, repeats=3):
    """ms of one ProductGrid synthesis + analysis at lmax × lmax (default Gauss grids)."""
    g = ProductGrid([lmax, lmax])
    c = np.random.default_rng(2).normal(size=g.ncoef)
    t = _best(lambda: g.analysis(g.synthesis(c)), repeats)
    return {"lmax": lmax, "shape": g.shape, "pair_ms": 1e3 * t,
            "one_sphere_pairs": g.spec_shape[0] + g.shape[2] * g.shape[3]}


def product_pair_shtns(lmax, repeats=3):
    """ms of the same product pair done with shtns along each factor (SphereGrid loops, the
    real/complex coefficient conversions and the transposes that bring each factor's axes
    last), on the same grid as :func:`product_pair` when lmax ≥ 21 (shtns needs nlat ≥ 32)."""
    sg = SphereGrid(lmax)
    fg = FactorGrid(lmax, nlat=sg.nlat)
    nc, npt = fg.ncoef, sg.nlat * sg.nphi
    c = np.random.default_rng(2).normal(size=(nc, nc))

    def pair():
        u = sg.synthesis(fg.to_sphere_coefficients(c)).reshape(nc, npt)  # along factor 2
        u = np.ascontiguousarray(u.T)  # (grid2, nc1)
        f = sg.synthesis(fg.to_sphere_coefficients(u)).reshape(npt, npt)  # along factor 1
        f = np.ascontiguousarray(f.T)  # (grid1, grid2)
        v = fg.from_sphere_coefficients(sg.analysis(f.reshape((npt,) + sg.shape)))  # factor 2
        v = np.ascontiguousarray(v.T)  # (nc2, grid1)
        fg.from_sphere_coefficients(sg.analysis(v.reshape((nc,) + sg.shape)))  # factor 1
    t = _best(pair, repeats)
    return {"lmax": lmax, "nlat": sg.nlat, "shtns_pair_ms": 1e3 * t}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lmax", type=int, nargs="+", default=[15, 23, 31])
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    rows = [one_sphere_pairs(L, args.batch, args.repeats) for L in args.lmax]
    prod = [product_pair(L, args.repeats) for L in args.lmax]
    for row in prod:
        shtns_row = product_pair_shtns(row["lmax"], args.repeats)
        row["shtns_nlat"] = shtns_row["nlat"]
        row["shtns_pair_ms"] = shtns_row["shtns_pair_ms"]
    print(json.dumps({"one_sphere_us_per_pair": rows, "product_pair": prod}, indent=1))


if __name__ == "__main__":
    main()
