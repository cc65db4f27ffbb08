"""Diagnostics: invariants, positivity and resolution, declared once with their metadata.

Each :class:`Diagnostic` has a name (the variable name in ``diagnostics.nc``, contract
§4), a long name, units, extra dimensions, and a function of a :class:`Snapshot` (model,
state and its grid fields, with shared intermediate results computed once). Add one with
:func:`add_diagnostic`; :func:`evaluate` computes them all.

Units: ``"1"`` is dimensionless; energies are in the units of H.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from . import hermitian as hm
from .characteristics import jacobian_extremes
from .sphere import integrate, power_spectrum

#: Pointwise purity defect 1 − Tr P² above which P counts as mixed (berry_casimir → NaN).
PURE_TOLERANCE = 1e-6
#: Fraction of the degrees counted as the spectral "tail" (the top 10%).
TAIL_FRACTION = 0.1


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic: ``func(snapshot) -> float or ndarray`` of shape ``dims`` sizes."""

    name: str
    long_name: str
    units: str
    func: callable
    dims: tuple = ()


DIAGNOSTICS: dict = {}


def add_diagnostic(name, long_name, units, dims=(), *, table=None):
    """Decorator registering ``func(snapshot)`` as the diagnostic ``name`` in ``table``
    (default :data:`DIAGNOSTICS`; the Koopman models keep their own table)."""

    def add(func):
        (DIAGNOSTICS if table is None else table)[name] = Diagnostic(
            name, long_name, units, func, tuple(dims))
        return func

    return add


@dataclass
class CachedSnapshot:
    """A model and a state, with intermediate results computed lazily and once (``_get``)."""

    model: object
    state: object
    _cache: dict = field(default_factory=dict)

    def _get(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]


class Snapshot(CachedSnapshot):
    """A (ϱ, P) state with the grid fields diagnostics need, computed lazily and once."""

    @property
    def fields(self):
        return self._get("fields", lambda: self.model.fields(self.state))

    @property
    def P(self):
        return self._get("P", lambda: self.fields.P)

    @property
    def eigenvalues(self):
        """Pointwise eigenvalues of P, ``(N, nlat, nphi)`` (closed form for a qubit)."""
        return self._get("eig", lambda: hm.eigvalsh_components(self.fields.p))

    @property
    def trace_p2(self):
        """Pointwise Tr P² = Σ_a p_a² = Σ λ², ``(nlat, nphi)`` (no eigenvalues needed)."""
        return self._get("trp2", lambda: hm.dot_components(self.fields.p, self.fields.p))

    @property
    def rho_q(self):
        """ρ̂q = ∫ϱP dA, ``(N, N)`` complex."""
        return self._get("rho_q", lambda: integrate(self.model.grid, self.fields.rho * self.P))

    def integral(self, f):
        return float(integrate(self.model.grid, f))


@add_diagnostic("mass", "total probability ∫ϱ dA", "1")
def mass(s):
    return s.integral(s.fields.rho)


@add_diagnostic("energy", "model energy h (paper eq. 50; h_alpha when regularized)", "[H]")
def energy(s):
    return s.model.energy_from_fields(s.fields)


def add_quantum_density_diagnostics(definition, table=None):
    """Register ``rho_q_real``, ``rho_q_imag``, ``purity`` and ``min_eig_rho_q`` of a
    snapshot's ``rho_q`` (``(N, N)`` complex) in ``table``; ``definition`` says how ρ̂q is
    formed (e.g. "∫ϱP dA"). Shared by the (ϱ, P) and the Koopman models."""
    add = functools.partial(add_diagnostic, table=table)
    add("rho_q_real", f"real part of the quantum density matrix {definition}", "1",
        ("i", "j"))(lambda s: s.rho_q.real)
    add("rho_q_imag", f"imaginary part of the quantum density matrix {definition}", "1",
        ("i", "j"))(lambda s: s.rho_q.imag)
    add("purity", "purity Tr ρ̂q² of the quantum density matrix", "1")(
        lambda s: float(np.real(np.trace(s.rho_q @ s.rho_q))))
    add("min_eig_rho_q", "smallest eigenvalue of ρ̂q", "1")(
        lambda s: float(np.linalg.eigvalsh(s.rho_q)[0]))


add_quantum_density_diagnostics("∫ϱP dA")


@add_diagnostic("min_rho", "minimum of ϱ over the grid", "1")
def min_rho(s):
    return float(s.fields.rho.min())


@add_diagnostic("min_eig_P", "minimum over the grid of the smallest eigenvalue of P", "1")
def min_eig_P(s):
    return float(s.eigenvalues[0].min())


@add_diagnostic("casimir_trP2", "eigenvalue Casimir ∫ϱ Tr P² dA", "1")
def casimir_trP2(s):
    return s.integral(s.fields.rho * s.trace_p2)


