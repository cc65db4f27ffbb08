"""Convergence studies: in lmax against independent references, and in dt (observed order).

``lmax_study``
    * Liouville (N = 1, H0 = ½nz² + 0.3nx, von Mises–Fisher κ = 2 off the pole): the
      solver's ϱ(t) evaluated from its coefficients at fixed random points against
      :func:`validation.references.liouville_characteristics` (DOP853, rtol 1e-12).
    * Ehrenfest (coupled qubit H0 + ½n·σ + 0.35σz, P0 = |+x⟩⟨+x|): ρ̂q(t) against the
      Monte Carlo mean of independent trajectories
      (:func:`validation.references.ehrenfest_trajectories`, exact vMF samples), entry by
      entry in units of the Monte Carlo standard error; plus the self-convergence of
      ρ̂q(t = 1) against the finest lmax (the spectral error below the Monte Carlo floor).

``dt_study``
    Errors of the final state at dt0, dt0/2, dt0/4 against a dt0/16 run (same lmax, same
    scheme); observed order log2(e(dt)/e(dt/2)), for every model and scheme.
"""

from __future__ import annotations

import numpy as np

from .. import cases as C
from ..references import (ehrenfest_trajectories, liouville_characteristics,
                          sample_von_mises_fisher)
from ..protocol import cached, evolve
from ..report import row
from .plotting import plt, save

# ------------------------------------------------------------------------ lmax


def liouville_lmax(p):
    rng = np.random.default_rng(7)
    pts = sample_von_mises_fisher([0, 0, 1], 0.0, p["points"], rng)
    ref, info = liouville_characteristics(C.grad_h0, C.rho0, pts, p["t_end"], return_info=True)
    theta = np.arccos(np.clip(pts[2], -1, 1))
    phi = np.arctan2(pts[1], pts[0])
    errors, walls = [], []
    for L in p["lmaxes"]:
        sim = C.make_sim("liouville", L, p["dt"], scheme=p["scheme"], t_end=p["t_end"])
        e0 = float(np.max(np.abs(sim.grid.evaluate(sim.state.rho_lm, theta, phi) - C.rho0(pts))))
        run = evolve(sim, p["t_end"], names=[])
        val = sim.grid.evaluate(sim.state.rho_lm, theta, phi)
        errors.append({"lmax": L, "max_error": float(np.max(np.abs(val - ref))),
                       "initial_projection_error": e0, "wall_s": run.wall})
        walls.append(run.wall)
    return {"params": p, "errors": errors, "rho_max": float(ref.max()),
            "reference_norm_drift": info.norm_drift}


