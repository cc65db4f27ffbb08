"""Reading and writing configs as TOML.

:func:`load_config` turns a path or a dict of the TOML structure into a frozen
:class:`~.schema.Config`; :func:`dumps_config` writes the fully resolved config back as
TOML so that ``load_config(tomllib.loads(dumps_config(c))) == c``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Mapping

from ..errors import ConfigError
from ..models import model_class
from .schema import Config
from .validate import _plain, validate


def read_toml(path, what="config file") -> dict:
    """Read a TOML file; a missing/unreadable file, a byte-order mark, text that is not
    UTF-8 or invalid TOML is a ConfigError naming the file and the fix (one line)."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigError(f"{what} {name!r}: cannot be read ({exc.strerror or exc})") from None
    if data.startswith(b"\xef\xbb\xbf"):
        raise ConfigError(f"{what} {name!r}: starts with a UTF-8 byte-order mark (BOM), "
                          "which TOML does not allow; save it as UTF-8 without BOM")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {name!r}: not UTF-8 text (byte 0x{data[exc.start]:02x} "
                          f"at offset {exc.start}); TOML files must be UTF-8 — is it a "
                          "binary file, or saved in another encoding?") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {name!r}: invalid TOML ({' '.join(str(exc).split())})"
                          ) from None


def load_config(source) -> Config:
    """Read and validate a run configuration.

    Parameters
    ----------
    source : str, os.PathLike, Mapping or Config
        Path of a ``.toml`` file, or a dict with the TOML structure (not modified), or
        an already validated :class:`Config` (returned as is).

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        If the file cannot be read or parsed, or any value is invalid; the message names
        the dotted key, the value and what is allowed.
    """
    if isinstance(source, Config):
        return source
    if isinstance(source, Mapping):
        return validate(source)
    if isinstance(source, (str, os.PathLike)):
        return validate(read_toml(source, "config file"))
    raise ConfigError(f"config: expected a path or a dict, got {type(source).__name__}")


def loads_config(text: str) -> Config:
    """Read and validate a configuration from TOML text.

    Parameters
    ----------
    text : str
        TOML document with the structure of contract §2.

    Returns
    -------
    Config
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: invalid TOML ({exc})") from None
    return validate(raw)


def config_to_dict(config: Config) -> dict:
    """The fully resolved configuration as a dict of the TOML structure.

    Parameters
    ----------
    config : Config

    Returns
    -------
    dict
        Every key with its value (defaults filled in, centers normalized); loading it
        gives back an equal :class:`Config`. ``[initial.quantum]`` is left out for scalar
        models (N = 1).
    """
    c = config
    initial = {"classical": _classical_dict(c.initial.classical)}
    if not model_class(c.model.kind).scalar_only:
        initial["quantum"] = {c.initial.quantum.kind: _plain(c.initial.quantum.value)}
    stop = dataclasses.asdict(c.solver.stop)
    if stop["growth_max"] is None:
        stop["growth_max"] = "auto"
    solver = {"scheme": c.solver.scheme, "spectral_filter": c.solver.spectral_filter,
              "stop": stop}
    grid, model = dataclasses.asdict(c.grid), dataclasses.asdict(c.model)
    for table, key in ((grid, "lmax"), (model, "spin_magnitude")):  # several spins: lists
        if isinstance(table[key], tuple):
            table[key] = list(table[key])
    return {
        "grid": grid, "model": model,
        "hamiltonian": {"terms": _plain(c.hamiltonian.terms)}, "initial": initial,
        "time": dataclasses.asdict(c.time), "solver": solver,
        "output": dataclasses.asdict(c.output),
    }


def _classical_dict(cl) -> dict:
    """``[initial.classical]`` (or one factor of a product) as a dict of the TOML structure."""
    if cl.kind == "product":
        return {"kind": cl.kind, "factors": [_classical_dict(f) for f in cl.factors]}
    if cl.kind == "mixture":
        return {"kind": cl.kind, "components": [
            {"center": list(ce), "kappa": k, "weight": w} for ce, k, w in cl.components]}
    return {"kind": cl.kind, "center": list(cl.center), "kappa": cl.kappa}


def _toml_str(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", out) + '"'


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise ConfigError(f"cannot write {type(v).__name__} {v!r} as TOML")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_str(k)


def _dump_table(name: str, table: dict, lines: list[str]) -> None:
    lines += ["", f"[{name}]"]
    subtables = []
    for k, v in table.items():
        if isinstance(v, dict):
            subtables.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            lines += [f"{_toml_key(k)} = ["] + [f"  {_toml_value(x)}," for x in v] + ["]"]
        else:
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in subtables:
        _dump_table(f"{name}.{_toml_key(k)}", v, lines)


def dumps_config(config: Config) -> str:
    """The fully resolved configuration as TOML text.

    Parameters
    ----------
    config : Config

    Returns
    -------
    str
        TOML document; ``load_config(tomllib.loads(dumps_config(c))) == c``.
    """
    lines = ["# spectral_qc run configuration (fully resolved)"]
    for name, table in config_to_dict(config).items():
        if name == "initial":  # only subtables: write [initial.classical] directly
            for sub, t in table.items():
                _dump_table(f"initial.{sub}", t, lines)
        else:
            _dump_table(name, table, lines)
    return "\n".join(lines) + "\n"


