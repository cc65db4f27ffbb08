"""Checkpoints: the exact spectral state and the clock of a run, ``step_<iteration>.npz``.

A checkpoint holds what :meth:`Simulation.restore` needs to continue bit for bit and
nothing that grows with the run: ``rho_lm``, ``p_lm``, ``iteration``, ``t0``, ``dt``,
the spectral-tail history of the stop criteria (a window of ``growth_window``) and the
scheme. The diagnostics history is in diagnostics.nc. A run directory keeps the latest
``keep_checkpoints`` of them (:func:`checkpoints_to_delete`).
"""

from __future__ import annotations

import glob
import os
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .atomic import tmp_name as _tmp_name

from .errors import ConfigError

__all__ = ["save_checkpoint", "load_checkpoint", "list_checkpoints", "checkpoint_iteration",
           "checkpoints_to_delete", "prune_checkpoints", "state_checkpoint",
           "CHECKPOINT_FORMAT", "KEEP_CHECKPOINTS", "CHECKPOINT_DIR"]

CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_FORMAT = 2     # 1: with the record history (still read); 2: state and clock only
#: Checkpoints kept by default (the latest ones; config ``[output] keep_checkpoints``).
KEEP_CHECKPOINTS = 2
_CKPT_RE = re.compile(r"step_(\d+)\.npz$")


#: Spectral state arrays a checkpoint may hold: (ϱ, P) models with q = ln J
#: (spectral_qc.characteristics), and the Koopman wave models' Υ.
STATE_KEYS = ("rho_lm", "p_lm", "q_lm", "upsilon_lm")


def save_checkpoint(directory, ckpt: dict, *, scheme: str = "strang", name=None) -> Path:
    """Save :meth:`Simulation.checkpoint` output as ``directory/step_<iteration>.npz``.

    Stores the exact spectral state (those of :data:`STATE_KEYS` it has), the clock (``iteration``,
    ``t0``, ``dt``), the spectral-tail history of the stop criteria (``tail_history``,
    (n, 2) of (time, tail)) and the ``scheme``, all as float64 / complex128 / int64:
    loading gives back the same numbers bit for bit. The diagnostics history is not
    stored (it is in diagnostics.nc), so a checkpoint has a fixed size.
    """
    directory = Path(directory)
    arrays = {"format": np.int64(CHECKPOINT_FORMAT),
              **{k: ckpt[k] for k in STATE_KEYS if ckpt.get(k) is not None},
              "iteration": np.int64(ckpt["iteration"]),
              "t0": np.float64(ckpt["t0"]), "dt": np.float64(ckpt["dt"]),
              "scheme": np.str_(scheme),
              "tail_history": np.array(ckpt.get("tail_history", []), float).reshape(-1, 2)}
    path = directory / (name or f"step_{int(ckpt['iteration']):09d}.npz")
    tmp = _tmp_name(path)
    try:
        fh = open(tmp, "wb")
    except FileNotFoundError:  # the first checkpoint of a directory (no mkdir per call)
        directory.mkdir(parents=True, exist_ok=True)
        fh = open(tmp, "wb")
    with fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)
    return path


def _format1_records(z) -> list:
    """The record history stored in a format-1 checkpoint (earlier versions)."""
    names = [k[len("rec__"):] for k in z.files if k.startswith("rec__")]
    cols = {n: z[f"rec__{n}"] for n in names}
    return [(float(t), {n: float(cols[n][i]) if np.ndim(cols[n][i]) == 0
                        else np.array(cols[n][i]) for n in names})
            for i, t in enumerate(z["records_time"])]


