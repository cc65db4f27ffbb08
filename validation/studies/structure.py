"""Structure of the hybrid model: uncoupled limit, eq. (53) velocity, pure-dephasing law.

All three checks evaluate the solver's public model objects (``model.generator``,
``model.velocity``, ``model.tendency``) against formulas coded here independently:
Cartesian components, surface gradients of each Cartesian component, matrix entries
transformed one by one (the solver works with Hermitian-basis components, orthonormal
(θ, φ) components and a product-rule velocity).

Conventions (theory note §2): {f, g} = (1/S)(f_θ g_φ − f_φ g_θ), X_f = (1/S)∇f × n.

Pure-dephasing law (paper end of §3.3), derived for these conventions. For
H = H0(n) + H_I(n)σx + γσz and P = (1 + b·σ)/2, with x = ⟨σx⟩ = bx, y = by, z = bz,
the hybrid model (𝒦 = H + iħ({P,H} + {H,P} + ½[P, {ln ϱ, H}]) + c·1) gives

    ∂t x + X·∇x = −(i/ħ) Tr(𝒦 [P, σx])
               = −(2γ/ħ) y − ϱ⁻¹ {ϱ (y² + z²), H_I}          (any P)
               = −(2γ/ħ) y + ϱ⁻¹ {ϱ (x² − 1), H_I}           (pure P: y² + z² = 1 − x²)

because {P,H} + {H,P} = [{P, H_I}, σx], [P, {ln ϱ, H}] = {ln ϱ, H_I}[P, σx],
[P, σx] = i(z σy − y σz) and Tr([P, σx]²) = −2(y² + z²). The ħ of the generator cancels
the 1/ħ of the commutator, so the second term does not scale with ħ (only with 1/S).
The paper writes γ⟨σy⟩ + ϱ⁻¹{H_I, ϱ(⟨σx⟩² − 1)}: its γ is our −2γ/ħ (precession
γσz turns σx at rate 2γ/ħ) and its bracket has the opposite order (opposite sign
convention). Ehrenfest (𝒦 = H) gives only −(2γ/ħ) y.
"""

from __future__ import annotations

import numpy as np

from .. import cases as C
from ..references import classical_flow
from ..protocol import evolve
from ..report import row
from .plotting import plt, save

PAULI = np.stack([C.SX, C.SY, C.SZ])  # σx, σy, σz


# ------------------------------------------------------------- Cartesian tools
def frames(grid):
    th, ph = grid.theta[:, None], grid.phi[None, :]
    e_t = np.stack([np.cos(th) * np.cos(ph), np.cos(th) * np.sin(ph),
                    -np.sin(th) * np.ones_like(ph)])
    e_p = np.stack([-np.sin(ph) * np.ones_like(th), np.cos(ph) * np.ones_like(th),
                    np.zeros_like(th * ph)])
    return e_t, e_p


def cgrad(grid, f):
    """Surface gradient in Cartesian components of real or complex fields ``(..., nlat, nphi)``;
    returns ``(3, ..., nlat, nphi)``. Each real scalar is transformed separately."""
    f = np.asarray(f)
    if np.iscomplexobj(f):
        return cgrad(grid, f.real) + 1j * cgrad(grid, f.imag)
    e_t, e_p = frames(grid)
    lead = f.shape[:-2]
    flat = f.reshape((-1,) + grid.shape)
    out = np.empty((3,) + flat.shape)
    for k in range(flat.shape[0]):
        gt, gp = grid.gradient(grid.analysis(flat[k]))
        out[:, k] = gt * e_t + gp * e_p
    return out.reshape((3,) + lead + grid.shape)


def cross(a, b):
    """Cross product over axis 0 (Cartesian), broadcasting the rest."""
    return np.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def mm(a, b):
    return np.einsum("ik...,kj...->ij...", a, b)


def tr(a):
    return np.einsum("ii...->...", a)


def grid_fields(model, state):
    g = model.grid
    rho = g.synthesis(state.rho_lm)
    comps = g.synthesis(state.p_lm)
    from spectral_qc.hermitian import basis  # the basis only (a constant table)

    P = np.einsum("cij,c...->ij...", basis(model.N), comps)
    return rho, P


