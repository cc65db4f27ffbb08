"""Split-step time integrators.

The tendency splits into two sub-flows (docs/models.md):

* **rotation** ``∂tP = −(i/ħ)[𝒦, P]``, ϱ fixed: solved per grid point by unitary
  conjugations ``P ← U P U†``, U = exp(−i𝒦τ/ħ). Every such update keeps the pointwise
  eigenvalues of P (hence its positivity and every eigenvalue Casimir) exactly. For a
  static generator (𝒦 = H) one conjugation is exact; for the hybrid model 𝒦 depends on P
  and the sub-flow is solved by the exponential midpoint rule (order 2) or the
  commutator-free Lie-group method CF4 of Celledoni, Marthinsen & Owren (2003) (order 4).
* **transport** ``∂tϱ = −div(ϱX)``, ``∂tP = −X·∇P``: classical RK4 in spectral space,
  X recomputed at every stage.

A scheme is a palindromic table of sub-steps (Dedalus-style: numerics as data).
``strang`` is R(½) T(1) R(½), order 2; ``yoshida4`` composes three Strang steps with
Yoshida's weights (order 4; uses CF4 for a nonlinear rotation).
"""

from __future__ import annotations

import numpy as np

from . import exponential as ex
from .characteristics import log_jacobian_tendency
from .errors import ConfigError
from .sphere import exponential_filter
from .states import State

SCHEMES: dict = {}


def add_scheme(cls):
    """Class decorator registering a splitting scheme under ``cls.name``."""
    SCHEMES[cls.name] = cls
    return cls


class SplitStep:
    """Base of the splitting schemes.

    Parameters
    ----------
    model : Model
    spectral_filter : bool
        Apply :func:`~spectral_qc.sphere.exponential_filter` to ϱ and P after each step.

    Class attributes
    ----------------
    substeps : tuple of (kind, weight)
        ``("R", w)`` rotation over w·dt, ``("T", w)`` transport over w·dt.
    rotation_method : {"midpoint", "cf4"}
        Solver of a nonlinear rotation sub-flow.
    order : int
    """

    name = "base"
    substeps: tuple = ()
    rotation_method = "midpoint"
    order = 0

    def __init__(self, model, *, spectral_filter=False):
        self.model = model
        self.spectral_filter = spectral_filter
        self._unitaries = {}  # static generator, N > 2: U = exp(−iHτ) by τ (eigh once)

    # ---------------------------------------------------------------- step
    def step(self, state: State, dt: float) -> State:
        """Advance ``state`` by ``dt``; returns a new State (the input is not modified)."""
        if not np.isfinite(dt) or dt <= 0:
            raise ConfigError(f"time step dt = {dt} must be finite and > 0")
        for kind, w in self.substeps:
            if kind == "R":
                state = self.rotate(state, w * dt)
            else:
                state = self.transport(state, w * dt)
        if self.spectral_filter:
            g = self.model.grid
            q = None if state.q_lm is None else exponential_filter(g, state.q_lm)
            state = State(exponential_filter(g, state.rho_lm), exponential_filter(g, state.p_lm), q)
        return state

    # ------------------------------------------------------------ sub-flows
    def transport(self, state: State, dt: float) -> State:
        """Classical RK4 on ``(∂tϱ, ∂tP) = (−div(ϱX), −X·∇P)`` in spectral space.

        When the state tracks q = ln J (``state.q_lm``), ``∂tq = −X·∇q + div X`` is
        integrated with the same stages and stage velocities
        (:mod:`spectral_qc.characteristics`).
        """
        tend = self.model.transport_tendency
        if state.q_lm is not None:
            tend = self._tendency_with_jacobian

        def shifted(k, c):
            q = None if state.q_lm is None else state.q_lm + c * k[2]
            return State(state.rho_lm + c * k[0], state.p_lm + c * k[1], q)

        k1 = tend(state)
        k2 = tend(shifted(k1, dt / 2))
        k3 = tend(shifted(k2, dt / 2))
        k4 = tend(shifted(k3, dt))
        q = None if state.q_lm is None else \
            state.q_lm + dt / 6 * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2])
        return State(state.rho_lm + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
                     state.p_lm + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]), q)

    def _tendency_with_jacobian(self, state: State):
        """``(dϱ_lm, dp_lm, dq_lm)``: the transport tendency and that of q = ln J, from
        one evaluation of the stage fields and velocity."""
        m = self.model
        f = m.fields(state)
        x = m.velocity_from_fields(f)  # cached in f: the transport reuses it
        drho_lm, dp_lm = m.transport_tendency(state, f)
        return drho_lm, dp_lm, log_jacobian_tendency(m.grid, x, state.q_lm)

    def rotate(self, state: State, dt: float) -> State:
        """P ← U P U† over ``dt`` (module docstring); ϱ unchanged.

        Works on the real Hermitian-basis components of P; ϱ and ∇ϱ are computed once and
        reused by every generator evaluation of the sub-step, and p_0 = Tr P/√N (exactly
        conserved by the conjugation) is carried over without a transform.
        """
        m = self.model
        if m.N == 1:
            return state
        g = m.grid
        tau = dt / m.hbar
        conj = ex.unitary_conjugate_components

        def with_p(p):
            p_lm = np.empty_like(state.p_lm)
            p_lm[0] = state.p_lm[0]  # the trace is conserved exactly
            p_lm[1:] = g.analysis(p[1:])
            return State(state.rho_lm, p_lm, state.q_lm)  # n does not move: q unchanged

        if m.static_generator:
            p0, _ = m.p_components(state)
            if m.N == 2:
                return with_p(conj(p0, m.h, tau))
            u = self._unitaries.get(tau)
            if u is None:
                if len(self._unitaries) >= 4:
                    self._unitaries.clear()
                u = self._unitaries[tau] = ex.static_unitary(m.h, tau)
            return with_p(ex.conjugate_static(u, p0))
        f0 = m.fields(state)
        p0 = f0.p
        # 𝒦 up to its identity component, which does not rotate P (when a model says so)
        generator = getattr(m, "rotation_generator_components", m.generator_components)

        def K(s):
            return generator(m.fields(s, like=f0))

        if self.rotation_method == "midpoint":
            K1 = generator(f0)
            K2 = K(with_p(conj(p0, K1, tau / 2)))
            return with_p(conj(p0, K2, tau))
        # CF4 (Celledoni, Marthinsen & Owren 2003), commutator-free, order 4
        F1 = generator(f0)
        P2 = conj(p0, F1, tau / 2)
        F2 = K(with_p(P2))
        F3 = K(with_p(conj(p0, F2, tau / 2)))
        F4 = K(with_p(conj(P2, F3 - F1 / 2, tau)))
        P_half = conj(p0, F1 / 4 + F2 / 6 + F3 / 6 - F4 / 12, tau)
        return with_p(conj(P_half, -F1 / 12 + F2 / 6 + F3 / 6 + F4 / 4, tau))


