"""Quadrature and the von Mises–Fisher density on S² (an independent reference: numpy
only; conventions as in :mod:`validation.references`)."""

from __future__ import annotations

import numpy as np

from .reference_flows import _as_points


def gauss_sphere_quadrature(nlat: int, nphi: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Product quadrature on the unit sphere: Gauss--Legendre in ``cos θ`` × uniform ``φ``.

    Integrates exactly every polynomial in ``(x, y, z)`` (equivalently every spherical
    harmonic) of degree ``l <= min(2 nlat - 1, nphi - 1)``.

    Parameters
    ----------
    nlat : int
        Number of Gauss--Legendre nodes in ``cos θ``.
    nphi : int
        Number of equispaced longitudes ``φ_k = 2πk/nphi``.

    Returns
    -------
    nodes : ndarray, shape (3, nlat * nphi)
        Unit vectors (latitude index slowest).
    weights : ndarray, shape (nlat * nphi,)
        Area weights; they sum to ``4π``.
    """
    if nlat < 1 or nphi < 1:
        raise ValueError("nlat and nphi must be positive")
    x, wx = np.polynomial.legendre.leggauss(int(nlat))
    phi = 2.0 * np.pi * np.arange(int(nphi)) / int(nphi)
    sin_t = np.sqrt((1.0 - x) * (1.0 + x))
    z = np.repeat(x, nphi)
    s = np.repeat(sin_t, nphi)
    p = np.tile(phi, nlat)
    nodes = np.stack([s * np.cos(p), s * np.sin(p), z])
    weights = np.repeat(wx, nphi) * (2.0 * np.pi / nphi)
    return nodes, weights


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=float).reshape(3)
    nv = np.linalg.norm(v)
    if not np.isfinite(nv) or nv == 0.0:
        raise ValueError("center must be a non-zero finite 3-vector")
    return v / nv


def _orthonormal_frame(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors e1, e2 with (e1, e2, c) a right-handed orthonormal frame."""
    a = np.zeros(3)
    a[np.argmin(np.abs(c))] = 1.0
    e1 = np.cross(a, c)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(c, e1)
    return e1, e2


def von_mises_fisher_density(n, center, kappa: float) -> np.ndarray:
    r"""The von Mises--Fisher density ``ϱ(n) = C exp(κ (n·n0 − 1))`` on S².

    ``C = κ / (2π (1 − e^{−2κ}))`` (``1/(4π)`` for ``κ = 0``), so that ``∫ ϱ dA = 1``
    with ``dA`` the area element of the unit sphere.

    Parameters
    ----------
    n : array_like, shape (3, M)
        Unit vectors.
    center : array_like, shape (3,)
        Mean direction ``n0`` (normalized internally).
    kappa : float
        Concentration ``κ >= 0`` (dimensionless).

    Returns
    -------
    rho : ndarray, shape (M,)
        Density per unit area.
    """
    kappa = float(kappa)
    if kappa < 0:
        raise ValueError("kappa must be >= 0")
    c = _unit(center)
    n = _as_points(n)
    if kappa == 0.0:
        return np.full(n.shape[1], 1.0 / (4.0 * np.pi))
    norm = kappa / (2.0 * np.pi * -np.expm1(-2.0 * kappa))
    return norm * np.exp(kappa * (c @ n - 1.0))


def sample_von_mises_fisher(center, kappa: float, size: int, rng=None) -> np.ndarray:
    r"""Exact samples of the von Mises--Fisher density ``∝ exp(κ (n·n0 − 1))`` on S².

    In three dimensions ``w = n·n0`` has density ``∝ e^{κ(w−1)}`` on ``[−1, 1]`` and
    an explicit inverse CDF. With ``v`` uniform on ``[0, 1)``::

        1 − w = −log1p(v · expm1(−2κ)) / κ

    which is accurate for small ``κ`` (it tends to ``2v``, i.e. ``w`` uniform) and for
    large ``κ`` (no overflow; ``1 − w`` keeps full relative precision near the
    center). The azimuth about ``n0`` is uniform, and the transverse radius is
    computed as ``sqrt((1 − w)(1 + w))``.

    Parameters
    ----------
    center : array_like, shape (3,)
        Mean direction ``n0`` (normalized internally).
    kappa : float
        Concentration ``κ >= 0``; ``κ = 0`` gives the uniform distribution.
    size : int
        Number of samples.
    rng : numpy.random.Generator or int or None
        Random generator (or seed).

    Returns
    -------
    samples : ndarray, shape (3, size)
        Unit vectors.
    """
    kappa = float(kappa)
    if not kappa >= 0.0:
        raise ValueError("kappa must be >= 0")
    rng = np.random.default_rng(rng)
    c = _unit(center)
    v = rng.random(int(size))  # in [0, 1)
    if kappa == 0.0:
        one_minus_w = 2.0 * v
    else:
        one_minus_w = -np.log1p(v * np.expm1(-2.0 * kappa)) / kappa
    one_minus_w = np.clip(one_minus_w, 0.0, 2.0)
    w = 1.0 - one_minus_w
    r = np.sqrt(one_minus_w * (2.0 - one_minus_w))
    phi = rng.uniform(0.0, 2.0 * np.pi, int(size))
    e1, e2 = _orthonormal_frame(c)
    return (np.outer(e1, r * np.cos(phi)) + np.outer(e2, r * np.sin(phi))
            + np.outer(c, w))
