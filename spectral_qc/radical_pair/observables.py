"""Singlet probability and singlet yield of a run's (or the exact solver's) diagnostics."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy.integrate import simpson

from ..errors import ConfigError
from .pair import singlet_projector


def singlet_probability(ds) -> xr.DataArray:
    """``P_S(t) = Tr(P_S ρ̂q(t))`` from ``rho_q_real``/``rho_q_imag`` (time, i, j), N = 4.

    Parameters
    ----------
    ds : xarray.Dataset or spectral_qc.Result
        Diagnostics of a radical-pair run (:func:`radical_pair_config`), of
        :func:`simulate`, or of the exact solver.

    Returns
    -------
    xarray.DataArray
        Over ``time``, dimensionless. With Haberkorn recombination (exact solver with
        channels) ``ρ̂q`` loses trace and this is the surviving singlet population.
    """
    rho = np.asarray(ds["rho_q_real"].values) + 1j * np.asarray(ds["rho_q_imag"].values)
    if rho.shape[-2:] != (4, 4):
        raise ConfigError(f"rho_q has shape {rho.shape[-2:]} per time; a radical pair "
                          "has N = 4 (two electron spins)")
    ps = np.einsum("ij,tji->t", singlet_projector(), rho).real
    return xr.DataArray(ps, dims=("time",), coords={"time": ds["time"].values},
                        name="singlet_probability",
                        attrs={"long_name": "singlet probability Tr(P_S rho_q)",
                               "units": "1"})


def singlet_yield(ds, k) -> xr.DataArray:
    """Exponential-model singlet yield ``Φ_S = k ∫_0^{t_end} P_S(t) e^{−kt} dt``.

    The model with equal rates ``k_S = k_T = k`` (the pair decays as ``e^{−kt}`` whatever its
    spin state, so the yield is a post-processing of the decay-free ``P_S(t)``). The integral
    is composite Simpson (``scipy.integrate.simpson``) on the output times; sample densely
    enough for the fastest frequency (error ≈ (Δt·ω)^4/180). The part beyond ``t_end`` is
    left out: its weight ``∫_{t_end}^∞ k e^{−kt} dt = e^{−k t_end}`` bounds the truncation
    error (``P_S ≤ 1``) and is returned as the attribute ``truncation_weight``. Unequal
    rates (Haberkorn) need the exact solver: :func:`exact_yields`.

    Parameters
    ----------
    ds : xarray.Dataset or spectral_qc.Result
        As for :func:`singlet_probability` (without recombination).
    k : float or sequence of float
        Rate(s) > 0, units 1/τ (τ the time unit of the run).

    Returns
    -------
    xarray.DataArray
        0-d for a number, over ``k`` for a sequence; attributes ``t_end`` and
        ``truncation_weight`` (= e^{−k t_end}, same shape as the values).
    """
    ps = singlet_probability(ds)
    t = ps["time"].values
    ks = np.atleast_1d(np.asarray(k, dtype=float))
    if ks.ndim != 1 or not np.all(np.isfinite(ks)) or np.any(ks <= 0):
        raise ConfigError(f"k = {k!r}: recombination rates must be finite and > 0")
    if t.size < 3:
        raise ConfigError("singlet_yield needs at least 3 output times")
    vals = np.array([kk * simpson(ps.values * np.exp(-kk * t), x=t) for kk in ks])
    trunc = np.exp(-ks * t[-1])
    scalar = np.ndim(k) == 0
    out = xr.DataArray(vals[0] if scalar else vals, dims=() if scalar else ("k",),
                       coords={} if scalar else {"k": ks}, name="singlet_yield")
    out.attrs = {"long_name": "singlet yield, exponential model k_S = k_T = k",
                 "units": "1", "t_end": float(t[-1]),
                 "truncation_weight": float(trunc[0]) if scalar else trunc}
    return out


def truncation_time(k, tol) -> float:
    """The ``t_end`` with ``e^{−k t_end} = tol``: ``−ln(tol)/k``."""
    return -math.log(float(tol)) / float(k)
