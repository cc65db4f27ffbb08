"""Validation of a raw config dict into a :class:`~.schema.Config`.

Every problem raises :class:`~spectral_qc.errors.ConfigError` naming the dotted key, the
value and what is allowed. Model kinds, regularizations and schemes are validated against
their registries (:data:`spectral_qc.models.MODELS`, :data:`~spectral_qc.models.REGULARIZATIONS`,
:data:`spectral_qc.integrators.SCHEMES`), the only lists of these names. Defaults come
from the dataclasses of :mod:`.schema`.

Decisions beyond the contract (see ``docs/usage.md``):

* a scalar model (``liouville``, ``Model.scalar_only``) has N = 1: only identity terms are
  allowed in ``[hamiltonian]`` (reduced to their scalar coefficient) and
  ``[initial.quantum]`` must be absent (P ≡ 1);
* without ``[initial.quantum]`` the default is ``bloch = [1, 0, 0]``, which needs N = 2;
* ``regularization``/``alpha`` are refused for models that do not use them;
* ``t_end`` must be a multiple of ``dt``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping

import numpy as np

from ..errors import ConfigError
from ..hamiltonians import Hamiltonian, is_identity_multiple, matrix_from_pairs
from ..integrators import SCHEMES
from ..models import MODELS, check_regularization, model_class
from ..sphere.grid import LMAX_MAX, LMAX_MIN
from .schema import (BLOCH_TOL, CLASSICAL_KINDS, DENSITY_TOL, MULTIPLE_RTOL, PSD_TOL,
                     QUANTUM_KINDS, SCHEMA, ClassicalConfig, Config, GridConfig,
                     HamiltonianConfig, InitialConfig, ModelConfig, OutputConfig,
                     QuantumConfig, SolverConfig, StopCriteria, TimeConfig, _frozen,
                     bloch_density)

#: The defaults, read from the dataclasses (written once, in .schema).
D_GRID, D_MODEL, D_TIME, D_OUTPUT = GridConfig(), ModelConfig(), TimeConfig(), OutputConfig()
D_CLASSICAL, D_SOLVER, D_STOP = ClassicalConfig(), SolverConfig(), StopCriteria()


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


def _model(t: _Table) -> ModelConfig:
    kind = t.raw.get("kind", D_MODEL.kind)
    if not isinstance(kind, str):
        raise _err(t.key("kind"), kind, f"allowed are {', '.join(map(repr, MODELS))}")
    cls = model_class(kind)
    hbar = t.number("hbar", D_MODEL.hbar, minimum=0.0, exclusive=True)
    spin = t.number("spin_magnitude", D_MODEL.spin_magnitude, minimum=0.0, exclusive=True)
    if not cls.accepts_regularization:
        for k in ("regularization", "alpha"):
            v = t.raw.get(k, getattr(D_MODEL, k))
            if v != getattr(D_MODEL, k):
                users = ", ".join(repr(n) for n, c in MODELS.items() if c.accepts_regularization)
                raise _err(t.key(k), v, f"model.kind = {kind!r} does not use a "
                           f"regularization (only {users}): remove the key")
    reg = t.raw.get("regularization", D_MODEL.regularization)
    alpha = t.raw.get("alpha", D_MODEL.alpha)
    check_regularization(reg, alpha)
    return ModelConfig(kind=kind, hbar=hbar, spin_magnitude=spin, regularization=reg,
                       alpha=float(alpha))


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
    if model_class(kind).scalar_only:
        for k, (term, item) in enumerate(zip(h.terms, terms)):
            if not is_identity_multiple(term.operator):
                field = "op" if "op" in item else "matrix"
                raise _err(f"hamiltonian.terms[{k}].{field}", item[field],
                           f"model.kind = {kind!r} has N = 1: only identity terms "
                           "(op = \"I\") are allowed")
        return HamiltonianConfig(terms=tuple(terms)), 1
    return HamiltonianConfig(terms=tuple(terms)), h.N


def _classical(t: _Table) -> ClassicalConfig:
    kind = t.choice("kind", D_CLASSICAL.kind, CLASSICAL_KINDS)
    if kind == "von_mises_fisher":
        if "components" in t.raw:
            raise _err(t.key("components"), t.raw["components"],
                       "only allowed with kind = 'mixture'")
        return ClassicalConfig(kind=kind, center=_unit(t.raw.get("center", list(D_CLASSICAL.center)),
                                                       t.key("center")),
                               kappa=t.number("kappa", D_CLASSICAL.kappa, minimum=0.0))
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
        return QuantumConfig(kind=kind, value=b, density=bloch_density(b))
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
    t_end = t.number("t_end", D_TIME.t_end, minimum=0.0, exclusive=True)
    dt = t.number("dt", D_TIME.dt, minimum=0.0, exclusive=True)
    if dt > t_end:
        raise _err(t.key("dt"), dt, f"must be ≤ time.t_end = {t_end:g}")
    if not _is_multiple(t_end, dt):
        k = max(1, round(t_end / dt))
        raise _err(t.key("t_end"), t_end, f"must be a multiple of time.dt = {dt:g} "
                   f"(e.g. {k * dt:.12g})")
    every = t.number("output_every", D_TIME.output_every, minimum=0.0, exclusive=True)
    if not _is_multiple(every, dt):
        raise _err(t.key("output_every"), every, f"must be a positive integer multiple of "
                   f"time.dt = {dt:g}")
    return TimeConfig(t_end=t_end, dt=dt, output_every=every)


def _solver(t: _Table, kind: str) -> SolverConfig:
    cls = model_class(kind)
    scheme = t.choice("scheme", cls.default_scheme, tuple(cls.schemes or SCHEMES))
    filt = t.boolean("spectral_filter", D_SOLVER.spectral_filter)
    st = t.table("stop")
    growth = st.raw.get("growth_max", "auto")
    if growth == "auto":
        growth = None
    elif not (_is_number(growth) and math.isfinite(growth) and growth > 0):
        raise _err(st.key("growth_max"), growth, 'expected "auto" or a number > 0')
    stop = StopCriteria(
        enabled=st.boolean("enabled", D_STOP.enabled),
        rho_tol=st.number("rho_tol", D_STOP.rho_tol, minimum=0.0),
        eig_tol=st.number("eig_tol", D_STOP.eig_tol, minimum=0.0),
        tail_max=st.number("tail_max", D_STOP.tail_max, minimum=0.0, exclusive=True),
        growth_max=None if growth is None else float(growth),
        growth_window=st.number("growth_window", D_STOP.growth_window, minimum=0.0,
                                exclusive=True),
        tail_floor=st.number("tail_floor", D_STOP.tail_floor, minimum=0.0),
        jacobian_stop=st.number("jacobian_stop", D_STOP.jacobian_stop, minimum=0.0))
    return SolverConfig(scheme=scheme, spectral_filter=filt, stop=stop)


def _output(t: _Table, every: float) -> OutputConfig:
    d = t.raw.get("dir", D_OUTPUT.dir)
    if not isinstance(d, str) or not d.strip():
        raise _err(t.key("dir"), d, "expected a non-empty string (a directory path)")
    ck = t.number("checkpoint_every", every, minimum=0.0, exclusive=True)
    if not _is_multiple(ck, every):
        raise _err(t.key("checkpoint_every"), ck, f"must be a positive integer multiple of "
                   f"time.output_every = {every:g}")
    keep = t.raw.get("keep_checkpoints", D_OUTPUT.keep_checkpoints)
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
        raise _err(t.key("keep_checkpoints"), keep, "expected an integer ≥ 1")
    return OutputConfig(dir=d, fields=t.boolean("fields", D_OUTPUT.fields),
                        figures=t.boolean("figures", D_OUTPUT.figures), checkpoint_every=ck,
                        keep_checkpoints=keep)


def validate(raw) -> Config:
    """A :class:`~.schema.Config` from a raw dict of the TOML structure (not modified)."""
    root = _Table(_plain(raw), "")
    model = _model(root.table("model"))
    if "hamiltonian" not in root.raw:
        raise ConfigError("hamiltonian: missing; the [hamiltonian] table with terms = [...] "
                          "is required")
    ham, n = _hamiltonian(root.table("hamiltonian"), model.kind)
    init = root.table("initial")
    classical = _classical(init.table("classical"))
    if model_class(model.kind).scalar_only:
        if "quantum" in init.raw:
            raise _err("initial.quantum", init.raw["quantum"], "not used with model.kind = "
                       f"{model.kind!r} (N = 1, P ≡ 1): remove the [initial.quantum] table")
        quantum = QuantumConfig(kind="density", value=(((1.0, 0.0),),),
                                density=_frozen(np.ones((1, 1), complex)))
    else:
        quantum = _quantum(init.table("quantum"), n)
    time = _time(root.table("time"))
    grid = root.table("grid")
    lmax = grid.raw.get("lmax", D_GRID.lmax)
    if not isinstance(lmax, int) or isinstance(lmax, bool) or not LMAX_MIN <= lmax <= LMAX_MAX:
        raise _err("grid.lmax", lmax, f"expected an integer from {LMAX_MIN} to {LMAX_MAX}")
    return Config(grid=GridConfig(lmax=lmax), model=model, hamiltonian=ham,
                  initial=InitialConfig(classical=classical, quantum=quantum), time=time,
                  solver=_solver(root.table("solver"), model.kind),
                  output=_output(root.table("output"), time.output_every))


