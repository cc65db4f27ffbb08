"""Matplotlib (Agg) and a save helper shared by the studies."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save(fig, figdir, name):
    """Save ``fig`` as ``figdir/name.png`` and close it; returns the path."""
    path = Path(figdir) / f"{name}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


__all__ = ["plt", "save"]
