"""Crossing characteristics: the solver's flow Jacobian against trajectories, and the stops.

``python -m validation.studies.characteristics [SECTION ...] [--fast]`` recomputes the
sections (default: all) and merges them into ``validation/results/characteristics.json``;
docs/stability.md, "Crossing characteristics", quotes its numbers.

Sections
--------
``compare``   Ehrenfest, lmax 63 (31 with --fast), both cases: jacobian_min along the run
              against :func:`validation.references.ehrenfest_flow_jacobian` (trajectory
              equations, DOP853, from 96 × 192 Gauss starting points and neighbours); the
              reference's first crossing.
``stops``     Ehrenfest, both cases, lmax 31 / 63 / 127 / 255 (the default run and, to
              lmax 127, one with the spectral filter): stop class, time, jacobian_min at the stop.
``hybrid``    the demo case, heat kernel α = 0.003 / 0.01 / 0.03, ħ = 1 and 0.5, lmax 31 /
              63: stop, J at the stop; and J against particle tracking in the solver's own
              X (:func:`validation.references.tracked_flow_jacobian`) for α = 0.01.
``liouville`` max |J − 1| to t = 2 (X divergence free).
``cases``     the exact-comparison case (I = 5, 50), notebook 03's mixed P0 and the
              demo/sweep config, Ehrenfest and hybrid, lmax 31 / 63 / 127: stop, min J at
              the stop, the trajectories' first crossing
              (:mod:`validation.studies.characteristics_cases`).
``method``    q = ln J transport (the solver) against Lagrangian labels (study-only):
              accuracy against the reference and cost.

Case "demo": H = ½nz² + 0.3nx + ½n·σ + 0.35σz, vMF κ = 2 at the north pole, bloch
(1, 0, 0), S = ħ = 1, dt = 0.005. Case "second": H0 = 0.3nx² + 0.2ny, h = (0.5nz,
0.1nx·ny, 0.2 + 0.4nx·ny), S = 0.7, vMF κ = 3 at (1, 1, 0)/√2, bloch (1, 0, 0), dt = 0.01.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .. import references as ref
from ..cases import ID2, SX, SY, SZ
from ..cases import grad_h_matrix as demo_grad_h
from ..cases import h_matrix as demo_h

RESULTS = Path(__file__).resolve().parents[1] / "results" / "characteristics.json"
SECOND_TERMS = [{"op": "I", "coef": "0.3*nx**2 + 0.2*ny"}, {"op": "X", "coef": "0.5*nz"},
                {"op": "Y", "coef": "0.1*nx*ny"}, {"op": "Z", "coef": "0.2 + 0.4*nx*ny"}]
DEMO_TERMS = [{"op": "I", "coef": "0.5*nz**2 + 0.3*nx"}, {"op": "X", "coef": "0.5*nx"},
              {"op": "Y", "coef": "0.5*ny"}, {"op": "Z", "coef": "0.5*nz + 0.35"}]


def second_h(n):
    """H(n) of the second case, ``(M, 2, 2)``."""
    x, y, z = n
    return (np.multiply.outer(0.3 * x**2 + 0.2 * y, ID2) + np.multiply.outer(0.5 * z, SX)
            + np.multiply.outer(0.1 * x * y, SY) + np.multiply.outer(0.2 + 0.4 * x * y, SZ))


def second_grad_h(n):
    """Cartesian gradient of every entry of the second case's H, ``(3, M, 2, 2)``."""
    x, y, z = n
    o = np.zeros_like(x)
    parts = ([0.6 * x, 0.2 + o, o], [o, o, 0.5 + o], [0.1 * y, 0.1 * x, o],
             [0.4 * y, 0.4 * x, o])
    return np.stack([sum(np.multiply.outer(p[i], m) for p, m in zip(parts, (ID2, SX, SY, SZ)))
                     for i in range(3)])


CASES = {
    "demo": dict(terms=DEMO_TERMS, S=1.0, center=[0.0, 0.0, 1.0], kappa=2.0, dt=0.005,
                 h=demo_h, grad_h=demo_grad_h, t_ref=2.5),
    "second": dict(terms=SECOND_TERMS, S=0.7, center=[1.0, 1.0, 0.0], kappa=3.0, dt=0.01,
                   h=second_h, grad_h=second_grad_h, t_ref=3.2),
}


