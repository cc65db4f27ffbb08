"""Koopman wave equations of several classical spins on (S²)^j: KvN, KvH, hybrid KvH.

The one-spin equations (:mod:`spectral_qc.models.koopman`; paper eqs. 13, 14, 29) with the
§4.4 bracket {F, G} = Σ_a (1/S_a) n_a·(∇_a F × ∇_a G) (eq. 55's setting),

.. math::

    iħ ∂_t Υ = iħ\\{H, Υ\\} − λ L Υ,\\qquad
    \\{H, Υ\\} = Σ_a \\frac{1}{S_a}(∂_{θa}H\\, ∂_{φa}Υ − ∂_{φa}H\\, ∂_{θa}Υ),\\qquad
    L = Σ_a n_a·∇_{n_a}H − H,

λ = 0 (KvN) or 1 (KvH, hybrid KvH). L is the Lagrangian Σ_a n_a·ν_a − H of the j rotors
(eq. 7 for each spin) at ν_a = ∇_{n_a}H, the 3-D gradient in n_a of H as written
(:meth:`~spectral_qc.product_hamiltonians.ProductHamiltonian.lagrangian`); §3.1 builds
eq. 29 from exactly this two-spin KvH equation. With s_a = S_a n_a only the bracket carries
the S_a (s_a·∇_{s_a} = n_a·∇_{n_a}).

𝓛_H is Hermitian on L²((S²)^j; C^N) (each factor's bracket is, and L is real-symmetric
pointwise), so the norm ∫‖Υ‖² dμ and the energy ∫⟨Υ|𝓛_H Υ⟩ dμ are conserved
(dμ = dA_1 … dA_j). The densities are those of one spin with the §4.4 bracket
(docs/koopman.md, "Several classical spins"):

.. math::

    ρ_c = ‖Υ‖² + ħ \\,\\mathrm{Im}\\{Υ^†, Υ\\}
        = ‖Υ‖² + Σ_a \\frac{2ħ}{S_a} \\mathrm{Im}(∂_{θa}Υ^† ∂_{φa}Υ),
    \\qquad ρ̂_q = ∫ ΥΥ^† dμ ,

the marginals of eqs. 33 and 32 over thin radial shells of every n_a (each div(n_a ·) term
integrates out, spin by spin).

States are :class:`~spectral_qc.wavestates.WaveState` with ``upsilon_lm`` ``(M, 2, N,
ncoef)`` real (the product grid's real tensor coefficients of Re Υ and Im Υ). The steppers
are the one-spin ones (:mod:`spectral_qc.koopman_integrators`).
"""

from __future__ import annotations

import numpy as np

from .. import hermitian as hm
from ..diagnostics import Diagnostic, product_tail_fraction
from ..errors import ConfigError
from ..states import product_density
from ..wavestates import WaveState, koopman_initial_wave, wave_from_grid
from .koopman import KoopmanModel, _apply
from .product import ProductTransport, product_model_setup

