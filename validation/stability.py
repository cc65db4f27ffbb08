"""Short-wave stability of the hybrid model, measured on the solver's own tendency.

``python -m validation.stability [--fast]`` writes ``validation/results/stability.json``
and ``validation/figures/stability_*.png`` (docs/stability.md explains every number).

Method. The full tendency F(u) of the solver (transport ``model.transport`` parts plus the
local rotation −(i/ħ)[𝒦, P], all in spectral space) is linearized around a smooth base
state u0 by central differences, J v ≈ (F(u0 + εv) − F(u0 − εv)) / 2ε, and restricted to
perturbations of ϱ and of the traceless part of P whose degrees lie in a band
[l − w, l + w] (input and output projected on the band). The eigenvalue of largest real
part of that operator (ARPACK, ``scipy.sparse.linalg.eigs``) is the growth rate of band-l
perturbations. With the band = all degrees it is the fastest growth the discretized model
allows ("max growth rate", used for the stability maps). A direct check — the nonlinear
solver run from u0 plus a tiny band-limited perturbation — is in :func:`perturbation_run`.

The solver is imported; this module is validation of the solver against its own
linearization and against the frozen-coefficient analysis of docs/stability.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # shtns' OpenMP threads fight on small grids

import numpy as np  # noqa: E402
from scipy.sparse.linalg import LinearOperator, eigs  # noqa: E402

from spectral_qc import hermitian as hm  # noqa: E402
from spectral_qc.config import load_config  # noqa: E402
from spectral_qc.integrators import make_integrator  # noqa: E402
from spectral_qc.models import make_model  # noqa: E402
from spectral_qc.models.regularizations import Regularization  # noqa: E402
from spectral_qc.sphere import SphereGrid  # noqa: E402
from spectral_qc.states import (State, bloch_density, spin_coherent_field,  # noqa: E402
                                state_from_grid, uniform_density_matrix, von_mises_fisher)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "stability.json"
FIGURES = HERE / "figures"

#: The case of docs/stability.md: H = ½nz² + 0.3nx + ½ n·σ + 0.35σz, vMF κ = 2 at the pole.
NOTE_TERMS = [
    {"op": "I", "coef": "0.5*nz**2 + 0.3*nx"},
    {"op": "X", "coef": "0.5*nx"}, {"op": "Y", "coef": "0.5*ny"},
    {"op": "Z", "coef": "0.5*nz + 0.35"},
]
KAPPA = 2.0
CENTER = (0.0, 0.0, 1.0)
BASE_STATES = ("correlated", "product", "product_evolved")


def note_config(lmax=31, *, hbar=1.0, regularization="none", alpha=0.0, t_end=0.5, dt=0.01,
                bloch=(1.0, 0.0, 0.0), kind="hybrid"):
    """The note's case as a config dict (uniform product initial P from ``bloch``)."""
    model = {"kind": kind, "hbar": hbar}
    if kind == "hybrid":
        model.update(regularization=regularization, alpha=alpha)
    return {"grid": {"lmax": lmax}, "model": model,
            "hamiltonian": {"terms": NOTE_TERMS},
            "initial": {"classical": {"kind": "von_mises_fisher", "center": list(CENTER),
                                      "kappa": KAPPA},
                        "quantum": {"bloch": list(bloch)}},
            "time": {"t_end": t_end, "dt": dt, "output_every": t_end}}


_GRIDS: dict = {}


def grid(lmax):
    """A cached single-threaded SphereGrid."""
    if lmax not in _GRIDS:
        _GRIDS[lmax] = SphereGrid(lmax, nthreads=1)
    return _GRIDS[lmax]


def hamiltonian():
    return load_config({"hamiltonian": {"terms": NOTE_TERMS}}).hamiltonian_operator()


def model(lmax, *, hbar=1.0, regularization="none", alpha=0.0, kind="hybrid"):
    """A model of the note's case; ``regularization`` may also be a Regularization class
    (study-only variants are not registered)."""
    g = grid(lmax)
    if kind != "hybrid":
        return make_model(kind, g, hamiltonian(), hbar=hbar)
    if isinstance(regularization, str):
        return make_model("hybrid", g, hamiltonian(), hbar=hbar, regularization=regularization,
                          alpha=alpha)
    m = make_model("hybrid", g, hamiltonian(), hbar=hbar)
    m.regularizer = regularization(g, alpha)
    return m


def resample(state, lmax):
    """Zero-pad or truncate a State to ``lmax`` (matching (l, m) coefficients)."""
    src = grid(_lmax_of(state))
    dst = grid(lmax)
    index = {(int(l), int(m)): i for i, (l, m) in enumerate(zip(src.l, src.m))}
    take = np.array([index.get((int(l), int(m)), -1) for l, m in zip(dst.l, dst.m)])
    ok = take >= 0

    def f(a):
        out = np.zeros(a.shape[:-1] + (dst.nlm,), complex)
        out[..., ok] = a[..., take[ok]]
        return out

    return State(f(state.rho_lm), f(state.p_lm))


def _lmax_of(state):
    nlm = state.rho_lm.shape[-1]
    lmax = int(round((math.sqrt(8 * nlm + 1) - 3) / 2))  # nlm = (L+1)(L+2)/2
    assert (lmax + 1) * (lmax + 2) // 2 == nlm
    return lmax


_BASE_CACHE: dict = {}


