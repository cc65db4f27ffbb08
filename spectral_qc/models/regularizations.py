"""Regularizations of the hybrid model's ħ-part (docs/stability.md).

A regularization decides *where* the ħ-part of the hybrid generator is evaluated and how
its result is returned to the grid:

* :meth:`Regularization.quantum_fields_components` gives (ϱ̃, ∇ϱ̃, p̃, ∇p̃), the state
  at which G = δg/δ𝒬 (and the ħ-part of the energy) is evaluated, with p̃ the real
  Hermitian-basis components of P̃;
* :meth:`Regularization.smooth_generator_components` maps the components of that G back
  to the generator term.

Registered in :data:`REGULARIZATIONS` by name; ``needs_alpha`` says whether α > 0 is
required (α must be 0 otherwise).
"""

from __future__ import annotations

import math

import numpy as np

from .. import kernels
from ..errors import ConfigError, SmoothedDensityLost
from ..sphere import heat_kernel

REGULARIZATIONS: dict = {}


def add_regularization(cls):
    """Class decorator registering a regularization under ``cls.name``."""
    REGULARIZATIONS[cls.name] = cls
    return cls


class Regularization:
    """The identity: the model exactly as in the paper (``"none"``)."""

    name = "none"
    needs_alpha = False
    #: Which invariants the regularized continuum model keeps exactly.
    keeps = ("mass", "energy", "eigenvalue Casimirs", "Berry Casimir", "positivity")

    def __init__(self, grid, alpha=0.0):
        self.grid = grid
        self.alpha = float(alpha)

    def quantum_fields_components(self, f, N):
        """(ϱ̃, ∇ϱ̃, p̃, ∇p̃) for grid fields ``f`` (:class:`~.base.Fields`); shapes
        ``(nlat, nphi)``, ``(2, nlat, nphi)``, ``(N², nlat, nphi)``, ``(2, N², nlat, nphi)``."""
        return f.rho, f.grad_rho, f.p, f.grad_p

    def smooth_generator_components(self, g_comp):
        """The generator term from the components of G, ``(N², nlat, nphi)``."""
        return g_comp


REGULARIZATIONS["none"] = Regularization


def check_regularization(name, alpha):
    """The one validation of ``[model] regularization`` and ``alpha`` (config and models).

    Raises
    ------
    ConfigError
        Unknown name (the valid ones listed), or α not as the regularization needs it
        (``needs_alpha``: α > 0; otherwise α = 0).
    """
    if not isinstance(name, str) or name not in REGULARIZATIONS:
        import difflib

        close = difflib.get_close_matches(str(name), REGULARIZATIONS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"model.regularization = {name!r}: allowed are "
                          f"{', '.join(map(repr, REGULARIZATIONS))}{hint}")
    if not (isinstance(alpha, (int, float)) and not isinstance(alpha, bool)
            and math.isfinite(alpha) and alpha >= 0):
        raise ConfigError(f"model.alpha = {alpha!r}: expected a finite number ≥ 0")
    if REGULARIZATIONS[name].needs_alpha and not alpha > 0:
        raise ConfigError(f"model.alpha = {alpha!r}: must be > 0 with regularization = "
                          f"{name!r}: it needs alpha > 0 (e.g. alpha = 0.01)")
    if not REGULARIZATIONS[name].needs_alpha and alpha != 0:
        raise ConfigError(f"model.alpha = {alpha!r}: must be 0 with regularization = "
                          f"{name!r}")


