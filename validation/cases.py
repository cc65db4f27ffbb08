"""The physical set-ups shared by the validation studies.

Everything here is *configuration* of the solver (configs built as dicts, exactly as a
user would write them) plus the plain-numpy callables that the independent references of
:mod:`validation.references` need. The references themselves never import the solver.

Set-ups
-------
* ``H0 = ½ nz² + 0.3 nx`` — a nonlinear classical Hamiltonian (twist + rotation).
* ``coupled qubit``: ``H = H0·1 + ½ n·σ + 0.35 σz`` (:mod:`spectral_qc.presets`).
* ϱ0: von Mises–Fisher, κ = 2, centred off the pole at :data:`CENTER`.
* P0: uniform pure (Bloch (1, 0, 0)); uniform mixed; correlated pure
  (:func:`spectral_qc.states.spin_coherent_field`); correlated mixed (:func:`mixed_field`).
"""

from __future__ import annotations

import numpy as np

from spectral_qc import StopCriteria, presets
from spectral_qc.hamiltonians import PAULI
from spectral_qc.states import bloch_field  # noqa: F401  (P fields of the studies)

#: Centre of the initial von Mises–Fisher density (unit vector, off the poles).
CENTER = (0.48, 0.36, 0.8)
KAPPA = 2.0
H0_EXPR = presets.CLASSICAL_H0
#: Heat-kernel regularization used for every hybrid run that goes forward in time.
HYBRID_REG = {"regularization": "heat_kernel", "alpha": 0.01}

SX, SY, SZ, ID2 = PAULI["X"], PAULI["Y"], PAULI["Z"], PAULI["I"]


# ------------------------------------------------------------------ configs
def terms(kind, coupled=True):
    """Hamiltonian terms: H0 (N = 1) for liouville, the coupled qubit otherwise."""
    if kind != "liouville" and coupled:
        return presets.coupled_qubit_terms()
    return presets.classical_terms()


def config(kind, lmax, dt, *, t_end=1.0, hbar=1.0, spin=1.0, hamiltonian=None, bloch=(1.0, 0, 0),
           regularization=None, center=CENTER, kappa=KAPPA):
    """A config dict (docs/usage.md, Config file) for one validation run.

    ``kind`` is ``"liouville"``, ``"ehrenfest"``, ``"hybrid"`` (regularized with
    :data:`HYBRID_REG` unless ``regularization`` is given) or ``"hybrid_raw"`` (the model
    exactly as in the paper).
    """
    model = {"kind": "hybrid" if kind.startswith("hybrid") else kind, "hbar": hbar,
             "spin_magnitude": spin}
    if kind == "hybrid":
        model.update(regularization or HYBRID_REG)
    d = {"grid": {"lmax": int(lmax)}, "model": model,
         "hamiltonian": {"terms": hamiltonian or terms(kind)},
         "initial": {"classical": {"kind": "von_mises_fisher", "center": list(center),
                                   "kappa": kappa}},
         "time": {"t_end": t_end, "dt": dt, "output_every": t_end}}
    if kind != "liouville":
        d["initial"]["quantum"] = {"bloch": [float(b) for b in bloch]}
    return d


def make_sim(kind, lmax, dt, *, scheme="strang", P=None, **kw):
    """A :class:`spectral_qc.Simulation` for :func:`validation.protocol.evolve`: stop
    criteria off (the studies monitor), one output at t_end; ``P`` optional callable
    grid → P field."""
    from spectral_qc.simulation import Simulation

    sim = Simulation(config(kind, lmax, dt, **kw), scheme=scheme, stop=StopCriteria.off())
    if P is not None:
        rho = sim.grid.synthesis(sim.state.rho_lm)
        sim.state = sim.state_from_grid(rho, P(sim.grid))
    return sim


# ---------------------------------------------------------------- P fields
def coherent_bloch(n, tilt=0.5):
    """Unit Bloch vector m(n) ∝ (nx, ny, tilt·nz) (the direction of spin_coherent_field)."""
    m = n * np.array([1.0, 1.0, tilt]).reshape(3, *([1] * (n.ndim - 1)))
    return m / np.linalg.norm(m, axis=0)


def correlated_pure(grid, tilt=1.0):
    """Pure P correlated with n: spectral_qc.states.spin_coherent_field.

    The default tilt 1 gives m = n, P = (1 + n·σ)/2: pure *and* band-limited (degree 1),
    so the grid state is pure to round-off (tilt ≠ 1 is not band-limited and its
    truncation makes min eig P < 0 already at t = 0, ~1e-6 at lmax 23 for tilt 0.5).
    """
    from spectral_qc.states import spin_coherent_field

    return spin_coherent_field(grid, axis_tilt=tilt)


def mixed_radius(n):
    """|b|(n) = 0.55 + 0.25 nx − 0.1 nz ∈ [0.2, 0.9]: a mixed P with varying eigenvalues."""
    return 0.55 + 0.25 * n[0] - 0.1 * n[2]


def mixed_field(grid):
    """Mixed, correlated P: Bloch vector |b| m(n) with |b| = :func:`mixed_radius` < 1."""
    return bloch_field(mixed_radius(grid.n) * coherent_bloch(grid.n))


P_CASES = {
    "pure_uniform": None,  # the config's bloch = (1, 0, 0)
    "pure_correlated": correlated_pure,
    "mixed_correlated": mixed_field,
}


# ------------------------------------------------- callables for references
def grad_h0(n):
    """Cartesian gradient of H0 = ½nz² + 0.3nx, ``(3, M)``."""
    return np.stack([np.full(n.shape[1:], 0.3), np.zeros(n.shape[1:]), n[2]])


def h_matrix(n):
    """Coupled-qubit H(n), ``(M, 2, 2)``."""
    h0 = 0.5 * n[2] ** 2 + 0.3 * n[0]
    out = (h0[:, None, None] * ID2 + 0.5 * (n[0][:, None, None] * SX + n[1][:, None, None] * SY)
           + (0.5 * n[2] + 0.35)[:, None, None] * SZ)
    return out


def grad_h_matrix(n):
    """Cartesian gradient of every entry of the coupled-qubit H, ``(3, M, 2, 2)``."""
    m = n.shape[1]
    one = np.ones(m)[:, None, None]
    gx = 0.3 * one * ID2 + 0.5 * one * SX
    gy = 0.5 * one * SY
    gz = n[2][:, None, None] * ID2 + 0.5 * one * SZ
    return np.stack([gx, gy, gz])


def rho0(n):
    from .references import von_mises_fisher_density

    return von_mises_fisher_density(n, CENTER, KAPPA)