class ProductKoopman(KoopmanModel):
    """A Koopman wave equation of j classical spins (see the module docstring).

    Parameters
    ----------
    grid : ProductGrid
    hamiltonian : ProductHamiltonian (``evaluate``, ``components``, ``lagrangian`` of j
        arrays ``(3, ...)``)
    hbar : float > 0
    spin_magnitude : float or sequence of j floats > 0 — S_a of every classical spin

    Attributes
    ----------
    spin_magnitudes : tuple of j floats
    H : None — H on the grid is not stored (its gradients and L are)
    grad_h_terms : dict (k, c) → array — tangent gradient component k of H's real component
        h_c (:meth:`ProductTransport._compact_gradients`: size 1 along the spins h_c does not
        depend on), from the band-limited H
    L : (N, N, *shape) complex — Σ_a n_a·∇_{n_a}H − H (KvN: zero, ``(N, N, 1, …, 1)``)
    """

    name = "product_koopman"

    def __init__(self, grid, hamiltonian, *, hbar=1.0, spin_magnitude=1.0):
        h = product_model_setup(self, grid, hamiltonian, hbar, spin_magnitude)
        full = (self.N, self.N) + grid.shape
        self.grad_h_terms = ProductTransport._compact_gradients(self, grid.analysis(h))
        self._trace_gradient, self._matrix_gradient = self._split_gradients()
        if self.phase_term:
            self.L = np.ascontiguousarray(np.broadcast_to(
                np.asarray(hamiltonian.lagrangian(grid.n), complex), full))
        else:  # KvN: a broadcastable zero (the full field would be the largest array)
            self.L = np.zeros((self.N, self.N) + (1,) * len(grid.shape), complex)
        self._phases = {}

    def __repr__(self):
        return (f"{type(self).__name__}(N={self.N}, hbar={self.hbar}, "
                f"spin_magnitude={list(self.spin_magnitudes)}, lmax={list(self.grid.lmax)})")

    def _split_gradients(self):
        """∇_k H = ∇_k h_0 E_0 + Σ_{c≥1} ∇_k h_c E_c from the compact gradients: the trace part
        as a real field per k (E_0 = 1/√N), the rest as matrix fields ``(N, N, …)`` that keep
        the compact shapes (size 1 along the spins they do not depend on)."""
        e = hm.basis(self.N)
        trace, matrix = {}, {}
        for (k, c), grad in self.grad_h_terms.items():
            if c == 0:
                trace[k] = grad * e[0, 0, 0].real
            else:
                m = np.multiply.outer(e[c], grad)
                matrix[k] = m if k not in matrix else matrix[k] + m
        return trace, matrix

    # ------------------------------------------------------------ operators
    def bracket_on_grid(self, grad_upsilon):
        """{H, Υ}_a = Σ_s (1/S_s) Σ_b (∂θs H_ab ∂φs Υ_b − ∂φs H_ab ∂θs Υ_b) (§4.4 bracket),
        from the complex gradients ``(2j, M, N, *shape)``; ``(M, N, *shape)``."""
        out = np.zeros(grad_upsilon.shape[1:], complex)
        for k in range(2 * self.grid.j):
            a, is_phi = divmod(k, 2)
            partner = grad_upsilon[k - 1 if is_phi else k + 1]  # ∂θ pairs with ∂φ
            w = (-1.0 if is_phi else 1.0) / self.spin_magnitudes[a]
            if k in self._trace_gradient:
                out += (w * self._trace_gradient[k]) * partner
            if k in self._matrix_gradient:
                out += w * _apply(self._matrix_gradient[k], partner)
        return out

    def integrate_field(self, f):
        """∫ f dA_1 … dA_j for grid fields ``(..., *shape)``; ``(...)``."""
        return self.grid.integrate(f)

    # ------------------------------------------------------------ densities
    def classical_density_from(self, upsilon, grad_upsilon):
        """ρc = Σ_k (‖Υ‖² + ħ Im{Υ†, Υ}) with the §4.4 bracket (paper eq. 33, marginal over
        the radial shells), ``grid.shape``: Im{Υ_a*, Υ_a} = Σ_s (2/S_s) Im(∂θs Υ_a* ∂φs Υ_a)."""
        rho = np.sum(np.abs(upsilon) ** 2, axis=(0, 1))
        for a, s in enumerate(self.spin_magnitudes):
            berry = np.sum(np.imag(np.conj(grad_upsilon[2 * a]) * grad_upsilon[2 * a + 1]),
                           axis=(0, 1))
            rho = rho + (2 * self.hbar / s) * berry
        return rho

    def spectral_tail(self, state: WaveState) -> float:
        """Largest over the spins a of the fraction of ∫‖Υ‖² dμ in the top 10% of the degrees
        l_a (:func:`product_tail_fraction`)."""
        return product_tail_fraction(self.grid, state.upsilon_lm)

    # --------------------------------------------------- driver entry points
    def initial_state(self, config) -> WaveState:
        """Υ0 = √ϱ0 ψ0 for a config of several spins: ϱ0 the product of the
        ``[initial.classical] factors`` (:func:`spectral_qc.states.product_density`), ψ0 of
        ``[initial.quantum]``. Other initial densities: :func:`product_initial_wave`."""
        factors = getattr(config.initial.classical, "factors", None)
        if not factors:
            raise ConfigError("initial.classical: the Koopman models of several spins start "
                              "from kind = 'product' with one factor per spin; build other "
                              "states with spectral_qc.models.product_koopman."
                              "product_initial_wave")
        rho0 = product_density(self.grid, factors)
        density = np.ones((1, 1)) if self.N == 1 else config.initial.quantum.density
        return product_initial_wave(self.grid, rho0, density)

    @property
    def diagnostic_table(self) -> dict:
        """Name → Diagnostic: the wave diagnostics, ``n_mean`` with a spin axis for j ≥ 2."""
        return product_wave_diagnostics(self.grid.j)

    def diagnostics(self, state: WaveState, names=None) -> dict:
        """The wave diagnostics on the product (:func:`product_wave_diagnostics`)."""
        from ..wave_diagnostics import WaveSnapshot

        table = self.diagnostic_table
        snap = WaveSnapshot(self, state)
        return {n: table[n].func(snap) for n in (table if names is None else names)}