def eq53_velocity(model, state, H_cart_grad):
    """X of the paper's eq. (53) in Cartesian components ``(3, nlat, nphi)``.

    X = ⟨X_H⟩ − (ħ/2ϱ) Tr[(ϱΞ)·∇X_H − X_H·∇(ϱΞ)], Ξ = (i/S)[P, ∇P] × n, X_H = (1/S)∇H × n.
    ``H_cart_grad``: surface gradient of H, ``(3, N, N, nlat, nphi)``.
    """
    g, S, hbar = model.grid, model.spin_magnitude, model.hbar
    n = g.n
    rho, P = grid_fields(model, state)
    nN = n[:, None, None]
    XH = cross(H_cart_grad, nN) / S                      # (3, N, N, ...)
    gP = cgrad(g, P)                                     # (3, N, N, ...)
    comm = np.stack([1j * (mm(P, gP[a]) - mm(gP[a], P)) for a in range(3)])
    Xi = cross(comm, nN) / S
    W = rho * Xi
    dXH = cgrad(g, XH)                                   # (3_a, 3_c, N, N, ...)
    dW = cgrad(g, W)
    lie = np.stack([sum(mm(W[a], dXH[a, c]) - mm(XH[a], dW[a, c]) for a in range(3))
                    for c in range(3)])
    mean_XH = np.real(np.stack([tr(mm(P, XH[c])) for c in range(3)]))
    return mean_XH - hbar / (2 * rho) * np.real(np.stack([tr(lie[c]) for c in range(3)])), rho


def solver_velocity_cartesian(model, state):
    e_t, e_p = frames(model.grid)
    xt, xp = model.velocity(state)
    return xt * e_t + xp * e_p


def surface(n, v):
    """Tangential part of Cartesian vectors v ``(3, ...)`` at points n."""
    return v - n * np.sum(n * v, axis=0)


# ---------------------------------------------------------------- pieces
def coupled_grad_H_grid(grid):
    n = grid.n
    pts = n.reshape(3, -1)
    gH = C.grad_h_matrix(pts)                    # (3, M, 2, 2)
    gH = np.moveaxis(gH, 1, -1).reshape(3, 2, 2, *grid.shape)
    normal = np.einsum("a...,aij...->ij...", n, gH)
    return gH - n[:, None, None] * normal


def eq53_check(p):
    out = {}
    for hbar, S in p.get("eq53_params", [(1.0, 1.0), (0.7, 2.0)]):
        for case in ("pure_tilt_0.5", "mixed_correlated"):
            Pf = (lambda g: C.correlated_pure(g, tilt=0.5)) if case.startswith("pure") \
                else C.mixed_field
            sim = C.make_sim("hybrid_raw", p["lmax"], 0.01, P=Pf, hbar=hbar, spin=S)
            m, st = sim.model, sim.state
            x53, rho = eq53_velocity(m, st, coupled_grad_H_grid(m.grid))
            xs = solver_velocity_cartesian(m, st)
            xe = solver_velocity_cartesian(
                C.make_sim("ehrenfest", p["lmax"], 0.01, P=Pf, hbar=hbar, spin=S).model, st)
            scale = float(np.max(np.linalg.norm(xs, axis=0)))
            out[f"hbar={hbar:g},S={S:g},{case}"] = {
                "max_abs_diff": float(np.max(np.linalg.norm(x53 - xs, axis=0))),
                "rel_diff": float(np.max(np.linalg.norm(x53 - xs, axis=0)) / scale),
                "normal_component_eq53": float(np.max(np.abs(np.sum(m.grid.n * x53, axis=0)))),
                "hbar_correction_size": float(np.max(np.linalg.norm(xs - xe, axis=0)) / scale),
                "max_speed": scale}
    return out


