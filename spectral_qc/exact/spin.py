"""Spin algebra of the exact reference: spin-I matrices, spin-coherent states, the
total Hamiltonian on ``C^N ⊗ C^(2I+1)``, and the von Mises–Fisher mean resultant of the
classical counterpart (see :mod:`spectral_qc.exact`)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import ConfigError


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




def _check_center(center):
    c = np.asarray(center, dtype=float)
    if c.shape != (3,) or not np.all(np.isfinite(c)):
        raise ConfigError(f"center must be 3 finite numbers, got {center!r}")
    norm = float(np.linalg.norm(c))
    if norm == 0.0:
        raise ConfigError("center must be a non-zero vector")
    return c / norm




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

