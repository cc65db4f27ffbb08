"""Crossing characteristics of two classical spins (issue 17): the solver's J on (S²)²
against the flow-map determinant of the independent trajectories, and the crossing stop.

The case (``CASE``) is the coupled Ehrenfest pair of tests/test_product_models.py:
H = h0·1 + h·σ with h0 = 0.8 n1·n2 + 0.3 n2z, h = (0.6 n1x, 0.3, 0.4 n1z), S = (1, 1.4),
ħ = 0.5, a uniform P0 (Bloch vector ``B0``). Its characteristics are

    dn_a/dt = (1/S_a)(∂_{n_a}h0 + Σ_k b_k ∂_{n_a}h_k) × n_a,    db/dt = (2/ħ) h × b,

integrated here with DOP853 (no solver code). The reference J is the determinant of the
derivative of the flow map (n1, n2)(0) → (n1, n2)(t) in orthonormal tangent coordinates
(e_θa, e_φa) at both ends, by central differences of the 4-D flow (exponential-map offsets
±ε along each coordinate): the ratio of the product measure dA_1 dA_2, no area factors.
The Ehrenfest X does not depend on ϱ, so J depends only on H, S, ħ and P0.

Run ``python -m validation.studies.product_characteristics`` for the numbers of
docs/stability.md §9.3 (lmax 9, 11, 13, 15 per spin; about 15 min on one loaded core).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import minimize

S = (1.0, 1.4)
HBAR = 0.5
P0 = np.array([[0.7, 0.2 + 0.1j], [0.2 - 0.1j, 0.3]])
B0 = np.array([2 * P0[0, 1].real, -2 * P0[0, 1].imag, (P0[0, 0] - P0[1, 1]).real])


def case_terms():
    """The case's H as ProductHamiltonian terms (operator, coefficient c(n1, n2))."""
    return [("I", lambda n1, n2: 0.8 * (n1 * n2).sum(0) + 0.3 * n2[2]),
            ("X", lambda n1, n2: 0.6 * n1[0]), ("Z", lambda n1, n2: 0.4 * n1[2]), ("Y", 0.3)]


def characteristics_rhs(k, spins=S, hbar=HBAR):
    """Right-hand side of the characteristics of ``k`` trajectories, y = (n1, n2, b):
    dn_a/dt = (1/S_a)(∇_a h0 + Σ_k b_k ∇_a h_k) × n_a, db/dt = (2/ħ) h × b, for
    H = h0·1 + h·σ with h0 = 0.8 n1·n2 + 0.3 n2z, h = (0.6 n1x, 0.3, 0.4 n1z) (solver-free;
    the tests use it too)."""
    def rhs(_t, y):
        n1, n2, b = y.reshape(3, 3, k)
        g1 = 0.8 * n2 + np.stack([0.6 * b[0], 0 * b[0], 0.4 * b[2]])
        g2 = 0.8 * n1 + np.array([0.0, 0.0, 0.3])[:, None]
        h = np.stack([0.6 * n1[0], 0.3 + 0 * n1[0], 0.4 * n1[2]])
        return np.concatenate([np.cross(g1, n1, axis=0) / spins[0],
                               np.cross(g2, n2, axis=0) / spins[1],
                               2 / hbar * np.cross(h, b, axis=0)]).ravel()
    return rhs


def trajectories(n1, n2, times, *, rtol=1e-12, atol=1e-13):
    """n1(t), n2(t) at ``times`` from starting points ``(3, k)`` each, b(0) = B0.

    Returns an array ``(len(times), 2, 3, k)``.
    """
    k = n1.shape[1]
    y0 = np.concatenate([n1, n2, np.repeat(B0[:, None], k, 1)]).ravel()
    times = np.atleast_1d(np.asarray(times, float))
    sol = solve_ivp(characteristics_rhs(k), (0.0, times[-1]), y0, t_eval=times, method="DOP853",
                    rtol=rtol, atol=atol)
    return sol.y.reshape(3, 3, k, -1)[:2].transpose(3, 0, 1, 2)


def frame(n):
    """Orthonormal (e_θ, e_φ) at unit vectors ``n`` ``(3, k)``: two arrays ``(3, k)``."""
    theta, phi = np.arccos(np.clip(n[2], -1, 1)), np.arctan2(n[1], n[0])
    e_t = np.stack([np.cos(theta) * np.cos(phi), np.cos(theta) * np.sin(phi), -np.sin(theta)])
    e_p = np.stack([-np.sin(phi), np.cos(phi), 0 * phi])
    return e_t, e_p