@add_scheme
class Strang(SplitStep):
    """Strang splitting R(½) T(1) R(½): second order, rotation isospectral."""

    name = "strang"
    substeps = (("R", 0.5), ("T", 1.0), ("R", 0.5))
    order = 2


def _yoshida_substeps():
    w1 = 1 / (2 - 2 ** (1 / 3))
    w0 = 1 - 2 * w1
    out = []
    for w in (w1, w0, w1):
        out += [("R", w / 2), ("T", w), ("R", w / 2)]
    merged = [out[0]]
    for kind, w in out[1:]:  # merge adjacent rotations (they commute with themselves)
        if kind == merged[-1][0] == "R":
            merged[-1] = ("R", merged[-1][1] + w)
        else:
            merged.append((kind, w))
    return tuple(merged)


@add_scheme
class Yoshida4(SplitStep):
    """Yoshida's triple-jump composition of Strang steps: fourth order.

    Weights w1 = 1/(2 − 2^{1/3}), w0 = 1 − 2w1 (w0 < 0: a backward sub-step; fine for
    these reversible sub-flows). Adjacent rotations are merged (a flow composed with
    itself); a nonlinear rotation is solved with CF4 so that every sub-step is fourth order.
    """

    name = "yoshida4"
    substeps = _yoshida_substeps()
    rotation_method = "cf4"
    order = 4


def make_integrator(name, model, **kw):
    """Instantiate a scheme from :data:`SCHEMES` by name (valid names listed on error)."""
    try:
        return SCHEMES[name](model, **kw)
    except KeyError:
        raise ConfigError(f"integrator {name!r}: unknown; valid: {sorted(SCHEMES)}") from None


def cfl_timestep(model, state, *, safety=0.5):
    """Largest stable RK4 transport step estimated from the velocity.

    ``dt = safety · 2√2 / ((lmax + 1) · max|X|)``: the spectral advection operator has
    eigenvalues up to about i (lmax+1) max|X| on the unit sphere, and RK4 is stable on
    the imaginary axis up to 2√2. The rotation sub-flow is exact and imposes no limit.
    On a product of spheres (X a tangent pair per spin, one lmax per spin) the eigenvalues
    add up: ``dt = safety · 2√2 / Σ_a (lmax_a + 1) max|X_a|``.
    """
    x = np.asarray(model.velocity(state))
    lmaxes = np.atleast_1d(model.grid.lmax)
    rate = sum((lmax + 1) * float(np.max(np.hypot(x[2 * a], x[2 * a + 1])))
               for a, lmax in enumerate(lmaxes))
    if rate == 0:
        return np.inf
    return safety * 2 * np.sqrt(2) / rate
