"""How a study runs the solver: :meth:`spectral_qc.Simulation.run` with handlers.

:func:`evolve` advances a Simulation with its stop criteria switched off (the studies
*measure* positivity and invariants; only a non-finite state or a regularizer's
non-positive smoothed density ends a run) and records the diagnostics a study names every
``every`` time units with a step handler. :class:`Trajectory` holds what it recorded and
the :class:`~spectral_qc.Result` of the run. :func:`cached` shares runs between studies
of one process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from spectral_qc import diagnostics as dg
from spectral_qc.sphere import integrate


@dataclass
class Trajectory:
    """Diagnostics recorded along one run (plain numpy arrays) and its Result.

    Attributes
    ----------
    label : str
    times : list of float
    values : dict name → list of values (one per time)
    result : spectral_qc.Result or None
    """

    label: str
    times: list = field(default_factory=list)
    values: dict = field(default_factory=dict)
    result: object = None

    def add(self, t, d):
        self.times.append(float(t))
        for k, v in d.items():
            self.values.setdefault(k, []).append(np.asarray(v, float))

    def series(self, name) -> np.ndarray:
        """The values of ``name`` at :attr:`times`."""
        return np.array(self.values[name])

    @property
    def failure(self):
        """Why the run ended before t_end (None when it got there)."""
        r = self.result
        return None if r is None or r.status == "ok" else r.reason

    @property
    def wall(self) -> float:
        return self.result.stats["wall_s"]

    @property
    def steps(self) -> int:
        return self.result.stats["steps"]

    @property
    def final_state(self):
        return self.result.final_state


def berry_casimir_ungated(model, state):
    """∫ϱ²/Ω dA without the diagnostic's purity gate (it returns NaN once 1 − Tr P² > 1e-6
    anywhere, which truncation of a pure state can reach); Ω from the pure-state formula."""
    f = model.fields(state)
    omega = dg.berry_curvature_form(f.P, f.grad_P, model.hbar, model.spin_magnitude)
    return float(integrate(model.grid, f.rho ** 2 / omega))


#: Diagnostics a study computes differently from the solver's (name → fn(model, state)).
EXTRA = {"berry_casimir": berry_casimir_ungated}


def diagnose(model, state, names) -> dict:
    """The diagnostics ``names`` of a state (those of :data:`EXTRA` computed here)."""
    d = dg.evaluate(model, state, [n for n in names if n not in EXTRA])
    d.update({n: EXTRA[n](model, state) for n in names if n in EXTRA})
    return d


def evolve(sim, t_end, *, every=None, names=None, label=""):
    """Advance ``sim`` to ``t_end`` with :meth:`Simulation.run`; record ``names`` (default
    all diagnostics) every ``every`` (default: only at 0 and ``t_end``).

    ``sim`` comes from :func:`validation.cases.make_sim` (stop criteria off, one output at
    its t_end): a non-finite state or a regularizer's non-positive smoothed density ends
    the run (``Trajectory.failure`` says when). ``sim`` holds the final state afterwards.

    Returns
    -------
    Trajectory
    """
    n_end = int(round(t_end / sim.dt))
    k = n_end if every is None else max(1, int(round(every / sim.dt)))
    names = list(dg.DIAGNOSTICS) if names is None else list(names)
    traj = Trajectory(label)
    seen = set()

    def record(s):
        if names and s.iteration not in seen and (s.iteration % k == 0 or s.iteration == n_end):
            seen.add(s.iteration)
            traj.add(s.time, diagnose(s.model, s.state, names))

    handler = sim.add_handler(record, every=1)
    record(sim)  # t = 0
    try:
        traj.result = sim.run(t_end, raise_on_failure=False)
    finally:
        sim.remove_handler(handler)
    return traj


_CACHE: dict = {}


def cached(key, make):
    """Memoize expensive runs within one process (studies share runs)."""
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def clear_cache():
    _CACHE.clear()


def cached_value(key):
    """What :func:`cached` holds under ``key`` (None when no study made it yet)."""
    return _CACHE.get(key)


def fmt(x, digits=2):
    """Short scientific formatting for the report."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x):.{digits}e}"