def dephasing_terms(hbar=1.0, S=1.0, gamma=0.35, lmax=63, tilt=0.5):
    hi_expr = "0.6*ny + 0.4*nx*nz"
    H = [{"op": "I", "coef": C.H0_EXPR}, {"op": "X", "coef": hi_expr},
         {"op": "Z", "coef": str(gamma)}]
    res = {}
    for kind in ("hybrid_raw", "ehrenfest"):
        sim = C.make_sim(kind, lmax, 0.01, P=lambda g: C.correlated_pure(g, tilt=tilt),
                         hbar=hbar, spin=S, hamiltonian=H)
        g, m, st = sim.grid, sim.model, sim.state
        rho, P = grid_fields(m, st)
        x = np.real(tr(mm(P, np.broadcast_to(C.SX[:, :, None, None], P.shape))))
        y = np.real(tr(mm(P, np.broadcast_to(C.SY[:, :, None, None], P.shape))))
        z = np.real(tr(mm(P, np.broadcast_to(C.SZ[:, :, None, None], P.shape))))
        nx, ny, nz = g.n
        HI = 0.6 * ny + 0.4 * nx * nz

        def grad(f):
            return g.gradient(g.analysis(f))

        def br(f, h):
            a, b = grad(f), grad(h)
            return (a[0] * b[1] - a[1] * b[0]) / S

        _, dP = m.tendency(st)
        xt, xp = m.velocity(st)
        gx = grad(x)
        lhs = np.real(tr(mm(C.SX[:, :, None, None] * np.ones_like(P), dP))) + xt * gx[0] + xp * gx[1]
        precession = -2 * gamma / hbar * y
        general = -br(rho * (y ** 2 + z ** 2), HI) / rho
        pure = br(rho * (x ** 2 - 1), HI) / rho
        res[kind] = {"lhs": lhs, "precession": precession, "general": general, "pure": pure,
                     "purity_defect": float(np.max(np.abs(1 - (x ** 2 + y ** 2 + z ** 2)))),
                     "grid": g}
    return res


def dephasing_check(p):
    out = {}
    for hbar, S in p.get("dephasing_params", [(1.0, 1.0), (0.5, 2.0)]):
        r = dephasing_terms(hbar, S, lmax=p["lmax"])
        h, e = r["hybrid_raw"], r["ehrenfest"]
        scale = float(np.max(np.abs(h["lhs"])))
        out[f"hbar={hbar:g},S={S:g}"] = {
            "hybrid_vs_general_law": float(np.max(np.abs(h["lhs"] - h["precession"] - h["general"]))) / scale,
            "hybrid_vs_pure_law": float(np.max(np.abs(h["lhs"] - h["precession"] - h["pure"]))) / scale,
            "ehrenfest_vs_precession_only": float(np.max(np.abs(e["lhs"] - e["precession"]))) / scale,
            "hybrid_vs_precession_only": float(np.max(np.abs(h["lhs"] - h["precession"]))) / scale,
            "hbar_term_size": float(np.max(np.abs(h["pure"]))) / scale,
            "purity_defect": h["purity_defect"], "scale": scale}
        if (hbar, S) == (1.0, 1.0):
            out["_fields"] = r
    return out