_REQUIRED = ("iteration", "t0", "dt", "tail_history")


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (for Simulation.restore).

    Returns a dict with ``rho_lm``, ``p_lm``, ``iteration``, ``t0``, ``dt``, ``scheme``,
    ``tail_history`` (list of (time, tail)) and ``records`` (empty, except for
    checkpoints of format 1, which carried the diagnostics history).

    Raises
    ------
    ConfigError
        If the file is truncated, damaged or not a spectral_qc checkpoint; the message
        names it and the fix (delete it to resume from the previous checkpoint, named,
        or start the run again when there is none).
    FileNotFoundError
        If it does not exist.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in _REQUIRED if k not in z.files]
            if not ({"rho_lm", "p_lm"} <= set(z.files) or "upsilon_lm" in z.files):
                missing.insert(0, "rho_lm")
            if missing:
                raise ValueError(f"no {missing[0]!r} array")
            records = _format1_records(z) if "records_time" in z.files else []
            ckpt = {**{k: z[k].copy() for k in STATE_KEYS if k in z.files},
                    "iteration": int(z["iteration"]), "t0": float(z["t0"]),
                    "dt": float(z["dt"]),
                    "scheme": str(z["scheme"]) if "scheme" in z.files else "strang",
                    "records": records,
                    "tail_history": [tuple(map(float, r)) for r in z["tail_history"]]}
    except FileNotFoundError:
        raise
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile,
            zlib.error) as exc:
        raise ConfigError(_unreadable(path, exc)) from None
    kinds = {ckpt[k].dtype for k in STATE_KEYS if k in ckpt}
    # complex128 coefficients on one sphere; float64 on a product of spheres (several spins)
    if kinds not in ({np.dtype(np.complex128)}, {np.dtype(np.float64)}):
        raise ConfigError(_unreadable(path, "the state arrays are not complex spectral "
                                            "coefficients (nor the real ones of several spins)"))
    return ckpt


def _unreadable(path: Path, why) -> str:
    """The one-line message for a checkpoint that cannot be used, with the fix."""
    why = " ".join(str(why).split()) or type(why).__name__
    run_dir = path.parent.parent
    earlier = [p for p in list_checkpoints(run_dir)
               if _CKPT_RE.search(p.name) and p.resolve() != path.resolve()
               and (not _CKPT_RE.search(path.name)
                    or checkpoint_iteration(p) < checkpoint_iteration(path))]
    if earlier:
        fix = (f"delete it to resume from the previous checkpoint "
               f"{os.fspath(earlier[-1])!r}")
    else:
        fix = (f"no earlier checkpoint: start the run again (spectral-qc run "
               f"{os.fspath(run_dir / 'config.toml')} --out {os.fspath(run_dir)})")
    return (f"checkpoint {os.fspath(path)!r}: truncated, damaged or not a spectral_qc "
            f"checkpoint ({why}); {fix}")


def checkpoint_iteration(path) -> int:
    """The iteration of a ``step_<iteration>.npz`` checkpoint, from its name."""
    m = _CKPT_RE.search(os.fspath(path))
    if not m:
        raise ValueError(f"{os.fspath(path)!r} is not named step_<iteration>.npz")
    return int(m.group(1))


def list_checkpoints(run_dir) -> list:
    """Checkpoint files of a run directory, sorted by iteration (oldest first)."""
    files = glob.glob(os.path.join(os.fspath(run_dir), CHECKPOINT_DIR, "step_*.npz"))
    found = [(int(m.group(1)), Path(f)) for f in files if (m := _CKPT_RE.search(f))]
    return [p for _, p in sorted(found)]


def state_checkpoint(sim) -> dict:
    """:meth:`Simulation.checkpoint` without the in-memory record history (state + clock)."""
    ckpt = sim.checkpoint()
    ckpt.pop("records", None)
    return ckpt


def checkpoints_to_delete(ckpts, keep: int, steps_per_output: int = 1) -> list:
    """Of checkpoint paths sorted oldest first, those that retention removes: all but the
    latest ``keep`` and the latest on the output grid (``iteration % steps_per_output == 0``,
    from which ``resume --t-end`` continues the records bit for bit)."""
    keep_set = set(ckpts[-keep:])
    on_grid = [p for p in ckpts if checkpoint_iteration(p) % steps_per_output == 0]
    if on_grid:
        keep_set.add(on_grid[-1])
    return [p for p in ckpts if p not in keep_set]


def prune_checkpoints(run_dir, keep: int, steps_per_output: int = 1) -> list:
    """Delete the checkpoints of a run directory that retention does not keep
    (:func:`checkpoints_to_delete`); returns the deleted paths."""
    gone = checkpoints_to_delete(list_checkpoints(run_dir), keep, steps_per_output)
    for p in gone:
        p.unlink(missing_ok=True)
    return gone