@add_diagnostic("entropy", "eigenvalue Casimir −∫ϱ Tr(P log P) dA", "1")
def entropy(s):
    lam = np.clip(s.eigenvalues, 0.0, None)
    plogp = np.where(lam > 0, lam * np.log(np.where(lam > 0, lam, 1.0)), 0.0)
    return -s.integral(s.fields.rho * plogp.sum(axis=0))


def berry_curvature_form(P, grad_P, hbar, spin_magnitude):
    """Ω = 1 + ħ Im Tr(P{P, P}), {P, P} = (1/S)[P_θ, P_φ]; ``(nlat, nphi)`` (paper §4.3)."""
    pp = hm.commutator(grad_P[0], grad_P[1]) / spin_magnitude
    return 1.0 + hbar * np.imag(hm.trace_product(P, pp))


@add_diagnostic("berry_casimir", "Berry-curvature Casimir ∫ϱ²/Ω dA (NaN unless P is pure)", "1")
def berry_casimir(s):
    m, f = s.model, s.fields
    if np.max(1 - s.trace_p2) > PURE_TOLERANCE:
        return float("nan")
    omega = berry_curvature_form(s.P, f.grad_P, m.hbar, m.spin_magnitude)
    return s.integral(f.rho**2 / omega)


@add_diagnostic("n_mean", "mean classical spin direction ∫ϱ n dA", "1", ("xyz",))
def n_mean(s):
    return integrate(s.model.grid, s.fields.rho * s.model.grid.n)


def tail_fraction(grid, f_lm, fraction=TAIL_FRACTION):
    """Fraction of ∫|F|² dA in the top ``fraction`` of degrees (l > (1 − fraction)·lmax).

    ``f_lm`` ``(..., nlm)`` is one field or the components of one matrix field; the powers
    are summed over the leading dimensions (Frobenius norm), and the total includes the mean
    (l = 0), so that components that vanish up to round-off cannot produce a spurious O(1)
    ratio of noise to noise. Returns 0 for an empty or zero field.
    """
    if np.size(f_lm) == 0:
        return 0.0
    spec = power_spectrum(grid, f_lm).reshape(-1, grid.lmax + 1).sum(axis=0)
    cut = int(np.floor((1 - fraction) * grid.lmax)) + 1
    total = spec.sum()
    return float(spec[cut:].sum() / total) if total > 0 else 0.0


def state_spectral_tail(grid, state):
    """max(tail of ϱ, tail of P) for a State (the ``spectral_tail`` diagnostic)."""
    return max(tail_fraction(grid, state.rho_lm), tail_fraction(grid, state.p_lm))


@add_diagnostic("spectral_tail",
                "fraction of ∫ϱ² or ∫|P|² in the top 10% of degrees (max of the two)", "1")
def spectral_tail(s):
    return state_spectral_tail(s.model.grid, s.state)


def _jacobian_extremes(s):
    return s._get("jacobian", lambda: jacobian_extremes(s.model.grid, s.state.q_lm))


@add_diagnostic("jacobian_min", "minimum over the sphere of the area ratio J of the flow of X "
                "since the start (NaN when not tracked)", "1")
def jacobian_min(s):
    return _jacobian_extremes(s)[0]


@add_diagnostic("jacobian_max", "maximum over the sphere of the area ratio J of the flow of X "
                "since the start (NaN when not tracked)", "1")
def jacobian_max(s):
    return _jacobian_extremes(s)[1]


def evaluate(model, state, names=None, *, snapshot=None):
    """Compute diagnostics of a state.

    ``snapshot``: a :class:`Snapshot` of the same state whose grid fields are reused
    (and which then holds them for the caller).

    Returns
    -------
    dict name -> float or ndarray (``rho_q_*`` ``(N, N)``, ``n_mean`` ``(3,)``).
    """
    snap = Snapshot(model, state) if snapshot is None else snapshot
    names = DIAGNOSTICS.keys() if names is None else names
    return {n: DIAGNOSTICS[n].func(snap) for n in names}


def to_dataset(records, N, attrs=None, table=None):
    """Diagnostics records ``[(time, {name: value}), …]`` as an xarray.Dataset.

    Variables carry ``long_name`` and ``units`` attributes; dimensions ``time``, ``i``,
    ``j`` (N each) and ``xyz``. ``table``: the name → :class:`Diagnostic` table the
    records hold (default :data:`DIAGNOSTICS`; the Koopman models have their own).
    """
    import xarray as xr

    times = np.array([t for t, _ in records], float)
    data = {}
    for name, diag in (DIAGNOSTICS if table is None else table).items():
        shape = {"i": N, "j": N, "xyz": 3}
        empty = np.empty((0,) + tuple(shape[d] for d in diag.dims))
        vals = np.array([r[name] for _, r in records], float) if records else empty
        data[name] = (("time",) + diag.dims, vals,
                      {"long_name": diag.long_name, "units": diag.units})
    ds = xr.Dataset(data, coords={"time": ("time", times, {"long_name": "time",
                                                           "units": "[time]"}),
                                  "xyz": ["x", "y", "z"], "i": np.arange(N), "j": np.arange(N)},
                    attrs=dict(attrs or {}))
    return ds
