"""Run outputs on disk (contract §4): config.toml, diagnostics.nc, fields.nc, checkpoints.

Layout of an output directory ``DIR``::

    DIR/config.toml          the fully resolved config (spectral_qc.config.dumps_config)
    DIR/diagnostics.nc       every diagnostic over ``time`` (Simulation.dataset())
    DIR/fields.nc            ϱ and P on the grid at every output (when output.fields)
    DIR/checkpoints/step_<iteration>.npz   exact spectral state + clock + records
    DIR/figures/*.png        (spectral_qc.plotting)

Every file is written to a temporary name in the same directory and moved into place
with :func:`os.replace`, so a crash, a stop or Ctrl-C at any moment leaves the previous
complete version readable. :class:`RunWriter` is the ``Simulation.run`` callback that
keeps these files up to date while a run goes; :func:`open_run` reads them back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import logging
import os
import re
import signal
import threading
from pathlib import Path

import numpy as np

from .config import Config, dumps_config, load_config
from .errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["Run", "RunWriter", "open_run", "write_dataset", "write_text", "save_checkpoint",
           "load_checkpoint", "list_checkpoints", "checkpoint_iteration", "fields_dataset",
           "grid_fields", "read_fields", "deferred_sigint", "with_output_dir", "with_t_end",
           "CONFIG_FILE", "DIAGNOSTICS_FILE", "FIELDS_FILE", "CHECKPOINT_DIR", "FIGURE_DIR",
           "FAILURE_FILE"]

CONFIG_FILE = "config.toml"
DIAGNOSTICS_FILE = "diagnostics.nc"
FIELDS_FILE = "fields.nc"
CHECKPOINT_DIR = "checkpoints"
FIGURE_DIR = "figures"
FAILURE_FILE = "failure.npz"
CHECKPOINT_FORMAT = 1
_CKPT_RE = re.compile(r"step_(\d+)\.npz$")


# ----------------------------------------------------------------------------- atomic
def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file + os.replace)."""
    path = Path(path)
    tmp = _tmp_name(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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


# ------------------------------------------------------------------------ checkpoints
#: Spectral state arrays a checkpoint may hold: (ϱ, P) models, Koopman wave models.
STATE_KEYS = ("rho_lm", "p_lm", "q_lm", "upsilon_lm")


def save_checkpoint(directory, ckpt: dict, *, scheme: str = "strang", name=None) -> Path:
    """Save :meth:`Simulation.checkpoint` output as ``directory/step_<iteration>.npz``.

    Stores the exact spectral state (``rho_lm``, ``p_lm``, and ``q_lm`` = ln J when
    tracked), ``iteration``, ``t0``, ``dt``,
    the diagnostics records (``records_time`` and one ``rec__<name>`` array per
    diagnostic) and the spectral-tail history of the stop criteria, all as float64 /
    complex128: loading gives back the same numbers bit for bit.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    records = ckpt["records"]
    arrays = {"format": np.int64(CHECKPOINT_FORMAT),
              **{k: ckpt[k] for k in STATE_KEYS if ckpt.get(k) is not None},
              "iteration": np.int64(ckpt["iteration"]),
              "t0": np.float64(ckpt["t0"]), "dt": np.float64(ckpt["dt"]),
              "scheme": np.str_(scheme),
              "records_time": np.array([t for t, _ in records], float)}
    if records:
        for key in records[0][1]:
            arrays[f"rec__{key}"] = np.array([np.asarray(d[key], float) for _, d in records])
    if ckpt.get("q_lm") is not None:  # ln J of the flow (spectral_qc.characteristics)
        arrays["q_lm"] = ckpt["q_lm"]
    hist = np.array(ckpt.get("tail_history", []), float).reshape(-1, 2)
    arrays["tail_history"] = hist
    path = directory / (name or f"step_{int(ckpt['iteration']):09d}.npz")
    tmp = _tmp_name(path)
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)
    return path


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (for Simulation.restore)."""
    with np.load(path, allow_pickle=False) as z:
        times = z["records_time"]
        names = [k[len("rec__"):] for k in z.files if k.startswith("rec__")]
        cols = {n: z[f"rec__{n}"] for n in names}
        records = []
        for i, t in enumerate(times):
            d = {}
            for n in names:
                v = cols[n][i]
                d[n] = float(v) if np.ndim(v) == 0 else np.array(v)
            records.append((float(t), d))
        return {**{k: z[k].copy() for k in STATE_KEYS if k in z.files},
                "iteration": int(z["iteration"]), "t0": float(z["t0"]), "dt": float(z["dt"]),
                "scheme": str(z["scheme"]) if "scheme" in z.files else "strang",
                "records": records,
                "tail_history": [tuple(map(float, r)) for r in z["tail_history"]]}


def checkpoint_iteration(path) -> int:
    """The iteration of a ``step_<iteration>.npz`` checkpoint, from its name."""
    m = _CKPT_RE.search(os.fspath(path))
    if not m:
        raise ValueError(f"{os.fspath(path)!r} is not named step_<iteration>.npz")
    return int(m.group(1))


def list_checkpoints(run_dir) -> list:
    """Checkpoint files of a run directory, sorted by iteration (oldest first)."""
    files = glob.glob(os.path.join(os.fspath(run_dir), CHECKPOINT_DIR, "step_*.npz"))
    found = [(int(m.group(1)), Path(f)) for f in files if (m := _CKPT_RE.search(f))]
    return [p for _, p in sorted(found)]


# ----------------------------------------------------------------------------- fields
def grid_fields(model, state):
    """(ϱ (nlat, nphi), P (N, N, nlat, nphi) complex) of a state on the model's grid."""
    f = model.fields(state)
    return np.asarray(f.rho, float), np.asarray(f.P)


def fields_dataset(grid, times, rhos, Ps, attrs=None):
    """fields.nc content: ``rho`` (time, theta, phi), ``P_real``/``P_imag`` (time, i, j,
    theta, phi); coordinates ``theta`` (Gauss colatitudes) and ``phi`` (2πj/nphi)."""
    import xarray as xr

    rho = np.array(rhos, float).reshape((len(times),) + grid.shape)
    N = Ps[0].shape[0] if len(Ps) else 1
    P = np.array(Ps, complex).reshape((len(times), N, N) + grid.shape)
    return xr.Dataset(
        {"rho": (("time", "theta", "phi"), rho,
                 {"long_name": "classical density ϱ(n)", "units": "1 / steradian"}),
         "P_real": (("time", "i", "j", "theta", "phi"), P.real,
                    {"long_name": "real part of the local quantum density matrix P(n)",
                     "units": "1"}),
         "P_imag": (("time", "i", "j", "theta", "phi"), P.imag,
                    {"long_name": "imaginary part of the local quantum density matrix P(n)",
                     "units": "1"})},
        coords={"time": ("time", np.asarray(times, float), {"long_name": "time",
                                                           "units": "[time]"}),
                "theta": ("theta", grid.theta, {"long_name": "colatitude (Gauss nodes)",
                                                "units": "radian"}),
                "phi": ("phi", grid.phi, {"long_name": "longitude", "units": "radian"}),
                "i": np.arange(N), "j": np.arange(N)},
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

    At every output it rewrites ``diagnostics.nc`` (and ``fields.nc`` when
    ``config.output.fields``), writes a checkpoint every ``output.checkpoint_every`` and at
    ``t_end``, and remembers the latest output state so that :meth:`interrupted` can
    checkpoint it after Ctrl-C (the state mid-step is never saved).

    Parameters
    ----------
    sim : Simulation
    run_dir : path
    t_end : float
        End time of this leg (a checkpoint is always written there).
    fields : list of (time, rho, P), optional
        Field snapshots already on disk (resume).
    fresh : bool
        Remove checkpoints and fields.nc left by an earlier run in the same directory.
    """

    def __init__(self, sim, run_dir, *, t_end=None, fields=None, fresh=True):
        self.sim = sim
        self.dir = Path(run_dir)
        self.t_end = sim.config.time.t_end if t_end is None else float(t_end)
        self.n_end = round((self.t_end - sim.t0) / sim.dt)
        self.ckpt_steps = max(1, round(sim.config.output.checkpoint_every / sim.dt))
        self.write_fields = sim.config.output.fields and hasattr(sim.model, "fields")  # not Koopman
        self.fields = list(fields or [])
        self.last_output = None          # sim.checkpoint() at the latest output
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

    # the Simulation.run callback
    def __call__(self, sim, time, diagnostics):
        with deferred_sigint():
            if self.write_fields:
                rho, P = grid_fields(sim.model, sim.state)
                self.fields.append((sim.time, rho, P))
            self.write_outputs()
            if sim.iteration % self.ckpt_steps == 0 or sim.iteration >= self.n_end:
                self.checkpoint()
            self.last_output = sim.checkpoint()

    def write_outputs(self):
        """Rewrite diagnostics.nc (and fields.nc) from everything recorded so far."""
        sim = self.sim
        write_dataset(sim.dataset(), self.dir / DIAGNOSTICS_FILE)
        if self.write_fields and self.fields:
            t, rho, P = zip(*self.fields)
            write_dataset(fields_dataset(sim.grid, t, rho, P, attrs=sim._attrs()),
                          self.dir / FIELDS_FILE)

    def checkpoint(self, ckpt=None) -> Path:
        """Write a checkpoint of the current state (or of ``ckpt``)."""
        ckpt = self.sim.checkpoint() if ckpt is None else ckpt
        self.last_checkpoint = save_checkpoint(self.dir / CHECKPOINT_DIR, ckpt,
                                               scheme=self.sim.integrator.name)
        log.debug("checkpoint %s", self.last_checkpoint)
        return self.last_checkpoint

    def failed(self):
        """After a NumericalFailure: save the state it stopped on as
        ``checkpoints/failure.npz`` (for the maps and for inspection; ``resume`` ignores it)
        and write the outputs up to the failure."""
        save_checkpoint(self.dir / CHECKPOINT_DIR, self.sim.checkpoint(),
                        scheme=self.sim.integrator.name, name=FAILURE_FILE)
        self.write_outputs()

    def interrupted(self):
        """After Ctrl-C: checkpoint the latest output state and write the outputs so far."""
        if self.last_output is not None:
            done = [p for p in list_checkpoints(self.dir)
                    if checkpoint_iteration(p) == self.last_output["iteration"]]
            if not done:
                self.checkpoint(self.last_output)
        n = len(self.last_output["records"]) if self.last_output else 0
        # outputs for the records that have a checkpoint behind them, nothing half-done
        self.sim.records = self.sim.records[:max(n, 0)] if self.last_output else []
        if self.write_fields:
            self.fields = [f for f in self.fields
                           if self.last_output and f[0] <= self.last_output["records"][-1][0]]
        if self.sim.records:
            self.write_outputs()


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
    figures : list of Path — PNG files in figures/
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
    figures = sorted((d / FIGURE_DIR).glob("*.png")) if (d / FIGURE_DIR).is_dir() else []
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
