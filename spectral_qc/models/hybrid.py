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
from .. import kernels, transport_kernels
from ..sphere import integrate
from ..errors import ConfigError
from . import register_model
from .base import Fields, Model, expectation_gradient
from ..characteristics import SHORT_WAVE_CAUSE
from .regularizations import (REGULARIZATIONS, HeatKernel, Regularization,
                              check_regularization)


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


def quantum_generator_components(rho, grad_rho, p, grad_p, grad_h, hbar, spin_magnitude,
                                 support=None):
    """:func:`quantum_generator` in real Hermitian-basis components.

    With ``[A, B] = i F(a, b)·E`` (:func:`~spectral_qc.hermitian.commutator_components`;
    for a qubit F(a, b) = √2 a⃗ × b⃗) and b = (F(p_θ, h_φ) − F(p_φ, h_θ))/S,
    l = {ln ϱ, h}:

    .. math::

        g = −ħ b − \\tfrac{ħ}{2} F(p, l) + \\tfrac{ħ}{2}\\sqrt N (p·b)\\, e_0 .

    Parameters
    ----------
    rho : (nlat, nphi); grad_rho : (2, nlat, nphi)
    p : (N², nlat, nphi); grad_p, grad_h : (2, N², nlat, nphi)
    hbar, spin_magnitude : float
    support : frozenset, optional
        Components of ∇h that may be non-zero (:func:`~spectral_qc.hermitian.support_of`):
        the commutators skip the others (same result, fewer products).

    Returns
    -------
    g : (N², nlat, nphi) real
    """
    n2 = p.shape[0]
    if n2 > 4 and p.ndim == 3 and grad_h.shape == grad_p.shape:  # compiled (same formula)
        g = np.empty(p.shape)
        flat = hm._flat
        kernels.quantum_generator(
            np.ascontiguousarray(rho).reshape(-1), flat(grad_rho)[0], flat(grad_rho)[1],
            flat(p), flat(grad_p[0]), flat(grad_p[1]), flat(grad_h[0]), flat(grad_h[1]),
            *hm.structure_products(hm.size_from_components(n2),
                                 None if support is None else frozenset(support)),
            float(hbar), 1.0 / spin_magnitude, float(np.sqrt(hm.size_from_components(n2))),
            g.reshape(n2, -1))
        return g

    def comm(a, b):
        return hm.commutator_components(a, b, support)

    inv_s = 1.0 / spin_magnitude
    b = comm(grad_p[0], grad_h[1])
    b -= comm(grad_p[1], grad_h[0])
    b *= inv_s
    w = inv_s / rho
    l_theta, l_phi = grad_rho[0] * w, grad_rho[1] * w
    lvec = l_theta * grad_h[1] - l_phi * grad_h[0]  # {ln ϱ, H}
    g = comm(p, lvec)
    g *= -0.5 * hbar
    g -= hbar * b
    g[0] += (0.5 * hbar * np.sqrt(hm.size_from_components(p.shape[0]))) * hm.dot_components(p, b)
    return g


