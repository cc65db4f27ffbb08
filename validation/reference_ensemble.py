"""The machinery of :func:`validation.references.ehrenfest_trajectories`: its result,
running moments, and the right-hand side of one Ehrenfest trajectory (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
