"""Save (or compare against) the outputs of many short runs: a regression net for
performance work that must leave results unchanged (issue 16).

Usage::

    python benchmarks/save_reference_outputs.py save /tmp/ref.npz     # before a change
    python benchmarks/save_reference_outputs.py compare /tmp/ref.npz  # after it

For every case (model × scheme × N × regularization, lmax 15 and 31, a few steps) it
stores the final state (ϱ_lm, P_lm), every diagnostic of the initial and final state,
and the public generator, velocity, tendency and energy of the initial state.
``compare`` prints, per case, the largest difference relative to the array's size,
max|a − b| / max|b| (b the reference; max(max|b|, 1e-6) for the diagnostics that are
round-off for some states, :data:`FLOORS`), and the overall maximum; it also prints the
conjugation checks of :func:`conjugation_errors` (unitarity, pointwise eigenvalue drift).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from spectral_qc import SphereGrid  # noqa: E402
from spectral_qc import diagnostics as dg  # noqa: E402
from spectral_qc import exponential as ex  # noqa: E402
from spectral_qc import hermitian as hm  # noqa: E402
from spectral_qc.hamiltonians import Hamiltonian  # noqa: E402
from spectral_qc.integrators import make_integrator  # noqa: E402
from spectral_qc.models import make_model  # noqa: E402
from spectral_qc.states import (  # noqa: E402
    spin_coherent_field, state_from_grid, two_qubit_correlated_field, von_mises_fisher)

from benchmarks.run import HAMILTONIANS  # noqa: E402  (the benchmark cases, N = 1, 2, 4)

REGS = {"none": {}, "heat_kernel": dict(regularization="heat_kernel", alpha=0.01),
        "hyper_heat_kernel": dict(regularization="hyper_heat_kernel", alpha=0.01)}


def cases():
    out = []
    for scheme in ("strang", "yoshida4"):
        out.append(("liouville", 1, "none", scheme, "pure", 15))
        for N in (2, 4):
            out.append(("ehrenfest", N, "none", scheme, "pure", 15))
            out.append(("ehrenfest", N, "none", scheme, "mixed", 15))
            for reg in REGS:
                out.append(("hybrid", N, reg, scheme, "pure", 15))
            out.append(("hybrid", N, "none", scheme, "mixed", 15))
    out += [("hybrid", 2, "heat_kernel", "strang", "pure", 31),
            ("hybrid", 4, "none", "strang", "mixed", 31),
            ("ehrenfest", 4, "none", "strang", "mixed", 31)]
    return out


def initial_state(grid, N, purity):
    rho = von_mises_fisher(grid, [0.3, 0.1, 1.0], 2.0)
    if N == 1:
        P = np.ones((1, 1) + grid.shape, complex)
    elif N == 2:
        P = spin_coherent_field(grid, 0.6)
    else:
        P = two_qubit_correlated_field(grid)
    if purity == "mixed" and N > 1:  # non-degenerate eigenvalues varying over the grid
        w = 0.2 + 0.1 * grid.n[2]
        diag = np.zeros_like(P)
        for j in range(N):
            diag[j, j] = (j + 1) / (N * (N + 1) / 2)
        P = (1 - w) * P + w * diag
    return state_from_grid(grid, rho, P)


def key(case):
    return "|".join(map(str, case))


def run_case(case, steps=4, dt=0.01):
    kind, N, reg, scheme, purity, lmax = case
    grid = SphereGrid(lmax)
    model = make_model(kind, grid, Hamiltonian(HAMILTONIANS[N]), **REGS[reg])
    state = initial_state(grid, N, purity)
    out = {"generator": model.generator(state), "velocity": np.array(model.velocity(state)),
           "energy": np.array(model.energy(state))}
    d_rho, d_P = model.tendency(state)
    out["tendency_rho"], out["tendency_P"] = d_rho, d_P
    for name, v in dg.evaluate(model, state).items():
        out["diag0_" + name] = np.asarray(v, float)
    integ = make_integrator(scheme, model)
    for _ in range(steps):
        state = integ.step(state, dt)
    out["rho_lm"], out["p_lm"] = state.rho_lm, state.p_lm
    for name, v in dg.evaluate(model, state).items():
        out["diag1_" + name] = np.asarray(v, float)
    return out


def conjugation_errors(lmax=31, N=4, tau=0.05):
    """Unitarity and isospectrality of one rotation with the hybrid generator.

    Returns (max ‖U†U − 1‖ over the grid, max |eig(UPU†) − eig(P)| over the grid) for the
    mixed two-qubit state: U from ``spectral_qc.exponential.unitary_taylor`` (or
    :func:`spectral_qc.hermitian.unitary_field` in older versions), the
    conjugated P from :func:`~spectral_qc.exponential.unitary_conjugate_components`.
    """
    grid = SphereGrid(lmax)
    model = make_model("hybrid", grid, Hamiltonian(HAMILTONIANS[N]))
    state = initial_state(grid, N, "mixed")
    f = model.fields(state)
    k = model.generator_components(f)
    try:  # the batched Taylor unitary where it exists (issue 16), else eigh per point
        from spectral_qc.exponential import unitary_taylor as unitary
    except ImportError:
        unitary = hm.unitary_field
    u = unitary(k, tau)
    eye = np.eye(N)
    unit = np.abs(np.conj(np.swapaxes(u, -1, -2)) @ u - eye).max()
    p1 = ex.unitary_conjugate_components(f.p, k, tau)
    eig = np.abs(hm.eigvalsh(hm.from_components(p1)) - hm.eigvalsh(hm.from_components(f.p)))
    return float(unit), float(eig.max())


#: Diagnostics that are round-off for some states (a pure P's entropy and smallest
#: eigenvalue, the spectral tail, imaginary parts): compared relative to their natural
#: scale (1 for eigenvalues of a density matrix) when they are smaller.
FLOORS = {"entropy": 1e-6, "min_eig": 1.0, "spectral_tail": 1e-6, "imag": 1e-6}
#: The entropy −Σλ log λ of a nearly pure P is ill-conditioned (d(λ log λ)/dλ = 1 + log λ
#: at the round-off eigenvalues): reported apart from the rest.
APART = ("entropy",)


def rel_diff(a, b, floor=0.0):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return np.inf
    scale = max(np.nanmax(np.abs(b)), floor) if b.size and not np.all(np.isnan(b)) else floor
    diff = np.abs(a - b)
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, diff)
    if not np.isfinite(scale) or scale == 0:
        return float(np.nanmax(diff)) if diff.size else 0.0
    return float(np.max(diff) / scale) if diff.size else 0.0


def main(argv):
    mode, path = argv[0], Path(argv[1])
    results = {}
    for case in cases():
        for name, v in run_case(case).items():
            results[key(case) + "::" + name] = v
    if mode == "save":
        np.savez_compressed(path, **results)
        print(f"saved {len(results)} arrays of {len(cases())} cases to {path}")
    else:
        ref = np.load(path)
        worst, worst_apart, per_case = 0.0, 0.0, {}
        for k, v in results.items():
            d = rel_diff(v, ref[k], max([f for w, f in FLOORS.items() if w in k], default=0.0))
            if any(w in k for w in APART):
                worst_apart = max(worst_apart, d)
                continue
            c = k.split("::")[0]
            if d > per_case.get(c, (-1.0, ""))[0]:
                per_case[c] = (d, k.split("::")[1])
            worst = max(worst, d)
        for c, (d, what) in per_case.items():
            print(f"{c:45s} {d:9.2e}  ({what})")
        print(f"max relative difference over {len(results)} arrays: {worst:.2e} "
              f"(entropy apart: {worst_apart:.2e})")
    for N in (2, 4):
        unit, eig = conjugation_errors(N=N)
        print(f"N = {N}: max |U†U − 1| = {unit:.2e}, max |Δ eig P| per rotation = {eig:.2e}")


if __name__ == "__main__":
    main(sys.argv[1:])
