"""Simulation: owns the state, the clock and its handlers; steps, records, stops honestly.

A :class:`Simulation` is built from a config (contract §2: a path or a dict of the TOML
structure, or a :class:`~spectral_qc.config.Config`). :meth:`Simulation.run` advances to
``t_end``, records the diagnostics of :mod:`spectral_qc.diagnostics` every
``output_every``, calls the handlers added with :meth:`Simulation.add_handler`, and returns
a :class:`~spectral_qc.result.Result`. When the solution stops being trustworthy
(:class:`~spectral_qc.stopping.StopCriteria`) it raises a
:class:`~spectral_qc.errors.NumericalFailure` whose ``diagnostics`` hold everything
recorded up to the failure — or, with ``raise_on_failure=False``, returns the Result with
``status = "numerical_failure"``.

Time is ``t0 + iteration · dt`` (never accumulated), so a run restarted from a
checkpoint reproduces an uninterrupted run bit for bit.
"""

from __future__ import annotations

import dataclasses
import logging
import time as _time
from dataclasses import dataclass

import numpy as np

from . import characteristics as ch
from . import diagnostics as dg
from .config import Config, dumps_config, load_config
from .errors import (CharacteristicsCross, ConfigError, InstabilityDetected, NonFiniteState,
                     NumericalFailure, PositivityLost)
from .integrators import make_integrator
from .models import model_class_for
from .models.product import product_state
from .result import Result
from .sphere import SphereGrid
from .sphere.product import ProductGrid
from .states import State, initial_state, product_density, state_from_grid
from .stopping import StopCriteria, TailMonitor
from .version import __version__

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handler:
    """A function the clock calls: after every ``every`` steps, or after each output.

    ``every = "output"``: ``fn(sim, time, diagnostics)`` after each recorded output (also the
    failing one); an int k: ``fn(sim)`` after every k-th step (``every = 1``: each step).
    """

    fn: object
    every: object = "output"