def base_state(kind, lmax, *, t_evolve=0.3, evolve_lmax=31, dt=0.01):
    """Smooth base states of the note's case on the lmax grid.

    ``"correlated"``: vMF ϱ and P = spin_coherent_field (qubit Bloch vector = n).
    ``"product"``: vMF ϱ and P = (1 + σx)/2 everywhere (∇P = 0).
    ``"product_evolved"``: the product state after ``t_evolve`` of the Ehrenfest model
    (computed at ``evolve_lmax`` and truncated to l ≤ 2/3 evolve_lmax, so the same smooth
    state is used at every lmax).
    """
    g = grid(lmax)
    rho = von_mises_fisher(g, CENTER, KAPPA)
    if kind == "correlated":
        return state_from_grid(g, rho, spin_coherent_field(g))
    if kind == "product":
        return state_from_grid(g, rho, uniform_density_matrix(g, bloch_density([1, 0, 0])))
    if kind != "product_evolved":
        raise ValueError(kind)
    key = (t_evolve, evolve_lmax, dt)
    if key not in _BASE_CACHE:
        m = model(evolve_lmax, kind="ehrenfest")
        s = base_state("product", evolve_lmax)
        integ = make_integrator("strang", m)
        for _ in range(round(t_evolve / dt)):
            s = integ.step(s, dt)
        cut = grid(evolve_lmax).l <= (2 * evolve_lmax) // 3
        _BASE_CACHE[key] = State(s.rho_lm * cut, s.p_lm * cut)
    return resample(_BASE_CACHE[key], lmax)


# ----------------------------------------------------------------------- linearization
def spectral_tendency(m, state):
    """Full tendency (−div(ϱX), −X·∇P − (i/ħ)[𝒦, P]) in spectral space."""
    g = m.grid
    f = m.fields(state)
    K = m.generator_from_fields(f)
    x = m.velocity_from_fields(f, K)
    s_lm, _ = g.vector_analysis(f.rho * x[0], f.rho * x[1])
    drho = g.l * (g.l + 1) * s_lm
    adv = x[0] * f.grad_p[0] + x[1] * f.grad_p[1]
    rot = hm.to_components(-1j / m.hbar * hm.commutator(K, f.P))
    dp = np.zeros_like(state.p_lm)
    dp[1:] = g.analysis(rot[1:] - adv[1:])
    return drho, dp


class BandOperator:
    """The linearized tendency restricted to degrees ``lo ≤ l ≤ hi`` (a real operator).

    Unknowns: real and imaginary parts (imaginary only for m > 0) of the band
    coefficients of ϱ and of the N² − 1 traceless components of P.
    """

    def __init__(self, m, base, lo, hi, *, eps=1e-6):
        g = m.grid
        self.m, self.base = m, base
        band = np.nonzero((g.l >= lo) & (g.l <= hi))[0]
        self.re = band
        self.im = band[g.m[band] > 0]
        self.nf = m.N ** 2  # ϱ and N² − 1 traceless components
        self.nb = len(self.re) + len(self.im)
        self.n = self.nf * self.nb
        # ε relative to the size of the base state (finite differences of F)
        self.eps = eps * max(np.abs(base.rho_lm).max(), np.abs(base.p_lm[1:]).max())
        self.calls = 0

    def unpack(self, v):
        v = v.reshape(self.nf, self.nb)
        c = np.zeros((self.nf, self.m.grid.nlm), complex)
        c[:, self.re] = v[:, :len(self.re)]
        c[:, self.im] += 1j * v[:, len(self.re):]
        return c

    def pack(self, c):
        return np.concatenate([c[:, self.re].real, c[:, self.im].imag], axis=1).ravel()

    def _shift(self, c, s):
        p = self.base.p_lm.copy()
        p[1:] += s * c[1:]
        return State(self.base.rho_lm + s * c[0], p)

    def matvec(self, v):
        v = np.asarray(v, float).ravel()
        nv = np.linalg.norm(v)
        if nv == 0:
            return np.zeros_like(v)
        c = self.unpack(v / nv)
        e = self.eps
        a = spectral_tendency(self.m, self._shift(c, e))
        b = spectral_tendency(self.m, self._shift(c, -e))
        self.calls += 2
        d = np.concatenate([(a[0] - b[0])[None], (a[1] - b[1])[1:]]) / (2 * e)
        return nv * self.pack(d)

    def operator(self):
        return LinearOperator((self.n, self.n), matvec=self.matvec, dtype=float)

    def dense(self):
        """The full matrix (n tendency pairs: only for small bands)."""
        eye = np.eye(self.n)
        return np.stack([self.matvec(eye[i]) for i in range(self.n)], axis=1)


def growth_rate(m, base, lo=None, hi=None, *, k=6, tol=1e-5, seed=0, dense_below=400,
                maxiter=1000):
    """Largest real part of the band-restricted linearized tendency.

    Returns a dict: ``rate`` (max Re λ), ``omega`` (Im λ of that eigenvalue), ``n``
    (unknowns), ``calls`` (tendency evaluations), ``method``.
    """
    g = m.grid
    lo = 1 if lo is None else max(1, lo)
    hi = g.lmax if hi is None else min(g.lmax, hi)
    op = BandOperator(m, base, lo, hi)
    if op.n <= dense_below:
        lam = np.linalg.eigvals(op.dense())
        method = "dense"
    else:
        rng = np.random.default_rng(seed)
        ncv = min(op.n - 1, max(4 * k, 40))
        try:
            lam = eigs(op.operator(), k=k, which="LR", tol=tol, ncv=ncv, maxiter=maxiter,
                       v0=rng.standard_normal(op.n), return_eigenvectors=False)
            method = "arnoldi"
        except Exception as exc:  # ArpackNoConvergence: keep what converged
            lam = getattr(exc, "eigenvalues", np.array([]))
            method = "arnoldi (partial)"
            if len(lam) == 0:
                raise
    i = int(np.argmax(lam.real))
    return {"rate": float(lam[i].real), "omega": float(abs(lam[i].imag)), "n": op.n,
            "calls": op.calls, "method": method}


