"""The note's case of the stability study and its base states (docs/stability.md).

H = ½nz² + 0.3nx + ½ n·σ + 0.35σz (:func:`spectral_qc.presets.coupled_qubit_terms`),
S = 1, ϱ0 von Mises–Fisher at the north pole with κ = 2, ħ = 1 unless stated.
"""

from __future__ import annotations

from spectral_qc import StopCriteria, presets
from spectral_qc.config import load_config
from spectral_qc.models import make_model
from spectral_qc.simulation import Simulation
from spectral_qc.sphere import SphereGrid, resample
from spectral_qc.states import (State, bloch_density, spin_coherent_field, state_from_grid,
                                uniform_density_matrix, von_mises_fisher)

KAPPA = 2.0
CENTER = (0.0, 0.0, 1.0)
BASE_STATES = ("correlated", "product", "product_evolved")
#: Base states of the study: the three of :func:`base_state` plus a correlated state
#: whose qubit axis is tilted away from n (P = spin_coherent_field(axis_tilt=0.5)).
STUDY_BASES = ("correlated", "correlated_tilted", "product", "product_evolved")


def note_config(lmax=31, *, hbar=1.0, regularization="none", alpha=0.0, t_end=0.5, dt=0.01,
                bloch=(1.0, 0.0, 0.0), kind="hybrid"):
    """The note's case as a config dict (uniform product initial P from ``bloch``)."""
    model = {"kind": kind, "hbar": hbar}
    if kind == "hybrid":
        model.update(regularization=regularization, alpha=alpha)
    return {"grid": {"lmax": lmax}, "model": model,
            "hamiltonian": {"terms": presets.coupled_qubit_terms()},
            "initial": {"classical": {"kind": "von_mises_fisher", "center": list(CENTER),
                                      "kappa": KAPPA},
                        "quantum": {"bloch": list(bloch)}},
            "time": {"t_end": t_end, "dt": dt, "output_every": t_end}}


_GRIDS: dict = {}


def grid(lmax):
    """A cached single-threaded SphereGrid."""
    if lmax not in _GRIDS:
        _GRIDS[lmax] = SphereGrid(lmax, nthreads=1)
    return _GRIDS[lmax]


def hamiltonian():
    return load_config({"hamiltonian": {"terms": presets.coupled_qubit_terms()}}
                       ).hamiltonian_operator()


def model(lmax, *, hbar=1.0, regularization="none", alpha=0.0, kind="hybrid"):
    """A model of the note's case; ``regularization`` may also be a Regularization class
    (study-only variants are not registered)."""
    g = grid(lmax)
    if kind != "hybrid":
        return make_model(kind, g, hamiltonian(), hbar=hbar)
    if isinstance(regularization, str):
        return make_model("hybrid", g, hamiltonian(), hbar=hbar, regularization=regularization,
                          alpha=alpha)
    m = make_model("hybrid", g, hamiltonian(), hbar=hbar)
    m.regularizer = regularization(g, alpha)
    return m


def simulation(lmax, *, stop=None, state=None, **kw):
    """A Simulation of :func:`note_config` (``kw``), optionally from ``state``."""
    sim = Simulation(note_config(lmax, **kw), stop=stop)
    if state is not None:
        sim.state = state
    return sim


_BASE_CACHE: dict = {}


def base_state(kind, lmax, *, t_evolve=0.3, evolve_lmax=31, dt=0.01):
    """Smooth base states of the note's case on the lmax grid.

    ``"correlated"``: vMF ϱ and P = spin_coherent_field (qubit Bloch vector = n).
    ``"product"``: vMF ϱ and P = (1 + σx)/2 everywhere (∇P = 0).
    ``"product_evolved"``: the product state after ``t_evolve`` of the Ehrenfest model
    (computed at ``evolve_lmax`` and truncated to l ≤ 2/3 evolve_lmax, so the same smooth
    state is used at every lmax).
    """
    g = grid(lmax)
    rho = von_mises_fisher(g, CENTER, KAPPA)
    if kind == "correlated":
        return state_from_grid(g, rho, spin_coherent_field(g))
    if kind == "product":
        return state_from_grid(g, rho, uniform_density_matrix(g, bloch_density([1, 0, 0])))
    if kind != "product_evolved":
        raise ValueError(kind)
    key = (t_evolve, evolve_lmax, dt)
    if key not in _BASE_CACHE:
        sim = simulation(evolve_lmax, kind="ehrenfest", t_end=t_evolve, dt=dt,
                         stop=StopCriteria.off(), state=base_state("product", evolve_lmax))
        s = sim.run().final_state
        cut = grid(evolve_lmax).l <= (2 * evolve_lmax) // 3
        _BASE_CACHE[key] = State(s.rho_lm * cut, s.p_lm * cut)
    src, dst = grid(evolve_lmax), grid(lmax)
    s = _BASE_CACHE[key]
    return State(resample(src, s.rho_lm, dst), resample(src, s.p_lm, dst))


def study_base(kind, lmax):
    """A base state of :data:`STUDY_BASES` on the lmax grid."""
    if kind == "correlated_tilted":
        g = grid(lmax)
        return state_from_grid(g, von_mises_fisher(g, CENTER, KAPPA),
                               spin_coherent_field(g, axis_tilt=0.5))
    return base_state(kind, lmax)


def correlated_state(g):
    """vMF ϱ and P = spin_coherent_field on grid ``g`` (the detector's correlated runs)."""
    return state_from_grid(g, von_mises_fisher(g, CENTER, KAPPA), spin_coherent_field(g))


__all__ = ["KAPPA", "CENTER", "BASE_STATES", "STUDY_BASES", "note_config", "grid",
           "hamiltonian", "model", "simulation", "base_state", "study_base",
           "correlated_state", "state_from_grid", "von_mises_fisher", "spin_coherent_field"]
