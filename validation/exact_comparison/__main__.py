"""``python -m validation.exact_comparison [--fast] [--out DIR]``: the exact comparison
alone, with the sizes of the full (or fast) profile; writes DIR/results and DIR/figures
(default DIR: validation/) and prints the markdown fragment."""

import argparse
import json
from pathlib import Path

from ..profiles import PROFILES
from ..report import jsonable
from . import study

HERE = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m validation.exact_comparison",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="fewer spins, shorter runs")
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    res = study(PROFILES["fast" if args.fast else "full"]["exact_comparison"],
                args.out / "figures")
    (args.out / "results" / "exact_comparison.json").write_text(
        json.dumps(jsonable(res), indent=1, default=str))
    print(res["about"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
