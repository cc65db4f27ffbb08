"""The exact solvers: propagate ``ρ_q0 ⊗ |I; c⟩⟨I; c|`` under the total Hamiltonian,
by eigendecomposition (:func:`solve_matrices`) or with QuTiP (:func:`solve_qutip`), and
return the Dataset with the names of the solver's ``diagnostics.nc``."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from .. import hermitian as hm
from ..errors import ConfigError
from ..version import __version__
from .spin import _check_center, check_spin, coherent_state, spin_matrices, total_hamiltonian

_QUTIP_HINT = ("the QuTiP cross-check needs the optional dependency qutip: "
               "pip install 'spectral_qc[exact]'")


def _check_hermitian(m, name):
    """``m`` (..., N, N): finite and Hermitian to 1e-10 of its largest entry (at least 1);
    returns its Hermitian part."""
    m = np.asarray(m, dtype=complex)
    if not np.all(np.isfinite(m)):
        raise ConfigError(f"{name} contains non-finite values")
    scale = max(1.0, float(np.max(np.abs(m)))) if m.size else 1.0
    matrices_first = np.moveaxis(m, (-2, -1), (0, 1))
    if not hm.is_hermitian(matrices_first, tol=1e-10 * scale):
        dev = float(np.max(np.abs(m - np.swapaxes(m.conj(), -1, -2))))
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
            "spectral_qc_version": str(__version__),
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
    A0, A, rho_q0, i_, t, h, N = _prepare_common(A0, A, rho_q0, spin, times, hbar)
    c = _check_center(center)
    return A0, A, rho_q0, c, i_, t, h, N


def _prepare_common(A0, A, rho_q0, spin, times, hbar):
    """Checked ``(A0, A, rho_q0, I, times, hbar, N)`` (everything but the center)."""
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
    t = _check_times(times)
    h = _check_hbar(hbar)
    return A0, A, rho_q0, i_, t, h, N



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

