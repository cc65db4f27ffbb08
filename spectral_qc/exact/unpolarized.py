"""Exact dynamics with an unpolarized quantum spin (κ = 0), equivalent nuclei through their
total-spin multiplets, and Haberkorn recombination (see ``docs/exact.md`` §5).

The classical counterpart of the uniform density (κ = 0) is the maximally mixed spin state
``1/(2I+1)``. ``n`` equivalent spins ``I`` that enter ``H`` only through their sum
``Ĵ = Σ_k Î_k`` are handled exactly through the multiplets of the total spin: the product
space ``(C^(2I+1))^⊗n`` splits into multiplets ``J`` with multiplicities ``m_J``, ``Ĵ`` acts
as the spin-``J`` matrices on each, and the maximally mixed state of all the spins is the
mixture of the multiplets with weights ``w_J = m_J (2J+1) / (2I+1)^n``. Every block
evolves on its own, so ``ρ_q(t) = Σ_J w_J Tr_J ρ_J(t)``.

Quantization as in :mod:`spectral_qc.exact`: ``n_a → Ĵ_a / I`` with ``I`` the size of *one*
spin (a config written for one spin ``I`` and ``S = ħI`` then describes each of the ``n``
equivalent spins), so ``Ĥ_J = A0 ⊗ 1 + Σ_a A_a ⊗ Ĵ_a^(J) / I``.

Recombination (Haberkorn): ``dρ/dt = −(i/ħ)[Ĥ, ρ] − {K, ρ}/2``, ``K = Σ_c k_c P_c`` on the
N-level system, i.e. ``ρ(t) = e^{−iĤ_eff t/ħ} ρ0 e^{iĤ_eff† t/ħ}`` with
``Ĥ_eff = Ĥ − (iħ/2) K ⊗ 1``. The yield of channel ``c`` is
``Φ_c = k_c ∫_0^∞ Tr(P_c ρ(t)) dt``; ``X = ∫_0^∞ ρ dt`` solves the Sylvester equation
``Ĥ_eff X − X Ĥ_eff† = −iħ ρ0``, so the yields need no time grid and no truncation.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from ..errors import ConfigError
from .solvers import _check_hermitian, _dataset, _prepare_common
from .spin import check_spin, spin_matrices


def equivalent_multiplets(spin, count=1) -> list[tuple[float, int]]:
    """Total-spin multiplets of ``count`` equivalent spins ``I``.

    Repeated Clebsch–Gordan coupling ``J ⊗ I = |J−I| ⊕ … ⊕ (J+I)``.

    Parameters
    ----------
    spin : float
        ``I`` of each spin (``2I`` a positive integer).
    count : int
        Number of equivalent spins (≥ 1).

    Returns
    -------
    list of (J, m_J)
        Total spin ``J`` (ascending) and its multiplicity; ``Σ m_J (2J+1) = (2I+1)^count``.
        Two protons: ``[(0, 1), (1, 1)]``; three: ``[(0.5, 2), (1.5, 1)]``.
    """
    i_ = check_spin(spin)
    if isinstance(count, bool) or int(count) != count or count < 1:
        raise ConfigError(f"count = {count!r}: the number of equivalent spins must be an "
                          "integer ≥ 1")
    two_i = int(round(2 * i_))
    mult = {two_i: 1}                              # keys: 2J
    for _ in range(int(count) - 1):
        new = {}
        for two_j, m in mult.items():
            for two_k in range(abs(two_j - two_i), two_j + two_i + 1, 2):
                new[two_k] = new.get(two_k, 0) + m
        mult = new
    return [(k / 2.0, mult[k]) for k in sorted(mult)]


def multiplet_weights(spin, count=1) -> list[tuple[float, float]]:
    """``(J, w_J)`` with ``w_J = m_J (2J+1) / (2I+1)^count``: the probability of multiplet
    ``J`` in the maximally mixed state of ``count`` spins ``I`` (the weights sum to 1)."""
    i_ = check_spin(spin)
    dim = (2 * i_ + 1) ** int(count)
    return [(j, m * (2 * j + 1) / dim) for j, m in equivalent_multiplets(i_, count)]


def _check_channels(channels, N):
    """``[(k_c, P_c), …]`` → the decay operator ``K = Σ k_c P_c`` (N, N) and the list."""
    out = []
    K = np.zeros((N, N), dtype=complex)
    for c, item in enumerate(channels or ()):
        try:
            k, P = item
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"channels[{c}] must be a pair (rate, projector)") from exc
        k = float(k)
        if not (np.isfinite(k) and k >= 0):
            raise ConfigError(f"channels[{c}]: rate {k!r} must be a finite number ≥ 0")
        P = _check_hermitian(np.asarray(P, dtype=complex), f"channels[{c}] projector")
        if P.shape != (N, N):
            raise ConfigError(f"channels[{c}]: projector has shape {P.shape}, expected "
                              f"({N}, {N})")
        out.append((k, P))
        K = K + k * P
    return K, out


def _blocks(A0, A, spin, count, hbar, K):
    """Per multiplet: ``(w_J, J, Ĥ_J, Ĥ_eff,J, (Ĵ/I) (3, M, M))``."""
    i_ = check_spin(spin)
    N = A0.shape[0]
    for j, w in multiplet_weights(i_, count):
        M = int(round(2 * j)) + 1
        jm = spin_matrices(j) if j > 0 else np.zeros((3, 1, 1), dtype=complex)
        h = np.kron(A0, np.eye(M))
        for a in range(3):
            h = h + np.kron(A[a], jm[a] / i_)
        h = 0.5 * (h + h.conj().T)
        h_eff = h - 0.5j * hbar * np.kron(K, np.eye(M))
        yield w, j, h, h_eff, jm / i_, N, M


def solve_unpolarized(A0, A, rho_q0, spin, times, *, hbar=1.0, count=1,
                      channels=None):
    """Exact dynamics of ``ρ_q0 ⊗ 1/(2I+1)^count`` (unpolarized spins, κ = 0).

    Each multiplet ``J`` of the ``count`` equivalent spins evolves under
    ``Ĥ_J = A0⊗1 + Σ_a A_a⊗Ĵ_a^(J)/I`` from ``ρ_q0 ⊗ 1/(2J+1)``; without ``channels``
    by ``eigh`` of ``Ĥ_J`` (as :func:`solve_matrices`), with channels by
    ``scipy.linalg.expm(−iĤ_eff t/ħ)`` at every output time (no accumulation).

    Parameters
    ----------
    A0, A, rho_q0, times, hbar
        As in :func:`spectral_qc.exact.solve_matrices`.
    spin : float
        ``I`` of each spin.
    count : int, optional
        Number of equivalent spins (default 1).
    channels : sequence of (float, array_like (N, N)), optional
        Haberkorn recombination channels ``(k_c, P_c)``: rate (units 1/[time]) and
        projector on the N-level system (radical pair: ``(k_S, P_S), (k_T, P_T)``).

    Returns
    -------
    xarray.Dataset
        The variables of :func:`solve_matrices`; ``n_mean`` is ``⟨Ĵ⟩/I`` of the total
        spin (0 at t = 0); ``mass`` = ``Tr ρ_q`` decays with recombination (and ``energy``
        = ``Tr(Ĥρ)`` is then not conserved). Extra attributes ``count``,
        ``nuclear_state`` = ``"maximally mixed"``, ``multiplets`` (text ``J:w_J, …``),
        ``rates`` (the channel rates).
    """
    A0, A, rho_q0, i_, t, h, N = _prepare_common(A0, A, rho_q0, spin, times, hbar)
    K, chans = _check_channels(channels, N)
    decay = bool(np.any(K != 0))
    T = t.size
    rho_q = np.zeros((T, N, N), dtype=complex)
    n_mean = np.zeros((T, 3))
    energy = np.zeros(T)
    for w, j, h_j, h_eff, j_over_i, N_, M in _blocks(A0, A, i_, count, h, K):
        rho0 = np.kron(rho_q0, np.eye(M) / M)
        rho_t = _propagate(h_j, h_eff, rho0, t, h, decay)            # (T, D, D)
        r = rho_t.reshape(T, N, M, N, M)
        rho_q += w * np.einsum("timjm->tij", r)
        n_mean += w * np.einsum("amn,tinim->ta", j_over_i, r).real
        energy += w * np.einsum("de,ted->t", h_j, rho_t).real
    method = ("eigendecomposition per total-spin multiplet" if not decay else
              "scipy.linalg.expm of the Haberkorn effective Hamiltonian per multiplet")
    ds = _dataset(t, rho_q, n_mean, energy, spin=i_, hbar=h, N=N, method=method)
    ds.attrs.update(
        count=int(count), nuclear_state="maximally mixed",
        multiplets=", ".join(f"{j:g}:{w:.12g}" for j, w in multiplet_weights(i_, count)),
        rates=np.array([k for k, _ in chans], float),
        dimension=int(N * (2 * i_ + 1) ** int(count)))
    ds.attrs["quantization"] = ("n_a -> J_a / I (J the total spin of the equivalent "
                                "spins), S = hbar * I, initial state rho_q0 ⊗ 1/(2I+1)^count "
                                "(maximally mixed); classical counterpart: kappa = 0")
    return ds


def _propagate(h, h_eff, rho0, t, hbar, decay):
    """ρ(t) (T, D, D) from ρ0 under ``Ĥ`` (Hermitian, ``decay`` False) or ``Ĥ_eff``."""
    if not decay:
        e, V = np.linalg.eigh(h)
        r0 = V.conj().T @ rho0 @ V
        ph = np.exp(-1j * np.outer(t, e) / hbar)                  # (T, D)
        r = ph[:, :, None] * r0[None] * ph[:, None, :].conj()
        return np.einsum("de,tef,gf->tdg", V, r, V.conj(), optimize=True)
    out = np.empty((t.size,) + rho0.shape, dtype=complex)
    for k, tk in enumerate(t):
        U = sla.expm(-1j * h_eff * (tk / hbar))
        out[k] = U @ rho0 @ U.conj().T
    return out


def recombination_yields(A0, A, rho_q0, spin, channels, *, hbar=1.0, count=1):
    """Exact Haberkorn yields ``Φ_c = k_c ∫_0^∞ Tr(P_c ρ(t)) dt`` (unpolarized spins).

    Per multiplet, ``X_J = ∫_0^∞ ρ_J dt`` from the Sylvester equation
    ``Ĥ_eff X − X Ĥ_eff† = −iħ ρ0`` (``scipy.linalg.solve_sylvester``); no time grid, no
    truncation. With ``k_S = k_T = k`` this is the exponential model,
    ``Φ_S = k ∫_0^∞ P_S(t) e^{−kt} dt``.

    Parameters
    ----------
    A0, A, rho_q0, spin, hbar, count
        As in :func:`solve_unpolarized`.
    channels : sequence of (float, array_like (N, N))
        ``(k_c, P_c)``; ``K = Σ k_c P_c`` must be positive definite (every state decays),
        otherwise the integral diverges (``ConfigError``).

    Returns
    -------
    numpy.ndarray, shape (len(channels),)
        The yields (dimensionless; they sum to 1 when the projectors sum to 1).
    """
    A0, A, rho_q0, i_, _, h, N = _prepare_common(A0, A, rho_q0, spin, [0.0], hbar)
    K, chans = _check_channels(channels, N)
    if not chans or float(np.linalg.eigvalsh(K)[0]) <= 0:
        raise ConfigError("channels: the decay operator K = Σ k_c P_c must be positive "
                          "definite for finite yields (give every state a rate k > 0)")
    yields = np.zeros(len(chans))
    for w, j, h_j, h_eff, _, N_, M in _blocks(A0, A, i_, count, h, K):
        rho0 = np.kron(rho_q0, np.eye(M) / M)
        X = sla.solve_sylvester(h_eff, -h_eff.conj().T, -1j * h * rho0)
        Xq = np.einsum("imjm->ij", X.reshape(N, M, N, M))
        for c, (k, P) in enumerate(chans):
            yields[c] += w * k * float(np.trace(P @ Xq).real)
    return yields
