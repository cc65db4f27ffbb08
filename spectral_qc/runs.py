"""Run directories: the one runner behind ``spectral-qc run/resume/demo`` and the sweeps.

:func:`run_to_directory` advances a :class:`~spectral_qc.Simulation` while a
:class:`~spectral_qc.io.RunWriter` output handler keeps the directory up to date
(config.toml, diagnostics.nc, fields.nc, checkpoints), draws the figures, and writes
``status.json`` (contract §6) however the run ends: ``ok``, ``numerical_failure``,
``interrupted`` (Ctrl-C: the latest output state is checkpointed) or ``config_error``.
:func:`resume_directory` continues a run directory from its latest usable checkpoint.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import sys
from pathlib import Path

from .errors import ConfigError
from .io import (CONFIG_FILE, FIGURE_DIR, RunWriter, checkpoint_iteration, list_checkpoints,
                 load_checkpoint, read_fields, with_output_dir, with_t_end, write_text)
from .result import EXIT_CODES, Result
from .simulation import Simulation
from .version import versions

log = logging.getLogger("spectral_qc")

STATUS_FILE = "status.json"
PROGRESS_DELAY = 2.0  # seconds before a progress bar appears


def write_status(directory, status, *, reason=None, t_last=None, wall_s=None,
                 command=None) -> Path:
    """Write ``directory/status.json`` atomically (contract §6).

    Keys: ``status``, ``reason``, ``t_last``, ``exit_code`` (of ``spectral-qc``),
    ``wall_s``, ``versions`` (:func:`spectral_qc.version.versions`), ``command``
    (the command line; ``sys.argv`` when not given).
    """
    path = Path(directory) / STATUS_FILE
    t = None if t_last is None or not math.isfinite(t_last) else float(t_last)
    doc = {"status": status, "reason": reason, "t_last": t, "exit_code": EXIT_CODES[status],
           "wall_s": None if wall_s is None else round(float(wall_s), 3),
           "versions": versions(), "command": list(sys.argv if command is None else command)}
    write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return path


def read_status(directory) -> dict | None:
    """The ``status.json`` of a run directory, or None when there is none (or unreadable)."""
    try:
        return json.loads((Path(directory) / STATUS_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None


#: What a fresh run removes from its directory before it starts (earlier runs' outputs).
STALE = ("diagnostics.nc", "fields.nc", STATUS_FILE)


def is_run_directory(directory) -> bool:
    """True when ``directory`` holds a spectral-qc run (its config.toml or status.json)."""
    d = Path(directory)
    return (d / CONFIG_FILE).is_file() or (d / STATUS_FILE).is_file()


def check_output_dir(directory, *, force=False) -> None:
    """Refuse (ConfigError) a non-empty directory that is not a run directory, unless
    ``force``: a run would mix its files with someone else's."""
    d = Path(directory)
    if d.is_file():
        raise ConfigError(f"output directory {str(d)!r}: is a file; give a directory")
    if d.is_dir() and any(d.iterdir()) and not is_run_directory(d) and not force:
        raise ConfigError(f"output directory {str(d)!r}: not empty and not a spectral-qc run directory; "
                          "choose another directory or pass --force")


def remove_stale_outputs(directory) -> None:
    """Delete the outputs and figures an earlier run left in ``directory``."""
    d = Path(directory)
    for name in STALE:
        (d / name).unlink(missing_ok=True)
    figures = d / FIGURE_DIR
    if figures.is_dir():
        for p in figures.iterdir():
            if p.is_file():
                p.unlink()


def _progress(sim, n_steps, quiet, label):
    """A tqdm bar over the steps of this leg, as a step handler (stderr; hidden when quiet
    or not a TTY). Returns (bar, handler or None)."""
    from tqdm.auto import tqdm

    disable = quiet or not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
    bar = tqdm(total=max(0, n_steps), desc=label, unit="step", file=sys.stderr,
               delay=PROGRESS_DELAY, disable=disable, dynamic_ncols=True, leave=False)
    if disable:
        return bar, None

    def advance(s):
        bar.set_postfix_str(f"t={s.time:.4g}", refresh=False)
        bar.update(1)

    return bar, sim.add_handler(advance, every=1)


def _figures(run_dir, sim):
    if not sim.config.output.figures:
        return
    from .plotting import plot_run

    try:
        plot_run(run_dir)
    except Exception as exc:  # a figure problem must not hide the run's own outcome
        log.error("figures for %s failed: %s: %s", run_dir, type(exc).__name__, exc)


