"""Solver runs of the stability study: ρ̂q(t) of the note's case and tail histories.

:func:`tail_history` records the spectral tail the solver monitors (``Simulation.tail``,
:func:`spectral_qc.diagnostics.state_spectral_tail`: max of the tail fractions of ϱ and of
all components of P) after every step, with the stop tests off; :func:`trigger` replays a
history through :class:`spectral_qc.stopping.TailMonitor` — the solver's own test — under
given criteria.
"""

from __future__ import annotations

import math
import time

import numpy as np

from spectral_qc import StopCriteria
from spectral_qc import diagnostics as dg
from spectral_qc.errors import NumericalFailure
from spectral_qc.stopping import TailMonitor

from .problem import correlated_state, simulation

#: Stop criteria proposed from the detector study (docs/stability.md §6; the solver's
#: default is the same with growth_max = 100 + 2·lmax).
PROPOSED_STOP = {"growth_max": 150.0, "growth_window": 0.02, "tail_floor": 1e-20,
                 "tail_max": 1e-2}
#: The criteria in force before the study (growth_max 40, window 0.05, floor 1e-12).
LEGACY_STOP = {"growth_max": 40.0, "growth_window": 0.05, "tail_floor": 1e-12,
               "tail_max": 1e-2}


def rho_q_run(lmax, *, regularization="none", alpha=0.0, hbar=1.0, t_end=0.5, dt=0.01,
              bloch=(1.0, 0.0, 0.0)):
    """ρ̂q at ``t_end`` of the note's case, and the drifts of the invariants.

    Returns a dict with ``rho_q`` (2×2 complex as [[re, im], …] lists), ``energy_drift``,
    ``casimir_drift`` (∫ϱ Tr P², relative), ``mass_drift`` and ``wall`` seconds.
    """
    t0 = time.time()
    # the tail detector is off (this measures errors); the positivity checks stay on
    sim = simulation(lmax, regularization=regularization, alpha=alpha, hbar=hbar,
                     t_end=t_end, dt=dt, bloch=bloch,
                     stop=StopCriteria(tail_max=math.inf, growth_max=math.inf))
    try:
        ds = sim.run()
    except (NumericalFailure, FloatingPointError) as exc:  # FPE: hyper kernel, ϱ̃ ≤ 0
        return {"lmax": lmax, "regularization": regularization, "alpha": alpha,
                "hbar": hbar, "t_end": t_end, "dt": dt, "rho_q": np.full((2, 2), np.nan),
                "failed": f"t = {sim.time:.3g}: {exc}"[:200], "energy_drift": math.nan,
                "casimir_drift": math.nan, "mass_drift": math.nan, "wall": time.time() - t0}
    rq = ds.rho_q_real.values[-1] + 1j * ds.rho_q_imag.values[-1]
    e = ds.energy.values
    return {"lmax": lmax, "regularization": regularization, "alpha": alpha, "hbar": hbar,
            "t_end": t_end, "dt": dt, "rho_q": rq, "energy_drift": float(abs(e[-1] - e[0])),
            "casimir_drift": float(abs(ds.casimir_trP2.values[-1] / ds.casimir_trP2.values[0]
                                       - 1)),
            "mass_drift": float(abs(ds.mass.values[-1] - ds.mass.values[0])),
            "wall": time.time() - t0}


def rho_q_error(a, b):
    """max |ρ̂q(a) − ρ̂q(b)| over the entries."""
    return float(np.abs(np.asarray(a["rho_q"]) - np.asarray(b["rho_q"])).max())


class _TailOverflow(Exception):
    """Ends a tail history once the tail passes 0.5 (the run is lost)."""


