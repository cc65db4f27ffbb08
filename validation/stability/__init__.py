"""Short-wave stability of the hybrid model, measured on the solver's own tendency.

``python -m validation --only stability`` (or ``python -m validation.stability
[SECTION ...] [--fast]``) writes ``results/stability.json`` and ``figures/stability_*.png``
(docs/stability.md explains every number). The study is one of :mod:`validation.runner`'s
studies, ``study(params, figdir)``, with its sizes in :mod:`validation.profiles`.

Modules: :mod:`.problem` (the note's case, base states), :mod:`.linear` (linearized
tendency, growth rates, WKB coefficient), :mod:`.runs` (solver runs, tail histories and
their replay through the solver's TailMonitor), :mod:`.sections`, :mod:`.figures`,
:mod:`.report` (rows, markdown).
"""

from __future__ import annotations

import time

from ..report import jsonable
from .figures import figures
from .linear import BandOperator, band, fit_exponent, growth_rate, perturbation_run, wkb_coefficient
from .problem import (BASE_STATES, CENTER, KAPPA, STUDY_BASES, base_state, correlated_state,
                      grid, hamiltonian, model, note_config, simulation, spin_coherent_field,
                      state_from_grid, study_base, von_mises_fisher)
from .report import markdown, rows
from .runs import (LEGACY_STOP, PROPOSED_STOP, replay, rho_q_error, rho_q_run,
                   scaled_growth_max, tail_history, trigger)
from .sections import MAP_KERNELS, SECTIONS, DensityOnlySmoothing

TITLE = "Short-wave stability of the hybrid model (docs/stability.md)"


def compute(params, sections=None):
    """Run the named sections (all by default) with ``params`` (the ``stability`` table of
    a profile); returns ``{section: JSON-ready dict}`` (each with ``wall_s``)."""
    data = {}
    for name in sections or SECTIONS:
        t0 = time.time()
        data[name] = jsonable(SECTIONS[name](params[name]), finite_only=False)
        data[name]["wall_s"] = round(time.time() - t0, 1)
    return data


def study(params, figdir):
    """The validation study (:mod:`validation.runner` protocol)."""
    data = compute(params)
    return {"title": TITLE, "about": markdown(data), "rows": rows(data), "data": data,
            "figures": figures(data, figdir)}


__all__ = ["study", "compute", "figures", "rows", "markdown", "SECTIONS", "MAP_KERNELS",
           "BandOperator", "band", "fit_exponent", "growth_rate", "perturbation_run",
           "wkb_coefficient", "BASE_STATES", "CENTER", "KAPPA", "STUDY_BASES", "base_state",
           "correlated_state", "grid", "hamiltonian", "model", "note_config", "simulation",
           "study_base", "spin_coherent_field", "state_from_grid", "von_mises_fisher",
           "LEGACY_STOP", "PROPOSED_STOP", "replay", "rho_q_error", "rho_q_run",
           "scaled_growth_max", "tail_history", "trigger", "DensityOnlySmoothing"]
