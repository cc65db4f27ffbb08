"""Crossing characteristics: the area Jacobian of the flow of the model's own velocity.

Every model of spectral_qc transports ϱ and P with a velocity X (models/base.py). In the
Ehrenfest and hybrid models X depends on the transported P, so the field equations are
quasi-linear and their characteristics dn/dt = X(n, t) can converge, like Burgers'
characteristics before a shock (docs/stability.md, "Crossing characteristics"). Where they
meet, the area ratio of the flow map n0 → n(t),

.. math::

    J(n, t) = \\frac{dA(n(t))}{dA(n_0)}, \\qquad J(n, t_0) = 1,

falls to zero; past that time the field model has no smooth single-valued solution.

J is carried as q = ln J, which obeys (Liouville's formula along characteristics)

.. math::

    ∂_t q + X·∇q = \\operatorname{div} X, \\qquad q(n, t_0) = 0,

integrated in the transport sub-step of the splitting with the same Runge–Kutta stages,
hence the same stage velocities, as ϱ and P (the rotation sub-step does not move n and
leaves q unchanged). ``div X`` is the spectral divergence of the grid velocity
(−l(l+1) s_lm of its Helmholtz decomposition), so a divergence-free X (Liouville: X = X_H)
keeps q = 0 to round-off. Cost: 5 scalar transforms per stage (2 for div X, 2 for ∇q,
1 analysis). The method was chosen against Lagrangian labels by measurement
(docs/numerics.md, "Flow Jacobian").

The coefficients of q travel in :attr:`State.q_lm` (None: not tracked); checkpoints carry
them, so a resumed run gives the same J bit for bit.

**Several classical spins** (paper §4.4; a :class:`~spectral_qc.sphere.product.ProductGrid`
instead of a :class:`~spectral_qc.sphere.SphereGrid`): J is the ratio of the product
(Liouville) measure dμ = Π_a dA_a under the flow map of X = (X_1, …, X_j), and q = ln J obeys
the same equation with div X = Σ_a div_a X_a and X·∇q = Σ_a X_a·∇_a q. q_lm is then the real
``(ncoef,)`` coefficient array of the product grid, and the place of min J is one point
(θ_a, φ_a) per spin. Every function below takes either grid; on one sphere the results and
messages are those of the one-sphere code, bit for bit.
"""

from __future__ import annotations

import numpy as np

from .sphere.product import ProductGrid

#: Default stop threshold on min J ([solver.stop] jacobian_stop): below it the run stops
#: with CharacteristicsCross (calibrated in docs/stability.md §9: a run resolved down to
#: this value stops within 2 % of the trajectories' crossing on the measured cases; 0.05
#: stops 5.6 % early on the demo case even at lmax 255).
JACOBIAN_STOP = 0.02
#: A fall of min J by more than this factor in one step is a breakdown, not an approach.
COLLAPSE_FACTOR = 4.0
#: A resolution stop (tail, positivity) is attributed to converging characteristics when
#: min J < JACOBIAN_LOW and min J, extrapolated linearly from the previous output, reaches
#: 0 within CROSSING_HORIZON × the elapsed time; otherwise to under-resolution proper.
JACOBIAN_LOW = 0.5
CROSSING_HORIZON = 0.25
#: Below this min J a resolution stop is attributed to converging characteristics whatever
#: the trend (the flow has compressed areas five-fold; docs/stability.md §9: notebook 03's
#: case stops at lmax 63 at the trajectories' crossing with the solver's J at 0.09).
JACOBIAN_CONVERGED = 0.2


def on_product(grid) -> bool:
    """Whether ``grid`` is a product of spheres (real ``(ncoef,)`` coefficients)."""
    return isinstance(grid, ProductGrid)


def initial_log_jacobian(grid) -> np.ndarray:
    """q = ln J at the start of a run (J = 1): zeros ``(nlm,)`` complex on one sphere,
    ``(ncoef,)`` real on a product of spheres."""
    if on_product(grid):
        return np.zeros(grid.ncoef)
    return np.zeros(grid.nlm, dtype=np.complex128)


