"""spectral_qc — pseudo-spectral solver for mixed quantum-classical spin dynamics.

A classical spin (Bloch vector n on the unit sphere, density ϱ(n)) coupled to an
N-level quantum system (local density matrix P(n)), evolved with the classical
Liouville equation, the Ehrenfest model, or the positivity-preserving hybrid model.
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import (ConfigError, InstabilityDetected, NonFiniteState, NumericalFailure,
                     PositivityLost, SpectralQCError)
from .sphere import SphereGrid
from .simulation import Simulation, StopCriteria
from . import exact
from .io import open_run
from .sweep import open_sweep, sweep  # functions; the module: from spectral_qc.sweep import …

try:
    __version__ = version("spectral_qc")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = [
    "SphereGrid", "Simulation", "StopCriteria", "exact", "open_run", "open_sweep", "sweep",
    "ConfigError", "InstabilityDetected", "NonFiniteState", "NumericalFailure",
    "PositivityLost", "SpectralQCError", "__version__",
]