def config(case, lmax, t_end, *, kind="ehrenfest", hbar=1.0, output_every=0.05, **model):
    c = CASES[case]
    m = {"kind": kind, "hbar": hbar, "spin_magnitude": c["S"], **model}
    return {"grid": {"lmax": int(lmax)}, "model": m, "hamiltonian": {"terms": c["terms"]},
            "initial": {"classical": {"kind": "von_mises_fisher", "center": c["center"],
                                      "kappa": c["kappa"]},
                        "quantum": {"bloch": [1.0, 0.0, 0.0]}},
            "time": {"t_end": t_end, "dt": c["dt"], "output_every": output_every}}


def run(cfg, **kw):
    """Run a config; returns (dataset up to the end or the stop, stop dict or None, wall s)."""
    import spectral_qc as sq
    from spectral_qc.errors import NumericalFailure

    sim = sq.Simulation(cfg, **kw)
    t0 = time.perf_counter()
    try:
        ds, stop = sim.run(), None
    except NumericalFailure as e:
        ds = e.diagnostics
        stop = {"class": type(e).__name__, "time": e.time, "quantity": e.quantity,
                "value": float(e.value), "message": str(e),
                "jacobian_min": float(np.exp(sim.grid.synthesis(sim.state.q_lm).min()))}
    return ds, stop, time.perf_counter() - t0


def gauss_points(nlat):
    """Starting points on a Gauss grid of nlat × 2nlat nodes, ``(3, M)``."""
    x, _ = np.polynomial.legendre.leggauss(nlat)
    th = np.arccos(x)
    ph = np.arange(2 * nlat) * np.pi / nlat
    t, p = np.meshgrid(th, ph, indexing="ij")
    return np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)]).reshape(3, -1)


def reference(case, times, nlat=96):
    c = CASES[case]
    return ref.ehrenfest_flow_jacobian(c["h"], c["grad_h"], [1.0, 0.0, 0.0], gauss_points(nlat),
                                       times, spin_magnitude=c["S"])


def relative_agreement(j_solver, j_ref, floor=0.2):
    """max |J_solver − J_ref| / J_ref where both exceed ``floor``."""
    ok = (j_solver > floor) & (j_ref > floor)
    return float(np.max(np.abs(j_solver[ok] - j_ref[ok]) / j_ref[ok]))


# ---------------------------------------------------------------- sections
def compare(fast):
    lmax = 31 if fast else 63
    out = {}
    for case, c in CASES.items():
        ds, stop, wall = run(config(case, lmax, c["t_ref"]))
        t = ds.time.values
        r = reference(case, np.arange(0.0, c["t_ref"] + 1e-9, 0.01), 48 if fast else 96)
        j_ref = np.interp(t, r.times, r.minimum)
        out[case] = {"lmax": lmax, "times": t.tolist(),
                     "jacobian_min": ds.jacobian_min.values.tolist(),
                     "reference_min": j_ref.tolist(),
                     "max_rel_diff_above_0.2": relative_agreement(ds.jacobian_min.values, j_ref),
                     "first_crossing": ref.first_crossing(r.times, r.minimum),
                     "reference_at": {f"{x:.1f}": float(np.interp(x, r.times, r.minimum))
                                      for x in (1.0, 1.5, 2.0, 2.5)},
                     "stop": stop, "wall_s": wall}
    return out


def stops(fast):
    out = {}
    for case, c in CASES.items():
        for lmax in ((31, 63) if fast else (31, 63, 127, 255)):
            for filt in ((False,) if lmax > 127 else (False, True)):
                _, stop, wall = run(config(case, lmax, c["t_ref"]), spectral_filter=filt)
                out[f"{case}/{lmax}/{'filter' if filt else 'default'}"] = {
                    "stop": stop, "wall_s": wall}
    return out


def _cartesian(grid, x):
    """Cartesian components ``(3, nlat, nphi)`` of a tangent field (X_θ, X_φ)."""
    th = grid.theta[:, None]
    ph = grid.phi[None, :]
    e_t = np.stack(np.broadcast_arrays(np.cos(th) * np.cos(ph), np.cos(th) * np.sin(ph),
                                       -np.sin(th)))
    e_p = np.stack(np.broadcast_arrays(-np.sin(ph), np.cos(ph), 0.0 * th))
    return x[0] * e_t + x[1] * e_p


