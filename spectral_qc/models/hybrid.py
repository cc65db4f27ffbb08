"""The quantum-classical hybrid model of the paper (eqs. 43, 44, 48; equivalently 52–54).

Its generator is the functional derivative of the energy (paper eq. 50),

.. math::

    h(𝒫) = ∫ \\left[\\operatorname{Tr}(𝒫H)
          + \\operatorname{Re}\\, iħ \\operatorname{Tr}(P\\{𝒫, H\\})\\right] dA,
    \\qquad 𝒫 = ϱP,

.. math::

    𝒦 = \\frac{δh}{δ𝒫} = H + iħ\\left(\\{P,H\\} + \\{H,P\\} + \\tfrac12 [P, \\{\\ln ϱ, H\\}]\\right)
        - \\tfrac{iħ}{2} \\operatorname{Tr}\\!\\left(P(\\{P,H\\} + \\{H,P\\})\\right) 1 .

The commutator [𝒦, P] equals [ℋ, P] with the paper's ℋ of eq. (54); the identity term
does not rotate P but is needed in the velocity X = (1/S) Tr(P∇𝒦) × n, which then equals
the paper's eq. (53).

Regularization (``regularization``, ``alpha``; docs/stability.md). The model as written
grows short waves at rates ∝ l². The ``"heat_kernel"`` option replaces the ħ-part g of
the energy by g(S_α𝒫), S_α = exp(α∇²):

.. math::

    h_α(𝒫) = ∫ \\operatorname{Tr}(𝒫H)\\, dA + g(S_α 𝒫), \\qquad
    𝒦_α = H + S_α\\left[\\frac{δg}{δ𝒬}\\right]_{𝒬 = S_α𝒫}.

The bracket is untouched, so every Casimir, the positivity of ϱ and P, and h_α are exact
invariants of the regularized continuum model; α = 0 gives back the model.
"""

from __future__ import annotations

import numpy as np

from .. import hermitian as hm
from ..sphere import integrate
from . import register_model
from .base import Fields, Model
from .regularizations import REGULARIZATIONS


def poisson_bracket_sum(grad_P, grad_H, spin_magnitude):
    """{P, H} + {H, P} = (1/S)([P_θ, H_φ] − [P_φ, H_θ]) for matrix fields ``(2, N, N, ...)``."""
    return (hm.commutator(grad_P[0], grad_H[1])
            - hm.commutator(grad_P[1], grad_H[0])) / spin_magnitude


def quantum_generator(rho, grad_rho, P, grad_P, grad_H, hbar, spin_magnitude):
    """The ħ-part of the hybrid generator, G = 𝒦 − H (paper eq. 54 plus the identity term).

    .. math::

        G = iħ\\left(\\{P,H\\} + \\{H,P\\} + \\tfrac12 [P, \\{\\ln ϱ, H\\}]\\right)
            - \\tfrac{iħ}{2}\\operatorname{Tr}(P(\\{P,H\\} + \\{H,P\\}))\\, 1

    Parameters
    ----------
    rho : (nlat, nphi) — ϱ > 0
    grad_rho : (2, nlat, nphi)
    P : (N, N, nlat, nphi) complex
    grad_P, grad_H : (2, N, N, nlat, nphi) complex
    hbar, spin_magnitude : float

    Returns
    -------
    G : (N, N, nlat, nphi) complex Hermitian
    """
    S = spin_magnitude
    B = poisson_bracket_sum(grad_P, grad_H, S)
    # {ln ϱ, H} = (1/S)((∂θϱ/ϱ) H_φ − (∂φϱ/ϱ) H_θ)
    L = (grad_rho[0] / rho * grad_H[1] - grad_rho[1] / rho * grad_H[0]) / S
    G = 1j * hbar * (B + 0.5 * hm.commutator(P, L))
    trace_term = -0.5j * hbar * hm.trace_product(P, B)
    G[np.arange(P.shape[0]), np.arange(P.shape[0])] += trace_term
    return G


