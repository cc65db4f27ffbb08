"""The sweep file: a run config plus a ``[sweep]`` table, validated into a :class:`SweepSpec`.

::

    [sweep.product]                 # every combination: one dimension per key
    "grid.lmax" = [31, 47, 63]
    "model.alpha" = [0.005, 0.01]

    [[sweep.cases]]                 # and/or explicit cases: a ``case`` dimension
    name = "ehrenfest"              # optional directory/label
    "model.kind" = "ehrenfest"

    [sweep]
    time_series = true              # true (all diagnostics) | false | ["mass", ...]

:meth:`SweepSpec.iter_cases` expands it into :class:`Case` objects (name, swept values,
position, raw config); the configs themselves are validated per case, later.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..config import QUANTUM_KINDS, SCHEMA, _plain, read_toml
from ..errors import ConfigError

RESULT_FILE = "sweep.nc"
DEFAULT_OUT = "out/sweep"
SWEEP_KEYS = ("product", "cases", "time_series")
MAX_NAME = 120


def _leaf_keys() -> tuple:
    """Dotted config keys a sweep may set (every key of contract §2 except output.dir)."""
    keys = []
    for table, names in SCHEMA.items():
        for k in names:
            dotted = f"{table}.{k}" if table else k
            if dotted not in SCHEMA or dotted == "initial.classical.components":
                keys.append(dotted)
    return tuple(keys)


LEAF_KEYS = _leaf_keys()


def _unknown(where: str, key: str) -> ConfigError:
    close = difflib.get_close_matches(key, LEAF_KEYS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"{where}.{key}: unknown config key (expected a dotted key such as "
                       f"'grid.lmax' or 'model.alpha'){hint}")


def _flatten(table: Mapping, where: str, prefix: str = "") -> dict:
    """``{"grid": {"lmax": x}}`` or ``{"grid.lmax": x}`` → ``{"grid.lmax": x}``."""
    out = {}
    for k, v in table.items():
        key = f"{prefix}.{k}" if prefix else k
        if key in LEAF_KEYS:
            out[key] = v
        elif isinstance(v, Mapping) and any(x.startswith(key + ".") for x in LEAF_KEYS):
            out.update(_flatten(v, where, key))
        else:
            raise _unknown(where, key)
    for key in out:
        if key == "output.dir":
            raise ConfigError(f"{where}.output.dir: cannot be swept; every case runs in its "
                              "own directory under the sweep's output directory (--out)")
    return out


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _label(v) -> str:
    """Short text of a value for directory names and coordinates."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.12g}"
    if isinstance(v, (int, str)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return ",".join(_label(x) for x in v)
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _safe(name: str) -> str:
    """A file-system-safe directory name (no separators, spaces or shell specials)."""
    s = re.sub(r"[^A-Za-z0-9._,+=@-]", "_", name).strip(".") or "case"
    if len(s) > MAX_NAME:
        digest = hashlib.sha1(name.encode()).hexdigest()[:10]
        s = f"{s[:MAX_NAME - 11]}~{digest}"
    return s


def _params_name(params: Mapping) -> str:
    return "__".join(f"{k}={_label(v)}" for k, v in params.items())


def _set(raw: dict, key: str, value) -> None:
    """Set dotted ``key`` in a raw config dict (``initial.quantum.*`` kinds exclusive)."""
    table, _, leaf = key.rpartition(".")
    node = raw
    for part in table.split(".") if table else ():
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"{key}: {part} is not a table in the base config")
        node = nxt
    node[leaf] = copy.deepcopy(value)
    if table == "initial.quantum":
        for other in QUANTUM_KINDS:
            if other != leaf:
                node.pop(other, None)


