"""The ``spectral-qc`` command line (contract §3).

::

    spectral-qc run CONFIG [--out DIR] [--set section.key=value …] [--quiet]
    spectral-qc demo [--out DIR] [--quiet]
    spectral-qc resume DIR [--t-end T] [--quiet]
    spectral-qc plot DIR [--format png|pdf|svg] [--dpi N]

Exit codes: 0 success · 2 bad input (one line on stderr, no traceback) · 3 numerical
failure (outputs up to the failure written; stderr names time, quantity, likely cause) ·
130 interrupted (checkpoint and outputs so far written; ``resume`` continues).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import time as _time
import tomllib
from importlib import resources
from pathlib import Path

from .config import ConfigError, apply_overrides, load_config, read_toml
from .errors import NumericalFailure

log = logging.getLogger("spectral_qc")

EXIT_OK, EXIT_INPUT, EXIT_NUMERICAL, EXIT_INTERRUPTED = 0, 2, 3, 130
PROG = "spectral-qc"
PROGRESS_DELAY = 2.0  # seconds before a progress bar appears


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would print the usage too)
        raise _UsageError(f"{message} (see {PROG} --help)")


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _fail(message) -> int:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
    return EXIT_INPUT


# ------------------------------------------------------------------------ config input
def demo_config_text() -> str:
    """The embedded demo config (``spectral_qc/data/demo.toml``) as TOML text."""
    return resources.files("spectral_qc").joinpath("data/demo.toml").read_text("utf-8")


def demo_config():
    """The embedded demo config (hybrid, heat-kernel regularized) as a Config."""
    return load_config(tomllib.loads(demo_config_text()))


# ---------------------------------------------------------------------------- running
def _progress(sim, t_end, quiet, label):
    """A tqdm bar over the steps of this leg (stderr; hidden when quiet or not a TTY)."""
    from tqdm.auto import tqdm

    n = max(0, round((t_end - sim.t0) / sim.dt) - sim.iteration)
    disable = quiet or not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
    bar = tqdm(total=n, desc=label, unit="step", file=sys.stderr, delay=PROGRESS_DELAY,
               disable=disable, dynamic_ncols=True, leave=False)
    if not disable:
        step = sim.step

        def counted_step():
            step()
            bar.set_postfix_str(f"t={sim.time:.4g}", refresh=False)
            bar.update(1)

        sim.step = counted_step  # instance attribute: only this Simulation is affected
    return bar


def _figures(run_dir, sim):
    if not sim.config.output.figures:
        return
    from .plotting import plot_run

    try:
        plot_run(run_dir)
    except Exception as exc:  # a figure problem must not hide the run's own outcome
        log.error("figures for %s failed: %s: %s", run_dir, type(exc).__name__, exc)


def execute(sim, run_dir, *, t_end=None, quiet=False, label=None, fields=None, fresh=True):
    """Run ``sim`` to ``t_end`` writing ``run_dir``; returns the exit code (0, 3 or 130).

    Used by ``run``, ``demo`` and ``resume``. Ctrl-C writes a checkpoint of the latest
    output state and the outputs so far; a NumericalFailure writes every output up to
    the failure and reports time, quantity and likely cause on stderr.
    """
    from .io import RunWriter

    t_end = sim.config.time.t_end if t_end is None else float(t_end)
    try:
        writer = RunWriter(sim, run_dir, t_end=t_end, fields=fields, fresh=fresh)
    except OSError as exc:
        raise ConfigError(f"output directory {str(run_dir)!r}: cannot be created or written "
                          f"({exc.strerror or exc})") from None
    bar = _progress(sim, t_end, quiet, label)
    start = _time.perf_counter()
    try:
        sim.run(t_end, callback=writer)
    except NumericalFailure as exc:
        bar.close()
        writer.failed()
        _figures(run_dir, sim)
        print(f"{PROG}: numerical failure in {run_dir}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_NUMERICAL
    except KeyboardInterrupt:
        previous = _ignore_sigint()
        try:
            bar.close()
            writer.interrupted()
            _figures(run_dir, sim)
        finally:
            _restore_sigint(previous)
        where = (f"checkpoint at t = {sim.records[-1][0]:.6g}" if sim.records
                 else "no checkpoint yet")
        print(f"{PROG}: interrupted; outputs written to {run_dir} ({where}); continue "
              f"with: {PROG} resume {run_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    bar.close()
    _figures(run_dir, sim)
    log.info("%s: t = %.6g, %d outputs, %.1f s -> %s", label or sim.model.name, sim.time,
             len(sim.records), _time.perf_counter() - start, run_dir)
    return EXIT_OK


def _ignore_sigint():
    try:
        return signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        return None


def _restore_sigint(previous):
    if previous is not None:
        signal.signal(signal.SIGINT, previous)


def _with_out(config, out):
    from .io import with_output_dir

    return with_output_dir(config, out) if out is not None else config


# --------------------------------------------------------------------------- commands
def cmd_run(args) -> int:
    from .simulation import Simulation

    raw = read_toml(args.config)
    if args.set:
        raw = apply_overrides(raw, args.set)
    config = _with_out(load_config(raw), args.out)
    sim = Simulation(config)
    return execute(sim, Path(config.output.dir), quiet=args.quiet)


def cmd_demo(args) -> int:
    from .plotting import plot_comparison
    from .simulation import Simulation

    out = Path(args.out)
    hybrid = demo_config()
    ehrenfest = dataclasses.replace(hybrid, model=dataclasses.replace(
        hybrid.model, kind="ehrenfest", regularization="none", alpha=0.0))
    codes, dirs = [], []
    start = _time.perf_counter()
    for name, cfg in (("hybrid", hybrid), ("ehrenfest", ehrenfest)):
        d = out / name
        cfg = _with_out(cfg, d)
        code = execute(Simulation(cfg), d, quiet=args.quiet, label=name)
        if code == EXIT_INTERRUPTED:
            return code
        codes.append(code)
        dirs.append(d)
    path = plot_comparison(dirs, ["hybrid (heat kernel)", "Ehrenfest"], out / "comparison.png")
    log.info("demo: %.1f s; comparison figure %s", _time.perf_counter() - start, path)
    return max(codes)


def cmd_resume(args) -> int:
    from .io import (CONFIG_FILE, checkpoint_iteration, list_checkpoints, load_checkpoint,
                     read_fields, with_t_end)
    from .simulation import Simulation

    d = Path(args.dir)
    if not (d / CONFIG_FILE).is_file():
        raise ConfigError(f"resume {str(d)!r}: no {CONFIG_FILE} there (not a {PROG} run "
                          "directory)")
    config = _with_out(load_config(d / CONFIG_FILE), d)
    if args.t_end is not None:
        config = with_t_end(config, args.t_end)
    t_end = config.time.t_end
    ckpts = list_checkpoints(d)
    if not ckpts:  # interrupted before the first output: start over
        log.info("resume %s: no checkpoint, starting from t = 0", d)
        return execute(Simulation(config), d, quiet=args.quiet)
    ckpt = load_checkpoint(ckpts[-1])
    sim = Simulation.restore(config, ckpt, scheme=ckpt["scheme"])
    k = sim.steps_per_output
    n_end = round((t_end - sim.t0) / sim.dt)
    if n_end < sim.iteration:
        raise ConfigError(f"--t-end {t_end:g}: the run in {str(d)!r} is already at "
                          f"t = {sim.time:.6g}; give a later end time")
    if n_end > sim.iteration and sim.iteration % k:
        # the previous leg ended between two outputs: continue from the latest checkpoint
        # on the output grid, so the records match one uninterrupted run exactly
        on_grid = [p for p in ckpts if checkpoint_iteration(p) % k == 0]
        if not on_grid:
            return execute(Simulation(config), d, quiet=args.quiet)
        ckpt = load_checkpoint(on_grid[-1])
        sim = Simulation.restore(config, ckpt, scheme=ckpt["scheme"])
    t_last = sim.records[-1][0] if sim.records else float("-inf")
    fields = read_fields(d, t_max=t_last) if config.output.fields else None
    log.info("resume %s from t = %.6g to t = %.6g", d, sim.time, t_end)
    return execute(sim, d, t_end=t_end, quiet=args.quiet, fields=fields, fresh=False)


def cmd_plot(args) -> int:
    from .plotting import plot_run

    paths = plot_run(args.dir, format=args.format, dpi=args.dpi)
    try:
        for p in paths:
            print(p, flush=True)
    except BrokenPipeError:  # `spectral-qc plot DIR | head -1`: the reader has enough
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Pseudo-spectral solver for mixed quantum-classical "
                "spin dynamics (Liouville, Ehrenfest, hybrid).")
    from . import __version__

    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    r = sub.add_parser("run", help="run a TOML config")
    r.add_argument("config", help="TOML config file (docs/usage.md)")
    r.add_argument("--out", metavar="DIR", help="output directory (overrides output.dir)")
    r.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                   help="override one config key (TOML value), repeatable")
    r.add_argument("--quiet", action="store_true", help="no progress bar, only warnings")
    r.set_defaults(func=cmd_run)

    dm = sub.add_parser("demo", help="run the embedded demo: hybrid and Ehrenfest side by side")
    dm.add_argument("--out", metavar="DIR", default="out/demo",
                    help="output directory (default out/demo)")
    dm.add_argument("--quiet", action="store_true")
    dm.set_defaults(func=cmd_demo)

    rs = sub.add_parser("resume", help="continue an interrupted run, or extend a finished one")
    rs.add_argument("dir", metavar="DIR")
    rs.add_argument("--t-end", type=float, metavar="T", help="new end time (extends the run)")
    rs.add_argument("--quiet", action="store_true")
    rs.set_defaults(func=cmd_resume)

    pl = sub.add_parser("plot", help="(re)draw the figures of a run directory")
    pl.add_argument("dir", metavar="DIR")
    pl.add_argument("--format", choices=("png", "pdf", "svg"), default="png",
                    help="figure file format (default png; pdf and svg for papers)")
    pl.add_argument("--dpi", type=float, default=110.0, metavar="N",
                    help="resolution of raster output (default 110)")
    pl.set_defaults(func=cmd_plot)

    from .sweep import add_parser as add_sweep_parser  # spectral-qc sweep (Dask, optional)
    add_sweep_parser(sub)
    return p


def _setup_logging(quiet: bool):
    for h in list(log.handlers):
        if getattr(h, "_spectral_qc_cli", False):
            log.removeHandler(h)
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
    h._spectral_qc_cli = True
    log.addHandler(h)
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


def main(argv=None) -> int:
    """Entry point of ``spectral-qc``; returns the exit code (0, 2, 3 or 130)."""
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        return _fail(exc)
    except SystemExit as exc:  # --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    _setup_logging(getattr(args, "quiet", False))
    try:
        return args.func(args)
    except ConfigError as exc:
        return _fail(exc)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as exc:
        return _fail(exc)
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}")
    except KeyboardInterrupt:  # before a run had started: nothing to save
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
