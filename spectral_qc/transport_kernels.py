"""Compiled per-grid-point kernels of the transport part of a stage (numba, issue 16):
Tr(P∇K), the product rule for Tr(P∇G), the qubit velocity, ϱX and X·∇P.

Conventions as in :mod:`spectral_qc.kernels` (fields flat, components ``(n, npts)``
C-contiguous float64, scalars ``(npts,)``; compiled with ``cache=True``). Each kernel is
one or a few loops over the points, inner loop over the points (vectorized by the
compiler); none changes the order of a sum against the numpy code it replaced.
"""

from __future__ import annotations

import numba

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@_jit
def expectation_gradient(p, gk_t, gk_p, rows, out):
    """out[k] = Σ_{a ∈ rows} p_a ∇_k k_a (Tr(P∇K) for the non-zero components ``rows``);
    p, gk_* ``(n, npts)``, out ``(2, npts)``."""
    npts = p.shape[1]
    o_t, o_p = out[0], out[1]
    for t in range(npts):
        o_t[t] = 0.0
        o_p[t] = 0.0
    for r in range(rows.shape[0]):
        a = rows[r]
        pa, ga, gb = p[a], gk_t[a], gk_p[a]
        for t in range(npts):
            o_t[t] += pa[t] * ga[t]
            o_p[t] += pa[t] * gb[t]


@_jit
def subtract_weighted_gradients(v, k, gp_t, gp_p, first):
    """v[j] −= Σ_{a ≥ first} k_a ∇_j p_a, in place; v ``(2, npts)``, k, gp_* ``(n, npts)``."""
    npts = v.shape[1]
    v_t, v_p = v[0], v[1]
    for a in range(first, k.shape[0]):
        ka, ga, gb = k[a], gp_t[a], gp_p[a]
        for t in range(npts):
            v_t[t] -= ka[t] * ga[t]
            v_p[t] -= ka[t] * gb[t]


@_jit
def transport_products(rho, x, gp_t, gp_p, rx, adv):
    """rx = ϱX and adv[a−1] = X·∇p_a for a ≥ 1; rho ``(npts,)``, x, rx ``(2, npts)``,
    gp_* ``(n, npts)``, adv ``(n − 1, npts)``."""
    npts = rho.shape[0]
    x_t, x_p = x[0], x[1]
    r_t, r_p = rx[0], rx[1]
    for t in range(npts):
        r_t[t] = rho[t] * x_t[t]
        r_p[t] = rho[t] * x_p[t]
    for a in range(1, gp_t.shape[0]):
        ga, gb, o = gp_t[a], gp_p[a], adv[a - 1]
        for t in range(npts):
            o[t] = x_t[t] * ga[t] + x_p[t] * gb[t]


@_jit
def qubit_velocity(grad_pk, g, gp_t, gp_p, p, gh_t, gh_p, inv_s, x):
    """The velocity of a qubit stage in one pass: X = (1/S) Tr(P∇𝒦) × n with
    Tr(P∇𝒦) = ∇Tr(PG) − Σ_{a ≥ 1} g_a∇p_a + Σ_a p_a∇h_a (the product rule, the trace p_0
    constant).

    The arithmetic of :func:`subtract_weighted_gradients`, :func:`expectation_gradient`
    (over all four components of ∇h: a zero one adds exactly nothing) and
    ``Model.velocity_from_fields``, point by point. grad_pk, x ``(2, npts)``; g, gp_*, p,
    gh_* ``(4, npts)``; x written. (Two outputs only: with ϱX and X·∇P as well, the
    compiler's aliasing checks would stop the vectorization.)
    """
    for t in range(x.shape[1]):
        g1, g2, g3 = g[1, t], g[2, t], g[3, t]
        v_t = grad_pk[0, t] - g1 * gp_t[1, t]
        v_t -= g2 * gp_t[2, t]
        v_t -= g3 * gp_t[3, t]
        v_p = grad_pk[1, t] - g1 * gp_p[1, t]
        v_p -= g2 * gp_p[2, t]
        v_p -= g3 * gp_p[3, t]
        p0, p1, p2, p3 = p[0, t], p[1, t], p[2, t], p[3, t]
        e_t = 0.0 + p0 * gh_t[0, t]
        e_t += p1 * gh_t[1, t]
        e_t += p2 * gh_t[2, t]
        e_t += p3 * gh_t[3, t]
        e_p = 0.0 + p0 * gh_p[0, t]
        e_p += p1 * gh_p[1, t]
        e_p += p2 * gh_p[2, t]
        e_p += p3 * gh_p[3, t]
        x[0, t] = (v_p + e_p) * inv_s
        x[1, t] = (v_t + e_t) * -inv_s
