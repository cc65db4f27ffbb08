"""``--set section.key=value`` overrides of a raw config dict."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping

from ..errors import ConfigError
from .schema import QUANTUM_KINDS, SCHEMA, STRING_KEYS
from .validate import _plain


def _parse_value(key: str, text: str):
    if key in STRING_KEYS and not text.startswith(("'", '"')):
        return text
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    return parsed["v"] if list(parsed) == ["v"] else text


def apply_overrides(raw: Mapping, overrides) -> dict:
    """Apply ``--set section.key=value`` overrides to a raw config dict.

    Parameters
    ----------
    raw : Mapping
        Config of the TOML structure (not modified).
    overrides : iterable of str
        Items ``"section.key=value"`` (e.g. ``"time.dt=1e-3"``,
        ``"initial.quantum.bloch=[0, 0, 1]"``). The value is parsed as a TOML value and
        taken as a plain string if that fails (string keys such as ``model.kind`` and
        ``output.dir`` take the text as is unless it is quoted). Setting one of
        ``initial.quantum.bloch/ket/density`` removes the other two.

    Returns
    -------
    dict
        A new dict with the overrides applied (not yet validated: pass it to
        :func:`load_config`).

    Raises
    ------
    ConfigError
        If an item has no ``=`` or names a key that is not in the schema.
    """
    out = _plain(raw)
    if isinstance(overrides, str):
        overrides = [overrides]
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. time.dt=0.005")
        key, text = (s.strip() for s in item.split("=", 1))
        table, _, leaf = key.rpartition(".")
        if not table or table not in SCHEMA or leaf not in SCHEMA[table]:
            known = [f"{t}.{k}" for t, ks in SCHEMA.items() if t for k in ks]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"--set {key}: unknown key{hint}")
        node = out
        for part in table.split("."):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part} is not a table in the config")
        node[leaf] = _parse_value(key, text)
        if table == "initial.quantum":
            for other in QUANTUM_KINDS:
                if other != leaf:
                    node.pop(other, None)
    return out