class SampledVelocity:
    """The solver's X sampled on the grid after every step, interpolated (cubic splines in
    (θ, φ) on a pole-reflected, periodically padded grid; cubic Lagrange in time)."""

    def __init__(self, grid, dt):
        self.grid, self.dt, self.samples = grid, dt, []
        th, ph = grid.theta, grid.phi
        k = 4
        self.th = np.concatenate([-th[:k][::-1], th, 2 * np.pi - th[-k:][::-1]])
        self.ph = np.concatenate([ph[-k:] - 2 * np.pi, ph, ph[:k] + 2 * np.pi])
        self.k = k

    def add(self, x):
        self.samples.append(_cartesian(self.grid, x))

    def _padded(self, f):
        k, half = self.k, f.shape[-1] // 2
        north = np.roll(f[..., :k, :], half, axis=-1)[..., ::-1, :]
        south = np.roll(f[..., -k:, :], half, axis=-1)[..., ::-1, :]
        f = np.concatenate([north, f, south], axis=-2)
        return np.concatenate([f[..., -k:], f, f[..., :k]], axis=-1)

    def __call__(self, t, n):
        from scipy.interpolate import RectBivariateSpline

        s = t / self.dt
        i = int(np.clip(np.floor(s) - 1, 0, len(self.samples) - 4))
        nodes = np.arange(i, i + 4)
        w = [np.prod([(s - nodes[b]) / (nodes[a] - nodes[b]) for b in range(4) if b != a])
             for a in range(4)]
        f = self._padded(sum(wa * self.samples[j] for wa, j in zip(w, nodes)))
        nn = n / np.linalg.norm(n, axis=0)
        th = np.arccos(np.clip(nn[2], -1, 1))
        ph = np.mod(np.arctan2(nn[1], nn[0]), 2 * np.pi)
        v = np.stack([RectBivariateSpline(self.th, self.ph, f[c]).ev(th, ph) for c in range(3)])
        return v - nn * np.sum(v * nn, axis=0)  # tangent


def tracked_hybrid(alpha=0.01, lmax=63, hbar=1.0, t_end=1.4, nlat=48):
    """J of the regularized hybrid (demo case): solver against particle tracking in X."""
    import spectral_qc as sq
    from spectral_qc.errors import NumericalFailure

    sim = sq.Simulation(config("demo", lmax, t_end, kind="hybrid", hbar=hbar,
                               regularization="heat_kernel", alpha=alpha))
    vel = SampledVelocity(sim.grid, sim.dt)
    vel.add(np.stack(sim.model.velocity(sim.state)))
    t_sol, j_sol = [0.0], [1.0]
    n_end = round(t_end / sim.dt)
    stop = None
    try:
        while sim.iteration < n_end:
            sim.step()
            vel.add(np.stack(sim.model.velocity(sim.state)))
            if sim.iteration % 10 == 0:
                t_sol.append(sim.time)
                j_sol.append(float(np.exp(sim.grid.synthesis(sim.state.q_lm).min())))
    except NumericalFailure as e:
        stop = {"class": type(e).__name__, "time": e.time}
    t_max = (len(vel.samples) - 4) * sim.dt
    times = np.array([t for t in t_sol if t <= t_max])
    r = ref.tracked_flow_jacobian(vel, gauss_points(nlat), times, dt=sim.dt)
    j_s = np.array(j_sol[:len(times)])
    return {"lmax": lmax, "alpha": alpha, "hbar": hbar, "times": times.tolist(),
            "jacobian_min": j_s.tolist(), "tracked_min": r.minimum.tolist(),
            "max_rel_diff_above_0.2": relative_agreement(j_s, r.minimum), "stop": stop}


def hybrid(fast):
    out = {"runs": {}}
    for lmax in ((31,) if fast else (31, 63)):
        for alpha in (0.003, 0.01, 0.03):
            for hbar in (1.0, 0.5):
                _, stop, wall = run(config("demo", lmax, 2.5, kind="hybrid", hbar=hbar,
                                           regularization="heat_kernel", alpha=alpha))
                out["runs"][f"{lmax}/{alpha}/{hbar}"] = {"stop": stop, "wall_s": wall}
    out["tracked"] = tracked_hybrid(lmax=31 if fast else 63, nlat=32 if fast else 48)
    return out


def liouville(fast):
    cfg = config("demo", 31, 2.0, kind="liouville")
    cfg["hamiltonian"]["terms"] = DEMO_TERMS[:1]
    del cfg["initial"]["quantum"]
    ds, stop, _ = run(cfg)
    return {"max_abs_jmin_minus_1": float(np.max(np.abs(ds.jacobian_min.values - 1))),
            "max_abs_jmax_minus_1": float(np.max(np.abs(ds.jacobian_max.values - 1))),
            "stop": stop}


