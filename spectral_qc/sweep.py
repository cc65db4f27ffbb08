"""Parameter sweeps on Dask: many independent runs, one gathered ``sweep.nc``.

A sweep file is a normal run config (contract §2) plus a ``[sweep]`` table::

    [sweep.product]                 # every combination: one dimension per key
    "grid.lmax" = [31, 47, 63]
    "model.alpha" = [0.005, 0.01]

    [[sweep.cases]]                 # and/or explicit cases: a ``case`` dimension
    name = "ehrenfest"              # optional directory/label
    "model.kind" = "ehrenfest"

    [sweep]
    time_series = true              # true (all diagnostics) | false | ["mass", ...]

Each case runs as one Dask task (``distributed``: a ``LocalCluster`` of single-threaded
worker processes by default, or any existing cluster) in its own run directory
``OUT/<case name>/`` with the normal outputs of contract §4 and a ``status.json``. A case
that fails (invalid config: exit-2-like; numerical failure: exit-3-like) is recorded
with its reason and does not stop the others. Re-running the same sweep skips the cases
whose ``status.json`` says they finished with the same config (resume). The results are
gathered into ``OUT/sweep.nc`` (:func:`gather`, :func:`open_sweep`).

Dask is an optional dependency (``pip install 'spectral_qc[sweep]'``); without it
:func:`sweep` raises :class:`SweepDependencyError`.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import hashlib
import io as _io
import itertools
import json
import logging
import math
import os
import re
import shutil
import sys
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import QUANTUM_KINDS, SCHEMA, config_to_dict, load_config, read_toml
from .errors import ConfigError, SpectralQCError
from .runs import STATUS_FILE, read_status

log = logging.getLogger(__name__)

__all__ = ["sweep", "open_sweep", "load_sweep", "gather", "run_case", "SweepSpec", "Case",
           "SweepDependencyError", "STATUS_FILE", "RESULT_FILE", "STATUSES", "DASK_HINT"]

RESULT_FILE = "sweep.nc"
DEFAULT_OUT = "out/sweep"
DASK_HINT = "pip install 'spectral_qc[sweep]'"
#: status → exit code of the equivalent ``spectral-qc run`` (pending: not run yet).
STATUSES = {"ok": 0, "config_error": 2, "numerical_failure": 3, "error": 1, "pending": -1}
#: Statuses that count as finished: a re-run skips them (``error`` is retried).
FINISHED = ("ok", "config_error", "numerical_failure")
SWEEP_KEYS = ("product", "cases", "time_series")
MAX_NAME = 120


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


# --------------------------------------------------------------------------- sweep file
def _leaf_keys() -> tuple:
    """Dotted config keys a sweep may set (every key of contract §2 except output.dir)."""
    keys = []
    for table, names in SCHEMA.items():
        for k in names:
            dotted = f"{table}.{k}" if table else k
            if dotted not in SCHEMA or dotted == "initial.classical.components":
                keys.append(dotted)
    return tuple(keys)


LEAF_KEYS = _leaf_keys()


def _unknown(where: str, key: str) -> ConfigError:
    close = difflib.get_close_matches(key, LEAF_KEYS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"{where}.{key}: unknown config key (expected a dotted key such as "
                       f"'grid.lmax' or 'model.alpha'){hint}")


def _flatten(table: Mapping, where: str, prefix: str = "") -> dict:
    """``{"grid": {"lmax": x}}`` or ``{"grid.lmax": x}`` → ``{"grid.lmax": x}``."""
    out = {}
    for k, v in table.items():
        key = f"{prefix}.{k}" if prefix else k
        if key in LEAF_KEYS:
            out[key] = v
        elif isinstance(v, Mapping) and any(x.startswith(key + ".") for x in LEAF_KEYS):
            out.update(_flatten(v, where, key))
        else:
            raise _unknown(where, key)
    for key in out:
        if key == "output.dir":
            raise ConfigError(f"{where}.output.dir: cannot be swept; every case runs in its "
                              "own directory under the sweep's output directory (--out)")
    return out


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _label(v) -> str:
    """Short text of a value for directory names and coordinates."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.12g}"
    if isinstance(v, (int, str)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return ",".join(_label(x) for x in v)
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _safe(name: str) -> str:
    """A file-system-safe directory name (no separators, spaces or shell specials)."""
    s = re.sub(r"[^A-Za-z0-9._,+=@-]", "_", name).strip(".") or "case"
    if len(s) > MAX_NAME:
        digest = hashlib.sha1(name.encode()).hexdigest()[:10]
        s = f"{s[:MAX_NAME - 11]}~{digest}"
    return s


def _params_name(params: Mapping) -> str:
    return "__".join(f"{k}={_label(v)}" for k, v in params.items())


def _set(raw: dict, key: str, value) -> None:
    """Set dotted ``key`` in a raw config dict (``initial.quantum.*`` kinds exclusive)."""
    table, _, leaf = key.rpartition(".")
    node = raw
    for part in table.split(".") if table else ():
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"{key}: {part} is not a table in the base config")
        node = nxt
    node[leaf] = copy.deepcopy(value)
    if table == "initial.quantum":
        for other in QUANTUM_KINDS:
            if other != leaf:
                node.pop(other, None)


