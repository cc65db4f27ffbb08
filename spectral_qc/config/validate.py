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
* ``t_end`` must be a multiple of ``dt``;
* several classical spins (``[model] spin_magnitude`` a list of j = 2 or 3 numbers; a list
  of one is one spin, stored as the number): ``[grid] lmax`` is stored as a tuple of j,
  ``[initial.classical]`` must be ``kind = "product"`` with one factor per spin, and the
  model kind must be one of :data:`spectral_qc.models.PRODUCT_MODELS`.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from ..hamiltonians import Hamiltonian, is_identity_multiple, matrix_from_pairs
from ..integrators import SCHEMES
from ..models import MODELS, check_regularization, model_class_for
from ..product_hamiltonians import ProductHamiltonian
from ..sphere.grid import LMAX_MAX, LMAX_MIN
from .schema import (BLOCH_TOL, CLASSICAL_KINDS, DENSITY_TOL, MULTIPLE_RTOL, PRODUCT_KIND,
                     PSD_TOL, QUANTUM_KINDS, ClassicalConfig, Config, GridConfig,
                     HamiltonianConfig, InitialConfig, ModelConfig, OutputConfig,
                     QuantumConfig, SolverConfig, StopCriteria, TimeConfig, _frozen,
                     bloch_density)
from .tables import (_SAMPLE, _Table, _err, _is_number, _plain, _sphere_sample,  # noqa: F401
                     _unit, _vector)

#: The defaults, read from the dataclasses (written once, in .schema).
D_GRID, D_MODEL, D_TIME, D_OUTPUT = GridConfig(), ModelConfig(), TimeConfig(), OutputConfig()
D_CLASSICAL, D_SOLVER, D_STOP = ClassicalConfig(), SolverConfig(), StopCriteria()


def _is_multiple(value: float, step: float) -> bool:
    k = round(value / step)
    return k >= 1 and abs(value - k * step) <= MULTIPLE_RTOL * value


def _spin_magnitudes(t: _Table):
    """``spin_magnitude``: a number (one spin) or a list of 1–3 numbers > 0 (a list of one
    is one spin); returns (float or tuple of floats, j)."""
    v = t.raw.get("spin_magnitude", D_MODEL.spin_magnitude)
    if not isinstance(v, list):
        return t.number("spin_magnitude", D_MODEL.spin_magnitude, minimum=0.0,
                        exclusive=True), 1
    key = t.key("spin_magnitude")
    if not 1 <= len(v) <= 3 or not all(_is_number(x) for x in v):
        raise _err(key, v, "expected a number (one classical spin) or a list of 1 to 3 "
                   "numbers > 0, one S per spin (e.g. [1.0, 1.0] for two spins)")
    bad = [x for x in v if not (math.isfinite(x) and x > 0)]
    if bad:
        raise _err(key, v, f"every spin magnitude must be a finite number > 0 (got {bad[0]!r})")
    s = tuple(float(x) for x in v)
    return (s[0], 1) if len(s) == 1 else (s, len(s))


def _model(t: _Table) -> tuple[ModelConfig, int]:
    kind = t.raw.get("kind", D_MODEL.kind)
    if not isinstance(kind, str):
        raise _err(t.key("kind"), kind, f"allowed are {', '.join(map(repr, MODELS))}")
    spin, spins = _spin_magnitudes(t)
    cls = model_class_for(kind, spins)
    hbar = t.number("hbar", D_MODEL.hbar, minimum=0.0, exclusive=True)
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
                       alpha=float(alpha)), spins


def _product_sample(spins: int) -> list:
    """Points of (S²)^j where the coefficients must be finite: every spin at the same
    sample point (and its antipode), and all combinations of the 14 axes and corners and
    20 Fibonacci points (34^j). j arrays (3, m)."""
    small = np.hstack([_SAMPLE[:, :14], _sphere_sample(20)[:, 14:]])
    grids = np.meshgrid(*[np.arange(small.shape[1])] * spins, indexing="ij")
    combos = [small[:, g.ravel()] for g in grids]
    return [np.hstack([c, _SAMPLE, -_SAMPLE if a % 2 else _SAMPLE])
            for a, c in enumerate(combos)]


def _hamiltonian(t: _Table, kind: str, spins: int = 1) -> tuple[HamiltonianConfig, int]:
    if "terms" not in t.raw:
        raise ConfigError("hamiltonian.terms: missing; the Hamiltonian is required, e.g. "
                          "terms = [{ op = \"Z\", coef = \"0.5*nz\" }]")
    terms = t.raw["terms"]
    if spins == 1:
        h = Hamiltonian.from_config(terms, key="hamiltonian.terms")
        sample, ops = [_SAMPLE], [term.operator for term in h.terms]
    else:
        h = ProductHamiltonian.from_config(terms, spins, key="hamiltonian.terms")
        sample, ops = _product_sample(spins), list(h.operators)
    coefs = h.coefficients(sample[0] if spins == 1 else sample)
    for k, coef in enumerate(coefs):  # catches e.g. "log(nz)", "1/nx"
        bad = np.flatnonzero(~np.isfinite(coef))
        if bad.size:
            at = " and ".join("(" + ", ".join(f"{x:.3g}" for x in n[:, bad[0]]) + ")"
                              for n in sample)
            where = "the unit sphere" if spins == 1 else "the product of unit spheres"
            point = "n" if spins == 1 else "(" + ", ".join(f"n{a + 1}" for a in range(spins)) + ")"
            raise _err(f"hamiltonian.terms[{k}].coef", terms[k]["coef"],
                       f"must be finite on {where}; it is {coef[bad[0]]} at {point} = {at}")
    if model_class_for(kind, spins).scalar_only:
        for k, (op, item) in enumerate(zip(ops, terms)):
            if not is_identity_multiple(op):
                field = "op" if "op" in item else "matrix"
                raise _err(f"hamiltonian.terms[{k}].{field}", item[field],
                           f"model.kind = {kind!r} has N = 1: only identity terms "
                           "(op = \"I\") are allowed")
        return HamiltonianConfig(terms=tuple(terms)), 1
    return HamiltonianConfig(terms=tuple(terms)), h.N


