"""``spectral-qc sweep SWEEP.toml``: the command line of the sweeps (registered by the CLI)."""

from __future__ import annotations

import sys
from pathlib import Path

from .case import STATUSES
from .cluster import SweepDependencyError, sweep
from .spec import DEFAULT_OUT, RESULT_FILE, load_sweep


def add_parser(subparsers):
    """Register ``spectral-qc sweep`` on the command line's subparsers."""
    s = subparsers.add_parser("sweep", help="run a parameter sweep on Dask (docs/usage.md)")
    s.add_argument("sweep_file", metavar="SWEEP.toml",
                   help="a config plus a [sweep] table (product and/or cases)")
    s.add_argument("--out", metavar="DIR", help="output directory (default: output.dir of "
                   f"the sweep file, else {DEFAULT_OUT})")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of an existing Dask scheduler (default: a local cluster)")
    s.add_argument("--workers", metavar="N", type=int,
                   help="worker processes of the local cluster (default: one per core)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_sweep)
    return s


def cmd_sweep(args) -> int:
    """``spectral-qc sweep``: 0 when every case finished (failed cases are results, see
    ``status`` in sweep.nc), 1 when a case ended with an unexpected error (re-run to
    retry it), 2 bad input or Dask missing, 130 interrupted."""
    prog = "spectral-qc"
    try:
        ds = sweep(args.sweep_file, out=args.out, workers=args.workers,
                   scheduler=args.scheduler, progress=not args.quiet)
    except SweepDependencyError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: sweep interrupted; finished cases are kept, run the same command "
              "again to complete the others", file=sys.stderr)
        return 130
    status = ds["status"].values.ravel()
    counts = {s: int((status == s).sum()) for s in STATUSES if (status == s).any()}
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    where = Path(args.out if args.out is not None else
                 (load_sweep(args.sweep_file).out or DEFAULT_OUT)) / RESULT_FILE
    print(f"{prog}: sweep: {summary} -> {where}", file=sys.stderr)
    for s, r, c in zip(status, ds["reason"].values.ravel(), ds["case_dir"].values.ravel()):
        if s not in ("ok",):
            print(f"{prog}:   {c}: {s}: {r}", file=sys.stderr)
    return 1 if counts.get("error") else 0