@dataclass(frozen=True)
class Case:
    """One run of a sweep.

    Attributes
    ----------
    name : str — its directory name under the sweep's output directory
    params : dict — dotted key → value set by the sweep (explicit case first, then product)
    index : tuple — its position along the sweep's dimensions
    raw : dict — the full raw config (base + params), not yet validated
    """

    name: str
    params: dict
    index: tuple
    raw: dict


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file (see :func:`load_sweep`).

    Attributes
    ----------
    base : dict — the run config without ``[sweep]`` (raw, TOML structure)
    product : dict — dotted key → list of values (one dimension each, in order)
    cases : list of dict — the explicit cases (dotted key → value), or None
    case_names : list of str — their labels (``name`` or built from their values)
    time_series : bool or tuple of str — which diagnostics are gathered over time
    out : str or None — the base config's ``[output] dir`` if it gave one
    source : str — the sweep as JSON (stored in sweep.nc)
    """

    base: dict
    product: dict
    cases: list | None
    case_names: list | None
    time_series: object = True
    out: str | None = None
    source: str = ""

    @property
    def dims(self) -> tuple:
        """The dimensions of the gathered results: ``case`` (explicit cases) then one per
        product key (named by the dotted key)."""
        return (("case",) if self.cases is not None else ()) + tuple(self.product)

    @property
    def shape(self) -> tuple:
        return ((len(self.cases),) if self.cases is not None else ()) + tuple(
            len(v) for v in self.product.values())

    def iter_cases(self) -> list:
        """Every case, in C order of :attr:`shape`."""
        explicit = (list(enumerate(zip(self.case_names, self.cases)))
                    if self.cases is not None else [(None, (None, {}))])
        combos = list(itertools.product(*[list(enumerate(v)) for v in self.product.values()]))
        out, used = [], {}
        for ci, (cname, cparams) in explicit:
            for combo in combos:
                pparams = {k: v for k, (_, v) in zip(self.product, combo)}
                parts = ([cname] if cname is not None else []) + (
                    [_params_name(pparams)] if pparams else [])
                name = _safe("__".join(parts) or "case")
                if name in used:  # two labels that only differ in unsafe characters
                    used[name] += 1
                    name = f"{name}~{used[name]}"
                else:
                    used[name] = 1
                raw = copy.deepcopy(self.base)
                params = {**cparams, **pparams}
                for k, v in params.items():
                    _set(raw, k, v)
                index = ((ci,) if ci is not None else ()) + tuple(i for i, _ in combo)
                out.append(Case(name=name, params=params, index=index, raw=raw))
        return out


def _time_series(value):
    from .diagnostics import DIAGNOSTICS

    if isinstance(value, bool):
        return value
    if (isinstance(value, list) and value and all(isinstance(x, str) for x in value)):
        for x in value:
            if x not in DIAGNOSTICS:
                close = difflib.get_close_matches(x, list(DIAGNOSTICS), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"sweep.time_series = {x!r}: not a diagnostic; allowed are "
                                  f"{', '.join(DIAGNOSTICS)}{hint}")
        return tuple(dict.fromkeys(value))
    raise ConfigError(f"sweep.time_series = {value!r}: expected true, false or a list of "
                      "diagnostic names")


def load_sweep(source) -> SweepSpec:
    """Read and validate a sweep file.

    Parameters
    ----------
    source : str, os.PathLike, Mapping or SweepSpec
        Path of a TOML file, or a dict of the same structure: a run config (contract
        §2) plus a ``[sweep]`` table with ``product`` and/or ``cases`` (and optionally
        ``time_series``).

    Returns
    -------
    SweepSpec
        The ``[sweep]`` table is taken out of the base config here; the base config and
        every case are validated by :func:`spectral_qc.config.load_config` per case
        (an invalid case is a failed case, not an invalid sweep).

    Raises
    ------
    ConfigError
        If the file cannot be read, ``[sweep]`` is missing or invalid; the message names
        the key (e.g. ``sweep.product.grid.lmx: unknown config key; did you mean
        'grid.lmax'?``).
    """
    if isinstance(source, SweepSpec):
        return source
    if isinstance(source, (str, os.PathLike)):
        raw = read_toml(source, "sweep file")
    elif isinstance(source, Mapping):
        raw = copy.deepcopy(dict(source))
    else:
        raise ConfigError(f"sweep: expected a path or a dict, got {type(source).__name__}")
    from .config import _plain  # numpy values → plain Python, same as load_config

    raw = _plain(raw)
    if "sweep" not in raw:
        raise ConfigError("sweep: missing; a sweep file is a config plus a [sweep] table "
                          "with [sweep.product] and/or [[sweep.cases]]")
    sw = raw.pop("sweep")
    if not isinstance(sw, dict):
        raise ConfigError(f"sweep = {sw!r}: expected a table [sweep]")
    for k in sw:
        if k not in SWEEP_KEYS:
            close = difflib.get_close_matches(k, SWEEP_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"sweep.{k}: unknown key in [sweep]; allowed keys are "
                              f"{', '.join(SWEEP_KEYS)}{hint}")
    if "product" not in sw and "cases" not in sw:
        raise ConfigError("sweep: empty; give [sweep.product] (dotted key = [values, ...]) "
                          "and/or [[sweep.cases]] tables")
    product = {}
    if "product" in sw:
        if not isinstance(sw["product"], dict) or not sw["product"]:
            raise ConfigError(f"sweep.product = {sw['product']!r}: expected a non-empty table "
                              "of dotted key = [values, ...]")
        product = _flatten(sw["product"], "sweep.product")
        for k, values in product.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(f"sweep.product.{k} = {values!r}: expected a non-empty "
                                  "list of values")
            for i, a in enumerate(values):
                if any(_same(a, b) for b in values[:i]):
                    raise ConfigError(f"sweep.product.{k}: the value {a!r} is listed twice")
    cases = names = None
    if "cases" in sw:
        given = sw["cases"]
        if not isinstance(given, list) or not given or not all(isinstance(c, dict)
                                                                 for c in given):
            raise ConfigError(f"sweep.cases = {given!r}: expected [[sweep.cases]] tables of "
                              "dotted key = value")
        cases, names = [], []
        for i, c in enumerate(given):
            where = f"sweep.cases[{i}]"
            c = dict(c)
            name = c.pop("name", None)
            if name is not None and (not isinstance(name, str) or not name.strip()):
                raise ConfigError(f"{where}.name = {name!r}: expected a non-empty string")
            params = _flatten(c, where)
            for k in params:
                if k in product:
                    raise ConfigError(f"{where}.{k}: also swept in [sweep.product]; set it "
                                      "in one place only")
            if any(_same(params, p) for p in cases):
                raise ConfigError(f"{where}: the same case is listed twice")
            cases.append(params)
            names.append(name if name is not None else (_params_name(params) or f"case{i}"))
        dup = [n for n in names if names.count(n) > 1]
        if dup:
            raise ConfigError(f"sweep.cases: the name {dup[0]!r} is used twice")
    ts = _time_series(sw.get("time_series", True))
    out = raw.get("output", {}).get("dir") if isinstance(raw.get("output"), dict) else None
    source_json = json.dumps({**raw, "sweep": sw}, sort_keys=True, default=str)
    return SweepSpec(base=raw, product=product, cases=cases, case_names=names,
                     time_series=ts, out=out, source=source_json)


# -------------------------------------------------------------------------- one case
def _config_hash(config) -> str:
    """Digest of a resolved config without ``output.dir`` (the sweep may be moved)."""
    d = config_to_dict(config)
    d["output"].pop("dir", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def _raw_hash(raw) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n", "utf-8")
    os.replace(tmp, path)


def run_case(config, case_dir, *, resume=True) -> dict:
    """Run one config into ``case_dir`` and record the outcome; never raises for a failed run.

    The run is the one of ``spectral-qc run`` (:func:`spectral_qc.cli.execute`: contract
    §4 outputs, figures when ``output.figures``); afterwards ``case_dir/status.json``
    holds ``status`` (``ok`` | ``config_error`` | ``numerical_failure`` | ``error``),
    ``exit_code``, ``reason``, ``t_last`` (last time reached), ``elapsed_s``,
    ``config_sha256`` and ``resumed_from`` (the time it continued from, or None).

    Parameters
    ----------
    config : dict (TOML structure), path or Config
        ``output.dir`` is replaced by ``case_dir``.
    case_dir : str or Path
    resume : bool
        When ``case_dir`` holds an interrupted run of the same config (its
        ``config.toml`` and a checkpoint on the output grid before ``t_end``), continue it
        from its latest such checkpoint (the same numbers as an uninterrupted run)
        instead of starting at t = 0.

    Returns
    -------
    dict
        The status record.
    """
    case_dir = Path(case_dir)
    case_dir.mkdir(parents=True, exist_ok=True)
    start = _time.perf_counter()
    rec = {"status": "error", "exit_code": 1, "reason": "", "t_last": None,
           "resumed_from": None}
    try:
        try:
            if isinstance(config, Mapping):
                raw = copy.deepcopy(dict(config))
                raw.setdefault("output", {})
                if isinstance(raw["output"], dict):
                    raw["output"]["dir"] = os.fspath(case_dir)
                cfg = load_config(raw)
            else:
                from .io import with_output_dir

                cfg = with_output_dir(load_config(config), os.fspath(case_dir))
        except ConfigError as exc:
            rec.update(status="config_error", exit_code=2, reason=str(exc),
                       config_sha256=_raw_hash(config if isinstance(config, Mapping)
                                               else str(config)))
            return rec
        rec["config_sha256"] = _config_hash(cfg)
        rec.update(_execute(cfg, case_dir, resume=resume))
    except Exception as exc:  # anything else: recorded, retried by a re-run
        rec.update(status="error", exit_code=1, reason=f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:  # retried by a re-run
        rec.update(status="pending", exit_code=130, reason="interrupted")
        raise
    finally:
        rec["elapsed_s"] = round(_time.perf_counter() - start, 3)
        _write_json(case_dir / STATUS_FILE, {**(read_status(case_dir) or {}), **rec})
    return rec


def _resume_point(cfg, case_dir: Path):
    """The latest checkpoint of an interrupted run of ``cfg`` in ``case_dir`` from which it
    can continue (on the output grid, before t_end, same config), or None."""
    from .io import CONFIG_FILE, list_checkpoints

    try:
        if _config_hash(load_config(Path(case_dir) / CONFIG_FILE)) != _config_hash(cfg):
            return None
    except (ConfigError, OSError):
        return None
    k = max(1, round(cfg.time.output_every / cfg.time.dt))
    n_end = round(cfg.time.t_end / cfg.time.dt)
    for p in reversed(list_checkpoints(case_dir)):
        try:
            it = int(p.stem.split("_", 1)[1])
        except (IndexError, ValueError):
            continue
        if it % k == 0 and 0 < it < n_end:
            return p
    return None


def _execute(cfg, case_dir: Path, *, resume=True) -> dict:
    """Run a valid config with the single-run machinery (:func:`spectral_qc.runs.run_to_directory`)."""
    from .io import load_checkpoint, read_fields
    from .runs import run_to_directory
    from .simulation import Simulation

    point = _resume_point(cfg, case_dir) if resume else None
    kwargs, resumed_from = {}, None
    if point is not None:
        sim = Simulation.restore(cfg, load_checkpoint(point))
        resumed_from = sim.time
        fields = (read_fields(case_dir, t_max=sim.records[-1][0])
                  if cfg.output.fields and sim.records else None)
        kwargs = dict(fresh=False, fields=fields)
    else:
        sim = Simulation(cfg)
    with contextlib.redirect_stderr(_io.StringIO()):  # the reason is kept in status.json
        result = run_to_directory(sim, case_dir, quiet=True, **kwargs)
    if result.status == "interrupted":
        raise KeyboardInterrupt
    return {"status": result.status, "exit_code": result.exit_code,
            "reason": " ".join(result.reason.split()) if result.reason else "",
            "t_last": result.t_last, "resumed_from": resumed_from}


# -------------------------------------------------------------------------- planning
@dataclass
class _Plan:
    spec: SweepSpec
    out: Path
    cases: list
    configs: list                   # Config or None (invalid)
    errors: list                    # ConfigError message or None
    hashes: list
    todo: list = field(default_factory=list)   # indices of cases to run
    done: list = field(default_factory=list)   # indices skipped (finished before)


def _plan(spec: SweepSpec, out: Path, *, resume: bool) -> _Plan:
    cases = spec.iter_cases()
    configs, errors, hashes = [], [], []
    for c in cases:
        raw = copy.deepcopy(c.raw)
        if not isinstance(raw.get("output", {}), dict):
            raw["output"] = {}
        raw.setdefault("output", {})["dir"] = os.fspath(out / c.name)
        try:
            cfg = load_config(raw)
            configs.append(cfg), errors.append(None), hashes.append(_config_hash(cfg))
        except ConfigError as exc:
            configs.append(None), errors.append(str(exc)), hashes.append(_raw_hash(raw))
    if all(e is not None for e in errors):
        first = errors[0]
        where = f"case {cases[0].name}: " if cases[0].params else ""
        raise ConfigError(f"{where}{first}" if len(cases) == 1 else
                          f"every case of the sweep is invalid; the first ({cases[0].name}): "
                          f"{first}")
    plan = _Plan(spec, out, cases, configs, errors, hashes)
    for i, c in enumerate(cases):
        st = read_status(out / c.name) if resume else None
        finished = (st is not None and st.get("status") in FINISHED
                    and st.get("config_sha256") == hashes[i]
                    and (st["status"] != "ok" or (out / c.name / "diagnostics.nc").is_file()))
        (plan.done if finished else plan.todo).append(i)
    return plan


def _record_config_error(case_dir: Path, reason: str, digest: str) -> dict:
    case_dir.mkdir(parents=True, exist_ok=True)
    rec = {"status": "config_error", "exit_code": 2, "reason": reason, "t_last": None,
           "config_sha256": digest, "elapsed_s": 0.0}
    _write_json(case_dir / STATUS_FILE, rec)
    return rec


# ------------------------------------------------------------------------------ run
def _client(distributed, scheduler, workers, n_tasks):
    """(client, cluster-or-None, owns_client)."""
    if isinstance(scheduler, distributed.Client):
        return scheduler, None, False
    if scheduler is not None:
        return distributed.Client(scheduler), None, True
    from dask.system import CPU_COUNT

    n = max(1, min(workers or CPU_COUNT, n_tasks))
    cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    log.info("sweep: local Dask cluster of %d worker processes, dashboard %s", n,
             client.dashboard_link)
    return client, cluster, True


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
    if scheduler is not None and workers is not None:
        raise ConfigError("--workers: only for the local cluster; size an existing cluster "
                          "(--scheduler) where it runs")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool)
                                or workers < 1):
        raise ConfigError(f"--workers {workers!r}: expected an integer ≥ 1")
    out = Path(out if out is not None else (spec.out or DEFAULT_OUT)).absolute()
    plan = _plan(spec, out, resume=resume)
    distributed = _import_distributed()
    out.mkdir(parents=True, exist_ok=True)
    runnable, skipped = [], len(plan.done)
    for i in plan.todo:
        case_dir = out / plan.cases[i].name
        if plan.configs[i] is None:
            _record_config_error(case_dir, plan.errors[i], plan.hashes[i])
            plan.done.append(i)
            continue
        if case_dir.exists():
            if resume and _resume_point(plan.configs[i], case_dir) is not None:
                (case_dir / STATUS_FILE).unlink(missing_ok=True)  # continued by run_case
            else:  # leftovers of a changed case, or of one stopped before its first output
                shutil.rmtree(case_dir)
        runnable.append(i)
    if skipped:
        log.info("sweep: %d of %d cases already finished, running %d", skipped,
                 len(plan.cases), len(runnable))
    failed = sum((read_status(out / plan.cases[i].name) or {}).get("status") != "ok"
                 for i in plan.done)
    try:
        if runnable:
            client, cluster, owns = _client(distributed, scheduler, workers, len(runnable))
            try:
                _run_on(client, distributed, plan, runnable, progress, failed, resume)
            finally:
                if owns:
                    client.close()
                if cluster is not None:
                    cluster.close()
    except KeyboardInterrupt:
        gather(out, spec)
        raise
    return gather(out, spec)


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
                _write_json(case_dir / STATUS_FILE, rec)
            failed += rec["status"] != "ok"
            bar.update(1)
            if failed:
                bar.set_postfix_str(f"{failed} failed", refresh=False)
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise
    finally:
        bar.close()


# ---------------------------------------------------------------------------- gather
def _coord(values):
    """A coordinate array for swept values (numbers, strings, bools; else labels)."""
    if all(isinstance(v, bool) for v in values):
        return np.array(values, bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.array(values, float)
    return np.array([_label(v) for v in values], dtype=object)


def _load(path: Path):
    import xarray as xr

    try:
        return xr.load_dataset(path, engine="netcdf4")
    except (OSError, ValueError):
        return None


def _common_times(dsets, ok):
    """The shared time axis, or None when the finished cases disagree.

    Stopped cases (numerical failure) may end early: their times must lie on the axis.
    """
    ref = None
    for d, good in zip(dsets, ok):
        if d is not None and good and (ref is None or d.sizes["time"] > ref.size):
            ref = d["time"].values
    if ref is None:  # no case finished: the longest of the stopped ones
        stopped = [d for d in dsets if d is not None]
        if not stopped:
            return None
        ref = max(stopped, key=lambda d: d.sizes["time"])["time"].values
    for d, good in zip(dsets, ok):
        if d is None:
            continue
        t = d["time"].values
        if good and (t.size != ref.size or not np.allclose(t, ref, rtol=1e-9, atol=1e-12)):
            return None
    return ref


def _on_axis(d, ref):
    """``d`` on the time axis ``ref`` (NaN where it has no value; off-axis times dropped)."""
    t = d["time"].values
    idx = np.array([np.argmin(np.abs(ref - x)) if ref.size else -1 for x in t], int)
    keep = np.array([ref.size > 0 and math.isclose(ref[j], x, rel_tol=1e-9, abs_tol=1e-12)
                     for j, x in zip(idx, t)], bool)
    d = d.isel(time=np.flatnonzero(keep)).assign_coords(time=ref[idx[keep]])
    return d.reindex(time=ref)


def gather(out, spec=None):
    """Collect the case directories of a sweep into ``out/sweep.nc``.

    Parameters
    ----------
    out : str or Path
        The sweep's output directory.
    spec : SweepSpec, dict or path, optional
        The sweep (default: read back from ``out/sweep.nc``'s ``sweep`` attribute).

    Returns
    -------
    xarray.Dataset
        Dimensions: ``case`` (explicit cases, coordinate = their names, with a
        coordinate per key they set) and one per product key (named by the dotted key,
        coordinate = the values); further ``i``, ``j``, ``xyz`` (and ``time``).
        Variables: every diagnostic of contract §4 at the final time ``t_end`` (NaN for
        a case that did not get there), ``<name>_series`` over ``time`` when
        ``time_series`` asks for it and the cases share one time axis; ``status``
        (``ok`` | ``config_error`` | ``numerical_failure`` | ``error`` | ``pending``),
        ``exit_code``, ``reason``, ``t_last``, ``elapsed_s`` and ``case_dir`` per case.
    """
    import xarray as xr

    out = Path(out)
    if spec is None:
        with xr.open_dataset(out / RESULT_FILE, engine="netcdf4") as old:
            spec = json.loads(old.attrs["sweep"])
    spec = load_sweep(spec)
    cases = spec.iter_cases()
    n = len(cases)
    recs = [read_status(out / c.name) or {"status": "pending"} for c in cases]
    ok = [r.get("status") == "ok" for r in recs]
    dsets = [(_load(out / c.name / "diagnostics.nc")
              if r.get("status") in ("ok", "numerical_failure") else None)
             for c, r in zip(cases, recs)]
    shape, dims = spec.shape, spec.dims

    def reshape(arr):
        return arr.reshape(shape + arr.shape[1:])

    data = {}
    status = np.array([r.get("status", "pending") for r in recs], dtype=object)
    data["status"] = (dims, reshape(status), {"long_name": "outcome of the case",
                                              "flag_values": " ".join(STATUSES)})
    data["exit_code"] = (dims, reshape(np.array(
        [r.get("exit_code", STATUSES.get(r.get("status"), -1)) for r in recs], np.int64)),
        {"long_name": "exit code of the equivalent spectral-qc run (-1: pending)"})
    data["reason"] = (dims, reshape(np.array([r.get("reason") or "" for r in recs],
                                             dtype=object)),
                      {"long_name": "why the case failed (empty when ok)"})
    data["t_last"] = (dims, reshape(np.array(
        [np.nan if r.get("t_last") is None else r["t_last"] for r in recs], float)),
        {"long_name": "last time reached", "units": "[time]"})
    data["elapsed_s"] = (dims, reshape(np.array(
        [r.get("elapsed_s", np.nan) for r in recs], float)),
        {"long_name": "wall-clock time of the run", "units": "s"})
    data["case_dir"] = (dims, reshape(np.array([c.name for c in cases], dtype=object)),
                        {"long_name": "run directory, relative to the sweep directory"})
    coords = {}
    for k, values in spec.product.items():
        coords[k] = (k, _coord(values))
    if spec.cases is not None:
        coords["case"] = ("case", np.array(spec.case_names, dtype=object))
        first = {}
        for c in cases:  # the first case of each explicit case, for the values it leaves
            first.setdefault(c.index[0], c.raw)
        for k in dict.fromkeys(k for c in spec.cases for k in c):
            vals = [c[k] if k in c else _resolved_value(first[i], k)
                    for i, c in enumerate(spec.cases)]
            if all(v is not None for v in vals):
                coords[k] = ("case", _coord(vals))
    ds = xr.Dataset(data, coords=coords)

    avail = [d for d in dsets if d is not None]
    if avail:
        template = avail[0]
        for d in avail[1:]:  # variables or sizes some cases lack (N differs, …)
            template = template.merge(xr.full_like(d, np.nan), join="outer", compat="override")
        nan = xr.full_like(template, np.nan).isel(time=slice(0, 0))
        flat = "__case__"
        finals = [(d.isel(time=-1, drop=True) if good else
                   xr.full_like(template.isel(time=0, drop=True), np.nan))
                  if d is not None else xr.full_like(template.isel(time=0, drop=True), np.nan)
                  for d, good in zip(dsets, ok)]
        fin = xr.concat(finals, dim=flat, join="outer", fill_value=np.nan,
                        coords="minimal", compat="override", combine_attrs="drop")
        for name, var in fin.data_vars.items():
            ds[name] = (dims + var.dims[1:], reshape(var.values),
                        {**template[name].attrs, "note": "value at t_end (NaN: not reached)"})
        ds = ds.assign_coords({c: fin[c] for c in fin.coords if c != flat and c not in ds.coords})
        names = (list(template.data_vars) if spec.time_series is True
                 else list(spec.time_series or ()))
        ref = _common_times(dsets, ok) if names else None
        if names and ref is None:
            ds.attrs["time_series_note"] = ("time series left out: the finished cases do "
                                            "not share one time axis")
        elif names:
            series = [_on_axis(d, ref) if d is not None else nan.reindex(time=ref)
                      for d in dsets]
            ser = xr.concat([s[names] for s in series], dim=flat, join="outer",
                            fill_value=np.nan, coords="minimal", compat="override",
                            combine_attrs="drop")
            ser = ser.transpose(flat, "time", ...)
            ds = ds.assign_coords(time=("time", ref, template["time"].attrs))
            for name in names:
                var = ser[name]
                ds[f"{name}_series"] = (dims + var.dims[1:], reshape(var.values),
                                        {**template[name].attrs,
                                         "note": "over time (NaN after a stop)"})
    from . import __version__

    ds.attrs.update({"title": "spectral_qc parameter sweep", "sweep": spec.source,
                     "spectral_qc_version": __version__, "n_cases": n,
                     "n_ok": int(sum(ok))})
    _write_nc(ds, out / RESULT_FILE)
    return ds


def _resolved_value(raw, key):
    """The value of ``key`` in the resolved config (defaults filled), else in ``raw``."""
    try:
        return _lookup(config_to_dict(load_config(raw)), key)
    except ConfigError:
        return _lookup(raw, key)


def _lookup(raw, key):
    node = raw
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _write_nc(ds, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    ds.to_netcdf(tmp, engine="netcdf4")
    os.replace(tmp, path)


def open_sweep(directory):
    """The gathered results of a sweep (``DIR/sweep.nc``) as an xarray.Dataset (loaded).

    Parameters
    ----------
    directory : str or Path
        The sweep's output directory (or the path of its ``sweep.nc``).

    Raises
    ------
    FileNotFoundError
        If there is no ``sweep.nc``.
    """
    import xarray as xr

    p = Path(directory)
    if p.is_dir():
        p = p / RESULT_FILE
    if not p.is_file():
        raise FileNotFoundError(f"{p}: not found (not a spectral_qc sweep directory)")
    return xr.load_dataset(p, engine="netcdf4")


# ----------------------------------------------------------------------- command line
def add_parser(subparsers):
    """Register ``spectral-qc sweep`` on the command line's subparsers."""
    s = subparsers.add_parser("sweep", help="run a parameter sweep on Dask (docs/usage.md)")
    s.add_argument("sweep_file", metavar="SWEEP.toml",
                   help="a config plus a [sweep] table (product and/or cases)")
    s.add_argument("--out", metavar="DIR", help="output directory (default: output.dir of "
                   f"the sweep file, else {DEFAULT_OUT})")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of an existing Dask scheduler (default: a local cluster)")
    s.add_argument("--workers", metavar="N", type=int,
                   help="worker processes of the local cluster (default: one per core)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_sweep)
    return s


def cmd_sweep(args) -> int:
    """``spectral-qc sweep``: 0 when every case finished (failed cases are results, see
    ``status`` in sweep.nc), 1 when a case ended with an unexpected error (re-run to
    retry it), 2 bad input or Dask missing, 130 interrupted."""
    prog = "spectral-qc"
    try:
        ds = sweep(args.sweep_file, out=args.out, workers=args.workers,
                   scheduler=args.scheduler, progress=not args.quiet)
    except SweepDependencyError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: sweep interrupted; finished cases are kept, run the same command "
              "again to complete the others", file=sys.stderr)
        return 130
    status = ds["status"].values.ravel()
    counts = {s: int((status == s).sum()) for s in STATUSES if (status == s).any()}
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    where = Path(args.out if args.out is not None else
                 (load_sweep(args.sweep_file).out or DEFAULT_OUT)) / RESULT_FILE
    print(f"{prog}: sweep: {summary} -> {where}", file=sys.stderr)
    for s, r, c in zip(status, ds["reason"].values.ravel(), ds["case_dir"].values.ravel()):
        if s not in ("ok",):
            print(f"{prog}:   {c}: {s}: {r}", file=sys.stderr)
    return 1 if counts.get("error") else 0