def _label_jacobian(grid, a_lm):
    """J = 1/det of the label map n → a(n) (a renormalized): a·(a_θ × a_φ)/|a|³."""
    a = grid.synthesis(a_lm)
    g = grid.gradient(a_lm)
    cross = np.stack([g[0, 1] * g[1, 2] - g[0, 2] * g[1, 1], g[0, 2] * g[1, 0] - g[0, 0] * g[1, 2],
                      g[0, 0] * g[1, 1] - g[0, 1] * g[1, 0]])
    det = np.sum(a * cross, axis=0) / np.sum(a * a, axis=0) ** 1.5
    return 1.0 / det


def method(fast):
    """q transport (the solver) against Lagrangian labels ∂t a + X·∇a = 0 (study-only)."""
    import spectral_qc as sq
    from spectral_qc.integrators import Strang
    from spectral_qc.states import State

    class LabelStrang(Strang):
        def _tendency_with_jacobian(self, state):
            m = self.model
            f = m.fields(state)
            x = m.velocity_from_fields(f)
            drho, dp = m.transport_tendency(state, f)
            g = m.grid.gradient(state.q_lm)
            return drho, dp, -m.grid.analysis(x[0] * g[0] + x[1] * g[1])

    out = {}
    t_end = 2.5
    r = reference("second", np.array([t_end]), 48 if fast else 96)
    for lmax in ((31,) if fast else (31, 63)):
        for name in ("q", "labels"):
            sim = sq.Simulation(config("second", lmax, t_end))
            if name == "labels":
                sim.integrator = LabelStrang(sim.model)
                sim.state = State(sim.state.rho_lm, sim.state.p_lm, sim.grid.analysis(sim.grid.n))
            t0 = time.process_time()
            for _ in range(round(t_end / sim.dt)):
                sim.state = sim.integrator.step(sim.state, sim.dt)
            cpu = time.process_time() - t0
            j = (np.exp(sim.grid.synthesis(sim.state.q_lm)) if name == "q"
                 else _label_jacobian(sim.grid, sim.state.q_lm))
            out[f"{name}/{lmax}"] = {"jmin": float(j.min()), "cpu_s": cpu,
                                     "rel_diff_to_reference": float(abs(j.min() - r.minimum[0])
                                                                    / r.minimum[0])}
    out["reference_jmin_t2.5"] = float(r.minimum[0])
    return out


def cases(fast):
    from .characteristics_cases import cases as other_cases  # it imports this module

    return other_cases(fast)


SECTIONS = {"compare": compare, "stops": stops, "hybrid": hybrid, "liouville": liouville,
            "method": method, "cases": cases}


FIGURE = Path(__file__).resolve().parents[2] / "docs" / "figures" / "characteristics_jacobian.png"


def figure(data, path=FIGURE):
    """min J against time, solver (lmax 63) and trajectories, with the stops at every lmax."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    for ax, case in zip(axes, ("demo", "second")):
        c = data["compare"][case]
        ax.plot(c["times"], c["reference_min"], "k-", lw=1.5, label="trajectories (DOP853)")
        ax.plot(c["times"], c["jacobian_min"], "C0--", lw=1.5,
                label=f"solver q = ln J, lmax {c['lmax']}")
        ax.axvline(c["first_crossing"], color="0.5", ls=":", lw=1)
        for k, (lmax, mark) in enumerate(zip((31, 63, 127, 255), "os^D")):
            stop = data["stops"].get(f"{case}/{lmax}/default", {}).get("stop")
            if stop:
                ax.plot(stop["time"], stop["jacobian_min"], mark, color=f"C{k + 1}", ms=6,
                        label=f"stop at lmax {lmax}")
        ax.set(title=f"{case} case: crossing at t = {c['first_crossing']:.2f}", xlabel="t",
               ylabel="min J over the sphere", ylim=(-0.05, 1.05))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower left")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    fast = "--fast" in argv
    names = [a for a in argv if a != "--fast"] or list(SECTIONS)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() and not fast else {}
    for name in names:
        t0 = time.perf_counter()
        data[name] = SECTIONS[name](fast)
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
        if not fast:
            RESULTS.write_text(json.dumps(data, indent=1, default=float))
    if not fast and {"compare", "stops"} <= set(data):
        figure(data)
    return data


if __name__ == "__main__":
    main()