def uncoupled_check(p):
    L, T, dt = p["uncoupled_lmax"], p["uncoupled_t"], p["uncoupled_dt"]
    C0 = 0.35 * C.SZ + 0.2 * C.SX
    H = [{"op": "I", "coef": C.H0_EXPR}, {"op": "Z", "coef": "0.35"}, {"op": "X", "coef": "0.2"}]
    out, finals = {}, {}
    for kind in ("ehrenfest", "hybrid_raw", "hybrid"):
        sim = C.make_sim(kind, L, dt, P=C.correlated_pure, hamiltonian=H, t_end=T)
        K = sim.model.generator(sim.state)
        Hg = C.bloch_field(np.zeros((3,) + sim.grid.shape)) * 0 + sim.model.H
        out[f"{kind}: max|K − H|/max|H|"] = float(np.max(np.abs(K - Hg)) / np.max(np.abs(Hg)))
        evolve(sim, T, names=[])
        rho, P = grid_fields(sim.model, sim.state)
        finals[kind] = (rho, P, sim.grid)
    g = finals["ehrenfest"][2]
    pts = g.n.reshape(3, -1)
    feet, info = classical_flow(C.grad_h0, pts, -T)
    rho_ref = C.rho0(feet).reshape(g.shape)
    w, v = np.linalg.eigh(C0)
    U = v @ np.diag(np.exp(-1j * w * T)) @ v.conj().T
    P0 = C.bloch_field(feet.reshape(3, *g.shape))     # P0(n) = (1 + n·σ)/2 at the feet
    P_ref = np.einsum("ik,kl...,jl->ij...", U, P0, U.conj())
    for kind, (rho, P, _) in finals.items():
        out[f"{kind}: max|ϱ − ϱ_ref|"] = float(np.max(np.abs(rho - rho_ref)))
        out[f"{kind}: max|P − P_ref|"] = float(np.max(np.abs(P - P_ref)))
    out["max|Δ| hybrid (paper) vs ehrenfest"] = float(max(
        np.max(np.abs(finals["hybrid_raw"][0] - finals["ehrenfest"][0])),
        np.max(np.abs(finals["hybrid_raw"][1] - finals["ehrenfest"][1]))))
    # the Liouville model for ϱ alone
    sim = C.make_sim("liouville", L, dt, t_end=T)
    evolve(sim, T, names=[])
    out["liouville: max|ϱ − ϱ_ref|"] = float(np.max(np.abs(sim.grid.synthesis(sim.state.rho_lm)
                                                          - rho_ref)))
    return out