def quantum_energy_density(rho, grad_rho, P, grad_P, grad_H, hbar, spin_magnitude):
    """The ħ-part of the energy density of eq. (50): Re(iħ Tr(P{𝒫, H})), 𝒫 = ϱP.

    ``∇𝒫 = P∇ϱ + ϱ∇P``; shapes as in :func:`quantum_generator`; returns ``(nlat, nphi)``.
    """
    grad_Pc = P[None] * grad_rho[:, None, None] + rho * grad_P
    br = (hm.matmul(grad_Pc[0], grad_H[1]) - hm.matmul(grad_Pc[1], grad_H[0])) / spin_magnitude
    return np.real(1j * hbar * hm.trace_product(P, br))


@register_model("hybrid")
class Hybrid(Model):
    """The paper's quantum-classical spin model, optionally regularized.

    Parameters
    ----------
    grid, hamiltonian, hbar, spin_magnitude
        As for :class:`~spectral_qc.models.base.Model`.
    regularization : str
        A name from :data:`~.regularizations.REGULARIZATIONS`. ``"none"``: the model exactly
        as in the paper. ``"heat_kernel"``: the smoothed Hamiltonian h_α (module
        docstring), requires ``alpha > 0``.
    alpha : float ≥ 0
        Heat-kernel time α in S_α = exp(α∇²) (unit sphere; degree l is damped by
        exp(−α l(l+1))).
    """

    name = "hybrid"

    def __init__(self, grid, hamiltonian, *, regularization="none", alpha=0.0, **kw):
        if regularization not in REGULARIZATIONS:
            raise ValueError(f"model.regularization = {regularization!r}: unknown; valid: "
                             f"{sorted(REGULARIZATIONS)}")
        reg = REGULARIZATIONS[regularization]
        if reg.needs_alpha and not alpha > 0:
            raise ValueError(f"model.alpha = {alpha}: regularization {regularization!r} "
                             "needs alpha > 0")
        if not reg.needs_alpha and alpha != 0:
            raise ValueError(f"model.alpha = {alpha}: must be 0 with regularization "
                             f"{regularization!r}")
        super().__init__(grid, hamiltonian, **kw)
        self.regularization = regularization
        self.alpha = float(alpha)
        self.regularizer = reg(grid, alpha)
        self._grad_H = np.stack([hm.from_components(self.grad_h[0]),
                                 hm.from_components(self.grad_h[1])])

    def __repr__(self):
        return super().__repr__()[:-1] + f", regularization={self.regularization!r}, " \
                                         f"alpha={self.alpha})"

    def generator_from_fields(self, f: Fields) -> np.ndarray:
        """𝒦 on the grid (module docstring); ``(N, N, nlat, nphi)`` complex Hermitian."""
        rho, grad_rho, P, grad_P = self.regularizer.quantum_fields(f, self.N)
        G = quantum_generator(rho, grad_rho, P, grad_P, self._grad_H, self.hbar,
                              self.spin_magnitude)
        return self.H + self.regularizer.smooth_generator(G)

    def expected_generator_gradient(self, f: Fields, K=None) -> np.ndarray:
        """Tr(P∇𝒦) = Tr(P∇H) (precomputed ∇H) + Tr(P∇G) (by the product rule, 2 transforms)."""
        if K is None:
            K = self.generator_from_fields(f)
        return (np.einsum("a...,ka...->k...", f.p, self.grad_h)
                + self.product_rule_gradient(f, hm.to_components(K) - self.h))

    def energy_from_fields(self, f: Fields) -> float:
        """h (eq. 50), or h_α with the ħ-part evaluated at 𝒬 = S_α𝒫."""
        rho, grad_rho, P, grad_P = self.regularizer.quantum_fields(f, self.N)
        e_q = quantum_energy_density(rho, grad_rho, P, grad_P, self._grad_H, self.hbar,
                                     self.spin_magnitude)
        return super().energy_from_fields(f) + float(integrate(self.grid, e_q))