def ehrenfest_lmax(p):
    times = np.linspace(0.0, p["t_end"], p["outputs"] + 1)
    n0 = sample_von_mises_fisher(C.CENTER, C.KAPPA, p["trajectories"], p["seed"])
    psi0 = np.array([1.0, 1.0]) / np.sqrt(2)  # Bloch (1, 0, 0)
    mc = ehrenfest_trajectories(C.h_matrix, C.grad_h_matrix, psi0, n0, times, dt=p["traj_dt"],
                                workers=2, batch=20000)
    every = p["t_end"] / p["outputs"]
    runs = {}
    for L in p["lmaxes"]:
        sim = C.make_sim("ehrenfest", L, p["dt"], scheme=p["scheme"], t_end=p["t_end"])
        r = evolve(sim, p["t_end"], every=every,
                     names=["rho_q_real", "rho_q_imag", "purity"])
        runs[L] = {"rho_q": r.series("rho_q_real") + 1j * r.series("rho_q_imag"),
                   "purity": r.series("purity"), "times": np.array(r.times), "wall_s": r.wall}
    # entries compared: Re ρ00, Re ρ01, Im ρ01 (ρ11 = 1 − ρ00, ρ10 = conj ρ01)
    entries = [("Re rho_00", lambda a: a[..., 0, 0].real), ("Re rho_01", lambda a: a[..., 0, 1].real),
               ("Im rho_01", lambda a: a[..., 0, 1].imag)]
    se = [mc.rho_q_stderr[-1, 0, 0].real, mc.rho_q_stderr[-1, 0, 1].real,
          mc.rho_q_stderr[-1, 0, 1].imag]
    Lref = max(p["lmaxes"])
    table = []
    for L, r in runs.items():
        d_mc = [float(f(r["rho_q"][-1]) - f(mc.rho_q[-1])) for _, f in entries]
        d_self = float(np.max(np.abs(r["rho_q"][-1] - runs[Lref]["rho_q"][-1])))
        table.append({"lmax": L, "diff_mc": d_mc, "z": [abs(d) / s for d, s in zip(d_mc, se)],
                      "max_abs_diff_mc": float(np.max(np.abs(r["rho_q"][-1] - mc.rho_q[-1]))),
                      "self_diff_vs_lmax_%d" % Lref: d_self, "wall_s": r["wall_s"]})
    # z-scores over all output times at the check lmax (informative)
    rc = runs[p["check_lmax"]]["rho_q"]
    z_t = []
    for k in range(1, len(times)):
        s_k = [mc.rho_q_stderr[k, 0, 0].real, mc.rho_q_stderr[k, 0, 1].real,
               mc.rho_q_stderr[k, 0, 1].imag]
        z_t.append(max(abs(f(rc[k]) - f(mc.rho_q[k])) / s for (_, f), s in zip(entries, s_k)))
    mc_purity = np.real(np.einsum("tij,tji->t", mc.rho_q, mc.rho_q))
    cached("mc_purity", lambda: {"times": times, "purity": mc_purity, "n": mc.n_trajectories})
    return {"params": p, "entries": [e for e, _ in entries], "stderr_t_end": se, "table": table,
            "z_max_over_times_check_lmax": z_t, "times": times,
            "mc": {"rho_q_t_end": mc.rho_q[-1], "stderr_t_end": mc.rho_q_stderr[-1],
                   "n": mc.n_trajectories, "dt": mc.dt, "energy_drift": mc.max_energy_drift,
                   "purity": mc_purity},
            "solver_purity": {L: r["purity"] for L, r in runs.items()}}


