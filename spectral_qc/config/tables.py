"""Validation of one TOML table: unknown keys, numbers, choices, vectors (with :mod:`.validate`).

Every problem raises :class:`~spectral_qc.errors.ConfigError` naming the dotted key, the
value and what is allowed.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping

import numpy as np

from ..errors import ConfigError
from .schema import SCHEMA


def _err(key: str, value, allowed: str) -> ConfigError:
    text = repr(value)
    text = text if len(text) <= 80 else text[:77] + "..."
    return ConfigError(f"{key} = {text}: {allowed}")


def _plain(value, key: str = "config"):
    """Deep copy into plain Python types (numpy arrays/scalars → lists/scalars)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Mapping):
        for k in value:
            if not isinstance(k, str):
                raise _err(key, k, "table keys must be strings")
        return {k: _plain(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, key) for v in value]
    return value


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Table:
    """A validated view of one TOML table: unknown keys are rejected on creation."""

    def __init__(self, raw, name: str, schema: str | None = None):
        allowed = SCHEMA[name if schema is None else schema]
        if not isinstance(raw, dict):
            raise _err(name, raw, f"expected a table [{name}]")
        unknown = [k for k in raw if k not in allowed]
        if unknown:
            k = unknown[0]
            close = difflib.get_close_matches(k, allowed, n=1)
            home = [t for t, keys in SCHEMA.items() if t and k in keys]
            hint = (f"; did you mean {close[0]!r}?" if close
                    else f"; {k!r} belongs in [{home[0]}]" if home else "")
            where = f"[{name}]" if name else "the top level"
            raise ConfigError(f"{self._k(name, k)}: unknown key in {where}; allowed keys are "
                              f"{', '.join(allowed)}{hint}")
        self.raw, self.name = raw, name

    @staticmethod
    def _k(name, key):
        return f"{name}.{key}" if name else key

    def key(self, k: str) -> str:
        return self._k(self.name, k)

    def table(self, k: str) -> "_Table":
        return _Table(self.raw.get(k, {}), self.key(k))

    def number(self, k, default, *, minimum=None, exclusive=False) -> float:
        v = self.raw.get(k, default)
        what = f"a number > {minimum:g}" if exclusive else (
            f"a number ≥ {minimum:g}" if minimum is not None else "a number")
        if not _is_number(v):
            raise _err(self.key(k), v, f"expected {what}, got {type(v).__name__}")
        if not math.isfinite(v):
            raise _err(self.key(k), v, f"expected a finite number ({what})")
        if minimum is not None and (v <= minimum if exclusive else v < minimum):
            raise _err(self.key(k), v, f"expected {what}")
        return float(v)

    def choice(self, k, default, choices) -> str:
        v = self.raw.get(k, default)
        if v not in choices or not isinstance(v, str):
            close = difflib.get_close_matches(str(v), choices, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _err(self.key(k), v, f"allowed are {', '.join(map(repr, choices))}{hint}")
        return v

    def boolean(self, k, default) -> bool:
        v = self.raw.get(k, default)
        if not isinstance(v, bool):
            raise _err(self.key(k), v, "expected true or false")
        return v


def _vector(value, key: str, length: int) -> tuple[float, ...]:
    if (not isinstance(value, list) or len(value) != length
            or not all(_is_number(x) for x in value)):
        raise _err(key, value, f"expected a list of {length} numbers")
    if not all(math.isfinite(x) for x in value):
        raise _err(key, value, "entries must be finite")
    return tuple(float(x) for x in value)


def _unit(value, key: str) -> tuple[float, float, float]:
    """Normalize; a vector already of norm 1 ± 1e-15 is kept, so this is idempotent."""
    v = _vector(value, key, 3)
    norm = math.hypot(*v)
    if norm == 0.0:
        raise _err(key, value, "a direction is needed: the vector must not be zero")
    return v if abs(norm - 1.0) <= 1e-15 else tuple(x / norm for x in v)


def _sphere_sample(m: int = 200) -> np.ndarray:
    """±x, ±y, ±z, the 8 (±1, ±1, ±1)/√3 and m Fibonacci points: unit vectors (3, 14 + m)."""
    axes = np.vstack([np.eye(3), -np.eye(3)])
    corners = np.array([[a, b, c] for a in (1, -1) for b in (1, -1) for c in (1, -1)])
    z = 1 - (2 * np.arange(m) + 1) / m
    phi = np.arange(m) * np.pi * (3 - np.sqrt(5))
    fib = np.stack([np.sqrt(1 - z**2) * np.cos(phi), np.sqrt(1 - z**2) * np.sin(phi), z], 1)
    return np.vstack([axes, corners / np.sqrt(3), fib]).T


_SAMPLE = _sphere_sample()
