"""Run the validation studies, write results, figures and REPORT.md, and return a verdict.

Each study is a function ``study(profile, figdir) -> dict`` (see :mod:`validation.studies`)
returning

``{"title", "about", "rows": [row, ...], "data": {...}, "figures": [...]}``

where a row is ``{"claim", "measured", "tolerance", "passed", "value", "limit"}``
(strings for the report, numbers for the JSON). The runner times each study, writes
``results/<study>.json``, assembles ``REPORT.md`` and exits non-zero when any row fails.

Studies owned by other modules (``validation.stability``) are called through
:func:`run_external` when the module exposes ``run(fast)`` (or ``compute(fast)``).
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
}
#: Modules of other authors called through their ``run(fast)`` entry point, if present.
EXTERNAL = ("stability", "exact_comparison")


def _load(spec):
    mod, fn = spec.split(":")
    return getattr(importlib.import_module(mod), fn)


def run_external(name, fast, resdir, figdir):
    """Call ``validation.<name>``'s entry point; a report section either way.

    ``run(fast=..., path=...)`` is called with ``path`` inside this run's results folder
    when the entry point accepts it (so ``--out`` is honoured), then ``figures(data,
    outdir)`` when the module has it. Rows (``{"claim", "measured", "tolerance",
    "passed"}``) or a ``"passed"`` flag in the returned dict feed the verdict; otherwise
    the section is informative.
    """
    import inspect

    try:
        mod = importlib.import_module(f"validation.{name}")
    except ImportError as exc:
        return {"title": f"{name} (external)", "about": f"`validation.{name}` is not "
                f"importable ({exc}); hook left in runner.EXTERNAL.", "rows": [], "data": {}}
    fn = getattr(mod, "run", None)
    if fn is None:
        return {"title": f"{name} (external)", "rows": [], "data": {},
                "about": f"`validation.{name}` has no `run(fast)` entry point yet; the runner "
                         "will call it once it does."}
    params = inspect.signature(fn).parameters
    kw = {"fast": fast} if "fast" in params else {}
    if "path" in params:
        kw["path"] = Path(resdir) / f"{name}.json"
    res = fn(**kw)
    res = res if isinstance(res, dict) else {"result": res}
    figs = []
    if hasattr(mod, "figures"):
        try:
            before = set(Path(figdir).glob("*.png"))
            mod.figures(res, outdir=figdir)
            figs = sorted(set(Path(figdir).glob("*.png")) - before)
        except Exception as exc:  # figures of another module must not fail the suite
            figs = []
            res = {**res, "figures_error": str(exc)}
    rows = [r for r in res.get("rows", []) if isinstance(r, dict)]
    for key in ("passed", "pass", "ok"):
        if key in res and not rows:
            rows = [row(f"{name}: the module's own verdict", str(res[key]), "True",
                        bool(res[key]))]
    about = f"Entry point `validation.{name}.run` (another author's study; see its docs)."
    md = getattr(mod, "markdown", None)
    if md is not None:
        try:
            about += "\n\n" + md(res)
        except Exception as exc:
            about += f"\n\n(markdown fragment failed: {exc})"
    else:
        walls = {k: v.get("wall_s") for k, v in res.items() if isinstance(v, dict)}
        if walls:
            about += "\n\nSections computed (wall s): " + ", ".join(
                f"{k} ({v})" for k, v in walls.items()) + f". Numbers: `results/{name}.json`."
    return {"title": f"{name} (external)", "about": about, "rows": rows, "data": {},
            "figures": figs}


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
    names = [n for n in STUDIES if only is None or n in only]
    ext = [n for n in external if only is None or n in only]
    sections = {}
    t_start = time.perf_counter()
    for name in names + ext:
        log(f"[validation] {name} …")
        t0 = time.perf_counter()
        try:
            if name in STUDIES:
                res = _load(STUDIES[name])(profile[name], figdir)
            else:
                res = run_external(name, profile_name == "fast", resdir, figdir)
        except Exception as exc:
            res = {"title": name, "about": "The study raised an exception:\n\n```\n"
                   + traceback.format_exc() + "```", "data": {},
                   "rows": [row(f"{name} runs to completion", type(exc).__name__, "no error",
                                False)]}
        res["wall_s"] = time.perf_counter() - t0
        res["profile"] = profile_name
        res.setdefault("figures", [])
        sections[name] = res
        if name in STUDIES:  # external modules write their own JSON
            (resdir / f"{name}.json").write_text(json.dumps(jsonable(res), indent=1,
                                                            default=str))
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
