"""Koopman wave equations on the sphere: KvN (eq. 13), KvH (eq. 14), hybrid KvH (eq. 29).

All three are one linear equation for an ensemble of wavefunctions Υ(n) ∈ C^N,

.. math::

    iħ ∂_t Υ = \\mathcal L_H Υ = iħ\\{H, Υ\\} − (n·∇H − H) Υ ,
    \\qquad \\{H, Υ\\}_a = Σ_b \\{H_{ab}, Υ_b\\},

with the bracket {f, g} = (1/S)(f_θ g_φ − f_φ g_θ) of the rest of the package and the phase
term L = n·∇H − H (the classical Lagrangian, eq. 7 with ν = ∇H) from the *three-dimensional*
gradient of H as written (:meth:`~spectral_qc.hamiltonians.Hamiltonian.lagrangian`).
``kvn`` drops the phase term; ``kvh`` and ``hybrid_kvh`` keep it. With the physical spin
s = Sn the Lie–Poisson bracket is (1/S){·,·}_n while s·∇_s = n·∇_n, so only the bracket
carries S, and (H, ħ, S) is the model (H/S, ħ/S, 1) (docs/models.md).

𝓛_H is Hermitian on L²(S², dA; C^N): ``∂_tΥ = {H, Υ} + (i/ħ) L Υ`` conserves the norm
∫‖Υ‖² dA and the energy ∫⟨Υ|𝓛_H Υ⟩ dA. The sphere densities (docs/numerics.md,
"Koopman densities on the sphere") are

.. math::

    ρ_c = ‖Υ‖² + ħ \\,\\mathrm{Im}\\{Υ^†, Υ\\}, \\qquad ρ̂_q = ∫ ΥΥ^† dA ,

the marginals over a thin radial shell of the paper's eqs. 33 and 32 (the div(n·) term
integrates out).
"""

from __future__ import annotations

import numpy as np

from .. import hermitian as hm
from ..diagnostics import tail_fraction
from ..sphere import integrate
from ..states import mixture, von_mises_fisher
from ..wavestates import WaveState, koopman_initial_wave, wave_from_grid, wave_to_grid
from . import register_model
from .base import ModelBase


def _apply(matrix, upsilon):
    """Pointwise ``Σ_b A_ab Υ_b`` for A ``(N, N, ...)`` and Υ ``(M, N, ...)``."""
    if matrix.shape[0] == 1:
        return matrix[0, 0] * upsilon
    return np.einsum("ab...,mb...->ma...", matrix, upsilon)


