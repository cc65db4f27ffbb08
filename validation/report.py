"""The one row and JSON helper of the validation studies.

A study is a function ``study(params, figdir) -> dict`` (:mod:`validation.runner`) whose
result has ``rows``: one :func:`row` per claim. :func:`jsonable` turns its numbers into
what :mod:`json` writes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def row(claim, measured, tolerance, passed, *, value=None, limit=None):
    """One report row: claim | measured | tolerance | pass (None: informative)."""
    return {"claim": claim, "measured": measured, "tolerance": tolerance,
            "passed": None if passed is None else bool(passed),
            "value": None if value is None else float(value),
            "limit": None if limit is None else float(limit)}


def jsonable(x, *, finite_only=True):
    """``x`` in plain JSON types: arrays → lists, numpy scalars → Python numbers, complex →
    [re, im], paths → POSIX text. Non-finite floats become their text ("nan", "inf")
    unless ``finite_only`` is False (then JSON's NaN/Infinity)."""
    def conv(v):
        if isinstance(v, dict):
            return {str(k): conv(e) for k, e in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(e) for e in v]
        if isinstance(v, np.ndarray):
            return conv(v.tolist())
        if isinstance(v, (np.bool_, bool)):
            return bool(v)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, (float, np.floating)):
            v = float(v)
            return v if np.isfinite(v) or not finite_only else str(v)
        if isinstance(v, (complex, np.complexfloating)):
            return [float(v.real), float(v.imag)]
        if isinstance(v, Path):
            return v.as_posix()
        return v

    return conv(x)
