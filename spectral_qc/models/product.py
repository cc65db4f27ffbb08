"""The transport core on a product of spheres: several classical spins (paper §4.4, eq. 55).

The state is (ϱ, P) on (S²)^j (:class:`~spectral_qc.sphere.product.ProductGrid`), the
velocity has one tangent pair per spin,

.. math::

    X = (X_1, …, X_j),\\qquad X_a = \\frac{1}{S_a} \\operatorname{Tr}(P ∇_a 𝒦) × n_a,

and the equations are those of one spin, ∂tϱ = −div(ϱX) = −Σ_a div_a(ϱX_a),
∂tP = −X·∇P − (i/ħ)[𝒦, P] with X·∇P = Σ_a X_a·∇_a P (eq. 55 with 𝒫 = ϱP). Only the
geometry differs: :class:`ProductTransport` replaces the handful of methods of
:class:`~spectral_qc.models.base.Model` that know the sphere (fields, velocity, transport,
energy); the generators (𝒦 = H for Liouville and Ehrenfest), the rotation sub-flow and the
splitting schemes (:mod:`spectral_qc.integrators`) are the one-spin code, unchanged.

Arrays: spectral ``(..., ncoef)`` real, grid ``(..., *grid.shape)``, tangent ``(2j, ...)``.
"""

from __future__ import annotations

import numpy as np

from .. import hermitian as hm
from ..errors import ConfigError
from ..sphere.product import _as_list
from ..states import State, von_mises_fisher_values
from .base import Fields, trace_is_constant
from .classical import Ehrenfest, Liouville


def product_model_setup(model, grid, hamiltonian, hbar, spin_magnitude) -> np.ndarray:
    """Check and set the attributes every model of j spins shares (``grid``, ``hamiltonian``,
    ``N``, ``hbar``, ``spin_magnitude`` = S_1, ``spin_magnitudes``; ``H = None``) and return
    H's real components h ``(N², *shape)``: ModelBase's attributes, but H only as h (the
    complex matrix field is never formed: it would be the largest array of the set-up)."""
    s = [float(x) for x in _as_list(spin_magnitude, grid.j, "model.spin_magnitude")]
    if not all(x > 0 for x in s):
        raise ConfigError(f"model.spin_magnitude = {spin_magnitude!r}: every S_a must be > 0")
    if not hbar > 0:
        raise ConfigError(f"hbar = {hbar} must be > 0")
    if model.scalar_only and int(hamiltonian.N) != 1:
        raise ConfigError(f"{model.name} needs a scalar Hamiltonian (N = 1), got N = "
                          f"{hamiltonian.N}; use {model.matrix_alternative}")
    model.grid, model.hamiltonian, model.N = grid, hamiltonian, int(hamiltonian.N)
    model.hbar, model.spin_magnitude, model.spin_magnitudes = float(hbar), s[0], tuple(s)
    model.H = None
    return np.ascontiguousarray(np.broadcast_to(hamiltonian.components(grid.n),
                                                (model.N ** 2,) + grid.shape))


