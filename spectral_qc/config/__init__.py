"""The TOML run configuration (contract §2, §6): schema, validation, reading, writing.

* :mod:`.schema` — the tables, their keys and defaults (dataclasses, written once);
* :mod:`.validate` — strict validation of a raw dict (every error names the key);
* :mod:`.toml` — :func:`load_config`, :func:`loads_config`, :func:`dumps_config`;
* :mod:`.overrides` — :func:`apply_overrides` for ``--set section.key=value``.
"""

from .overrides import apply_overrides
from .schema import (CLASSICAL_KINDS, QUANTUM_KINDS, SCHEMA, ClassicalConfig, Config,
                     GridConfig, HamiltonianConfig, InitialConfig, ModelConfig, OutputConfig,
                     QuantumConfig, SolverConfig, TimeConfig)
from .toml import config_to_dict, dumps_config, load_config, loads_config, read_toml
from .validate import _plain
from ..errors import ConfigError

__all__ = ["Config", "GridConfig", "ModelConfig", "HamiltonianConfig", "InitialConfig",
           "ClassicalConfig", "QuantumConfig", "TimeConfig", "SolverConfig", "OutputConfig",
           "load_config", "loads_config", "config_to_dict", "dumps_config", "apply_overrides",
           "read_toml", "CLASSICAL_KINDS", "QUANTUM_KINDS", "SCHEMA", "ConfigError"]
