"""Run outputs on disk (docs/usage.md, "Outputs"): config.toml, diagnostics.nc, fields.nc, checkpoints.

Layout of an output directory ``DIR``::

    DIR/config.toml          the fully resolved config (spectral_qc.config.dumps_config)
    DIR/diagnostics.nc       every diagnostic over ``time``, one record appended per output
    DIR/fields.nc            ϱ and P on the grid at every output (when output.fields), appended
    DIR/checkpoints/step_<iteration>.npz   exact spectral state + clock (the latest k kept)
    DIR/figures/*.png        (spectral_qc.plotting)

diagnostics.nc and fields.nc grow in place along their unlimited ``time`` dimension
(:mod:`spectral_qc.ncrecords`): a run of n outputs costs O(n) time and disk, and the files
read back complete after a crash at any moment. Checkpoints and config.toml are written to
a temporary name and moved into place with :func:`os.replace`. :class:`RunWriter` is the
``Simulation.run`` callback that keeps these files up to date while a run goes;
:func:`open_run` reads them back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import threading
from pathlib import Path

import numpy as np

from .checkpoints import (CHECKPOINT_DIR, CHECKPOINT_FORMAT, KEEP_CHECKPOINTS, checkpoint_iteration,
                          checkpoints_to_delete, list_checkpoints, load_checkpoint,
                          prune_checkpoints, save_checkpoint, state_checkpoint)
from .config import Config, dumps_config, load_config
from .atomic import tmp_name as _tmp_name, write_text  # noqa: F401 (write_text: public here)
from .errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["Run", "RunWriter", "open_run", "write_dataset", "write_text", "save_checkpoint",
           "load_checkpoint", "list_checkpoints", "checkpoint_iteration", "fields_dataset",
           "grid_fields", "read_fields", "deferred_sigint", "with_output_dir", "with_t_end",
           "state_checkpoint", "prune_checkpoints", "KEEP_CHECKPOINTS",
           "CONFIG_FILE", "DIAGNOSTICS_FILE", "FIELDS_FILE", "CHECKPOINT_DIR", "FIGURE_DIR",
           "FAILURE_FILE", "CHECKPOINT_FORMAT", "checkpoints_to_delete"]

CONFIG_FILE = "config.toml"
DIAGNOSTICS_FILE = "diagnostics.nc"
FIELDS_FILE = "fields.nc"
FIGURE_DIR = "figures"
FAILURE_FILE = "failure.npz"


# ----------------------------------------------------------------------------- atomic
def write_dataset(ds, path) -> None:
    """Write an xarray.Dataset to netCDF atomically (temporary file + os.replace)."""
    path = Path(path)
    tmp = _tmp_name(path)
    try:
        ds.to_netcdf(tmp, engine="netcdf4")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ----------------------------------------------------------------------------- fields
def grid_fields(model, state):
    """(ϱ (nlat, nphi), P (N, N, nlat, nphi) complex) of a state on the model's grid."""
    f = model.fields(state)
    return np.asarray(f.rho, float), np.asarray(f.P)


def _grid_coords(grid):
    """The grid dimensions and coordinates of fields.nc: ``theta``, ``phi`` on one sphere;
    ``theta1, phi1, …, thetaj, phij`` (each factor's Gauss colatitudes and longitudes) on a
    product of spheres."""
    factors = getattr(grid, "factors", None)
    if factors is None:
        pairs = [("theta", "phi", grid.theta, grid.phi, "")]
    else:
        pairs = [(f"theta{a + 1}", f"phi{a + 1}", f.theta, f.phi, f" of spin {a + 1}")
                 for a, f in enumerate(factors)]
    dims, coords = (), {}
    for th, ph, theta, phi, of in pairs:
        dims += (th, ph)
        coords[th] = (th, theta, {"long_name": f"colatitude{of} (Gauss nodes)",
                                  "units": "radian"})
        coords[ph] = (ph, phi, {"long_name": f"longitude{of}", "units": "radian"})
    return dims, coords


