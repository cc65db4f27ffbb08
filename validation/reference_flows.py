"""Classical Liouville dynamics by characteristics (an independent reference: numpy and
scipy only; conventions and array layout as in :mod:`validation.references`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.integrate import solve_ivp


@dataclass
class FlowInfo:
    """Diagnostics of a :func:`classical_flow` integration.

    Attributes
    ----------
    norm_drift : float
        ``max | |n(t)| - 1 |`` over all points and requested times *before* the final
        renormalization (dimensionless). The exact flow preserves ``|n|``, so this
        measures the integration error normal to the sphere.
    nfev : int
        Number of right-hand-side evaluations (each over all points at once).
    status : int
        ``solve_ivp`` status (0 means the end of the interval was reached).
    message : str
        ``solve_ivp`` message.
    """

    norm_drift: float
    nfev: int
    status: int
    message: str


def _as_points(points) -> np.ndarray:
    pts = np.asarray(points, dtype=float)
    if pts.ndim == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or pts.shape[0] != 3:
        raise ValueError(f"points must have shape (3, M), got {np.shape(points)}")
    return pts


def classical_flow(
    grad_h: Callable[[np.ndarray], np.ndarray],
    points,
    times,
    *,
    spin_magnitude: float = 1.0,
    rtol: float = 1e-12,
    atol: float = 1e-13,
) -> tuple[np.ndarray, FlowInfo]:
    r"""Apply the classical Hamiltonian flow ``Φ_t`` to many points at once.

    Integrates ``dn/dt = (1/S) ∇H(n) × n`` with ``scipy.integrate.solve_ivp`` (DOP853)
    as a single ODE system of size ``3 M`` (all points together), from ``t = 0`` to each
    requested time (negative times integrate backwards, giving ``Φ_{-|t|}``). The
    result is renormalized to the unit sphere only at the end; the drift of ``|n|``
    before renormalization is reported in the returned :class:`FlowInfo`.

    Parameters
    ----------
    grad_h : callable
        ``grad_h(n)`` with ``n`` of shape ``(3, M)`` returns the Cartesian gradient of
        the scalar Hamiltonian ``H`` (energy units), shape ``(3, M)``. It is evaluated
        slightly off the sphere during the integration, so it must be defined on a
        neighbourhood of S² (any smooth extension; the normal part does not matter).
    points : array_like, shape (3, M)
        Starting points on the unit sphere.
    times : float or array_like, shape (T,)
        Flow times (time units). All must have the same sign (0 is allowed with
        either) and be sorted by ``|t|``.
    spin_magnitude : float, optional
        ``S`` (action units, same as ``hbar``).
    rtol, atol : float, optional
        Tolerances passed to ``solve_ivp``. Note that scipy controls the RMS of the
        scaled error over *all* ``3 M`` components, so individual points can have
        somewhat larger errors than ``rtol``; keep the tolerances tight.

    Returns
    -------
    moved : ndarray, shape (3, M) or (T, 3, M)
        ``Φ_t(points)`` (unit vectors); shape ``(3, M)`` for scalar ``times``.
    info : FlowInfo
        Integration diagnostics.
    """
    pts = _as_points(points)
    m = pts.shape[1]
    scalar_t = np.ndim(times) == 0
    t_arr = np.atleast_1d(np.asarray(times, dtype=float))
    if t_arr.ndim != 1:
        raise ValueError("times must be a scalar or 1-D")
    if np.any(t_arr > 0) and np.any(t_arr < 0):
        raise ValueError("times must all have the same sign")
    if np.any(np.diff(np.abs(t_arr)) < 0):
        raise ValueError("times must be sorted by |t|")
    inv_s = 1.0 / float(spin_magnitude)

    def rhs(_t, y):
        n = y.reshape(3, m)
        g = np.asarray(grad_h(n), dtype=float)
        return (inv_s * np.cross(g, n, axis=0)).ravel()

    t_end = t_arr[np.argmax(np.abs(t_arr))]
    if t_end == 0.0:
        out = np.broadcast_to(pts, (t_arr.size, 3, m)).copy()
        info = FlowInfo(float(np.max(np.abs(np.linalg.norm(pts, axis=0) - 1.0))), 0, 0,
                        "zero time")
    else:
        sol = solve_ivp(rhs, (0.0, t_end), pts.ravel(), method="DOP853", t_eval=t_arr,
                        rtol=rtol, atol=atol)
        if sol.status != 0:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        out = sol.y.T.reshape(t_arr.size, 3, m)
        info = FlowInfo(0.0, int(sol.nfev), int(sol.status), str(sol.message))
    norms = np.linalg.norm(out, axis=1)
    info.norm_drift = float(np.max(np.abs(norms - 1.0)))
    out = out / norms[:, None, :]
    return (out[0] if scalar_t else out), info


def liouville_characteristics(
    grad_h: Callable[[np.ndarray], np.ndarray],
    rho0: Callable[[np.ndarray], np.ndarray],
    points,
    t: float,
    *,
    spin_magnitude: float = 1.0,
    rtol: float = 1e-12,
    atol: float = 1e-13,
    return_info: bool = False,
):
    r"""Classical Liouville density at given points, by backward characteristics.

    Solves ``∂t ϱ = {H, ϱ}`` with ``{f, g} = (1/S) n·(∇f × ∇g)``. The flow of
    ``dn/dt = X_H = (1/S) ∇H × n`` is divergence free on the sphere, so the density is
    simply carried: ``ϱ(n, t) = ϱ0(Φ_{-t}(n))``. The points are integrated backwards
    from ``t`` to ``0`` (see :func:`classical_flow`) and ``ϱ0`` is evaluated at the
    feet of the characteristics.

    Parameters
    ----------
    grad_h : callable
        ``grad_h(n)``: ``(3, M) -> (3, M)`` Cartesian gradient of the scalar
        Hamiltonian (energy units), defined near the sphere.
    rho0 : callable
        ``rho0(n)``: ``(3, M) -> (M,)`` initial density (per unit area; any scalar
        field works, it is just transported).
    points : array_like, shape (3, M)
        Unit vectors at which ``ϱ(·, t)`` is wanted.
    t : float
        Time (time units), ``t >= 0`` normally (negative ``t`` runs the other way).
    spin_magnitude : float, optional
        ``S`` (action units).
    rtol, atol : float, optional
        ``solve_ivp`` (DOP853) tolerances.
    return_info : bool, optional
        Also return the :class:`FlowInfo` (``norm_drift`` is the largest deviation of
        ``|n|`` from 1 before the final renormalization).

    Returns
    -------
    rho : ndarray, shape (M,)
        ``ϱ(points, t)``.
    info : FlowInfo
        Only if ``return_info``.
    """
    feet, info = classical_flow(grad_h, points, -float(t), spin_magnitude=spin_magnitude,
                                rtol=rtol, atol=atol)
    rho = np.asarray(rho0(feet), dtype=float)
    return (rho, info) if return_info else rho


def liouville_expectation(
    grad_h: Callable[[np.ndarray], np.ndarray],
    f: Callable[[np.ndarray], np.ndarray],
    t,
    *,
    nodes,
    weights,
    rho0: Callable[[np.ndarray], np.ndarray],
    spin_magnitude: float = 1.0,
    rtol: float = 1e-12,
    atol: float = 1e-13,
    return_info: bool = False,
):
    r"""Classical expectation ``⟨f⟩(t) = ∫ ϱ(n, t) f(n) dA`` by forward push of a quadrature.

    Uses ``∫ ϱ0(Φ_{-t} n) f(n) dA = ∫ ϱ0(n) f(Φ_t n) dA`` (the flow preserves area):
    the quadrature nodes are moved forward with :func:`classical_flow` and
    ``Σ_j w_j ϱ0(n_j) f(Φ_t n_j)`` is returned. The accuracy is that of the quadrature
    applied to the (time dependent) integrand ``ϱ0 · f∘Φ_t``.

    Parameters
    ----------
    grad_h : callable
        ``(3, M) -> (3, M)`` Cartesian gradient of the scalar Hamiltonian.
    f : callable
        Observable, ``f(n)``: ``(3, M) -> (..., M)`` (e.g. ``lambda n: n`` gives the mean
        spin direction, shape ``(3,)`` per time).
    t : float or array_like, shape (T,)
        Non-negative times, sorted ascending.
    nodes : array_like, shape (3, M)
        Quadrature nodes (unit vectors), e.g. from :func:`gauss_sphere_quadrature`.
    weights : array_like, shape (M,)
        Quadrature weights (area units; they sum to ``4π`` for a full sphere rule).
    rho0 : callable
        ``(3, M) -> (M,)`` initial density per unit area.
    spin_magnitude : float, optional
        ``S`` (action units).
    rtol, atol : float, optional
        ``solve_ivp`` tolerances.
    return_info : bool, optional
        Also return the :class:`FlowInfo`.

    Returns
    -------
    value : ndarray, shape f's leading shape, or (T, ...) for array ``t``
        ``⟨f⟩(t)``.
    info : FlowInfo
        Only if ``return_info``.
    """
    nodes = _as_points(nodes)
    w = np.asarray(weights, dtype=float)
    if w.shape != (nodes.shape[1],):
        raise ValueError("weights must have shape (M,) matching nodes (3, M)")
    t_arr = np.asarray(t, dtype=float)
    if np.any(t_arr < 0):
        raise ValueError("t must be non-negative")
    moved, info = classical_flow(grad_h, nodes, t_arr, spin_magnitude=spin_magnitude,
                                 rtol=rtol, atol=atol)
    mass = w * np.asarray(rho0(nodes), dtype=float)
    if t_arr.ndim == 0:
        val = np.asarray(f(moved)) @ mass
    else:
        val = np.stack([np.asarray(f(moved[k])) @ mass for k in range(t_arr.size)])
    return (val, info) if return_info else val