def _product_classical(t: _Table, spins: int) -> ClassicalConfig:
    """``kind = "product"``: ``factors`` = j tables, each validated like a one-spin table."""
    example = ("kind = \"product\", factors = [" + ", ".join(
        "{kind = \"von_mises_fisher\", center = [0, 0, 1], kappa = 2}" for _ in range(spins))
        + "]")
    kind = t.raw.get("kind", D_CLASSICAL.kind)
    if kind != PRODUCT_KIND:
        raise _err(t.key("kind"), kind, f"{spins} classical spins ([model] spin_magnitude is a "
                   f"list) need a product density, one factor per spin: {example}")
    for k in ("center", "kappa", "components"):
        if k in t.raw:
            raise _err(t.key(k), t.raw[k], "not allowed with kind = 'product' (give it per "
                       "spin in factors = [{kind, center, kappa} or {kind = \"mixture\", "
                       "components}, …])")
    factors = t.raw.get("factors")
    if not isinstance(factors, list) or len(factors) != spins:
        raise _err(t.key("factors"), factors, f"expected a list of {spins} tables, one per spin "
                   f"([model] spin_magnitude declares {spins}), e.g. {example}")
    return ClassicalConfig(kind=PRODUCT_KIND, center=None, kappa=None, factors=tuple(
        _classical(_Table(f, f"{t.key('factors')}[{a}]", schema="initial.classical.factors"))
        for a, f in enumerate(factors)))


def _classical(t: _Table, spins: int = 1) -> ClassicalConfig:
    if spins > 1:
        return _product_classical(t, spins)
    if t.raw.get("kind") == PRODUCT_KIND and t.name == "initial.classical":
        raise _err(t.key("kind"), PRODUCT_KIND, "a product density is for several classical "
                   "spins, and this config declares one ([model] spin_magnitude is a number): "
                   "use 'von_mises_fisher' or 'mixture', or declare the spins with "
                   "spin_magnitude = [S1, S2]")
    if "factors" in t.raw:
        raise _err(t.key("factors"), t.raw["factors"], "only allowed with kind = 'product' "
                   "(several classical spins)")
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


def _solver(t: _Table, kind: str, spins: int = 1) -> SolverConfig:
    cls = model_class_for(kind, spins)
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


def _grid(t: _Table, spins: int) -> GridConfig:
    """``lmax``: an integer, or (several spins) a list of j, one per spin; stored as an int
    for one spin and a tuple of j ints for several."""
    lmax = t.raw.get("lmax", D_GRID.lmax)
    allowed = f"expected an integer from {LMAX_MIN} to {LMAX_MAX}"
    if isinstance(lmax, list):
        if len(lmax) != spins:
            raise _err("grid.lmax", lmax, f"give one integer for every spin or a list of "
                       f"{spins} ([model] spin_magnitude declares {spins} classical "
                       f"spin{'s' if spins > 1 else ''})")
        values = lmax
    else:
        values = [lmax] * spins
    for v in values:
        if not isinstance(v, int) or isinstance(v, bool) or not LMAX_MIN <= v <= LMAX_MAX:
            raise _err("grid.lmax", lmax, allowed + (" (each entry)" if isinstance(lmax, list)
                                                     else ""))
    return GridConfig(lmax=values[0] if spins == 1 else tuple(values))


def validate(raw) -> Config:
    """A :class:`~.schema.Config` from a raw dict of the TOML structure (not modified)."""
    root = _Table(_plain(raw), "")
    model, spins = _model(root.table("model"))
    if "hamiltonian" not in root.raw:
        raise ConfigError("hamiltonian: missing; the [hamiltonian] table with terms = [...] "
                          "is required")
    ham, n = _hamiltonian(root.table("hamiltonian"), model.kind, spins)
    init = root.table("initial")
    classical = _classical(init.table("classical"), spins)
    if model_class_for(model.kind, spins).scalar_only:
        if "quantum" in init.raw:
            raise _err("initial.quantum", init.raw["quantum"], "not used with model.kind = "
                       f"{model.kind!r} (N = 1, P ≡ 1): remove the [initial.quantum] table")
        quantum = QuantumConfig(kind="density", value=(((1.0, 0.0),),),
                                density=_frozen(np.ones((1, 1), complex)))
    else:
        quantum = _quantum(init.table("quantum"), n)
    time = _time(root.table("time"))
    grid = _grid(root.table("grid"), spins)
    return Config(grid=grid, model=model, hamiltonian=ham,
                  initial=InitialConfig(classical=classical, quantum=quantum), time=time,
                  solver=_solver(root.table("solver"), model.kind, spins),
                  output=_output(root.table("output"), time.output_every))
