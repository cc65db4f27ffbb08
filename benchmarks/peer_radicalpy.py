"""Side-by-side peer benchmark: radical-pair P_S(t) and yields with RadicalPy and spectral_qc.

Problem (issue 18): one ¹H on radical 1 (isotropic a = 1 mT), radical 2 without nuclei,
B = 0.5 mT along z, J = D = 0, singlet start, unpolarized nucleus; t ≤ 20 τ
(τ = 1/(γe·1 mT) ≈ 5.68 ns), exponential-model yields k = 0.5 a and 1 a.

* exact: RadicalPy ``HilbertSimulation`` (its nuclear Zeeman term switched off, as
  spectral_qc's Hamiltonian has none) (``time_evolution``: a fixed-step unitary
  propagator, seconds and rad/s) against ``spectral_qc.radical_pair.exact_solve``
  (eigendecomposition per nuclear multiplet) and ``exact_yields`` (Sylvester equation).
* semiclassical: RadicalPy's Schulten–Wolynes (``SemiclassicalSimulation``: Monte Carlo
  over a *Gaussian* static hyperfine field of variance a²I(I+1)/3 per component) against
  ``schulten_wolynes`` (quadrature over a static vector of fixed length √(I(I+1)); the two
  coincide only for many nuclei) and the solver's Ehrenfest run (lmax 15; with J = D = 0
  the Ehrenfest nucleus does not move, so it is the static quadrature with |Ĩ| = I).

Reports CPU time (``time.process_time``) and the largest differences. Runs only when
RadicalPy is importable; otherwise prints how to install it::

    pip install 'spectral_qc[radicalpy]'      # or: pip install radicalpy

Usage::

    python benchmarks/peer_radicalpy.py [--t-end 20] [--samples 400] [--no-ehrenfest]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

A_MT, B_MT, DT = 1.0, 0.5, 0.01


def radicalpy_exact(t_end, nuclear_zeeman=True):
    import radicalpy as rpy
    from radicalpy.simulation import HilbertSimulation, State

    tau = 1e-9 * _time_unit_ns()
    m1 = rpy.simulation.Molecule.fromisotopes(isotopes=["1H"], hfcs=[A_MT])
    if not nuclear_zeeman:                  # spectral_qc's Hamiltonian has no nuclear Zeeman
        m1.nuclei[0].magnetogyric_ratio = 0.0
    m2 = rpy.simulation.Molecule("Z")
    sim = HilbertSimulation([m1, m2])
    t = np.arange(0.0, t_end + 1e-9, DT)
    c0 = time.process_time()
    H = sim.total_hamiltonian(B0=B_MT, J=0.0, D=0.0)
    rhos = sim.time_evolution(State.SINGLET, t * tau, H)
    ps = sim.product_probability(State.SINGLET, rhos)
    return t, ps, time.process_time() - c0


def radicalpy_semiclassical(t_end, samples):
    import radicalpy as rpy
    from radicalpy.experiments import magnetic_field_loop_semiclassical
    from radicalpy.simulation import SemiclassicalSimulation, State

    tau = 1e-9 * _time_unit_ns()
    m1 = rpy.simulation.Molecule.fromisotopes(isotopes=["1H"], hfcs=[A_MT])
    m2 = rpy.simulation.Molecule("Z")
    sim = SemiclassicalSimulation([m1, m2])
    t = np.arange(0.0, t_end + 1e-9, DT)
    c0 = time.process_time()
    np.random.seed(1)
    H0 = np.zeros((4, 4), dtype=complex)         # no J, no D: the Zeeman term is swept
    rhos = magnetic_field_loop_semiclassical(sim, State.SINGLET, t * tau, np.array([B_MT]),
                                             H0, num_samples=samples)
    ps = sim.product_probability(State.SINGLET, rhos[0])
    return t, ps, time.process_time() - c0


def _time_unit_ns():
    from spectral_qc.radical_pair import TIME_UNIT_NS
    return TIME_UNIT_NS


def yield_of(t, ps, k):
    from scipy.integrate import simpson
    return float(k * simpson(ps * np.exp(-k * t), x=t))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--t-end", type=float, default=20.0)
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--no-ehrenfest", action="store_true")
    args = ap.parse_args(argv)
    try:
        import radicalpy  # noqa: F401
    except ImportError:
        print("RadicalPy is not installed: pip install 'spectral_qc[radicalpy]' "
              "(or pip install radicalpy)")
        return 0
    from spectral_qc import radical_pair as rp

    pair = rp.RadicalPair(hyperfine=A_MT, field=(0.0, 0.0, B_MT))
    t, ps_nz, _ = radicalpy_exact(args.t_end, nuclear_zeeman=True)
    t, ps_rpy, cpu_rpy = radicalpy_exact(args.t_end, nuclear_zeeman=False)
    c0 = time.process_time()
    ps_sq = rp.singlet_probability(rp.exact_solve(pair, t)).values
    cpu_sq = time.process_time() - c0
    print(f"RadicalPy's default Hamiltonian includes the ¹H Zeeman term (γ_H/γ_e = 1.5e-3): "
          f"max |ΔP_S| with/without it {np.max(np.abs(ps_nz - ps_rpy)):.2e}; compared "
          "below without it")
    print(f"exact P_S(t), t ≤ {args.t_end:g}: max |RadicalPy − spectral_qc| = "
          f"{np.max(np.abs(ps_rpy - ps_sq)):.2e}; CPU RadicalPy {cpu_rpy:.3f} s, "
          f"spectral_qc {cpu_sq:.3f} s ({t.size} times)")
    for k in (0.5, 1.0):
        print(f"  Φ_S(k = {k:g} a): RadicalPy trace {yield_of(t, ps_rpy, k):.6f}, "
              f"spectral_qc exact_yields {rp.exact_yields(pair, k)[0]:.6f} "
              f"(truncation weight e^(−k t_end) = {np.exp(-k * t[-1]):.1e})")
    ts, ps_sc, cpu_sc = radicalpy_semiclassical(args.t_end, args.samples)
    c0 = time.process_time()
    sw = rp.schulten_wolynes(pair, ts, spin_rule="sqrt", nodes=(160, 4)).values
    cpu_sw = time.process_time() - c0
    print(f"semiclassical: RadicalPy (Gaussian field, {args.samples} samples, CPU "
          f"{cpu_sc:.1f} s) vs schulten_wolynes (fixed length √(I(I+1)), CPU {cpu_sw:.2f} s): "
          f"max |Δ| {np.max(np.abs(ps_sc - sw)):.3f}; vs exact: RadicalPy "
          f"{np.max(np.abs(ps_sc - ps_sq)):.3f}, schulten_wolynes {np.max(np.abs(sw - ps_sq)):.3f}")
    for k in (0.5, 1.0):
        print(f"  Φ_S(k = {k:g} a): RadicalPy SW {yield_of(ts, ps_sc, k):.4f}, "
              f"schulten_wolynes_yield {rp.schulten_wolynes_yield(pair, k, nodes=(160, 4)):.4f}")
    if not args.no_ehrenfest:
        c0 = time.process_time()
        ds = rp.simulate(pair, kind="ehrenfest", lmax=15, t_end=args.t_end, dt=0.02,
                         output_every=0.1)
        cpu_e = time.process_time() - c0
        pe = rp.singlet_probability(ds).values
        ref = rp.singlet_probability(rp.exact_solve(pair, ds.time.values)).values
        print(f"spectral_qc Ehrenfest (lmax 15, S = ħI, CPU {cpu_e:.1f} s): max |Δ| vs exact "
              f"{np.max(np.abs(pe - ref)):.3f}; Φ_S(k = 1) {float(rp.singlet_yield(ds, 1.0)):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