class ProductKvN(ProductKoopman):
    """Koopman–von Neumann of j spins: iħ∂tχ = iħ{H, χ} (eq. 13, §4.4 bracket); |χ|² obeys
    the Liouville equation of the j spins. N = 1."""

    name = "kvn"
    scalar_only = True
    matrix_alternative = "ProductHybridKvH for a matrix H"
    phase_term = False


class ProductKvH(ProductKoopman):
    """Koopman–van Hove of j spins: iħ∂tχ = iħ{H, χ} − (Σ_a n_a·∇_{n_a}H − H)χ (eq. 14,
    §4.4 bracket). N = 1."""

    name = "kvh"
    scalar_only = True
    matrix_alternative = "ProductHybridKvH for a matrix H"


class ProductHybridKvH(ProductKoopman):
    """Quantum-classical KvH of j classical spins: iħ∂tΥ = iħ{H, Υ} − (Σ_a n_a·∇_{n_a}H − H)Υ,
    Υ ∈ C^N (eq. 29 with the §4.4 bracket)."""

    name = "hybrid_kvh"


# ------------------------------------------------------------------- states
def product_initial_wave(grid, rho0, density=None) -> WaveState:
    """Υ0⁽ᵏ⁾ = √ϱ0 √λ_k ψ_k on the product grid (:func:`~spectral_qc.wavestates.
    koopman_initial_wave`): ϱ0 ``grid.shape`` ≥ 0, ρ0 ``(N, N)`` (default ``[[1]]``)."""
    density = np.ones((1, 1)) if density is None else density
    return koopman_initial_wave(grid, np.asarray(rho0, float), density)


def product_wave_state(grid, upsilon) -> WaveState:
    """A WaveState from grid values ``(M, N, *shape)`` or ``(N, *shape)`` (M = 1)."""
    upsilon = np.asarray(upsilon, complex)
    if upsilon.ndim == 1 + 2 * grid.j:
        upsilon = upsilon[None]
    if upsilon.ndim != 2 + 2 * grid.j or upsilon.shape[2:] != grid.shape:
        raise ConfigError(f"upsilon must have shape (M, N, {', '.join(map(str, grid.shape))}), "
                          f"got {upsilon.shape}")
    return WaveState(wave_from_grid(grid, upsilon))


def _n_mean(s):
    """∫ ρc n_a dμ for every spin: ``(3,)`` for j = 1, ``(j, 3)`` otherwise."""
    g = s.model.grid
    means = np.stack([g.integrate(s.rho_c * np.broadcast_to(n, (3,) + g.shape)) for n in g.n])
    return means[0] if g.j == 1 else means


def product_wave_diagnostics(j) -> dict:
    """The wave diagnostics (:data:`spectral_qc.wave_diagnostics.WAVE_DIAGNOSTICS`) on a
    product of j spheres: the same names and functions, ``n_mean`` dims ``("xyz",)`` for
    j = 1 and ``("spin", "xyz")`` for j ≥ 2, ``spectral_tail`` per factor."""
    from ..wave_diagnostics import WAVE_DIAGNOSTICS

    table = dict(WAVE_DIAGNOSTICS)
    old = table["n_mean"]
    table["n_mean"] = Diagnostic("n_mean", old.long_name, old.units, _n_mean,
                                 ("xyz",) if j == 1 else ("spin", "xyz"),
                                 () if j == 1 else (("spin", j),))
    return table
