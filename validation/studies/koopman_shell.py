"""The claim in R³: the paper's density D (eq. 16/33) of KvH on a thin shell of radii.

KvH on R³ decouples into one equation per radius r (docs/numerics.md, "Koopman densities"):
iħ∂tχ_r = (iħ/r){H_r, χ_r} − L_r χ_r with H_r(n̂) = H(r n̂), L_r(n̂) = (n·∇H − H)(r n̂).
Here each radius is its own ``kvh`` model (bracket 1/r via ``spin_magnitude = r``; H_r by
a callable coefficient; L_r from :meth:`Hamiltonian.lagrangian` at the points r n̂), on
Gauss–Legendre radii of the shell |r − 1| < δ with χ(r n̂, 0) = a(r)√ϱ0, a² ∝ (1 − x²)³.
The 3-D density D = |χ|² + div(n|χ|²) + ħ Im{χ*, χ}_3D, div(n f) = r⁻²∂r(r³f) by
differentiating the interpolant in r (``nodes`` ≥ 10: exact for r³a² at t = 0, a
polynomial of degree 9 in x; with 8 nodes ∫div = 2e-5 instead of 1e-14), obeys the Liouville equation of R³ with the flow
(1/r)X_{H_r} tangent to each shell and area preserving on it: min D and
∫max(−D, 0) d³n are constants of the motion (sign preserving), while the marginal
∫D r² dr — the sphere density ρc — is not (its negative mass grows from 0).

A σz-only hybrid H = H0 + H1σz is two such scalar problems (H0 ± H1), so this checks the
paper's claim in the space where the paper states it.
"""

from __future__ import annotations

import numpy as np

from spectral_qc.expressions import Expression
from spectral_qc.hamiltonians import Hamiltonian
from spectral_qc.koopman_integrators import run_koopman
from spectral_qc.models import make_model
from spectral_qc.sphere import SphereGrid, integrate
from spectral_qc.states import von_mises_fisher
from spectral_qc.wavestates import koopman_initial_wave


def shell_model(grid, coef, r, hbar):
    """The ``kvh`` model of radius r: H_r(n̂) = H(r n̂), bracket (1/r), L_r = L(r n̂)."""
    f = Expression(coef)
    h_r = Hamiltonian([("I", lambda nx, ny, nz: f(r * nx, r * ny, r * nz))]).reduced_to_scalar()
    m = make_model("kvh", grid, h_r, hbar=hbar, spin_magnitude=r)
    m.L = np.asarray(Hamiltonian([("I", coef)]).reduced_to_scalar().lagrangian(r * grid.n),
                     complex)
    return m


def shell_check(coef, p, *, center=(0.48, 0.36, 0.8), kappa=2.0, hbar=1.0):
    """R³ and marginal negative masses over time for scalar KvH with H = ``coef``.

    ``p``: {lmax, delta, nodes, t_end, dt, every}. Returns lists over the record times:
    ``time``, ``neg_mass_3d`` (∫max(−D, 0) r² dr dA), ``min_3d``, ``neg_mass_marginal``,
    ``min_marginal``, ``neg_mass_sphere`` (the unit-sphere model's ρc), ``div_integral``.
    """
    g = SphereGrid(p["lmax"], nthreads=1)
    x, w = np.polynomial.legendre.leggauss(p["nodes"])
    delta = p["delta"]
    r = 1 + delta * x
    a2 = (1 - x ** 2) ** 3
    a2 /= np.sum(w * delta * r ** 2 * a2)
    rho0 = von_mises_fisher(g, center, kappa)
    every = max(1, round(p["every"] / p["dt"]))
    dens, norm2 = [], []
    for rj, a2j in zip(r, a2):
        m = shell_model(g, coef, float(rj), hbar)
        snaps = []
        run_koopman(m, koopman_initial_wave(g, a2j * rho0, [[1.0]]), p["t_end"], p["dt"],
                    scheme="rk4", every=every,
                    callback=lambda t, s: snaps.append((t, m.classical_density(s),
                                                        np.abs(m.wave(s)[0, 0]) ** 2)))
        dens.append([s[1] for s in snaps])
        norm2.append([s[2] for s in snaps])
        times = [s[0] for s in snaps]
    dens, norm2 = np.array(dens), np.array(norm2)      # (nodes, times, nlat, nphi)
    vander = np.polynomial.legendre.legvander(x, p["nodes"] - 1)
    f = (r[:, None, None, None] ** 3 * norm2).reshape(p["nodes"], -1)
    coef_r = np.linalg.solve(vander, f)
    deriv = np.polynomial.legendre.legval(x, np.polynomial.legendre.legder(coef_r)).T / delta
    div = deriv.reshape(norm2.shape) / r[:, None, None, None] ** 2
    D = dens + div
    wr = (w * delta * r ** 2)[:, None, None, None]
    marginal = np.sum(wr * D, axis=0)
    m1 = make_model("kvh", g, Hamiltonian([("I", coef)]).reduced_to_scalar(), hbar=hbar)
    sphere = []
    run_koopman(m1, koopman_initial_wave(g, rho0, [[1.0]]), p["t_end"], p["dt"], scheme="rk4",
                every=every, callback=lambda t, s: sphere.append(m1.classical_density(s)))

    def negm(f):
        return float(integrate(g, np.maximum(-f, 0.0)))

    out = {"time": times, "neg_mass_3d": [], "min_3d": [], "neg_mass_marginal": [],
           "min_marginal": [], "neg_mass_sphere": [], "div_integral": [],
           "marginal_vs_sphere": [], "setup": {**p, "coef": coef, "hbar": hbar}}
    for k in range(len(times)):
        out["neg_mass_3d"].append(float(sum(w[j] * delta * r[j] ** 2 * negm(D[j, k])
                                            for j in range(p["nodes"]))))
        out["min_3d"].append(float(D[:, k].min()))
        out["neg_mass_marginal"].append(negm(marginal[k]))
        out["min_marginal"].append(float(marginal[k].min()))
        out["neg_mass_sphere"].append(negm(sphere[k]))
        out["div_integral"].append(float(np.max(np.abs(integrate(g, np.sum(wr[:, 0] * div[:, k],
                                                                           axis=0))))))
        out["marginal_vs_sphere"].append(float(np.max(np.abs(marginal[k] - sphere[k]))
                                               / np.max(np.abs(sphere[k]))))
    return out
