"""The magnetic field effect (MFE): Φ_S against the field strength, through the sweep
machinery (:func:`spectral_qc.sweep`).

The field enters the run config only through the Hamiltonian's coefficients, so each
field value is one ``[[sweep.cases]]`` entry that sets ``hamiltonian.terms`` (a leaf key
of the sweep file); everything else is the base config of :func:`radical_pair_config`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from ..errors import ConfigError
from .observables import singlet_yield
from .pair import RadicalPair, radical_pair_config

SERIES = ["rho_q_real", "rho_q_imag", "n_mean"]


def field_along(pair: RadicalPair, strength) -> RadicalPair:
    """The pair with ``|B| = strength`` (mT) along its field direction (z when B = 0)."""
    b = np.asarray(pair.field, float)
    u = b / np.linalg.norm(b) if np.linalg.norm(b) > 0 else np.array([0.0, 0.0, 1.0])
    return dataclasses.replace(pair, field=tuple(float(strength) * u))


def mfe_sweep(pair: RadicalPair, fields, **config) -> dict:
    """A sweep file (dict) with one case per field strength.

    Parameters
    ----------
    pair : RadicalPair
        ``count`` must be 1 (a sweep case is one run; several multiplets would be
        several runs per field: use :func:`simulate` in a loop).
    fields : sequence of float
        Field strengths (mT) along ``pair.field`` (z when it is zero).
    **config
        :func:`radical_pair_config` arguments (``kind``, ``start``, ``spin_rule``,
        ``lmax``, ``t_end``, ``dt``, ``output_every``, ``regularization``, ``alpha``).

    Returns
    -------
    dict
        The base config plus ``[sweep]``: cases named ``B=<value>`` setting
        ``hamiltonian.terms``; ``time_series`` ``rho_q_real``, ``rho_q_imag``, ``n_mean``.
        Run it with ``spectral_qc.sweep(spec, out=DIR)`` (in a script: under
        ``if __name__ == "__main__":``, Dask starts worker processes).
    """
    if pair.count != 1:
        raise ConfigError(f"count = {pair.count}: mfe_sweep runs one classical nucleus per "
                          "case; use radical_pair.simulate per field for equivalent nuclei")
    fields = [float(b) for b in fields]
    if not fields:
        raise ConfigError("fields: give at least one field strength (mT)")
    base = radical_pair_config(field_along(pair, fields[0]), **config)
    cases = [{"name": f"B={b:g}", "hamiltonian.terms":
              radical_pair_config(field_along(pair, b), **config)["hamiltonian"]["terms"]}
             for b in fields]
    base["sweep"] = {"cases": cases, "time_series": list(SERIES)}
    return base


def mfe_yields(sweep_ds, k, fields=None) -> xr.DataArray:
    """Exponential-model singlet yields of every case of a gathered MFE sweep.

    Parameters
    ----------
    sweep_ds : xarray.Dataset
        :func:`spectral_qc.sweep` / :func:`spectral_qc.open_sweep` of :func:`mfe_sweep`.
    k : float
        Rate (1/τ).
    fields : sequence of float, optional
        The strengths, to label the result (default: parsed from the case names).

    Returns
    -------
    xarray.DataArray
        Over ``field`` (mT): ``Φ_S`` (:func:`singlet_yield` on each case up to its
        ``t_last``); coordinates ``status``, ``t_last`` and ``truncation_weight``
        (``e^{−k t_last}``, large for a case that stopped early).
    """
    names = [str(c) for c in sweep_ds["case"].values]
    if fields is None:
        fields = [float(n.split("=", 1)[1]) for n in names]
    vals, trunc = [], []
    for c, name in enumerate(names):
        t_last = float(sweep_ds["t_last"].values[c])
        t = sweep_ds["time"].values
        keep = t <= t_last + 1e-9
        part = xr.Dataset({v: (("time", "i", "j"),
                               sweep_ds[f"{v}_series"].values[c][keep])
                           for v in ("rho_q_real", "rho_q_imag")},
                          coords={"time": t[keep]})
        y = singlet_yield(part, k)
        vals.append(float(y))
        trunc.append(y.attrs["truncation_weight"])
    return xr.DataArray(np.array(vals), dims=("field",), name="singlet_yield",
                        coords={"field": np.asarray(fields, float),
                                "status": ("field", [str(s) for s in
                                                     sweep_ds["status"].values]),
                                "t_last": ("field", sweep_ds["t_last"].values),
                                "truncation_weight": ("field", np.array(trunc))},
                        attrs={"k": float(k), "units": "1"})