def flow_jacobian(n1, n2, times, eps=1e-4):
    """Reference J(n0, t) and the end points of the flow, for starting pairs ``(3, k)``.

    Returns
    -------
    jac : (len(times), k) — det of the tangent flow-map derivative (central differences)
    ends : (len(times), 2, 3, k) — n1(t), n2(t)
    """
    k = n1.shape[1]
    frames = [frame(n1), frame(n2)]
    starts = [(n1, n2)]
    for a in range(2):
        for e in frames[a]:
            for sign in (1, -1):
                moved = [n1, n2]
                moved[a] = np.cos(eps) * moved[a] + sign * np.sin(eps) * e
                starts.append(tuple(moved))
    m1 = np.concatenate([s[0] for s in starts], axis=1)
    m2 = np.concatenate([s[1] for s in starts], axis=1)
    out = trajectories(m1, m2, times).reshape(len(np.atleast_1d(times)), 2, 3, 9, k)
    ends = out[:, :, :, 0]
    jac = np.empty((out.shape[0], k))
    for i in range(out.shape[0]):
        basis = [frame(ends[i, a]) for a in range(2)]
        d = np.empty((k, 4, 4))
        for c in range(4):  # the perturbed coordinate (θ1, φ1, θ2, φ2)
            diff = (out[i, :, :, 1 + 2 * c] - out[i, :, :, 2 + 2 * c]) / (2 * eps)
            for r in range(4):  # the projected one
                a, e = divmod(r, 2)
                d[:, r, c] = (diff[a] * basis[a][e]).sum(0)
        jac[i] = np.linalg.det(d)
    return jac, ends


def angles(n):
    """(θ, φ) of unit vectors ``(3, k)``, φ in [0, 2π)."""
    return np.arccos(np.clip(n[2], -1, 1)), np.arctan2(n[1], n[0]) % (2 * np.pi)


def unit(theta, phi):
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


def first_zero(times, jac):
    """Per starting point: the first time J crosses 0 (linear interpolation), inf if none."""
    out = np.full(jac.shape[1], np.inf)
    for p in range(jac.shape[1]):
        below = np.nonzero(jac[:, p] <= 0)[0]
        if below.size:
            i = below[0]
            if i == 0:
                out[p] = times[0]
            else:
                j0, j1 = jac[i - 1, p], jac[i, p]
                out[p] = times[i - 1] + (times[i] - times[i - 1]) * j0 / (j0 - j1)
    return out


def reference_crossing(t_max=3.5, nlat=8, dt_out=0.02, refine=4, chunk=1024):
    """The first crossing time of the characteristics: the earliest zero of J(n0, t) over a
    Gauss-like grid of ``nlat × 2 nlat`` starting points per spin, refined by Nelder–Mead on
    the four starting angles from the ``refine`` earliest points.

    Returns dict(time, start=(θ1, φ1, θ2, φ2), coarse_time, min_j=(times, min over the grid)).
    """
    theta = np.arccos(np.polynomial.legendre.leggauss(nlat)[0])
    phi = 2 * np.pi * np.arange(2 * nlat) / (2 * nlat)
    t, p = (x.ravel() for x in np.meshgrid(theta, phi, indexing="ij"))
    n = unit(t, p)
    i1, i2 = (x.ravel() for x in np.meshgrid(np.arange(n.shape[1]), np.arange(n.shape[1]),
                                               indexing="ij"))
    times = np.arange(dt_out, t_max + dt_out / 2, dt_out)
    jac = np.concatenate([flow_jacobian(n[:, i1[c:c + chunk]], n[:, i2[c:c + chunk]], times)[0]
                          for c in range(0, i1.size, chunk)], axis=1)
    zeros = first_zero(times, jac)
    order = np.argsort(zeros)[:refine]

    def crossing_time(x):
        tz = first_zero(times, flow_jacobian(unit(x[0], x[1])[:, None], unit(x[2], x[3])[:, None],
                                             times)[0])[0]
        return tz if np.isfinite(tz) else 2 * t_max

    best = None
    for o in order:
        x0 = np.array([t[i1[o]], p[i1[o]], t[i2[o]], p[i2[o]]])
        r = minimize(crossing_time, x0, method="Nelder-Mead",
                     options=dict(xatol=1e-3, fatol=1e-4, initial_simplex=x0 + 0.15 * np.vstack(
                         [np.zeros(4), np.eye(4)])))
        if best is None or r.fun < best.fun:
            best = r
    return dict(time=float(best.fun), start=[float(x) for x in best.x],
                coarse_time=float(zeros[order[0]]), min_j=(times.tolist(), jac.min(1).tolist()))