def fields_dataset(grid, times, rhos, Ps, attrs=None, *, N=None):
    """fields.nc content: ``rho`` (time, theta, phi), ``P_real``/``P_imag`` (time, i, j,
    theta, phi); coordinates ``theta`` (Gauss colatitudes) and ``phi`` (2πj/nphi).
    On a product of spheres (several classical spins) the grid dimensions are ``theta1,
    phi1, …, thetaj, phij``: 8·(1 + 2N²)·Π_a nlat_a·nphi_a bytes per output.
    ``N`` (size of P) is needed only when there are no snapshots (the template)."""
    import xarray as xr

    rho = np.array(rhos, float).reshape((len(times),) + grid.shape)
    if N is None:
        N = Ps[0].shape[0] if len(Ps) else 1
    P = np.array(Ps, complex).reshape((len(times), N, N) + grid.shape)
    dims, grid_coords = _grid_coords(grid)
    return xr.Dataset(
        {"rho": (("time",) + dims, rho,
                 {"long_name": "classical density ϱ(n)", "units": "1 / steradian" if
                  len(dims) == 2 else f"1 / steradian^{len(dims) // 2}"}),
         "P_real": (("time", "i", "j") + dims, P.real,
                    {"long_name": "real part of the local quantum density matrix P(n)",
                     "units": "1"}),
         "P_imag": (("time", "i", "j") + dims, P.imag,
                    {"long_name": "imaginary part of the local quantum density matrix P(n)",
                     "units": "1"})},
        coords={"time": ("time", np.asarray(times, float), {"long_name": "time",
                                                           "units": "[time]"}),
                **grid_coords, "i": np.arange(N), "j": np.arange(N)},
        attrs=dict(attrs or {}))


