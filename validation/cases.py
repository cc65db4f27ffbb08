"""The physical set-ups shared by the validation studies, and a small run driver.

Everything here is *configuration* of the solver (configs built as dicts, exactly as a
user would write them) plus the plain-numpy callables that the independent references of
:mod:`validation.references` need. The references themselves never import the solver.

Set-ups
-------
* ``H0 = ½ nz² + 0.3 nx`` — a nonlinear classical Hamiltonian (twist + rotation).
* ``coupled qubit``: ``H = H0·1 + ½ n·σ + 0.35 σz``.
* ϱ0: von Mises–Fisher, κ = 2, centred off the pole at :data:`CENTER`.
* P0: uniform pure (Bloch (1, 0, 0)); uniform mixed; correlated pure
  (:func:`spectral_qc.states.spin_coherent_field`); correlated mixed (:func:`mixed_field`).
"""

from __future__ import annotations

import math
import time

import numpy as np

#: Centre of the initial von Mises–Fisher density (unit vector, off the poles).
CENTER = (0.48, 0.36, 0.8)
KAPPA = 2.0
H0_EXPR = "0.5*nz**2 + 0.3*nx"
QUBIT_TERMS = [{"op": "X", "coef": "0.5*nx"}, {"op": "Y", "coef": "0.5*ny"},
               {"op": "Z", "coef": "0.5*nz + 0.35"}]
#: Heat-kernel regularization used for every hybrid run that goes forward in time.
HYBRID_REG = {"regularization": "heat_kernel", "alpha": 0.01}

SX = np.array([[0, 1], [1, 0]], complex)
SY = np.array([[0, -1j], [1j, 0]], complex)
SZ = np.array([[1, 0], [0, -1]], complex)
ID2 = np.eye(2, dtype=complex)


# ------------------------------------------------------------------ configs
def terms(kind, coupled=True):
    """Hamiltonian terms: H0 (N = 1) for liouville, the coupled qubit otherwise."""
    t = [{"op": "I", "coef": H0_EXPR}]
    if kind != "liouville" and coupled:
        t += [dict(x) for x in QUBIT_TERMS]
    return t


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
         "time": {"t_end": t_end, "dt": dt, "output_every": dt}}
    if kind != "liouville":
        d["initial"]["quantum"] = {"bloch": [float(b) for b in bloch]}
    return d


def make_sim(kind, lmax, dt, *, scheme="strang", P=None, **kw):
    """A :class:`spectral_qc.simulation.Simulation`; ``P`` optional callable grid → P field."""
    from spectral_qc.simulation import Simulation

    sim = Simulation(config(kind, lmax, dt, **kw), scheme=scheme)
    if P is not None:
        rho = sim.grid.synthesis(sim.state.rho_lm)
        sim.state = sim.state_from_grid(rho, P(sim.grid))
    return sim


# ---------------------------------------------------------------- P fields
def bloch_field(b):
    """(1 + b·σ)/2 for a Bloch field b ``(3, ...)`` → ``(2, 2, ...)``."""
    b = np.asarray(b)
    sig = np.stack([SX, SY, SZ])
    return 0.5 * (ID2.reshape(2, 2, *([1] * (b.ndim - 1))) + np.einsum("a...,aij->ij...", b, sig))


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


# ------------------------------------------------------------------ driver
class Run:
    """Time series of diagnostics of one solver run (plain numpy arrays)."""

    def __init__(self, label):
        self.label = label
        self.times = []
        self.values = {}
        self.failure = None
        self.wall = 0.0
        self.steps = 0
        self.final_state = None

    def add(self, t, d):
        self.times.append(float(t))
        for k, v in d.items():
            self.values.setdefault(k, []).append(np.asarray(v, float))

    def series(self, name):
        return np.array(self.values[name])

    def as_json(self):
        out = {"label": self.label, "times": self.times, "failure": self.failure,
               "wall_s": round(self.wall, 2), "steps": self.steps}
        for k, v in self.values.items():
            out[k] = np.array(v).tolist()
        return out


def berry_casimir_ungated(model, state):
    """∫ϱ²/Ω dA without the diagnostic's purity gate (it returns NaN once 1 − Tr P² > 1e-6
    anywhere, which truncation of a pure state can reach); Ω from the pure-state formula."""
    from spectral_qc import diagnostics as dg
    from spectral_qc.sphere import integrate

    f = model.fields(state)
    omega = dg.berry_curvature_form(f.P, f.grad_P, model.hbar, model.spin_magnitude)
    return float(integrate(model.grid, f.rho ** 2 / omega))


EXTRA = {"berry_casimir": berry_casimir_ungated}


def _diagnose(model, state, names):
    from spectral_qc import diagnostics as dg

    d = dg.evaluate(model, state, [n for n in names if n not in EXTRA])
    d.update({n: EXTRA[n](model, state) for n in names if n in EXTRA})
    return d


def evolve(sim, t_end, *, every=None, names=None, label=""):
    """Advance ``sim`` to ``t_end`` with its integrator; record diagnostics every ``every``.

    Uses the integrator directly (no stop criteria: positivity and invariants are
    *monitored* here). A non-finite state, or a regularizer's non-positive smoothed density
    (``FloatingPointError``), ends the run; ``Run.failure`` says when.
    """
    from spectral_qc import diagnostics as dg

    run = Run(label)
    dt = sim.dt
    n_end = int(round(t_end / dt))
    k = n_end if every is None else max(1, int(round(every / dt)))
    names = list(dg.DIAGNOSTICS) if names is None else names
    t0 = time.perf_counter()
    if names:
        run.add(0.0, _diagnose(sim.model, sim.state, names))
    state = sim.state
    for i in range(1, n_end + 1):
        try:
            state = sim.integrator.step(state, dt)
        except (ValueError, FloatingPointError) as exc:
            run.failure = f"t = {i * dt:.4g}: {exc}"
            break
        if not (np.all(np.isfinite(state.rho_lm)) and np.all(np.isfinite(state.p_lm))):
            run.failure = f"t = {i * dt:.4g}: non-finite state"
            break
        run.steps = i
        if names and (i % k == 0 or i == n_end):
            run.add(i * dt, _diagnose(sim.model, state, names))
    sim.state = state
    sim.iteration = run.steps
    run.final_state = state
    run.wall = time.perf_counter() - t0
    return run


_CACHE: dict = {}


def cached(key, make):
    """Memoize expensive runs within one process (studies share runs)."""
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def clear_cache():
    _CACHE.clear()


def fmt(x, digits=2):
    """Short scientific formatting for the report."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x):.{digits}e}"
