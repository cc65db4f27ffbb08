"""One case of a sweep: validate its config, run it into its directory, record the outcome.

:func:`run_case` is the Dask task (it runs on a worker). Whatever happens, the case
directory ends with a ``status.json`` (:func:`spectral_qc.runs.write_status` plus the
sweep's keys ``config_sha256``, ``elapsed_s``, ``resumed_from``) and a ``config.toml``:
the resolved config of a valid case, the raw case config of an invalid one.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io as _io
import json
import os
import shutil
import time as _time
from collections.abc import Mapping
from pathlib import Path

from ..config import config_to_dict, load_config
from ..config.toml import _toml_key, _toml_value
from ..errors import ConfigError
from ..io import (CONFIG_FILE, checkpoint_iteration, list_checkpoints, load_checkpoint,
                  read_fields, with_output_dir, write_text)
from ..runs import STATUS_FILE, read_status, run_to_directory, write_status
from ..simulation import Simulation

#: status → exit code of the equivalent ``spectral-qc run`` (pending: not run yet).
STATUSES = {"ok": 0, "config_error": 2, "numerical_failure": 3, "error": 1, "pending": -1}
#: Statuses that count as finished: a re-run skips them (``error`` is retried).
FINISHED = ("ok", "config_error", "numerical_failure")


def config_hash(config) -> str:
    """Digest of a resolved config without ``output.dir`` (the sweep may be moved)."""
    d = config_to_dict(config)
    d["output"].pop("dir", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def raw_hash(raw) -> str:
    """Digest of a raw (possibly invalid) config."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()


def update_status(case_dir: Path, rec: dict, *, merge: bool = True) -> None:
    """Merge ``rec`` into ``case_dir/status.json`` (or replace it; written atomically)."""
    doc = {**((read_status(case_dir) or {}) if merge else {}), **rec}
    write_text(Path(case_dir) / STATUS_FILE,
               json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n")


def raw_toml(raw: Mapping) -> str:
    """A raw config dict as TOML text; values TOML cannot hold become comments.

    Parameters
    ----------
    raw : dict
        The TOML structure of contract §2, possibly invalid (that is why it is written).
    """
    lines = ["# spectral_qc case configuration as given (it did not validate: see status.json)"]

    def entry(key, value, out):
        try:
            out.append(f"{_toml_key(key)} = {_toml_value(value)}")
        except ConfigError:
            out.append(f"# {key} = {value!r}  (not representable in TOML)")

    def table(name, tbl):
        lines.extend(["", f"[{name}]"])
        subs = []
        for k, v in tbl.items():
            if isinstance(v, Mapping) and v:
                subs.append((k, v))
            else:
                entry(k, v, lines)
        for k, v in subs:
            table(f"{name}.{_toml_key(k)}", v)

    top = [(k, v) for k, v in raw.items() if not (isinstance(v, Mapping) and v)]
    head = []
    for k, v in top:
        entry(k, v, head)
    lines[1:1] = head
    for k, v in raw.items():
        if isinstance(v, Mapping) and v:
            table(_toml_key(k), v)
    return "\n".join(lines) + "\n"


def record_config_error(case_dir, raw, reason: str, digest: str) -> dict:
    """Record an invalid case: ``config.toml`` (the raw config) and ``status.json``
    (``config_error``, exit code 2). Leftovers of an earlier run of the case are removed."""
    case_dir = Path(case_dir)
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    write_config_text(case_dir, raw)
    write_status(case_dir, "config_error", reason=reason, wall_s=0.0)
    rec = {"status": "config_error", "exit_code": 2, "reason": reason, "t_last": None,
           "config_sha256": digest, "elapsed_s": 0.0}
    update_status(case_dir, rec)
    return rec


def write_config_text(case_dir: Path, config) -> None:
    """``case_dir/config.toml`` of an invalid case: the raw dict as TOML, or the file given."""
    if isinstance(config, Mapping):
        write_text(case_dir / CONFIG_FILE, raw_toml(config))
        return
    with contextlib.suppress(OSError, TypeError):
        write_text(case_dir / CONFIG_FILE, Path(config).read_text("utf-8"))


def run_case(config, case_dir, *, resume=True) -> dict:
    """Run one config into ``case_dir`` and record the outcome; never raises for a failed run.

    The run is the one of ``spectral-qc run`` (:func:`spectral_qc.runs.run_to_directory`: contract
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
                cfg = with_output_dir(load_config(config), os.fspath(case_dir))
        except ConfigError as exc:
            rec.update(status="config_error", exit_code=2, reason=str(exc),
                       config_sha256=raw_hash(config if isinstance(config, Mapping)
                                              else str(config)))
            write_config_text(case_dir, raw if isinstance(config, Mapping) else config)
            write_status(case_dir, "config_error", reason=str(exc), wall_s=0.0)
            return rec
        rec["config_sha256"] = config_hash(cfg)
        rec.update(_execute(cfg, case_dir, resume=resume))
    except Exception as exc:  # anything else: recorded, retried by a re-run
        rec.update(status="error", exit_code=1, reason=f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:  # retried by a re-run
        rec.update(status="pending", exit_code=130, reason="interrupted")
        raise
    finally:
        rec["elapsed_s"] = round(_time.perf_counter() - start, 3)
        update_status(case_dir, rec)
    return rec


def resume_point(cfg, case_dir: Path):
    """The latest checkpoint of an interrupted run of ``cfg`` in ``case_dir`` from which it
    can continue (on the output grid, before t_end, same config), or None."""
    try:
        if config_hash(load_config(Path(case_dir) / CONFIG_FILE)) != config_hash(cfg):
            return None
    except (ConfigError, OSError):
        return None
    k = max(1, round(cfg.time.output_every / cfg.time.dt))
    n_end = round(cfg.time.t_end / cfg.time.dt)
    for p in reversed(list_checkpoints(case_dir)):
        it = checkpoint_iteration(p)
        if it % k == 0 and 0 < it < n_end:
            return p
    return None


def _execute(cfg, case_dir: Path, *, resume=True) -> dict:
    """Run a valid config with the single-run machinery (:func:`spectral_qc.runs.run_to_directory`)."""
    point = resume_point(cfg, case_dir) if resume else None
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
