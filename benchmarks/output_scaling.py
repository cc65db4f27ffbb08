"""Cost of writing outputs: a run with many outputs against the same run with few.

Usage::

    python benchmarks/output_scaling.py            # 3 interleaved repeats of each case
    python benchmarks/output_scaling.py --repeats 5 --crash 40

The case (issue 13): Liouville, lmax 15, rigid rotation H = nz/2 of a von Mises–Fisher
density (κ = 2, centred on +x), t_end = 20, dt = 0.01, ``output_every`` = 0.01 (2000
outputs) against 1.0 (20 outputs), both through ``spectral-qc run`` in a fresh process
with the config's default checkpoint cadence (one per output; a third case with one per
time unit) and no figures. Printed per
case: the median wall time, the median CPU time (user + system of the child, robust on a
loaded machine), and the size of the run directory.

``--crash N`` also kills (SIGKILL) a process appending records to a netCDF file at a
random moment, N times per format, and counts the files that no longer read back
complete and consistent: the measurement behind the choice of netCDF-3 in
:mod:`spectral_qc.ncrecords`.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

CONFIG = """\
[grid]
lmax = 15
[model]
kind = "liouville"
[hamiltonian]
terms = [ {{ op = "I", coef = "0.5*nz" }} ]
[initial.classical]
kind = "von_mises_fisher"
center = [1.0, 0.0, 0.0]
kappa = 2.0
[time]
t_end = 20.0
dt = 0.01
output_every = {every}
[output]
dir = "unused"
figures = false
{extra}"""

CHILD = textwrap.dedent("""
    import sys, numpy as np, netCDF4
    path, fmt = sys.argv[1], sys.argv[2]
    nc = netCDF4.Dataset(path, "w", format=fmt)
    nc.createDimension("time", None); nc.createDimension("x", 2000)
    nc.createVariable("time", "f8", ("time",))
    for k in range(12):
        nc.createVariable(f"v{k}", "f8", ("time",))
    nc.createVariable("f", "f8", ("time", "x"))
    nc.sync(); print("ready", flush=True)
    r = 0
    while True:
        nc["time"][r] = r
        for k in range(12):
            nc[f"v{k}"][r] = r
        nc["f"][r] = np.full(2000, float(r))
        nc.sync(); r += 1
""")


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def one_run(config: Path, out: Path):
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spectral_qc.cli", "run", str(config), "--out",
                    str(out), "--quiet"], env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, dir_size(out)


def scaling(repeats: int, work: Path):
    cases = {"20 outputs": (1.0, ""), "2000 outputs": (0.01, ""),
             "2000 outputs, 20 checkpoints": (0.01, "checkpoint_every = 1.0\n")}
    configs = {}
    for k, (name, (every, extra)) in enumerate(cases.items()):
        configs[name] = work / f"case{k}.toml"
        configs[name].write_text(CONFIG.format(every=every, extra=extra))
    res = {name: [] for name in cases}
    for _ in range(repeats):  # interleaved, so that a load change hits both cases
        for name in cases:
            res[name].append(one_run(configs[name], work / configs[name].stem))
    med = {n: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v),
               v[-1][2]) for n, v in res.items()}
    for n, (wall, cpu, size) in med.items():
        print(f"{n:>28}: wall {wall:6.2f} s   cpu {cpu:6.2f} s   run dir {size / 1e6:7.3f} MB")
    (w1, c1, _), (w2, c2, _) = med["20 outputs"], med["2000 outputs"]
    print(f"ratio 2000/20: wall {w2 / w1:.2f}, cpu {c2 / c1:.2f}")


def crash_trials(n: int, work: Path):
    import numpy as np
    import netCDF4

    child = work / "child.py"
    child.write_text(CHILD)
    for fmt in ("NETCDF3_64BIT_OFFSET", "NETCDF4"):
        bad = 0
        for _ in range(n):
            path = work / f"crash_{fmt}.nc"
            p = subprocess.Popen([sys.executable, str(child), str(path), fmt],
                                 stdout=subprocess.PIPE)
            p.stdout.readline()
            time.sleep(random.uniform(0.05, 0.5))
            p.kill()
            p.wait()
            try:
                with netCDF4.Dataset(path) as nc:
                    t = np.asarray(nc["time"][:])
                    ok = np.array_equal(t, np.arange(t.size))
                    for k in range(12):
                        ok &= np.array_equal(np.asarray(nc[f"v{k}"][:]), t)
                    ok &= np.array_equal(np.asarray(nc["f"][:]),
                                         np.broadcast_to(t[:, None], (t.size, 2000)))
            except Exception:  # unreadable
                ok = False
            bad += not ok
        print(f"{fmt}: {bad} of {n} files damaged after kill -9")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--crash", type=int, default=0, metavar="N")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        scaling(args.repeats, Path(tmp))
        if args.crash:
            crash_trials(args.crash, Path(tmp))


if __name__ == "__main__":
    main()