def solver_run(lmax, dt, t_end, *, scheme="strang", stop=None, output_every=0.05,
               monitor=False):
    """The solver's q = ln J on the case at ``lmax`` (one per spin), stepped with
    :func:`~spectral_qc.integrators.make_integrator`; stops when min J < ``stop``
    (default :data:`~spectral_qc.characteristics.JACOBIAN_STOP`) or J is non-finite.

    ``monitor``: also record, at every step, the first time a resolution test of the
    one-spin Simulation would have fired — min ϱ < −1e-3 max ϱ, min eig P < −1e-3, or a
    per-spin spectral tail (:func:`~spectral_qc.characteristics.factor_tails`) > 1e-2 —
    and the cause :func:`~spectral_qc.characteristics.failure_cause` names there, with
    ``previous`` = (t, min J) one output interval earlier.

    Returns dict(times, min_j, stop_time (None if not reached), message, state, grid,
    resolution_stop = (t, test, cause, min J) or None, and with ``monitor`` the series
    ``tests`` = {test: (per-step margin, < 0 where it fires)} and ``first_fired`` = {test:
    time the margin crosses 0, linearly interpolated between steps}).
    """
    from spectral_qc import characteristics as ch
    from spectral_qc import hermitian as hm
    from spectral_qc.integrators import make_integrator
    from spectral_qc.models.product import ProductEhrenfest, product_state, von_mises_fisher_product
    from spectral_qc.product_hamiltonians import ProductHamiltonian
    from spectral_qc.sphere.product import ProductGrid
    from spectral_qc.states import State

    stop = ch.JACOBIAN_STOP if stop is None else stop
    grid = ProductGrid(lmax)
    model = ProductEhrenfest(grid, ProductHamiltonian(case_terms(), spins=2), hbar=HBAR,
                             spin_magnitude=S)
    s = product_state(grid, von_mises_fisher_product(grid, [[0, 0.6, 0.8], [1, 0.2, 0]],
                                                     [1.0, 1.0]), P0)
    s = State(s.rho_lm, s.p_lm, ch.initial_log_jacobian(grid))
    step = make_integrator(scheme, model)
    every = max(1, int(round(output_every / dt)))
    times, mins, previous, message, stop_time, resolution = [], [], None, None, None, None
    margins = {"min_rho": [], "min_eig_P": [], "spectral_tail": []}
    for i in range(1, int(round(t_end / dt)) + 1):
        s = step.step(s, dt)
        t = i * dt
        j, theta, phi = ch.jacobian_minimum(grid, s.q_lm)
        times.append(t)
        mins.append(j)
        if monitor:
            rho = grid.synthesis(s.rho_lm)
            margins["min_rho"].append(float(rho.min() / rho.max() + 1e-3))
            margins["min_eig_P"].append(
                float(hm.eigvalsh_components(grid.synthesis(s.p_lm))[0].min() + 1e-3))
            margins["spectral_tail"].append(float(1e-2 - max(ch.factor_tails(grid, s))))
            fired = [k for k, v in margins.items() if v[-1] < 0]
            if fired and resolution is None:
                earlier = (times[-1 - every], mins[-1 - every]) if len(times) > every else None
                cause, _ = ch.failure_cause(grid, s, iteration=i, time=t, previous=earlier)
                resolution = (t, fired[0], cause, j)
        if not np.isfinite(j) or j < stop:
            stop_time = t
            message = ch.crossing_message(t, j, theta, phi, stop, lmax=grid.lmax,
                                          previous=previous)
            break
        previous = (t, j)
    first = {}
    for k, v in margins.items():
        below = [i for i, x in enumerate(v) if x < 0]
        if below:
            i = below[0]
            first[k] = times[i] if i == 0 else times[i - 1] + dt * v[i - 1] / (v[i - 1] - v[i])
    return dict(times=times, min_j=mins, stop_time=stop_time, message=message, state=s,
                grid=grid, resolution_stop=resolution, tests=margins, first_fired=first)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lmax", type=int, nargs="+", default=[9, 11, 13, 15])
    ap.add_argument("--dt", type=float, default=0.025)
    ap.add_argument("--t-end", type=float, default=2.3)
    ap.add_argument("--reference-nlat", type=int, default=8,
                    help="starting points nlat × 2 nlat per spin of the reference scan")
    ap.add_argument("--out", default="validation/results/product_characteristics.json")
    args = ap.parse_args(argv)
    ref = reference_crossing(t_max=max(args.t_end, 3.5), nlat=args.reference_nlat, refine=16)
    print(f"reference crossing t = {ref['time']:.4f} (scan {ref['coarse_time']:.4f}) from "
          f"(θ1, φ1, θ2, φ2) = {np.round(ref['start'], 3).tolist()}", flush=True)
    rows = []
    for lmax in args.lmax:
        r = solver_run([lmax, lmax], args.dt, args.t_end, monitor=True)
        first = min(r["first_fired"].values(), default=None)
        rows.append(dict(lmax=lmax, jacobian_stop=r["stop_time"], times=r["times"],
                         min_j=r["min_j"], message=r["message"], first_fired=r["first_fired"],
                         resolution_stop=r["resolution_stop"]))
        print(f"lmax {lmax}: J stop at {r['stop_time']}, first resolution test "
              f"{r['first_fired']} (stop / crossing {(first or np.nan) / ref['time']:.3f}), "
              f"min J {r['min_j'][-1]:.3g} at t = {r['times'][-1]:.3g}; cause: "
              f"{(r['resolution_stop'] or (None, None, 'none'))[2][:90]}", flush=True)
    with open(args.out, "w") as f:
        json.dump(dict(reference=ref, runs=rows, dt=args.dt), f, indent=1)


if __name__ == "__main__":
    main()