class ProductTransport:
    """Mixin: the product-space geometry of :class:`~spectral_qc.models.base.Model`.

    Parameters
    ----------
    grid : ProductGrid
    hamiltonian : ProductHamiltonian (``.N``, ``.components(grid.n)`` — H's real components)
    hbar : float > 0
    spin_magnitude : float or sequence of j floats > 0 — S_a of every classical spin

    Attributes (beyond Model's)
    ---------------------------
    spin_magnitudes : tuple of j floats
    h : (N², *shape) — H's real components (H itself is not stored: ``H = None``)
    grad_h_terms : dict (k, a) → array — the non-zero tangent gradient components k of h_a,
        reduced along the factors h_a does not depend on (no full (2j, N², *shape) array)
    """

    def __init__(self, grid, hamiltonian, *, hbar=1.0, spin_magnitude=1.0):
        self.h = product_model_setup(self, grid, hamiltonian, hbar, spin_magnitude)
        self.h_lm = grid.analysis(self.h)
        self.grad_h_terms = self._compact_gradients(self.h_lm)
        self._static_x = None  # X = X_H of a classical model (N = 1, 𝒦 = H): computed once

    def _compact_gradients(self, c):
        """The non-zero tangent gradients of the fields ``c`` ``(K, ncoef)``: a dict
        ``{(k, a): array}`` for gradient component k of field a, each array broadcastable to
        the grid and reduced to size 1 along the factors the field does not depend on (all
        its coefficients of degree l_b > 0 below 1e-12 relative; analysis round-off is
        ~1e-14). One field at a time.
        """
        g = self.grid
        out = {}
        for a in range(c.shape[0]):
            scale = max(1.0, np.abs(c[a]).max())
            uses = [np.abs(c[a][g.degrees(b) > 0]).max(initial=0.0) > 1e-12 * scale
                    for b in range(g.j)]
            if not any(uses):
                continue
            grad = g.gradient(c[a])
            index = tuple(ax for b in range(g.j)
                          for ax in ((slice(None),) * 2 if uses[b] else (slice(0, 1),) * 2))
            for b in range(g.j):
                if uses[b]:
                    for k in (2 * b, 2 * b + 1):
                        out[(k, a)] = np.ascontiguousarray(grad[k][index])
        return out

    @property
    def diagnostic_table(self) -> dict:
        """Name → :class:`~spectral_qc.diagnostics.Diagnostic` of this model's states: the
        one-spin names, ``n_mean`` with a ``spin`` dimension for j ≥ 2
        (:func:`~spectral_qc.diagnostics.product_table`)."""
        from ..diagnostics import product_table

        return product_table(self.grid.j)

    def __repr__(self):
        return (f"{type(self).__name__}(N={self.N}, hbar={self.hbar}, "
                f"spin_magnitude={list(self.spin_magnitudes)}, lmax={list(self.grid.lmax)})")

    # ----------------------------------------------------------------- fields
    def fields(self, state: State, *, like: Fields | None = None) -> Fields:
        """Grid fields (ϱ, ∇ϱ, P, ∇P); ∇ has 2j components (a tangent pair per spin)."""
        g = self.grid
        if like is not None:
            rho = like.rho

            def grad_rho():
                return like.grad_rho
        else:
            rho = g.synthesis(state.rho_lm)

            def grad_rho():
                return g.gradient(state.rho_lm)
        if self.N == 1:
            p = np.ones((1,) + g.shape)
            return Fields(rho, grad_rho, p, np.broadcast_to(0.0, (2 * g.j, 1) + g.shape),
                          state.rho_lm, True)
        p, constant = self.p_components(state)
        first = 1 if constant else 0

        def grad_p():
            # np.zeros, not empty + fill: the zero trace gradients are never written, so
            # their pages are never committed (1/N² of ∇P's memory)
            out = np.zeros((2 * g.j,) + p.shape)
            g._gradient_into(state.p_lm[first:], out[:, first:])
            return out
        # 𝒦 = H: only X·∇P needs ∇P, and it is built one spin's pair at a time
        # (:meth:`_advection`), so the whole (2j, N², …) array is formed only on request
        return Fields(rho, grad_rho, p, grad_p if self.static_generator else grad_p(),
                      state.rho_lm, constant)

    def p_components(self, state: State):
        """Grid components of P ``(N², *shape)`` and whether Tr P is constant (then p_0 is
        filled in from its constant mode without a transform)."""
        g = self.grid
        p_lm = state.p_lm
        constant = trace_is_constant(p_lm[0])
        first = 1 if constant else 0
        p = np.empty((p_lm.shape[0],) + g.shape)
        if constant:
            p[0] = p_lm[0, 0] * g.constant_mode
        p[first:] = g.synthesis(p_lm[first:])
        return p, constant

    # --------------------------------------------------------------- velocity
    def expected_generator_gradient(self, f: Fields, K=None) -> np.ndarray:
        """Tr(P∇𝒦) ``(2j, *shape)``; for 𝒦 = H from the compact gradients of h."""
        if K is not None or not self.static_generator:
            return super().expected_generator_gradient(f, K)
        out = np.zeros((2 * self.grid.j,) + self.grid.shape)
        for (k, a), grad in self.grad_h_terms.items():
            out[k] += f.p[a] * grad
        return out

    def velocity_from_fields(self, f: Fields, K=None) -> np.ndarray:
        """X_a = (1/S_a) V_a × n_a with V = Tr(P∇𝒦); ``(2j, *shape)``."""
        if K is None and "x" in f.cache:
            return f.cache["x"]
        if K is None and self.N == 1 and self.static_generator:
            if self._static_x is None:
                self._static_x = self.grid.cross_n(self.expected_generator_gradient(
                    Fields(None, None, np.ones((1,) + self.grid.shape), None)),
                    self.spin_magnitudes)
            return self._static_x
        x = self.expected_generator_gradient(f, K)
        for a, s in enumerate(self.spin_magnitudes):  # (V_φa, −V_θa)/S_a, in place
            v_theta = x[2 * a].copy()
            np.multiply(x[2 * a + 1], 1.0 / s, out=x[2 * a])
            np.multiply(v_theta, -1.0 / s, out=x[2 * a + 1])
        if K is None:
            f.cache["x"] = x
        return x

    def velocity(self, state: State) -> np.ndarray:
        """X = (X_θ1, X_φ1, …, X_θj, X_φj), ``(2j, *shape)``."""
        return self.velocity_from_fields(self.fields(state))

    def _advection(self, x, f: Fields, p_lm):
        """X·∇P for the traceless components: Σ_k x_k ∇_k p_{1:} ``(N²−1, *shape)``.

        From ``f.grad_p`` when the fields hold it; otherwise from one spin's gradient pair
        of ``p_lm[1:]`` at a time (2 instead of 2j fields of N² − 1 components in memory:
        at lmax 31 × 31, N = 2, one field is 170 MB).
        """
        if f.grad_p_computed:
            pairs = (f.grad_p[2 * a:2 * a + 2, 1:] for a in range(self.grid.j))
        else:
            pairs = (self.grid.factor_gradient(a, p_lm[1:]) for a in range(self.grid.j))
        adv = None
        for a, pair in enumerate(pairs):
            for k in (0, 1):
                term = x[2 * a + k] * pair[k]
                if adv is None:
                    adv = term
                else:
                    adv += term
            del term, pair
        return adv

    # --------------------------------------------------------------- tendency
    def transport_tendency(self, state: State, f: Fields | None = None):
        """Spectral ``(−div(ϱX), −X·∇P)``: ``(ncoef,)`` and ``(N², ncoef)`` (component 0 zero)."""
        g = self.grid
        f = self.fields(state) if f is None else f
        x = self.velocity_from_fields(f)
        drho = -self._density_divergence(f.rho, x)
        dp = np.zeros_like(state.p_lm)
        if self.N > 1:
            dp[1:] = -g.analysis(self._advection(x, f, state.p_lm))
        return drho, dp

    def _density_divergence(self, rho, x):
        """Coefficients of div(ϱX) = Σ_a div_a(ϱX_a), one spin's pair ϱX_a at a time."""
        g = self.grid
        total = g.factor_divergence(0, rho * x[0], rho * x[1])
        for a in range(1, g.j):
            total += g.factor_divergence(a, rho * x[2 * a], rho * x[2 * a + 1])
        return total

    def spectral_tendency(self, state: State):
        """Full tendency in spectral space: −div(ϱX) and −X·∇P − (i/ħ)[𝒦, P] (eq. 55)."""
        g = self.grid
        f = self.fields(state)
        x = self.velocity_from_fields(f)
        drho = -self._density_divergence(f.rho, x)
        dp = np.zeros_like(state.p_lm)
        if self.N > 1:
            k = self.generator_components(f)
            local = hm.commutator_components(k, f.p)[1:] / self.hbar
            local -= self._advection(x, f, state.p_lm)
            dp[1:] = g.analysis(local)
        return drho, dp

    # ----------------------------------------------------------------- energy
    def energy_from_fields(self, f: Fields) -> float:
        """h = ∫ ϱ Tr(P H) dA_1 … dA_j (paper eq. 50 without the ħ-term)."""
        return float(self.grid.integrate(f.rho * hm.dot_components(f.p, self.h)))

    def mass(self, state: State) -> float:
        """∫ ϱ dA_1 … dA_j from the constant mode."""
        return float(state.rho_lm[0] / self.grid.constant_mode)


