"""The hybrid model of several classical spins: eq. 55 with its ħ-terms on (S²)^j.

With the §4.4 bracket {F, G} = Σ_a (1/S_a) n_a·(∇_a F × ∇_a G), the generator of the one-spin
hybrid model (:mod:`spectral_qc.models.hybrid`),

.. math::

    𝒦 = H + iħ\\left(\\{P,H\\} + \\{H,P\\} + \\tfrac12 [P, \\{\\ln ϱ, H\\}]\\right)
        - \\tfrac{iħ}{2} \\operatorname{Tr}\\!\\left(P(\\{P,H\\} + \\{H,P\\})\\right) 1,

is *linear* in the bracket, hence the sum over the spins of the one-spin ħ-part evaluated
with the tangent pair and S_a of each spin; so is the ħ-part of the energy (eq. 50). The
regularizations (heat kernel per factor, :meth:`ProductGrid.heat_kernel`) and everything
else are the one-spin code.
"""

from __future__ import annotations

import numpy as np

from .. import hermitian as hm
from .. import kernels
from .hybrid import (Hybrid, quantum_energy_density_components, quantum_generator_components,
                     qubit_quantum_generator)
from .product import ProductTransport
from .regularizations import REGULARIZATIONS, HeatKernel, check_regularization


class ProductHybrid(ProductTransport, Hybrid):
    """The paper's hybrid model (eq. 55) of j classical spins, optionally regularized.

    Parameters
    ----------
    grid, hamiltonian, hbar, spin_magnitude : as for :class:`ProductTransport`
    regularization, alpha : as for :class:`~spectral_qc.models.hybrid.Hybrid`; the heat
        kernel is exp(α Σ_a ∇_a²).

    Attributes
    ----------
    grad_h : (2j, N², *shape) — the tangent gradients of H (all of them: the ħ-part needs them)
    """

    name = "hybrid"

    def __init__(self, grid, hamiltonian, *, regularization="none", alpha=0.0, **kw):
        check_regularization(regularization, alpha)
        ProductTransport.__init__(self, grid, hamiltonian, **kw)
        self.regularization = regularization
        self.alpha = float(alpha)
        self.regularizer = REGULARIZATIONS[regularization](grid, alpha)
        self.grad_h = np.zeros((2 * grid.j, self.N ** 2) + grid.shape)
        for (k, a), grad in self.grad_h_terms.items():
            self.grad_h[k, a] = grad
        self._h_support = hm.support_of(self.grad_h)
        self.grad_h_rows = np.array(sorted(self._h_support), dtype=np.int64)  # as ModelBase
        # qubit: (√2/S_a) ∇_a h⃗ per spin, the compiled one-spin generator's input
        self._grad_h_scaled_pairs = ([(np.sqrt(2) / s) * self.grad_h[2 * a:2 * a + 2, 1:]
                                      for a, s in enumerate(self.spin_magnitudes)]
                                     if self.N == 2 else None)
        self._fused_per_spin = self.N == 2 and isinstance(self.regularizer, HeatKernel) and (
            type(self.regularizer).quantum_fields_components
            is HeatKernel.quantum_fields_components)

    def _pairs(self, *fields):
        """Per spin a: the tangent pairs ``x[2a:2a+2]`` of each field, and S_a."""
        for a, s in enumerate(self.spin_magnitudes):
            yield tuple(x[2 * a:2 * a + 2] for x in fields) + (s,)

    def quantum_part(self, f):
        """Components of the generator's ħ-part: Σ_a of the one-spin ħ-part of spin a."""
        g = f.cache.get("g")
        if g is None:
            if self._fused_per_spin:  # qubit with the heat kernel: one pass per spin
                g = f.cache["g"] = self.regularizer.smooth_generator_components(
                    self._smoothed_qubit_generator_per_spin(f))
                return g
            rho, grad_rho, p, grad_p = self.regularizer.quantum_fields_components(f, self.N)
            if self.N == 2:  # the compiled qubit generator, spin by spin
                g = sum(qubit_quantum_generator(rho, gr, p, gp, hs, self.hbar)
                        for (gr, gp, _), hs in zip(self._pairs(grad_rho, grad_p),
                                                   self._grad_h_scaled_pairs))
            else:
                g = sum(quantum_generator_components(rho, gr, p, gp, gh, self.hbar, s,
                                                     self._h_support)
                        for gr, gp, gh, s in self._pairs(grad_rho, grad_p, self.grad_h))
            g = f.cache["g"] = self.regularizer.smooth_generator_components(g)
        return g

    def _smoothed_qubit_generator_per_spin(self, f):
        """G(𝒬) of a qubit with the heat kernel, before the last smoothing: Σ_a of the
        one-spin compiled pass (P̃, ∇_aP̃ and the generator at the smoothed state; G is linear
        in the bracket) with spin a's tangent pair of ∇𝒬 and (√2/S_a)∇_a h⃗."""
        reg = self.regularizer
        q, grad_q = reg.smoothed_state(f)
        flat = hm._flat
        total, g = None, np.empty(q.shape)
        for a, hs in enumerate(self._grad_h_scaled_pairs):
            if not kernels.smoothed_qubit_generator(
                    flat(q), flat(grad_q[2 * a]), flat(grad_q[2 * a + 1]), float(np.sqrt(2)),
                    flat(hs[0]), flat(hs[1]), self.hbar, g.reshape(4, -1)):
                raise reg.smoothed_density_lost(np.sqrt(2) * q[0])
            if total is None:
                total, g = g, np.empty(q.shape)
            else:
                total += g
        return total

    def expected_generator_gradient(self, f, K=None):
        """Tr(P∇𝒦) = Tr(P∇H) + Tr(P∇G) (product rule), ``(2j, *shape)``."""
        return Hybrid.expected_generator_gradient(self, f, K)

    def energy_from_fields(self, f) -> float:
        """h (eq. 50) with the §4.4 bracket, or h_α with the ħ-part at 𝒬 = S_α𝒫."""
        rho, grad_rho, p, grad_p = self.regularizer.quantum_fields_components(f, self.N)
        e_q = sum(quantum_energy_density_components(rho, gr, p, gp, gh, self.hbar, s,
                                                    self._h_support)
                  for gr, gp, gh, s in self._pairs(grad_rho, grad_p, self.grad_h))
        return ProductTransport.energy_from_fields(self, f) + float(self.grid.integrate(e_q))