def lmax_study(profile, figdir):
    pl, pe = profile["liouville"], profile["ehrenfest"]
    lio = liouville_lmax(pl)
    ehr = ehrenfest_lmax(pe)
    rows = []
    best = min(lio["errors"], key=lambda e: e["max_error"])
    ok_l = [e for e in lio["errors"] if e["max_error"] <= pl["tolerance"] and e["lmax"] <= 127]
    first = ok_l[0]["lmax"] if ok_l else None
    rows.append(row(f"Liouville vs characteristics, nonlinear H0, t = {pl['t_end']:g}: max |Δϱ| "
                    f"≤ {pl['tolerance']:g} at some lmax ≤ 127 ({pl['scheme']}, dt {pl['dt']:g}, "
                    f"{pl['points']} points)",
                    f"{best['max_error']:.2e} at lmax {best['lmax']}"
                    + (f" (first ≤ tol at lmax {first})" if first else ""),
                    f"≤ {pl['tolerance']:g}", bool(ok_l), value=best["max_error"],
                    limit=pl["tolerance"]))
    chk = next(t for t in ehr["table"] if t["lmax"] == pe["check_lmax"])
    zmax = max(chk["z"])
    rows.append(row(f"Ehrenfest ρ̂q(t = {pe['t_end']:g}) vs {pe['trajectories']:.0e} trajectories "
                    f"at lmax {pe['check_lmax']} (max over Re ρ00, Re ρ01, Im ρ01)",
                    f"{zmax:.2f} SE (|Δ| ≤ {max(abs(d) for d in chk['diff_mc']):.1e}, SE ≈ "
                    f"{max(ehr['stderr_t_end']):.1e})", f"≤ {pe['z_max']:g} SE",
                    zmax <= pe["z_max"], value=zmax, limit=pe["z_max"]))
    Lref = max(pe["lmaxes"])
    key = "self_diff_vs_lmax_%d" % Lref
    second = sorted(ehr["table"], key=lambda t: t["lmax"])[-2]
    rows.append(row(f"Ehrenfest ρ̂q(t = 1) self-convergence: lmax {second['lmax']} vs {Lref}",
                    f"{second[key]:.1e}", "informative (spectral error below the MC floor)",
                    None, value=second[key]))
    # figure
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    L = [e["lmax"] for e in lio["errors"]]
    ax[0].semilogy(L, [e["max_error"] for e in lio["errors"]], "o-", label="t = 1 vs characteristics")
    ax[0].semilogy(L, [e["initial_projection_error"] for e in lio["errors"]], "s--", alpha=0.6,
                   label="t = 0 (projection of ϱ0)")
    ax[0].axhline(pl["tolerance"], color="k", lw=0.8, ls=":", label=f"target {pl['tolerance']:g}")
    ax[0].set(xlabel="lmax", ylabel="max |ϱ − ϱ_ref|", title="Liouville, H0 = ½nz² + 0.3nx")
    ax[0].legend(fontsize=8)
    Le = [t["lmax"] for t in ehr["table"]]
    ax[1].semilogy(Le, [t["max_abs_diff_mc"] for t in ehr["table"]], "o-",
                   label=f"vs {ehr['mc']['n']:.0e} trajectories")
    sd = [max(t[key], 1e-17) for t in ehr["table"]]
    ax[1].semilogy(Le[:-1], sd[:-1], "s--", label=f"vs lmax {Lref} (self)")
    ax[1].axhline(3 * max(ehr["stderr_t_end"]), color="k", lw=0.8, ls=":", label="3 × MC SE")
    ax[1].set(xlabel="lmax", ylabel="max |Δρ̂q(t = 1)|", title="Ehrenfest, coupled qubit")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    figs = [save(fig, figdir, "convergence_lmax")]
    about = (
        "Spectral convergence in lmax against references that share no code with the solver. "
        f"Liouville: ϱ at t = {pl['t_end']:g} evaluated from the solver's coefficients at "
        f"{pl['points']} uniformly random points, against backward characteristics "
        "(`liouville_characteristics`, DOP853 rtol 1e-12); the time step is small enough "
        f"({pl['scheme']}, dt = {pl['dt']:g}) that the plateau is the time error. "
        f"Ehrenfest: ρ̂q against the mean of {pe['trajectories']:,} independent trajectories "
        f"(exact vMF samples, RK4 dt = {pe['traj_dt']:g}); solver {pe['scheme']}, "
        f"dt = {pe['dt']:g}. Max z over output times at lmax {pe['check_lmax']}: "
        + ", ".join(f"{z:.1f}" for z in ehr["z_max_over_times_check_lmax"]) + ".\n\n"
        "| lmax | Liouville max abs error |\n|---|---|\n"
        + "\n".join(f"| {e['lmax']} | {e['max_error']:.2e} |" for e in lio["errors"])
        + "\n\n| lmax | Ehrenfest z (Re ρ00, Re ρ01, Im ρ01) | max abs Δ vs MC | vs lmax "
        f"{Lref} |\n|---|---|---|---|\n"
        + "\n".join(f"| {t['lmax']} | {', '.join(f'{z:.2f}' for z in t['z'])} | "
                    f"{t['max_abs_diff_mc']:.2e} | {t[key]:.1e} |" for t in ehr["table"]))
    return {"title": "Spectral convergence in lmax", "about": about, "rows": rows,
            "data": {"liouville": lio, "ehrenfest": ehr}, "figures": figs}


# -------------------------------------------------------------------------- dt