class _SigintIgnored:
    """Ignore Ctrl-C while the outputs of an interrupted run are written (main thread)."""

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread
            self.previous = None

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def run_to_directory(sim, directory, *, t_end=None, quiet=False, label=None, fields=None,
                     fresh=True, command=None) -> Result:
    """Run ``sim`` to ``t_end``, keeping ``directory`` up to date; never raises on a stop.

    Parameters
    ----------
    sim : Simulation
    directory : path
        The run directory (created; its ``config.toml`` is the resolved config).
    t_end : float, optional
        End of this leg (default: the config's).
    quiet : bool
        No progress bar.
    label : str, optional
        Progress-bar label.
    fields : list of (time, rho, P), optional
        Field snapshots already on disk (resume).
    fresh : bool
        Remove the checkpoints and fields of an earlier run in the same directory.
    command : list of str, optional
        Recorded in status.json (default ``sys.argv``).

    Returns
    -------
    Result
        Its ``status`` is also in ``directory/status.json``; ``exit_code`` is the code of
        ``spectral-qc`` (0, 3, 130).

    Raises
    ------
    ConfigError
        The directory cannot be created or written (status.json written where possible).
    """
    directory = Path(directory)
    t_end = sim.config.time.t_end if t_end is None else float(t_end)
    try:
        if fresh:
            remove_stale_outputs(directory)
        writer = RunWriter(sim, directory, t_end=t_end, fields=fields, fresh=fresh)
    except OSError as exc:
        raise ConfigError(f"output directory {str(directory)!r}: cannot be created or "
                          f"written ({exc.strerror or exc})") from None
    bar, progress = _progress(sim, sim.steps_to(t_end) - sim.iteration, quiet,
                              label or sim.model.name)
    out = sim.add_handler(writer)
    try:
        result = sim.run(t_end, raise_on_failure=False)
    finally:
        bar.close()
        sim.remove_handler(out)
        if progress is not None:
            sim.remove_handler(progress)
    if result.status == "interrupted":
        with _SigintIgnored():
            writer.interrupted()
            _figures(directory, sim)
            last = writer.last_output
            t_saved = last["t0"] + last["iteration"] * last["dt"] if last else None
            write_status(directory, "interrupted", reason=result.reason, t_last=t_saved,
                         wall_s=result.stats["wall_s"], command=command)
        return result
    if result.status == "numerical_failure":
        writer.failed()
    _figures(directory, sim)
    write_status(directory, result.status, reason=result.reason, t_last=result.t_last,
                 wall_s=result.stats["wall_s"], command=command)
    log.info("%s: t = %.6g, %d outputs, %.1f s -> %s", label or sim.model.name, sim.time,
             len(sim.records), result.stats["wall_s"], directory)
    return result


def resume_directory(directory, *, t_end=None, quiet=False, command=None) -> Result:
    """Continue the run in ``directory`` from its latest checkpoint on the output grid.

    The config (``[solver]`` included) is read back from ``config.toml``; ``t_end``
    extends the run. Without a usable checkpoint the run starts over from t = 0. The
    result equals an uninterrupted run's bit for bit.

    Raises
    ------
    ConfigError
        Not a run directory, or ``t_end`` before the checkpointed time.
    """
    from .config import load_config

    d = Path(directory)
    if not (d / CONFIG_FILE).is_file():
        raise ConfigError(f"resume {str(d)!r}: no {CONFIG_FILE} there (not a spectral-qc run "
                          "directory)")
    config = with_output_dir(load_config(d / CONFIG_FILE), d)
    if t_end is not None:
        config = with_t_end(config, t_end)
    sim = _restored(config, d)
    if sim is None:  # interrupted before the first checkpoint: start over
        log.info("resume %s: no checkpoint, starting from t = 0", d)
        return run_to_directory(Simulation(config), d, quiet=quiet, command=command)
    # the output at the restart time is recorded again by the resumed leg
    fields = read_fields(d, t_max=sim.time - sim.dt / 2) if config.output.fields else None
    log.info("resume %s from t = %.6g to t = %.6g", d, sim.time, config.time.t_end)
    return run_to_directory(sim, d, quiet=quiet, fields=fields, fresh=False, command=command)


def _restored(config, d: Path):
    """The Simulation continuing the latest checkpoint of ``d`` that lies on the output
    grid (so the records match one uninterrupted run exactly), or None."""
    ckpts = list_checkpoints(d)
    if not ckpts:
        return None
    sim = _restore(config, ckpts[-1])
    n_end = sim.steps_to(config.time.t_end)
    if n_end < sim.iteration:
        raise ConfigError(f"--t-end {config.time.t_end:g}: the run in {str(d)!r} is already "
                          f"at t = {sim.time:.6g}; give a later end time")
    k = sim.steps_per_output
    if n_end > sim.iteration and sim.iteration % k:
        on_grid = [p for p in ckpts if checkpoint_iteration(p) % k == 0]
        if not on_grid:
            return None
        sim = _restore(config, on_grid[-1])
    return sim


def _restore(config, path):
    ckpt = load_checkpoint(path)
    scheme = ckpt.get("scheme", config.solver.scheme)
    if scheme != config.solver.scheme:
        raise ConfigError(f"checkpoint {str(path)!r} was written by scheme {scheme!r} but "
                          f"config.toml has [solver] scheme = {config.solver.scheme!r}; set "
                          "it back to continue this run")
    return Simulation.restore(config, ckpt)


__all__ = ["run_to_directory", "resume_directory", "write_status", "read_status",
           "check_output_dir", "is_run_directory", "remove_stale_outputs", "STATUS_FILE"]