@add_regularization
class HeatKernel(Regularization):
    """Smoothed ħ-part h_α(𝒫) = ∫Tr(𝒫H) dA + g(S_α𝒫), S_α = exp(α∇² ) (model.md §5).

    ``𝒦_α = H + S_α G(𝒬)``, 𝒬 = S_α(ϱP), ϱ̃ = Tr 𝒬, P̃ = 𝒬/ϱ̃,
    ∇P̃ = (∇𝒬 − P̃∇ϱ̃)/ϱ̃. Keeps the bracket: every Casimir, positivity and h_α are exact
    invariants of the continuum model.
    """

    name = "heat_kernel"
    needs_alpha = True

    def _smooth(self, f_lm):
        """The smoothing operator on coefficients ``(..., nlm)``: exp(−α l(l+1)) (on a
        product of spheres the grid's own, per factor)."""
        if hasattr(self.grid, "heat_kernel"):  # a ProductGrid
            return self.grid.heat_kernel(f_lm, self.alpha)
        symbol = getattr(self, "_symbol", None)
        if symbol is None:  # computed once (as heat_kernel computes it)
            symbol = self._symbol = heat_kernel(self.grid, np.ones(self.grid.nlm), self.alpha)
        return symbol * f_lm

    def smoothed_state(self, f):
        """𝒬 = S_α(ϱP) on the grid: its components q ``(N², ...)`` and their gradients
        ``(2, N², ...)`` (``2 + 3N²`` transforms; when ϱ's coefficients and a constant
        Tr P are known, q_0 = p_0 S_αϱ needs no analysis, and its synthesis and gradient
        are those of the last call with the same ϱ and p_0 — a rotation sub-step keeps
        both — so they are reused: 2 + 3(N² − 1) transforms then)."""
        g = self.grid
        nn = f.p.shape[0]
        if not (f.trace_constant and f.rho_lm is not None):
            q_lm = self._smooth(g.analysis(f.rho * f.p))
            return g.synthesis(q_lm), g.gradient(q_lm)
        p0 = f.p[0].flat[0]  # ϱ p_0 = p_0 ϱ: no analysis
        q_lm = np.empty((nn,) + f.rho_lm.shape, dtype=f.rho_lm.dtype)
        q_lm[0] = p0 * f.rho_lm
        q_lm[1:] = g.analysis(f.rho * f.p[1:])
        q_lm = self._smooth(q_lm)
        if hasattr(self.grid, "heat_kernel"):  # a product of spheres: no reuse
            return g.synthesis(q_lm), g.gradient(q_lm)
        last = getattr(self, "_last_q0", None)
        q = np.empty((nn,) + g.shape)
        grad_q = np.empty((2, nn) + g.shape)
        if last is not None and last[0] == p0 and np.array_equal(last[1], f.rho_lm):
            q[0], grad_q[:, 0] = last[2], last[3]
            first = 1
        else:
            first = 0
        g._synthesis_into(q_lm[first:], q[first:])
        g._gradient_into(q_lm[first:], grad_q[0, first:], grad_q[1, first:])
        if not first:
            self._last_q0 = (p0, np.array(f.rho_lm), q[0].copy(), grad_q[:, 0].copy())
        return q, grad_q

    def smoothed_density_lost(self, rho_s):
        """The error for a smoothed density ϱ̃ ``(...)`` with min ϱ̃ ≤ 0 (ln ϱ̃ undefined)."""
        return SmoothedDensityLost(f"{self.name}: the smoothed density ϱ̃ has min "
                                   f"{rho_s.min():.3g} ≤ 0 (alpha = {self.alpha})",
                                   quantity="smoothed_rho", value=float(rho_s.min()))

    def quantum_fields_components(self, f, N):
        """(ϱ̃, ∇ϱ̃, p̃, ∇p̃) with p̃ the real components of P̃ (:meth:`smoothed_state`).

        Raises ``SmoothedDensityLost`` when min ϱ̃ ≤ 0 (ln ϱ̃ undefined); the Simulation
        turns it into a PositivityLost stop.
        """
        q, grad_q = self.smoothed_state(f)
        sqrt_n = np.sqrt(N)  # Tr E_0 = √N and Tr E_a = 0 otherwise
        rho_s, grad_rho_s = sqrt_n * q[0], sqrt_n * grad_q[:, 0]
        if not rho_s.min() > 0:
            raise self.smoothed_density_lost(rho_s)
        p_s = np.empty_like(q)
        grad_p_s = grad_q  # overwritten in place: (∇q − p̃∇ϱ̃)/ϱ̃
        if grad_q.shape[0] == 2 and not hasattr(self.grid, "heat_kernel"):  # one sphere
            nn, npts = q.shape[0], rho_s.size  # compiled, one pass
            kernels.normalized_fields(q.reshape(nn, npts), grad_q[0].reshape(nn, npts),
                                      grad_q[1].reshape(nn, npts), rho_s.reshape(npts),
                                      grad_rho_s[0].reshape(npts), grad_rho_s[1].reshape(npts),
                                      p_s.reshape(nn, npts))
        else:  # a product of spheres: 2 tangent components per sphere
            inv = 1.0 / rho_s
            np.multiply(q, inv, out=p_s)
            for k in range(grad_q.shape[0]):
                grad_p_s[k] -= p_s * grad_rho_s[k]
                grad_p_s[k] *= inv
        return rho_s, grad_rho_s, p_s, grad_p_s

    def smooth_generator_components(self, g_comp):
        """The smoothing applied to the components of G (one analysis and one synthesis each)."""
        g = self.grid
        return g.synthesis(self._smooth(g.analysis(g_comp)))


def hyper_heat_symbol(grid, alpha):
    """Multiplier ``exp(-(α l(l+1))²)`` of :class:`HyperHeatKernel`, shape ``(nlm,)``."""
    return np.exp(-(alpha * grid.l * (grid.l + 1.0)) ** 2)


@add_regularization
class HyperHeatKernel(HeatKernel):
    """Smoothed ħ-part with the kernel T_α = exp(−(α∇²)²) instead of exp(α∇²).

    The construction of :class:`HeatKernel` with another self-adjoint smoothing
    (docs/stability.md): h_α(𝒫) = ∫Tr(𝒫H) dA + g(T_α𝒫), ``𝒦_α = H + T_α G(𝒬)``,
    𝒬 = T_α𝒫. The bracket is untouched, so the energy h_α, the eigenvalue Casimirs and the
    Berry Casimir are exact invariants of the continuum model, and ϱ, P stay positive
    (they are still transported and conjugated). Degree l is multiplied by
    exp(−(α l(l+1))²): the low degrees change at O(α²l⁴) instead of O(αl²), so the
    α → 0 limit is second order, while short-wave growth is capped like the heat
    kernel's (rate ≲ 0.30 c₂/α against 0.18 c₂/α, docs/stability.md).

    Broken: T_α is not positivity preserving (its kernel has negative lobes), so
    ϱ̃ = Tr T_α𝒫 > 0, needed for ln ϱ̃, is not guaranteed. It holds for smooth, strictly
    positive ϱ; it is checked: :meth:`quantum_fields_components` raises
    ``SmoothedDensityLost`` when min ϱ̃ ≤ 0.
    """

    name = "hyper_heat_kernel"
    needs_alpha = True
    keeps = ("mass", "energy", "eigenvalue Casimirs", "Berry Casimir", "positivity of ϱ and P")

    def _smooth(self, f_lm):
        symbol = getattr(self, "_hyper_symbol", None)
        if symbol is None:
            symbol = self._hyper_symbol = hyper_heat_symbol(self.grid, self.alpha)
        return symbol * f_lm
