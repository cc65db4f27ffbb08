"""The Koopman wavefunction state Υ(n) and its initial conditions (paper §2.3, §3.1).

A :class:`WaveState` holds an *ensemble* of M wavefunctions Υ⁽ᵏ⁾(n) ∈ C^N on the unit
sphere (N = 1: the classical Koopman wavefunction χ of eqs. 13–14; N ≥ 2: the hybrid
spinor of eq. 29). The equations are linear, so a mixed initial quantum state is the
incoherent sum of pure ones: every quadratic output (ρc, ρ̂q, energy, norm) is the sum
over the members. A pure initial state has M = 1.

Complex fields are stored as the spectral coefficients of their real and imaginary
parts (the sphere engine transforms real fields): ``upsilon_lm`` has shape
``(M, 2, N, nlm)``, axis 1 = (Re, Im).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

#: Eigenvalues of the initial density matrix at or below this are dropped from the ensemble.
EIGENVALUE_FLOOR = 1e-14


@dataclass(frozen=True)
class WaveState:
    """Spectral state of a Koopman model.

    Attributes
    ----------
    upsilon_lm : ndarray (M, 2, N, nlm), complex
        Coefficients of Re Υ⁽ᵏ⁾_a (``[:, 0]``) and Im Υ⁽ᵏ⁾_a (``[:, 1]``), for the M
        ensemble members k and the N components a.
    """

    upsilon_lm: np.ndarray

    @property
    def N(self) -> int:
        """Number of components of Υ (quantum levels; 1 for KvN/KvH)."""
        return int(self.upsilon_lm.shape[2])

    @property
    def members(self) -> int:
        """Number M of ensemble members."""
        return int(self.upsilon_lm.shape[0])

    def copy(self) -> "WaveState":
        return WaveState(self.upsilon_lm.copy())


def wave_to_grid(grid, upsilon_lm) -> np.ndarray:
    """Υ on the grid: ``(M, 2, N, nlm)`` coefficients → ``(M, N, nlat, nphi)`` complex."""
    u = grid.synthesis(upsilon_lm)
    return u[:, 0] + 1j * u[:, 1]


def wave_from_grid(grid, upsilon) -> np.ndarray:
    """Coefficients ``(M, 2, N, nlm)`` of a complex grid field ``(M, N, nlat, nphi)``."""
    upsilon = np.asarray(upsilon)
    return grid.analysis(np.stack([upsilon.real, upsilon.imag], axis=1))


def wave_state_from_grid(grid, upsilon) -> WaveState:
    """A WaveState from grid values ``(M, N, nlat, nphi)`` or ``(N, nlat, nphi)`` (M = 1)."""
    upsilon = np.asarray(upsilon, complex)
    if upsilon.ndim == 3:
        upsilon = upsilon[None]
    if upsilon.ndim != 4 or upsilon.shape[2:] != grid.shape:
        raise ValueError(f"upsilon must have shape (M, N, {grid.nlat}, {grid.nphi}), got "
                         f"{upsilon.shape}")
    return WaveState(wave_from_grid(grid, upsilon))


def ensemble_from_density(density) -> np.ndarray:
    """Kets ``√λ_k ψ_k`` of a density matrix, ``(M, N)`` complex, one per eigenvalue > 0.

    ρ = Σ_k λ_k ψ_k ψ_k†; eigenvalues ≤ :data:`EIGENVALUE_FLOOR` are dropped. A pure ρ
    gives M = 1 (its ket, up to a global phase).
    """
    rho = np.asarray(density, complex)
    w, v = np.linalg.eigh(rho)
    keep = w > EIGENVALUE_FLOOR
    if not np.any(keep):
        raise ConfigError("initial.quantum: the density matrix has no positive eigenvalue")
    return (v[:, keep] * np.sqrt(w[keep])).T[::-1]


def koopman_initial_wave(grid, rho0, density) -> WaveState:
    """Υ0⁽ᵏ⁾(n) = √ϱ0(n) √λ_k ψ_k: the classical density ϱ0 times the quantum state.

    For a pure ρ0 = ψ0ψ0† this is Υ0 = √ϱ0 ψ0 (real amplitude, zero classical phase), so
    that ‖Υ0‖² = ϱ0, ∫Υ0Υ0† dA = ρ0 and ρc(0) = ϱ0 (the ħ-term vanishes for a real
    amplitude times a constant spinor). A mixed ρ0 = Σ λ_k ψ_kψ_k† is the ensemble of the
    M pure members (the equation is linear); then Σ_k‖Υ0⁽ᵏ⁾‖² = ϱ0 and ρ̂q(0) = ρ0.

    Parameters
    ----------
    grid : SphereGrid (or ProductGrid: then ϱ0 and Υ have the product grid's shape)
    rho0 : ndarray (nlat, nphi), real, ≥ 0 — ϱ0 (a truncated ϱ0 that undershoots zero is
        clipped there before the square root)
    density : array_like (N, N) — ρ0 (N = 1: ``[[1]]``)

    Returns
    -------
    WaveState with M members.
    """
    amplitude = np.sqrt(np.clip(np.asarray(rho0, float), 0.0, None))
    kets = ensemble_from_density(density)
    upsilon = kets.reshape(kets.shape + (1,) * amplitude.ndim) * amplitude
    return WaveState(wave_from_grid(grid, upsilon))