def tail_history(lmax, *, kind="hybrid", regularization="none", alpha=0.0, hbar=1.0,
                 t_max=1.0, dt=0.01, bloch=(1.0, 0.0, 0.0), correlated=False):
    """The solver's spectral tail after every step of a run with the stop tests off.

    Runs until ``t_max``, until the state is non-finite, or until the tail passes 0.5.
    Returns ``t``, ``tail`` lists (t = 0 first), ``t_nonfinite`` (None if it stayed
    finite), ``t_positivity`` (first step with min ϱ < −1e-3 max ϱ or min eig P < −1e-3)
    and ``error``.
    """
    sim = simulation(lmax, stop=StopCriteria.off(), kind=kind, regularization=regularization,
                     alpha=alpha, hbar=hbar, t_end=t_max, dt=dt, bloch=bloch)
    g = sim.grid
    if correlated:
        sim.state = correlated_state(g)
    ts, tails, found = [0.0], [dg.state_spectral_tail(g, sim.state)], {"t_pos": None}

    def after_step(s):
        tail = s.tail.history[-1][1]  # what the solver's TailMonitor was given
        ts.append(s.time)
        tails.append(tail)
        if found["t_pos"] is None:
            d = dg.evaluate(s.model, s.state, ["min_rho", "min_eig_P"])
            rho_max = float(g.synthesis(s.state.rho_lm).max())
            if d["min_rho"] < -1e-3 * rho_max or d["min_eig_P"] < -1e-3:
                found["t_pos"] = s.time
        if not np.isfinite(tail) or tail > 0.5:
            raise _TailOverflow

    sim.add_handler(after_step, every=1)
    t_nan = error = None
    try:
        result = sim.run(raise_on_failure=False)
        if result.status == "numerical_failure":  # NonFiniteState, SmoothedDensityLost
            t_nan = sim.time
            error = f"{type(result.error).__name__}: {result.error}"[:160]
    except _TailOverflow:
        t_nan = None if np.isfinite(tails[-1]) else sim.time
    return {"lmax": lmax, "kind": kind, "regularization": regularization, "alpha": alpha,
            "dt": dt, "correlated": correlated, "t": ts, "tail": tails,
            "t_nonfinite": t_nan, "t_positivity": found["t_pos"], "error": error}


def trigger(ts, tails, lmax, **criteria):
    """When :class:`~spectral_qc.stopping.TailMonitor` with ``criteria`` (StopCriteria
    fields) stops a recorded history (replayed from the first step, as in a run).

    Returns ``(time, reason, max_rate)``: ``time`` None when it never stops, ``reason``
    ``"tail_max"`` or ``"growth"``, ``max_rate`` the largest windowed growth rate seen
    above the floor before the stop.
    """
    crit = StopCriteria(**criteria)
    monitor, max_rate = TailMonitor(crit, lmax), -math.inf
    for t, tail in zip(ts[1:], tails[1:]):
        verdict = monitor.update(t, tail)
        if verdict is not None and tail > crit.tail_max:
            return t, "tail_max", max_rate
        if monitor.last_rate is not None:
            max_rate = max(max_rate, monitor.last_rate)
        if verdict is not None:
            return t, "growth", max_rate
    return None, None, max_rate


def scaled_growth_max(lmax):
    """The solver's default threshold 100 + 2·lmax (StopCriteria, growth_max = "auto")."""
    return StopCriteria().growth_threshold(lmax)


def replay(runs):
    """Add the legacy (``default_trigger``), the proposed and the solver's default
    (``scaled_trigger``) stop to every tail history."""
    for h in runs:
        h["default_trigger"] = list(trigger(h["t"], h["tail"], h["lmax"], **LEGACY_STOP))
        h["proposed_trigger"] = list(trigger(h["t"], h["tail"], h["lmax"], **PROPOSED_STOP))
        h["scaled_trigger"] = list(trigger(h["t"], h["tail"], h["lmax"]))
    return {"runs": runs, "proposed": PROPOSED_STOP, "legacy": LEGACY_STOP,
            "scaled": "StopCriteria() defaults: growth_max = 100 + 2 lmax, window 0.02, "
                      "floor 1e-20, tail_max 1e-2"}
