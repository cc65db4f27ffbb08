r"""Independent reference solutions for the spin models of spectral_qc.

This module deliberately shares **no code** with :mod:`spectral_qc` (it imports only
numpy and scipy). It provides ground truth against which the pseudo-spectral solver can
be checked:

* :func:`liouville_characteristics` -- the classical Liouville density at given points,
  by integrating characteristics backwards in time;
* :func:`liouville_expectation` -- classical expectation values, by pushing a quadrature
  forward in time; :func:`gauss_sphere_quadrature` builds such a quadrature;
* :func:`sample_von_mises_fisher` / :func:`von_mises_fisher_density` -- exact sampling
  and evaluation of the von Mises--Fisher density on S²;
* :func:`ehrenfest_trajectories` -- Monte-Carlo ensembles of independent Ehrenfest
  trajectories (the particle picture of the continuum Ehrenfest model);
* :func:`ehrenfest_flow_jacobian` / :func:`tracked_flow_jacobian` -- the area Jacobian of
  the characteristics of a field model, from trajectories started at neighbouring points
  (Ehrenfest: its trajectory equations; any model: particle tracking in a given velocity).

Conventions (identical to docs/numerics.md)
-------------------------------------------------------------
* Classical spin: unit vector ``n`` in S² (dimensionless), spin magnitude ``S > 0``
  (units of action, like ``hbar``).
* Lie--Poisson bracket ``{f, g} = (1/S) n · (∇f × ∇g)``, where ``∇f`` is the Cartesian
  gradient of ``f`` extended to R³ (its normal part drops out of every cross product).
* Hamiltonian vector field ``X_f = (1/S) ∇f × n``; classical motion
  ``dn/dt = (1/S) ∇H(n) × n``. Example: ``H = b·n`` rotates ``n`` about ``b``
  (right-handed) at angular rate ``|b|/S``.
* Quantum part: ``N`` levels, ``i hbar dψ/dt = H ψ`` with ``hbar`` explicit. Hybrid
  Hamiltonians are ``N×N`` Hermitian matrix fields ``H(n)`` (energy units).
* Densities are with respect to the area element ``dA`` of the unit sphere (total
  area ``4π``), so ``∫ ϱ dA = 1``.

Array layout
------------
Points on the sphere are always passed as arrays of shape ``(3, M)`` (Cartesian
components first). Scalar fields evaluated at points have shape ``(M,)``; matrix fields
have shape ``(M, N, N)``; their Cartesian gradients have shape ``(3, M, N, N)``.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.integrate import solve_ivp

__all__ = [
    "FlowInfo",
    "EhrenfestResult",
    "classical_flow",
    "liouville_characteristics",
    "liouville_expectation",
    "gauss_sphere_quadrature",
    "von_mises_fisher_density",
    "sample_von_mises_fisher",
    "ehrenfest_trajectories",
    "FlowJacobian",
    "ehrenfest_flow_jacobian",
    "tracked_flow_jacobian",
    "first_crossing",
]


# ---------------------------------------------------------------------------------------
# Classical Liouville dynamics by characteristics
# ---------------------------------------------------------------------------------------


@dataclass
class FlowInfo:
    """Diagnostics of a :func:`classical_flow` integration.

    Attributes
    ----------
    norm_drift : float
        ``max | |n(t)| - 1 |`` over all points and requested times *before* the final
        renormalization (dimensionless). The exact flow preserves ``|n|``, so this
        measures the integration error normal to the sphere.
    nfev : int
        Number of right-hand-side evaluations (each over all points at once).
    status : int
        ``solve_ivp`` status (0 means the end of the interval was reached).
    message : str
        ``solve_ivp`` message.
    """

    norm_drift: float
    nfev: int
    status: int
    message: str


def _as_points(points) -> np.ndarray:
    pts = np.asarray(points, dtype=float)
    if pts.ndim == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or pts.shape[0] != 3:
        raise ValueError(f"points must have shape (3, M), got {np.shape(points)}")
    return pts


def classical_flow(
    grad_h: Callable[[np.ndarray], np.ndarray],
    points,
    times,
    *,
    spin_magnitude: float = 1.0,
    rtol: float = 1e-12,
    atol: float = 1e-13,
) -> tuple[np.ndarray, FlowInfo]:
    r"""Apply the classical Hamiltonian flow ``Φ_t`` to many points at once.

    Integrates ``dn/dt = (1/S) ∇H(n) × n`` with ``scipy.integrate.solve_ivp`` (DOP853)
    as a single ODE system of size ``3 M`` (all points together), from ``t = 0`` to each
    requested time (negative times integrate backwards, giving ``Φ_{-|t|}``). The
    result is renormalized to the unit sphere only at the end; the drift of ``|n|``
    before renormalization is reported in the returned :class:`FlowInfo`.

    Parameters
    ----------
    grad_h : callable
        ``grad_h(n)`` with ``n`` of shape ``(3, M)`` returns the Cartesian gradient of
        the scalar Hamiltonian ``H`` (energy units), shape ``(3, M)``. It is evaluated
        slightly off the sphere during the integration, so it must be defined on a
        neighbourhood of S² (any smooth extension; the normal part does not matter).
    points : array_like, shape (3, M)
        Starting points on the unit sphere.
    times : float or array_like, shape (T,)
        Flow times (time units). All must have the same sign (0 is allowed with
        either) and be sorted by ``|t|``.
    spin_magnitude : float, optional
        ``S`` (action units, same as ``hbar``).
    rtol, atol : float, optional
        Tolerances passed to ``solve_ivp``. Note that scipy controls the RMS of the
        scaled error over *all* ``3 M`` components, so individual points can have
        somewhat larger errors than ``rtol``; keep the tolerances tight.

    Returns
    -------
    moved : ndarray, shape (3, M) or (T, 3, M)
        ``Φ_t(points)`` (unit vectors); shape ``(3, M)`` for scalar ``times``.
    info : FlowInfo
        Integration diagnostics.
    """
    pts = _as_points(points)
    m = pts.shape[1]
    scalar_t = np.ndim(times) == 0
    t_arr = np.atleast_1d(np.asarray(times, dtype=float))
    if t_arr.ndim != 1:
        raise ValueError("times must be a scalar or 1-D")
    if np.any(t_arr > 0) and np.any(t_arr < 0):
        raise ValueError("times must all have the same sign")
    if np.any(np.diff(np.abs(t_arr)) < 0):
        raise ValueError("times must be sorted by |t|")
    inv_s = 1.0 / float(spin_magnitude)

    def rhs(_t, y):
        n = y.reshape(3, m)
        g = np.asarray(grad_h(n), dtype=float)
        return (inv_s * np.cross(g, n, axis=0)).ravel()

    t_end = t_arr[np.argmax(np.abs(t_arr))]
    if t_end == 0.0:
        out = np.broadcast_to(pts, (t_arr.size, 3, m)).copy()
        info = FlowInfo(float(np.max(np.abs(np.linalg.norm(pts, axis=0) - 1.0))), 0, 0,
                        "zero time")
    else:
        sol = solve_ivp(rhs, (0.0, t_end), pts.ravel(), method="DOP853", t_eval=t_arr,
                        rtol=rtol, atol=atol)
        if sol.status != 0:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        out = sol.y.T.reshape(t_arr.size, 3, m)
        info = FlowInfo(0.0, int(sol.nfev), int(sol.status), str(sol.message))
    norms = np.linalg.norm(out, axis=1)
    info.norm_drift = float(np.max(np.abs(norms - 1.0)))
    out = out / norms[:, None, :]
    return (out[0] if scalar_t else out), info


def liouville_characteristics(
    grad_h: Callable[[np.ndarray], np.ndarray],
    rho0: Callable[[np.ndarray], np.ndarray],
    points,
    t: float,
    *,
    spin_magnitude: float = 1.0,
    rtol: float = 1e-12,
    atol: float = 1e-13,
    return_info: bool = False,
):
    r"""Classical Liouville density at given points, by backward characteristics.

    Solves ``∂t ϱ = {H, ϱ}`` with ``{f, g} = (1/S) n·(∇f × ∇g)``. The flow of
    ``dn/dt = X_H = (1/S) ∇H × n`` is divergence free on the sphere, so the density is
    simply carried: ``ϱ(n, t) = ϱ0(Φ_{-t}(n))``. The points are integrated backwards
    from ``t`` to ``0`` (see :func:`classical_flow`) and ``ϱ0`` is evaluated at the
    feet of the characteristics.

    Parameters
    ----------
    grad_h : callable
        ``grad_h(n)``: ``(3, M) -> (3, M)`` Cartesian gradient of the scalar
        Hamiltonian (energy units), defined near the sphere.
    rho0 : callable
        ``rho0(n)``: ``(3, M) -> (M,)`` initial density (per unit area; any scalar
        field works, it is just transported).
    points : array_like, shape (3, M)
        Unit vectors at which ``ϱ(·, t)`` is wanted.
    t : float
        Time (time units), ``t >= 0`` normally (negative ``t`` runs the other way).
    spin_magnitude : float, optional
        ``S`` (action units).
    rtol, atol : float, optional
        ``solve_ivp`` (DOP853) tolerances.
    return_info : bool, optional
        Also return the :class:`FlowInfo` (``norm_drift`` is the largest deviation of
        ``|n|`` from 1 before the final renormalization).

    Returns
    -------
    rho : ndarray, shape (M,)
        ``ϱ(points, t)``.
    info : FlowInfo
        Only if ``return_info``.
    """
    feet, info = classical_flow(grad_h, points, -float(t), spin_magnitude=spin_magnitude,
                                rtol=rtol, atol=atol)
    rho = np.asarray(rho0(feet), dtype=float)
    return (rho, info) if return_info else rho


def liouville_expectation(
    grad_h: Callable[[np.ndarray], np.ndarray],
    f: Callable[[np.ndarray], np.ndarray],
    t,
    *,
    nodes,
    weights,
    rho0: Callable[[np.ndarray], np.ndarray],
    spin_magnitude: float = 1.0,
    rtol: float = 1e-12,
    atol: float = 1e-13,
    return_info: bool = False,
):
    r"""Classical expectation ``⟨f⟩(t) = ∫ ϱ(n, t) f(n) dA`` by forward push of a quadrature.

    Uses ``∫ ϱ0(Φ_{-t} n) f(n) dA = ∫ ϱ0(n) f(Φ_t n) dA`` (the flow preserves area):
    the quadrature nodes are moved forward with :func:`classical_flow` and
    ``Σ_j w_j ϱ0(n_j) f(Φ_t n_j)`` is returned. The accuracy is that of the quadrature
    applied to the (time dependent) integrand ``ϱ0 · f∘Φ_t``.

    Parameters
    ----------
    grad_h : callable
        ``(3, M) -> (3, M)`` Cartesian gradient of the scalar Hamiltonian.
    f : callable
        Observable, ``f(n)``: ``(3, M) -> (..., M)`` (e.g. ``lambda n: n`` gives the mean
        spin direction, shape ``(3,)`` per time).
    t : float or array_like, shape (T,)
        Non-negative times, sorted ascending.
    nodes : array_like, shape (3, M)
        Quadrature nodes (unit vectors), e.g. from :func:`gauss_sphere_quadrature`.
    weights : array_like, shape (M,)
        Quadrature weights (area units; they sum to ``4π`` for a full sphere rule).
    rho0 : callable
        ``(3, M) -> (M,)`` initial density per unit area.
    spin_magnitude : float, optional
        ``S`` (action units).
    rtol, atol : float, optional
        ``solve_ivp`` tolerances.
    return_info : bool, optional
        Also return the :class:`FlowInfo`.

    Returns
    -------
    value : ndarray, shape f's leading shape, or (T, ...) for array ``t``
        ``⟨f⟩(t)``.
    info : FlowInfo
        Only if ``return_info``.
    """
    nodes = _as_points(nodes)
    w = np.asarray(weights, dtype=float)
    if w.shape != (nodes.shape[1],):
        raise ValueError("weights must have shape (M,) matching nodes (3, M)")
    t_arr = np.asarray(t, dtype=float)
    if np.any(t_arr < 0):
        raise ValueError("t must be non-negative")
    moved, info = classical_flow(grad_h, nodes, t_arr, spin_magnitude=spin_magnitude,
                                 rtol=rtol, atol=atol)
    mass = w * np.asarray(rho0(nodes), dtype=float)
    if t_arr.ndim == 0:
        val = np.asarray(f(moved)) @ mass
    else:
        val = np.stack([np.asarray(f(moved[k])) @ mass for k in range(t_arr.size)])
    return (val, info) if return_info else val


def gauss_sphere_quadrature(nlat: int, nphi: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Product quadrature on the unit sphere: Gauss--Legendre in ``cos θ`` × uniform ``φ``.

    Integrates exactly every polynomial in ``(x, y, z)`` (equivalently every spherical
    harmonic) of degree ``l <= min(2 nlat - 1, nphi - 1)``.

    Parameters
    ----------
    nlat : int
        Number of Gauss--Legendre nodes in ``cos θ``.
    nphi : int
        Number of equispaced longitudes ``φ_k = 2πk/nphi``.

    Returns
    -------
    nodes : ndarray, shape (3, nlat * nphi)
        Unit vectors (latitude index slowest).
    weights : ndarray, shape (nlat * nphi,)
        Area weights; they sum to ``4π``.
    """
    if nlat < 1 or nphi < 1:
        raise ValueError("nlat and nphi must be positive")
    x, wx = np.polynomial.legendre.leggauss(int(nlat))
    phi = 2.0 * np.pi * np.arange(int(nphi)) / int(nphi)
    sin_t = np.sqrt((1.0 - x) * (1.0 + x))
    z = np.repeat(x, nphi)
    s = np.repeat(sin_t, nphi)
    p = np.tile(phi, nlat)
    nodes = np.stack([s * np.cos(p), s * np.sin(p), z])
    weights = np.repeat(wx, nphi) * (2.0 * np.pi / nphi)
    return nodes, weights


