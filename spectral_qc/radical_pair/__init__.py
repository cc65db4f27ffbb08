"""Radical pairs: chemistry inputs → configs, singlet probability and yields, and the
exact, Schulten–Wolynes and mixed quantum-classical descriptions (``docs/radical_pairs.md``).

Units: couplings in mT, energy ħγe·1 mT, time unit τ = 1/(γe·1 mT) = :data:`TIME_UNIT_NS`
≈ 5.679 ns (γe = g_e μB/ħ).

Modules: :mod:`.pair` (:class:`RadicalPair`, Hamiltonian, :func:`radical_pair_config`),
:mod:`.observables` (:func:`singlet_probability`, :func:`singlet_yield`), :mod:`.models`
(:func:`exact_solve`, :func:`exact_yields`, :func:`schulten_wolynes`, :func:`simulate`),
:mod:`.mfe` (:func:`mfe_sweep`, :func:`mfe_yields`: Φ_S(B) through :func:`spectral_qc.sweep`).
"""

from .mfe import field_along, mfe_sweep, mfe_yields
from .models import (exact_solve, exact_yields, schulten_wolynes, schulten_wolynes_yield,
                     simulate, sphere_nodes)
from .observables import singlet_probability, singlet_yield, truncation_time
from .pair import (G_ELECTRON, GAMMA_E, SPIN_RULES, STARTS, TIME_UNIT_NS, RadicalPair,
                   classical_length, electron_spins, initial_density, radical_pair_config,
                   singlet_projector)

__all__ = ["RadicalPair", "radical_pair_config", "singlet_probability", "singlet_yield",
           "truncation_time", "exact_solve", "exact_yields", "schulten_wolynes", "simulate",
           "schulten_wolynes_yield",
           "sphere_nodes", "classical_length", "electron_spins", "initial_density",
           "singlet_projector", "G_ELECTRON", "GAMMA_E", "TIME_UNIT_NS", "SPIN_RULES",
           "STARTS", "mfe_sweep", "mfe_yields", "field_along"]