@dataclass(frozen=True)
class Case:
    """One run of a sweep.

    Attributes
    ----------
    name : str — its directory name under the sweep's output directory
    params : dict — dotted key → value set by the sweep (explicit case first, then product)
    index : tuple — its position along the sweep's dimensions
    raw : dict — the full raw config (base + params), not yet validated
    """

    name: str
    params: dict
    index: tuple
    raw: dict


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file (see :func:`load_sweep`).

    Attributes
    ----------
    base : dict — the run config without ``[sweep]`` (raw, TOML structure)
    product : dict — dotted key → list of values (one dimension each, in order)
    cases : list of dict — the explicit cases (dotted key → value), or None
    case_names : list of str — their labels (``name`` or built from their values)
    time_series : bool or tuple of str — which diagnostics are gathered over time
    out : str or None — the base config's ``[output] dir`` if it gave one
    source : str — the sweep as JSON (stored in sweep.nc)
    """

    base: dict
    product: dict
    cases: list | None
    case_names: list | None
    time_series: object = True
    out: str | None = None
    source: str = ""

    @property
    def dims(self) -> tuple:
        """The dimensions of the gathered results: ``case`` (explicit cases) then one per
        product key (named by the dotted key)."""
        return (("case",) if self.cases is not None else ()) + tuple(self.product)

    @property
    def shape(self) -> tuple:
        return ((len(self.cases),) if self.cases is not None else ()) + tuple(
            len(v) for v in self.product.values())

    def iter_cases(self) -> list:
        """Every case, in C order of :attr:`shape`."""
        explicit = (list(enumerate(zip(self.case_names, self.cases)))
                    if self.cases is not None else [(None, (None, {}))])
        combos = list(itertools.product(*[list(enumerate(v)) for v in self.product.values()]))
        out, used = [], {}
        for ci, (cname, cparams) in explicit:
            for combo in combos:
                pparams = {k: v for k, (_, v) in zip(self.product, combo)}
                parts = ([cname] if cname is not None else []) + (
                    [_params_name(pparams)] if pparams else [])
                name = _safe("__".join(parts) or "case")
                if name in used:  # two labels that only differ in unsafe characters
                    used[name] += 1
                    name = f"{name}~{used[name]}"
                else:
                    used[name] = 1
                raw = copy.deepcopy(self.base)
                params = {**cparams, **pparams}
                for k, v in params.items():
                    _set(raw, k, v)
                index = ((ci,) if ci is not None else ()) + tuple(i for i, _ in combo)
                out.append(Case(name=name, params=params, index=index, raw=raw))
        return out


def _time_series(value):
    from ..diagnostics import DIAGNOSTICS

    if isinstance(value, bool):
        return value
    if (isinstance(value, list) and value and all(isinstance(x, str) for x in value)):
        for x in value:
            if x not in DIAGNOSTICS:
                close = difflib.get_close_matches(x, list(DIAGNOSTICS), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"sweep.time_series = {x!r}: not a diagnostic; allowed are "
                                  f"{', '.join(DIAGNOSTICS)}{hint}")
        return tuple(dict.fromkeys(value))
    raise ConfigError(f"sweep.time_series = {value!r}: expected true, false or a list of "
                      "diagnostic names")


def load_sweep(source) -> SweepSpec:
    """Read and validate a sweep file.

    Parameters
    ----------
    source : str, os.PathLike, Mapping or SweepSpec
        Path of a TOML file, or a dict of the same structure: a run config (contract
        §2) plus a ``[sweep]`` table with ``product`` and/or ``cases`` (and optionally
        ``time_series``).

    Returns
    -------
    SweepSpec
        The ``[sweep]`` table is taken out of the base config here; the base config and
        every case are validated by :func:`spectral_qc.config.load_config` per case
        (an invalid case is a failed case, not an invalid sweep).

    Raises
    ------
    ConfigError
        If the file cannot be read, ``[sweep]`` is missing or invalid; the message names
        the key (e.g. ``sweep.product.grid.lmx: unknown config key; did you mean
        'grid.lmax'?``).
    """
    if isinstance(source, SweepSpec):
        return source
    if isinstance(source, (str, os.PathLike)):
        raw = read_toml(source, "sweep file")
    elif isinstance(source, Mapping):
        raw = copy.deepcopy(dict(source))
    else:
        raise ConfigError(f"sweep: expected a path or a dict, got {type(source).__name__}")
    raw = _plain(raw)  # numpy values → plain Python, same as load_config
    if "sweep" not in raw:
        raise ConfigError("sweep: missing; a sweep file is a config plus a [sweep] table "
                          "with [sweep.product] and/or [[sweep.cases]]")
    sw = raw.pop("sweep")
    if not isinstance(sw, dict):
        raise ConfigError(f"sweep = {sw!r}: expected a table [sweep]")
    for k in sw:
        if k not in SWEEP_KEYS:
            close = difflib.get_close_matches(k, SWEEP_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"sweep.{k}: unknown key in [sweep]; allowed keys are "
                              f"{', '.join(SWEEP_KEYS)}{hint}")
    if "product" not in sw and "cases" not in sw:
        raise ConfigError("sweep: empty; give [sweep.product] (dotted key = [values, ...]) "
                          "and/or [[sweep.cases]] tables")
    product = {}
    if "product" in sw:
        if not isinstance(sw["product"], dict) or not sw["product"]:
            raise ConfigError(f"sweep.product = {sw['product']!r}: expected a non-empty table "
                              "of dotted key = [values, ...]")
        product = _flatten(sw["product"], "sweep.product")
        for k, values in product.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(f"sweep.product.{k} = {values!r}: expected a non-empty "
                                  "list of values")
            for i, a in enumerate(values):
                if any(_same(a, b) for b in values[:i]):
                    raise ConfigError(f"sweep.product.{k}: the value {a!r} is listed twice")
    cases = names = None
    if "cases" in sw:
        given = sw["cases"]
        if not isinstance(given, list) or not given or not all(isinstance(c, dict)
                                                                 for c in given):
            raise ConfigError(f"sweep.cases = {given!r}: expected [[sweep.cases]] tables of "
                              "dotted key = value")
        cases, names = [], []
        for i, c in enumerate(given):
            where = f"sweep.cases[{i}]"
            c = dict(c)
            name = c.pop("name", None)
            if name is not None and (not isinstance(name, str) or not name.strip()):
                raise ConfigError(f"{where}.name = {name!r}: expected a non-empty string")
            params = _flatten(c, where)
            for k in params:
                if k in product:
                    raise ConfigError(f"{where}.{k}: also swept in [sweep.product]; set it "
                                      "in one place only")
            if any(_same(params, p) for p in cases):
                raise ConfigError(f"{where}: the same case is listed twice")
            cases.append(params)
            names.append(name if name is not None else (_params_name(params) or f"case{i}"))
        dup = [n for n in names if names.count(n) > 1]
        if dup:
            raise ConfigError(f"sweep.cases: the name {dup[0]!r} is used twice")
    ts = _time_series(sw.get("time_series", True))
    out = raw.get("output", {}).get("dir") if isinstance(raw.get("output"), dict) else None
    source_json = json.dumps({**raw, "sweep": sw}, sort_keys=True, default=str)
    return SweepSpec(base=raw, product=product, cases=cases, case_names=names,
                     time_series=ts, out=out, source=source_json)
