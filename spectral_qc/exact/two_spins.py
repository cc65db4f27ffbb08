"""Exact reference for two classical spins (issue 17 item 4): an N-level system coupled to
two quantum spins ``I1`` and ``I2``, on ``C^N ⊗ C^(2I1+1) ⊗ C^(2I2+1)``.

The hybrid Hamiltonian has entries at most bilinear in ``(n1, n2)`` (paper §4.4, eq. 55
with j = 2)::

    H(n1, n2) = A0 + Σ_a n1_a A_a + Σ_b n2_b B_b + Σ_ab n1_a n2_b C_ab

and every spin is quantized as for one spin (``docs/exact.md``): ``n_a → Ĵ_a/I``,
``S = ħI`` per spin, so that ``{·,·}`` (the sum over spins) maps to ``(1/iħ)[·,·]`` on the
(bi)linear functions. Because ``Ĵ1`` and ``Ĵ2`` commute, the products ``n1_a n2_b`` have no
ordering ambiguity::

    Ĥ = A0⊗1⊗1 + Σ_a A_a⊗Ĵ1_a/I1⊗1 + Σ_b B_b⊗1⊗Ĵ2_b/I2 + Σ_ab C_ab⊗Ĵ1_a/I1⊗Ĵ2_b/I2

The initial state is ``ρq0 ⊗ |I1; c1⟩⟨I1; c1| ⊗ |I2; c2⟩⟨I2; c2|`` (spin-coherent states;
classical counterpart a product of von Mises–Fisher densities with ``κ_a = 2I_a``); ``Ĥ``
is diagonalized once and the state propagated exactly, ``U(t) = V exp(−iEt/ħ) V†``.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from ..errors import ConfigError
from ..version import __version__
from .solvers import _check_hermitian, _prepare_common
from .spin import _check_center, check_spin, coherent_state, spin_matrices

_XYZ = ["x", "y", "z"]


def _check_pair(value, name):
    seq = list(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if seq is None or len(seq) != 2:
        raise ConfigError(f"{name} = {value!r} must be a pair (one entry per classical spin)")
    return seq


def _prepare_two(A0, A, B, C, rho_q0, centers, spins, times, hbar):
    """Checked inputs: ``(A0, A, B, C, rho_q0, (c1, c2), (I1, I2), times, hbar, N)``."""
    s1, s2 = (check_spin(s) for s in _check_pair(spins, "spins"))
    A0, A, rho_q0, _, t, h, N = _prepare_common(A0, A, rho_q0, s1, times, hbar)
    B = np.asarray(B, dtype=complex)
    if B.shape != (3, N, N):
        raise ConfigError(f"B must have shape (3, {N}, {N}), got {B.shape}")
    C = np.zeros((3, 3, N, N), complex) if C is None else np.asarray(C, dtype=complex)
    if C.shape != (3, 3, N, N):
        raise ConfigError(f"C must have shape (3, 3, {N}, {N}), got {C.shape}")
    B = _check_hermitian(B, "B")
    C = _check_hermitian(C, "C")
    c1, c2 = (_check_center(c) for c in _check_pair(centers, "centers"))
    return A0, A, B, C, rho_q0, (c1, c2), (s1, s2), t, h, N


def two_spin_operators(spins):
    """``(Ĵ1/I1, Ĵ2/I2)`` as ``(3, M1, M1)`` and ``(3, M2, M2)`` complex (units 1)."""
    return tuple(spin_matrices(s) / check_spin(s) for s in spins)


def two_spin_hamiltonian(A0, A, B, C, spins) -> np.ndarray:
    """The quantized ``Ĥ`` on ``C^N ⊗ C^M1 ⊗ C^M2`` (``M_a = 2I_a + 1``).

    Parameters
    ----------
    A0 : (N, N); A, B : (3, N, N); C : (3, 3, N, N) or None — Hermitian, units of energy;
        ``C[a, b]`` multiplies ``n1_a n2_b``.
    spins : (I1, I2)

    Returns
    -------
    numpy.ndarray
        ``(N M1 M2, N M1 M2)`` complex Hermitian; index order N (slowest), M1, M2
        (``numpy.kron`` order), so a ket reshapes to ``(N, M1, M2)``.
    """
    j1, j2 = two_spin_operators(spins)
    A0 = np.asarray(A0, complex)
    A, B = np.asarray(A, complex), np.asarray(B, complex)
    e1, e2 = np.eye(j1.shape[1]), np.eye(j2.shape[1])
    h = np.kron(np.kron(A0, e1), e2)
    for a in range(3):
        h = h + np.kron(np.kron(A[a], j1[a]), e2) + np.kron(np.kron(B[a], e1), j2[a])
    if C is not None:
        C = np.asarray(C, complex)
        for a in range(3):
            for b in range(3):
                if np.any(C[a, b]):
                    h = h + np.kron(np.kron(C[a, b], j1[a]), j2[b])
    return 0.5 * (h + h.conj().T)


def _initial_kets(rho_q0, centers, spins):
    """Weights ``w (K,)`` and kets ``(N M1 M2, K)`` of ``ρq0 ⊗ |c1⟩⟨c1| ⊗ |c2⟩⟨c2|``."""
    w, q = np.linalg.eigh(rho_q0)
    keep = w > 1e-15
    w, q = w[keep], q[:, keep]
    coh1 = coherent_state(spins[0], centers[0])
    coh2 = coherent_state(spins[1], centers[1])
    psi0 = np.einsum("ik,m,p->impk", q, coh1, coh2)
    return w, psi0.reshape(-1, psi0.shape[-1])


def _observables_two(states, weights, ops, h_tot, N, M1, M2):
    """ρq (T, N, N), ⟨Ĵ_a⟩/I_a (T, 2, 3), ⟨Ĥ⟩ (T,) of Σ_k w_k |ψ_k⟩⟨ψ_k|; states (T, D, K)."""
    T, D, K = states.shape
    psi = states.reshape(T, N, M1, M2, K)
    rho_q = np.einsum("timpk,tjmpk,k->tij", psi, psi.conj(), weights, optimize=True)
    n1 = np.einsum("timpk,amn,tinpk,k->ta", psi.conj(), ops[0], psi, weights,
                   optimize=True).real
    n2 = np.einsum("timpk,apq,timqk,k->ta", psi.conj(), ops[1], psi, weights,
                   optimize=True).real
    hpsi = np.einsum("de,tek->tdk", h_tot, states, optimize=True)
    energy = np.einsum("tdk,tdk,k->t", states.conj(), hpsi, weights).real
    return rho_q, np.stack([n1, n2], axis=1), energy


def _dataset_two(times, rho_q, n_mean, energy, *, spins, hbar, N, method):
    rho_q = 0.5 * (rho_q + np.swapaxes(rho_q.conj(), -1, -2))
    lam = np.linalg.eigvalsh(rho_q)
    purity = np.einsum("tij,tji->t", rho_q, rho_q).real
    mass = np.einsum("tii->t", rho_q).real
    s = [float(x) for x in spins]
    dim = int(N * (2 * s[0] + 1) * (2 * s[1] + 1))
    one = {"units": "1"}
    return xr.Dataset(
        data_vars={
            "rho_q_real": (("time", "i", "j"), rho_q.real.copy(), {
                "long_name": "real part of Tr_spins ρ", **one}),
            "rho_q_imag": (("time", "i", "j"), rho_q.imag.copy(), {
                "long_name": "imaginary part of Tr_spins ρ", **one}),
            "purity": ("time", purity, {"long_name": "purity Tr ρq²", **one}),
            "min_eig_rho_q": ("time", lam[:, 0], {
                "long_name": "smallest eigenvalue of ρq", **one}),
            "mass": ("time", mass, {"long_name": "Tr ρ = Tr ρq", **one}),
            "n_mean": (("time", "spin", "xyz"), n_mean, {
                "long_name": "mean direction of each classical spin ⟨Ĵ_a⟩/I_a", **one}),
            "energy": ("time", energy, {"long_name": "energy ⟨Ĥ⟩ (conserved exactly)",
                                        "units": "[H]"}),
        },
        coords={
            "time": ("time", np.asarray(times, float), {"long_name": "time",
                                                        "units": "[time]"}),
            "i": ("i", np.arange(N)), "j": ("j", np.arange(N)),
            "spin": ("spin", np.arange(1, 3), {"long_name": "classical spin index a"}),
            "xyz": ("xyz", _XYZ, {"long_name": "Cartesian component"}),
        },
        attrs={
            "title": "exact N-level ⊗ spin-I1 ⊗ spin-I2 dynamics (spectral_qc.exact)",
            "method": method, "spins": s, "hbar": float(hbar),
            "spin_magnitudes": [float(hbar) * x for x in s],
            "kappa_equivalent": [2.0 * x for x in s],
            "quantization": "n_a -> J_a / I_a per spin, S_a = hbar * I_a, initial state "
                            "rho_q0 ⊗ |I1; c1><I1; c1| ⊗ |I2; c2><I2; c2|; classical "
                            "counterpart: product of von Mises-Fisher with kappa_a = 2 I_a",
            "N": int(N), "dimension": dim, "spectral_qc_version": str(__version__),
        })


def solve_two_spins(A0, A, B, C, rho_q0, centers, spins, times, *, hbar=1.0) -> xr.Dataset:
    """Exact dynamics of ``ρq0 ⊗ |I1; c1⟩⟨…| ⊗ |I2; c2⟩⟨…|`` under the quantized
    ``H(n1, n2) = A0 + Σ n1_a A_a + Σ n2_b B_b + Σ n1_a n2_b C_ab`` (module docstring).

    ``Ĥ`` (dimension ``D = N(2I1+1)(2I2+1)``; 3362 for N = 2, I1 = I2 = 20) is diagonalized
    once; each eigenvector of ``ρq0`` times the two coherent states is propagated with
    ``U(t) = V exp(−iEt/ħ) V†``. The error is round-off only, at any time.

    Parameters
    ----------
    A0 : array_like (N, N)
        ``H(0, 0)``, Hermitian, units of energy.
    A, B : array_like (3, N, N)
        ``∂H/∂n1_a`` and ``∂H/∂n2_b`` at 0, Hermitian.
    C : array_like (3, 3, N, N) or None
        ``∂²H/∂n1_a∂n2_b``, Hermitian (None: no bilinear term).
    rho_q0 : array_like (N, N)
        Initial density matrix (Hermitian, trace 1, positive semidefinite).
    centers : pair of array_like (3,)
        Directions of the two coherent states (normalized here).
    spins : pair of float
        ``(I1, I2)``, each with ``2I`` a positive integer.
    times : array_like (T,)
        Output times, increasing, starting at 0; units ``ħ/[H]``.
    hbar : float
        ħ (default 1); the classical counterparts have ``S_a = ħ I_a``.

    Returns
    -------
    xarray.Dataset
        ``rho_q_real``, ``rho_q_imag`` (time, i, j), ``purity``, ``min_eig_rho_q``,
        ``mass``, ``energy`` (time), ``n_mean`` (time, spin, xyz) = ``⟨Ĵ_a⟩/I_a``;
        attributes ``spins``, ``hbar``, ``spin_magnitudes``, ``kappa_equivalent``,
        ``dimension``, ``method``.

    Raises
    ------
    ConfigError
        On bad spins, shapes, non-Hermitian matrices, a ``rho_q0`` that is not a density
        matrix, zero centers or bad times.
    """
    A0, A, B, C, rho_q0, centers, spins, t, h, N = _prepare_two(
        A0, A, B, C, rho_q0, centers, spins, times, hbar)
    M1, M2 = (int(round(2 * s)) + 1 for s in spins)
    h_tot = two_spin_hamiltonian(A0, A, B, C, spins)
    energies, V = np.linalg.eigh(h_tot)
    w, psi0 = _initial_kets(rho_q0, centers, spins)
    coeff = V.conj().T @ psi0                                     # (D, K)
    phase = np.exp(-1j * np.outer(t, energies) / h)                # (T, D)
    states = np.einsum("de,te,ek->tdk", V, phase, coeff, optimize=True)
    rho_q, n_mean, energy = _observables_two(states, w, two_spin_operators(spins), h_tot,
                                             N, M1, M2)
    return _dataset_two(t, rho_q, n_mean, energy, spins=spins, hbar=h, N=N,
                        method="eigendecomposition of the total Hamiltonian")


def solve_two_spins_qutip(A0, A, B, C, rho_q0, centers, spins, times, *, hbar=1.0,
                          atol=1e-14, rtol=1e-13) -> xr.Dataset:
    """The problem of :func:`solve_two_spins` integrated by QuTiP (cross-check).

    ``Ĥ`` from ``qutip.jmat`` and ``qutip.tensor``, the initial state from
    ``qutip.spin_coherent``, ``qutip.sesolve`` for each eigenvector of ``ρq0`` (a pure
    ``ρq0`` is one ket) and ``Qobj.ptrace`` — independent of :func:`spin_matrices`,
    :func:`coherent_state` and of the eigendecomposition. Same outputs.
    """
    try:
        import qutip
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the QuTiP cross-check needs qutip: "
                          "pip install 'spectral_qc[exact]'") from exc
    A0, A, B, C, rho_q0, centers, spins, t, h, N = _prepare_two(
        A0, A, B, C, rho_q0, centers, spins, times, hbar)
    M1, M2 = (int(round(2 * s)) + 1 for s in spins)
    j1 = [qutip.jmat(spins[0], ax) / spins[0] for ax in "xyz"]
    j2 = [qutip.jmat(spins[1], ax) / spins[1] for ax in "xyz"]
    e1, e2 = qutip.qeye(M1), qutip.qeye(M2)
    Q = qutip.Qobj
    Hq = qutip.tensor(Q(A0), e1, e2)
    for a in range(3):
        Hq = Hq + qutip.tensor(Q(A[a]), j1[a], e2) + qutip.tensor(Q(B[a]), e1, j2[a])
        for b in range(3):
            Hq = Hq + qutip.tensor(Q(C[a, b]), j1[a], j2[b])
    cohs = []
    for s, c in zip(spins, centers):
        theta = math.acos(max(-1.0, min(1.0, float(c[2]))))
        cohs.append(qutip.spin_coherent(s, theta, math.atan2(float(c[1]), float(c[0]))))
    w, q = np.linalg.eigh(rho_q0)
    opts = {"atol": atol, "rtol": rtol, "nsteps": 10 ** 6, "store_states": True}
    dens = 0.0
    for wk, qk in zip(w, q.T):
        if wk <= 1e-15:
            continue
        psi0 = qutip.tensor(Q(qk.reshape(N, 1)), *cohs)
        res = qutip.sesolve(Hq / h, psi0, t, e_ops=[], options=opts)
        kets = np.array([s.full().ravel() for s in res.states])          # (T, D)
        dens = dens + wk * np.einsum("td,te->tde", kets, kets.conj())
    rho_full = [Q(d, dims=[[N, M1, M2], [N, M1, M2]]) for d in dens]
    rho_q = np.array([r.ptrace(0).full() for r in rho_full])
    ops1 = [qutip.tensor(qutip.qeye(N), j1[a], e2) for a in range(3)]
    ops2 = [qutip.tensor(qutip.qeye(N), e1, j2[a]) for a in range(3)]
    n_mean = np.array([[[qutip.expect(op, r) for op in ops] for ops in (ops1, ops2)]
                       for r in rho_full]).real
    energy = np.array([qutip.expect(Hq, r) for r in rho_full]).real
    return _dataset_two(t, rho_q, n_mean, energy, spins=spins, hbar=h, N=N,
                        method=f"qutip.sesolve (qutip {qutip.__version__})")
