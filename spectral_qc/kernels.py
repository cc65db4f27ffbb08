"""Compiled per-grid-point kernels of the Hermitian-component algebra (numba, issue 16).

The pointwise algebra of a step (the hybrid generator, the rotation U P U†; the products
of the velocity are in :mod:`spectral_qc.transport_kernels`) touches every grid point a
few hundred times. Written as whole-grid
numpy operations each of those is a pass over memory; here each is one loop over the
points, in blocks of :data:`BLOCK` points whose components stay in the L1 cache, the
inner loop running over the points (vectorized by the compiler).

Fields are passed flat: components ``(n, npts)`` (C-contiguous float64), scalars
``(npts,)``. Structure constants come as the arrays of
:func:`~spectral_qc.hermitian.structure_arrays`: ``(I, J, C, F)`` with
``[A, B] = i Σ F_e (a_I b_J − a_J b_I) E_C`` summed over the entries e.

Compiled with ``cache=True`` (on first use, then loaded from ``__pycache__``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Points per block of the blocked kernels (a few components × 256 points stay in L1/L2).
BLOCK = 256
#: Independent partial maxima of the max reductions (breaks the chain of dependent max).
LANES = 8

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


# ----------------------------------------------------------------- qubit (N = 2)
@_jit
def qubit_generator(rho, gr_t, gr_p, p, gp_t, gp_p, hs_t, hs_p, hbar, out):
    """Hybrid ħ-part for a qubit (:func:`spectral_qc.models.hybrid.qubit_quantum_generator`).

    rho, gr_t, gr_p : (npts,) — ϱ, ∂θϱ, ∂φϱ/sinθ
    p, gp_t, gp_p : (4, npts) — components of P and their gradients
    hs_t, hs_p : (3, npts) — (√2/S) ∇h⃗
    out : (4, npts) — g, written
    """
    for t in range(rho.shape[0]):
        out[0, t], out[1, t], out[2, t], out[3, t] = _qubit_generator_point(
            rho, gr_t, gr_p, p, gp_t, gp_p, hs_t, hs_p, hbar, t)


@_jit
def qubit_generator_plus(rho, gr_t, gr_p, p, gp_t, gp_p, hs_t, hs_p, hbar, h, out):
    """𝒦 = H + G for a qubit in one pass: :func:`qubit_generator` with h ``(4, npts)``
    added (the same sums); out ``(4, npts)`` — h + g, written."""
    for t in range(rho.shape[0]):
        g0, g1, g2, g3 = _qubit_generator_point(rho, gr_t, gr_p, p, gp_t, gp_p, hs_t, hs_p,
                                                hbar, t)
        out[0, t] = h[0, t] + g0
        out[1, t] = h[1, t] + g1
        out[2, t] = h[2, t] + g2
        out[3, t] = h[3, t] + g3


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _qubit_generator_point(rho, gr_t, gr_p, p, gp_t, gp_p, hs_t, hs_p, hbar, t):
    """The four components of g at point t (:func:`qubit_generator`)."""
    c0 = hbar / math.sqrt(2.0)
    inv = 0.5 / rho[t]
    at, ap = gr_t[t] * inv, gr_p[t] * inv
    p1, p2, p3 = p[1, t], p[2, t], p[3, t]
    qt1, qt2, qt3 = gp_t[1, t] + at * p1, gp_t[2, t] + at * p2, gp_t[3, t] + at * p3
    qp1, qp2, qp3 = gp_p[1, t] + ap * p1, gp_p[2, t] + ap * p2, gp_p[3, t] + ap * p3
    ht1, ht2, ht3 = hs_t[0, t], hs_t[1, t], hs_t[2, t]
    hp1, hp2, hp3 = hs_p[0, t], hs_p[1, t], hs_p[2, t]
    c1 = (qt2 * hp3 - qt3 * hp2) - (qp2 * ht3 - qp3 * ht2)
    c2 = (qt3 * hp1 - qt1 * hp3) - (qp3 * ht1 - qp1 * ht3)
    c3 = (qt1 * hp2 - qt2 * hp1) - (qp1 * ht2 - qp2 * ht1)
    return c0 * (p1 * c1 + p2 * c2 + p3 * c3), -hbar * c1, -hbar * c2, -hbar * c3


#: Largest half angle for which :func:`qubit_rotate` uses its polynomials for sin and cos
#: (Taylor to x¹³ and x¹²: truncation below 1e-19 relative there); above: ``math.sin``.
SMALL_HALF_ANGLE = 0.25


@_jit
def _sin_cos_small(x):
    """sin x and cos x for |x| ≤ :data:`SMALL_HALF_ANGLE` (Horner; first omitted terms
    x¹⁵/15! and x¹⁴/14!, below 1e-19 relative). Vectorizes, unlike ``math.sin``."""
    x2 = x * x
    s = x * (1.0 - x2 / 6.0 * (1.0 - x2 / 20.0 * (1.0 - x2 / 42.0 * (1.0 - x2 / 72.0 * (
        1.0 - x2 / 110.0 * (1.0 - x2 / 156.0))))))
    c = 1.0 - x2 / 2.0 * (1.0 - x2 / 12.0 * (1.0 - x2 / 30.0 * (1.0 - x2 / 56.0 * (
        1.0 - x2 / 90.0 * (1.0 - x2 / 132.0)))))
    return s, c


@_jit
def qubit_rotate(p, k, tau, out):
    """Rodrigues rotation of the Bloch vector (:func:`spectral_qc.hermitian._qubit_rotate`).

    p, k : (4, npts); tau : float; out : (4, npts), written (p_0 copied). When every half
    angle |k⃗|τ/√2 is ≤ :data:`SMALL_HALF_ANGLE` (a first pass), sin and cos come from
    :func:`_sin_cos_small` (a loop the compiler vectorizes), else from ``math``.
    """
    r = tau / math.sqrt(2.0)
    lanes = np.zeros(LANES)  # independent running maxima: no chain of dependent max
    npts = p.shape[1]
    for t0 in range(0, npts - npts % LANES, LANES):
        for i in range(LANES):
            t = t0 + i
            lanes[i] = max(lanes[i], k[1, t] * k[1, t] + k[2, t] * k[2, t] + k[3, t] * k[3, t])
    kk = lanes.max()
    for t in range(npts - npts % LANES, npts):
        kk = max(kk, k[1, t] * k[1, t] + k[2, t] * k[2, t] + k[3, t] * k[3, t])
    if math.sqrt(kk) * abs(r) <= SMALL_HALF_ANGLE:
        for t in range(p.shape[1]):
            half = math.sqrt(k[1, t] * k[1, t] + k[2, t] * k[2, t] + k[3, t] * k[3, t]) * r
            s, c = _sin_cos_small(half)
            _rotate_point(p, k, s, c, out, t)
    else:
        for t in range(p.shape[1]):
            half = math.sqrt(k[1, t] * k[1, t] + k[2, t] * k[2, t] + k[3, t] * k[3, t]) * r
            _rotate_point(p, k, math.sin(half), math.cos(half), out, t)


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _rotate_point(p, k, s, c, out, t):
    """One point of :func:`qubit_rotate`: s, c = sin, cos of the half angle."""
    k1, k2, k3 = k[1, t], k[2, t], k[3, t]
    p1, p2, p3 = p[1, t], p[2, t], p[3, t]
    kn = math.sqrt(k1 * k1 + k2 * k2 + k3 * k3)
    inv = 1.0 / kn if kn > 0 else 0.0
    s_k = 2.0 * s * c * inv
    s2 = s * s
    cos_phi = 1.0 - 2.0 * s2
    c_k = 2.0 * s2 * inv * inv * (k1 * p1 + k2 * p2 + k3 * p3)
    out[0, t] = p[0, t]
    out[1, t] = (k2 * p3 - k3 * p2) * s_k + cos_phi * p1 + c_k * k1
    out[2, t] = (k3 * p1 - k1 * p3) * s_k + cos_phi * p2 + c_k * k2
    out[3, t] = (k1 * p2 - k2 * p1) * s_k + cos_phi * p3 + c_k * k3


# ------------------------------------------------------------- general N (su(N))
@_jit
def _add_commutator(a, a0, b, b0, nb, I, J, C, F, acc):
    """acc[:, :nb] += F(a, b) over the points a0 … a0+nb of a and b0 … b0+nb of b
    (C-contiguous ``(n, ·)`` arrays: every row slice is contiguous)."""
    for e in range(I.shape[0]):
        f = F[e]
        i, j = I[e], J[e]
        ai, aj = a[i, a0:a0 + nb], a[j, a0:a0 + nb]
        bi, bj = b[i, b0:b0 + nb], b[j, b0:b0 + nb]
        ac = acc[C[e], :nb]
        for t in range(nb):
            ac[t] += f * (ai[t] * bj[t] - aj[t] * bi[t])


@_jit
def commutator(a, b, I, J, C, F, out):
    """out = F(a, b): the components of [A, B] = i F(a, b)·E; a, b, out ``(n, npts)``."""
    n, npts = a.shape
    acc = np.empty((n, BLOCK))
    for s0 in range(0, npts, BLOCK):
        s1 = min(s0 + BLOCK, npts)
        nb = s1 - s0
        acc[:, :nb] = 0.0
        _add_commutator(a, s0, b, s0, nb, I, J, C, F, acc)
        out[:, s0:s1] = acc[:, :nb]


@_jit
def quantum_generator(rho, gr_t, gr_p, p, gp_t, gp_p, h_t, h_p, A, B, C, F, hbar, inv_s,
                      sqrt_n, out):
    """Hybrid ħ-part for general N (:func:`~spectral_qc.models.hybrid.quantum_generator_components`).

    With q_k = ∇_k p + (ϱ_k/2ϱ) p and c = F(q_θ, h_φ) − F(q_φ, h_θ):
    g = −(ħ/S) c, g_0 = (ħ√N/2S) p·c (``sqrt_n`` = √N). The bilinear form comes as single
    products c_C += F q_A h_B (:func:`spectral_qc.hermitian.structure_products`, only
    those with a non-zero h_B). Shapes: rho, gr_* (npts,); p, gp_*, h_*, out (N², npts).
    """
    n, npts = p.shape
    q_t = np.empty((n, BLOCK))
    q_p = np.empty((n, BLOCK))
    acc = np.empty((n, BLOCK))
    w = np.empty(BLOCK)
    c0 = 0.5 * hbar * inv_s * sqrt_n
    for s0 in range(0, npts, BLOCK):
        s1 = min(s0 + BLOCK, npts)
        nb = s1 - s0
        for t in range(nb):
            w[t] = 0.5 / rho[s0 + t]
        wt, wp = gr_t[s0:s1], gr_p[s0:s1]
        for a in range(n):
            pa, ga, gb, qa, qb = p[a, s0:s1], gp_t[a, s0:s1], gp_p[a, s0:s1], q_t[a], q_p[a]
            for t in range(nb):
                qa[t] = ga[t] + wt[t] * w[t] * pa[t]
                qb[t] = gb[t] + wp[t] * w[t] * pa[t]
        acc[:, :nb] = 0.0
        for e in range(A.shape[0]):
            f = F[e]
            qa, qb = q_t[A[e]], q_p[A[e]]
            hp, ht = h_p[B[e], s0:s1], h_t[B[e], s0:s1]
            ac = acc[C[e]]
            for t in range(nb):
                ac[t] += f * (qa[t] * hp[t] - qb[t] * ht[t])
        o0 = out[0, s0:s1]
        o0[:] = 0.0
        for a in range(1, n):
            pa, ca, oa = p[a, s0:s1], acc[a], out[a, s0:s1]
            for t in range(nb):
                o0[t] += pa[t] * ca[t]
                oa[t] = (-hbar * inv_s) * ca[t]
        for t in range(nb):
            o0[t] *= c0


@_jit
def conjugate_series(p, k, I, J, C, F, h, m, n_sub, out):
    """Components of U P U†, U = exp(−iKτ), τ = n_sub·h, by ``n_sub`` sub-steps of the
    m-term series of exp(h ad_K) (Horner: s ← q + (h/j) F(k, s), j = m … 1), per block;
    :func:`spectral_qc.exponential.conjugate_series`. p_0 is carried over."""
    n, npts = p.shape
    s = np.empty((n, BLOCK))
    q = np.empty((n, BLOCK))
    acc = np.empty((n, BLOCK))
    for s0 in range(0, npts, BLOCK):
        s1 = min(s0 + BLOCK, npts)
        nb = s1 - s0
        s[:, :nb] = p[:, s0:s1]
        for _ in range(n_sub):
            q[:, :nb] = s[:, :nb]
            for j in range(m, 0, -1):
                acc[:, :nb] = 0.0
                _add_commutator(k, s0, s, 0, nb, I, J, C, F, acc)
                wj = h / j
                for a in range(1, n):
                    sa, qa, ca = s[a], q[a], acc[a]
                    for t in range(nb):
                        sa[t] = qa[t] + wj * ca[t]
        out[0, s0:s1] = p[0, s0:s1]
        out[1:, s0:s1] = s[1:, :nb]


@_jit
def conjugate_with(u_re, u_im, p, sym, diag_rows, diag, out):
    """Components of U P U† for unitaries U ``(N, N, npts)`` (real and imaginary parts)
    and components p ``(N², npts)``, per block of points.

    ``sym`` ``(npairs, 4)``: (a_sym, a_anti, j, k) of the basis layout
    (:func:`spectral_qc.hermitian._layout`); ``diag_rows`` the component indices of the
    diagonal basis matrices, ``diag`` ``(len(diag_rows), N)`` their diagonals. W = U P is
    formed in full, then only the entries j ≤ k of W U† (Hermitian).
    """
    n = u_re.shape[0]
    npts = p.shape[1]
    r2 = 1.0 / math.sqrt(2.0)
    pr = np.zeros((n, n, BLOCK))
    pi = np.zeros((n, n, BLOCK))
    wr = np.empty((n, n, BLOCK))
    wi = np.empty((n, n, BLOCK))
    for s0 in range(0, npts, BLOCK):
        s1 = min(s0 + BLOCK, npts)
        nb = s1 - s0
        for x in range(sym.shape[0]):  # P from its components
            a_s, a_a, j, k = sym[x, 0], sym[x, 1], sym[x, 2], sym[x, 3]
            ps, pa = p[a_s, s0:s1], p[a_a, s0:s1]
            rjk, rkj, ijk, ikj = pr[j, k], pr[k, j], pi[j, k], pi[k, j]
            for t in range(nb):
                rjk[t] = r2 * ps[t]
                rkj[t] = r2 * ps[t]
                ijk[t] = -r2 * pa[t]
                ikj[t] = r2 * pa[t]
        for j in range(n):
            rjj = pr[j, j]
            rjj[:nb] = 0.0
            for d in range(diag_rows.shape[0]):
                dj = diag[d, j]
                if dj != 0.0:
                    pd = p[diag_rows[d], s0:s1]
                    for t in range(nb):
                        rjj[t] += dj * pd[t]
        for i in range(n):  # W = U P
            for j in range(n):
                sr, si = wr[i, j], wi[i, j]
                sr[:nb] = 0.0
                si[:nb] = 0.0
                for k in range(n):
                    ar, ai = u_re[i, k, s0:s1], u_im[i, k, s0:s1]
                    br, bi = pr[k, j], pi[k, j]
                    for t in range(nb):
                        sr[t] += ar[t] * br[t] - ai[t] * bi[t]
                        si[t] += ar[t] * bi[t] + ai[t] * br[t]
        for x in range(sym.shape[0]):  # (W U†)_jk = Σ_l W_jl conj(U_kl), j < k
            a_s, a_a, j, k = sym[x, 0], sym[x, 1], sym[x, 2], sym[x, 3]
            os_, oa = out[a_s, s0:s1], out[a_a, s0:s1]
            os_[:] = 0.0
            oa[:] = 0.0
            for l in range(n):
                xr, xi = wr[j, l], wi[j, l]
                ur, ui = u_re[k, l, s0:s1], u_im[k, l, s0:s1]
                for t in range(nb):
                    os_[t] += xr[t] * ur[t] + xi[t] * ui[t]
                    oa[t] += xi[t] * ur[t] - xr[t] * ui[t]
            for t in range(nb):  # Tr(E A) = √2 Re A_jk and −√2 Im A_jk (A Hermitian)
                os_[t] *= 2.0 * r2
                oa[t] *= -2.0 * r2
        for d in range(diag_rows.shape[0]):
            od = out[diag_rows[d], s0:s1]
            od[:] = 0.0
            for j in range(n):
                dj = diag[d, j]
                if dj != 0.0:
                    for l in range(n):
                        xr, xi = wr[j, l], wi[j, l]
                        ur, ui = u_re[j, l, s0:s1], u_im[j, l, s0:s1]
                        for t in range(nb):
                            od[t] += dj * (xr[t] * ur[t] + xi[t] * ui[t])


@_jit
def normalized_fields(q, gq_t, gq_p, rho_s, gr_t, gr_p, p_s):
    """P̃ = 𝒬/ϱ̃ and ∇P̃ = (∇𝒬 − P̃∇ϱ̃)/ϱ̃ from the components of 𝒬 and their gradients
    (:meth:`spectral_qc.models.regularizations.HeatKernel.quantum_fields_components`).

    q, gq_* ``(n, npts)``; rho_s, gr_* ``(npts,)``; writes p_s ``(n, npts)`` and
    overwrites gq_* with the components of ∇P̃.
    """
    npts = rho_s.shape[0]
    inv = np.empty(npts)
    for t in range(npts):
        inv[t] = 1.0 / rho_s[t]
    for a in range(q.shape[0]):
        qa, pa, ga, gb = q[a], p_s[a], gq_t[a], gq_p[a]
        for t in range(npts):
            v = qa[t] * inv[t]
            pa[t] = v
            ga[t] = (ga[t] - v * gr_t[t]) * inv[t]
            gb[t] = (gb[t] - v * gr_p[t]) * inv[t]


@_jit
def dot_components(a, b, out):
    """out = Σ_c a_c b_c (Tr(AB) for Hermitian-basis components), summed in the order
    c = 0, 1, … (as :func:`spectral_qc.hermitian.dot_components`); a, b ``(n, npts)``."""
    npts = out.shape[0]
    a0, b0 = a[0], b[0]
    for t in range(npts):
        out[t] = a0[t] * b0[t]
    for c in range(1, a.shape[0]):
        ac, bc = a[c], b[c]
        for t in range(npts):
            out[t] += ac[t] * bc[t]


@_jit
def traceless_norm2_max(k):
    """max over the points of Σ_{a ≥ 1} k_a² (|k⃗|² of the traceless part); k ``(n, npts)``."""
    n, npts = k.shape
    acc = np.empty(BLOCK)
    lanes = np.zeros(LANES)
    for s0 in range(0, npts, BLOCK):
        s1 = min(s0 + BLOCK, npts)
        nb = s1 - s0
        acc[:nb] = 0.0
        for a in range(1, n):
            ka = k[a, s0:s1]
            for t in range(nb):
                acc[t] += ka[t] * ka[t]
        for t in range(nb):
            lanes[t % LANES] = max(lanes[t % LANES], acc[t])
    return lanes.max()


@_jit
def smoothed_qubit_generator(q, gq_t, gq_p, sqrt_n, hs_t, hs_p, hbar, out):
    """:func:`normalized_fields` followed by :func:`qubit_generator`, per point, without
    the intermediate fields (the heat-kernel hybrid qubit; the same arithmetic).

    q, gq_* ``(4, npts)`` — components of 𝒬 = S_α(ϱP) and their gradients; ϱ̃ = √N q_0;
    hs_* ``(3, npts)`` — (√2/S)∇h⃗; out ``(4, npts)`` — g at the smoothed state, written.
    Returns False (out incomplete) when some ϱ̃ is not > 0.
    """
    c0 = hbar / math.sqrt(2.0)
    bad = 0
    for t in range(q.shape[1]):
        rho = sqrt_n * q[0, t]
        bad += 0 if rho > 0 else 1
        gr_t, gr_p = sqrt_n * gq_t[0, t], sqrt_n * gq_p[0, t]
        inv1 = 1.0 / rho
        p1, p2, p3 = q[1, t] * inv1, q[2, t] * inv1, q[3, t] * inv1
        g_t1 = (gq_t[1, t] - p1 * gr_t) * inv1
        g_t2 = (gq_t[2, t] - p2 * gr_t) * inv1
        g_t3 = (gq_t[3, t] - p3 * gr_t) * inv1
        g_p1 = (gq_p[1, t] - p1 * gr_p) * inv1
        g_p2 = (gq_p[2, t] - p2 * gr_p) * inv1
        g_p3 = (gq_p[3, t] - p3 * gr_p) * inv1
        inv = 0.5 / rho
        at, ap = gr_t * inv, gr_p * inv
        qt1, qt2, qt3 = g_t1 + at * p1, g_t2 + at * p2, g_t3 + at * p3
        qp1, qp2, qp3 = g_p1 + ap * p1, g_p2 + ap * p2, g_p3 + ap * p3
        ht1, ht2, ht3 = hs_t[0, t], hs_t[1, t], hs_t[2, t]
        hp1, hp2, hp3 = hs_p[0, t], hs_p[1, t], hs_p[2, t]
        c1 = (qt2 * hp3 - qt3 * hp2) - (qp2 * ht3 - qp3 * ht2)
        c2 = (qt3 * hp1 - qt1 * hp3) - (qp3 * ht1 - qp1 * ht3)
        c3 = (qt1 * hp2 - qt2 * hp1) - (qp1 * ht2 - qp2 * ht1)
        out[0, t] = c0 * (p1 * c1 + p2 * c2 + p3 * c3)
        out[1, t] = -hbar * c1
        out[2, t] = -hbar * c2
        out[3, t] = -hbar * c3
    return bad == 0