def velocity_divergence_lm(grid, x) -> np.ndarray:
    """Coefficients ``(nlm,)`` of div X for a grid velocity ``x`` ``(2, nlat, nphi)``.

    div v = −l(l+1) s_lm for v = ∇S + ∇T × n (two transforms). On a product of spheres
    ``x`` is ``(2j, *grid.shape)`` and div X = Σ_a div_a X_a (:meth:`ProductGrid.divergence`),
    coefficients ``(ncoef,)``.
    """
    if on_product(grid):
        return grid.divergence(x)
    s_lm, _ = grid.vector_analysis(x[0], x[1])
    return -grid.l * (grid.l + 1) * s_lm


def log_jacobian_tendency(grid, x, q_lm) -> np.ndarray:
    """Coefficients ``(nlm,)`` of ∂t q = −X·∇q + div X for one Runge–Kutta stage.

    Parameters
    ----------
    grid : SphereGrid or ProductGrid
    x : (2, nlat, nphi) — the stage velocity X (orthonormal components, 1/time); on a
        product of spheres ``(2j, *grid.shape)``, the (θ_a, φ_a) pair of every spin
    q_lm : (nlm,) complex — coefficients of q = ln J; ``(ncoef,)`` real on a product
        (X·∇q = Σ_a X_a·∇_a q: one product gradient, one analysis, j factor divergences)
    """
    gq = grid.gradient(q_lm)
    adv = x[0] * gq[0]
    for k in range(1, len(gq)):
        adv += x[k] * gq[k]
    return velocity_divergence_lm(grid, x) - grid.analysis(adv)


def jacobian_field(grid, q_lm) -> np.ndarray:
    """J = exp(q) on the grid, ``(nlat, nphi)`` (dimensionless)."""
    return np.exp(grid.synthesis(q_lm))


def jacobian_extremes(grid, q_lm):
    """``(J_min, J_max)`` over the grid nodes (NaN, NaN when ``q_lm`` is None)."""
    if q_lm is None:
        return float("nan"), float("nan")
    q = grid.synthesis(q_lm)
    return float(np.exp(q.min())), float(np.exp(q.max()))


def jacobian_minimum(grid, q_lm):
    """``(J_min, θ, φ)``: the smallest J over the grid nodes and where (radians).

    On a product of j ≥ 2 spheres θ and φ are tuples of j colatitudes and longitudes (the
    node (n_1, …, n_j) of min J); on one sphere (either grid) they are floats.
    """
    q = grid.synthesis(q_lm)
    index = np.unravel_index(int(np.argmin(q)), q.shape)
    if not on_product(grid):
        i, j = index
        return float(np.exp(q[i, j])), float(grid.theta[i]), float(grid.phi[j])
    theta = tuple(float(f.theta[index[2 * a]]) for a, f in enumerate(grid.factors))
    phi = tuple(float(f.phi[index[2 * a + 1]]) for a, f in enumerate(grid.factors))
    if grid.j == 1:
        theta, phi = theta[0], phi[0]
    return float(np.exp(q[index])), theta, phi


def _angles(theta, phi) -> str:
    """"θ = …, φ = …" for one sphere, "(θ1, φ1) = (…, …), (θ2, φ2) = (…, …)" for several."""
    if np.ndim(theta) == 0:
        return f"θ = {theta:.3f}, φ = {phi:.3f}"
    return ", ".join(f"(θ{a}, φ{a}) = ({t:.3f}, {p:.3f})"
                     for a, (t, p) in enumerate(zip(theta, phi), start=1))


def _unit_vector(theta, phi) -> str:
    return (f"({np.sin(theta) * np.cos(phi):.3f}, {np.sin(theta) * np.sin(phi):.3f}, "
            f"{np.cos(theta):.3f})")