class _ProductStatic:
    """𝒦 = H, given as the complex matrix field on request (it is stored as h only)."""

    def generator_from_fields(self, f: Fields) -> np.ndarray:
        return hm.from_components(self.h)


class ProductLiouville(ProductTransport, _ProductStatic, Liouville):
    """Classical Liouville equation of j spins, ∂tϱ = {H, ϱ} = −Σ_a X_a·∇_a ϱ (§4.4 bracket)."""

    name = "liouville"


class ProductEhrenfest(ProductTransport, _ProductStatic, Ehrenfest):
    """Ehrenfest model of j classical spins: 𝒦 = H, X_a = (1/S_a) Tr(P∇_a H) × n_a."""

    name = "ehrenfest"


# ------------------------------------------------------------------- states
def von_mises_fisher_product(grid, centers, kappas):
    """ϱ0 = Π_a C_a exp(κ_a (n_a·c_a − 1)), each factor normalized on its sphere (∫ = 1).

    Parameters
    ----------
    centers : j vectors (3,), non-zero; kappas : j floats ≥ 0

    Returns
    -------
    ndarray ``grid.shape``
    """
    rho = np.ones(())
    for n, c, k in zip(grid.n, centers, _as_list(kappas, grid.j, "kappa")):
        rho = rho * von_mises_fisher_values(n, c, k)
    return np.broadcast_to(rho, grid.shape)


def product_state(grid, rho, density=None) -> State:
    """State of grid values ϱ ``grid.shape`` and a uniform density matrix ``(N, N)``
    (default the 1×1 identity: a classical model)."""
    density = np.ones((1, 1)) if density is None else np.asarray(density, complex)
    p_lm = np.zeros((density.shape[0] ** 2, grid.ncoef))
    p_lm[:, 0] = hm.to_components(density) / grid.constant_mode
    return State(grid.analysis(rho), p_lm)
