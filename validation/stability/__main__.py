"""``python -m validation.stability [SECTION ...] [--fast] [--out DIR]``.

Recomputes the named sections (all by default) of the stability study with the sizes of
the full (or ``--fast``) profile, merges them into ``DIR/results/stability.json`` (default
DIR: ``validation/``) and redraws ``DIR/figures/stability_*.png``.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # shtns' OpenMP threads fight on small grids

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

from ..profiles import PROFILES  # noqa: E402
from ..report import jsonable  # noqa: E402
from . import TITLE, compute, figures, markdown, rows  # noqa: E402
from .sections import SECTIONS  # noqa: E402

HERE = Path(__file__).resolve().parents[1]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m validation.stability",
                                description=__doc__.splitlines()[0])
    p.add_argument("sections", nargs="*", help=f"sections: {', '.join(SECTIONS)} (default: all)")
    p.add_argument("--fast", action="store_true", help="the sizes of the fast profile")
    p.add_argument("--out", type=Path, default=HERE, help="output directory (default validation/)")
    p.add_argument("--figures-only", action="store_true", help="redraw from the JSON")
    a = p.parse_args(argv)
    bad = [x for x in a.sections if x not in SECTIONS]
    if bad:
        p.error(f"unknown section(s) {bad}; valid: {list(SECTIONS)}")
    path = a.out / "results" / "stability.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    data = dict(old.get("data", {}))
    if not a.figures_only:
        params = PROFILES["fast" if a.fast else "full"]["stability"]
        data.update(compute(params, a.sections or None))
    figs = figures(data, a.out / "figures")
    res = {**old, "title": TITLE, "about": markdown(data), "rows": rows(data), "data": data,
           "figures": figs}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(res), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
