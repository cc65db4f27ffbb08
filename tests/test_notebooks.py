"""The research notebooks execute top to bottom in fast mode (SPECTRAL_QC_FAST=1).

Each notebook in ``notebooks/`` is run by nbclient in a fresh kernel, with the notebook's
directory as working directory; any cell error fails the test with the cell's traceback.
The notebooks are committed without outputs and are not modified here.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXPECTED = {"01_quickstart.ipynb", "02_ehrenfest_vs_hybrid_vs_exact.ipynb",
            "03_invariants_and_positivity.ipynb", "04_stability.ipynb",
            "05_koopman_models.ipynb"}
#: Per-notebook limit (fast mode targets < 1 min; generous for a loaded 2-core machine).
CELL_TIMEOUT = 300


def test_all_notebooks_present():
    assert EXPECTED <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_no_outputs(path):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, \
                f"{path.name}: committed with outputs (strip them)"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_in_fast_mode(path, monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("SPECTRAL_QC_FAST", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("SPECTRAL_QC_FIGDIR", raising=False)
    monkeypatch.delenv("SPECTRAL_QC_RECOMPUTE", raising=False)
    # the kernel imports this checkout's spectral_qc (notebooks use its public API only;
    # 02 runs the validation study as `python -m validation` from the repository)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}})
    # a kernel from this interpreter (the venv), whatever kernelspecs the machine has
    from jupyter_client.kernelspec import KernelSpec

    spec = KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                            "{connection_file}"], display_name="python3", language="python")
    client.kernel_manager_class = _manager_class(spec)
    t0 = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell failed in fast mode:\n{exc}", pytrace=False)
    wall = time.perf_counter() - t0
    print(f"{path.name}: {wall:.1f} s")


def _manager_class(spec):
    from jupyter_client.manager import KernelManager

    class _Manager(KernelManager):
        @property
        def kernel_spec(self):
            return spec

    return _Manager