# ------------------------------------------------------------------------------ writer
@contextlib.contextmanager
def deferred_sigint():
    """Hold back Ctrl-C (SIGINT) while files are written; raise it afterwards.

    An interrupt inside the netCDF/HDF5 library can leave it unusable for the rest of the
    process, so the writers finish first. Outside the main thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *a: caught.append(a))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        if callable(previous):
            previous(*caught[0])
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt


class RunWriter:
    """``Simulation.run`` callback that keeps a run directory up to date.

    At every output it appends one record to ``diagnostics.nc`` (and to ``fields.nc``
    when ``config.output.fields``), writes a checkpoint every ``output.checkpoint_every``
    and at ``t_end`` and keeps only the latest ``keep_checkpoints`` of them, and remembers
    the latest output state so that :meth:`interrupted` can checkpoint it after Ctrl-C
    (the state mid-step is never saved). Files are appended in place
    (:class:`~spectral_qc.ncrecords.RecordFile`), so a run of ``n`` outputs writes O(n)
    bytes in total, and every file reads back complete after a crash at any moment.

    Parameters
    ----------
    sim : Simulation
    run_dir : path
    t_end : float
        End time of this leg (a checkpoint is always written there).
    fields : ignored
        Kept for callers of the earlier interface: fields.nc is now continued on disk.
    fresh : bool
        True: a new run (checkpoints, fields.nc and failure.npz of an earlier run in the
        same directory are removed, diagnostics.nc is started anew). False: continue the
        run directory from ``sim`` (resume): the records of diagnostics.nc and fields.nc
        after the time ``sim`` restarts from are dropped, later ones are appended.
    keep_checkpoints : int, optional
        How many checkpoints to keep (the latest ones; default ``output.keep_checkpoints``
        of the config when it has that key, else 2). The latest checkpoint on the output
        grid is always kept as well, so that ``resume --t-end`` continues bit for bit.
    """

    def __init__(self, sim, run_dir, *, t_end=None, fields=None, fresh=True,
                 keep_checkpoints=None):
        self.sim = sim
        self.dir = Path(run_dir)
        self.t_end = sim.config.time.t_end if t_end is None else float(t_end)
        self.n_end = round((self.t_end - sim.t0) / sim.dt)
        self.ckpt_steps = max(1, round(sim.config.output.checkpoint_every / sim.dt))
        if keep_checkpoints is None:
            keep_checkpoints = getattr(sim.config.output, "keep_checkpoints", KEEP_CHECKPOINTS)
        if int(keep_checkpoints) < 1:
            raise ConfigError(f"output.keep_checkpoints = {keep_checkpoints!r}: must be an "
                              "integer ≥ 1 (the latest checkpoints kept; default 2)")
        self.keep_checkpoints = int(keep_checkpoints)
        self.write_fields = sim.config.output.fields and hasattr(sim.model, "fields")  # not Koopman
        self.last_output = None          # checkpoint dict of the state at the latest output
        self.last_checkpoint = None      # path of the latest checkpoint written
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / CHECKPOINT_DIR).mkdir(exist_ok=True)
        if fresh:
            for p in list_checkpoints(self.dir):
                p.unlink()
            for stale in (self.dir / FIELDS_FILE, self.dir / CHECKPOINT_DIR / FAILURE_FILE):
                if stale.exists():
                    stale.unlink()
        write_text(self.dir / CONFIG_FILE, dumps_config(sim.config))
        self._checkpoints = list_checkpoints(self.dir)  # kept in step with the directory
        self._open_files(continuing=not fresh)

    def _open_files(self, continuing):
        """diagnostics.nc (and fields.nc): new, or continued before the restart time."""
        from .ncrecords import RecordFile

        sim = self.sim
        # records at times ≥ keep_before are (re)written by this leg; a restored
        # Simulation that still holds the record at its own time does not redo it
        redo_now = not sim.records or sim.records[-1][0] != sim.time
        keep_before = sim.time if redo_now else np.nextafter(sim.time, np.inf)
        at_start = redo_now and sim.iteration == 0  # nothing before it to keep
        kw = dict(keep_before=keep_before, keep_existing=continuing and not at_start)
        attrs = sim._attrs()
        try:
            self.diagnostics_file = RecordFile(
                self.dir / DIAGNOSTICS_FILE, sim.dataset(records=[]), **kw)
            self.fields_file = (RecordFile(self.dir / FIELDS_FILE,
                                           fields_dataset(sim.grid, [], [], [], attrs=attrs,
                                                          N=sim.model.N), **kw)
                                if self.write_fields else None)
        except (OSError, ValueError) as exc:
            if not continuing:
                raise
            d = os.fspath(self.dir)
            raise ConfigError(f"resume {d!r}: cannot continue its outputs from t = "
                              f"{sim.time:.6g} ({exc}); start the run again: spectral-qc run "
                              f"{os.path.join(d, CONFIG_FILE)} --out {d}") from None

    # the Simulation.run callback
    def __call__(self, sim, time, diagnostics):
        with deferred_sigint():
            self.diagnostics_file.append(time, diagnostics)
            if self.fields_file is not None:
                rho, P = grid_fields(sim.model, sim.state)
                self.fields_file.append(time, {"rho": rho, "P_real": P.real, "P_imag": P.imag})
            self.last_output = state_checkpoint(sim)
            if sim.iteration % self.ckpt_steps == 0 or sim.iteration >= self.n_end:
                self.checkpoint(self.last_output)
            if sim.iteration >= self.n_end:
                self.close()

    def write_outputs(self):
        """Make sure everything appended so far is on disk (each append already syncs)."""
        for f in (self.diagnostics_file, self.fields_file):
            if f is not None:
                f.close()

    close = write_outputs

    def checkpoint(self, ckpt=None) -> Path:
        """Write a checkpoint of the current state (or of ``ckpt``); prune old ones."""
        ckpt = state_checkpoint(self.sim) if ckpt is None else ckpt
        self.last_checkpoint = save_checkpoint(self.dir / CHECKPOINT_DIR, ckpt,
                                               scheme=self.sim.integrator.name)
        self._prune()
        log.debug("checkpoint %s", self.last_checkpoint)
        return self.last_checkpoint

    def _prune(self):
        """Retention without listing the directory at every checkpoint."""
        known = self._checkpoints
        if self.last_checkpoint not in known:
            known.append(self.last_checkpoint)
            known.sort(key=checkpoint_iteration)
        for p in checkpoints_to_delete(known, self.keep_checkpoints, self.sim.steps_per_output):
            p.unlink(missing_ok=True)
            known.remove(p)

    def failed(self):
        """After a NumericalFailure: save the state it stopped on as
        ``checkpoints/failure.npz`` (for the maps and for inspection; ``resume`` ignores it)
        and close the outputs (they hold every output up to the failure)."""
        save_checkpoint(self.dir / CHECKPOINT_DIR, state_checkpoint(self.sim),
                        scheme=self.sim.integrator.name, name=FAILURE_FILE)
        self.close()

    def interrupted(self):
        """After Ctrl-C: checkpoint the latest output state and close the outputs so far."""
        last = self.last_output
        if last is not None and not any(checkpoint_iteration(p) == last["iteration"]
                                        for p in list_checkpoints(self.dir)):
            self.checkpoint(last)
        # the records that have a checkpoint behind them, nothing half-done
        t_last = last["t0"] + last["iteration"] * last["dt"] if last is not None else -np.inf
        self.sim.records = [r for r in self.sim.records if r[0] <= t_last]
        self.close()


# ----------------------------------------------------------------------------- reading
@dataclasses.dataclass
class Run:
    """The outputs of a run directory (see :func:`open_run`).

    Attributes
    ----------
    path : Path
    config : Config
    diagnostics : xarray.Dataset — contract §4, over ``time``
    fields : xarray.Dataset or None — fields.nc when written
    checkpoints : list of Path — oldest first
    figures : list of Path — the figures in figures/ (PNG, PDF, SVG)
    failure : Path or None — checkpoints/failure.npz, the state a failed run stopped on
    """

    path: Path
    config: Config
    diagnostics: object
    fields: object = None
    checkpoints: list = dataclasses.field(default_factory=list)
    figures: list = dataclasses.field(default_factory=list)
    failure: Path | None = None

    def __getitem__(self, key):  # run["diagnostics"] works too
        return getattr(self, key)


def open_run(run_dir) -> Run:
    """Read the outputs of a finished, stopped or interrupted run.

    Parameters
    ----------
    run_dir : str or Path
        A directory written by ``spectral-qc run`` / ``demo`` / ``resume`` (or by
        :class:`RunWriter`).

    Returns
    -------
    Run
        ``.diagnostics`` (xarray.Dataset), ``.fields`` (xarray.Dataset or None),
        ``.config`` (:class:`~spectral_qc.config.Config`), ``.checkpoints``,
        ``.figures``; the datasets are loaded into memory (no open file handles).

    Raises
    ------
    FileNotFoundError
        If ``run_dir`` has no ``config.toml`` or ``diagnostics.nc``.
    ConfigError
        If ``config.toml`` is not a valid config.
    """
    import xarray as xr

    d = Path(run_dir)
    for name in (CONFIG_FILE, DIAGNOSTICS_FILE):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{d / name}: not found ({os.fspath(d)!r} is not a "
                                    "spectral_qc run directory)")
    config = load_config(d / CONFIG_FILE)
    diagnostics = xr.load_dataset(d / DIAGNOSTICS_FILE, engine="netcdf4")
    fields = (xr.load_dataset(d / FIELDS_FILE, engine="netcdf4")
              if (d / FIELDS_FILE).is_file() else None)
    figures = (sorted(p for p in (d / FIGURE_DIR).iterdir()
                      if p.suffix in (".png", ".pdf", ".svg") and not p.name.startswith("."))
               if (d / FIGURE_DIR).is_dir() else [])
    failure = d / CHECKPOINT_DIR / FAILURE_FILE
    return Run(path=d, config=config, diagnostics=diagnostics, fields=fields,
               checkpoints=list_checkpoints(d), figures=figures,
               failure=failure if failure.is_file() else None)


def read_fields(run_dir, t_max=None) -> list:
    """fields.nc of a run as [(time, rho, P)] (times ≤ t_max), for resuming; [] if absent."""
    import xarray as xr

    path = Path(run_dir) / FIELDS_FILE
    if not path.is_file():
        return []
    ds = xr.load_dataset(path, engine="netcdf4")
    out = []
    for k, t in enumerate(ds["time"].values):
        if t_max is None or t <= t_max:
            P = np.empty(ds["P_real"].shape[1:], complex)
            P.real, P.imag = ds["P_real"].values[k], ds["P_imag"].values[k]
            out.append((float(t), ds["rho"].values[k], P))
    return out


def with_output_dir(config: Config, run_dir) -> Config:
    """The config with ``output.dir`` replaced (``--out``)."""
    return dataclasses.replace(config, output=dataclasses.replace(config.output,
                                                                  dir=os.fspath(run_dir)))


def with_t_end(config: Config, t_end: float) -> Config:
    """The config with ``time.t_end`` replaced (``resume --t-end``)."""
    if not t_end > 0 or not np.isfinite(t_end):
        raise ConfigError(f"--t-end {t_end}: must be a finite number > 0")
    return dataclasses.replace(config, time=dataclasses.replace(config.time, t_end=float(t_end)))