def _place(theta, phi) -> str:
    """Where min J is, in angles and unit vectors (one spin or several)."""
    if np.ndim(theta) == 0:
        return f"{_angles(theta, phi)} (n = {_unit_vector(theta, phi)})"
    vectors = ", ".join(f"n{a} = {_unit_vector(t, p)}"
                        for a, (t, p) in enumerate(zip(theta, phi), start=1))
    return f"{_angles(theta, phi)} ({vectors})"


def _lmax_text(lmax) -> str:
    """``31`` for one sphere, ``[15, 13]`` for one lmax per spin."""
    if np.ndim(lmax) == 0:
        return f"{lmax}"
    return "[" + ", ".join(str(int(x)) for x in lmax) + "]"


#: What resolution does to a crossing stop, measured (docs/stability.md §9); every crossing
#: message says it.
CROSSING_RESOLUTION = (
    "Raising lmax ([grid]) moves the stop only slightly, towards the crossing, and a smaller "
    "[time] dt not at all (measured on two cases: lmax 31 → 255 moved it from t = 1.70 to "
    "2.05 and from 2.45 to 2.80, the trajectories crossing at 2.08 and 2.88; dt 0.01 → "
    "0.0025 left it at 1.70, docs/stability.md §9)")
#: The same, measured on two spins (docs/stability.md §9.3); said instead of
#: :data:`CROSSING_RESOLUTION` when lmax has one entry per spin.
PRODUCT_CROSSING_RESOLUTION = (
    "On two spins the stop did not move with lmax from 9 to 15 per spin nor with [time] dt "
    "(measured on the coupled Ehrenfest pair of docs/stability.md §9.3: a loss of ϱ positivity "
    "at t = 2.06–2.08, 0.94 of the trajectories' crossing at 2.19); these grids carry J down "
    "to 0.12–0.18 only, so a crossing time extrapolated from them comes late (3.2–4.4)")


def crossing_resolution(lmax) -> str:
    """The measured effect of resolution on a crossing stop, for one spin or several."""
    return PRODUCT_CROSSING_RESOLUTION if np.ndim(lmax) != 0 and len(lmax) > 1 \
        else CROSSING_RESOLUTION


def crossing_message(time, value, theta, phi, threshold=JACOBIAN_STOP, *, lmax=None,
                     previous=None):
    """The explanation of a CharacteristicsCross stop (time, place, value, meaning).

    ``previous`` = (t, min J) one step earlier dates the crossing by linear extrapolation
    (:func:`extrapolated_crossing`), or, when J fell by more than
    :data:`COLLAPSE_FACTOR` in that step, says that the solution broke down on the way.
    """
    where = _place(theta, phi)
    grid = f" at lmax = {_lmax_text(lmax)}" if lmax is not None else ""
    trend = ""
    if previous is not None and previous[1] > COLLAPSE_FACTOR * value:
        trend = (f" min J fell from {previous[1]:.3g} to {value:.3g} in one step: the numerical "
                 "solution broke down where the characteristics converge, before J reached "
                 "0 smoothly.")
    elif previous is not None:
        t_x = extrapolated_crossing(time, value, previous)
        if np.isfinite(t_x):
            trend = f" J reaches 0 at t ≈ {t_x:.4g} (extrapolated)."
    return (f"characteristics cross: at t = {time:.6g} the area Jacobian of the flow of X is "
            f"J = {value:.3g} (threshold {threshold:g}) at {where}{grid}.{trend} Neighbouring "
            "characteristics meet there, and the field model has no smooth single-valued "
            f"solution past this time. {crossing_resolution(lmax)}; end the run before this time "
            "([time] t_end)")


SHORT_WAVE_CAUSE = ("short-wave growth: the instability of the hybrid model as written (growth "
                    "rates ∝ l²: the stop comes earlier as lmax grows, measured t = 0.34, 0.23, "
                    "0.19, 0.095 at lmax 31, 47, 63, 127, and 0.34 / 0.335 / 0.335 at dt 0.01 / "
                    "0.005 / 0.0025, docs/stability.md); regularize it "
                    "with [model] regularization = \"heat_kernel\" (or \"hyper_heat_kernel\") "
                    "and alpha > 0 (e.g. alpha = 0.01), or lower [grid] lmax")


