"""The schema of a run configuration: tables, keys and their defaults (contract §2, §6).

Every default is written once, here, as a dataclass field default; validation
(:mod:`.validate`) reads them from these classes.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from ..hamiltonians import PAULI, Hamiltonian
from ..stopping import StopCriteria

DENSITY_TOL = 1e-10     # Hermiticity and trace of initial.quantum.density
PSD_TOL = 1e-12         # smallest allowed eigenvalue is -PSD_TOL
BLOCH_TOL = 1e-12       # |bloch| ≤ 1 + BLOCH_TOL
MULTIPLE_RTOL = 1e-9    # output_every = k·dt, checkpoint_every = k·output_every, t_end = k·dt
CLASSICAL_KINDS = ("von_mises_fisher", "mixture")
#: ``[initial.classical] kind`` of several classical spins: one density per spin (factors).
PRODUCT_KIND = "product"
QUANTUM_KINDS = ("bloch", "ket", "density")
STOP_KEYS = tuple(f.name for f in dataclasses.fields(StopCriteria))

#: Allowed keys of every table (dotted table name → keys).
SCHEMA = {
    "": ("grid", "model", "hamiltonian", "initial", "time", "solver", "output"),
    "grid": ("lmax",),
    "model": ("kind", "hbar", "spin_magnitude", "regularization", "alpha"),
    "hamiltonian": ("terms",),
    "initial": ("classical", "quantum"),
    "initial.classical": ("kind", "center", "kappa", "components", "factors"),
    "initial.classical.components": ("center", "kappa", "weight"),
    "initial.classical.factors": ("kind", "center", "kappa", "components"),
    "initial.quantum": QUANTUM_KINDS,
    "time": ("t_end", "dt", "output_every"),
    "solver": ("scheme", "spectral_filter", "stop"),
    "solver.stop": STOP_KEYS,
    "output": ("dir", "fields", "figures", "checkpoint_every", "keep_checkpoints"),
}
#: Keys whose value is text (``--set model.kind=hybrid`` needs no quotes).
STRING_KEYS = {"model.kind", "model.regularization", "initial.classical.kind", "output.dir",
               "solver.scheme"}


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def bloch_density(b) -> np.ndarray:
    """The qubit density matrix ½(1 + b·σ) of a Bloch vector ``b`` (read-only, 2×2)."""
    return _frozen(0.5 * (PAULI["I"] + b[0] * PAULI["X"] + b[1] * PAULI["Y"]
                          + b[2] * PAULI["Z"]))


_frozen_kw = dataclasses.dataclass(frozen=True, kw_only=True)
_frozen_kw_noeq = dataclasses.dataclass(frozen=True, kw_only=True, eq=False)


@_frozen_kw
class GridConfig:
    """``[grid]``: spectral truncation ``lmax`` (1 … 2047); several spins: a tuple of j,
    one per spin."""
    lmax: int | tuple = 63


@_frozen_kw
class ModelConfig:
    """``[model]``: model kind, ħ, spin magnitude S, regularization and its strength α.

    ``spin_magnitude`` is a float for one classical spin and a tuple (S_1, …, S_j) of
    j = 2 or 3 floats for several (paper §4.4)."""
    kind: str = "hybrid"
    hbar: float = 1.0
    spin_magnitude: float | tuple = 1.0
    regularization: str = "none"
    alpha: float = 0.0


@_frozen_kw
class HamiltonianConfig:
    """``[hamiltonian]``: the raw term tables ``{op|matrix, coef}``, kept for writing back."""
    terms: tuple


@_frozen_kw
class ClassicalConfig:
    """``[initial.classical]``: von Mises–Fisher (``center``, ``kappa``), ``mixture``, or
    (several spins) ``product``.

    ``center`` is the normalized 3-tuple (None for a mixture or product); ``components`` is
    a tuple of ``(center, kappa, weight)`` (empty for von Mises–Fisher); ``factors`` is the
    tuple of j ClassicalConfig (von Mises–Fisher or mixture) of a product, one per spin
    (empty otherwise).
    """
    kind: str = "von_mises_fisher"
    center: tuple | None = (0.0, 0.0, 1.0)
    kappa: float | None = 2.0
    components: tuple = ()
    factors: tuple = ()


@_frozen_kw_noeq
class QuantumConfig:
    """``[initial.quantum]``: ``kind`` ('bloch'|'ket'|'density'), ``value`` as given
    (nested tuples), and the resulting ``density`` (N×N complex, trace 1, PSD)."""
    kind: str = "bloch"
    value: tuple = (1.0, 0.0, 0.0)
    density: np.ndarray = dataclasses.field(
        default_factory=lambda: bloch_density((1.0, 0.0, 0.0)))

    def __eq__(self, other):
        if not isinstance(other, QuantumConfig):
            return NotImplemented
        return (self.kind == other.kind and self.value == other.value
                and np.array_equal(self.density, other.density))


@_frozen_kw
class InitialConfig:
    """``[initial]``: the classical density ϱ0 and the (uniform) quantum state P0."""
    classical: ClassicalConfig = dataclasses.field(default_factory=ClassicalConfig)
    quantum: QuantumConfig = dataclasses.field(default_factory=QuantumConfig)


@_frozen_kw
class TimeConfig:
    """``[time]``: end time, step, and the time between outputs (a multiple of dt)."""
    t_end: float = 1.0
    dt: float = 0.01
    output_every: float = 0.1


@_frozen_kw
class SolverConfig:
    """``[solver]``: splitting scheme, spectral filter and the stop criteria ``[solver.stop]``."""
    scheme: str = "strang"
    spectral_filter: bool = False
    stop: StopCriteria = dataclasses.field(default_factory=StopCriteria)


@_frozen_kw
class OutputConfig:
    """``[output]``: directory, whether to write fields.nc / figures, checkpoint spacing and
    how many checkpoints to keep (the latest ``keep_checkpoints``)."""
    dir: str = "out/run"
    fields: bool = False
    figures: bool = True
    checkpoint_every: float = 0.1
    keep_checkpoints: int = 2


@_frozen_kw
class Config:
    """A validated run configuration (build it with :func:`~spectral_qc.config.load_config`)."""
    hamiltonian: HamiltonianConfig
    grid: GridConfig = dataclasses.field(default_factory=GridConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    initial: InitialConfig = dataclasses.field(default_factory=InitialConfig)
    time: TimeConfig = dataclasses.field(default_factory=TimeConfig)
    solver: SolverConfig = dataclasses.field(default_factory=SolverConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)

    @property
    def spins(self) -> int:
        """j, the number of classical spins (1 unless ``[model] spin_magnitude`` is a list)."""
        s = self.model.spin_magnitude
        return len(s) if isinstance(s, tuple) else 1

    @property
    def N(self) -> int:
        """Quantum dimension (1 for a scalar model such as ``liouville``)."""
        return int(self.initial.quantum.density.shape[0])

    @property
    def steps(self) -> int:
        """Number of time steps from 0 to ``t_end`` (t_end is a multiple of dt)."""
        return round(self.time.t_end / self.time.dt)

    def hamiltonian_operator(self) -> Hamiltonian:
        """The Hamiltonian ``H(n)``.

        Returns
        -------
        Hamiltonian or ProductHamiltonian
            N×N; for a scalar model (N = 1) reduced to the identity coefficients;
            a :class:`~spectral_qc.product_hamiltonians.ProductHamiltonian` for several
            spins.
        """
        terms = [copy.deepcopy(t) for t in self.hamiltonian.terms]
        if self.spins > 1:  # several spins: coefficients in n1x … njz (paper §4.4)
            from ..product_hamiltonians import ProductHamiltonian

            h = ProductHamiltonian.from_config(terms, self.spins)
        else:
            h = Hamiltonian.from_config(terms)
        return h.reduced_to_scalar() if self.N == 1 else h
