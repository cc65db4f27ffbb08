"""Atomic file writes: write to a temporary name in the same directory, then os.replace.

A crash, a stop or Ctrl-C at any moment leaves the previous complete version readable.
"""

from __future__ import annotations

import os
from pathlib import Path


def tmp_name(path) -> Path:
    """The temporary name beside ``path`` used while it is written (per process)."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file + os.replace)."""
    path = Path(path)
    tmp = tmp_name(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
