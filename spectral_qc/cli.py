"""The ``spectral-qc`` command line (contract §3).

::

    spectral-qc run CONFIG [--out DIR] [--set section.key=value …] [--quiet] [--force]
    spectral-qc check CONFIG [--set section.key=value …]
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
import sys
import time as _time
import tomllib
from importlib import resources
from pathlib import Path

from .config import ConfigError, apply_overrides, load_config, read_toml

log = logging.getLogger("spectral_qc")

EXIT_OK, EXIT_INPUT, EXIT_NUMERICAL, EXIT_INTERRUPTED = 0, 2, 3, 130
PROG = "spectral-qc"


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
def report(result, run_dir) -> int:
    """Say on stderr how a run ended; return its exit code (0, 3 or 130)."""
    if result.status == "numerical_failure":
        print(f"{PROG}: numerical failure in {run_dir}: {_one_line(result.reason)}",
              file=sys.stderr)
    elif result.status == "interrupted":
        from .runs import read_status

        t = (read_status(run_dir) or {}).get("t_last")
        where = f"checkpoint at t = {t:.6g}" if t is not None else "no checkpoint yet"
        print(f"{PROG}: interrupted; outputs written to {run_dir} ({where}); continue "
              f"with: {PROG} resume {run_dir}", file=sys.stderr)
    return result.exit_code


def _with_out(config, out):
    from .io import with_output_dir

    return with_output_dir(config, out) if out is not None else config


# --------------------------------------------------------------------------- commands
def _config_of(args):
    raw = read_toml(args.config)
    if args.set:
        raw = apply_overrides(raw, args.set)
    return _with_out(load_config(raw), getattr(args, "out", None))


def cmd_check(args) -> int:
    from .budget import estimate, refusal

    config = _config_of(args)
    est = estimate(config)
    print(f"{args.config}: valid")
    for line in est.lines():
        print(f"  {line}")
    why = refusal(est)
    if why:
        print(f"  note: `run` refuses this without --force: {why}")
    return EXIT_OK


def cmd_run(args) -> int:
    from .budget import estimate, refusal
    from .runs import check_output_dir, run_to_directory
    from .simulation import Simulation

    config = _config_of(args)
    est = estimate(config, time_steps=False)
    why = refusal(est)
    if why and not args.force:
        raise ConfigError(f"{args.config}: refused, {why}")
    d = Path(config.output.dir)
    check_output_dir(d, force=args.force)
    for line in est.lines()[:-1]:
        log.info("%s", line)
    return report(run_to_directory(Simulation(config), d, quiet=args.quiet), d)


def cmd_demo(args) -> int:
    from .plotting import plot_comparison
    from .runs import run_to_directory
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
        code = report(run_to_directory(Simulation(cfg), d, quiet=args.quiet, label=name), d)
        if code == EXIT_INTERRUPTED:
            return code
        codes.append(code)
        dirs.append(d)
    path = plot_comparison(dirs, ["hybrid (heat kernel)", "Ehrenfest"], out / "comparison.png")
    log.info("demo: %.1f s; comparison figure %s", _time.perf_counter() - start, path)
    return max(codes)


def cmd_resume(args) -> int:
    from .runs import resume_directory

    return report(resume_directory(args.dir, t_end=args.t_end, quiet=args.quiet), args.dir)


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
    r.add_argument("--force", action="store_true", help="run even beyond the size limits, "
                   "or into a non-empty directory that is not a run directory")
    r.set_defaults(func=cmd_run)

    ck = sub.add_parser("check", help="validate a config and estimate its size and run time")
    ck.add_argument("config", help="TOML config file")
    ck.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                    help="override one config key (TOML value), repeatable")
    ck.set_defaults(func=cmd_check)

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
