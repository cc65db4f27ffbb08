"""Models whose generator is the Hamiltonian itself: Liouville and Ehrenfest."""

from __future__ import annotations

import numpy as np

from . import register_model
from .base import Fields, Model, expectation_gradient


class _StaticGenerator(Model):
    """𝒦 = H: the velocity uses the precomputed ∇H, ``Tr(P∇H) = Σ_a p_a ∇h_a``."""

    static_generator = True

    def generator_from_fields(self, f: Fields) -> np.ndarray:
        return self.H

    def generator_components(self, f: Fields) -> np.ndarray:
        return self.h

    def expected_generator_gradient(self, f: Fields, K=None) -> np.ndarray:
        return expectation_gradient(f.p, self.grad_h, self.grad_h_rows)


@register_model("ehrenfest")
class Ehrenfest(_StaticGenerator):
    """Ehrenfest model: 𝒦 = H (spin analogue of the paper's eq. 1).

    Each classical point carries its own quantum state: the continuum limit of
    independent trajectories ``dn/dt = ⟨X_H⟩``, ``iħ dψ/dt = H(n)ψ``;
    ``∂tϱ = −div(ϱ⟨X_H⟩)``, ``∂tP = −⟨X_H⟩·∇P − (i/ħ)[H, P]``.
    """

    name = "ehrenfest"


@register_model("liouville")
class Liouville(_StaticGenerator):
    """Classical Liouville equation ∂tϱ = {H, ϱ} (paper eq. 5), N = 1, 𝒦 = H.

    X = X_H = (1/S) ∇H × n is divergence free, so −div(ϱX) = −X_H·∇ϱ = {H, ϱ}.
    """

    name = "liouville"
    scalar_only = True

    matrix_alternative = "kind = 'ehrenfest' or 'hybrid'"
