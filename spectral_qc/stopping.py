"""When a run stops: the stop criteria and the one spectral-tail monitor.

:class:`StopCriteria` holds the thresholds (config ``[solver.stop]``, contract §6);
:class:`TailMonitor` is the only implementation of the spectral-tail test, used by
:class:`~spectral_qc.simulation.Simulation` after every step and by the stability study
(``validation/stability``) to calibrate the thresholds it applies.

The tail of a state is the fraction of its variance in the top 10 % of degrees
(:func:`spectral_qc.diagnostics.state_spectral_tail`). Two tests act on it:

* the level: ``tail > tail_max`` (the solution is no longer resolved);
* the growth rate: ``ln(tail_b / tail_a) / (t_b − t_a) > growth_max`` fitted over the
  last ``growth_window`` time units, counted only while both tails exceed ``tail_floor``
  (short-wave growth, docs/stability.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .characteristics import JACOBIAN_STOP

#: growth_max = "auto" (None): 100 + GROWTH_PER_DEGREE · lmax per unit time.
GROWTH_BASE = 100.0
GROWTH_PER_DEGREE = 2.0


@dataclass(frozen=True, kw_only=True)
class StopCriteria:
    """When a run stops with a :class:`~spectral_qc.errors.NumericalFailure`.

    Config: ``[solver.stop]`` (docs/usage.md), every field below with the same name
    (``growth_max = "auto"`` for None).

    Attributes
    ----------
    enabled : bool
        False switches every stop test off (the run goes on until it is non-finite;
        non-finite states always stop it). Default True.
    rho_tol : float
        Stop when ``min ϱ < −rho_tol · max ϱ`` (default 1e-3: an undershoot of 0.1% of
        the peak means the density is no longer resolved).
    eig_tol : float
        Stop when the smallest eigenvalue of P anywhere is below ``−eig_tol`` (1e-3).
    tail_max : float
        Stop when the fraction of variance in the top 10% of degrees exceeds this (1e-2).
    growth_max : float, optional
        Stop when the spectral tail grows faster than this rate (per unit time, fitted
        over the last ``growth_window`` time units) while above ``tail_floor``. Default
        (None, ``"auto"`` in the config) ``100 + 2·lmax``: healthy runs (Ehrenfest,
        regularized hybrid) peak at 129 (lmax ≤ 63) and 138 (lmax 127), the unregularized
        hybrid exceeds it from t ≈ 0.1–0.35 on (docs/stability.md, "Detector calibration").
    growth_window : float
        Time span of the growth-rate fit (0.02).
    tail_floor : float
        Tails below this are round-off and never count as growth (1e-20).
    jacobian_stop : float
        Stop with :class:`~spectral_qc.errors.CharacteristicsCross` when the smallest area
        Jacobian J of the flow of X anywhere falls below this (default
        :data:`spectral_qc.characteristics.JACOBIAN_STOP`, 0.02; calibration in
        docs/stability.md §9). Not applied to models whose X is divergence free.
    """

    enabled: bool = True
    rho_tol: float = 1e-3
    eig_tol: float = 1e-3
    tail_max: float = 1e-2
    growth_max: float | None = None
    growth_window: float = 0.02
    tail_floor: float = 1e-20
    jacobian_stop: float = JACOBIAN_STOP

    @classmethod
    def off(cls) -> "StopCriteria":
        """Criteria that never stop a run (only a non-finite state does)."""
        return cls(enabled=False)

    def growth_threshold(self, lmax) -> float:
        """The growth-rate threshold in force on a grid of truncation ``lmax``.

        On a product of spheres ``lmax`` is the tuple of the factors' truncations and the
        automatic threshold uses the largest, 100 + 2·max(lmax_a): the tail is the largest of
        the factors' tails, and the short waves of the finest factor grow fastest (rates
        ∝ l², docs/stability.md), so the finest factor sets the allowance.
        """
        if self.growth_max is None:
            return GROWTH_BASE + GROWTH_PER_DEGREE * (max(lmax) if isinstance(lmax, (tuple, list))
                                                      else lmax)
        return self.growth_max


@dataclass(frozen=True)
class TailVerdict:
    """Why :meth:`TailMonitor.update` says stop: ``what`` in words, ``rate`` (or None)."""

    what: str
    tail: float
    rate: float | None


class TailMonitor:
    """The spectral-tail test of :class:`StopCriteria` over a run.

    Parameters
    ----------
    criteria : StopCriteria
    lmax : int or tuple of int
        Truncation of the grid (for ``growth_max = None``); a product of spheres: one per
        factor (the largest counts, :meth:`StopCriteria.growth_threshold`).

    Attributes
    ----------
    history : list of (time, tail)
        The samples spanning the last ``growth_window`` (kept in checkpoints, so a resumed
        run applies the same test).
    last_rate : float or None
        The most recent fitted growth rate (None until the window is full or while a tail
        is below the floor).
    """

    def __init__(self, criteria: StopCriteria, lmax: int):
        self.criteria = criteria
        self.limit = criteria.growth_threshold(lmax)
        self.history: list = []
        self.last_rate: float | None = None

    def update(self, time: float, tail: float) -> TailVerdict | None:
        """Add the tail at ``time``; return a :class:`TailVerdict` when the run must stop."""
        s, hist = self.criteria, self.history
        hist.append((time, tail))
        while len(hist) > 2 and hist[-1][0] - hist[1][0] >= s.growth_window:
            hist.pop(0)
        (t_a, a), (t_b, b) = hist[0], hist[-1]
        self.last_rate = None
        if t_b - t_a >= s.growth_window and min(a, b) > s.tail_floor:
            self.last_rate = math.log(b / a) / (t_b - t_a)
        if not s.enabled:
            return None
        if tail > s.tail_max:
            return TailVerdict(f"the spectral tail {tail:.3g} exceeds {s.tail_max:g}: the "
                               "solution is no longer resolved", tail, self.last_rate)
        if self.last_rate is not None and self.last_rate > self.limit:
            return TailVerdict(f"the spectral tail grows at rate {self.last_rate:.3g} per "
                               f"unit time (threshold {self.limit:g}): short-wave growth",
                               tail, self.last_rate)
        return None
