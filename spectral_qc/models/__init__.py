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
from .product import ProductEhrenfest, ProductLiouville  # noqa: E402
from .product_hybrid import ProductHybrid  # noqa: E402
from .product_koopman import ProductHybridKvH, ProductKvH, ProductKvN  # noqa: E402

#: ``[model] kind`` → class for several classical spins (j ≥ 2, paper §4.4). The one place
#: that says which kinds exist on products: a kind of :data:`MODELS` missing here is refused
#: by :func:`product_model_class` (add it here to lift that).
PRODUCT_MODELS: dict = {"liouville": ProductLiouville, "ehrenfest": ProductEhrenfest,
                        "hybrid": ProductHybrid, "kvn": ProductKvN, "kvh": ProductKvH,
                        "hybrid_kvh": ProductHybridKvH}


def model_class_for(name, spins=1):
    """The class of ``[model] kind = name`` for ``spins`` classical spins: :func:`model_class`
    for one, :func:`product_model_class` for several (the config and the Simulation ask here)."""
    return model_class(name) if spins == 1 else product_model_class(name)


def product_model_class(name):
    """The class of ``[model] kind = name`` for several classical spins (ConfigError for an
    unknown kind, or one not available on products yet, with the kinds that are)."""
    if name in PRODUCT_MODELS:
        return PRODUCT_MODELS[name]
    model_class(name)  # an unknown name: the one-spin message, listing every kind
    raise ConfigError(f"model.kind = {name!r}: not available for several classical spins yet; "
                      f"with [model] spin_magnitude a list use one of "
                      f"{', '.join(map(repr, PRODUCT_MODELS))}, or a single spin "
                      "(spin_magnitude a number)")

__all__ = ["MODELS", "PRODUCT_MODELS", "REGULARIZATIONS", "Ehrenfest", "Fields", "Hybrid", "HybridKvH",
           "KoopmanModel", "KvH", "KvN", "Liouville", "Model", "check_regularization",
           "make_model", "model_class", "model_class_for", "product_model_class", "register_model",
           "ProductEhrenfest", "ProductHybrid", "ProductLiouville"]
