"""Simulation: owns the state and the clock, steps, records diagnostics, stops honestly.

A :class:`Simulation` is built from a config (contract §2: a path or a dict of the TOML
structure, or a :class:`~spectral_qc.config.Config`). ``run()`` advances to ``t_end``,
records the diagnostics of :mod:`spectral_qc.diagnostics` every ``output_every`` and
returns them as an :class:`xarray.Dataset`. When the solution stops being trustworthy
(:class:`StopCriteria`) it raises a :class:`~spectral_qc.errors.NumericalFailure` whose
``diagnostics`` hold everything recorded up to the failure.

Time is ``t0 + iteration · dt`` (never accumulated), so a run restarted from a
checkpoint reproduces an uninterrupted run bit for bit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from . import diagnostics as dg
from .config import Config, load_config
from .errors import (ConfigError, InstabilityDetected, NonFiniteState, NumericalFailure, PositivityLost,
                     SpectralQCError)
from .integrators import make_integrator
from .models import make_model
from .sphere import SphereGrid
from .states import State, mixture, state_from_grid, uniform_density_matrix, von_mises_fisher

log = logging.getLogger(__name__)

REGULARIZATION_HINT = ("the short-wave instability of the hybrid model as written (growth "
                       "rates ∝ l², docs/stability.md); regularize it with [model] "
                       "regularization = \"heat_kernel\" (or \"hyper_heat_kernel\") and "
                       "alpha > 0 (e.g. alpha = 0.01), or lower lmax")


@dataclass(frozen=True, kw_only=True)
class StopCriteria:
    """When a run stops with a :class:`NumericalFailure` (docs/models.md, "Stopping").

    Attributes
    ----------
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
        ``100 + 2·lmax``: healthy runs (Ehrenfest, regularized hybrid) peak at 129
        (lmax ≤ 63) and 138 (lmax 127), the unregularized hybrid exceeds it from
        t ≈ 0.1–0.35 on (docs/stability.md, "Detector calibration").
    growth_window : float
        Time span of the growth-rate fit (0.02).
    tail_floor : float
        Tails below this are round-off and never count as growth (1e-20).
    """

    rho_tol: float = 1e-3
    eig_tol: float = 1e-3
    tail_max: float = 1e-2
    growth_max: float | None = None
    growth_window: float = 0.02
    tail_floor: float = 1e-20

    def growth_threshold(self, lmax: int) -> float:
        """The growth-rate threshold in force on a grid of truncation ``lmax``."""
        return 100.0 + 2.0 * lmax if self.growth_max is None else self.growth_max


def initial_state(config: Config, grid: SphereGrid) -> State:
    """ϱ0 and P0 of a config on a grid (uniform P0 from the config's density matrix)."""
    c = config.initial.classical
    if c.kind == "mixture":
        rho = mixture(grid, c.components)
    else:
        rho = von_mises_fisher(grid, c.center, c.kappa)
    density = np.ones((1, 1)) if config.model.kind == "liouville" else config.initial.quantum.density
    return state_from_grid(grid, rho, uniform_density_matrix(grid, density))


#: The hybrid generator contains ∇ln ϱ: ϱ0 must exceed this fraction of its maximum.
HYBRID_RHO_FLOOR = 1e-12


def check_hybrid_density(grid, state):
    """Refuse an initial ϱ that is not positive on the grid for the hybrid model.

    Its generator contains {ln ϱ, H}: where the truncated ϱ0 is zero or negative (a narrow
    von Mises–Fisher density undershoots at the antipode on a coarse grid) the model is
    undefined. Raises ConfigError with the remedy.
    """
    rho = grid.synthesis(state.rho_lm)
    ratio = float(rho.min() / rho.max())
    if ratio < HYBRID_RHO_FLOOR:
        # a background of weight w adds w/(4π); ask for ten times the undershoot
        weight = max(40 * np.pi * max(-float(rho.min()), 0.0), 1e-11 * float(rho.max()) * 4 * np.pi)
        raise ConfigError(
            f"initial.classical: the hybrid model needs ϱ0 > 0 everywhere (its generator "
            f"contains ∇ln ϱ), but min ϱ0 / max ϱ0 = {ratio:.2g} on the lmax = "
            f"{grid.lmax} grid; add a uniform background (kind = \"mixture\" with a "
            f"kappa = 0 component of weight ≳ {weight:.1g}), lower kappa, or raise lmax")


class Simulation:
    """A configured run: grid, model, integrator, state and clock.

    Parameters
    ----------
    config : str, Path, dict or Config
        Contract §2.
    scheme : str
        Splitting scheme from :data:`spectral_qc.integrators.SCHEMES` (default ``"strang"``).
    spectral_filter : bool
        Apply the exponential spectral filter after every step.
    stop : StopCriteria, optional

    Attributes
    ----------
    config, grid, model, integrator, state
    iteration : int — steps taken since ``t0``
    t0 : float — start time
    records : list of (time, dict) — diagnostics recorded so far
    """

    def __init__(self, config, *, scheme="strang", spectral_filter=False, stop=None):
        self.config = config if isinstance(config, Config) else load_config(config)
        cfg = self.config
        self.grid = SphereGrid(cfg.grid.lmax)
        kw = dict(hbar=cfg.model.hbar, spin_magnitude=cfg.model.spin_magnitude)
        if cfg.model.kind == "hybrid":
            kw.update(regularization=cfg.model.regularization, alpha=cfg.model.alpha)
        self.model = make_model(cfg.model.kind, self.grid, cfg.hamiltonian_operator(), **kw)
        self.integrator = make_integrator(scheme, self.model, spectral_filter=spectral_filter)
        self.stop = stop or StopCriteria()
        self.state = initial_state(cfg, self.grid)
        if cfg.model.kind == "hybrid":
            check_hybrid_density(self.grid, self.state)
        self.dt = cfg.time.dt
        self.t0 = 0.0
        self.iteration = 0
        self.records: list = []
        self._tail_history: list = []

    def __repr__(self):
        return f"Simulation({self.model!r}, t={self.time:.6g}, dt={self.dt})"

    # ------------------------------------------------------------------ clock
    @property
    def time(self) -> float:
        """Current time t0 + iteration·dt."""
        return self.t0 + self.iteration * self.dt

    @property
    def steps_per_output(self) -> int:
        return max(1, round(self.config.time.output_every / self.dt))

    def state_from_grid(self, rho, P) -> State:
        """A State from grid values ``rho`` (nlat, nphi) and ``P`` (N, N, nlat, nphi)."""
        return state_from_grid(self.grid, rho, P)

    # ------------------------------------------------------------------- step
    def step(self):
        """Advance one time step and run the cheap per-step checks."""
        try:
            new = self.integrator.step(self.state, self.dt)
        except ValueError as exc:  # the grid refuses NaN/inf fields met inside a stage
            if "NaN" not in str(exc):
                raise
            raise self._failure(NonFiniteState, "state", float("nan"),
                                "the state became non-finite inside a step") from None
        except FloatingPointError as exc:  # a regularizer met a non-positive smoothed ϱ̃
            raise self._failure(PositivityLost, "smoothed_rho", float("nan"),
                                f"the regularized density lost positivity ({exc})") from None
        self.iteration += 1
        if not (np.all(np.isfinite(new.rho_lm)) and np.all(np.isfinite(new.p_lm))):
            raise self._failure(NonFiniteState, "state", float("nan"),
                                "the state became non-finite")
        self.state = new
        self._check_tail()

    def _check_tail(self):
        s = self.stop
        tail = dg.state_spectral_tail(self.grid, self.state)
        hist = self._tail_history
        hist.append((self.time, tail))
        while len(hist) > 2 and hist[-1][0] - hist[1][0] >= s.growth_window:
            hist.pop(0)
        if tail > s.tail_max:
            raise self._failure(InstabilityDetected, "spectral_tail", tail,
                                f"the spectral tail {tail:.3g} exceeds {s.tail_max:g}: the "
                                "solution is no longer resolved")
        (t_a, a), (t_b, b) = hist[0], hist[-1]
        if t_b - t_a >= s.growth_window and min(a, b) > s.tail_floor:
            rate = math.log(b / a) / (t_b - t_a)
            limit = s.growth_threshold(self.grid.lmax)
            if rate > limit:
                raise self._failure(InstabilityDetected, "spectral_tail", tail,
                                    f"the spectral tail grows at rate {rate:.3g} per unit "
                                    f"time (threshold {limit:g}): short-wave growth")

    def _failure(self, cls, quantity, value, what):
        cause = REGULARIZATION_HINT if (self.model.name == "hybrid"
                                        and self.config.model.regularization == "none") else \
            "resolution exhausted (fine structure from phase mixing or transport); raise lmax, " \
            "shorten t_end, or enable the spectral filter"
        msg = f"t = {self.time:.6g}: {what} [{quantity} = {value:.3g}]. Likely cause: {cause}"
        return cls(msg, time=self.time, quantity=quantity, value=value,
                   diagnostics=self.dataset())

    # ------------------------------------------------------------ diagnostics
    def diagnose(self) -> dict:
        """Diagnostics of the current state (dict name → value)."""
        return dg.evaluate(self.model, self.state)

    def record(self) -> dict:
        """Record the diagnostics of the current state and check positivity."""
        snap = dg.Snapshot(self.model, self.state)
        d = dg.evaluate(self.model, self.state, snapshot=snap)
        self.records.append((self.time, d))
        s = self.stop
        rho_max = float(snap.fields.rho.max())  # the diagnostics' ϱ, no extra transform
        if d["min_rho"] < -s.rho_tol * rho_max:
            raise self._failure(PositivityLost, "min_rho", d["min_rho"],
                                f"ϱ lost positivity (min ϱ / max ϱ < −{s.rho_tol:g})")
        if d["min_eig_P"] < -s.eig_tol:
            raise self._failure(PositivityLost, "min_eig_P", d["min_eig_P"],
                                f"P lost positivity (min eig P < −{s.eig_tol:g})")
        return d

    def dataset(self):
        """The recorded diagnostics as an xarray.Dataset over ``time``."""
        return dg.to_dataset(self.records, self.model.N, attrs=self._attrs())

    def _attrs(self):
        from . import __version__
        from .config import dumps_config

        return {"config": dumps_config(self.config), "spectral_qc_version": __version__,
                "model": self.model.name, "scheme": self.integrator.name}

    # -------------------------------------------------------------------- run
    def run(self, t_end=None, *, callback=None):
        """Advance to ``t_end`` (default: the config's), recording every ``output_every``.

        Parameters
        ----------
        t_end : float, optional
        callback : callable(sim, time, diagnostics), optional
            Called after each recorded output (writers, checkpoints, progress).

        Returns
        -------
        xarray.Dataset
            Every diagnostic of contract §4 over ``time``.

        Raises
        ------
        NumericalFailure
            With ``.diagnostics`` holding everything recorded up to the failure.
        """
        t_end = self.config.time.t_end if t_end is None else float(t_end)
        n_end = round((t_end - self.t0) / self.dt)
        k = self.steps_per_output
        if not self.records or self.records[-1][0] != self.time:
            self._record_and_call(callback)
        while self.iteration < n_end:
            self.step()
            if self.iteration % k == 0 or self.iteration == n_end:
                self._record_and_call(callback)
        return self.dataset()

    # ------------------------------------------------------------- checkpoint
    def checkpoint(self) -> dict:
        """Everything needed to continue this run bit for bit (see :meth:`restore`).

        Returns
        -------
        dict
            Copies of ``rho_lm``, ``p_lm``, ``iteration``, ``t0``, ``dt`` and the
            spectral-tail history of the stop criteria. The recorded diagnostics are not
            included (a fixed-size dict; the history lives in diagnostics.nc).
        """
        return {"rho_lm": self.state.rho_lm.copy(), "p_lm": self.state.p_lm.copy(),
                "iteration": self.iteration, "t0": self.t0, "dt": self.dt,
                "tail_history": list(self._tail_history)}

    @classmethod
    def restore(cls, config, checkpoint, **kw) -> "Simulation":
        """A Simulation continuing from :meth:`checkpoint` output (same config).

        Time is ``t0 + iteration·dt``, so the restored run gives the same numbers, bit for
        bit, as one that never stopped. ``kw`` as for the constructor.
        """
        sim = cls(config, **kw)
        sim.state = State(np.asarray(checkpoint["rho_lm"]), np.asarray(checkpoint["p_lm"]))
        sim.iteration = int(checkpoint["iteration"])
        sim.t0 = float(checkpoint["t0"])
        sim.dt = float(checkpoint["dt"])
        sim.records = [(float(t), dict(d)) for t, d in checkpoint.get("records", [])]
        sim._tail_history = [(float(t), float(v)) for t, v in checkpoint.get("tail_history", [])]
        return sim

    def _record_and_call(self, callback):
        try:
            d = self.record()
        except SpectralQCError:
            if callback is not None:
                callback(self, self.time, self.records[-1][1])
            raise
        if callback is not None:
            callback(self, self.time, d)


__all__ = ["Simulation", "StopCriteria", "initial_state", "NumericalFailure"]
