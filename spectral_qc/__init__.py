"""spectral_qc — pseudo-spectral solver for mixed quantum-classical spin dynamics.

A classical spin (Bloch vector n on the unit sphere, density ϱ(n)) coupled to an
N-level quantum system (local density matrix P(n)), evolved with the classical
Liouville equation, the Ehrenfest model, or the positivity-preserving hybrid model.
"""

from .version import __version__
from .errors import (ConfigError, InstabilityDetected, NonFiniteState, NumericalFailure,
                     PositivityLost, SmoothedDensityLost, SpectralQCError)
from .sphere import SphereGrid
from .result import Result
from .simulation import Handler, Simulation
from .stopping import StopCriteria
from . import exact
from . import radical_pair
from .io import open_run
from .sweep import open_sweep, sweep  # functions; the module: from spectral_qc.sweep import …

__all__ = [
    "SphereGrid", "Simulation", "StopCriteria", "Result", "Handler",
    "exact", "radical_pair", "open_run", "open_sweep", "sweep",
    "ConfigError", "InstabilityDetected", "NonFiniteState", "NumericalFailure",
    "PositivityLost", "SmoothedDensityLost", "SpectralQCError", "__version__",
]