def structure_study(profile, figdir):
    p = profile
    rows = []
    unc = uncoupled_check(p)
    for kind in ("hybrid_raw", "hybrid"):
        v = unc[f"{kind}: max|K − H|/max|H|"]
        rows.append(row(f"uncoupled H = H0·1 + 0.35σz + 0.2σx: generator 𝒦 = H "
                        f"({'paper model' if kind == 'hybrid_raw' else 'heat-kernel'})",
                        f"{v:.1e}", f"≤ {p['identity_tol']:g}", v <= p["identity_tol"],
                        value=v, limit=p["identity_tol"]))
    worst = max(v for k, v in unc.items() if "ref" in k)
    rows.append(row(f"uncoupled: ϱ and P of ehrenfest, hybrid (both) and liouville vs independent "
                    f"motion (characteristics of H0 × exp(−iCt)), lmax {p['uncoupled_lmax']}, "
                    f"t = {p['uncoupled_t']:g}", f"{worst:.1e}", f"≤ {p['uncoupled_tol']:g}",
                    worst <= p["uncoupled_tol"], value=worst, limit=p["uncoupled_tol"]))
    d = unc["max|Δ| hybrid (paper) vs ehrenfest"]
    rows.append(row("uncoupled: hybrid (paper) run = ehrenfest run", f"{d:.1e}",
                    f"≤ {p['identity_tol']:g}", d <= p["identity_tol"], value=d,
                    limit=p["identity_tol"]))
    e53 = eq53_check(p)
    worst53 = max(v["rel_diff"] for v in e53.values())
    rows.append(row(f"velocity model.velocity = paper eq. (53) in Cartesian form, lmax {p['lmax']} "
                    "(pure tilted and mixed P; (ħ, S) = (1, 1), (0.7, 2)); max |ΔX| / max |X|",
                    f"{worst53:.1e} (ħ-correction itself: "
                    f"{min(v['hbar_correction_size'] for v in e53.values()):.1e} … "
                    f"{max(v['hbar_correction_size'] for v in e53.values()):.1e})",
                    f"≤ {p['eq53_tol']:g}", worst53 <= p["eq53_tol"], value=worst53,
                    limit=p["eq53_tol"]))
    dep = dephasing_check(p)
    fields = dep.pop("_fields")
    wg = max(v["hybrid_vs_general_law"] for v in dep.values())
    rows.append(row("pure dephasing: hybrid tendency obeys ∂t x + X·∇x = −(2γ/ħ) y − ϱ⁻¹{ϱ(y²+z²), "
                    "H_I} pointwise ((ħ, S) = (1, 1), (0.5, 2)); residual / max|∂t x + X·∇x|",
                    f"{wg:.1e}", f"≤ {p['dephasing_tol']:g}", wg <= p["dephasing_tol"], value=wg,
                    limit=p["dephasing_tol"]))
    wp = max(v["hybrid_vs_pure_law"] for v in dep.values())
    pdef = max(v["purity_defect"] for v in dep.values())
    rows.append(row("pure dephasing, pure-state form −(2γ/ħ) y + ϱ⁻¹{ϱ(x² − 1), H_I}",
                    f"{wp:.1e} (purity defect of the truncated state {pdef:.1e})",
                    f"≤ {p['dephasing_tol']:g} + 10³ × purity defect", wp <= 1e3 * pdef + p["dephasing_tol"],
                    value=wp))
    we = max(v["ehrenfest_vs_precession_only"] for v in dep.values())
    size = min(v["hbar_term_size"] for v in dep.values())
    rows.append(row("Ehrenfest lacks the ħ-term: its tendency obeys ∂t x + X·∇x = −(2γ/ħ) y, while "
                    "the hybrid's ħ-term is O(1)", f"Ehrenfest residual {we:.1e}; hybrid ħ-term "
                    f"{size:.2f} of the scale", f"≤ {p['dephasing_tol']:g} and ħ-term ≥ 1e-2",
                    we <= p["dephasing_tol"] and size >= 1e-2, value=we))
    # figure: dephasing fields (hybrid) and Ehrenfest residual
    h = fields["hybrid_raw"]
    g = h["grid"]
    fig, ax = plt.subplots(1, 3, figsize=(14, 3.6))
    ext = [0, 360, 180, 0]
    for a, (f, title) in zip(ax, [
            (h["lhs"] - h["precession"], "hybrid: ∂t x + X·∇x + (2γ/ħ)y"),
            (h["pure"], "ϱ⁻¹{ϱ(x² − 1), H_I}"),
            (h["lhs"] - h["precession"] - h["general"], "hybrid residual of the law")]):
        im = a.imshow(f, extent=ext, aspect="auto", cmap="RdBu_r")
        a.set(title=title, xlabel="φ (deg)", ylabel="θ (deg)")
        fig.colorbar(im, ax=a)
    fig.suptitle(f"Pure dephasing law, H = H0 + H_I σx + γσz, H_I = 0.6ny + 0.4nxnz, γ = 0.35, "
                 f"lmax {g.lmax}")
    fig.tight_layout()
    figs = [save(fig, figdir, "structure_dephasing")]
    about = (__doc__.split("\n\n", 1)[1].strip()
             + "\n\nUncoupled limit:\n\n| quantity | value |\n|---|---|\n"
             + "\n".join(f"| {k} | {v:.2e} |" for k, v in unc.items())
             + "\n\nEq. (53) velocity (relative to max |X|):\n\n| case | rel. diff | |normal| of "
             "eq. 53 X | ħ-correction / max|X| |\n|---|---|---|---|\n"
             + "\n".join(f"| {k} | {v['rel_diff']:.1e} | {v['normal_component_eq53']:.1e} | "
                         f"{v['hbar_correction_size']:.2e} |" for k, v in e53.items())
             + "\n\nPure dephasing (relative to max |∂t x + X·∇x|):\n\n| (ħ, S) | hybrid vs law | "
             "hybrid vs pure form | Ehrenfest vs precession only | hybrid vs precession only "
             "|\n|---|---|---|---|---|\n"
             + "\n".join(f"| {k} | {v['hybrid_vs_general_law']:.1e} | {v['hybrid_vs_pure_law']:.1e}"
                         f" | {v['ehrenfest_vs_precession_only']:.1e} | "
                         f"{v['hybrid_vs_precession_only']:.2e} |" for k, v in dep.items()))
    return {"title": "Structure of the hybrid model", "about": about, "rows": rows,
            "data": {"uncoupled": unc, "eq53": e53, "dephasing": dep}, "figures": figs}
