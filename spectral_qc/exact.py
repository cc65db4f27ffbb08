"""Exact quantum dynamics of an N-level system coupled to a quantum spin I.

This is the reference the mixed quantum-classical models are compared with. The
classical spin ``n ∈ S²`` (bracket ``{f, g} = (1/S) n·(∇f × ∇g)``) is quantized as a
spin of size ``I``::

    n_a  →  Ĵ_a / I            (Ĵ the spin-I matrices, [Ĵx, Ĵy] = i Ĵz, dimension 2I+1)
    S    =  ħ I                 (so that {·,·} ↔ (1/iħ)[·,·] on the linear functions n_a)

A hybrid Hamiltonian whose entries are at most linear in ``n``,
``H(n) = A0 + Σ_a n_a A_a``, becomes the Hamiltonian on ``C^N ⊗ C^(2I+1)``::

    Ĥ = A0 ⊗ 1 + Σ_a A_a ⊗ Ĵ_a / I

The initial state is ``ρ_q0 ⊗ |I; c⟩⟨I; c|`` with ``|I; c⟩`` the spin-coherent state along
the unit vector ``c`` (the highest-weight eigenvector of ``Ĵ·c``). Its classical
counterpart is a von Mises–Fisher density centred on ``c`` with ``κ ≈ 2I`` (matching the
transverse variance, see ``docs/exact.md``). ``Ĥ`` is diagonalized once and the state is
propagated exactly, ``U(t) = V exp(−iEt/ħ) V†``.

The output uses the names of the solver's ``diagnostics.nc`` (contract §4) where they
apply: ``rho_q_real``, ``rho_q_imag``, ``purity``, ``min_eig_rho_q``, ``n_mean``,
``energy`` and ``mass``.

Functions
---------
solve(config, spin)
    Exact dynamics for a run configuration (path, dict or ``Config``).
solve_matrices(A0, A, rho_q0, center, spin, times, hbar=1.0)
    Exact dynamics for explicit matrices.
solve_qutip(A0, A, rho_q0, center, spin, times, hbar=1.0)
    The same problem integrated by QuTiP (optional dependency, for cross-checks).
linear_coefficients(hamiltonian)
    ``(A0, A)`` of a Hamiltonian object, with a check that it is linear in ``n``.
spin_matrices(spin), coherent_state(spin, center), total_hamiltonian(A0, A, spin)
    The building blocks.
vmf_mean_resultant(kappa)
    ``coth κ − 1/κ``, the length of ``⟨n⟩`` for a von Mises–Fisher density.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import xarray as xr

from .errors import ConfigError

__all__ = [
    "solve", "solve_matrices", "solve_qutip", "linear_coefficients", "spin_matrices",
    "coherent_state", "total_hamiltonian", "vmf_mean_resultant", "check_spin",
]

_QUTIP_HINT = ("the QuTiP cross-check needs the optional dependency qutip: "
               "pip install 'spectral_qc[exact]'")


# ----------------------------------------------------------------------------- inputs

def check_spin(spin) -> float:
    """Validate a spin quantum number.

    Parameters
    ----------
    spin : int, float or fractions.Fraction
        The spin ``I``; ``2I`` must be a positive integer (0.5, 1, 1.5, ...).

    Returns
    -------
    float
        ``I`` as a float (exactly representable: ``2I`` is an integer).

    Raises
    ------
    ValueError
        If ``spin`` is not a real number, not finite, not positive, or ``2I`` is not an
        integer.
    """
    if isinstance(spin, (bool, np.bool_)) or not isinstance(spin, numbers.Real):
        raise ConfigError(f"spin I = {spin!r} must be a real number with 2I a positive "
                         "integer (0.5, 1, 1.5, ...)")
    two_i = 2.0 * float(spin)
    if not math.isfinite(two_i) or two_i < 1 - 1e-9 or abs(two_i - round(two_i)) > 1e-9:
        raise ConfigError(f"spin I = {spin!r} is not allowed: 2I must be a positive integer "
                         "(I = 0.5, 1, 1.5, ...)")
    return round(two_i) / 2.0


def _check_hermitian(m, name):
    m = np.asarray(m, dtype=complex)
    if not np.all(np.isfinite(m)):
        raise ConfigError(f"{name} contains non-finite values")
    scale = max(1.0, float(np.max(np.abs(m)))) if m.size else 1.0
    dev = float(np.max(np.abs(m - np.swapaxes(m.conj(), -1, -2)))) if m.size else 0.0
    if dev > 1e-10 * scale:
        raise ConfigError(f"{name} is not Hermitian (max |M − M†| = {dev:.3g})")
    return 0.5 * (m + np.swapaxes(m.conj(), -1, -2))


def _check_density(rho, n):
    rho = np.asarray(rho, dtype=complex)
    if rho.shape != (n, n):
        raise ConfigError(f"rho_q0 has shape {rho.shape}, expected ({n}, {n})")
    rho = _check_hermitian(rho, "rho_q0")
    tr = float(np.trace(rho).real)
    if abs(tr - 1.0) > 1e-10:
        raise ConfigError(f"rho_q0 has trace {tr:.12g}, expected 1")
    lam_min = float(np.linalg.eigvalsh(rho)[0])
    if lam_min < -1e-10:
        raise ConfigError(f"rho_q0 is not positive semidefinite (smallest eigenvalue "
                         f"{lam_min:.3g})")
    return rho


def _check_center(center):
    c = np.asarray(center, dtype=float)
    if c.shape != (3,) or not np.all(np.isfinite(c)):
        raise ConfigError(f"center must be 3 finite numbers, got {center!r}")
    norm = float(np.linalg.norm(c))
    if norm == 0.0:
        raise ConfigError("center must be a non-zero vector")
    return c / norm


def _check_times(times):
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
        raise ConfigError("times must be a non-empty 1-D array of finite numbers")
    if t[0] != 0.0:
        raise ConfigError(f"times must start at 0 (got times[0] = {t[0]!r})")
    if np.any(np.diff(t) <= 0):
        raise ConfigError("times must be strictly increasing")
    return t


def _check_hbar(hbar):
    h = float(hbar)
    if not (math.isfinite(h) and h > 0):
        raise ConfigError(f"hbar = {hbar!r} must be a positive finite number")
    return h


# ------------------------------------------------------------------- building blocks

def spin_matrices(spin) -> np.ndarray:
    """Spin-I matrices ``(Ĵx, Ĵy, Ĵz)``.

    Basis ``|I, m⟩`` ordered ``m = I, I−1, …, −I`` (so ``Ĵz = diag(I, …, −I)``), with
    the Condon–Shortley phase: ``Ĵ+ |m⟩ = √(I(I+1) − m(m+1)) |m+1⟩``.

    Parameters
    ----------
    spin : float
        ``I`` with ``2I`` a positive integer.

    Returns
    -------
    numpy.ndarray
        ``(3, 2I+1, 2I+1)`` complex; ``[Ĵx, Ĵy] = i Ĵz`` (cyclic) and
        ``Ĵ² = I(I+1)``. Dimensionless (units of ħ).
    """
    i_ = check_spin(spin)
    m = i_ - np.arange(int(round(2 * i_)) + 1)          # I, I-1, …, -I
    # ⟨m+1| Ĵ+ |m⟩ sits at row k-1, column k, where index k holds m_k = I - k
    up = np.sqrt(i_ * (i_ + 1) - m[1:] * (m[1:] + 1))
    jp = np.diag(up, k=1).astype(complex)
    jm = jp.conj().T
    jx = 0.5 * (jp + jm)
    jy = -0.5j * (jp - jm)
    jz = np.diag(m).astype(complex)
    return np.array([jx, jy, jz])


def coherent_state(spin, center) -> np.ndarray:
    """Spin-coherent state ``|I; c⟩`` pointing along ``center``.

    ``|I; c⟩ = exp(−iφĴz) exp(−iθĴy) |I, I⟩`` with ``(θ, φ)`` the polar angles of ``c``;
    its components are ``√binom(2I, I+m) cos(θ/2)^(I+m) sin(θ/2)^(I−m) e^(−imφ)``. It is
    the eigenvector of ``Ĵ·c`` with the largest eigenvalue ``I``, so ``⟨Ĵ⟩ = I c``
    exactly, and its transverse variance is ``⟨(Ĵ·u)²⟩ = I/2`` for ``u ⊥ c``.

    Parameters
    ----------
    spin : float
        ``I`` with ``2I`` a positive integer.
    center : array_like, shape (3,)
        Direction (normalized here; must be non-zero).

    Returns
    -------
    numpy.ndarray
        ``(2I+1,)`` complex, unit norm, basis ``m = I, …, −I`` as in :func:`spin_matrices`.
    """
    i_ = check_spin(spin)
    c = _check_center(center)
    theta = math.acos(max(-1.0, min(1.0, float(c[2]))))
    phi = math.atan2(float(c[1]), float(c[0]))
    two_i = int(round(2 * i_))
    k = np.arange(two_i + 1)                 # k = I − m
    m = i_ - k
    log_binom = np.array([math.lgamma(two_i + 1) - math.lgamma(two_i - kk + 1)
                          - math.lgamma(kk + 1) for kk in k])
    cos_h, sin_h = math.cos(theta / 2), math.sin(theta / 2)
    amp = np.exp(0.5 * log_binom) * np.power(cos_h, two_i - k) * np.power(sin_h, k)
    psi = amp * np.exp(-1j * m * phi)
    return psi / np.linalg.norm(psi)


def total_hamiltonian(A0, A, spin) -> np.ndarray:
    """``Ĥ = A0 ⊗ 1 + Σ_a A_a ⊗ Ĵ_a / I`` on ``C^N ⊗ C^(2I+1)``.

    Parameters
    ----------
    A0 : array_like, shape (N, N)
        The ``n``-independent part of ``H(n)`` (Hermitian, units of energy).
    A : array_like, shape (3, N, N)
        ``A[a] = ∂H/∂n_a`` for ``a = x, y, z`` (Hermitian, units of energy).
    spin : float
        ``I``.

    Returns
    -------
    numpy.ndarray
        ``(N(2I+1), N(2I+1))`` complex Hermitian; the N-level index is the slow one
        (``numpy.kron`` order), i.e. a state vector reshapes to ``(N, 2I+1)``.
    """
    i_ = check_spin(spin)
    A0 = np.asarray(A0, dtype=complex)
    A = np.asarray(A, dtype=complex)
    j = spin_matrices(i_)
    h = np.kron(A0, np.eye(j.shape[1]))
    for a in range(3):
        h = h + np.kron(A[a], j[a] / i_)
    return 0.5 * (h + h.conj().T)


def vmf_mean_resultant(kappa):
    """Length of the mean of a von Mises–Fisher density on S².

    Parameters
    ----------
    kappa : float or array_like
        Concentration ``κ ≥ 0`` of ``ϱ(n) ∝ exp(κ n·c)``.

    Returns
    -------
    float or numpy.ndarray
        ``A(κ) = |⟨n⟩| = coth κ − 1/κ`` (``0`` at ``κ = 0``; ``κ/3`` for small ``κ``).
    """
    k = np.asarray(kappa, dtype=float)
    small = np.abs(k) < 1e-4
    ks = np.where(small, 1.0, k)
    out = np.where(small, k / 3.0 - k ** 3 / 45.0, 1.0 / np.tanh(ks) - 1.0 / ks)
    return float(out) if out.ndim == 0 else out


# -------------------------------------------------------------------- diagnostics

def _package_version():
    from . import __version__
    return str(__version__)


_XYZ = ["x", "y", "z"]


def _dataset(times, rho_q, n_mean, energy, *, spin, hbar, N, method):
    """Assemble the output Dataset from ρ_q (T, N, N), ⟨Ĵ⟩/I (T, 3), ⟨Ĥ⟩ (T,)."""
    rho_q = 0.5 * (rho_q + np.swapaxes(rho_q.conj(), -1, -2))
    lam = np.linalg.eigvalsh(rho_q)
    purity = np.einsum("tij,tji->t", rho_q, rho_q).real
    mass = np.einsum("tii->t", rho_q).real
    i_ = float(spin)
    ds = xr.Dataset(
        data_vars={
            "rho_q_real": (("time", "i", "j"), rho_q.real.copy(), {
                "long_name": "real part of the reduced density matrix Tr_spin ρ",
                "units": "1"}),
            "rho_q_imag": (("time", "i", "j"), rho_q.imag.copy(), {
                "long_name": "imaginary part of the reduced density matrix Tr_spin ρ",
                "units": "1"}),
            "purity": ("time", purity, {
                "long_name": "purity Tr ρ_q² of the reduced density matrix", "units": "1"}),
            "min_eig_rho_q": ("time", lam[:, 0], {
                "long_name": "smallest eigenvalue of the reduced density matrix ρ_q",
                "units": "1"}),
            "mass": ("time", mass, {
                "long_name": "total probability Tr ρ = Tr ρ_q", "units": "1"}),
            "n_mean": (("time", "xyz"), n_mean, {
                "long_name": "mean classical spin direction ⟨Ĵ⟩/I",
                "units": "1"}),
            "energy": ("time", energy, {
                "long_name": "energy ⟨Ĥ⟩ (conserved exactly)",
                "units": "[H]"}),
        },
        coords={
            "time": ("time", np.asarray(times, float), {
                "long_name": "time", "units": "[time]"}),
            "i": ("i", np.arange(N), {"long_name": "row index of ρ_q", "units": "1"}),
            "j": ("j", np.arange(N), {"long_name": "column index of ρ_q", "units": "1"}),
            "xyz": ("xyz", _XYZ, {"long_name": "Cartesian component"}),
        },
        attrs={
            "title": "exact N-level ⊗ spin-I dynamics (spectral_qc.exact)",
            "method": method,
            "spin": i_,
            "hbar": float(hbar),
            "spin_magnitude": float(hbar) * i_,
            "kappa_equivalent": 2.0 * i_,
            "quantization": "n_a -> J_a / I, S = hbar * I, initial state "
                            "rho_q0 ⊗ |I; center><I; center| (spin-coherent); "
                            "classical counterpart: von Mises-Fisher with kappa = 2 I",
            "N": int(N),
            "dimension": int(N * (2 * i_ + 1)),
            "spectral_qc_version": _package_version(),
        },
    )
    return ds


def _observables(states, weights, j_over_i, h_tot, N, M):
    """ρ_q, ⟨Ĵ⟩/I and ⟨Ĥ⟩ of the mixture Σ_k w_k |ψ_k⟩⟨ψ_k|.

    states : (T, N*M, K) complex, the K kets at each time; weights : (K,).
    """
    T, D, K = states.shape
    psi = states.reshape(T, N, M, K)
    rho_q = np.einsum("timk,tjmk,k->tij", psi, psi.conj(), weights)
    n_mean = np.einsum("timk,amn,tink,k->ta", psi.conj(), j_over_i, psi, weights,
                       optimize=True).real
    hpsi = np.einsum("de,tek->tdk", h_tot, states)
    energy = np.einsum("tdk,tdk,k->t", states.conj(), hpsi, weights).real
    return rho_q, n_mean, energy


def _prepare(A0, A, rho_q0, center, spin, times, hbar):
    i_ = check_spin(spin)
    A0 = np.asarray(A0, dtype=complex)
    if A0.ndim != 2 or A0.shape[0] != A0.shape[1]:
        raise ConfigError(f"A0 must be a square (N, N) matrix, got shape {A0.shape}")
    N = A0.shape[0]
    A = np.asarray(A, dtype=complex)
    if A.shape != (3, N, N):
        raise ConfigError(f"A must have shape (3, {N}, {N}), got {A.shape}")
    A0 = _check_hermitian(A0, "A0")
    A = _check_hermitian(A, "A")
    rho_q0 = _check_density(rho_q0, N)
    c = _check_center(center)
    t = _check_times(times)
    h = _check_hbar(hbar)
    return A0, A, rho_q0, c, i_, t, h, N


# ------------------------------------------------------------------------ solvers

def solve_matrices(A0, A, rho_q0, center, spin, times, *, hbar=1.0) -> xr.Dataset:
    """Exact dynamics of ``ρ_q0 ⊗ |I; c⟩⟨I; c|`` under ``Ĥ = A0⊗1 + Σ_a A_a⊗Ĵ_a/I``.

    ``Ĥ`` (dimension ``D = N(2I+1)``) is diagonalized once, ``Ĥ = V E V†``; ``ρ_q0`` is
    split into its eigenvectors, ``ρ_q0 = Σ_k w_k |q_k⟩⟨q_k|``, and each ket
    ``|q_k⟩ ⊗ |I; c⟩`` is propagated with ``U(t) = V exp(−iEt/ħ) V†``. The error is
    round-off only (≈1e-13 for ``D`` of a few hundred), at any time.

    Parameters
    ----------
    A0 : array_like, shape (N, N)
        ``H(0)``, Hermitian, units of energy.
    A : array_like, shape (3, N, N)
        ``A[a] = ∂H/∂n_a`` (``a = x, y, z``), Hermitian, units of energy; the hybrid
        Hamiltonian is ``H(n) = A0 + Σ_a n_a A[a]``.
    rho_q0 : array_like, shape (N, N)
        Initial density matrix of the N-level system (Hermitian, trace 1, positive
        semidefinite; may be mixed).
    center : array_like, shape (3,)
        Direction of the initial spin-coherent state (normalized here).
    spin : float
        Spin quantum number ``I`` (``2I`` a positive integer: 0.5, 1, 1.5, ...).
    times : array_like, shape (T,)
        Output times, strictly increasing, ``times[0] == 0``; units of ``ħ/[H]``.
    hbar : float, optional
        Reduced Planck constant (default 1). The spin magnitude of the classical
        counterpart is ``S = ħ I``.

    Returns
    -------
    xarray.Dataset
        Coordinates ``time`` (T,), ``i``, ``j`` (N,), ``xyz`` = ``["x", "y", "z"]``;
        variables ``rho_q_real``, ``rho_q_imag`` (time, i, j), ``purity``,
        ``min_eig_rho_q``, ``mass`` (= Tr ρ_q), ``energy`` (= ⟨Ĥ⟩) (time), and
        ``n_mean`` (time, xyz) = ``⟨Ĵ⟩/I``. Attributes ``spin``, ``hbar``,
        ``spin_magnitude`` (= ħI), ``kappa_equivalent`` (= 2I), ``method``.

    Raises
    ------
    ValueError
        On a bad spin, non-Hermitian matrices, a ``rho_q0`` that is not a density
        matrix, a zero ``center`` or bad ``times``.
    """
    A0, A, rho_q0, c, i_, t, h, N = _prepare(A0, A, rho_q0, center, spin, times, hbar)
    M = int(round(2 * i_)) + 1
    h_tot = total_hamiltonian(A0, A, i_)
    energies, V = np.linalg.eigh(h_tot)

    w, q = np.linalg.eigh(rho_q0)               # ρ_q0 = Σ_k w_k |q_k⟩⟨q_k|
    keep = w > 1e-15
    w, q = w[keep], q[:, keep]
    coh = coherent_state(i_, c)
    psi0 = np.einsum("ik,m->imk", q, coh).reshape(N * M, -1)     # (D, K)

    coeff = V.conj().T @ psi0                                    # (D, K)
    phase = np.exp(-1j * np.outer(t, energies) / h)               # (T, D)
    states = np.einsum("de,te,ek->tdk", V, phase, coeff)          # (T, D, K)

    j_over_i = spin_matrices(i_) / i_
    rho_q, n_mean, energy = _observables(states, w, j_over_i, h_tot, N, M)
    return _dataset(t, rho_q, n_mean, energy, spin=i_, hbar=h, N=N,
                    method="eigendecomposition of the total Hamiltonian")


def solve_qutip(A0, A, rho_q0, center, spin, times, *, hbar=1.0, atol=1e-14,
                rtol=1e-13) -> xr.Dataset:
    """The problem of :func:`solve_matrices`, integrated by QuTiP (for cross-checks).

    Builds ``Ĥ/ħ`` from ``qutip.jmat`` and the initial state from
    ``qutip.spin_coherent`` (independent of :func:`spin_matrices` and
    :func:`coherent_state`), integrates ``dρ/dt = −i[Ĥ/ħ, ρ]`` with ``qutip.mesolve``
    and takes the partial trace with ``Qobj.ptrace``.

    Parameters
    ----------
    A0, A, rho_q0, center, spin, times, hbar
        As in :func:`solve_matrices`.
    atol, rtol : float, optional
        Tolerances of QuTiP's ODE integrator.

    Returns
    -------
    xarray.Dataset
        Same variables, coordinates and attributes as :func:`solve_matrices`
        (``attrs["method"]`` names QuTiP).

    Raises
    ------
    ImportError
        If QuTiP is not installed (``pip install 'spectral_qc[exact]'``).
    """
    try:
        import qutip
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_QUTIP_HINT) from exc
    A0, A, rho_q0, c, i_, t, h, N = _prepare(A0, A, rho_q0, center, spin, times, hbar)
    M = int(round(2 * i_)) + 1
    jq = [qutip.jmat(i_, ax) for ax in ("x", "y", "z")]
    Hq = qutip.tensor(qutip.Qobj(A0), qutip.qeye(M))
    for a in range(3):
        Hq = Hq + qutip.tensor(qutip.Qobj(A[a]), jq[a] / i_)
    theta = math.acos(max(-1.0, min(1.0, float(c[2]))))
    phi = math.atan2(float(c[1]), float(c[0]))
    coh = qutip.spin_coherent(i_, theta, phi)
    rho0 = qutip.tensor(qutip.Qobj(rho_q0), coh * coh.dag())
    opts = {"atol": atol, "rtol": rtol, "nsteps": 10 ** 6, "store_states": True}
    res = qutip.mesolve(Hq / h, rho0, t, c_ops=[], e_ops=[], options=opts)
    rho_q = np.array([s.ptrace(0).full() for s in res.states])
    ops = [qutip.tensor(qutip.qeye(N), jq[a] / i_) for a in range(3)]
    n_mean = np.array([[qutip.expect(op, s) for op in ops] for s in res.states]).real
    energy = np.array([qutip.expect(Hq, s) for s in res.states]).real
    ds = _dataset(t, rho_q, n_mean, energy, spin=i_, hbar=h, N=N,
                  method=f"qutip.mesolve (qutip {qutip.__version__})")
    return ds


# ------------------------------------------------------------------ from a config

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
    single = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]),
              "Y": np.array([[0, -1j], [1j, 0]]), "Z": np.diag([1.0, -1.0])}
    labels = [""]
    mats = [np.ones((1, 1), complex)]
    for _ in range(k):
        labels = [lab + s for lab in labels for s in "IXYZ"]
        mats = [np.kron(m, single[s]) for m in mats for s in "IXYZ"]
    return labels, mats


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


def solve(config, spin, *, method="eig") -> xr.Dataset:
    """Exact N-level ⊗ spin-I dynamics for a run configuration (contract §5).

    ``sq.exact.solve(config, spin=I)``: the classical spin of the config is replaced by a
    quantum spin ``I`` (``n → Ĵ/I``, ``S = ħI``) starting in the spin-coherent state along
    ``[initial.classical].center``; the N-level system starts in ``[initial.quantum]``.
    Output times are ``0, output_every, …, t_end``.

    Parameters
    ----------
    config : str, os.PathLike, dict or spectral_qc.config.Config
        A TOML path, a dict of the TOML structure, or a loaded config. Its Hamiltonian
        must be at most linear in ``n`` in every component.
    spin : float
        Spin quantum number ``I`` (``2I`` a positive integer).
    method : {"eig", "qutip"}, optional
        ``"eig"`` (default): :func:`solve_matrices`; ``"qutip"``: :func:`solve_qutip`.

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
    from .config import Config, load_config   # lazy: keeps this module light

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
    fn = solve_matrices if method == "eig" else solve_qutip
    ds = fn(A0, A, rho_q0, center, i_, times, hbar=hbar)

    try:
        from .config import dumps_config
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
