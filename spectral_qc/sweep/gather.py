"""Gathering a sweep: the case directories → one ``sweep.nc`` (gather, open_sweep).

The dimensions are the sweep's (``case`` for explicit cases, one per product key); the
variables every diagnostic at ``t_end``, optional time series, and the outcome of each
case (``status``, ``exit_code``, ``reason``, ``t_last``, ``elapsed_s``, ``case_dir``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..config import config_to_dict, load_config
from ..errors import ConfigError
from ..io import DIAGNOSTICS_FILE, write_dataset
from ..runs import read_status
from ..version import __version__
from .case import STATUSES
from .spec import RESULT_FILE, _label, load_sweep


def _coord(values):
    """A coordinate array for swept values (numbers, strings, bools; else labels)."""
    if all(isinstance(v, bool) for v in values):
        return np.array(values, bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.array(values, float)
    return np.array([_label(v) for v in values], dtype=object)


def _load(path: Path):
    import xarray as xr

    try:
        return xr.load_dataset(path, engine="netcdf4")
    except (OSError, ValueError):
        return None


def _common_times(dsets, ok):
    """The shared time axis, or None when the finished cases disagree.

    Stopped cases (numerical failure) may end early: their times must lie on the axis.
    """
    ref = None
    for d, good in zip(dsets, ok):
        if d is not None and good and (ref is None or d.sizes["time"] > ref.size):
            ref = d["time"].values
    if ref is None:  # no case finished: the longest of the stopped ones
        stopped = [d for d in dsets if d is not None]
        if not stopped:
            return None
        ref = max(stopped, key=lambda d: d.sizes["time"])["time"].values
    for d, good in zip(dsets, ok):
        if d is None:
            continue
        t = d["time"].values
        if good and (t.size != ref.size or not np.allclose(t, ref, rtol=1e-9, atol=1e-12)):
            return None
    return ref


def _on_axis(d, ref):
    """``d`` on the time axis ``ref`` (NaN where it has no value; off-axis times dropped)."""
    t = d["time"].values
    idx = np.array([np.argmin(np.abs(ref - x)) if ref.size else -1 for x in t], int)
    keep = np.array([ref.size > 0 and math.isclose(ref[j], x, rel_tol=1e-9, abs_tol=1e-12)
                     for j, x in zip(idx, t)], bool)
    d = d.isel(time=np.flatnonzero(keep)).assign_coords(time=ref[idx[keep]])
    return d.reindex(time=ref)


def gather(out, spec=None):
    """Collect the case directories of a sweep into ``out/sweep.nc``.

    Parameters
    ----------
    out : str or Path
        The sweep's output directory.
    spec : SweepSpec, dict or path, optional
        The sweep (default: read back from ``out/sweep.nc``'s ``sweep`` attribute).

    Returns
    -------
    xarray.Dataset
        Dimensions: ``case`` (explicit cases, coordinate = their names, with a
        coordinate per key they set) and one per product key (named by the dotted key,
        coordinate = the values); further ``i``, ``j``, ``xyz`` (and ``time``).
        Variables: every diagnostic of contract §4 at the final time ``t_end`` (NaN for
        a case that did not get there), ``<name>_series`` over ``time`` when
        ``time_series`` asks for it and the cases share one time axis; ``status``
        (``ok`` | ``config_error`` | ``numerical_failure`` | ``error`` | ``pending``),
        ``exit_code``, ``reason``, ``t_last``, ``elapsed_s`` and ``case_dir`` per case.
    """
    import xarray as xr

    out = Path(out)
    if spec is None:
        with xr.open_dataset(out / RESULT_FILE, engine="netcdf4") as old:
            spec = json.loads(old.attrs["sweep"])
    spec = load_sweep(spec)
    cases = spec.iter_cases()
    n = len(cases)
    recs = [read_status(out / c.name) or {"status": "pending"} for c in cases]
    ok = [r.get("status") == "ok" for r in recs]
    dsets = [(_load(out / c.name / DIAGNOSTICS_FILE)
              if r.get("status") in ("ok", "numerical_failure") else None)
             for c, r in zip(cases, recs)]
    shape, dims = spec.shape, spec.dims

    def reshape(arr):
        return arr.reshape(shape + arr.shape[1:])

    data = {}
    status = np.array([r.get("status", "pending") for r in recs], dtype=object)
    data["status"] = (dims, reshape(status), {"long_name": "outcome of the case",
                                              "flag_values": " ".join(STATUSES)})
    data["exit_code"] = (dims, reshape(np.array(
        [r.get("exit_code", STATUSES.get(r.get("status"), -1)) for r in recs], np.int64)),
        {"long_name": "exit code of the equivalent spectral-qc run (-1: pending)"})
    data["reason"] = (dims, reshape(np.array([r.get("reason") or "" for r in recs],
                                             dtype=object)),
                      {"long_name": "why the case failed (empty when ok)"})
    data["t_last"] = (dims, reshape(np.array(
        [np.nan if r.get("t_last") is None else r["t_last"] for r in recs], float)),
        {"long_name": "last time reached", "units": "[time]"})
    data["elapsed_s"] = (dims, reshape(np.array(
        [r.get("elapsed_s", np.nan) for r in recs], float)),
        {"long_name": "wall-clock time of the run", "units": "s"})
    data["case_dir"] = (dims, reshape(np.array([c.name for c in cases], dtype=object)),
                        {"long_name": "run directory, relative to the sweep directory"})
    coords = {}
    for k, values in spec.product.items():
        coords[k] = (k, _coord(values))
    if spec.cases is not None:
        coords["case"] = ("case", np.array(spec.case_names, dtype=object))
        first = {}
        for c in cases:  # the first case of each explicit case, for the values it leaves
            first.setdefault(c.index[0], c.raw)
        for k in dict.fromkeys(k for c in spec.cases for k in c):
            vals = [c[k] if k in c else _resolved_value(first[i], k)
                    for i, c in enumerate(spec.cases)]
            if all(v is not None for v in vals):
                coords[k] = ("case", _coord(vals))
    ds = xr.Dataset(data, coords=coords)

    avail = [d for d in dsets if d is not None]
    if avail:
        template = avail[0]
        for d in avail[1:]:  # variables or sizes some cases lack (N differs, …)
            template = template.merge(xr.full_like(d, np.nan), join="outer", compat="override")
        nan = xr.full_like(template, np.nan).isel(time=slice(0, 0))
        flat = "__case__"
        finals = [(d.isel(time=-1, drop=True) if good else
                   xr.full_like(template.isel(time=0, drop=True), np.nan))
                  if d is not None else xr.full_like(template.isel(time=0, drop=True), np.nan)
                  for d, good in zip(dsets, ok)]
        fin = xr.concat(finals, dim=flat, join="outer", fill_value=np.nan,
                        coords="minimal", compat="override", combine_attrs="drop")
        for name, var in fin.data_vars.items():
            ds[name] = (dims + var.dims[1:], reshape(var.values),
                        {**template[name].attrs, "note": "value at t_end (NaN: not reached)"})
        ds = ds.assign_coords({c: fin[c] for c in fin.coords if c != flat and c not in ds.coords})
        names = (list(template.data_vars) if spec.time_series is True
                 else list(spec.time_series or ()))
        ref = _common_times(dsets, ok) if names else None
        if names and ref is None:
            ds.attrs["time_series_note"] = ("time series left out: the finished cases do "
                                            "not share one time axis")
        elif names:
            series = [_on_axis(d, ref) if d is not None else nan.reindex(time=ref)
                      for d in dsets]
            ser = xr.concat([s[names] for s in series], dim=flat, join="outer",
                            fill_value=np.nan, coords="minimal", compat="override",
                            combine_attrs="drop")
            ser = ser.transpose(flat, "time", ...)
            ds = ds.assign_coords(time=("time", ref, template["time"].attrs))
            for name in names:
                var = ser[name]
                ds[f"{name}_series"] = (dims + var.dims[1:], reshape(var.values),
                                        {**template[name].attrs,
                                         "note": "over time (NaN after a stop)"})
    ds.attrs.update({"title": "spectral_qc parameter sweep", "sweep": spec.source,
                     "spectral_qc_version": __version__, "n_cases": n,
                     "n_ok": int(sum(ok))})
    write_dataset(ds, out / RESULT_FILE)
    return ds


def _resolved_value(raw, key):
    """The value of ``key`` in the resolved config (defaults filled), else in ``raw``."""
    try:
        return _lookup(config_to_dict(load_config(raw)), key)
    except ConfigError:
        return _lookup(raw, key)


def _lookup(raw, key):
    node = raw
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def open_sweep(directory):
    """The gathered results of a sweep (``DIR/sweep.nc``) as an xarray.Dataset (loaded).

    Parameters
    ----------
    directory : str or Path
        The sweep's output directory (or the path of its ``sweep.nc``).

    Raises
    ------
    FileNotFoundError
        If there is no ``sweep.nc``.
    """
    import xarray as xr

    p = Path(directory)
    if p.is_dir():
        p = p / RESULT_FILE
    if not p.is_file():
        raise FileNotFoundError(f"{p}: not found (not a spectral_qc sweep directory)")
    return xr.load_dataset(p, engine="netcdf4")