def extrapolated_crossing(time, j, previous):
    """Time at which min J reaches 0, extrapolated linearly from ``previous`` = (t, J)
    (an earlier output) through (``time``, ``j``); inf when J is not falling."""
    if previous is None or not previous[0] < time:
        return float("inf")
    rate = (previous[1] - j) / (time - previous[0])
    return time + j / rate if rate > 0 else float("inf")


def failure_cause(grid, state, *, iteration, model_cause=None, time=None, previous=None,
                  regularizable=False):
    """The measured cause of a stop, with the remedy the config can set.

    In this order: the initial state is not representable on the grid (a stop before the
    first step); the model's own cause (``model_cause``: :meth:`Model.failure_hint`, e.g.
    short-wave growth of the hybrid model as written); a breakdown (min J fell from above
    :data:`JACOBIAN_LOW` to less than half of it since ``previous``: X itself stopped being
    resolved, docs/stability.md §9); converging characteristics (min J <
    :data:`JACOBIAN_CONVERGED`, or < :data:`JACOBIAN_LOW` and reaching 0 within
    :data:`CROSSING_HORIZON` × the elapsed time); otherwise under-resolution proper (fine
    structure at the grid scale while the flow is smooth). ``time`` and ``previous``
    (``(t, min J)`` at an earlier output) date the crossing (:func:`extrapolated_crossing`).
    ``regularizable``: the model takes ``[model] alpha`` (only then is it named as a remedy).
    On a product grid the place is one (θ_a, φ_a) per spin and the resolution remedies name
    ``[grid] lmax = [l1, l2]`` and the entry to raise first (:func:`spin_to_raise`).

    Returns
    -------
    cause : str
    crossing : tuple (J_min, θ, φ) or None — set when the cause is converging
        characteristics (the stop is then reported as CharacteristicsCross); θ, φ as
        :func:`jacobian_minimum` returns them
    """
    lmax = grid.lmax
    if iteration == 0:
        if on_product(grid):
            return (f"the initial state is not representable on the lmax = {_lmax_text(lmax)} "
                    "grid (its truncation undershoots); raise [grid] lmax = "
                    f"{_lmax_text(lmax)}{spin_to_raise(grid, state)} or lower the kappa of "
                    "[initial.classical] factors (in that spin's entry, or in each component "
                    "of a mixture entry)"), None
        return (f"the initial state is not representable on the lmax = {lmax} grid (its "
                "truncation undershoots); raise [grid] lmax or lower [initial.classical] kappa"), None
    if model_cause is not None:
        return model_cause, None
    hint = spin_to_raise(grid, state) if on_product(grid) else ""
    if getattr(state, "q_lm", None) is None:
        return under_resolution(lmax, spins=hint), None
    j, theta, phi = jacobian_minimum(grid, state.q_lm)
    now = time or 0.0
    if previous is not None and previous[1] > JACOBIAN_LOW and previous[1] > 2 * j:
        return (f"breakdown: min J fell from {previous[1]:.3g} at t = {previous[0]:.4g} to "
                f"{j:.3g} at {_angles(theta, phi)}: the velocity X itself is no longer "
                "resolved (short-wave growth of its ħ-terms in the hybrid model, or "
                "under-resolution), not a crossing of the field model's characteristics; "
                "compare a lower and a higher [grid] lmax: a stop that comes earlier on the finer "
                "grid is short-wave growth (measured: the regularized hybrid of notebook 03 "
                "stops at t = 2.04 at lmax 63 and 1.40 at lmax 127, docs/stability.md §9.1)"
                + ("; raise [model] alpha" if regularizable else "")), None
    t_x = extrapolated_crossing(now, j, previous) if time is not None else float("inf")
    if j < JACOBIAN_CONVERGED or (j < JACOBIAN_LOW and t_x - now <= CROSSING_HORIZON * now):
        when = (f", falling to 0 at t ≈ {t_x:.3g} (extrapolated)" if np.isfinite(t_x)
                else "")
        return (f"characteristics cross: min J = {j:.3g} at {_angles(theta, phi)}{when}; "
                "neighbouring characteristics converge there, gradients "
                "steepen like 1/J, and the field model has no smooth solution once they meet. "
                f"{crossing_resolution(lmax)}; shorten [time] t_end"), (j, theta, phi)
    return under_resolution(lmax, f" while the flow is smooth (min J = {j:.3g})", hint), None


