"""Run the validation studies, write results, figures and REPORT.md, and return a verdict.

Each study is a function ``study(profile, figdir) -> dict`` (see :mod:`validation.studies`)
returning

``{"title", "about", "rows": [row, ...], "data": {...}, "figures": [...]}``

where a row is ``{"claim", "measured", "tolerance", "passed", "value", "limit"}``
(strings for the report, numbers for the JSON). The runner times each study, writes
``results/<study>.json``, assembles ``REPORT.md`` and exits non-zero when any row fails.

Every study follows this protocol, its sizes in :mod:`validation.profiles` (the section of
the profile named like the study); :data:`EXTERNAL` names the long ones.
"""

from __future__ import annotations

import datetime
import importlib
import json
import platform
import subprocess
import time
import traceback
from pathlib import Path

from .report import jsonable, row  # noqa: F401  (row: the studies' helper)

HERE = Path(__file__).resolve().parent

#: Study name → "module:function" (run in this order).
STUDIES = {
    "convergence_lmax": "validation.studies.convergence:lmax_study",
    "convergence_dt": "validation.studies.convergence:dt_study",
    "invariants": "validation.studies.invariants:invariants_study",
    "positivity": "validation.studies.invariants:positivity_study",
    "structure": "validation.studies.structure:structure_study",
    "decoherence": "validation.studies.decoherence:decoherence_study",
    "stability": "validation.stability:study",
    "exact_comparison": "validation.exact_comparison:study",
    "koopman": "validation.studies.koopman:study",
}
#: The long studies: ``--fast`` leaves them out unless asked (``--external``, ``--only``).
EXTERNAL = ("stability", "exact_comparison", "koopman")


def _load(spec):
    mod, fn = spec.split(":")
    return getattr(importlib.import_module(mod), fn)


def git_revision():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                             capture_output=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "spectral_qc"], cwd=HERE,
                               text=True, capture_output=True, timeout=10).stdout.strip()
        return out.stdout.strip() + (" (spectral_qc modified)" if dirty else "")
    except Exception:
        return "unknown"


def run_all(profile_name="full", *, out=None, only=None, external=EXTERNAL, log=print):
    """Run the studies of a profile; write JSON, figures and the report under ``out``.

    Returns ``(passed, summary)``.
    """
    from .profiles import PROFILES

    profile = PROFILES[profile_name]
    out = Path(out) if out is not None else HERE
    resdir, figdir = out / "results", out / "figures"
    resdir.mkdir(parents=True, exist_ok=True)
    figdir.mkdir(parents=True, exist_ok=True)
    names = [n for n in STUDIES if (only is None or n in only)
             and (n not in EXTERNAL or n in external)]
    sections = {}
    t_start = time.perf_counter()
    for name in names:
        log(f"[validation] {name} …")
        t0 = time.perf_counter()
        try:
            res = _load(STUDIES[name])(profile[name], figdir)
        except Exception as exc:
            res = {"title": name, "about": "The study raised an exception:\n\n```\n"
                   + traceback.format_exc() + "```", "data": {},
                   "rows": [row(f"{name} runs to completion", type(exc).__name__, "no error",
                                False)]}
        res["wall_s"] = time.perf_counter() - t0
        res["profile"] = profile_name
        res.setdefault("figures", [])
        sections[name] = res
        (resdir / f"{name}.json").write_text(json.dumps(jsonable(res), indent=1, default=str))
        bad = [r["claim"] for r in res["rows"] if r["passed"] is False]
        log(f"[validation] {name}: {len(res['rows']) - len(bad)}/{len(res['rows'])} rows pass "
            f"({res['wall_s']:.0f} s)" + (f"; FAILED: {bad}" if bad else ""))
    total = time.perf_counter() - t_start
    passed = all(r["passed"] is not False for s in sections.values() for r in s["rows"])
    summary = {"profile": profile_name, "passed": passed, "wall_s": total,
               "studies": {k: {"wall_s": v["wall_s"],
                               "passed": all(r["passed"] is not False for r in v["rows"])}
                           for k, v in sections.items()}}
    (resdir / "summary.json").write_text(json.dumps(jsonable(summary), indent=1))
    (out / "REPORT.md").write_text(report(sections, summary, out))
    log(f"[validation] {'PASSED' if passed else 'FAILED'} in {total:.0f} s; report: "
        f"{out / 'REPORT.md'}")
    return passed, summary


def _cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def report(sections, summary, out):
    """REPORT.md text."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# spectral_qc validation report",
        "",
        "Generated by `python -m validation" + (" --fast" if summary["profile"] == "fast" else "")
        + f"` ({summary['profile']} profile) on {now}, commit {git_revision()}, "
        f"Python {platform.python_version()}, {platform.machine()}. "
        f"Total wall time {summary['wall_s']:.0f} s. "
        f"Verdict: **{'PASS' if summary['passed'] else 'FAIL'}**.",
        "",
        "Every number below is in `results/<study>.json`; how each study works and how to "
        "rerun it is in [docs/validation.md](../docs/validation.md). References "
        "(`validation/references.py`) share no code with the solver.",
        "",
        "## Summary",
        "",
        "| study | claim | measured | tolerance | pass |",
        "|---|---|---|---|---|",
    ]
    for name, s in sections.items():
        for r in s["rows"]:
            mark = {True: "✅", False: "❌", None: "—"}[r["passed"]]
            lines.append(f"| {name} | {_cell(r['claim'])} | {_cell(r['measured'])} | "
                         f"{_cell(r['tolerance'])} | {mark} |")
    lines += ["", "| study | wall time (s) |", "|---|---|"]
    lines += [f"| {k} | {v['wall_s']:.0f} |" for k, v in summary["studies"].items()]
    for name, s in sections.items():
        lines += ["", f"## {s.get('title', name)}", "", s.get("about", "").strip(), ""]
        for fig in s.get("figures", []):
            rel = Path(fig).relative_to(out) if Path(fig).is_absolute() else Path(fig)
            lines += [f"![{Path(fig).stem}]({rel.as_posix()})", ""]
    return "\n".join(lines) + "\n"
