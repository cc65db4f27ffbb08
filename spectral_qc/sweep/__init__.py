"""Parameter sweeps on Dask: many independent runs, one gathered ``sweep.nc``.

A sweep file is a normal run config plus a ``[sweep]`` table (:mod:`.spec`).

Each case runs as one Dask task (``distributed``: a ``LocalCluster`` of single-threaded
worker processes by default, or any existing cluster) in its own run directory
``OUT/<case name>/`` with the normal outputs of contract §4 and a ``status.json``. A case
that fails (invalid config: exit-2-like; numerical failure: exit-3-like) is recorded
with its reason and does not stop the others. Re-running the same sweep skips the cases
whose ``status.json`` says they finished with the same config (resume). The results are
gathered into ``OUT/sweep.nc`` (:func:`gather`, :func:`open_sweep`).

Dask is an optional dependency (``pip install 'spectral_qc[sweep]'``); without it
:func:`sweep` raises :class:`SweepDependencyError`.

Modules: :mod:`.spec` (the sweep file, :class:`SweepSpec`, :class:`Case`), :mod:`.case`
(one case: :func:`run_case`, its ``status.json``), :mod:`.cluster` (Dask: :func:`sweep`),
:mod:`.gather` (``sweep.nc``: :func:`gather`, :func:`open_sweep`), :mod:`.command`
(``spectral-qc sweep``).
"""

from ..runs import STATUS_FILE, read_status
from .case import FINISHED, STATUSES, run_case
from .cluster import DASK_HINT, SweepDependencyError, sweep
from .command import add_parser, cmd_sweep
from .gather import gather, open_sweep
from .spec import DEFAULT_OUT, LEAF_KEYS, RESULT_FILE, Case, SweepSpec, load_sweep

__all__ = ["sweep", "open_sweep", "load_sweep", "gather", "run_case", "SweepSpec", "Case",
           "SweepDependencyError", "STATUS_FILE", "RESULT_FILE", "STATUSES", "DASK_HINT"]