# ---------------------------------------------------------------------------------------
# von Mises--Fisher densities
# ---------------------------------------------------------------------------------------


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=float).reshape(3)
    nv = np.linalg.norm(v)
    if not np.isfinite(nv) or nv == 0.0:
        raise ValueError("center must be a non-zero finite 3-vector")
    return v / nv


def _orthonormal_frame(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors e1, e2 with (e1, e2, c) a right-handed orthonormal frame."""
    a = np.zeros(3)
    a[np.argmin(np.abs(c))] = 1.0
    e1 = np.cross(a, c)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(c, e1)
    return e1, e2


def von_mises_fisher_density(n, center, kappa: float) -> np.ndarray:
    r"""The von Mises--Fisher density ``ϱ(n) = C exp(κ (n·n0 − 1))`` on S².

    ``C = κ / (2π (1 − e^{−2κ}))`` (``1/(4π)`` for ``κ = 0``), so that ``∫ ϱ dA = 1``
    with ``dA`` the area element of the unit sphere.

    Parameters
    ----------
    n : array_like, shape (3, M)
        Unit vectors.
    center : array_like, shape (3,)
        Mean direction ``n0`` (normalized internally).
    kappa : float
        Concentration ``κ >= 0`` (dimensionless).

    Returns
    -------
    rho : ndarray, shape (M,)
        Density per unit area.
    """
    kappa = float(kappa)
    if kappa < 0:
        raise ValueError("kappa must be >= 0")
    c = _unit(center)
    n = _as_points(n)
    if kappa == 0.0:
        return np.full(n.shape[1], 1.0 / (4.0 * np.pi))
    norm = kappa / (2.0 * np.pi * -np.expm1(-2.0 * kappa))
    return norm * np.exp(kappa * (c @ n - 1.0))


def sample_von_mises_fisher(center, kappa: float, size: int, rng=None) -> np.ndarray:
    r"""Exact samples of the von Mises--Fisher density ``∝ exp(κ (n·n0 − 1))`` on S².

    In three dimensions ``w = n·n0`` has density ``∝ e^{κ(w−1)}`` on ``[−1, 1]`` and
    an explicit inverse CDF. With ``v`` uniform on ``[0, 1)``::

        1 − w = −log1p(v · expm1(−2κ)) / κ

    which is accurate for small ``κ`` (it tends to ``2v``, i.e. ``w`` uniform) and for
    large ``κ`` (no overflow; ``1 − w`` keeps full relative precision near the
    center). The azimuth about ``n0`` is uniform, and the transverse radius is
    computed as ``sqrt((1 − w)(1 + w))``.

    Parameters
    ----------
    center : array_like, shape (3,)
        Mean direction ``n0`` (normalized internally).
    kappa : float
        Concentration ``κ >= 0``; ``κ = 0`` gives the uniform distribution.
    size : int
        Number of samples.
    rng : numpy.random.Generator or int or None
        Random generator (or seed).

    Returns
    -------
    samples : ndarray, shape (3, size)
        Unit vectors.
    """
    kappa = float(kappa)
    if not kappa >= 0.0:
        raise ValueError("kappa must be >= 0")
    rng = np.random.default_rng(rng)
    c = _unit(center)
    v = rng.random(int(size))  # in [0, 1)
    if kappa == 0.0:
        one_minus_w = 2.0 * v
    else:
        one_minus_w = -np.log1p(v * np.expm1(-2.0 * kappa)) / kappa
    one_minus_w = np.clip(one_minus_w, 0.0, 2.0)
    w = 1.0 - one_minus_w
    r = np.sqrt(one_minus_w * (2.0 - one_minus_w))
    phi = rng.uniform(0.0, 2.0 * np.pi, int(size))
    e1, e2 = _orthonormal_frame(c)
    return (np.outer(e1, r * np.cos(phi)) + np.outer(e2, r * np.sin(phi))
            + np.outer(c, w))


# ---------------------------------------------------------------------------------------
# Ehrenfest trajectories
# ---------------------------------------------------------------------------------------


@dataclass
class EhrenfestResult:
    r"""Ensemble averages of independent Ehrenfest trajectories.

    All standard errors are Monte-Carlo standard errors of the mean,
    ``sqrt(sample variance / n_trajectories)`` (unbiased variance).

    Attributes
    ----------
    times : ndarray, shape (T,)
        Output times (time units).
    rho_q : ndarray, shape (T, N, N), complex
        ``ρ̂q(t)`` = mean over trajectories of ``|ψ⟩⟨ψ|``.
    rho_q_stderr : ndarray, shape (T, N, N), complex
        Standard errors packed in a complex array: the **real part** is the standard
        error of ``Re ρ̂q`` and the **imaginary part** that of ``Im ρ̂q`` (both ≥ 0).
        ``rho_q_stderr_re`` / ``rho_q_stderr_im`` give them as real arrays.
    n_mean : ndarray, shape (T, 3)
        Mean classical spin direction ``⟨n⟩``.
    n_stderr : ndarray, shape (T, 3)
        Standard error of ``n_mean``.
    energy_mean : ndarray, shape (T,)
        Mean of the per-trajectory energy ``⟨ψ|H(n)|ψ⟩`` (energy units).
    energy_stderr : ndarray, shape (T,)
        Its standard error.
    n_trajectories : int
        Number of trajectories.
    dt : float
        Largest RK4 step used (time units).
    n_steps : int
        Number of RK4 steps per trajectory.
    max_energy_drift : float
        ``max |E(t) − E(0)|`` over trajectories and output times (energy units); the
        exact dynamics conserves ``E`` along each trajectory.
    max_n_norm_drift : float
        ``max | |n(t)| − 1 |`` (the integrator does not renormalize).
    max_psi_norm_drift : float
        ``max | ‖ψ(t)‖ − 1 |``.
    n_traj : ndarray, shape (T, 3, M) or None
        Per-trajectory ``n`` (only with ``keep_trajectories=True``).
    psi_traj : ndarray, shape (T, M, N) or None
        Per-trajectory ``ψ`` (only with ``keep_trajectories=True``).
    energy_traj : ndarray, shape (T, M) or None
        Per-trajectory energy (only with ``keep_trajectories=True``).
    """

    times: np.ndarray
    rho_q: np.ndarray
    rho_q_stderr: np.ndarray
    n_mean: np.ndarray
    n_stderr: np.ndarray
    energy_mean: np.ndarray
    energy_stderr: np.ndarray
    n_trajectories: int
    dt: float
    n_steps: int
    max_energy_drift: float
    max_n_norm_drift: float
    max_psi_norm_drift: float
    n_traj: np.ndarray | None = field(default=None, repr=False)
    psi_traj: np.ndarray | None = field(default=None, repr=False)
    energy_traj: np.ndarray | None = field(default=None, repr=False)

    @property
    def rho_q_stderr_re(self) -> np.ndarray:
        """Standard error of ``Re ρ̂q``, shape (T, N, N)."""
        return self.rho_q_stderr.real

    @property
    def rho_q_stderr_im(self) -> np.ndarray:
        """Standard error of ``Im ρ̂q``, shape (T, N, N)."""
        return self.rho_q_stderr.imag

    def __getitem__(self, key):  # dict-style access, e.g. result["rho_q"]
        return getattr(self, key)


class _RunningMoments:
    """Mean and sum of squared deviations, merged over batches (Chan et al.)."""

    def __init__(self, shape):
        self.count = 0
        self.mean = np.zeros(shape)
        self.m2 = np.zeros(shape)

    @staticmethod
    def of(x: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        """``(count, mean, m2)`` of samples ``x`` (samples along axis 0)."""
        mean = x.mean(axis=0)
        return x.shape[0], mean, ((x - mean) ** 2).sum(axis=0)

    def merge(self, count: int, mean: np.ndarray, m2: np.ndarray) -> None:
        if count == 0:
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * count / total)
        self.count = total

    def stderr(self) -> np.ndarray:
        if self.count < 2:
            return np.full_like(self.mean, np.nan)
        return np.sqrt(self.m2 / (self.count - 1) / self.count)


def _matvec(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Batched matrix-vector product ``a[m, i, j] v[m, j]`` (summed over j).

    ``a`` has shape ``(M, N, N)`` and ``v`` ``(M, N)``. An explicit loop over the small
    indices is faster in numpy than batched ``matmul`` or ``einsum`` for ``N <= 8``.
    """
    nlev = v.shape[-1]
    out = np.empty(np.broadcast_shapes(a.shape[:-1], v.shape), dtype=np.result_type(a, v))
    for i in range(nlev):
        acc = a[:, i, 0] * v[:, 0]
        for j in range(1, nlev):
            acc += a[:, i, j] * v[:, j]
        out[:, i] = acc
    return out


def _hermitian_expectation(a: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """``ψ^† a ψ`` for Hermitian ``a`` (``(..., M, N, N)``) and ``psi`` (``(M, N)``).

    Uses Hermiticity: ``Σ_i a_ii |ψ_i|² + 2 Σ_{i<j} Re(a_ij conj(ψ_i) ψ_j)``, which
    needs only real arithmetic on the (strided) matrix entries. Returns ``(..., M)``.
    """
    nlev = psi.shape[-1]
    out = a[..., 0, 0].real * (psi[:, 0].real ** 2 + psi[:, 0].imag ** 2)
    for i in range(1, nlev):
        out += a[..., i, i].real * (psi[:, i].real ** 2 + psi[:, i].imag ** 2)
    for i in range(nlev):
        for j in range(i + 1, nlev):
            p = psi[:, i].conj() * psi[:, j]
            p *= 2.0
            out += a[..., i, j].real * p.real
            out -= a[..., i, j].imag * p.imag
    return out


def _cross0(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product along axis 0 of two (3, M) arrays."""
    return np.stack([a[1] * b[2] - a[2] * b[1],
                     a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def _ehrenfest_rhs(n, psi, h_matrix, grad_h_matrix, inv_s, minus_i_over_hbar):
    """Tendencies ``(dn/dt, dψ/dt)`` for a batch: n (3, M) real, psi (M, N) complex."""
    h = np.asarray(h_matrix(n), dtype=complex)
    g = np.asarray(grad_h_matrix(n), dtype=complex)
    force = _hermitian_expectation(g, psi)  # (3, M): <psi|dH/dn_a|psi>
    dn = _cross0(force, n)
    dn *= inv_s
    dpsi = _matvec(h, minus_i_over_hbar * psi)
    return dn, dpsi


def _energy(n, psi, h_matrix):
    return _hermitian_expectation(np.asarray(h_matrix(n), dtype=complex), psi)


def _rate_estimate(h_matrix, grad_h_matrix, n, psi, hbar, spin_magnitude) -> float:
    """A rate ω (1/time) bounding how fast a batch of trajectories evolves.

    ``ω = max(eigenvalue spread of H)/ħ + max ‖⟨ψ|∇H|ψ⟩‖/S + max ‖∇H‖_F/S``: the
    quantum precession rate, the classical precession rate, and the rate of the
    back-reaction of ψ on n through the gradient of the couplings. Evaluated at the
    initial states only, so it is a heuristic; the step actually needed is verified by
    step halving in the tests.
    """
    h = np.asarray(h_matrix(n), dtype=complex)
    g = np.asarray(grad_h_matrix(n), dtype=complex)
    ev = np.linalg.eigvalsh(h)
    w_q = np.max(ev[:, -1] - ev[:, 0]) / hbar
    force = _hermitian_expectation(g, psi)
    w_c = np.max(np.sqrt(np.sum(force**2, axis=0))) / spin_magnitude
    g_norm = np.sqrt(np.max(np.sum(np.abs(g) ** 2, axis=(0, 2, 3)))) / spin_magnitude
    return float(w_q + w_c + g_norm)


def ehrenfest_trajectories(
    h_matrix: Callable[[np.ndarray], np.ndarray],
    grad_h_matrix: Callable[[np.ndarray], np.ndarray],
    psi0,
    n0_samples,
    times,
    *,
    hbar: float = 1.0,
    spin_magnitude: float = 1.0,
    batch: int = 8192,
    dt: float | None = None,
    step_safety: float = 0.03,
    keep_trajectories: bool = False,
    workers: int = 1,
) -> EhrenfestResult:
    r"""Ensemble of independent Ehrenfest trajectories, integrated with fixed-step RK4.

    Each trajectory carries a classical spin ``n`` and a pure quantum state ``ψ`` and
    obeys::

        dn/dt     = (1/S) ⟨ψ|∇H(n)|ψ⟩ × n
        iħ dψ/dt  = H(n) ψ

    where ``⟨ψ|∇H|ψ⟩`` is the real 3-vector with components ``ψ^† (∂_a H) ψ``. This is
    a Hamiltonian system (symplectic form of S² × CP^{N-1}) with energy
    ``E = ⟨ψ|H(n)|ψ⟩``, conserved along each trajectory; ``|n|`` and ``‖ψ‖`` are also
    conserved. The integrator is the classical 4-stage Runge--Kutta method with a fixed
    step (global error ``O(dt⁴)``), vectorized over batches of trajectories; the step is
    shortened in each interval between output times so that every output time is hit
    exactly. Nothing is renormalized during the integration: the drifts of ``|n|``,
    ``‖ψ‖`` and ``E`` are reported as accuracy diagnostics. The averages are the
    particle (Monte-Carlo) picture of the continuum Ehrenfest model of the theory note,
    §3, when ``n0_samples`` are drawn from the initial classical density ``ϱ0`` and every
    trajectory starts in the same pure state ``ψ0`` (``P(n, 0) = |ψ0⟩⟨ψ0|``).

    Parameters
    ----------
    h_matrix : callable
        ``h_matrix(n)``: ``(3, M) -> (M, N, N)`` complex Hermitian Hamiltonian (energy
        units), defined on a neighbourhood of the sphere.
    grad_h_matrix : callable
        ``grad_h_matrix(n)``: ``(3, M) -> (3, M, N, N)`` Cartesian gradient of every
        entry of ``H``.
    psi0 : array_like, shape (N,) or (M_total, N)
        Initial quantum state, common to all trajectories, or one per trajectory.
        Normalized internally.
    n0_samples : array_like, shape (3, M_total)
        Initial classical spins (unit vectors), e.g. from
        :func:`sample_von_mises_fisher`.
    times : array_like, shape (T,)
        Output times, ascending, ``>= 0`` (time units). The integration starts at 0.
    hbar : float, optional
        Reduced Planck constant (action units).
    spin_magnitude : float, optional
        ``S`` (action units).
    batch : int, optional
        Number of trajectories integrated together (memory ∝ ``batch · 3 N²``).
    dt : float, optional
        Largest RK4 step (time units). By default ``step_safety / ω`` with ω the largest
        rate estimate over all initial states (eigenvalue spread of ``H``/ħ plus the
        force and coupling-gradient norms /S); the result does not depend on ``batch``.
        The default ``step_safety = 0.03`` gave, for the test Hamiltonians up to
        ``t = 1``-``2``, global errors ~1e-10 (n, ψ, ρ̂q; checked by step halving and
        against analytic solutions) and drifts of ``|n|``, ``‖ψ‖`` below 1e-10 and
        of the energy below 1e-9. The error grows with the final time (RK4:
        ∝ ``t · dt⁴``); check longer runs by halving ``dt``. The estimate ignores the
        trace of ``H`` (a global phase of ψ, invisible in ``|ψ⟩⟨ψ|``), so the phase of
        ψ itself may be less accurate when ``|tr H|/(Nħ)`` is large.
    step_safety : float, optional
        See ``dt``.
    keep_trajectories : bool, optional
        Also return every trajectory at the output times (memory ``T·M·(3 + 2N)``
        floats; use for small ensembles only).
    workers : int, optional
        Number of threads integrating different batches concurrently (numpy releases
        the GIL in its array loops). The callbacks must then be thread safe (pure
        numpy functions are). Results do not depend on ``workers``.

    Returns
    -------
    EhrenfestResult
        Ensemble means and standard errors (``rho_q``, ``rho_q_stderr``, ``n_mean``,
        ``n_stderr``, ``energy_mean``, ``energy_stderr``), ``n_trajectories`` and
        diagnostics; supports ``result["rho_q"]`` as well as attribute access.
    """
    hbar = float(hbar)
    s = float(spin_magnitude)
    if hbar <= 0 or s <= 0:
        raise ValueError("hbar and spin_magnitude must be positive")
    n_all = _as_points(n0_samples)
    m_total = n_all.shape[1]
    psi_all = np.asarray(psi0, dtype=complex)
    if psi_all.ndim == 1:
        nlev = psi_all.shape[0]
        per_traj_psi = False
    elif psi_all.ndim == 2 and psi_all.shape[0] == m_total:
        nlev = psi_all.shape[1]
        per_traj_psi = True
    else:
        raise ValueError("psi0 must have shape (N,) or (M_total, N)")
    psi_all = psi_all / np.linalg.norm(psi_all, axis=-1, keepdims=True)
    t_out = np.atleast_1d(np.asarray(times, dtype=float))
    if t_out.ndim != 1 or t_out.size == 0:
        raise ValueError("times must be a non-empty 1-D array")
    if t_out[0] < 0 or np.any(np.diff(t_out) < 0):
        raise ValueError("times must be ascending and >= 0")
    batch = max(1, int(batch))
    inv_s = 1.0 / s
    mih = -1j / hbar

    def psi_batch(lo, hi):
        if per_traj_psi:
            return psi_all[lo:hi].copy()
        return np.broadcast_to(psi_all, (hi - lo, nlev)).copy()

    # The fast kernels use Hermiticity of H and ∇H: check it on the first batch.
    n_chk = np.array(n_all[:, :min(batch, m_total)], dtype=float)
    for name, arr in (("h_matrix", np.asarray(h_matrix(n_chk), dtype=complex)),
                      ("grad_h_matrix", np.asarray(grad_h_matrix(n_chk), dtype=complex))):
        want = (n_chk.shape[1], nlev, nlev)
        if arr.shape[-3:] != want or (name == "grad_h_matrix" and arr.shape[0] != 3):
            raise ValueError(f"{name} returned shape {arr.shape}, expected "
                             f"{'(3, ' if name == 'grad_h_matrix' else '('}"
                             f"{want[0]}, {nlev}, {nlev})")
        defect = np.max(np.abs(arr - np.conj(np.swapaxes(arr, -1, -2))), initial=0.0)
        if defect > 1e-12 * max(1.0, np.max(np.abs(arr), initial=0.0)):
            raise ValueError(f"{name} is not Hermitian (defect {defect:.3g})")
    del n_chk

    if dt is None:
        # one extra right-hand-side evaluation per trajectory; independent of `batch`
        omega = max(_rate_estimate(h_matrix, grad_h_matrix,
                                   np.array(n_all[:, lo:lo + batch], dtype=float),
                                   psi_batch(lo, min(lo + batch, m_total)), hbar, s)
                    for lo in range(0, m_total, batch))
        dt = step_safety / omega if omega > 0 else (t_out[-1] if t_out[-1] > 0 else 1.0)
    dt = float(dt)
    if not dt > 0:
        raise ValueError("dt must be positive")

    # Sub-steps per output interval (the first interval starts at t = 0).
    intervals = np.diff(np.concatenate([[0.0], t_out]))
    n_sub = [0 if d == 0 else max(1, math.ceil(d / dt * (1 - 1e-12))) for d in intervals]
    n_steps = int(sum(n_sub))
    dt_used = max([d / k for d, k in zip(intervals, n_sub) if k > 0], default=0.0)

    n_t = t_out.size
    st_rho = _RunningMoments((n_t, 2, nlev, nlev))
    st_n = _RunningMoments((n_t, 3))
    st_e = _RunningMoments((n_t,))
    if keep_trajectories:
        n_traj = np.empty((n_t, 3, m_total))
        psi_traj = np.empty((n_t, m_total, nlev), dtype=complex)
        e_traj = np.empty((n_t, m_total))
    else:
        n_traj = psi_traj = e_traj = None

    rhs = _ehrenfest_rhs

    def rk4_step(n, psi, h):
        """One classical RK4 step, in place on (n, psi)."""
        half = 0.5 * h
        k_n, k_p = rhs(n, psi, h_matrix, grad_h_matrix, inv_s, mih)
        acc_n, acc_p = k_n.copy(), k_p.copy()
        for c_stage, c_acc in ((half, 2.0), (half, 2.0), (h, 1.0)):
            k_n *= c_stage
            k_n += n
            k_p *= c_stage
            k_p += psi
            k_n, k_p = rhs(k_n, k_p, h_matrix, grad_h_matrix, inv_s, mih)
            if c_acc == 1.0:
                acc_n += k_n
                acc_p += k_p
            else:
                acc_n += c_acc * k_n
                acc_p += c_acc * k_p
        acc_n *= h / 6.0
        acc_p *= h / 6.0
        n += acc_n
        psi += acc_p

    def run_batch(lo, hi):
        n = np.array(n_all[:, lo:hi], dtype=float, order="C")
        psi = psi_batch(lo, hi)
        e0 = _energy(n, psi, h_matrix)
        rho_b = np.empty((n_t, hi - lo, 2, nlev, nlev))
        n_b = np.empty((n_t, hi - lo, 3))
        e_b = np.empty((n_t, hi - lo))
        drift = np.zeros(3)
        for k in range(n_t):
            if n_sub[k]:
                h = intervals[k] / n_sub[k]
                for _ in range(n_sub[k]):
                    rk4_step(n, psi, h)
            e = e0 if (k == 0 and n_sub[0] == 0) else _energy(n, psi, h_matrix)
            outer = psi[:, :, None] * psi.conj()[:, None, :]
            rho_b[k, :, 0] = outer.real
            rho_b[k, :, 1] = outer.imag
            n_b[k] = n.T
            e_b[k] = e
            drift = np.maximum(drift, [
                np.max(np.abs(e - e0)),
                np.max(np.abs(np.sqrt(np.einsum("am,am->m", n, n)) - 1.0)),
                np.max(np.abs(np.linalg.norm(psi, axis=-1) - 1.0))])
            if keep_trajectories:
                n_traj[k, :, lo:hi] = n
                psi_traj[k, lo:hi] = psi
                e_traj[k, lo:hi] = e
        return (_RunningMoments.of(np.moveaxis(rho_b, 1, 0)),
                _RunningMoments.of(np.moveaxis(n_b, 1, 0)),
                _RunningMoments.of(e_b.T), drift)

    bounds = [(lo, min(lo + batch, m_total)) for lo in range(0, m_total, batch)]
    max_drift = np.zeros(3)

    def collect(res):
        nonlocal max_drift
        m_rho, m_n, m_e, drift = res
        st_rho.merge(*m_rho)
        st_n.merge(*m_n)
        st_e.merge(*m_e)
        max_drift = np.maximum(max_drift, drift)

    workers = max(1, int(workers))
    if workers == 1 or len(bounds) == 1:
        for lo, hi in bounds:
            collect(run_batch(lo, hi))
    else:
        # numpy releases the GIL inside its array loops, so threads over batches run
        # in parallel; results are merged in batch order (deterministic output).
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending = []
            for lo, hi in bounds:
                pending.append(pool.submit(run_batch, lo, hi))
                if len(pending) > 2 * workers:
                    collect(pending.pop(0).result())
            for fut in pending:
                collect(fut.result())
    max_de, max_dn, max_dpsi = (float(x) for x in max_drift)

    rho_mean = st_rho.mean[:, 0] + 1j * st_rho.mean[:, 1]
    rho_se_parts = st_rho.stderr()
    rho_se = rho_se_parts[:, 0] + 1j * rho_se_parts[:, 1]
    return EhrenfestResult(
        times=t_out,
        rho_q=rho_mean,
        rho_q_stderr=rho_se,
        n_mean=st_n.mean,
        n_stderr=st_n.stderr(),
        energy_mean=st_e.mean,
        energy_stderr=st_e.stderr(),
        n_trajectories=int(m_total),
        dt=float(dt_used),
        n_steps=n_steps,
        max_energy_drift=max_de,
        max_n_norm_drift=max_dn,
        max_psi_norm_drift=max_dpsi,
        n_traj=n_traj,
        psi_traj=psi_traj,
        energy_traj=e_traj,
    )


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
