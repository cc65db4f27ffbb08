"""Diagnostics of the Koopman wave states, declared once with their metadata.

The names follow contract §4/§6: ``mass`` = ∫ρc dA, ``norm`` = ∫Σ‖Υ‖² dA, ``rho_c_min``,
``energy`` = ∫⟨Υ|𝓛_H Υ⟩ dA, ``rho_q_real``/``rho_q_imag`` (ρ̂q = ∫ΥΥ† dA, eq. 32),
``purity``, ``min_eig_rho_q``, ``n_mean`` = ∫ n ρc dA (the unit vectors of the sphere; see
docs/numerics.md on moments of the three-dimensional density), ``spectral_tail``, and
``negative_mass`` = ∫max(−ρc, 0) dA. ρc is unsigned in general (paper after eq. 33):
these diagnostics monitor it, they never stop a run.
"""

from __future__ import annotations

import numpy as np

from .diagnostics import CachedSnapshot, add_diagnostic, add_quantum_density_diagnostics
from .sphere import integrate

WAVE_DIAGNOSTICS: dict = {}


def _add(name, long_name, units, dims=()):
    return add_diagnostic(name, long_name, units, dims, table=WAVE_DIAGNOSTICS)


class WaveSnapshot(CachedSnapshot):
    """A wave state with its grid fields (Υ, ∇Υ, ρc, ρ̂q) computed lazily and once."""

    @property
    def upsilon(self):
        return self._get("u", lambda: self.model.wave(self.state))

    @property
    def grad(self):
        return self._get("g", lambda: self.model.gradients(self.state.upsilon_lm))

    @property
    def rho_c(self):
        return self._get("rc", lambda: self.model.classical_density_from(self.upsilon,
                                                                          self.grad))

    @property
    def rho_q(self):
        u = self.upsilon
        return self._get("rq", lambda: self.model.integrate_field(
            np.einsum("ma...,mb...->ab...", u, np.conj(u))))

    def integral(self, f):
        return float(self.model.integrate_field(f))


@_add("mass", "classical probability ∫ρc dA (paper eq. 33)", "1")
def mass(s):
    return s.integral(s.rho_c)


@_add("norm", "wavefunction norm ∫‖Υ‖² dA", "1")
def norm(s):
    return s.integral(np.sum(np.abs(s.upsilon) ** 2, axis=(0, 1)))


@_add("energy", "energy ∫⟨Υ|L_H Υ⟩ dA (paper eqs. 15, 30)", "[H]")
def energy(s):
    return s.model.energy_from(s.upsilon, s.grad)


@_add("rho_c_min", "minimum of the classical density ρc over the grid", "1")
def rho_c_min(s):
    return float(s.rho_c.min())


@_add("negative_mass", "negative classical mass ∫max(−ρc, 0) dA", "1")
def negative_mass(s):
    return s.integral(np.clip(-s.rho_c, 0.0, None))


add_quantum_density_diagnostics("∫ΥΥ† dA (eq. 32)", table=WAVE_DIAGNOSTICS)


@_add("n_mean", "mean classical spin direction ∫ρc n dA", "1", ("xyz",))
def n_mean(s):
    return integrate(s.model.grid, s.rho_c * s.model.grid.n)


@_add("spectral_tail", "fraction of ∫‖Υ‖² dA in the top 10% of degrees", "1")
def spectral_tail(s):
    return s.model.spectral_tail(s.state)


def evaluate(model, state, names=None, *, snapshot=None):
    """Wave diagnostics of a state: dict name → float or ndarray (``rho_q_*`` (N, N),
    ``n_mean`` (3,)). ``snapshot``: a :class:`WaveSnapshot` whose fields are reused."""
    snap = WaveSnapshot(model, state) if snapshot is None else snapshot
    names = WAVE_DIAGNOSTICS.keys() if names is None else names
    return {n: WAVE_DIAGNOSTICS[n].func(snap) for n in names}