def _grid_values(sim, state):
    g = sim.grid
    rho = g.synthesis(state.rho_lm)
    p = g.synthesis(state.p_lm) if sim.model.N > 1 else np.zeros((1,) + g.shape)
    return rho, p


def dt_study(profile, figdir):
    p = profile
    results, rows = {}, []
    nominal = {"strang": 2, "yoshida4": 4}
    for model in p["models"]:
        for scheme in p["schemes"]:
            finals = {}
            for f in list(p["factors"]) + [p["ref_factor"]]:
                dt = p["dt0"] / f
                sim = C.make_sim(model, p["lmax"], dt, scheme=scheme, t_end=p["t_end"])
                r = evolve(sim, p["t_end"], names=[])
                if r.failure:
                    raise RuntimeError(f"{model}/{scheme} dt={dt}: {r.failure}")
                finals[f] = _grid_values(sim, r.final_state)
            ref = finals[p["ref_factor"]]
            errs = []
            for f in p["factors"]:
                rho, pp = finals[f]
                errs.append(float(max(np.max(np.abs(rho - ref[0])), np.max(np.abs(pp - ref[1])))))
            orders = [float(np.log2(errs[k] / errs[k + 1])) for k in range(len(errs) - 1)]
            key = f"{model}/{scheme}"
            results[key] = {"dts": [p["dt0"] / f for f in p["factors"]], "errors": errs,
                            "orders": orders}
            # N = 1: there is no rotation, so a Strang step is one RK4 transport step (order 4)
            nom = 4 if model == "liouville" else nominal[scheme]
            results[key]["nominal"] = nom
            want = nom - p["order_slack"]
            rows.append(row(f"{model}, {scheme}: observed order (dt {p['dt0'] / 2:g} → "
                            f"{p['dt0'] / 4:g}, vs dt/{p['ref_factor']})",
                            f"{orders[-1]:.2f} (errors " + ", ".join(f"{e:.1e}" for e in errs) + ")",
                            f"≥ {want:g} (nominal {nom})", orders[-1] >= want,
                            value=orders[-1], limit=want))
    fig, axes = plt.subplots(1, len(p["models"]), figsize=(4.2 * len(p["models"]), 4))
    for ax, model in zip(np.atleast_1d(axes), p["models"]):
        for scheme, mk in zip(p["schemes"], "os^"):
            r = results[f"{model}/{scheme}"]
            dts = np.array(r["dts"])
            ax.loglog(dts, r["errors"], mk + "-", label=scheme)
            q = r["nominal"]
            ax.loglog(dts, r["errors"][0] * (dts / dts[0]) ** q, "k:", lw=0.8)
        ax.set(xlabel="dt", ylabel=f"max error at t = {p['t_end']:g}", title=model)
        ax.legend(fontsize=8)
    fig.suptitle(f"Time convergence, lmax {p['lmax']} (dotted: nominal slopes)")
    fig.tight_layout()
    figs = [save(fig, figdir, "convergence_dt")]
    about = (f"Each model (coupled qubit for ehrenfest and hybrid; hybrid heat-kernel "
             f"regularized, α = {C.HYBRID_REG['alpha']}) is run to t = {p['t_end']:g} at "
             f"lmax {p['lmax']} with dt0 = {p['dt0']:g} divided by {p['factors']} and by "
             f"{p['ref_factor']} (the reference). Error: max over the grid of |Δϱ| and of "
             "the Hermitian-basis components |Δp_a| of P. For liouville (N = 1) there is no "
             "rotation sub-flow and a Strang step is a single RK4 transport step, so its "
             "nominal order is 4.\n\n| model/scheme | errors | orders |\n"
             "|---|---|---|\n"
             + "\n".join(f"| {k} | {', '.join(f'{e:.2e}' for e in v['errors'])} | "
                         f"{', '.join(f'{o:.2f}' for o in v['orders'])} |"
                         for k, v in results.items()))
    return {"title": "Time convergence (observed order)", "about": about, "rows": rows,
            "data": results, "figures": figs}
