"""The state (ϱ, P) and its initial conditions.

A :class:`State` holds the classical density ϱ(n) and the local quantum density matrix
P(n) as spectral coefficients: ``rho_lm`` ``(nlm,)`` and ``p_lm`` ``(N², nlm)``, the
latter the real components of P in the Hermitian basis of :mod:`spectral_qc.hermitian`.
The density-valued operator of the paper (eq. 52) is 𝒫 = ϱP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import hermitian as hm
from .errors import ConfigError
from .matrices import PAULI


@dataclass(frozen=True)
class State:
    """Spectral state of the hybrid system.

    Attributes
    ----------
    rho_lm : ndarray (nlm,), complex
        Coefficients of ϱ, normalized so that ∫ϱ dA = 1.
    p_lm : ndarray (N², nlm), complex
        Coefficients of the Hermitian-basis components of P (Tr P = 1 pointwise).
    q_lm : ndarray (nlm,), complex, or None
        Coefficients of q = ln J, J the area ratio of the flow of X since the start of the
        run (:mod:`spectral_qc.characteristics`); None when not tracked.

    On a ProductGrid (several spins) every array holds the grid's real tensor
    coefficients instead: ``(ncoef,)``, ``(N², ncoef)`` and ``(ncoef,)`` float64, and J is
    the ratio of the product measure dA_1 … dA_j.
    """

    rho_lm: np.ndarray
    p_lm: np.ndarray
    q_lm: np.ndarray | None = None

    @property
    def N(self) -> int:
        """Number of quantum levels."""
        return hm.size_from_components(self.p_lm.shape[0])

    def copy(self) -> "State":
        q = None if self.q_lm is None else self.q_lm.copy()
        return State(self.rho_lm.copy(), self.p_lm.copy(), q)


def initial_state(config, grid) -> State:
    """ϱ0 and P0 of a config (:class:`~spectral_qc.config.Config`) on a grid (uniform P0
    from the config's density matrix; P ≡ 1 for a scalar model, N = 1)."""
    c = config.initial.classical
    if c.kind == "mixture":
        rho = mixture(grid, c.components)
    else:
        rho = von_mises_fisher(grid, c.center, c.kappa)
    density = np.ones((1, 1)) if config.N == 1 else config.initial.quantum.density
    return state_from_grid(grid, rho, uniform_density_matrix(grid, density))


def product_density(grid, factors) -> np.ndarray:
    """ϱ0(n_1, …, n_j) = Π_a ϱ0_a(n_a) on a ProductGrid, each factor of unit mass on its sphere.

    Parameters
    ----------
    grid : ProductGrid
    factors : j :class:`~spectral_qc.config.ClassicalConfig` (``von_mises_fisher`` or
        ``mixture``), one per spin

    Returns
    -------
    ndarray ``grid.shape``
        An all-von-Mises–Fisher product equals
        :func:`spectral_qc.models.product.von_mises_fisher_product` bit for bit; a mixture
        factor is Σ_k w_k vMF_k / Σ_k w_k (as :func:`mixture` on one sphere).
    """
    if len(factors) != grid.j:
        raise ConfigError(f"initial.classical.factors: {len(factors)} given, the grid has "
                          f"j = {grid.j} spins; give one per spin")
    rho = np.ones(())
    for n, f in zip(grid.n, factors):
        if f.kind == "von_mises_fisher":
            value = von_mises_fisher_values(n, f.center, f.kappa)
        else:
            weights = np.array([w for _, _, w in f.components], float)
            value = sum(w * von_mises_fisher_values(n, c, k) for c, k, w in f.components) / weights.sum()
        rho = rho * value
    return np.broadcast_to(rho, grid.shape)


def von_mises_fisher_values(n, center, kappa) -> np.ndarray:
    """C exp(κ (n·c − 1)) at the unit vectors ``n`` (3, ...), C = κ/(2π(1 − e^{−2κ})) (1/(4π)
    for κ = 0): one factor of a product density (:func:`product_density`,
    :func:`spectral_qc.models.product.von_mises_fisher_product`)."""
    c = np.asarray(center, float) / np.linalg.norm(center)
    norm = 1 / (4 * np.pi) if kappa == 0 else kappa / (2 * np.pi * (1 - np.exp(-2 * kappa)))
    return norm * np.exp(kappa * (np.tensordot(c, n, axes=(0, 0)) - 1))


def state_from_grid(grid, rho, P) -> State:
    """Build a State from grid values.

    Parameters
    ----------
    grid : SphereGrid, or ProductGrid (then rho ``grid.shape``, P ``(N, N, *grid.shape)``)
    rho : array_like (nlat, nphi), real
    P : array_like (N, N, nlat, nphi), complex Hermitian

    Returns
    -------
    State
    """
    rho = np.asarray(rho, dtype=float)
    P = np.asarray(P)
    if rho.shape != grid.shape:
        raise ConfigError(f"rho must have shape {grid.shape} (nlat, nphi), got {rho.shape}")
    if P.ndim != 2 + len(grid.shape) or P.shape[0] != P.shape[1] or P.shape[2:] != grid.shape:
        where = (f"{grid.nlat}, {grid.nphi}" if len(grid.shape) == 2  # one sphere
                 else ", ".join(map(str, grid.shape)))
        raise ConfigError(f"P must have shape (N, N, {where}), got {P.shape}")
    if not hm.is_hermitian(P, tol=1e-10 * max(1.0, np.abs(P).max())):
        raise ConfigError("P is not Hermitian at every grid point")
    return State(grid.analysis(rho), grid.analysis(hm.to_components(P)))


def von_mises_fisher(grid, center, kappa) -> np.ndarray:
    """ϱ0(n) = C exp(κ (n·n0 − 1)) on the grid, with ∫ϱ0 dA = 1 exactly (analytic C).

    C = κ / (2π (1 − e^{−2κ})) for κ > 0 and 1/(4π) for κ = 0.

    Parameters
    ----------
    center : array_like (3,), non-zero (normalized here)
    kappa : float ≥ 0, concentration

    Returns
    -------
    ndarray (nlat, nphi)
    """
    c = np.asarray(center, float)
    norm = np.linalg.norm(c)
    if c.shape != (3,) or norm == 0:
        raise ConfigError(f"initial.classical.center = {center!r}: must be a non-zero 3-vector")
    if kappa < 0:
        raise ConfigError(f"initial.classical.kappa = {kappa}: must be ≥ 0")
    c = c / norm
    cos_ang = np.tensordot(c, grid.n, axes=1)
    if kappa == 0:
        return np.full(grid.shape, 1 / (4 * np.pi))
    return kappa / (2 * np.pi * -np.expm1(-2 * kappa)) * np.exp(kappa * (cos_ang - 1))


def mixture(grid, components) -> np.ndarray:
    """Weighted sum of von Mises–Fisher densities, renormalized to unit mass.

    ``components`` is a sequence of ``(center, kappa, weight)``.
    """
    weights = np.array([w for _, _, w in components], float)
    total = sum(w * von_mises_fisher(grid, c, k) for c, k, w in components)
    return total / weights.sum()


def uniform_density_matrix(grid, density) -> np.ndarray:
    """P(n) = ρ0 at every point; ``density`` (N, N) → ``(N, N, nlat, nphi)``."""
    d = np.asarray(density, complex)
    return np.broadcast_to(d[:, :, None, None], d.shape + grid.shape).copy()


def density_matrix_field(grid, func) -> np.ndarray:
    """P(n) from a callable ``func(n) -> (N, N, ...)`` evaluated on ``grid.n`` (3, nlat, nphi).

    The result is checked to be Hermitian with unit trace (tolerance 1e-10).
    """
    P = np.asarray(func(grid.n), complex)
    if P.ndim != 4 or P.shape[2:] != grid.shape:
        raise ConfigError(f"P(n) callable must return (N, N, {grid.nlat}, {grid.nphi}), "
                         f"got {P.shape}")
    if np.max(np.abs(hm.trace(P) - 1)) > 1e-10:
        raise ConfigError("P(n) callable: Tr P must equal 1 at every point")
    return P


def bloch_density(bloch) -> np.ndarray:
    """Qubit density matrix (1 + b·σ)/2 from a Bloch vector, |b| ≤ 1."""
    b = np.asarray(bloch, float)
    sig = hm.basis(2)[1:] * np.sqrt(2)
    return 0.5 * (np.eye(2) + np.einsum("a,aij->ij", b, sig))


def bloch_field(b) -> np.ndarray:
    """Qubit density matrices (1 + b·σ)/2 of a Bloch-vector field ``b`` ``(3, ...)``.

    Returns ``(2, 2, ...)`` complex (exact Pauli matrices; |b| ≤ 1 for a density matrix).
    """
    b = np.asarray(b)
    sigma = np.stack([PAULI["X"], PAULI["Y"], PAULI["Z"]])
    one = PAULI["I"].reshape(2, 2, *([1] * (b.ndim - 1)))
    return 0.5 * (one + np.einsum("a...,aij->ij...", b, sigma))


def spin_coherent_field(grid, axis_tilt=1.0) -> np.ndarray:
    """A correlated pure qubit state: P(n) = (1 + m(n)·σ)/2 with m the unit vector of
    ``(nx, ny, axis_tilt·nz)`` — the qubit Bloch vector follows the classical spin.

    Returns ``(2, 2, nlat, nphi)``.
    """
    m = grid.n * np.array([1.0, 1.0, axis_tilt])[:, None, None]
    m = m / np.linalg.norm(m, axis=0)
    sig = hm.basis(2)[1:] * np.sqrt(2)
    return 0.5 * (np.eye(2)[:, :, None, None] + np.einsum("a...,aij->ij...", m, sig))


def two_qubit_correlated_field(grid) -> np.ndarray:
    """A pure two-qubit P(n) = |ψ(n)⟩⟨ψ(n)| correlated with n (benchmarks, tests).

    ψ(n) ∝ (1, nx + i ny, (0.5 + 0.2i) nz, nx nz + 0.3i), normalized pointwise;
    returns ``(4, 4, nlat, nphi)``.
    """
    nx, ny, nz = grid.n
    psi = np.stack([np.ones(grid.shape) + 0j, nx + 1j * ny, (0.5 + 0.2j) * nz, nx * nz + 0.3j])
    psi /= np.linalg.norm(psi, axis=0)
    return np.einsum("i...,j...->ij...", psi, psi.conj())