def band(l, lmax, width=None):
    """The degree band [l − w, l + w] ∩ [1, lmax], w = max(2, l // 8)."""
    w = max(2, l // 8) if width is None else width
    return max(1, l - w), min(lmax, l + w)


def fit_exponent(ls, rates):
    """Least-squares slope and prefactor of log rate against log l (positive rates)."""
    ls, rates = np.asarray(ls, float), np.asarray(rates, float)
    ok = rates > 0
    b, a = np.polyfit(np.log(ls[ok]), np.log(rates[ok]), 1)
    return float(b), float(math.exp(a))


# ----------------------------------------------------------------------------- runs
def perturbation_run(lmax, base_kind, lo, hi, *, t_end=0.05, dt=0.0025, amp=1e-8,
                     hbar=1.0, regularization="none", alpha=0.0, seed=1):
    """Growth rate of a tiny band-limited perturbation in the nonlinear solver.

    Runs u0 and u0 + δ with the Strang integrator and fits the log of the band norm of
    their difference over the second half of the run.
    """
    g = grid(lmax)
    m = model(lmax, hbar=hbar, regularization=regularization, alpha=alpha)
    integ = make_integrator("strang", m)
    u = base_state(base_kind, lmax)
    rng = np.random.default_rng(seed)
    sel = (g.l >= lo) & (g.l <= hi)
    c = (rng.standard_normal((m.N ** 2, g.nlm)) + 1j * rng.standard_normal((m.N ** 2, g.nlm)))
    c = np.where(g.m == 0, c.real, c) * sel
    c[1:] *= amp / np.abs(c[1:]).max()
    c[0] *= amp * np.abs(u.rho_lm).max() / np.abs(c[0]).max()
    v = State(u.rho_lm + c[0], np.concatenate([u.p_lm[:1], u.p_lm[1:] + c[1:]]))
    ts, norms = [], []
    n = round(t_end / dt)
    for i in range(n + 1):
        d = np.concatenate([(v.rho_lm - u.rho_lm)[None] / np.abs(u.rho_lm).max(),
                            v.p_lm[1:] - u.p_lm[1:]])
        ts.append(i * dt)
        norms.append(float(np.linalg.norm(d[:, sel])))
        if i < n:
            u, v = integ.step(u, dt), integ.step(v, dt)
    ts, norms = np.array(ts), np.array(norms)
    half = ts >= t_end / 2
    rate = float(np.polyfit(ts[half], np.log(norms[half]), 1)[0])
    return {"rate": rate, "t": ts.tolist(), "norm": norms.tolist()}


# ------------------------------------------------------------ frozen-coefficient theory
def wkb_coefficient(m, base):
    """Leading (ħk²) growth coefficient of the frozen-coefficient analysis (docs/stability.md).

    For a WKB perturbation with wave vector k the hybrid tendency has a part of order ħk²
    whose only non-zero eigenvalues are ±λ(x, k),

        λ(x, k) = (iħ / 2S²) Tr( D [P0, V] ),   D = k_θ H_φ − k_φ H_θ,
                                               V = k_φ P0_θ − k_θ P0_φ,

    (for a pure qubit λ = (ħ/2S²) h_⊥·(m × m_⊥) with h, m the Bloch vectors of H and P0
    and f_⊥ = k_φ f_θ − k_θ f_φ). λ is a real quadratic form in k; the predicted growth
    rate at degree l is c₂ · l(l+1) with c₂ = max over the sphere and over directions of
    |λ(x, k̂)|. Returns ``c2`` (including the factor ħ/S²) and the grid field of the
    pointwise maximum.
    """
    f = m.fields(base)
    P, gP = f.P, f.grad_P
    gH = np.stack([hm.from_components(m.grad_h[0]), hm.from_components(m.grad_h[1])])

    def T(A, B):  # Tr(A [P0, B])
        return hm.trace_product(A, hm.commutator(P, B))

    pref = 1j * m.hbar / (2 * m.spin_magnitude ** 2)
    q11 = np.real(pref * -T(gH[1], gP[1]))
    q22 = np.real(pref * -T(gH[0], gP[0]))
    q12 = np.real(pref * 0.5 * (T(gH[1], gP[0]) + T(gH[0], gP[1])))
    mean, dev = 0.5 * (q11 + q22), np.sqrt(0.25 * (q11 - q22) ** 2 + q12 ** 2)
    field = np.abs(mean) + dev  # spectral radius of the symmetric 2×2 form
    return float(field.max()), field


# --------------------------------------------------------------- solver runs (Simulation)
def _simulation(lmax, *, stop=None, **kw):  # noqa: D103
    from spectral_qc.simulation import Simulation

    return Simulation(note_config(lmax, **kw), stop=stop)


def rho_q_run(lmax, *, regularization="none", alpha=0.0, hbar=1.0, t_end=0.5, dt=0.01,
              bloch=(1.0, 0.0, 0.0)):
    """ρ̂q at ``t_end`` of the note's case, and the drifts of the invariants.

    Returns a dict with ``rho_q`` (2×2 complex as [[re, im], …] lists), ``energy_drift``,
    ``casimir_drift`` (∫ϱ Tr P², relative), ``mass_drift`` and ``wall`` seconds.
    """
    from spectral_qc.errors import NumericalFailure
    from spectral_qc.simulation import StopCriteria

    t0 = time.time()
    # the tail detector is off (this measures errors); the positivity checks stay on
    sim = _simulation(lmax, regularization=regularization, alpha=alpha, hbar=hbar,
                      t_end=t_end, dt=dt, bloch=bloch,
                      stop=StopCriteria(tail_max=math.inf, growth_max=math.inf))
    try:
        ds = sim.run()
    except (NumericalFailure, FloatingPointError) as exc:  # FPE: hyper kernel, ϱ̃ ≤ 0
        return {"lmax": lmax, "regularization": regularization, "alpha": alpha,
                "hbar": hbar, "t_end": t_end, "dt": dt, "rho_q": np.full((2, 2), np.nan),
                "failed": f"t = {sim.time:.3g}: {exc}"[:200], "energy_drift": math.nan,
                "casimir_drift": math.nan, "mass_drift": math.nan, "wall": time.time() - t0}
    rq = ds.rho_q_real.values[-1] + 1j * ds.rho_q_imag.values[-1]
    e = ds.energy.values
    return {"lmax": lmax, "regularization": regularization, "alpha": alpha, "hbar": hbar,
            "t_end": t_end, "dt": dt, "rho_q": rq, "energy_drift": float(abs(e[-1] - e[0])),
            "casimir_drift": float(abs(ds.casimir_trP2.values[-1] / ds.casimir_trP2.values[0]
                                       - 1)),
            "mass_drift": float(abs(ds.mass.values[-1] - ds.mass.values[0])),
            "wall": time.time() - t0}


def rho_q_error(a, b):
    """max |ρ̂q(a) − ρ̂q(b)| over the entries."""
    return float(np.abs(np.asarray(a["rho_q"]) - np.asarray(b["rho_q"])).max())


def tail_history(lmax, *, kind="hybrid", regularization="none", alpha=0.0, hbar=1.0,
                 t_max=1.0, dt=0.01, bloch=(1.0, 0.0, 0.0), correlated=False):
    """Spectral tail (diagnostics.tail_fraction, max over ϱ and P) after every step.

    Runs with the detector switched off until ``t_max`` or until the state is non-finite.
    Returns ``t``, ``tail`` lists and ``t_nonfinite`` (None if it stayed finite) and
    ``t_positivity`` (first step with min ϱ < −1e-3 max ϱ or min eig P < −1e-3).
    """
    from spectral_qc import diagnostics as dg
    from spectral_qc.simulation import StopCriteria

    off = StopCriteria(tail_max=math.inf, growth_max=math.inf)
    sim = _simulation(lmax, stop=off, kind=kind, regularization=regularization, alpha=alpha,
                      hbar=hbar, t_end=t_max, dt=dt, bloch=bloch)
    if correlated:
        g = sim.grid
        sim.state = state_from_grid(g, von_mises_fisher(g, CENTER, KAPPA),
                                    spin_coherent_field(g))
    ts, tails, t_nan, t_pos, error = [], [], None, None, None
    g = sim.grid

    def tail_of(s):
        return max(dg.tail_fraction(g, s.rho_lm), dg.tail_fraction(g, s.p_lm[1:]))

    ts.append(0.0)
    tails.append(tail_of(sim.state))
    while sim.time < t_max - 1e-12:
        try:
            sim.step()
        except Exception as exc:  # NonFiniteState; FloatingPointError (hyper kernel, ϱ̃ ≤ 0)
            t_nan, error = sim.time, f"{type(exc).__name__}: {exc}"[:160]
            break
        ts.append(sim.time)
        tails.append(tail_of(sim.state))
        if t_pos is None:
            d = dg.evaluate(sim.model, sim.state, ["min_rho", "min_eig_P"])
            rho_max = float(g.synthesis(sim.state.rho_lm).max())
            if d["min_rho"] < -1e-3 * rho_max or d["min_eig_P"] < -1e-3:
                t_pos = sim.time
        if not np.isfinite(tails[-1]) or tails[-1] > 0.5:
            t_nan = t_nan if np.isfinite(tails[-1]) else sim.time
            break
    return {"lmax": lmax, "kind": kind, "regularization": regularization, "alpha": alpha,
            "dt": dt, "correlated": correlated, "t": ts, "tail": tails,
            "t_nonfinite": t_nan, "t_positivity": t_pos, "error": error}


def detector(ts, tails, *, growth_max=40.0, growth_window=0.05, tail_floor=1e-12,
             tail_max=1e-2):
    """Replay of Simulation._check_tail on a recorded history: first trigger time and why.

    Returns ``(time, reason, max_rate)``; ``time`` is None when it never triggers.
    ``max_rate`` is the largest windowed growth rate seen above the floor.
    """
    hist, max_rate = [], -math.inf
    for t, tail in zip(ts, tails):
        hist.append((t, tail))
        while len(hist) > 2 and hist[-1][0] - hist[1][0] >= growth_window:
            hist.pop(0)
        if tail > tail_max:
            return t, "tail_max", max_rate
        (ta, a), (tb, b) = hist[0], hist[-1]
        if tb - ta >= growth_window and min(a, b) > tail_floor:
            rate = math.log(b / a) / (tb - ta)
            max_rate = max(max_rate, rate)
            if rate > growth_max:
                return t, "growth", max_rate
    return None, None, max_rate


# ------------------------------------------------------------------------- the study
#: Base states of the study: the three of :func:`base_state` plus a correlated state
#: whose qubit axis is tilted away from n (P = spin_coherent_field(axis_tilt=0.5)).
STUDY_BASES = ("correlated", "correlated_tilted", "product", "product_evolved")


def study_base(kind, lmax):
    if kind == "correlated_tilted":
        g = grid(lmax)
        return state_from_grid(g, von_mises_fisher(g, CENTER, KAPPA),
                               spin_coherent_field(g, axis_tilt=0.5))
    return base_state(kind, lmax)


def _rate_entry(lmax, kind, l, *, hbar=1.0, regularization="none", alpha=0.0, width=None):
    m = model(lmax, hbar=hbar, regularization=regularization, alpha=alpha)
    lo, hi = band(l, lmax, width)
    t0 = time.time()
    r = growth_rate(m, study_base(kind, lmax), lo, hi)
    r.update(lmax=lmax, base=kind, l=l, band=[lo, hi], hbar=hbar,
             regularization=regularization if isinstance(regularization, str)
             else regularization.name, alpha=alpha, wall=round(time.time() - t0, 2))
    return r


def section_exponent(fast=False):
    """Growth rate against l at α = 0, ħ = 1, fitted exponent per base state and lmax."""
    out = {"entries": [], "fits": {}, "wkb_c2": {}}
    cases = [(11, (4, 7, 10))] if fast else [(31, (4, 6, 8, 11, 16, 22, 28)),
                                              (63, (16, 32, 48, 60))]
    for lmax, ls in cases:
        bases = (("correlated_tilted",) if fast else STUDY_BASES) if lmax <= 31 else \
            ("product_evolved", "correlated_tilted")
        for kind in bases:
            rows = [_rate_entry(lmax, kind, l, width=1 if fast else None) for l in ls]
            out["entries"] += rows
            c2 = wkb_coefficient(model(lmax), study_base(kind, lmax))[0]
            out["wkb_c2"][f"{kind}"] = c2
            big = [r for r in rows if r["l"] >= (4 if fast else 8)]
            b, a = fit_exponent([r["l"] for r in big], [r["rate"] for r in big])
            bh, ah = fit_exponent([r["l"] for r in big if r["l"] >= 16],
                                  [r["rate"] for r in big if r["l"] >= 16]) \
                if sum(r["l"] >= 16 for r in big) >= 2 else (None, None)
            out["fits"][f"{kind}@{lmax}"] = {"exponent_l>=8": b, "prefactor": a,
                                            "exponent_l>=16": bh}
            _log(f"exponent {kind} lmax {lmax}: {b:.3f} (l≥16: {bh}) "
                 f"rates {[round(r['rate'], 2) for r in rows]} c2 {c2:.4g}")
    return out


def section_hbar(fast=False):
    """Growth rate at a fixed band against ħ: fitted ħ-exponent per base state."""
    lmax, l = (11, 8) if fast else (31, 24)
    hbars = (0.5, 1.0) if fast else (0.25, 0.5, 1.0, 2.0)
    out = {"entries": [], "fits": {}, "lmax": lmax, "l": l}
    for kind in (("correlated_tilted",) if fast else ("correlated", "product_evolved")):
        rows = [_rate_entry(lmax, kind, l, hbar=h, width=1 if fast else None) for h in hbars]
        out["entries"] += rows
        b, _ = fit_exponent(hbars, [r["rate"] for r in rows])
        out["fits"][kind] = b
        _log(f"hbar {kind}: exponent {b:.3f} rates {[round(r['rate'], 2) for r in rows]}")
    return out


MAP_ALPHAS = (0.003, 0.01, 0.03)
MAP_HBARS = (0.5, 1.0)
MAP_KERNELS = ("heat_kernel", "hyper_heat_kernel")


def section_map(fast=False, hbars=None):
    """Stability map: the fastest band growth rate against α and ħ for each kernel.

    The maximum over bands of width ±2 centred at ``ls`` (lmax 23, base state
    ``product_evolved``); α = 0 is included for reference. Arnoldi with tol 1e-3.
    """
    lmax = 15 if fast else 23  # fast: not 11, whose top band is an artefact (docs §4.1)
    ls = (7, 10) if fast else (4, 8, 12, 17, 21)
    w = 1 if fast else 2
    alphas = (0.01,) if fast else MAP_ALPHAS
    hbars = ((1.0,) if fast else MAP_HBARS) if hbars is None else hbars
    base = "correlated_tilted" if fast else "product_evolved"
    out = {"lmax": lmax, "bands": ls, "base": base, "entries": [],
           "wkb_c2": wkb_coefficient(model(lmax), study_base(base, lmax))[0]}
    for hbar in hbars:
        for reg, alpha in [("none", 0.0)] + [(k, a) for k in MAP_KERNELS for a in alphas]:
            m = model(lmax, hbar=hbar, regularization=reg, alpha=alpha)
            b = study_base("correlated_tilted" if fast else "product_evolved", lmax)
            rows = [growth_rate(m, b, l - w, l + w, k=4, tol=1e-3, maxiter=60, dense_below=1000)
                    for l in ls]
            i = int(np.argmax([r["rate"] for r in rows]))
            out["entries"].append({"regularization": reg, "alpha": alpha, "hbar": hbar,
                                   "max_rate": rows[i]["rate"], "l_max_rate": ls[i],
                                   "rates": [r["rate"] for r in rows]})
            _log(f"map {reg} α={alpha} ħ={hbar}: max {rows[i]['rate']:.3f} at l={ls[i]} "
                 f"{[round(r['rate'], 2) for r in rows]}")
    return out


def section_convergence(fast=False):
    """ρ̂q(t) of the note's case (uniform product P) against lmax at fixed α, per kernel."""
    t_end = 0.1 if fast else 0.5
    out = {"t_end": t_end, "runs": [], "errors": {}}
    for reg in MAP_KERNELS:
        lmaxes = (11, 15) if fast else (23, 31, 47, 95) if reg == "heat_kernel" else \
            (23, 31, 47, 63)
        runs = [rho_q_run(L, regularization=reg, alpha=0.01, t_end=t_end) for L in lmaxes]
        ref = runs[-1]
        out["errors"][reg] = {str(r["lmax"]): rho_q_error(r, ref) for r in runs[:-1]}
        out["runs"] += runs
        _log(f"convergence {reg} α=0.01 t={t_end}: {out['errors'][reg]} "
             f"energy drift {[r['energy_drift'] for r in runs]}")
    return out


def section_horizon(fast=False):
    """Geometric convergence at small lmax (t = 0.5) and at a longer horizon (t = 1)."""
    out = {"runs": [], "errors": {}}
    plan = ([(0.1, (7, 11, 15))] if fast else [(0.5, (7, 11, 15, 23)), (1.0, (15, 23, 31, 47))])
    for reg, alpha in [(k, a) for a in ((0.01,) if fast else (0.01, 0.003))
                       for k in MAP_KERNELS]:
        for t_end, lmaxes in plan:
            runs = [rho_q_run(L, regularization=reg, alpha=alpha, t_end=t_end)
                    for L in lmaxes]
            key = f"{reg}@t={t_end}" + ("" if alpha == 0.01 else f"@alpha={alpha}")
            out["errors"][key] = {str(r["lmax"]): rho_q_error(r, runs[-1]) for r in runs[:-1]}
            out["runs"] += runs
            _log(f"horizon {key}: {out['errors'][key]} energy drift "
                 f"{[r['energy_drift'] for r in runs]} casimir "
                 f"{[r['casimir_drift'] for r in runs]}")
    return out


def section_alpha_limit(fast=False):
    """α → 0 at a window where the unregularized model is resolved (product P, t = 0.3)."""
    t_end, lmax = (0.2, 15) if fast else (0.3, 31)
    alphas = (0.03, 0.01) if fast else (0.03, 0.01, 0.003, 0.001)
    ref = rho_q_run(lmax, t_end=t_end)
    fine = rho_q_run(lmax + 16, t_end=t_end)
    out = {"t_end": t_end, "lmax": lmax, "resolution_check": rho_q_error(ref, fine),
           "errors": {}}
    for reg in MAP_KERNELS:
        out["errors"][reg] = {str(a): rho_q_error(rho_q_run(lmax, regularization=reg,
                                                            alpha=a, t_end=t_end), ref)
                              for a in alphas}
        _log(f"alpha limit {reg}: {out['errors'][reg]} (α=0 lmax {lmax} vs {lmax + 16}: "
             f"{out['resolution_check']:.3g})")
    return out


#: Stop criteria proposed from the detector study (docs/stability.md, "Detection"); the
#: Simulation defaults are growth_max 40, growth_window 0.05, tail_floor 1e-12.
PROPOSED_STOP = {"growth_max": 150.0, "growth_window": 0.02, "tail_floor": 1e-20,
                 "tail_max": 1e-2}


def section_detector(fast=False):
    """Tail histories for calibrating StopCriteria (hybrid α = 0, Ehrenfest, regularized),
    replayed through the default and the proposed criteria."""
    runs = []
    if fast:
        cases = [dict(lmax=15, t_max=0.4, correlated=True)]
    else:
        cases = [dict(lmax=31, t_max=1.5), dict(lmax=31, t_max=1.5, correlated=True),
                 dict(lmax=63, t_max=0.8, dt=0.005),
                 dict(lmax=31, t_max=2.5, kind="ehrenfest"),
                 dict(lmax=31, t_max=1.5, regularization="heat_kernel", alpha=0.01),
                 dict(lmax=31, t_max=1.5, regularization="hyper_heat_kernel", alpha=0.01),
                 dict(lmax=63, t_max=1.6, kind="ehrenfest"),
                 dict(lmax=63, t_max=1.5, regularization="heat_kernel", alpha=0.01),
                 dict(lmax=47, t_max=1.5, regularization="heat_kernel", alpha=0.01),
                 dict(lmax=47, t_max=1.5, regularization="hyper_heat_kernel", alpha=0.01),
                 dict(lmax=63, t_max=1.5, regularization="hyper_heat_kernel", alpha=0.01),
                 dict(lmax=63, t_max=0.5, dt=0.01), dict(lmax=47, t_max=0.6, dt=0.01),
                 dict(lmax=127, t_max=1.6, kind="ehrenfest"),
                 dict(lmax=127, t_max=1.4, regularization="heat_kernel", alpha=0.01),
                 dict(lmax=31, t_max=2.5, regularization="heat_kernel", alpha=0.03),
                 dict(lmax=63, t_max=2.5, regularization="heat_kernel", alpha=0.03),
                 dict(lmax=31, t_max=2.5, regularization="hyper_heat_kernel", alpha=0.03),
                 dict(lmax=63, t_max=2.5, regularization="hyper_heat_kernel", alpha=0.03),
                 dict(lmax=127, t_max=0.3, dt=0.0025)]
    for c in cases:
        h = tail_history(**c)
        runs.append(h)
        _log(f"detector {c}: nonfinite {h['t_nonfinite']} positivity {h['t_positivity']}")
    return replay(runs)


def scaled_growth_max(lmax):
    """The lmax-aware alternative threshold 100 + 2·lmax (docs/stability.md §6)."""
    return 100.0 + 2.0 * lmax


def replay(runs):
    """Add the default, the proposed and the lmax-scaled detector's trigger to every
    tail history."""
    for h in runs:
        h["default_trigger"] = list(detector(h["t"], h["tail"]))
        h["proposed_trigger"] = list(detector(h["t"], h["tail"], **PROPOSED_STOP))
        scaled = dict(PROPOSED_STOP, growth_max=scaled_growth_max(h["lmax"]))
        h["scaled_trigger"] = list(detector(h["t"], h["tail"], **scaled))
    return {"runs": runs, "proposed": PROPOSED_STOP,
            "scaled": "growth_max = 100 + 2 lmax, other criteria as proposed"}


# ------------------------------------------------------------------------------ figures
def figures(data, outdir=FIGURES):
    """Write ``stability_*.png`` for the sections present in ``data``; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []

    def save(fig, name):
        fig.tight_layout()
        path = outdir / f"stability_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)

    if "exponent" in data:
        d = data["exponent"]
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        keys = sorted({(e["base"], e["lmax"]) for e in d["entries"]})
        for base, lmax in keys:
            rows = [e for e in d["entries"] if e["base"] == base and e["lmax"] == lmax]
            fit = d["fits"].get(f"{base}@{lmax}", {})
            ax.loglog([r["l"] for r in rows], [max(r["rate"], 1e-3) for r in rows], "o-",
                      label=f"{base}, lmax {lmax} (slope {fit.get('exponent_l>=8', 0):.2f})")
        ls = np.arange(4, 64)
        for base, c2 in d.get("wkb_c2", {}).items():
            if c2 > 1e-8:
                ax.loglog(ls, c2 * ls * (ls + 1), ":", color="gray")
        ax.set_xlabel("degree l (band centre)")
        ax.set_ylabel("growth rate (1/time)")
        ax.set_title("hybrid, α = 0, ħ = 1: linearized growth; dotted: ħ c₂ l(l+1)")
        ax.legend(fontsize=7)
        save(fig, "growth_vs_l")
    if "hbar" in data:
        d = data["hbar"]
        fig, ax = plt.subplots(figsize=(5, 4))
        for base, b in d["fits"].items():
            rows = [e for e in d["entries"] if e["base"] == base]
            ax.loglog([r["hbar"] for r in rows], [r["rate"] for r in rows], "o-",
                      label=f"{base} (slope {b:.2f})")
        ax.set_xlabel("ħ")
        ax.set_ylabel("growth rate")
        ax.set_title(f"band l ≈ {d['l']}, lmax {d['lmax']}")
        ax.legend(fontsize=8)
        save(fig, "hbar")
    if "map" in data:
        d = data["map"]
        fig, ax = plt.subplots(figsize=(6, 4.4))
        for reg in MAP_KERNELS:
            for hbar in sorted({e["hbar"] for e in d["entries"]}):
                rows = sorted([e for e in d["entries"] if e["regularization"] == reg
                               and e["hbar"] == hbar], key=lambda e: e["alpha"])
                if rows:
                    ax.loglog([r["alpha"] for r in rows],
                              [max(r["max_rate"], 1e-3) for r in rows], "o-",
                              label=f"{reg}, ħ = {hbar}")
        for e in d["entries"]:
            if e["regularization"] == "none":
                ax.axhline(e["max_rate"], ls="--", lw=0.8, color="k")
        ax.set_xlabel("α")
        ax.set_ylabel("fastest growth rate (1/time)")
        c2 = d.get("wkb_c2")
        if c2:
            al = np.array([0.002, 0.04])
            for cap, ls_ in ((0.18, ":"), (0.30, "-.")):
                ax.loglog(al, cap * c2 / al, ls_, color="gray", lw=0.8)
        ax.set_title(f"stability map, lmax {d['lmax']}; dashed: α = 0; gray: 0.18, 0.30 c₂/α",
                     fontsize=9)
        ax.legend(fontsize=7)
        save(fig, "map")
    if "convergence" in data:
        d = data["convergence"]
        fig, ax = plt.subplots(figsize=(5, 4))
        for reg, errs in d["errors"].items():
            ax.semilogy([int(k) for k in errs], [max(v, 1e-17) for v in errs.values()], "o-",
                        label=f"{reg} α=0.01 t={d['t_end']}")
        for key, errs in data.get("horizon", {}).get("errors", {}).items():
            ok = {k: v for k, v in errs.items() if v == v}  # drop failed (NaN) runs
            ax.semilogy([int(k) for k in ok], [max(v, 1e-17) for v in ok.values()], "s--",
                        ms=4, label=key.replace("@", " ").replace("alpha=", "α="))
        ax.set_xlabel("lmax")
        ax.set_ylabel("max |Δρ̂q| vs the finest run of each line")
        ax.set_title("convergence in lmax, ħ = 1 (α = 0.01 unless stated)", fontsize=9)
        ax.legend(fontsize=6)
        save(fig, "convergence")
    if "alpha_limit" in data:
        d = data["alpha_limit"]
        fig, ax = plt.subplots(figsize=(5, 4))
        for reg, errs in d["errors"].items():
            ax.loglog([float(k) for k in errs], list(errs.values()), "o-", label=reg)
        ax.axhline(d["resolution_check"], ls="--", color="k", lw=0.8)
        ax.set_xlabel("α")
        ax.set_ylabel(f"max |ρ̂q(α) − ρ̂q(0)| at t = {d['t_end']}")
        ax.set_title(f"α → 0, lmax {d['lmax']} (dashed: α = 0 resolution error)")
        ax.legend(fontsize=8)
        save(fig, "alpha_limit")
    if "detector" in data:
        d = data["detector"]
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        for h in d["runs"]:
            lab = (f"{h['kind']} {h['regularization']} α={h['alpha']} L={h['lmax']} dt={h['dt']}"
                   + (" corr." if h.get("correlated") else ""))
            line, = ax.semilogy(h["t"], np.maximum(h["tail"], 1e-30), label=lab)
            trig = h.get("default_trigger", [None])[0]
            if trig is not None:
                ax.axvline(trig, color=line.get_color(), ls=":", lw=0.8)
            prop = h.get("proposed_trigger", [None])[0]
            if prop is not None:
                i = int(np.argmin(np.abs(np.asarray(h["t"]) - prop)))
                ax.plot(prop, h["tail"][i], "x", color=line.get_color(), ms=8)
        ax.axhline(1e-2, color="k", lw=0.6)
        ax.axhline(1e-12, color="k", lw=0.6, ls="--")
        ax.axhline(PROPOSED_STOP["tail_floor"], color="k", lw=0.6, ls=":")
        ax.set_xlabel("t")
        ax.set_ylabel("spectral tail fraction")
        ax.set_title("tail histories; dotted: default stop; ×: proposed stop", fontsize=9)
        ax.legend(fontsize=6)
        save(fig, "detector")
    return paths


SECTIONS = {"exponent": section_exponent, "hbar": section_hbar, "map": section_map,
            "convergence": section_convergence, "horizon": section_horizon,
            "alpha_limit": section_alpha_limit,
            "detector": section_detector}


def _log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (complex, np.complexfloating)):
        return [float(x.real), float(x.imag)]
    if isinstance(x, np.generic):
        return x.item()
    return x


def rows(data):
    """Report rows (claim | measured | tolerance | pass) for validation.runner."""
    out = []

    def row(claim, measured, tolerance, passed):
        out.append({"claim": claim, "measured": measured, "tolerance": tolerance,
                    "passed": None if passed is None else bool(passed)})

    if "exponent" in data:
        d = data["exponent"]
        for key, fit in d["fits"].items():
            b = fit["exponent_l>=8"]
            if key.startswith("product_evolved") or key.startswith("correlated_tilted"):
                row(f"growth rate ∝ l^p at α = 0 ({key}, bands l ≥ 8)", f"p = {b:.2f}",
                    "0.9 ≤ p ≤ 2.2 (→ 2 as l → ∞ where c₂ > 0)", 0.9 <= b <= 2.2)
            else:
                row(f"growth rate ∝ l^p at α = 0 ({key}; c₂ = 0: no ħl² term)",
                    f"p = {b:.2f}", "informative", None)
    if "map" in data:
        d = data["map"]
        for hbar in sorted({e["hbar"] for e in d["entries"]}):
            e0 = [e for e in d["entries"] if e["hbar"] == hbar and e["regularization"] == "none"]
            for e in d["entries"]:
                if e["hbar"] == hbar and e["regularization"] != "none" and e["alpha"] == 0.01:
                    row(f"{e['regularization']} α = 0.01 lowers the fastest growth (ħ = {hbar},"
                        f" lmax {d['lmax']})", f"{e['max_rate']:.3g} vs {e0[0]['max_rate']:.3g}",
                        "< 0.6 × α = 0", e["max_rate"] < 0.6 * e0[0]["max_rate"])
    if "convergence" in data:
        d = data["convergence"]
        for reg, errs in d["errors"].items():
            worst = max(errs.values())
            row(f"{reg} α = 0.01: ρ̂q(t = {d['t_end']}) converged in lmax "
                f"({', '.join(errs)} vs finest)", f"max error {worst:.2g}", "≤ 1e-10",
                worst <= 1e-10)
    if "detector" in data:
        for h in data["detector"]["runs"]:
            trig = h.get("proposed_trigger", h.get("default_trigger"))[0]
            name = (f"{h['kind']} {h['regularization']} α = {h['alpha']} lmax {h['lmax']} "
                    f"dt {h['dt']}"
                    + (" (correlated P)" if h.get("correlated") else ""))
            if h["kind"] == "hybrid" and h["regularization"] == "none":
                ok = trig is not None and (h["t_nonfinite"] is None or trig < h["t_nonfinite"])
                row(f"detector stops {name} before NaN", f"stop {trig}, NaN {h['t_nonfinite']}",
                    "stop < NaN", ok)
            else:
                ok = trig is None or (h["t_positivity"] is not None and trig >= h["t_positivity"])
                row(f"detector leaves {name} alone while positive",
                    f"stop {trig}, positivity lost {h['t_positivity']}", "no earlier stop", ok)
    return out


def markdown(res):
    """A short report fragment for validation.runner."""
    lines = ["Short-wave stability of the hybrid model (docs/stability.md)."]
    d = res.get("exponent")
    if d:
        lines.append("Fitted exponents of growth rate against l (α = 0, ħ = 1): " + ", ".join(
            f"{k}: {v['exponent_l>=8']:.2f}" for k, v in d["fits"].items()) + ".")
    return "\n\n".join(lines)


def compute(fast=False, sections=None):
    """Run the sections without writing anything; the result has report ``rows``."""
    data = {}
    for name in sections or SECTIONS:
        t0 = time.time()
        data[name] = _jsonable(SECTIONS[name](fast))
        data[name]["wall_s"] = round(time.time() - t0, 1)
        data[name]["fast"] = fast
    data["rows"] = rows(data)
    return data


def run(sections=None, *, fast=False, path=RESULTS):
    """Run the named sections (all by default), merge them into ``path`` (JSON) and write
    the figures; returns the merged results with report ``rows``."""
    path = Path(path)
    data = json.loads(path.read_text()) if path.exists() else {}
    for name in sections or SECTIONS:
        data.update({k: v for k, v in compute(fast, [name]).items() if k != "rows"})
        data["rows"] = rows(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1))
    if path.resolve() == RESULTS.resolve():  # the runner writes figures itself
        figures(data)
    return data


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sections", nargs="*", help=f"sections to (re)compute: {', '.join(SECTIONS)} "
                   "(default: all)")
    p.add_argument("--fast", action="store_true", help="small sizes (lmax 15)")
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--figures-only", action="store_true")
    a = p.parse_args(argv)
    bad = [x for x in a.sections if x not in SECTIONS]
    if bad:
        p.error(f"unknown section(s) {bad}; valid: {list(SECTIONS)}")
    if a.figures_only:
        figures(json.loads(Path(a.out).read_text()))
    else:
        run(a.sections or None, fast=a.fast, path=a.out)



# ------------------------------------------------------ study-only regularization variants
class DensityOnlySmoothing(Regularization):
    """Study-only (not registered): smooth ϱ inside ln ϱ only, as particle methods do.

    G is evaluated at (S_αϱ, ∇S_αϱ, P, ∇P) and used unsmoothed. Not Hamiltonian (𝒦 is no
    longer δh/δ𝒫 of an energy), keeps the Casimirs (any 𝒦 does). The analysis predicts it
    leaves the ħk² growth, which comes from ∇P, untouched.
    """

    name = "density_only"
    needs_alpha = True

    def quantum_fields_components(self, f, N):
        from spectral_qc.sphere import heat_kernel

        g = self.grid
        r_lm = heat_kernel(g, g.analysis(f.rho), self.alpha)
        return g.synthesis(r_lm), g.gradient(r_lm), f.p, f.grad_p




def section_variants(fast=False):
    """Growth rates with smoothing of ϱ only (study-only variant) against α = 0."""
    lmax, ls = (15, (8, 14)) if fast else (31, (16, 28))
    out = {"lmax": lmax, "entries": []}
    for reg, alpha in (("none", 0.0), (DensityOnlySmoothing, 0.01), (DensityOnlySmoothing, 0.03)):
        for l in ls:
            out["entries"].append(_rate_entry(lmax, "product_evolved", l, regularization=reg,
                                              alpha=alpha))
            e = out["entries"][-1]
            _log(f"variant {e['regularization']} α={alpha} l={l}: {e['rate']:.3f}")
    return out


SECTIONS["variants"] = section_variants


if __name__ == "__main__":
    main()