class KoopmanModel(ModelBase):
    """A Koopman wave equation iħ∂tΥ = iħ{H, Υ} − λ(n·∇H − H)Υ, λ ∈ {0, 1}.

    Parameters
    ----------
    grid : SphereGrid
    hamiltonian : Hamiltonian
        H(n) with ``evaluate(n) -> (N, N, ...)`` and ``lagrangian(n)`` (n·∇H − H).
    hbar : float > 0
    spin_magnitude : float > 0
        S in {f, g} = (1/S)(f_θ g_φ − f_φ g_θ).

    Attributes
    ----------
    H : (N, N, nlat, nphi) complex — H on the grid
    grad_H : (2, N, N, nlat, nphi) complex — its orthonormal gradient (from the
        band-limited H, computed once)
    L : (N, N, nlat, nphi) complex — the phase term n·∇H − H (zero for KvN)
    """

    name = "koopman"
    #: Steppers (``[solver] scheme``) and the default: RK4, chosen by measurement
    #: (docs/models.md).
    schemes = ("rk4", "strang", "yoshida4")
    #: Whether the phase term −(n·∇H − H)Υ is part of the equation.
    phase_term = True
    #: The model acts on :class:`~spectral_qc.wavestates.WaveState` (not on (ϱ, P)).
    state_type = WaveState
    #: 𝓛_H does not depend on the state.
    static_generator = True
    default_scheme = "rk4"

    def __init__(self, grid, hamiltonian, *, hbar=1.0, spin_magnitude=1.0):
        super().__init__(grid, hamiltonian, hbar=hbar, spin_magnitude=spin_magnitude)
        grad_h = grid.gradient(grid.analysis(hm.to_components(self.H)))
        self.grad_H = np.stack([hm.from_components(grad_h[0]), hm.from_components(grad_h[1])])
        if self.phase_term:
            self.L = np.asarray(hamiltonian.lagrangian(grid.n), complex)
        else:
            self.L = np.zeros_like(self.H)
        self._phases = {}

    def __repr__(self):
        return (f"{type(self).__name__}(N={self.N}, hbar={self.hbar}, "
                f"spin_magnitude={self.spin_magnitude}, lmax={self.grid.lmax})")

    # ------------------------------------------------------------ operators
    def gradients(self, upsilon_lm):
        """Complex orthonormal gradient of Υ, ``(2, M, N, nlat, nphi)`` (2MN transforms)."""
        g = self.grid.gradient(upsilon_lm)
        return g[:, :, 0] + 1j * g[:, :, 1]

    def bracket_on_grid(self, grad_upsilon):
        """{H, Υ}_a = (1/S) Σ_b (∂θH_ab ∂φΥ_b − ∂φH_ab ∂θΥ_b), ``(M, N, nlat, nphi)``."""
        gh = self.grad_H
        return (_apply(gh[0], grad_upsilon[1]) - _apply(gh[1], grad_upsilon[0])) \
            / self.spin_magnitude

    def transport_rate(self, upsilon_lm):
        """Coefficients of ∂tΥ = {H, Υ} (the transport sub-flow), ``(M, 2, N, nlm)``."""
        return wave_from_grid(self.grid, self.bracket_on_grid(self.gradients(upsilon_lm)))

    def rate(self, upsilon_lm):
        """Coefficients of the full ∂tΥ = −(i/ħ)𝓛_H Υ = {H, Υ} + (i/ħ) L Υ."""
        upsilon = wave_to_grid(self.grid, upsilon_lm)
        rhs = self.bracket_on_grid(self.gradients(upsilon_lm))
        rhs += (1j / self.hbar) * _apply(self.L, upsilon)
        return wave_from_grid(self.grid, rhs)

    def phase_unitary(self, tau):
        """U = exp(i L τ/ħ) per point, ``(N, N, nlat, nphi)`` (cached by τ)."""
        u = self._phases.get(tau)
        if u is None:
            if len(self._phases) >= 8:
                self._phases.clear()
            if self.N == 1:
                u = np.exp(1j * self.L.real * (tau / self.hbar))[None, None]
            else:
                w, v = np.linalg.eigh(hm.to_matrices_last(self.L))
                um = (v * np.exp(1j * w * (tau / self.hbar))[..., None, :]) \
                    @ np.conj(np.swapaxes(v, -1, -2))
                u = np.moveaxis(np.moveaxis(um, -1, 0), -1, 0)
            self._phases[tau] = u
        return u

    def apply_phase(self, upsilon_lm, tau):
        """Coefficients of exp(iLτ/ħ)Υ: the phase sub-flow iħ∂tΥ = −LΥ over τ, exact."""
        if not self.phase_term:
            return upsilon_lm
        upsilon = wave_to_grid(self.grid, upsilon_lm)
        return wave_from_grid(self.grid, _apply(self.phase_unitary(tau), upsilon))

    def liouvillian(self, state: WaveState):
        """𝓛_H Υ = iħ{H, Υ} − LΥ on the grid, ``(M, N, nlat, nphi)`` complex."""
        upsilon = wave_to_grid(self.grid, state.upsilon_lm)
        bracket = self.bracket_on_grid(self.gradients(state.upsilon_lm))
        return 1j * self.hbar * bracket - _apply(self.L, upsilon)

    # ------------------------------------------------------------ densities
    def integrate_field(self, f):
        """∫ f dA over the grid's sphere for grid fields ``(..., nlat, nphi)``; ``(...)``."""
        return integrate(self.grid, f)

    def wave(self, state: WaveState):
        """Υ on the grid, ``(M, N, nlat, nphi)`` complex."""
        return wave_to_grid(self.grid, state.upsilon_lm)

    def classical_density_from(self, upsilon, grad_upsilon):
        """ρc = Σ_k (‖Υ‖² + ħ Im{Υ†, Υ}) on the sphere (paper eq. 33, radial marginal).

        Im{Υ_a*, Υ_a} = (2/S)(∂θu ∂φv − ∂φu ∂θv) for Υ_a = u + iv; ``(nlat, nphi)``.
        """
        norm2 = np.sum(np.abs(upsilon) ** 2, axis=(0, 1))
        gt, gp = grad_upsilon
        berry = np.sum(np.imag(np.conj(gt) * gp), axis=(0, 1))  # Im(Υθ* Υφ) = uθvφ − vθuφ
        return norm2 + (2 * self.hbar / self.spin_magnitude) * berry

    def classical_density(self, state: WaveState):
        """ρc on the grid, ``(nlat, nphi)`` (see :meth:`classical_density_from`)."""
        return self.classical_density_from(self.wave(state), self.gradients(state.upsilon_lm))

    def quantum_density(self, state: WaveState):
        """ρ̂q = Σ_k ∫ Υ⁽ᵏ⁾Υ⁽ᵏ⁾† dA (paper eq. 32), ``(N, N)`` complex."""
        upsilon = self.wave(state)
        return self.integrate_field(np.einsum("ma...,mb...->ab...", upsilon, np.conj(upsilon)))

    def norm(self, state: WaveState) -> float:
        """∫ Σ_k ‖Υ⁽ᵏ⁾‖² dA."""
        return float(self.integrate_field(np.sum(np.abs(self.wave(state)) ** 2, axis=(0, 1))))

    def energy_from(self, upsilon, grad_upsilon) -> float:
        """∫ ⟨Υ|𝓛_H Υ⟩ dA = Re ∫ Υ†(iħ{H, Υ} − LΥ) dA, summed over the ensemble."""
        lh = 1j * self.hbar * self.bracket_on_grid(grad_upsilon) - _apply(self.L, upsilon)
        return float(np.real(self.integrate_field(np.sum(np.conj(upsilon) * lh, axis=(0, 1)))))

    def energy(self, state: WaveState) -> float:
        """The conserved energy ∫⟨Υ|𝓛_H Υ⟩ dA (paper eq. 15/30), a float."""
        return self.energy_from(self.wave(state), self.gradients(state.upsilon_lm))

    def spectral_tail(self, state: WaveState) -> float:
        """Fraction of ∫‖Υ‖² dA in the top 10% of degrees."""
        return tail_fraction(self.grid, state.upsilon_lm)

    # --------------------------------------------------- driver entry points
    def initial_state(self, config) -> WaveState:
        """Υ0 = √ϱ0 ψ0 from the config's ``[initial]`` tables (mixed ρ0: an ensemble,
        :func:`~spectral_qc.wavestates.koopman_initial_wave`)."""
        c = config.initial.classical
        if c.kind == "mixture":
            rho0 = mixture(self.grid, c.components)
        else:
            rho0 = von_mises_fisher(self.grid, c.center, c.kappa)
        density = np.ones((1, 1)) if self.N == 1 else config.initial.quantum.density
        return koopman_initial_wave(self.grid, rho0, density)

    def make_integrator(self, scheme=None, *, spectral_filter=False):
        """A stepper for this model (:mod:`spectral_qc.koopman_integrators`); default
        :attr:`default_scheme` (RK4: energy drift 7e-10 against 5e-6 for Strang at the same
        cost, docs/models.md)."""
        from ..koopman_integrators import make_koopman_integrator

        return make_koopman_integrator(scheme or self.default_scheme, self,
                                       spectral_filter=spectral_filter)

    @property
    def diagnostic_table(self) -> dict:
        """Name → :class:`~spectral_qc.diagnostics.Diagnostic` of :meth:`diagnostics`."""
        from ..wave_diagnostics import WAVE_DIAGNOSTICS

        return WAVE_DIAGNOSTICS

    def diagnostics(self, state: WaveState, names=None) -> dict:
        """The wave diagnostics (:mod:`spectral_qc.wave_diagnostics`), name → value."""
        from ..wave_diagnostics import evaluate

        return evaluate(self, state, names)


@register_model("kvn")
class KvN(KoopmanModel):
    """Koopman–von Neumann: iħ∂tχ = iħ{H, χ} (paper eq. 13); |χ|² obeys eq. 5, N = 1."""

    name = "kvn"
    scalar_only = True
    matrix_alternative = "kind = 'hybrid_kvh' for a matrix H"
    phase_term = False


@register_model("kvh")
class KvH(KoopmanModel):
    """Koopman–van Hove: iħ∂tχ = iħ{H, χ} − (n·∇H − H)χ (paper eq. 14), N = 1."""

    name = "kvh"
    scalar_only = True
    matrix_alternative = "kind = 'hybrid_kvh' for a matrix H"


@register_model("hybrid_kvh")
class HybridKvH(KoopmanModel):
    """Quantum-classical KvH: iħ∂tΥ = iħ{H, Υ} − (n·∇H − H)Υ, Υ ∈ C^N (paper eq. 29)."""

    name = "hybrid_kvh"
