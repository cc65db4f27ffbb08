"""The TOML run configuration (contract §2): strict reading, validation, writing.

:func:`load_config` turns a path or a dict of the TOML structure into a frozen
:class:`Config`; every problem raises :class:`~spectral_qc.errors.ConfigError` naming the
dotted key, the value and what is allowed. :func:`dumps_config` writes the fully
resolved config back as TOML so that ``load_config(tomllib.loads(dumps_config(c))) == c``.

Decisions beyond the contract (see ``docs/usage.md``):

* ``model.kind = "liouville"`` has N = 1: only identity terms are allowed in
  ``[hamiltonian]`` (reduced to their scalar coefficient) and ``[initial.quantum]`` must
  be absent (P ≡ 1).
* Without ``[initial.quantum]`` the default is ``bloch = [1, 0, 0]``, which needs N = 2.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping

import numpy as np

from .errors import ConfigError
from .hamiltonians import PAULI, Hamiltonian, is_identity_multiple, matrix_from_pairs
from .sphere.grid import LMAX_MAX, LMAX_MIN

__all__ = ["Config", "GridConfig", "ModelConfig", "HamiltonianConfig", "InitialConfig",
           "ClassicalConfig", "QuantumConfig", "TimeConfig", "OutputConfig", "load_config",
           "loads_config", "config_to_dict", "dumps_config", "apply_overrides",
           "MODEL_KINDS", "REGULARIZATIONS", "CLASSICAL_KINDS", "QUANTUM_KINDS", "SCHEMA"]

MODEL_KINDS = ("liouville", "ehrenfest", "hybrid")
REGULARIZATIONS = ("none", "heat_kernel", "hyper_heat_kernel")
#: Whether a regularization needs alpha > 0 (True) or alpha = 0 (False); kinds not listed
#: here only need alpha ≥ 0.
REGULARIZATION_NEEDS_ALPHA = {"none": False, "heat_kernel": True, "hyper_heat_kernel": True}
CLASSICAL_KINDS = ("von_mises_fisher", "mixture")
QUANTUM_KINDS = ("bloch", "ket", "density")
DENSITY_TOL = 1e-10     # Hermiticity and trace of initial.quantum.density
PSD_TOL = 1e-12         # smallest allowed eigenvalue is -PSD_TOL
BLOCH_TOL = 1e-12       # |bloch| ≤ 1 + BLOCH_TOL
MULTIPLE_RTOL = 1e-9    # output_every = k·dt, checkpoint_every = k·output_every

#: Allowed keys of every table (dotted table name → keys).
SCHEMA = {
    "": ("grid", "model", "hamiltonian", "initial", "time", "output"),
    "grid": ("lmax",),
    "model": ("kind", "hbar", "spin_magnitude", "regularization", "alpha"),
    "hamiltonian": ("terms",),
    "initial": ("classical", "quantum"),
    "initial.classical": ("kind", "center", "kappa", "components"),
    "initial.classical.components": ("center", "kappa", "weight"),
    "initial.quantum": QUANTUM_KINDS,
    "time": ("t_end", "dt", "output_every"),
    "output": ("dir", "fields", "figures", "checkpoint_every"),
}
_STRING_KEYS = {"model.kind", "model.regularization", "initial.classical.kind", "output.dir"}


def _err(key: str, value, allowed: str) -> ConfigError:
    text = repr(value)
    text = text if len(text) <= 80 else text[:77] + "..."
    return ConfigError(f"{key} = {text}: {allowed}")


def _plain(value, key: str = "config"):
    """Deep copy into plain Python types (numpy arrays/scalars → lists/scalars)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Mapping):
        for k in value:
            if not isinstance(k, str):
                raise _err(key, k, "table keys must be strings")
        return {k: _plain(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, key) for v in value]
    return value


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Table:
    """A validated view of one TOML table: unknown keys are rejected on creation."""

    def __init__(self, raw, name: str, schema: str | None = None):
        allowed = SCHEMA[name if schema is None else schema]
        if not isinstance(raw, dict):
            raise _err(name, raw, f"expected a table [{name}]")
        unknown = [k for k in raw if k not in allowed]
        if unknown:
            k = unknown[0]
            close = difflib.get_close_matches(k, allowed, n=1)
            home = [t for t, keys in SCHEMA.items() if t and k in keys]
            hint = (f"; did you mean {close[0]!r}?" if close
                    else f"; {k!r} belongs in [{home[0]}]" if home else "")
            where = f"[{name}]" if name else "the top level"
            raise ConfigError(f"{self._k(name, k)}: unknown key in {where}; allowed keys are "
                              f"{', '.join(allowed)}{hint}")
        self.raw, self.name = raw, name

    @staticmethod
    def _k(name, key):
        return f"{name}.{key}" if name else key

    def key(self, k: str) -> str:
        return self._k(self.name, k)

    def table(self, k: str) -> "_Table":
        return _Table(self.raw.get(k, {}), self.key(k))

    def number(self, k, default, *, minimum=None, exclusive=False) -> float:
        v = self.raw.get(k, default)
        what = f"a number > {minimum:g}" if exclusive else (
            f"a number ≥ {minimum:g}" if minimum is not None else "a number")
        if not _is_number(v):
            raise _err(self.key(k), v, f"expected {what}, got {type(v).__name__}")
        if not math.isfinite(v):
            raise _err(self.key(k), v, f"expected a finite number ({what})")
        if minimum is not None and (v <= minimum if exclusive else v < minimum):
            raise _err(self.key(k), v, f"expected {what}")
        return float(v)

    def choice(self, k, default, choices) -> str:
        v = self.raw.get(k, default)
        if v not in choices or not isinstance(v, str):
            close = difflib.get_close_matches(str(v), choices, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _err(self.key(k), v, f"allowed are {', '.join(map(repr, choices))}{hint}")
        return v

    def boolean(self, k, default) -> bool:
        v = self.raw.get(k, default)
        if not isinstance(v, bool):
            raise _err(self.key(k), v, "expected true or false")
        return v


def _vector(value, key: str, length: int) -> tuple[float, ...]:
    if (not isinstance(value, list) or len(value) != length
            or not all(_is_number(x) for x in value)):
        raise _err(key, value, f"expected a list of {length} numbers")
    if not all(math.isfinite(x) for x in value):
        raise _err(key, value, "entries must be finite")
    return tuple(float(x) for x in value)


def _unit(value, key: str) -> tuple[float, float, float]:
    """Normalize; a vector already of norm 1 ± 1e-15 is kept, so this is idempotent."""
    v = _vector(value, key, 3)
    norm = math.hypot(*v)
    if norm == 0.0:
        raise _err(key, value, "a direction is needed: the vector must not be zero")
    return v if abs(norm - 1.0) <= 1e-15 else tuple(x / norm for x in v)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _bloch_density(b) -> np.ndarray:
    return _frozen(0.5 * (PAULI["I"] + b[0] * PAULI["X"] + b[1] * PAULI["Y"]
                          + b[2] * PAULI["Z"]))


def _sphere_sample(m: int = 200) -> np.ndarray:
    """±x, ±y, ±z, the 8 (±1, ±1, ±1)/√3 and m Fibonacci points: unit vectors (3, 14 + m)."""
    axes = np.vstack([np.eye(3), -np.eye(3)])
    corners = np.array([[a, b, c] for a in (1, -1) for b in (1, -1) for c in (1, -1)])
    z = 1 - (2 * np.arange(m) + 1) / m
    phi = np.arange(m) * np.pi * (3 - np.sqrt(5))
    fib = np.stack([np.sqrt(1 - z**2) * np.cos(phi), np.sqrt(1 - z**2) * np.sin(phi), z], 1)
    return np.vstack([axes, corners / np.sqrt(3), fib]).T


_SAMPLE = _sphere_sample()


def _is_multiple(value: float, step: float) -> bool:
    k = round(value / step)
    return k >= 1 and abs(value - k * step) <= MULTIPLE_RTOL * value


# ----------------------------------------------------------------------- dataclasses
_frozen_kw = dataclasses.dataclass(frozen=True, kw_only=True)
_frozen_kw_noeq = dataclasses.dataclass(frozen=True, kw_only=True, eq=False)


@_frozen_kw
class GridConfig:
    """``[grid]``: spectral truncation ``lmax`` (1 … 2047)."""
    lmax: int = 63


@_frozen_kw
class ModelConfig:
    """``[model]``: model kind, ħ, spin magnitude S, regularization and its strength α."""
    kind: str = "hybrid"
    hbar: float = 1.0
    spin_magnitude: float = 1.0
    regularization: str = "none"
    alpha: float = 0.0


@_frozen_kw
class HamiltonianConfig:
    """``[hamiltonian]``: the raw term tables ``{op|matrix, coef}``, kept for writing back."""
    terms: tuple


@_frozen_kw
class ClassicalConfig:
    """``[initial.classical]``: von Mises–Fisher (``center``, ``kappa``) or ``mixture``.

    ``center`` is the normalized 3-tuple (None for a mixture); ``components`` is a tuple
    of ``(center, kappa, weight)`` (empty for von Mises–Fisher).
    """
    kind: str = "von_mises_fisher"
    center: tuple | None = (0.0, 0.0, 1.0)
    kappa: float | None = 2.0
    components: tuple = ()


@_frozen_kw_noeq
class QuantumConfig:
    """``[initial.quantum]``: ``kind`` ('bloch'|'ket'|'density'), ``value`` as given
    (nested tuples), and the resulting ``density`` (N×N complex, trace 1, PSD)."""
    kind: str = "bloch"
    value: tuple = (1.0, 0.0, 0.0)
    density: np.ndarray = dataclasses.field(
        default_factory=lambda: _bloch_density((1.0, 0.0, 0.0)))

    def __eq__(self, other):
        if not isinstance(other, QuantumConfig):
            return NotImplemented
        return (self.kind == other.kind and self.value == other.value
                and np.array_equal(self.density, other.density))


@_frozen_kw
class InitialConfig:
    """``[initial]``: the classical density ϱ0 and the (uniform) quantum state P0."""
    classical: ClassicalConfig = dataclasses.field(default_factory=ClassicalConfig)
    quantum: QuantumConfig = dataclasses.field(default_factory=QuantumConfig)


@_frozen_kw
class TimeConfig:
    """``[time]``: end time, step, and the time between outputs (a multiple of dt)."""
    t_end: float = 1.0
    dt: float = 0.01
    output_every: float = 0.1


@_frozen_kw
class OutputConfig:
    """``[output]``: directory, whether to write fields.nc / figures, checkpoint spacing."""
    dir: str = "out/run"
    fields: bool = False
    figures: bool = True
    checkpoint_every: float = 0.1


@_frozen_kw
class Config:
    """A validated run configuration (build it with :func:`load_config`)."""
    hamiltonian: HamiltonianConfig
    grid: GridConfig = dataclasses.field(default_factory=GridConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    initial: InitialConfig = dataclasses.field(default_factory=InitialConfig)
    time: TimeConfig = dataclasses.field(default_factory=TimeConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)

    @property
    def N(self) -> int:
        """Quantum dimension (1 for ``model.kind = "liouville"``)."""
        return int(self.initial.quantum.density.shape[0])

    def hamiltonian_operator(self) -> Hamiltonian:
        """The Hamiltonian ``H(n)``.

        Returns
        -------
        Hamiltonian
            N×N; for ``liouville`` reduced to N = 1 (the identity coefficients).
        """
        h = Hamiltonian.from_config([copy.deepcopy(t) for t in self.hamiltonian.terms])
        return h.reduced_to_scalar() if self.model.kind == "liouville" else h


# ------------------------------------------------------------------------ validation
def _model(t: _Table) -> ModelConfig:
    kind = t.choice("kind", "hybrid", MODEL_KINDS)
    hbar = t.number("hbar", 1.0, minimum=0.0, exclusive=True)
    spin = t.number("spin_magnitude", 1.0, minimum=0.0, exclusive=True)
    reg = t.choice("regularization", "none", REGULARIZATIONS)
    alpha = t.number("alpha", 0.0, minimum=0.0)
    needs = REGULARIZATION_NEEDS_ALPHA.get(reg)
    if needs is False and alpha != 0.0:
        raise _err(t.key("alpha"), alpha, f"must be 0 with regularization = {reg!r}")
    if needs is True and alpha == 0.0:
        raise _err(t.key("alpha"), alpha, f"must be > 0 with regularization = {reg!r}")
    return ModelConfig(kind=kind, hbar=hbar, spin_magnitude=spin, regularization=reg,
                       alpha=alpha)


def _hamiltonian(t: _Table, kind: str) -> tuple[HamiltonianConfig, int]:
    if "terms" not in t.raw:
        raise ConfigError("hamiltonian.terms: missing; the Hamiltonian is required, e.g. "
                          "terms = [{ op = \"Z\", coef = \"0.5*nz\" }]")
    terms = t.raw["terms"]
    h = Hamiltonian.from_config(terms, key="hamiltonian.terms")
    for k, coef in enumerate(h.coefficients(_SAMPLE)):  # catches e.g. "log(nz)", "1/nx"
        bad = np.flatnonzero(~np.isfinite(coef))
        if bad.size:
            at = ", ".join(f"{x:.3g}" for x in _SAMPLE[:, bad[0]])
            raise _err(f"hamiltonian.terms[{k}].coef", terms[k]["coef"],
                       f"must be finite on the unit sphere; it is {coef[bad[0]]} at n = ({at})")
    if kind == "liouville":
        for k, (term, item) in enumerate(zip(h.terms, terms)):
            if not is_identity_multiple(term.operator):
                field = "op" if "op" in item else "matrix"
                raise _err(f"hamiltonian.terms[{k}].{field}", item[field],
                           "model.kind = 'liouville' has N = 1: only identity terms "
                           "(op = \"I\") are allowed")
        return HamiltonianConfig(terms=tuple(terms)), 1
    return HamiltonianConfig(terms=tuple(terms)), h.N


def _classical(t: _Table) -> ClassicalConfig:
    kind = t.choice("kind", "von_mises_fisher", CLASSICAL_KINDS)
    if kind == "von_mises_fisher":
        if "components" in t.raw:
            raise _err(t.key("components"), t.raw["components"],
                       "only allowed with kind = 'mixture'")
        return ClassicalConfig(kind=kind, center=_unit(t.raw.get("center", [0.0, 0.0, 1.0]),
                                                       t.key("center")),
                               kappa=t.number("kappa", 2.0, minimum=0.0))
    for k in ("center", "kappa"):
        if k in t.raw:
            raise _err(t.key(k), t.raw[k], "not allowed with kind = 'mixture' (give it per "
                       "component in components = [{center, kappa, weight}, …])")
    comps = t.raw.get("components")
    if not isinstance(comps, list) or not comps:
        raise _err(t.key("components"), comps, "kind = 'mixture' needs a non-empty list of "
                   "tables {center = [x, y, z], kappa = ..., weight = ...}")
    out = []
    for i, c in enumerate(comps):
        key = f"{t.key('components')}[{i}]"
        ct = _Table(c, key, schema="initial.classical.components")
        for req in ("center", "kappa"):
            if req not in c:
                raise ConfigError(f"{key}.{req}: missing (required)")
        weight = ct.number("weight", 1.0, minimum=0.0, exclusive=True)
        out.append((_unit(c["center"], f"{key}.center"), ct.number("kappa", None, minimum=0.0),
                    weight))
    return ClassicalConfig(kind=kind, center=None, kappa=None, components=tuple(out))


def _quantum(t: _Table, n: int) -> QuantumConfig:
    given = [k for k in QUANTUM_KINDS if k in t.raw]
    if len(given) > 1:
        raise _err(t.key(given[1]), t.raw[given[1]],
                   f"give exactly one of bloch, ket, density (also found {given[0]})")
    if not given:
        if n != 2:
            raise ConfigError(f"{t.name}: missing; the default bloch = [1, 0, 0] is for a qubit "
                              f"but the Hamiltonian has N = {n}: give ket or density")
        return QuantumConfig()
    kind, value = given[0], t.raw[given[0]]
    key = t.key(kind)
    if kind == "bloch":
        if n != 2:
            raise _err(key, value, f"bloch is for a qubit (N = 2) but the Hamiltonian has "
                       f"N = {n}: give ket or density")
        b = _vector(value, key, 3)
        if math.hypot(*b) > 1.0 + BLOCH_TOL:
            raise _err(key, value, "the Bloch vector must have length ≤ 1")
        return QuantumConfig(kind=kind, value=b, density=_bloch_density(b))
    if kind == "ket":
        if (not isinstance(value, list) or len(value) != n or not all(
                isinstance(p, list) and len(p) == 2 and all(map(_is_number, p)) for p in value)):
            raise _err(key, value, f"expected a list of {n} [re, im] pairs (the Hamiltonian "
                       f"has N = {n})")
        psi = np.array([complex(re, im) for re, im in value])
        if not np.all(np.isfinite(psi)):
            raise _err(key, value, "entries must be finite")
        norm = np.linalg.norm(psi)
        if norm == 0.0:
            raise _err(key, value, "the ket must not be zero")
        psi = psi / norm
        return QuantumConfig(kind=kind, value=tuple(tuple(map(float, p)) for p in value),
                             density=_frozen(np.outer(psi, psi.conj())))
    rho = matrix_from_pairs(value, key)
    if rho.shape != (n, n):
        raise _err(key, value, f"expected {n}×{n} (the Hamiltonian has N = {n}), got "
                   f"{rho.shape[0]}×{rho.shape[1]}")
    if not np.all(np.isfinite(rho)):
        raise _err(key, value, "entries must be finite")
    if np.max(np.abs(rho - rho.conj().T)) > DENSITY_TOL:
        raise _err(key, value, f"the density matrix must be Hermitian (tolerance {DENSITY_TOL:g})")
    if abs(np.trace(rho) - 1.0) > DENSITY_TOL:
        raise _err(key, value, f"the trace must be 1 (got {np.trace(rho).real:.12g})")
    rho = 0.5 * (rho + rho.conj().T)
    lo = float(np.linalg.eigvalsh(rho).min())
    if lo < -PSD_TOL:
        raise _err(key, value, f"must be positive semidefinite (smallest eigenvalue {lo:.3g})")
    val = tuple(tuple(tuple(map(float, p)) for p in row) for row in value)
    return QuantumConfig(kind=kind, value=val, density=_frozen(rho))


def _time(t: _Table) -> TimeConfig:
    t_end = t.number("t_end", 1.0, minimum=0.0, exclusive=True)
    dt = t.number("dt", 0.01, minimum=0.0, exclusive=True)
    if dt > t_end:
        raise _err(t.key("dt"), dt, f"must be ≤ time.t_end = {t_end:g}")
    every = t.number("output_every", 0.1, minimum=0.0, exclusive=True)
    if not _is_multiple(every, dt):
        raise _err(t.key("output_every"), every, f"must be a positive integer multiple of "
                   f"time.dt = {dt:g}")
    return TimeConfig(t_end=t_end, dt=dt, output_every=every)


def _output(t: _Table, every: float) -> OutputConfig:
    d = t.raw.get("dir", "out/run")
    if not isinstance(d, str) or not d.strip():
        raise _err(t.key("dir"), d, "expected a non-empty string (a directory path)")
    ck = t.number("checkpoint_every", every, minimum=0.0, exclusive=True)
    if not _is_multiple(ck, every):
        raise _err(t.key("checkpoint_every"), ck, f"must be a positive integer multiple of "
                   f"time.output_every = {every:g}")
    return OutputConfig(dir=d, fields=t.boolean("fields", False),
                        figures=t.boolean("figures", True), checkpoint_every=ck)


def _validate(raw) -> Config:
    root = _Table(_plain(raw), "")
    model = _model(root.table("model"))
    if "hamiltonian" not in root.raw:
        raise ConfigError("hamiltonian: missing; the [hamiltonian] table with terms = [...] "
                          "is required")
    ham, n = _hamiltonian(root.table("hamiltonian"), model.kind)
    init = root.table("initial")
    classical = _classical(init.table("classical"))
    if model.kind == "liouville":
        if "quantum" in init.raw:
            raise _err("initial.quantum", init.raw["quantum"], "not used with model.kind = "
                       "'liouville' (N = 1, P ≡ 1): remove the [initial.quantum] table")
        quantum = QuantumConfig(kind="density", value=(((1.0, 0.0),),),
                                density=_frozen(np.ones((1, 1), complex)))
    else:
        quantum = _quantum(init.table("quantum"), n)
    time = _time(root.table("time"))
    grid = root.table("grid")
    lmax = grid.raw.get("lmax", 63)
    if not isinstance(lmax, int) or isinstance(lmax, bool) or not LMAX_MIN <= lmax <= LMAX_MAX:
        raise _err("grid.lmax", lmax, f"expected an integer from {LMAX_MIN} to {LMAX_MAX}")
    return Config(grid=GridConfig(lmax=lmax), model=model, hamiltonian=ham,
                  initial=InitialConfig(classical=classical, quantum=quantum), time=time,
                  output=_output(root.table("output"), time.output_every))


# ------------------------------------------------------------------------ entry points
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
        return _validate(source)
    if isinstance(source, (str, os.PathLike)):
        return _validate(read_toml(source, "config file"))
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
    return _validate(raw)


def config_to_dict(config: Config) -> dict:
    """The fully resolved configuration as a dict of the TOML structure.

    Parameters
    ----------
    config : Config

    Returns
    -------
    dict
        Every key with its value (defaults filled in, centers normalized); loading it
        gives back an equal :class:`Config`. ``[initial.quantum]`` is left out for
        ``liouville``.
    """
    c = config
    cl = c.initial.classical
    if cl.kind == "mixture":
        classical = {"kind": cl.kind, "components": [
            {"center": list(ce), "kappa": k, "weight": w} for ce, k, w in cl.components]}
    else:
        classical = {"kind": cl.kind, "center": list(cl.center), "kappa": cl.kappa}
    initial = {"classical": classical}
    if c.model.kind != "liouville":
        initial["quantum"] = {c.initial.quantum.kind: _plain(c.initial.quantum.value)}
    return {
        "grid": dataclasses.asdict(c.grid), "model": dataclasses.asdict(c.model),
        "hamiltonian": {"terms": _plain(c.hamiltonian.terms)}, "initial": initial,
        "time": dataclasses.asdict(c.time), "output": dataclasses.asdict(c.output),
    }


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


def _parse_value(key: str, text: str):
    if key in _STRING_KEYS and not text.startswith(("'", '"')):
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
