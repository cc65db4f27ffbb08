"""Models: each is its generator 𝒦 on one shared transport core (:mod:`.base`).

``MODELS`` maps a name to its class; :func:`make_model` builds one by name and lists the
valid names when the name is unknown.
"""

from __future__ import annotations

from ..errors import ConfigError

MODELS: dict = {}


def register_model(name):
    """Class decorator adding a model to :data:`MODELS` under ``name``."""

    def add(cls):
        MODELS[name] = cls
        return cls

    return add


def make_model(name, grid, hamiltonian, **kw):
    """Instantiate the model called ``name`` (``"liouville"``, ``"ehrenfest"``, ``"hybrid"``)."""
    return model_class(name)(grid, hamiltonian, **kw)


def model_class(name):
    """The registered class of ``[model] kind = name`` (ConfigError listing the valid names)."""
    if name not in MODELS:
        import difflib

        close = difflib.get_close_matches(str(name), MODELS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"model.kind = {name!r}: allowed are "
                          f"{', '.join(map(repr, MODELS))}{hint}")
    return MODELS[name]


from .base import Fields, Model  # noqa: E402
from .classical import Ehrenfest, Liouville  # noqa: E402
from .hybrid import Hybrid  # noqa: E402
from .koopman import HybridKvH, KoopmanModel, KvH, KvN  # noqa: E402
from .regularizations import REGULARIZATIONS, check_regularization  # noqa: E402

__all__ = ["MODELS", "REGULARIZATIONS", "Ehrenfest", "Fields", "Hybrid", "HybridKvH",
           "KoopmanModel", "KvH", "KvN", "Liouville", "Model", "check_regularization",
           "make_model", "model_class", "register_model"]
