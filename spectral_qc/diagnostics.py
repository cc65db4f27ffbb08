"""Diagnostics: invariants, positivity and resolution, declared once with their metadata.

Each :class:`Diagnostic` has a name (the variable name in ``diagnostics.nc``, contract
§4), a long name, units, extra dimensions, and a function of a :class:`Snapshot` (model,
state and its grid fields, with shared intermediate results computed once). Add one with
:func:`add_diagnostic`; :func:`evaluate` computes them all.

Units: ``"1"`` is dimensionless; energies are in the units of H.

The same names work on a product of spheres (S²)^j (:class:`~spectral_qc.sphere.product.
ProductGrid`, issue 17): integrals use that grid's quadrature over dA_1 … dA_j, ``n_mean``
has dims ``("spin", "xyz")`` for j ≥ 2 (the model's :attr:`diagnostic_table`, from
:func:`product_table`), ``spectral_tail`` is the largest tail over the factors and
``berry_casimir`` uses the Pfaffian form Ω_j of :func:`product_berry_curvature_form`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

import numpy as np

from . import hermitian as hm
from .characteristics import jacobian_extremes
from .sphere import integrate, power_spectrum
from .sphere.product import ProductGrid

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
    #: sizes of dims beyond ``i``, ``j`` (N) and ``xyz`` (3), e.g. ``(("spin", 2),)``
    sizes: tuple = ()


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
        """ρ̂q = ∫ϱP dA, ``(N, N)`` complex (on (S²)^j from P's N² real components, without
        forming the complex matrix field)."""
        if isinstance(self.model.grid, ProductGrid):
            return self._get("rho_q", lambda: hm.from_components(
                self.model.grid.integrate(self.fields.rho * self.fields.p)))
        return self._get("rho_q", lambda: integrate(self.model.grid, self.fields.rho * self.P))

    def integral(self, f):
        return float(integral_over(self.model.grid, f))


def integral_over(grid, f):
    """∫ f dA (one sphere) or ∫ f dA_1 … dA_j (a ProductGrid, its own quadrature) of grid
    fields ``(..., *grid shape)``; returns ``(...)``."""
    if isinstance(grid, ProductGrid):
        return grid.integrate(f)
    return integrate(grid, f)


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


def berry_curvature_components(p, grad_p):
    """F_μν = Im Tr(P[∂_μP, ∂_νP]) for μ < ν over the tangent directions of ``grad_p``.

    ``p`` ``(N², ...)``, ``grad_p`` ``(2j, N², ...)`` (orthonormal components, a (θ_a, φ_a)
    pair per spin); [A, B] = i f·E in components, so Im Tr(P[A, B]) = p·f. Returns a dict
    ``{(μ, ν): (...)}``. For one sphere F_θφ/S is Im Tr(P{P, P}) of
    :func:`berry_curvature_form`.
    """
    k = grad_p.shape[0]
    return {(mu, nu): hm.dot_components(p, hm.commutator_components(grad_p[mu], grad_p[nu]))
            for mu in range(k) for nu in range(mu + 1, k)}


def pfaffian(m, size):
    """Pf of the antisymmetric ``size``×``size`` matrices with upper entries ``m[(μ, ν)]``
    (arrays, pointwise): the expansion along the first row; ``size`` = 2j ≤ 6."""

    def pf(idx):
        if not idx:
            return 1.0
        first, rest = idx[0], idx[1:]
        return sum((-1) ** k * m[(first, nu)] * pf(rest[:k] + rest[k + 1:])
                   for k, nu in enumerate(rest))

    return pf(tuple(range(size)))


def product_berry_curvature_form(p, grad_p, hbar, spin_magnitudes):
    """Ω_j = Pf(M)/Pf(M0) on (S²)^j (paper §4.3 and §4.4, eq. 55); ``(...)``.

    §4.3: the pure hybrid dynamics transports the closed 2-form ω + B, (∂t + £_X)(ω + B) = 0,
    with ω the symplectic form of the classical spins and B = dA_B the curvature of the
    Berry connection A_B = ⟨ψ, −iħ dψ⟩; with ϱ dA transported too (eq. 55's continuity
    part), the Casimir is C = ∫ ϱ Φ(Ω/ϱ) ω. On (S²)^j (§4.4, bracket
    {F, G} = Σ_a (1/S_a) n_a·(∇_a F × ∇_a G)) the same argument holds with
    ω = Σ_a S_a dA_a (the inverse of that bracket) and the top forms:
    (ω + B)^j/j! = Pf(M) e^1 ∧ … ∧ e^2j and ω^j/j! = Pf(M0) e^1 ∧ … ∧ e^2j, in the orthonormal
    coframe (θ_1, φ_1, …, θ_j, φ_j), with the 2j×2j antisymmetric

        M = blockdiag(S_a J2) + ħF,  M0 = blockdiag(S_a J2),  J2 = [[0, 1], [−1, 0]],
        F_μν = Im Tr(P[∂_μP, ∂_νP])  (:func:`berry_curvature_components`),

    so Ω_j = Pf(M)/Π_a S_a and ∫ϱ²/Ω_j dA_1 … dA_j (Φ(x) = 1/x) is conserved. For j = 1
    Ω_1 = 1 + ħF_θφ/S = 1 + ħ Im Tr(P{P, P}) (:func:`berry_curvature_form`); for j = 2
    Pf(M) = m12 m34 − m13 m24 + m14 m23 (1-based).

    ``p`` ``(N², ...)``, ``grad_p`` ``(2j, N², ...)`` (the components of P and of ∇P);
    ``spin_magnitudes`` the j values S_a.
    """
    m = {key: hbar * f for key, f in berry_curvature_components(p, grad_p).items()}
    for a, s in enumerate(spin_magnitudes):
        m[(2 * a, 2 * a + 1)] = m[(2 * a, 2 * a + 1)] + s
    return pfaffian(m, grad_p.shape[0]) / np.prod(spin_magnitudes)


@add_diagnostic("berry_casimir", "Berry-curvature Casimir ∫ϱ²/Ω dA (NaN unless P is pure)", "1")
def berry_casimir(s):
    if np.max(1 - s.trace_p2) > PURE_TOLERANCE:
        return float("nan")
    return berry_casimir_integral(s)


def berry_casimir_integral(s):
    """∫ϱ²/Ω dA of a :class:`Snapshot` (Ω_j and dA_1 … dA_j on (S²)^j), without the purity
    check of the ``berry_casimir`` diagnostic (it is a Casimir only for pure P)."""
    m, f = s.model, s.fields
    if isinstance(m.grid, ProductGrid):
        omega = product_berry_curvature_form(f.p, f.grad_p, m.hbar, m.spin_magnitudes)
    else:
        omega = berry_curvature_form(s.P, f.grad_P, m.hbar, m.spin_magnitude)
    return s.integral(f.rho**2 / omega)


@add_diagnostic("n_mean", "mean classical spin direction ∫ϱ n dA", "1", ("xyz",))
def n_mean(s):
    """``(3,)``; on (S²)^j with j ≥ 2 ``(j, 3)``: ∫ϱ n_a dA_1 … dA_j for every spin a."""
    g = s.model.grid
    if isinstance(g, ProductGrid):
        means = [g.integrate(s.fields.rho * n_a) for n_a in g.n]
        return means[0] if g.j == 1 else np.stack(means)
    return integrate(g, s.fields.rho * g.n)


def product_table(j):
    """The diagnostics table of a state on (S²)^j: :data:`DIAGNOSTICS`, with ``n_mean`` of
    dims ``("spin", "xyz")`` (∫ϱ n_a dA_1 … dA_j, spin a = 1 … j) and ``spectral_tail``
    described per spin when j ≥ 2 (j = 1: :data:`DIAGNOSTICS` itself, outputs unchanged)."""
    if j == 1:
        return DIAGNOSTICS
    table = dict(DIAGNOSTICS)
    table["n_mean"] = dataclasses.replace(
        DIAGNOSTICS["n_mean"], long_name="mean direction ∫ϱ n_a dA of every classical spin a",
        dims=("spin", "xyz"), sizes=(("spin", j),))
    table["spectral_tail"] = dataclasses.replace(
        DIAGNOSTICS["spectral_tail"], long_name="fraction of ∫ϱ² or ∫|P|² in the top 10% of "
        "one spin's degrees (the largest over ϱ, P and the spins)")
    return table


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


def product_tail_fraction(grid, c, fraction=TAIL_FRACTION):
    """The largest over the factors a of the fraction of ∫|F|² dA_1 … dA_j in the top
    ``fraction`` of factor a's degrees (:meth:`ProductGrid.tail_fractions`; for j = 1 it
    agrees with :func:`tail_fraction`). Returns 0 for an empty or zero field."""
    return max(grid.tail_fractions(c, fraction))


def state_spectral_tail(grid, state):
    """max(tail of ϱ, tail of P) for a State (the ``spectral_tail`` diagnostic); on a
    ProductGrid each tail is the largest over the factors (:func:`product_tail_fraction`)."""
    tail = product_tail_fraction if isinstance(grid, ProductGrid) else tail_fraction
    return max(tail(grid, state.rho_lm), tail(grid, state.p_lm))


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
    ``j`` (N each), ``xyz`` and, for several classical spins, ``spin`` (coordinate 1 … j). ``table``: the name → :class:`Diagnostic` table the
    records hold (default :data:`DIAGNOSTICS`; the Koopman models have their own).
    """
    import xarray as xr

    times = np.array([t for t, _ in records], float)
    data, extra = {}, {}
    for name, diag in (DIAGNOSTICS if table is None else table).items():
        extra.update(diag.sizes)
        shape = {"i": N, "j": N, "xyz": 3, **dict(diag.sizes)}
        empty = np.empty((0,) + tuple(shape[d] for d in diag.dims))
        vals = np.array([r[name] for _, r in records], float) if records else empty
        data[name] = (("time",) + diag.dims, vals,
                      {"long_name": diag.long_name, "units": diag.units})
    ds = xr.Dataset(data, coords={"time": ("time", times, {"long_name": "time",
                                                           "units": "[time]"}),
                                  "xyz": ["x", "y", "z"], "i": np.arange(N), "j": np.arange(N)},
                    attrs=dict(attrs or {}))
    if "spin" in extra:  # several classical spins, numbered 1 … j (as spectral_qc.exact)
        ds = ds.assign_coords(spin=("spin", np.arange(1, extra["spin"] + 1),
                                    {"long_name": "classical spin index a"}))
    return ds