class Simulation:
    """A configured run: grid, model, integrator, state, clock and handlers.

    Parameters
    ----------
    config : str, Path, dict or Config
        Contract §2; ``[solver]`` (contract §6) sets the scheme, the spectral filter and the
        stop criteria.
    scheme : str, optional
        Overrides ``[solver] scheme`` (a name from :data:`spectral_qc.integrators.SCHEMES`).
    spectral_filter : bool, optional
        Overrides ``[solver] spectral_filter``.
    stop : StopCriteria, optional
        Overrides ``[solver.stop]``; ``StopCriteria.off()`` switches the stop tests off.

    Overrides are written into :attr:`config`, so the recorded config is the one that ran.

    Attributes
    ----------
    config, grid, model, integrator, state, stop
    iteration : int — steps taken since ``t0``
    t0 : float — start time
    records : list of (time, dict) — diagnostics recorded so far
    tail : TailMonitor — the spectral-tail test (its history is part of a checkpoint)
    """

    def __init__(self, config, *, scheme=None, spectral_filter=None, stop=None):
        cfg = config if isinstance(config, Config) else load_config(config)
        solver = cfg.solver
        changes = {k: v for k, v in (("scheme", scheme), ("spectral_filter", spectral_filter),
                                     ("stop", stop)) if v is not None}
        if changes:  # make_integrator below refuses an unknown scheme name
            cfg = dataclasses.replace(cfg, solver=dataclasses.replace(solver, **changes))
        self.config = cfg
        # several classical spins (paper §4.4): the product of spheres, one lmax per spin
        self.grid = SphereGrid(cfg.grid.lmax) if cfg.spins == 1 else ProductGrid(cfg.grid.lmax)
        self.model = model_class_for(cfg.model.kind, cfg.spins).from_config(
            self.grid, cfg.hamiltonian_operator(), cfg.model)
        self.stop = cfg.solver.stop
        if hasattr(self.model, "make_integrator"):  # a model with its own state type (Koopman)
            self.integrator = self.model.make_integrator(
                cfg.solver.scheme, spectral_filter=cfg.solver.spectral_filter)
            self.state = self.model.initial_state(cfg)
        else:
            self.integrator = make_integrator(cfg.solver.scheme, self.model,
                                              spectral_filter=cfg.solver.spectral_filter)
            self.state = (initial_state(cfg, self.grid) if cfg.spins == 1
                          else initial_product_state(cfg, self.grid))
            self.model.check_initial_state(self.state)
            self.state = State(self.state.rho_lm, self.state.p_lm,
                               ch.initial_log_jacobian(self.grid))  # J = 1: tracked from t0
        self.dt = cfg.time.dt
        self.t0 = 0.0
        self.iteration = 0
        self.records: list = []
        self.tail = TailMonitor(self.stop, self.grid.lmax)
        self.handlers: list = []
        self._previous_jacobian = None  # (t, min J) one step back: dates a crossing

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

    def steps_to(self, t_end) -> int:
        """The iteration at which the clock reads ``t_end``."""
        return round((float(t_end) - self.t0) / self.dt)

    def add_handler(self, fn, every="output") -> Handler:
        """Call ``fn`` as the clock advances (Dedalus' handlers).

        Parameters
        ----------
        fn : callable
            ``fn(sim, time, diagnostics)`` for ``every = "output"`` (after each recorded
            output, including the one at which a run fails); ``fn(sim)`` otherwise.
        every : "output" or int ≥ 1
            After each output, or after every ``every``-th step.

        Returns
        -------
        Handler
            Pass it to :meth:`remove_handler` to stop the calls.
        """
        if every != "output" and not (isinstance(every, int) and every >= 1):
            raise ValueError(f"add_handler: every = {every!r}: expected 'output' or an int ≥ 1")
        h = Handler(fn, every)
        self.handlers.append(h)
        return h

    def remove_handler(self, handler: Handler) -> None:
        """Stop calling a handler returned by :meth:`add_handler`."""
        self.handlers.remove(handler)

    def state_from_grid(self, rho, P) -> State:
        """A State from grid values ``rho`` (nlat, nphi) and ``P`` (N, N, nlat, nphi)."""
        return state_from_grid(self.grid, rho, P)

    # ------------------------------------------------------------------- step
    def step(self):
        """Advance one time step, run the per-step checks, then the step handlers."""
        try:
            new = self.integrator.step(self.state, self.dt)
        except NumericalFailure as exc:  # raised inside a stage (grid, regularizer)
            raise self._failure(type(exc), exc.quantity, exc.value, f"{exc}") from None
        if not all(np.all(np.isfinite(a)) for a in vars(new).values() if a is not None):
            self.iteration += 1
            raise self._failure(NonFiniteState, "state", float("nan"),
                                "the state became non-finite")
        self.state, self.iteration = new, self.iteration + 1
        self._check_characteristics()
        tail = (self.model.spectral_tail(self.state) if hasattr(self.model, "spectral_tail")
                else dg.state_spectral_tail(self.grid, self.state))
        verdict = self.tail.update(self.time, tail)
        if verdict is not None:
            raise self._failure(InstabilityDetected, "spectral_tail", verdict.tail,
                                verdict.what)
        for h in self.handlers:
            if h.every != "output" and self.iteration % h.every == 0:
                h.fn(self)

    def _check_characteristics(self):
        """Stop with CharacteristicsCross when min J falls below ``stop.jacobian_stop``."""
        if getattr(self.state, "q_lm", None) is None or not self.stop.enabled:
            return
        j, theta, phi = ch.jacobian_minimum(self.grid, self.state.q_lm)
        previous, self._previous_jacobian = self._previous_jacobian, (self.time, j)
        if j < self.stop.jacobian_stop:
            msg = ch.crossing_message(self.time, j, theta, phi, self.stop.jacobian_stop,
                                      lmax=self.grid.lmax, previous=previous)
            raise CharacteristicsCross(msg, time=self.time, quantity="jacobian_min", value=j,
                                       diagnostics=self.dataset())

    def _failure(self, cls, quantity, value, what):
        """The failure to raise, with the cause it measured (:func:`ch.failure_cause`)."""
        earlier = [(t, d.get("jacobian_min", np.nan)) for t, d in self.records if t < self.time]
        cause, crossing = ch.failure_cause(
            self.grid, self.state, iteration=self.iteration, time=self.time,
            previous=earlier[-1] if earlier else None, model_cause=self.model.failure_hint(),
            regularizable=self.model.accepts_regularization)
        msg = f"t = {self.time:.6g}: {what} [{quantity} = {value:.3g}]. Likely cause: {cause}"
        if crossing is not None:  # the measured cause: report the stop as a crossing
            cls, quantity, value = CharacteristicsCross, "jacobian_min", crossing[0]
        return cls(msg, time=self.time, quantity=quantity, value=value,
                   diagnostics=self.dataset())

    # ------------------------------------------------------------ diagnostics
    def diagnose(self) -> dict:
        """Diagnostics of the current state (dict name → value)."""
        if hasattr(self.model, "diagnostics"):
            return self.model.diagnostics(self.state)
        return dg.evaluate(self.model, self.state)

    def record(self) -> dict:
        """Record the diagnostics of the current state and check positivity."""
        if hasattr(self.model, "diagnostics"):  # Koopman: ρc is unsigned, monitored only
            d = self.model.diagnostics(self.state)
            self.records.append((self.time, d))
            return d
        snap = dg.Snapshot(self.model, self.state)
        d = dg.evaluate(self.model, self.state, snapshot=snap)
        self.records.append((self.time, d))
        s = self.stop
        if not s.enabled:
            return d
        rho_max = float(snap.fields.rho.max())  # the diagnostics' ϱ, no extra transform
        if d["min_rho"] < -s.rho_tol * rho_max:
            raise self._failure(PositivityLost, "min_rho", d["min_rho"],
                                f"ϱ lost positivity (min ϱ / max ϱ < −{s.rho_tol:g})")
        if d["min_eig_P"] < -s.eig_tol:
            raise self._failure(PositivityLost, "min_eig_P", d["min_eig_P"],
                                f"P lost positivity (min eig P < −{s.eig_tol:g})")
        return d

    def dataset(self, records=None):
        """The recorded diagnostics (or ``records``, e.g. ``[]`` for the empty layout) as an
        xarray.Dataset over ``time``, with the variables of this model's diagnostics."""
        return dg.to_dataset(self.records if records is None else records, self.model.N,
                             attrs=self._attrs(),
                             table=getattr(self.model, "diagnostic_table", None))

    def _attrs(self):
        c = self.config.solver
        return {"config": dumps_config(self.config), "spectral_qc_version": __version__,
                "model": self.model.name, "scheme": self.integrator.name,
                "spectral_filter": int(c.spectral_filter)}

    # -------------------------------------------------------------------- run
    def run(self, t_end=None, *, raise_on_failure=True, callback=None) -> Result:
        """Advance to ``t_end`` (default: the config's), recording every ``output_every``.

        Parameters
        ----------
        t_end : float, optional
        raise_on_failure : bool
            True (default): a numerical failure raises :class:`NumericalFailure` (its
            ``.diagnostics`` hold everything recorded up to the failure, ``.result`` the
            Result) and Ctrl-C raises KeyboardInterrupt. False: both end the run and are
            reported in the returned Result (``status`` "numerical_failure" or
            "interrupted").
        callback : callable(sim, time, diagnostics), optional
            An output handler for this call only (see :meth:`add_handler`).

        Returns
        -------
        Result
            ``status``, ``reason``, ``t_last``, ``diagnostics`` (every diagnostic of
            contract §4 over ``time``), ``final_state``, ``stats``. It also answers item
            and attribute access as its diagnostics Dataset (``sim.run()["energy"]``).
        """
        extra = self.add_handler(callback) if callback is not None else None
        start, counts0, it0 = _time.perf_counter(), dict(self.grid.counts), self.iteration
        status, reason, error = "ok", None, None
        try:
            self._advance(self.steps_to(self.config.time.t_end if t_end is None else t_end))
        except NumericalFailure as exc:
            status, reason, error = "numerical_failure", str(exc), exc
        except KeyboardInterrupt as exc:
            status, reason, error = "interrupted", "interrupted (SIGINT)", exc
        finally:
            if extra is not None:
                self.remove_handler(extra)
        counts = {k: v - counts0.get(k, 0) for k, v in self.grid.counts.items()}
        result = Result(status=status, reason=reason, t_last=self.time,
                        diagnostics=self.dataset(), final_state=self.state,
                        stats={"wall_s": _time.perf_counter() - start,
                               "steps": self.iteration - it0, "transforms": counts},
                        error=error)
        if error is not None and raise_on_failure:
            if isinstance(error, NumericalFailure):
                error.result = result
            raise error
        return result

    def _advance(self, n_end: int):
        k = self.steps_per_output
        if not self.records or self.records[-1][0] != self.time:
            self._record_and_call()
        while self.iteration < n_end:
            self.step()
            if self.iteration % k == 0 or self.iteration == n_end:
                self._record_and_call()

    def _record_and_call(self):
        try:
            d = self.record()
        except NumericalFailure:
            self._call_output_handlers(self.records[-1][1])
            raise
        self._call_output_handlers(d)

    def _call_output_handlers(self, d):
        for h in list(self.handlers):
            if h.every == "output":
                h.fn(self, self.time, d)

    # ------------------------------------------------------------- checkpoint
    def checkpoint(self) -> dict:
        """Everything needed to continue this run bit for bit (see :meth:`restore`).

        Returns
        -------
        dict
            Copies of the state arrays (``rho_lm``, ``p_lm``, ``q_lm`` = ln J of
            :mod:`.characteristics`, or ``upsilon_lm``), ``iteration``, ``t0``, ``dt`` and
            the spectral-tail history of the stop criteria. The recorded diagnostics are not
            included (a fixed-size dict; the history lives in diagnostics.nc).
        """
        return {**{k: None if v is None else v.copy() for k, v in vars(self.state).items()},
                "iteration": self.iteration, "t0": self.t0, "dt": self.dt,
                "tail_history": list(self.tail.history)}

    @classmethod
    def restore(cls, config, checkpoint, **kw) -> "Simulation":
        """A Simulation continuing from :meth:`checkpoint` output (same config).

        Time is ``t0 + iteration·dt``, so the restored run gives the same numbers, bit for
        bit, as one that never stopped. ``kw`` as for the constructor.
        """
        sim = cls(config, **kw)
        for k, v in vars(sim.state).items():  # e.g. a checkpoint of another grid or N
            c = checkpoint.get(k)
            if v is not None and c is not None and np.shape(c) != v.shape:
                raise ConfigError(f"checkpoint: {k} has shape {np.shape(c)} but the config "
                                  f"needs {v.shape} (grid.lmax, the spins or N differ); "
                                  "restore it with the config it was written with")
        # a missing q_lm (checkpoints from before J was tracked) leaves J untracked
        sim.state = type(sim.state)(**{k: None if checkpoint.get(k) is None else
                                       np.asarray(checkpoint[k]) for k in vars(sim.state)})
        sim.iteration = int(checkpoint["iteration"])
        sim.t0 = float(checkpoint["t0"])
        sim.dt = float(checkpoint["dt"])
        sim.records = [(float(t), dict(d)) for t, d in checkpoint.get("records", [])]
        sim.tail.history = [(float(t), float(v)) for t, v in checkpoint.get("tail_history", [])]
        return sim


def initial_product_state(config, grid) -> State:
    """ϱ0 = Π_a ϱ0_a(n_a) (:func:`~spectral_qc.states.product_density`) and the uniform P0
    of a config with several classical spins on its ProductGrid
    (:func:`~spectral_qc.models.product.product_state`; P ≡ 1 for a scalar model)."""
    density = None if config.N == 1 else config.initial.quantum.density
    return product_state(grid, product_density(grid, config.initial.classical.factors),
                         density)


__all__ = ["Simulation", "initial_product_state", "StopCriteria", "Handler", "Result", "initial_state",
           "NumericalFailure"]
