"""Area Jacobian of the characteristics from neighbouring trajectories (solver-free).

An independent reference for :mod:`spectral_qc.characteristics`: the trajectory equations
are integrated by an ODE solver (Ehrenfest) or by particle tracking in a given velocity, and
J is the area ratio of a small stencil of neighbouring starting points. Importable from
:mod:`validation.references`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from .reference_ensemble import _cross0
from .reference_flows import _as_points

# ---------------------------------------------------------------------------------------
# Area Jacobian of the characteristics, from neighbouring trajectories
# ---------------------------------------------------------------------------------------


@dataclass
class FlowJacobian:
    r"""Area Jacobian ``J(n0, t)`` of the flow map ``n0 → n(t)`` at starting points.

    Attributes
    ----------
    times : ndarray (T,)
    n0 : ndarray (3, M) — starting points
    n : ndarray (T, 3, M) — their positions at ``times``
    jacobian : ndarray (T, M) — signed area ratio ``n·(∂u n × ∂v n)`` (1 at t = 0; ≤ 0
        once neighbouring trajectories have crossed)
    eps : float — offset of the neighbouring starting points (radians)
    """

    times: np.ndarray
    n0: np.ndarray
    n: np.ndarray
    jacobian: np.ndarray
    eps: float

    @property
    def minimum(self) -> np.ndarray:
        """min over the starting points of J at each time, ``(T,)``."""
        return self.jacobian.min(axis=1)


def _stencil(n0: np.ndarray, eps: float) -> np.ndarray:
    """Each point and its four neighbours ``normalize(n0 ± eps e_u)``, ``± eps e_v``,
    with (e_u, e_v, n0) a right-handed orthonormal frame: ``(3, 5, M)``."""
    n0 = n0 / np.linalg.norm(n0, axis=0)
    ref = np.where(np.abs(n0[2]) < 0.9, 0.0, 1.0)  # a direction not parallel to n0
    a = np.stack([ref, np.zeros_like(ref), 1.0 - ref])
    e_u = _cross0(a, n0)
    e_u /= np.linalg.norm(e_u, axis=0)
    e_v = _cross0(n0, e_u)
    pts = [n0, n0 + eps * e_u, n0 - eps * e_u, n0 + eps * e_v, n0 - eps * e_v]
    return np.stack([p / np.linalg.norm(p, axis=0) for p in pts], axis=1)


def _stencil_jacobian(pts: np.ndarray, eps: float) -> np.ndarray:
    """Signed area ratio from stencil positions ``(..., 3, 5, M)`` (central differences,
    error O(eps²)): ``n·(∂u n × ∂v n)``."""
    du = (pts[..., 1, :] - pts[..., 2, :]) / (2 * eps)
    dv = (pts[..., 3, :] - pts[..., 4, :]) / (2 * eps)
    c = pts[..., 0, :]
    cross = np.stack([du[..., 1, :] * dv[..., 2, :] - du[..., 2, :] * dv[..., 1, :],
                      du[..., 2, :] * dv[..., 0, :] - du[..., 0, :] * dv[..., 2, :],
                      du[..., 0, :] * dv[..., 1, :] - du[..., 1, :] * dv[..., 0, :]], axis=-2)
    return np.sum(c * cross, axis=-2)


def _pauli_parts(m: np.ndarray):
    """``(m0, m_vec)`` of 2×2 matrices ``(..., 2, 2)``: m = m0 1 + m·σ (real parts)."""
    m0 = 0.5 * (m[..., 0, 0] + m[..., 1, 1]).real
    mx = m[..., 0, 1].real
    my = -m[..., 0, 1].imag  # m_01 = mx − i my
    mz = 0.5 * (m[..., 0, 0] - m[..., 1, 1]).real
    return m0, np.stack([mx, my, mz], axis=-1)


def ehrenfest_flow_jacobian(h_matrix, grad_h_matrix, bloch0, n0, times, *, hbar=1.0,
                            spin_magnitude=1.0, eps=1e-4, rtol=1e-11, atol=1e-12
                            ) -> FlowJacobian:
    r"""Area Jacobian of the Ehrenfest characteristics (qubit), by trajectories.

    The continuum Ehrenfest model's characteristics are its trajectories: for
    H(n) = h0(n) 1 + h(n)·σ and a local Bloch vector b (P = (1 + b·σ)/2),

        dn/dt = (1/S) (∇h0 + Σ_a b_a ∇h_a) × n,      db/dt = (2/ħ) h × b,

    integrated with ``solve_ivp`` (DOP853) from each starting point and four neighbours
    at distance ``eps``, all with the same initial ``bloch0``; J from central differences.

    Parameters
    ----------
    h_matrix, grad_h_matrix : callables as for :func:`ehrenfest_trajectories` (N = 2)
    bloch0 : (3,) — the uniform initial Bloch vector
    n0 : (3, M) — starting points (unit vectors)
    times : (T,) ascending, ≥ 0
    hbar, spin_magnitude : float
    eps : float — neighbour offset (radians); J has error O(eps²) and round-off ~1e-12/eps
    """
    n0 = _as_points(n0)
    t_out = np.asarray(times, float)
    pts0 = _stencil(n0, eps).reshape(3, -1)
    k = pts0.shape[1]
    b0 = np.broadcast_to(np.asarray(bloch0, float)[:, None], (3, k))
    inv_s, two_over_hbar = 1.0 / spin_magnitude, 2.0 / hbar

    def rhs(_t, y):
        n, b = y[:3 * k].reshape(3, k), y[3 * k:].reshape(3, k)
        h0, h = _pauli_parts(np.asarray(h_matrix(n), complex))           # (M,), (M, 3)
        g0, g = _pauli_parts(np.asarray(grad_h_matrix(n), complex))      # (3, M), (3, M, 3)
        force = g0 + np.einsum("ima,am->im", g, b)  # Tr(P ∇H), Cartesian
        dn = inv_s * _cross0(force, n)
        db = two_over_hbar * _cross0(h.T, b)
        return np.concatenate([dn.ravel(), db.ravel()])

    sol = solve_ivp(rhs, (0.0, float(t_out[-1])), np.concatenate([pts0.ravel(), b0.ravel()]),
                    method="DOP853", t_eval=t_out, rtol=rtol, atol=atol)
    if sol.status != 0:
        raise RuntimeError(f"ehrenfest_flow_jacobian: solve_ivp failed: {sol.message}")
    n_t = sol.y[:3 * k].T.reshape(len(t_out), 3, 5, -1)
    n_t = n_t / np.linalg.norm(n_t, axis=1, keepdims=True)
    return FlowJacobian(t_out, n0, n_t[:, :, 0], _stencil_jacobian(n_t, eps), float(eps))


def tracked_flow_jacobian(velocity, n0, times, *, dt, eps=1e-4) -> FlowJacobian:
    r"""Area Jacobian of the flow of a given velocity field, by particle tracking.

    Fixed-step classical RK4 on ``dn/dt = velocity(t, n)`` (steps of at most ``dt``,
    every output time hit exactly; positions projected back to the sphere after each
    step) from each starting point and four neighbours at distance ``eps``.

    Parameters
    ----------
    velocity : callable ``velocity(t, n) -> (3, M)``, Cartesian tangent velocity at unit
        vectors ``n`` ``(3, M)`` (for example a solver's X interpolated from saved fields)
    n0 : (3, M); times : (T,) ascending ≥ 0; dt : float — largest step; eps : float
    """
    n0 = _as_points(n0)
    t_out = np.asarray(times, float)
    n = _stencil(n0, eps).reshape(3, -1)
    out = np.empty((len(t_out),) + n.shape)
    t = 0.0
    for i, t_next in enumerate(t_out):
        steps = max(0, math.ceil((t_next - t) / dt * (1 - 1e-12)))
        h = (t_next - t) / steps if steps else 0.0
        for _ in range(steps):
            k1 = velocity(t, n)
            k2 = velocity(t + h / 2, n + h / 2 * k1)
            k3 = velocity(t + h / 2, n + h / 2 * k2)
            k4 = velocity(t + h, n + h * k3)
            n = n + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            n /= np.linalg.norm(n, axis=0)
            t += h
        t = float(t_next)
        out[i] = n
    n_t = out.reshape(len(t_out), 3, 5, -1)
    return FlowJacobian(t_out, n0, n_t[:, :, 0], _stencil_jacobian(n_t, eps), float(eps))


def first_crossing(times, jacobian_min) -> float:
    """First time at which ``jacobian_min`` (the minimum over starting points) reaches 0,
    linearly interpolated between output times; ``inf`` if it never does."""
    t = np.asarray(times, float)
    j = np.asarray(jacobian_min, float)
    below = np.nonzero(j <= 0)[0]
    if below.size == 0:
        return float("inf")
    i = int(below[0])
    if i == 0:
        return float(t[0])
    return float(t[i - 1] + (t[i] - t[i - 1]) * j[i - 1] / (j[i - 1] - j[i]))
