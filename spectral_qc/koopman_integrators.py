"""Time steppers for the Koopman wave equations (:mod:`spectral_qc.models.koopman`).

∂tΥ = {H, Υ} + (i/ħ)LΥ splits into two sub-flows, as the (ϱ, P) models do
(:mod:`spectral_qc.integrators`), and the same scheme tables are reused:

* **phase** ("R" in a table): iħ∂tΥ = −LΥ, solved exactly per grid point,
  Υ ← exp(iLτ/ħ)Υ (unitary pointwise; for KvN the identity);
* **transport** ("T"): ∂tΥ = {H, Υ}, classical RK4 in spectral space.

``strang`` (order 2) and ``yoshida4`` (order 4) take their sub-step weights from
:data:`spectral_qc.integrators.SCHEMES`. ``rk4`` is classical RK4 on the whole linear
right-hand side (order 4, no splitting); it is kept as a reference. docs/models.md
("Koopman models") lists the measured norm and energy drifts that chose the default.
"""

from __future__ import annotations

import numpy as np

from .integrators import SCHEMES
from .sphere import exponential_filter
from .wavestates import WaveState


def _rk4(rate, y, dt):
    """One classical RK4 step of the autonomous linear system y' = rate(y)."""
    k1 = rate(y)
    k2 = rate(y + dt / 2 * k1)
    k3 = rate(y + dt / 2 * k2)
    k4 = rate(y + dt * k3)
    return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


class KoopmanSplitStep:
    """Phase/transport splitting with the sub-step table of a registered scheme.

    Parameters
    ----------
    model : KoopmanModel
    scheme : str
        ``"strang"`` or ``"yoshida4"`` (tables of :data:`spectral_qc.integrators.SCHEMES`).
    spectral_filter : bool
        Apply :func:`~spectral_qc.sphere.exponential_filter` to Υ after each step.
    """

    def __init__(self, model, scheme="strang", *, spectral_filter=False):
        self.model = model
        self.name = scheme
        self.substeps = SCHEMES[scheme].substeps
        self.order = SCHEMES[scheme].order
        self.spectral_filter = spectral_filter

    def step(self, state: WaveState, dt: float) -> WaveState:
        """Advance by ``dt``; returns a new WaveState."""
        if not np.isfinite(dt) or dt <= 0:
            raise ValueError(f"time step dt = {dt} must be finite and > 0")
        m = self.model
        u = state.upsilon_lm
        for kind, w in self.substeps:
            if kind == "R":
                u = m.apply_phase(u, w * dt)
            else:
                u = _rk4(m.transport_rate, u, w * dt)
        if self.spectral_filter:
            u = exponential_filter(m.grid, u)
        return WaveState(u)


class KoopmanRK4:
    """Classical RK4 on the full right-hand side {H, Υ} + (i/ħ)LΥ (order 4, reference)."""

    name = "rk4"
    order = 4

    def __init__(self, model, *, spectral_filter=False):
        self.model = model
        self.spectral_filter = spectral_filter

    def step(self, state: WaveState, dt: float) -> WaveState:
        if not np.isfinite(dt) or dt <= 0:
            raise ValueError(f"time step dt = {dt} must be finite and > 0")
        u = _rk4(self.model.rate, state.upsilon_lm, dt)
        if self.spectral_filter:
            u = exponential_filter(self.model.grid, u)
        return WaveState(u)


#: Scheme names the Koopman models accept.
KOOPMAN_SCHEMES = ("strang", "yoshida4", "rk4")


def make_koopman_integrator(name, model, *, spectral_filter=False):
    """A stepper by name (one of :data:`KOOPMAN_SCHEMES`; valid names listed on error)."""
    if name == "rk4":
        return KoopmanRK4(model, spectral_filter=spectral_filter)
    if name in SCHEMES and name in KOOPMAN_SCHEMES:
        return KoopmanSplitStep(model, name, spectral_filter=spectral_filter)
    raise ValueError(f"integrator {name!r}: unknown for the Koopman models; valid: "
                     f"{list(KOOPMAN_SCHEMES)}")


def run_koopman(model, state, t_end, dt, *, scheme="strang", every=None, callback=None):
    """Advance ``state`` to ``t_end`` with steps ``dt`` (``round(t_end/dt)`` of them).

    ``callback(time, state)`` is called at t = 0 and every ``every`` steps (and at the
    end). Returns the final WaveState. A convenience for tests, studies and notebooks;
    :class:`~spectral_qc.simulation.Simulation` drives a configured run.
    """
    stepper = model.make_integrator(scheme)
    n = int(round(t_end / dt))
    if callback is not None:
        callback(0.0, state)
    for k in range(1, n + 1):
        state = stepper.step(state, dt)
        if callback is not None and ((every and k % every == 0) or k == n):
            callback(k * dt, state)
    return state