#: The top fraction of degrees whose share of the variance is a spin's spectral tail (that
#: of :data:`spectral_qc.diagnostics.TAIL_FRACTION`; diagnostics imports this module).
FACTOR_TAIL_FRACTION = 0.1


def factor_tails(grid, state) -> tuple:
    """Per spin a of a product grid: max over ϱ and P of the fraction of Σ|c|² (the
    Frobenius norm over P's components, the mean included, as the ``spectral_tail``
    diagnostic) in the top :data:`FACTOR_TAIL_FRACTION` of that spin's degrees,
    l_a > (1 − FACTOR_TAIL_FRACTION) lmax_a. A tuple of j floats in [0, 1]."""
    fields = [c for c in (getattr(state, "rho_lm", None), getattr(state, "p_lm", None))
              if c is not None]
    per_field = [grid.tail_fractions(c, FACTOR_TAIL_FRACTION) for c in fields]
    return tuple(max([0.0] + [t[a] for t in per_field]) for a in range(grid.j))


def spin_to_raise(grid, state) -> str:
    """The entry of ``[grid] lmax`` to raise first on a product grid: the spin whose spectrum
    has the largest tail (:func:`factor_tails`), with the measured tails; "" when no tail
    is measurable (no state, or all tails 0)."""
    if state is None:
        return ""
    tails = factor_tails(grid, state)
    if not max(tails) > 0:
        return ""
    a = int(np.argmax(tails))
    spins = " / ".join(str(b) for b in range(1, len(tails) + 1))
    values = " / ".join(f"{x:.2g}" for x in tails)
    return (f", first entry {a + 1} (spin {a + 1} has the largest spectral tail: fraction of "
            f"∫ϱ² or ∫|P|² in the top 10 % of degrees {values} for spins {spins})")


def under_resolution(lmax, health="", spins=None):
    """The cause of a stop on a grid too coarse for a smooth solution, with its remedies.

    ``lmax`` a number (one sphere) or one per spin; then the message names the key with its
    values, ``[grid] lmax = [l1, l2]``, and ``spins`` (:func:`spin_to_raise`) which entry to
    raise first.
    """
    if np.ndim(lmax) != 0:
        return (f"under-resolution: fine structure reached the lmax = {_lmax_text(lmax)} grid "
                f"scale{health}; raise [grid] lmax = {_lmax_text(lmax)}{spins or ''} (on one "
                "spin this helps: measured on the exact-comparison case at I = 5, the "
                "Ehrenfest stop moves from t = 5.6 at lmax 31 to 7.2 at 63, lmax 127 runs to "
                "t = 10, and dt 0.1 → 0.025 leaves it at 5.6), shorten [time] t_end, or set "
                "[solver] spectral_filter = true")
    return (f"under-resolution: fine structure reached the lmax = {lmax} grid scale{health}; "
            "raise [grid] lmax (this helps: measured on the exact-comparison case at I = 5, "
            "the Ehrenfest stop moves from t = 5.6 at lmax 31 to 7.2 at 63, lmax 127 runs to "
            "t = 10, and dt 0.1 → 0.025 leaves it at 5.6), shorten [time] t_end, or set "
            "[solver] spectral_filter = true")
