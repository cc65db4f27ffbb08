"""The front end of the exact reference: :func:`solve` for a run configuration, and
:func:`linear_coefficients`, which splits its Hamiltonian into ``A0 + Σ_a n_a A_a`` and
names the terms that are not linear in ``n``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import xarray as xr

from ..errors import ConfigError
from ..hamiltonians import pauli_matrix
from .solvers import _check_hermitian, solve_matrices, solve_qutip
from .spin import check_spin
from .unpolarized import solve_unpolarized


def linear_coefficients(hamiltonian, *, rng=None, tol=1e-9):
    """Split a hybrid Hamiltonian into ``H(n) = A0 + Σ_a n_a A_a`` and verify it.

    ``A0 = H(0)`` and ``A_a = H(e_a) − H(0)``; the decomposition is then checked at
    random points of R³ (of lengths 0.3 … 3, so also off the sphere). A term such as
    ``½ nz²`` or ``sqrt(nx²+ny²+nz²)`` (equal to 1 on the sphere, but not linear in R³)
    is rejected: the quantization ``n_a → Ĵ_a/I`` is defined here only for linear entries.

    Parameters
    ----------
    hamiltonian : object
        Has ``N`` (int) and ``evaluate(n)``: ``n`` real ``(3, ...)`` (any vectors) →
        complex ``(N, N, ...)``.
    rng : numpy.random.Generator, optional
        Source of the test points (default: a fixed seed).
    tol : float, optional
        Relative tolerance of the linearity check.

    Returns
    -------
    A0 : numpy.ndarray, shape (N, N)
    A : numpy.ndarray, shape (3, N, N)

    Raises
    ------
    spectral_qc.errors.ConfigError
        If ``H`` is not at most linear in ``n``, or not finite/Hermitian at the test
        points; the message names the offending matrix entries / operator components.
    """
    N = int(hamiltonian.N)
    rng = np.random.default_rng(20240607) if rng is None else rng
    pts = rng.normal(size=(3, 8))
    pts *= np.linspace(0.3, 3.0, 8) / np.linalg.norm(pts, axis=0)
    basis_pts = np.concatenate([np.zeros((3, 1)), np.eye(3)], axis=1)   # 0, ex, ey, ez
    allpts = np.concatenate([basis_pts, pts], axis=1)
    with np.errstate(all="ignore"):
        try:
            vals = np.asarray(hamiltonian.evaluate(allpts), dtype=complex)
        except (ValueError, ArithmeticError) as exc:   # ConfigError is a ValueError
            raise ConfigError(
                f"hamiltonian: cannot be evaluated off the unit sphere ({exc}); the exact "
                "comparison (spectral_qc.exact) needs each component of H(n) to be at most "
                "linear in nx, ny, nz") from exc
    if vals.shape != (N, N, allpts.shape[1]):
        raise ConfigError(f"hamiltonian: evaluate returned shape {vals.shape}, expected "
                          f"({N}, {N}, {allpts.shape[1]})")
    if not np.all(np.isfinite(vals)):
        names = _nonlinear_terms(hamiltonian, allpts, tol)
        where = f" ({'; '.join(names)})" if names else ""
        raise ConfigError(
            f"hamiltonian: H(n) is not finite at n = 0 or off the unit sphere{where}; the "
            "exact comparison (spectral_qc.exact) needs each component of H(n) to be at "
            "most linear in nx, ny, nz")
    A0 = vals[:, :, 0]
    A = np.moveaxis(vals[:, :, 1:4] - A0[:, :, None], -1, 0)
    pred = A0[:, :, None] + np.einsum("aij,ap->ijp", A, pts)
    resid = vals[:, :, 4:] - pred
    scale = max(1.0, float(np.max(np.abs(vals))))
    bad = np.max(np.abs(resid), axis=-1) > tol * scale
    if np.any(bad):
        raise ConfigError(
            "hamiltonian: the exact comparison (spectral_qc.exact) needs each component of "
            "H(n) to be at most linear in nx, ny, nz (a term like 0.5*nz**2 is not); "
            f"non-linear: {_describe_nonlinear(resid, bad, N, hamiltonian, allpts, tol)}")
    try:
        A0 = _check_hermitian(A0, "H(0)")
        A = _check_hermitian(A, "dH/dn")
    except ValueError as exc:
        raise ConfigError(f"hamiltonian: {exc}") from exc
    return A0, A


def _pauli_strings(N):
    k = int(round(math.log2(N))) if N >= 2 else 0
    if N < 2 or 2 ** k != N:
        return None
    labels = [""]
    for _ in range(k):
        labels = [lab + s for lab in labels for s in "IXYZ"]
    return labels, [pauli_matrix(lab) for lab in labels]


def _describe_nonlinear(resid, bad, N, hamiltonian, allpts, tol):
    """Where the non-linear part sits: the config terms, else Pauli parts, else entries."""
    names = _nonlinear_terms(hamiltonian, allpts, tol)
    if names:
        return "; ".join(names)
    pauli = _pauli_strings(N)
    if pauli is not None:
        labels, mats = pauli
        scale = float(np.max(np.abs(resid)))
        parts = [f'the {lab} component' for lab, m in zip(labels, mats)
                 if np.max(np.abs(np.einsum("ji,ijp->p", m, resid) / N)) > 1e-6 * scale]
        if parts:
            return ", ".join(parts)
    return "the entries " + ", ".join(f"H[{i}, {j}]" for i, j in zip(*np.nonzero(bad)))


def _nonlinear_terms(hamiltonian, allpts, tol):
    """Terms ``coef · O`` whose scalar coefficient is not linear (needs ``coefficients``)."""
    coefficients = getattr(hamiltonian, "coefficients", None)
    terms = getattr(hamiltonian, "terms", None)
    if coefficients is None or terms is None:
        return []
    try:
        with np.errstate(all="ignore"):
            c = np.asarray(coefficients(allpts), dtype=float)      # (K, P)
    except Exception:                        # best effort only: fall back to components
        return []
    if c.ndim != 2 or c.shape[0] != len(terms):
        return []
    with np.errstate(all="ignore"):
        c0 = c[:, :1]
        grad = c[:, 1:4] - c0
        pred = c0 + grad @ allpts[:, 4:]
        res = np.abs(c[:, 4:] - pred)
    scale = np.maximum(1.0, np.max(np.abs(np.nan_to_num(c, nan=0.0)), axis=1))
    labels = getattr(hamiltonian, "labels", None) or [None] * len(terms)
    out = []
    for k, term in enumerate(terms):
        if np.all(np.isfinite(res[k])) and np.max(res[k]) <= tol * scale[k]:
            continue
        coef = getattr(term, "coef", None)
        source = getattr(coef, "source", coef)
        where = getattr(coef, "name", None) or f"term {k}"
        label = labels[k] if labels[k] is not None else "operator"
        out.append(f"{where} = {source!r} (operator {label})")
    return out


def _output_times(t_end, output_every):
    t_end, dt_out = float(t_end), float(output_every)
    n = int(math.floor(t_end / dt_out + 1e-9))
    times = dt_out * np.arange(n + 1)
    if t_end - times[-1] > 1e-9 * max(1.0, t_end):
        times = np.append(times, t_end)
    return times


def solve(config, spin, *, method="eig", count=1) -> xr.Dataset:
    """Exact N-level ⊗ spin-I dynamics for a run configuration (contract §5).

    ``sq.exact.solve(config, spin=I)``: the classical spin of the config is replaced by a
    quantum spin ``I`` (``n → Ĵ/I``, ``S = ħI``) starting in the spin-coherent state along
    ``[initial.classical].center``; the N-level system starts in ``[initial.quantum]``.
    Output times are ``0, output_every, …, t_end``. With ``kappa = 0`` (the uniform
    density) the spin starts maximally mixed instead, ``1/(2I+1)``, and ``count``
    equivalent spins are allowed (:func:`solve_unpolarized`, through the total-spin
    multiplets).

    Parameters
    ----------
    config : str, os.PathLike, dict or spectral_qc.config.Config
        A TOML path, a dict of the TOML structure, or a loaded config. Its Hamiltonian
        must be at most linear in ``n`` in every component.
    spin : float
        Spin quantum number ``I`` (``2I`` a positive integer).
    method : {"eig", "qutip"}, optional
        ``"eig"`` (default): :func:`solve_matrices`; ``"qutip"``: :func:`solve_qutip`
        (coherent start only).
    count : int, optional
        Number of equivalent spins ``I`` (default 1); more than one needs ``kappa = 0``.

    Returns
    -------
    xarray.Dataset
        As :func:`solve_matrices`, with the extra attributes ``config_spin_magnitude``
        (``[model].spin_magnitude``) and ``spin_magnitude_matches`` (whether it equals
        ``ħ I``).

    Raises
    ------
    spectral_qc.errors.ConfigError
        Bad config, or a Hamiltonian that is not linear in ``n``.
    ValueError
        Bad ``spin`` or ``method``.

    Warns
    -----
    UserWarning
        When ``[model].spin_magnitude`` differs from ``ħ I``: the classical/hybrid run
        of this config is then not the classical counterpart of this spin.
    """
    from ..config import Config, load_config   # lazy: keeps this module light

    if method not in ("eig", "qutip"):
        raise ConfigError(f"method = {method!r}; expected 'eig' or 'qutip'")
    i_ = check_spin(spin)
    cfg = config if isinstance(config, Config) else load_config(config)
    ham = cfg.hamiltonian_operator()
    A0, A = linear_coefficients(ham)
    hbar = float(cfg.model.hbar)
    times = _output_times(cfg.time.t_end, cfg.time.output_every)
    if cfg.initial.classical.center is None:
        raise ConfigError(
            f"initial.classical.kind = {cfg.initial.classical.kind!r}: the exact comparison "
            "(spectral_qc.exact) starts the spin in one coherent state, whose classical "
            "counterpart is a single von_mises_fisher density (center, kappa = 2I)")
    center = np.asarray(cfg.initial.classical.center, dtype=float)
    rho_q0 = np.asarray(cfg.initial.quantum.density, dtype=complex)
    kappa0 = getattr(cfg.initial.classical, "kappa", None)
    if kappa0 is not None and float(kappa0) == 0.0:
        if method != "eig":
            raise ConfigError("method = 'qutip' is for a coherent start; with "
                              "initial.classical.kappa = 0 use method = 'eig'")
        ds = solve_unpolarized(A0, A, rho_q0, i_, times, hbar=hbar, count=count)
    elif count != 1:
        raise ConfigError(f"count = {count!r} equivalent spins need the unpolarized start "
                          f"initial.classical.kappa = 0 (got kappa = {kappa0!r})")
    else:
        fn = solve_matrices if method == "eig" else solve_qutip
        ds = fn(A0, A, rho_q0, center, i_, times, hbar=hbar)

    try:
        from ..config import dumps_config
        ds.attrs["config"] = dumps_config(cfg)
    except (ImportError, AttributeError, TypeError, ValueError):  # best effort only
        pass
    s_cfg = float(cfg.model.spin_magnitude)
    matches = abs(s_cfg - hbar * i_) <= 1e-12 * max(1.0, hbar * i_)
    ds.attrs["config_spin_magnitude"] = s_cfg
    ds.attrs["spin_magnitude_matches"] = int(matches)
    if not matches:
        warnings.warn(
            f"[model].spin_magnitude = {s_cfg:g} differs from hbar*I = {hbar * i_:g}: the "
            "classical/hybrid run of this config is not the classical counterpart of a "
            f"spin I = {i_:g} (set spin_magnitude = hbar*I to compare)", UserWarning,
            stacklevel=2)
    kind = getattr(cfg.initial.classical, "kind", "von_mises_fisher")
    kappa = getattr(cfg.initial.classical, "kappa", None)
    if kind == "von_mises_fisher" and kappa is not None:
        ds.attrs["config_kappa"] = float(kappa)
    return ds
