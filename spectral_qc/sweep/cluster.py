"""Running a sweep on Dask: plan the cases, connect to a cluster, follow the tasks.

:func:`sweep` validates every case, skips the finished ones (resume), records the
invalid ones, submits the others as :func:`~spectral_qc.sweep.case.run_case` tasks to a
``LocalCluster`` of single-threaded worker processes (or to an existing scheduler), and
gathers ``sweep.nc`` (:func:`~spectral_qc.sweep.gather.gather`). Dask is optional
(``pip install 'spectral_qc[sweep]'``); without it :func:`sweep` raises
:class:`SweepDependencyError`.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..config import config_to_dict, load_config
from ..errors import ConfigError, SpectralQCError
from ..runs import STATUS_FILE, read_status
from .case import (FINISHED, STATUSES, config_hash, raw_hash, record_config_error, resume_point,
                   run_case, update_status)
from .gather import gather
from .spec import DEFAULT_OUT, SweepSpec, load_sweep

log = logging.getLogger("spectral_qc.sweep")

DASK_HINT = "pip install 'spectral_qc[sweep]'"
#: Seconds to wait for an existing scheduler (``--scheduler``) to answer.
SCHEDULER_TIMEOUT = 10.0


class SweepDependencyError(SpectralQCError, ImportError):
    """Dask (``distributed``) is not installed: ``pip install 'spectral_qc[sweep]'``."""


def _import_distributed():
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise SweepDependencyError(
            f"parameter sweeps run on Dask, which is not installed ({exc}); install it "
            f"with: {DASK_HINT}") from None
    return distributed


@dataclass
class _Plan:
    spec: SweepSpec
    out: Path
    cases: list
    configs: list                   # Config or None (invalid)
    errors: list                    # ConfigError message or None
    hashes: list
    raws: list                      # the raw case configs (output.dir set)
    todo: list = field(default_factory=list)   # indices of cases to run
    done: list = field(default_factory=list)   # indices skipped (finished before)


def _plan(spec: SweepSpec, out: Path, *, resume: bool) -> _Plan:
    """Validate every case and sort them into finished (``done``) and to run (``todo``).
    Touches nothing on disk."""
    cases = spec.iter_cases()
    configs, errors, hashes, raws = [], [], [], []
    for c in cases:
        raw = copy.deepcopy(c.raw)
        if not isinstance(raw.get("output", {}), dict):
            raw["output"] = {}
        raw.setdefault("output", {})["dir"] = os.fspath(out / c.name)
        raws.append(raw)
        try:
            cfg = load_config(raw)
            configs.append(cfg), errors.append(None), hashes.append(config_hash(cfg))
        except ConfigError as exc:
            configs.append(None), errors.append(str(exc)), hashes.append(raw_hash(raw))
    if all(e is not None for e in errors):
        first = errors[0]
        where = f"case {cases[0].name}: " if cases[0].params else ""
        raise ConfigError(f"{where}{first}" if len(cases) == 1 else
                          f"every case of the sweep is invalid; the first ({cases[0].name}): "
                          f"{first}")
    plan = _Plan(spec, out, cases, configs, errors, hashes, raws)
    for i, c in enumerate(cases):
        st = read_status(out / c.name) if resume else None
        finished = (st is not None and st.get("status") in FINISHED
                    and st.get("config_sha256") == hashes[i]
                    and (st["status"] != "ok" or (out / c.name / "diagnostics.nc").is_file()))
        (plan.done if finished else plan.todo).append(i)
    return plan


def _client(distributed, scheduler, workers, n_tasks):
    """(client, cluster-or-None, owns_client).

    Raises
    ------
    ConfigError
        When no scheduler answers at the address ``scheduler`` (one line naming it).
    """
    if isinstance(scheduler, distributed.Client):
        return scheduler, None, False
    if scheduler is not None:
        try:
            return distributed.Client(scheduler, timeout=SCHEDULER_TIMEOUT), None, True
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            why = " ".join(str(exc).split()) or type(exc).__name__
            raise ConfigError(f"--scheduler {scheduler}: no Dask scheduler answers at this "
                              f"address ({why}); start one there (dask scheduler) or omit "
                              "--scheduler to run on a local cluster") from None
    from dask.system import CPU_COUNT

    n = max(1, min(workers or CPU_COUNT, n_tasks))
    cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    log.info("sweep: local Dask cluster of %d worker processes, dashboard %s", n,
             client.dashboard_link)
    return client, cluster, True


def _check_workers(scheduler, workers) -> None:
    if scheduler is not None and workers is not None:
        raise ConfigError("--workers: only for the local cluster; size an existing cluster "
                          "(--scheduler) where it runs")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool)
                                or workers < 1):
        raise ConfigError(f"--workers {workers!r}: expected an integer ≥ 1")


def sweep(sweep_config, out=None, *, workers=None, scheduler=None, progress=True,
          resume=True):
    """Run a parameter sweep on Dask and gather the results.

    Parameters
    ----------
    sweep_config : str, os.PathLike, dict or SweepSpec
        A sweep file (:func:`load_sweep`).
    out : str or Path, optional
        Output directory (default: the base config's ``[output] dir`` if given, else
        ``out/sweep``); case ``c`` runs in ``out/c/``.
    workers : int, optional
        Worker processes of the local cluster (default: one per CPU core, at most one per
        case to run); each worker has one thread.
    scheduler : str or distributed.Client, optional
        Address of an existing Dask scheduler (``tcp://host:8786``) or a connected
        client; the workers must have spectral_qc installed and see ``out``.
    progress : bool
        A tqdm progress bar over the cases (stderr).
    resume : bool
        Skip cases whose ``status.json`` says they finished (ok, config error or
        numerical failure) with the same config, and continue interrupted cases from
        their latest checkpoint; False runs every case again from t = 0.

    Returns
    -------
    xarray.Dataset
        What is written to ``out/sweep.nc`` (see :func:`gather`).

    Raises
    ------
    ConfigError
        Invalid sweep file, or every case invalid.
    SweepDependencyError
        Dask (``distributed``) is not installed.
    KeyboardInterrupt
        After writing ``sweep.nc`` with the cases finished so far (others ``pending``).
    """
    spec = load_sweep(sweep_config)
    _check_workers(scheduler, workers)
    out = Path(out if out is not None else (spec.out or DEFAULT_OUT)).absolute()
    plan = _plan(spec, out, resume=resume)
    distributed = _import_distributed()
    runnable = [i for i in plan.todo if plan.configs[i] is not None]
    invalid = [i for i in plan.todo if plan.configs[i] is None]
    skipped = len(plan.done)
    # connect first: an unreachable scheduler leaves nothing behind
    client, cluster, owns = (_client(distributed, scheduler, workers, len(runnable))
                             if runnable else (None, None, False))
    try:
        out.mkdir(parents=True, exist_ok=True)
        for i in invalid:
            record_config_error(out / plan.cases[i].name, plan.raws[i], plan.errors[i],
                                plan.hashes[i])
            plan.done.append(i)
        for i in runnable:
            case_dir = out / plan.cases[i].name
            if case_dir.exists():
                if resume and resume_point(plan.configs[i], case_dir) is not None:
                    (case_dir / STATUS_FILE).unlink(missing_ok=True)  # continued by run_case
                else:  # leftovers of a changed case, or of one stopped before its first output
                    shutil.rmtree(case_dir)
        if skipped:
            log.info("sweep: %d of %d cases already finished, running %d", skipped,
                     len(plan.cases), len(runnable))
        failed = sum((read_status(out / plan.cases[i].name) or {}).get("status") != "ok"
                     for i in plan.done)
        try:
            if runnable:
                _run_on(client, distributed, plan, runnable, progress, failed, resume)
        finally:
            if owns:
                client.close()
            if cluster is not None:
                cluster.close()
            owns, cluster = False, None
    except KeyboardInterrupt:
        _mark_interrupted(plan, runnable)
        gather(out, spec)
        raise
    finally:
        if owns:
            client.close()
        if cluster is not None:
            cluster.close()
    return gather(out, spec)


def _mark_interrupted(plan, runnable):
    """After Ctrl-C (the cluster is closed): every runnable case without a final outcome is
    ``pending`` — a re-run continues it — whatever its task reported while being torn down."""
    for i in runnable:
        case_dir = plan.out / plan.cases[i].name
        if (read_status(case_dir) or {}).get("status") in FINISHED:
            continue
        case_dir.mkdir(parents=True, exist_ok=True)
        update_status(case_dir, {"status": "pending", "exit_code": STATUSES["pending"],
                                 "reason": "interrupted (SIGINT); a re-run continues it"})


def _run_on(client, distributed, plan, runnable, progress, failed, resume):
    """Submit the cases, follow them with a progress bar, record tasks that died."""
    from tqdm.auto import tqdm

    out = plan.out
    bar = tqdm(total=len(plan.cases), initial=len(plan.cases) - len(runnable), desc="sweep",
               unit="case", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    if failed:
        bar.set_postfix_str(f"{failed} failed")
    futures = {}
    try:
        for i in runnable:
            name = plan.cases[i].name
            f = client.submit(run_case, config_to_dict(plan.configs[i]), os.fspath(out / name),
                              resume=resume, pure=False, key=f"spectral_qc-case-{name}-{os.urandom(4).hex()}")
            futures[f] = i
        for f in distributed.as_completed(list(futures)):
            i = futures[f]
            try:
                rec = f.result()
            except Exception as exc:  # the task itself died (worker lost, …): retried later
                rec = {"status": "error", "exit_code": 1, "t_last": None,
                       "reason": f"{type(exc).__name__}: {exc}", "config_sha256": plan.hashes[i]}
                case_dir = out / plan.cases[i].name
                case_dir.mkdir(parents=True, exist_ok=True)
                update_status(case_dir, rec, merge=False)
            failed += rec["status"] != "ok"
            bar.update(1)
            if failed:
                bar.set_postfix_str(f"{failed} failed", refresh=False)
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise
    finally:
        bar.close()