def _cross_minus_cross(a, b, c, d):
    """a × b − c × d for 3-vectors of fields ``(3, ...)``, with few temporaries."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    t = np.empty(out.shape[1:])
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        o = out[i]
        np.multiply(a[j], b[k], out=o)
        np.multiply(a[k], b[j], out=t)
        o -= t
        np.multiply(c[j], d[k], out=t)
        o -= t
        np.multiply(c[k], d[j], out=t)
        o += t
    return out


def qubit_quantum_generator(rho, grad_rho, p, grad_p, grad_h_scaled, hbar):
    """:func:`quantum_generator_components` for a qubit, written with cross products.

    ``grad_h_scaled`` is (√2/S) ∇h⃗, ``(2, 3, nlat, nphi)`` (the σ components of ∇H,
    precomputed once). With b⃗ = p⃗_θ × ĥ_φ − p⃗_φ × ĥ_θ (ĥ the scaled gradients) and
    l⃗ = (ϱ_θ ĥ_φ − ϱ_φ ĥ_θ)/(2ϱ):  g⃗ = −ħ (b⃗ + p⃗ × l⃗),  g_0 = (ħ/√2) p⃗·b⃗.

    Evaluated as c⃗ = b⃗ + p⃗ × l⃗ = q⃗_θ × ĥ_φ − q⃗_φ × ĥ_θ with q⃗_k = p⃗_k + (ϱ_k/2ϱ) p⃗,
    g⃗ = −ħ c⃗ and g_0 = (ħ/√2) p⃗·c⃗ (p⃗·(p⃗ × l⃗) = 0): one pair of cross products.
    """
    full = np.shape(rho) == p.shape[1:] == grad_p.shape[2:] == grad_h_scaled.shape[2:]
    if full:  # compiled, the same arithmetic (pointwise: any grid, one sphere or a product)
        g = np.empty(p.shape)
        flat = hm._flat
        gr = flat(grad_rho)
        kernels.qubit_generator(np.ascontiguousarray(rho).reshape(-1), gr[0], gr[1], flat(p),
                                flat(grad_p[0]), flat(grad_p[1]), flat(grad_h_scaled[0]),
                                flat(grad_h_scaled[1]), float(hbar), g.reshape(4, -1))
        return g
    hs_t, hs_p = grad_h_scaled[0], grad_h_scaled[1]
    pv = p[1:]
    inv = 0.5 / rho
    q_t = np.multiply(grad_rho[0] * inv, pv)
    q_t += grad_p[0, 1:]
    q_p = np.multiply(grad_rho[1] * inv, pv)
    q_p += grad_p[1, 1:]
    g = np.empty((4,) + rho.shape)
    g[1:] = _cross_minus_cross(q_t, hs_p, q_p, hs_t)
    g0 = g[0]
    t = inv  # reused as a temporary
    np.multiply(pv[0], g[1], out=g0)
    np.multiply(pv[1], g[2], out=t)
    g0 += t
    np.multiply(pv[2], g[3], out=t)
    g0 += t
    g0 *= hbar / np.sqrt(2)
    g[1:] *= -hbar
    return g


def quantum_energy_density_components(rho, grad_rho, p, grad_p, grad_h, hbar, spin_magnitude,
                                      support=None):
    """:func:`quantum_energy_density` in components.

    Re(iħ Tr(P A B)) = −(ħ/2) p·F(a, b) for Hermitian P, A, B, with ∇𝒫 = p∇ϱ + ϱ∇p;
    ``support`` as for :func:`quantum_generator_components`.
    """
    def comm(a, b):
        return hm.commutator_components(a, b, support)

    gpt = p * grad_rho[0] + rho * grad_p[0]
    gpp = p * grad_rho[1] + rho * grad_p[1]
    f = comm(gpt, grad_h[1])
    f -= comm(gpp, grad_h[0])
    return (-0.5 * hbar / spin_magnitude) * hm.dot_components(p, f)


#: The hybrid generator contains ∇ln ϱ: ϱ0 must exceed this fraction of its maximum.
HYBRID_RHO_FLOOR = 1e-12

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
        check_regularization(regularization, alpha)
        reg = REGULARIZATIONS[regularization]
        super().__init__(grid, hamiltonian, **kw)
        self.regularization = regularization
        self.alpha = float(alpha)
        self.regularizer = reg(grid, alpha)
        # (√2/S) ∇h⃗ for the qubit cross-product form of the generator
        self._grad_h_scaled = (np.sqrt(2) / self.spin_magnitude) * self.grad_h[:, 1:] \
            if self.N == 2 else None
        # the components of ∇H that are not identically zero (few for few Pauli terms)
        self._h_support = hm.support_of(self.grad_h)
        # the heat kernel's smoothing of G, one component at a time (g_0 need not be
        # smoothed for the rotation, rotation_generator_components)
        self._smoothing_per_component = isinstance(self.regularizer, HeatKernel) and (
            type(self.regularizer).smooth_generator_components
            is HeatKernel.smooth_generator_components)
        # a qubit without regularization: 𝒦 = H + G in one compiled pass
        self._plain_qubit = self.N == 2 and type(self.regularizer) is Regularization
        # a qubit with the heat kernel's own smoothed state: P̃ and G in one compiled pass
        self._fused_smoothing = self.N == 2 and isinstance(self.regularizer, HeatKernel) and (
            type(self.regularizer).quantum_fields_components
            is HeatKernel.quantum_fields_components)

    accepts_regularization = True
    needs_positive_density = True
    #: the compiled one-sphere qubit path and the traceless rotation generator (set by
    #: ``__init__``; off for subclasses that build their own fields, e.g. on a product of
    #: spheres)
    _fused_smoothing = _smoothing_per_component = _plain_qubit = False

    @classmethod
    def from_config(cls, grid, hamiltonian, model):
        """The model of a ``[model]`` section (:class:`~spectral_qc.config.ModelConfig`)."""
        return cls(grid, hamiltonian, hbar=model.hbar, spin_magnitude=model.spin_magnitude,
                   regularization=model.regularization, alpha=model.alpha)

    @property
    def ill_posed(self) -> bool:
        """The model as written (no regularization) grows short waves at rates ∝ l²."""
        return self.regularization == "none"

    def failure_hint(self) -> str | None:
        """Short-wave growth for the model as written (its remedy: a regularization)."""
        return SHORT_WAVE_CAUSE if self.ill_posed else None

    def check_initial_state(self, state):
        """Refuse an initial ϱ that is not positive on the grid.

        The generator contains {ln ϱ, H}: where the truncated ϱ0 is zero or negative (a
        narrow von Mises–Fisher density undershoots at the antipode on a coarse grid) the
        model is undefined. Raises ConfigError with the remedy.
        """
        grid = self.grid
        rho = grid.synthesis(state.rho_lm)
        ratio = float(rho.min() / rho.max())
        if ratio < HYBRID_RHO_FLOOR:
            # a background of weight w adds w/(4π); ask for ten times the undershoot
            weight = max(40 * np.pi * max(-float(rho.min()), 0.0),
                         1e-11 * float(rho.max()) * 4 * np.pi)
            raise ConfigError(
                f"initial.classical: the hybrid model needs ϱ0 > 0 everywhere (its generator "
                f"contains ∇ln ϱ), but min ϱ0 / max ϱ0 = {ratio:.2g} on the lmax = "
                f"{grid.lmax} grid; add a uniform background (kind = \"mixture\" with a "
                f"kappa = 0 component of weight ≳ {weight:.1g}), lower kappa, or raise lmax")

    def __repr__(self):
        return super().__repr__()[:-1] + f", regularization={self.regularization!r}, " \
                                         f"alpha={self.alpha})"

    def quantum_part(self, f: Fields) -> np.ndarray:
        """Components of the generator's ħ-part (after the regularization), cached."""
        g = f.cache.get("g")
        if g is None:
            g = f.cache["g"] = self.regularizer.smooth_generator_components(
                self._unsmoothed_quantum_part(f))
        return g

    def _unsmoothed_quantum_part(self, f: Fields) -> np.ndarray:
        """G at the regularization's state (``quantum_fields_components``), before its
        ``smooth_generator_components``; ``(N², nlat, nphi)``."""
        if self._fused_smoothing and f.p.ndim == 3:
            return self._smoothed_qubit_generator(f)
        rho, grad_rho, p, grad_p = self.regularizer.quantum_fields_components(f, self.N)
        if self.N == 2:
            return qubit_quantum_generator(rho, grad_rho, p, grad_p, self._grad_h_scaled,
                                           self.hbar)
        return quantum_generator_components(rho, grad_rho, p, grad_p, self.grad_h, self.hbar,
                                            self.spin_magnitude, self._h_support)

    def rotation_generator_components(self, f: Fields) -> np.ndarray:
        """𝒦 as the rotation U P U† uses it, ``(N², nlat, nphi)``: the components
        1 … N² − 1 of :meth:`generator_components` (the same numbers), and k_0 = h_0.

        The identity component of 𝒦 does not rotate P (it commutes with everything), so
        with a smoothing regularization (:class:`HeatKernel`) the smoothing of g_0 (one
        analysis and one synthesis per generator) is skipped; otherwise this is
        :meth:`generator_components` itself.
        """
        if "k" in f.cache or not self._smoothing_per_component or f.p.ndim != 3:
            return self.generator_components(f)
        k = f.cache.get("k_rotation")
        if k is None:
            g = self._unsmoothed_quantum_part(f)
            k = self.h.copy()
            k[1:] += self.regularizer.smooth_generator_components(g[1:])
            f.cache["k_rotation"] = k
        return k

    def _smoothed_qubit_generator(self, f: Fields) -> np.ndarray:
        """G(𝒬) for a qubit with a smoothing regularization (:class:`HeatKernel`), before
        the last smoothing: P̃, ∇P̃ and the generator at the smoothed state in one compiled
        pass (the arithmetic of ``quantum_fields_components`` and
        :func:`qubit_quantum_generator`)."""
        reg = self.regularizer
        q, grad_q = reg.smoothed_state(f)
        flat = hm._flat
        g = np.empty(q.shape)
        if not kernels.smoothed_qubit_generator(flat(q), flat(grad_q[0]), flat(grad_q[1]),
                                                float(np.sqrt(2)), flat(self._grad_h_scaled[0]),
                                                flat(self._grad_h_scaled[1]), self.hbar,
                                                g.reshape(4, -1)):
            raise reg.smoothed_density_lost(np.sqrt(2) * q[0])
        return g

    def generator_components(self, f: Fields) -> np.ndarray:
        """Components of 𝒦 = H + G, ``(N², nlat, nphi)``, cached in ``f.cache``."""
        k = f.cache.get("k")
        if k is None and "g" not in f.cache and self._plain_qubit and f.p.ndim == 3:
            k = f.cache["k"] = np.empty(f.p.shape)  # H + G in one compiled pass
            flat, gr = hm._flat, hm._flat(f.grad_rho)
            kernels.qubit_generator_plus(
                np.ascontiguousarray(f.rho).reshape(-1), gr[0], gr[1], flat(f.p),
                flat(f.grad_p[0]), flat(f.grad_p[1]), flat(self._grad_h_scaled[0]),
                flat(self._grad_h_scaled[1]), self.hbar, flat(self.h), k.reshape(4, -1))
        if k is None:
            k = f.cache["k"] = self.h + self.quantum_part(f)
        return k

    def generator_from_fields(self, f: Fields) -> np.ndarray:
        """𝒦 on the grid (module docstring); ``(N, N, nlat, nphi)`` complex Hermitian."""
        return hm.from_components(self.generator_components(f))

    def velocity_from_fields(self, f: Fields, K=None) -> np.ndarray:
        """:meth:`.base.Model.velocity_from_fields`; for a qubit on one sphere (constant
        Tr P) the products of Tr(P∇𝒦) and X in one compiled pass (the same numbers)."""
        if (K is not None or "x" in f.cache or self.N != 2 or not f.trace_constant
                or f.p.ndim != 3 or f.grad_p.shape[0] != 2):
            return super().velocity_from_fields(f, K)
        grid, flat = self.grid, hm._flat
        g = self.quantum_part(f)
        grad_pk = grid.gradient(grid.analysis(hm.dot_components(f.p, g)))  # ∇Tr(PG)
        x = f.cache["x"] = np.empty((2,) + f.rho.shape)
        transport_kernels.qubit_velocity(grad_pk.reshape(2, -1), flat(g), flat(f.grad_p[0]),
                                         flat(f.grad_p[1]), flat(f.p), flat(self.grad_h[0]),
                                         flat(self.grad_h[1]), 1.0 / self.spin_magnitude,
                                         x.reshape(2, -1))
        return x

    def expected_generator_gradient(self, f: Fields, K=None) -> np.ndarray:
        """Tr(P∇𝒦) = Tr(P∇H) (precomputed ∇H) + Tr(P∇G) (by the product rule, 2 transforms)."""
        g = self.quantum_part(f) if K is None else hm.to_components(K) - self.h
        return self.product_rule_gradient(f, g) + expectation_gradient(
            f.p, self.grad_h, self.grad_h_rows)

    def energy_from_fields(self, f: Fields) -> float:
        """h (eq. 50), or h_α with the ħ-part evaluated at 𝒬 = S_α𝒫."""
        rho, grad_rho, p, grad_p = self.regularizer.quantum_fields_components(f, self.N)
        e_q = quantum_energy_density_components(rho, grad_rho, p, grad_p, self.grad_h,
                                                self.hbar, self.spin_magnitude,
                                                self._h_support)
        return super().energy_from_fields(f) + float(integrate(self.grid, e_q))
