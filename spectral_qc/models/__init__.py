"""Models: each is its generator 𝒦 on one shared transport core (:mod:`.base`).

``MODELS`` maps a name to its class; :func:`make_model` builds one by name and lists the
valid names when the name is unknown.
"""

from __future__ import annotations

MODELS: dict = {}


def register_model(name):
    """Class decorator adding a model to :data:`MODELS` under ``name``."""

    def add(cls):
        MODELS[name] = cls
        return cls

    return add


def make_model(name, grid, hamiltonian, **kw):
    """Instantiate the model called ``name`` (``"liouville"``, ``"ehrenfest"``, ``"hybrid"``)."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"model.kind = {name!r}: unknown; valid: {sorted(MODELS)}") from None
    return cls(grid, hamiltonian, **kw)


from .base import Fields, Model  # noqa: E402
from .classical import Ehrenfest, Liouville  # noqa: E402
from .hybrid import REGULARIZATIONS, Hybrid  # noqa: E402
from .koopman import HybridKvH, KoopmanModel, KvH, KvN  # noqa: E402

__all__ = ["MODELS", "REGULARIZATIONS", "Ehrenfest", "Fields", "Hybrid", "HybridKvH",
           "KoopmanModel", "KvH", "KvN", "Liouville", "Model", "make_model", "register_model"]
