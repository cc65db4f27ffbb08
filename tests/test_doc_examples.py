"""The first example of every documentation page runs as written (issue 13).

"Example" = the first fenced code block of the page (```python, ```toml or ```sh).
Python runs in a fresh interpreter, a TOML block is a config run with ``spectral-qc run``
(exit 0 expected: an example that ends in a numerical failure is a bad first example), a
shell block runs line by line in bash. Everything runs in a temporary directory, so
relative output paths land there. Pages without a fenced example are listed, and the
test fails when one of them gets an example, so that it is run from then on.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))
#: Pages of formulas, tables and measured numbers: no fenced example.
WITHOUT_EXAMPLE = {"docs/examples.md", "docs/models.md", "docs/numerics.md",
                   "docs/performance.md", "docs/stability.md"}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def first_example(page):
    m = FENCE.search((ROOT / page).read_text("utf-8"))
    return (m.group(1), m.group(2)) if m else None


def _env():
    bindir = os.path.dirname(sys.executable)
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "MPLBACKEND": "Agg"}


def test_every_page_is_checked():
    assert set(PAGES) >= WITHOUT_EXAMPLE and "docs/usage.md" in PAGES


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_first_example_runs_as_written(page, tmp_path):
    example = first_example(page)
    if page in WITHOUT_EXAMPLE:
        assert example is None, f"{page} now has an example: remove it from WITHOUT_EXAMPLE"
        return
    assert example is not None, f"{page}: no fenced example"
    lang, code = example
    if lang == "python":
        cmd = [sys.executable, "-c", code]
    elif lang == "toml":
        (tmp_path / "example.toml").write_text(code, "utf-8")
        cmd = [sys.executable, "-m", "spectral_qc.cli", "run", "example.toml", "--quiet"]
    elif lang == "sh":
        cmd = ["bash", "-e", "-c", code]
    else:
        pytest.fail(f"{page}: first example in an unknown language {lang!r}")
    done = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, f"{page} ({lang}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def python_api_examples():
    """The ```python blocks of docs/usage.md's "## Python API" section, in order."""
    text = (ROOT / "docs" / "usage.md").read_text("utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return [code for lang, code in FENCE.findall(section) if lang == "python"]


@pytest.mark.slow
def test_python_api_section_runs_in_sequence(tmp_path):
    blocks = python_api_examples()
    assert len(blocks) >= 5  # Result, handlers, run directories, options
    demo = (ROOT / "spectral_qc" / "data" / "demo.toml").read_text("utf-8")
    (tmp_path / "run.toml").write_text(demo.replace("lmax = 31", "lmax = 15")
                                       .replace("t_end = 1.0", "t_end = 0.2"), "utf-8")
    done = subprocess.run([sys.executable, "-c", "\n".join(blocks)], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "py" / "status.json").is_file()
