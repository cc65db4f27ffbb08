"""``python -m validation [--fast] [--only STUDY ...] [--out DIR]``.

Runs the validation studies (:mod:`validation.runner`), writes ``results/*.json``,
``figures/*.png`` and ``REPORT.md`` and exits 1 when a study misses its tolerance.
The full suite writes into ``validation/`` (the committed report); ``--fast`` writes into
``out/validation-fast/`` unless ``--out`` is given, so ``make test`` leaves the committed
report untouched.
"""

import os

# shtns uses OpenMP; on small grids and a busy 2-core machine the threads fight (a ~10×
# slowdown was measured), so the suite runs single-threaded unless told otherwise.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def main(argv=None):
    from .runner import EXTERNAL, HERE, STUDIES, run_all

    ap = argparse.ArgumentParser(prog="python -m validation", description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="small sizes (a few minutes)")
    ap.add_argument("--only", nargs="+", metavar="STUDY", choices=list(STUDIES) + list(EXTERNAL),
                    help="run only these studies")
    ap.add_argument("--out", type=Path, help="output directory (default: validation/ for the "
                    "full suite, out/validation-fast/ for --fast)")
    ap.add_argument("--no-external", action="store_true",
                    help=f"skip the studies of other modules ({', '.join(EXTERNAL)})")
    ap.add_argument("--external", action="store_true",
                    help="with --fast: also run the other modules' studies (skipped by default "
                    "to keep --fast within a few minutes)")
    args = ap.parse_args(argv)
    out = args.out or (HERE.parent / "out" / "validation-fast" if args.fast else HERE)
    run_ext = not args.no_external and (args.external or not args.fast or args.only)
    passed, _ = run_all("fast" if args.fast else "full", out=out, only=args.only,
                        external=EXTERNAL if run_ext else ())
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
