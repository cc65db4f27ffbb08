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

The first three live in :mod:`validation.reference_flows` and
:mod:`validation.reference_sphere`, the ensemble machinery in
:mod:`validation.reference_ensemble`; every name is importable from here.

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
from typing import Callable

import numpy as np

from .reference_ensemble import (EhrenfestResult, _ehrenfest_rhs, _energy,  # noqa: F401
                                 _rate_estimate, _RunningMoments)
from .reference_flows import (FlowInfo, _as_points, classical_flow, liouville_characteristics,
                              liouville_expectation)
from .reference_sphere import (gauss_sphere_quadrature, sample_von_mises_fisher,  # noqa: F401
                               von_mises_fisher_density)

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
# Ehrenfest trajectories
# ---------------------------------------------------------------------------------------


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


from .reference_jacobian import (FlowJacobian, ehrenfest_flow_jacobian,  # noqa: E402,F401
                                 first_crossing, tracked_flow_jacobian)
