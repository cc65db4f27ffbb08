"""stdout holds only the documented output (issue 13): no shtns banner, in a real process."""

import os
import subprocess
import sys
from pathlib import Path

from .test_cli import small_config, write_config

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[1])}


def _py(code):
    return subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True,
                          timeout=120)


def test_creating_a_grid_prints_nothing_on_stdout():
    done = _py("import spectral_qc as sq; g = sq.SphereGrid(15); print('after', g.nlat)")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"after 32\n"  # the banner went to /dev/null, later prints did not


def test_the_banner_exists_without_the_guard():
    """The reference: a bare `import shtns` does print its banner (else the test above
    proves nothing)."""
    done = _py("import shtns")
    assert b"SHTns" in done.stdout


def test_fd_guard_swallows_c_level_writes_only_inside():
    done = _py("import os; from spectral_qc.sphere.grid import _quiet_stdout_fd\n"
               "os.write(1, b'before ')\n"
               "with _quiet_stdout_fd():\n    os.write(1, b'inside ')\n"
               "os.write(1, b'after')")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"before after"


def test_run_quiet_and_plot_stdout(tmp_path):
    """`spectral-qc run --quiet` prints nothing on stdout; `spectral-qc plot DIR | head -1`
    is a path."""
    cfg = write_config(tmp_path / "c.toml", small_config(output={"fields": False}))
    out = tmp_path / "run"
    cli = [sys.executable, "-m", "spectral_qc.cli"]
    done = subprocess.run(cli + ["run", str(cfg), "--out", str(out), "--quiet"], env=ENV,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    done = subprocess.run(cli + ["plot", str(out)], env=ENV, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert lines and all(Path(p).is_file() for p in lines), done.stdout


def test_plot_into_head_prints_one_path_and_no_error(tmp_path):
    """`spectral-qc plot DIR | head -1`: one path, exit 0, nothing on stderr (the closed
    pipe is not an error)."""
    cfg = write_config(tmp_path / "c.toml", small_config(output={"fields": False}))
    out = tmp_path / "run"
    cli = f"{sys.executable} -m spectral_qc.cli"
    assert subprocess.run(f"{cli} run {cfg} --out {out} --quiet", shell=True, env=ENV,
                          timeout=300).returncode == 0
    done = subprocess.run(["bash", "-o", "pipefail", "-c", f"{cli} plot {out} | head -1"],
                          env=ENV, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1 and Path(lines[0]).is_file()
