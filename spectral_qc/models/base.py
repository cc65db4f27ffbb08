"""The transport core shared by every model.

All models of spectral_qc have the form (docs/models.md)

.. math::

    X = \\frac1S \\operatorname{Tr}(P ∇𝒦) × n, \\qquad
    ∂_t ϱ = -\\operatorname{div}(ϱ X), \\qquad
    ∂_t P = -X·∇P - \\frac{i}{ħ} [𝒦, P],

with an N×N Hermitian *generator* 𝒦(n) that is the only thing a model defines
(:meth:`Model.generator_from_fields`). Equivalently, with 𝒫 = ϱP (paper eq. 52),
``iħ ∂t𝒫 + iħ div(X𝒫) = [𝒦, 𝒫]``.

The core evaluates, once per stage, the grid fields of a state (:class:`Fields`:
ϱ, ∇ϱ, P, ∇P), and from them the velocity and the two parts of the tendency: the
transport part (advanced by Runge–Kutta in the integrator) and the local rotation
``-(i/ħ)[𝒦, P]`` (advanced exactly, per grid point, by a unitary conjugation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import hermitian as hm
from .. import transport_kernels
from ..errors import ConfigError
from ..sphere import integrate
from ..states import State


#: Relative size of the l > 0 part of p_0 below which P's trace counts as constant.
TRACE_CONSTANT_TOL = 1e-13


def trace_is_constant(p0_lm) -> bool:
    """True when the trace component p_0 ``(nlm,)`` is a constant field to round-off
    (only a real l = 0 coefficient, relative tolerance :data:`TRACE_CONSTANT_TOL`)."""
    c00 = abs(p0_lm[0].real)
    tol = TRACE_CONSTANT_TOL * c00
    return c00 > 0 and abs(p0_lm[0].imag) <= tol and np.abs(p0_lm[1:]).max(initial=0.0) <= tol


@dataclass
class Fields:
    """Grid fields of one state, computed once per stage.

    Attributes
    ----------
    rho : (nlat, nphi) real — ϱ
    grad_rho : (2, nlat, nphi) real — (∂θϱ, ∂φϱ/sinθ); computed on first access (one
        gradient transform), so models that never need it do not pay for it
    p : (N², nlat, nphi) real — components of P in the Hermitian basis
    grad_p : (2, N², nlat, nphi) real — their gradients (may be given as a callable that
        computes them on first access, as ``grad_rho``)
    rho_lm : (nlm,) complex or None — the coefficients ϱ came from (when known)
    trace_constant : bool — p_0 (= Tr P/√N) is constant, so ∇p_0 = 0 and its
        transforms were skipped
    cache : dict — per-stage results (the generator components ``"k"``, …)
    """

    rho: np.ndarray
    _grad_rho: object  # the array, or a callable that computes it
    p: np.ndarray
    _grad_p: object  # the array, or a callable that computes it
    rho_lm: np.ndarray | None = None
    trace_constant: bool = False
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def grad_rho(self):
        if callable(self._grad_rho):
            self._grad_rho = self._grad_rho()
        return self._grad_rho

    @property
    def grad_p(self):
        if callable(self._grad_p):
            self._grad_p = self._grad_p()
        return self._grad_p

    @property
    def grad_p_computed(self) -> bool:
        """Whether ∇P is held (not left to be computed on first access)."""
        return not callable(self._grad_p)

    @property
    def P(self):
        """P as a complex matrix field (N, N, nlat, nphi)."""
        return hm.from_components(self.p)

    @property
    def grad_P(self):
        """∇P as complex matrix fields (2, N, N, nlat, nphi)."""
        return np.stack([hm.from_components(self.grad_p[0]), hm.from_components(self.grad_p[1])])


def expectation_gradient(p, grad_k, rows=None):
    """Σ_a p_a ∇k_a = Tr(P∇K) for components p ``(N², ...)`` and ∇k ``(2, N², ...)``.

    ``rows``: the components a where ∇k may be non-zero (int array; default all); grid
    fields ``(N², nlat, nphi)`` go through the compiled kernel.
    """
    p = np.asarray(p)
    if p.ndim != 3 or grad_k.shape[1:] != p.shape:
        return np.einsum("a...,ka...->k...", p, grad_k)
    rows = np.arange(p.shape[0], dtype=np.int64) if rows is None else rows
    out = np.empty((2,) + p.shape[1:])
    transport_kernels.expectation_gradient(hm._flat(p), hm._flat(grad_k[0]),
                                           hm._flat(grad_k[1]), rows, out.reshape(2, -1))
    return out


class ModelBase:
    """What the config and the driver ask of every model, (ϱ, P) and wave-function alike.

    Holds the grid, H(n) on it, N, ħ and S, and the capabilities below; the registry
    (:data:`spectral_qc.models.MODELS`) and the config read them, so no code compares
    model names.
    """

    name = "base"
    #: True for a classical model of one density (N = 1: only identity terms in H, no
    #: ``[initial.quantum]``).
    scalar_only = False
    #: Whether ``[model] regularization`` / ``alpha`` apply to this model.
    accepts_regularization = False
    #: Whether the generator reads ∇ln ϱ, so that ϱ0 must be positive on the grid.
    needs_positive_density = False
    #: Whether the model as written is ill-posed (short-wave growth, docs/stability.md).
    ill_posed = False
    #: For a scalar model: what to use for a matrix H (named in its error message).
    matrix_alternative = ""
    #: ``[solver] scheme`` names it accepts (None: all of integrators.SCHEMES), and its default.
    schemes = None
    default_scheme = "strang"

    def __init__(self, grid, hamiltonian, *, hbar=1.0, spin_magnitude=1.0):
        if not (hbar > 0 and spin_magnitude > 0):
            raise ConfigError(f"hbar = {hbar} and spin_magnitude = {spin_magnitude} must be > 0")
        if self.scalar_only and int(hamiltonian.N) != 1:
            raise ConfigError(f"{self.name} needs a scalar Hamiltonian (N = 1), got N = "
                              f"{hamiltonian.N}; use {self.matrix_alternative}")
        self.grid = grid
        self.hamiltonian = hamiltonian
        self.N = int(hamiltonian.N)
        self.hbar = float(hbar)
        self.spin_magnitude = float(spin_magnitude)
        self.H = np.asarray(hamiltonian.evaluate(grid.n), complex)

    @classmethod
    def from_config(cls, grid, hamiltonian, model):
        """The model of a ``[model]`` section (:class:`~spectral_qc.config.ModelConfig`)."""
        return cls(grid, hamiltonian, hbar=model.hbar, spin_magnitude=model.spin_magnitude)

    def check_initial_state(self, state):
        """Raise ConfigError if the model cannot start from ``state`` (default: any state)."""

    def failure_hint(self) -> str | None:
        """A cause of numerical failure that belongs to the model itself, with the remedy
        the config offers (None: the cause is measured, :func:`.characteristics.failure_cause`)."""
        return None


class Model(ModelBase):
    """Base class: a model is its generator 𝒦; the transport is shared.

    Parameters
    ----------
    grid : SphereGrid
    hamiltonian : object with ``.N`` and ``.evaluate(n) -> (N, N, ...)``
        The hybrid Hamiltonian H(n).
    hbar : float > 0
        Reduced Planck constant ħ (same units as H × time).
    spin_magnitude : float > 0
        S in the Lie–Poisson bracket {f, g} = (1/S) n·(∇f × ∇g).

    Attributes
    ----------
    H : (N, N, nlat, nphi) complex — H on the grid
    h : (N², nlat, nphi) real — its Hermitian-basis components
    grad_h : (2, N², nlat, nphi) real — their gradients (computed once)
    """

    name = "base"
    #: True when 𝒦 does not depend on the state (𝒦 = H): the rotation is then exact.
    static_generator = False

    def __init__(self, grid, hamiltonian, *, hbar=1.0, spin_magnitude=1.0):
        super().__init__(grid, hamiltonian, hbar=hbar, spin_magnitude=spin_magnitude)
        self.h = hm.to_components(self.H)
        self.h_lm = grid.analysis(self.h)
        self.grad_h = grid.gradient(self.h_lm)
        #: components of ∇H that are not identically zero (few for few Pauli terms)
        self.grad_h_rows = np.array(sorted(hm.support_of(self.grad_h)), dtype=np.int64)

    def __repr__(self):
        return (f"{type(self).__name__}(N={self.N}, hbar={self.hbar}, "
                f"spin_magnitude={self.spin_magnitude}, lmax={self.grid.lmax})")

    # ----------------------------------------------------------------- fields
    def fields(self, state: State, *, like: Fields | None = None) -> Fields:
        """Grid fields (ϱ, ∇ϱ, P, ∇P) of a state.

        ``2 + 2N²`` transforms (2 for N = 1); ``2 + 2(N² − 1)`` when Tr P is constant (the
        usual case: p_0 = Tr P/√N needs no transform); ∇ϱ (one of the 2) only when a model
        reads it. ``like``: fields of a state with the same ϱ (a rotation sub-step), whose
        ϱ and ∇ϱ are reused.
        """
        g = self.grid
        if like is not None:
            rho = like.rho

            def grad_rho():
                return like.grad_rho  # computed at most once, and shared
        else:
            rho, grad_rho = self._density_fields(state.rho_lm)
        if self.N == 1:  # P ≡ 1: nothing to transform
            p = np.ones((1,) + g.shape)
            grad_p = np.zeros((2, 1) + g.shape)
            return Fields(rho, grad_rho, p, grad_p, state.rho_lm, True)
        p, constant = self.p_components(state)
        first = 1 if constant else 0  # ∇p_0 = 0 when the trace is constant
        grad_p = np.empty((2,) + p.shape)
        grad_p[:, :first] = 0.0
        g._gradient_into(state.p_lm[first:], grad_p[0, first:], grad_p[1, first:])
        return Fields(rho, grad_rho, p, grad_p, state.rho_lm, constant)

    def _density_fields(self, rho_lm):
        """ϱ on the grid and a callable giving ∇ϱ (one gradient, at most once), for the
        coefficients ``rho_lm`` ``(nlm,)``.

        A rotation sub-step leaves ϱ unchanged, so consecutive sub-steps (R(½) and the
        first transport stage, R(½) and the next step's R(½)) ask for the same ϱ: the
        fields of the last coefficients asked for are kept (compared by value, so a
        state changed in place is transformed again) and reused without a transform.
        Being shared, the arrays are read-only.
        """
        g = self.grid
        last = getattr(self, "_last_density", None)
        if last is None or not np.array_equal(last[0], rho_lm):
            rho_lm = np.array(rho_lm)  # a private copy: the key and the gradient's input
            rho = g.synthesis(rho_lm)
            rho.setflags(write=False)
            last = self._last_density = [rho_lm, rho, None]

        def grad_rho():
            if last[2] is None:
                last[2] = g.gradient(last[0])
                last[2].setflags(write=False)
            return last[2]
        return last[1], grad_rho

    def p_components(self, state: State):
        """Grid components of P, ``(N², nlat, nphi)``, and whether Tr P is constant.

        When it is (the usual case, :func:`trace_is_constant`), p_0 = Tr P/√N is filled in
        without a transform: N² − 1 syntheses instead of N².
        """
        g = self.grid
        p_lm = state.p_lm
        p = np.empty((p_lm.shape[0],) + g.shape)
        constant = trace_is_constant(p_lm[0])
        first = 1 if constant else 0
        if constant:
            p[0] = p_lm[0, 0].real / np.sqrt(4 * np.pi)  # Y_00 = 1/√(4π)
        g._synthesis_into(p_lm[first:], p[first:])
        return p, constant

    # -------------------------------------------------------------- generator
    def generator_from_fields(self, f: Fields) -> np.ndarray:
        """𝒦 on the grid, ``(N, N, nlat, nphi)`` complex Hermitian.

        Subclasses override :meth:`generator_components` (or this method).
        """
        return hm.from_components(self.generator_components(f))

    def generator_components(self, f: Fields) -> np.ndarray:
        """Real components of 𝒦, ``(N², nlat, nphi)``; cached in ``f.cache["k"]``."""
        k = f.cache.get("k")
        if k is None:
            k = f.cache["k"] = hm.to_components(self.generator_from_fields(f))
        return k

    def expected_generator_gradient(self, f: Fields, K=None) -> np.ndarray:
        """Tr(P ∇𝒦), ``(2, nlat, nphi)`` real.

        Default: ``∇Tr(P𝒦) − Tr(𝒦∇P)`` (one analysis and one gradient, however large N);
        models with a static generator override it with precomputed gradients.
        """
        k = self.generator_components(f) if K is None else hm.to_components(K)
        return self.product_rule_gradient(f, k)

    def product_rule_gradient(self, f: Fields, k) -> np.ndarray:
        """Tr(P∇K) = ∇Tr(PK) − Tr(K∇P) for K with real components ``k`` ``(N², nlat, nphi)``.

        Costs one analysis and one gradient instead of N² of each.
        """
        g = self.grid
        grad_pk = g.gradient(g.analysis(hm.dot_components(f.p, k)))
        first = 1 if f.trace_constant else 0  # ∇p_0 = 0
        if grad_pk.shape[0] != 2:  # a product of spheres: a tangent pair per spin
            for a in range(first, k.shape[0]):
                grad_pk -= k[a] * f.grad_p[:, a]
            return grad_pk
        transport_kernels.subtract_weighted_gradients(
            grad_pk.reshape(2, -1), hm._flat(k), hm._flat(f.grad_p[0]), hm._flat(f.grad_p[1]),
            first)
        return grad_pk

    def generator(self, state: State) -> np.ndarray:
        """𝒦 on the grid for a state: ``(N, N, nlat, nphi)`` complex Hermitian."""
        return self.generator_from_fields(self.fields(state))

    # --------------------------------------------------------------- velocity
    def velocity_from_fields(self, f: Fields, K=None) -> np.ndarray:
        """X = (1/S) Tr(P∇𝒦) × n = (1/S)(V_φ, −V_θ) with V = Tr(P∇𝒦); ``(2, nlat, nphi)``."""
        if K is None and "x" in f.cache:  # computed already for this stage
            return f.cache["x"]
        v = self.expected_generator_gradient(f, K)
        inv_s = 1.0 / self.spin_magnitude
        out = np.empty_like(v)
        np.multiply(v[1], inv_s, out=out[0])
        np.multiply(v[0], -inv_s, out=out[1])
        if K is None:
            f.cache["x"] = out
        return out

    def velocity(self, state: State):
        """Velocity X = (X_θ, X_φ) in orthonormal components, each ``(nlat, nphi)``."""
        x = self.velocity_from_fields(self.fields(state))
        return x[0], x[1]

    # --------------------------------------------------------------- tendency
    def transport_tendency(self, state: State, f: Fields | None = None):
        """Spectral transport part of the tendency.

        Returns
        -------
        drho_lm : (nlm,) — coefficients of −div(ϱX)
        dp_lm : (N², nlm) — coefficients of −X·∇P (zeros for N = 1)
        """
        f = self.fields(state) if f is None else f
        x = self.velocity_from_fields(f)
        rx = np.empty_like(x)  # ϱX, and X·∇p_a (a ≥ 1) in the same pass
        adv = np.empty((f.p.shape[0] - 1,) + f.rho.shape)
        transport_kernels.transport_products(
            np.ascontiguousarray(f.rho, dtype=float).reshape(-1), hm._flat(x),
            hm._flat(f.grad_p[0]), hm._flat(f.grad_p[1]), rx.reshape(2, -1),
            adv.reshape(adv.shape[0], rx[0].size))
        return self._transport_coefficients(state, rx, adv)

    def _transport_coefficients(self, state: State, rx, adv):
        """(−div(ϱX), −X·∇P) in spectral space from ϱX ``(2, nlat, nphi)`` and X·∇p_a
        ``(N² − 1, nlat, nphi)`` (1 vector analysis and N² − 1 analyses)."""
        g = self.grid
        s_lm, _ = g.vector_analysis(rx[0], rx[1])
        drho_lm = g.l * (g.l + 1) * s_lm  # −div = +l(l+1) S_lm
        if self.N == 1:
            return drho_lm, np.zeros_like(state.p_lm)
        dp_lm = np.zeros_like(state.p_lm)
        dp_lm[1:] = -g.analysis(adv)  # the identity component is constant (Tr P = 1)
        return drho_lm, dp_lm

    def spectral_tendency(self, state: State):
        """Full tendency in spectral space (the coefficients of :meth:`tendency`).

        ∂ϱ/∂t = −div(ϱX) and ∂P/∂t = −X·∇P − (i/ħ)[𝒦, P] (paper eqs. 43–44, the velocity of eq. 48), each
        projected on the spherical harmonics of the grid (one analysis for all of P).

        Returns
        -------
        drho_lm : (nlm,) complex — coefficients of −div(ϱX)
        dp_lm : (N², nlm) complex — coefficients of the Hermitian-basis components of
            ∂P/∂t (component 0, the trace, is zero: Tr P = 1 stays constant)
        """
        g = self.grid
        f = self.fields(state)
        x = self.velocity_from_fields(f)
        s_lm, _ = g.vector_analysis(f.rho * x[0], f.rho * x[1])
        drho_lm = g.l * (g.l + 1) * s_lm  # −div = +l(l+1) S_lm
        dp_lm = np.zeros_like(state.p_lm)
        if self.N > 1:
            k = self.generator_components(f)
            dp = hm.commutator_components(k, f.p)[1:] / self.hbar
            dp -= x[0] * f.grad_p[0, 1:]
            dp -= x[1] * f.grad_p[1, 1:]
            dp_lm[1:] = g.analysis(dp)
        return drho_lm, dp_lm

    def tendency(self, state: State):
        """Full tendency on the grid (contract §5).

        Returns
        -------
        drho_dt : (nlat, nphi) — −div(ϱX)
        dP_dt : (N, N, nlat, nphi) complex — −X·∇P − (i/ħ)[𝒦, P]
        """
        g = self.grid
        f = self.fields(state)
        drho_lm, dp_lm = self.transport_tendency(state, f)
        k = self.generator_components(f)
        # −(i/ħ)[𝒦, P] = −(i/ħ)(i f·E) = (1/ħ) f·E with [K, P] = i f·E
        dp = hm.commutator_components(k, f.p) / self.hbar
        if self.N > 1:
            dp[1:] += g.synthesis(dp_lm[1:])
        return g.synthesis(drho_lm), hm.from_components(dp)

    # ----------------------------------------------------------------- energy
    def energy_from_fields(self, f: Fields) -> float:
        """h = ∫ ϱ Tr(P H) dA (paper eq. 50 without the ħ-term)."""
        return float(integrate(self.grid, f.rho * hm.dot_components(f.p, self.h)))

    def energy(self, state: State) -> float:
        """Model energy (the conserved Hamiltonian functional), a float."""
        return self.energy_from_fields(self.fields(state))
