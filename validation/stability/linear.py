"""The linearized tendency of the hybrid model, its growth rates, and the WKB prediction.

The full tendency F(u) of the solver (:meth:`spectral_qc.models.base.Model.spectral_tendency`)
is linearized around a smooth base state u0 by central differences,
J v ≈ (F(u0 + εv) − F(u0 − εv)) / 2ε, and restricted to perturbations of ϱ and of the
traceless part of P whose degrees lie in a band [l − w, l + w] (input and output projected
on the band). The eigenvalue of largest real part of that operator (ARPACK,
``scipy.sparse.linalg.eigs``) is the growth rate of band-l perturbations. A direct check —
the nonlinear solver run from u0 plus a tiny band-limited perturbation — is
:func:`perturbation_run`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigs

from spectral_qc import StopCriteria
from spectral_qc import hermitian as hm
from spectral_qc.states import State

from .problem import base_state, grid, simulation


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
        a = self.m.spectral_tendency(self._shift(c, e))
        b = self.m.spectral_tendency(self._shift(c, -e))
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



def perturbation_run(lmax, base_kind, lo, hi, *, t_end=0.05, dt=0.0025, amp=1e-8,
                     hbar=1.0, regularization="none", alpha=0.0, seed=1):
    """Growth rate of a tiny band-limited perturbation in the nonlinear solver.

    Runs u0 and u0 + δ with the Strang integrator (two Simulation runs, a step handler
    keeping the states) and fits the log of the band norm of their difference over the
    second half of the run.
    """
    g = grid(lmax)
    u = base_state(base_kind, lmax)
    rng = np.random.default_rng(seed)
    sel = (g.l >= lo) & (g.l <= hi)
    c = (rng.standard_normal((u.p_lm.shape[0], g.nlm))
         + 1j * rng.standard_normal((u.p_lm.shape[0], g.nlm)))
    c = np.where(g.m == 0, c.real, c) * sel
    c[1:] *= amp / np.abs(c[1:]).max()
    c[0] *= amp * np.abs(u.rho_lm).max() / np.abs(c[0]).max()
    v = State(u.rho_lm + c[0], np.concatenate([u.p_lm[:1], u.p_lm[1:] + c[1:]]))

    def states_along(start):
        sim = simulation(lmax, hbar=hbar, regularization=regularization, alpha=alpha,
                         t_end=t_end, dt=dt, stop=StopCriteria.off(), state=start)
        out = [start]
        sim.add_handler(lambda s: out.append(s.state), every=1)
        sim.run()
        return out

    ts, norms = [], []
    for i, (a, b) in enumerate(zip(states_along(u), states_along(v))):
        d = np.concatenate([(b.rho_lm - a.rho_lm)[None] / np.abs(a.rho_lm).max(),
                            b.p_lm[1:] - a.p_lm[1:]])
        ts.append(i * dt)
        norms.append(float(np.linalg.norm(d[:, sel])))
    ts, norms = np.array(ts), np.array(norms)
    half = ts >= t_end / 2
    rate = float(np.polyfit(ts[half], np.log(norms[half]), 1)[0])
    return {"rate": rate, "t": ts.tolist(), "norm": norms.tolist()}


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
