"""N×N Hermitian matrix fields in a real orthonormal basis.

The basis (``basis(N)``, shape ``(N², N, N)``) is orthonormal for ``⟨A, B⟩ = Tr(AB)``:

* ``E_0 = 1/√N`` (the identity direction),
* for each pair j < k the symmetric and antisymmetric generalized Gell-Mann matrices
  ``(|j⟩⟨k| + |k⟩⟨j|)/√2`` and ``(-i|j⟩⟨k| + i|k⟩⟨j|)/√2``,
* the N-1 diagonal ones ``diag(1, …, 1, -d, 0, …)/√(d(d+1))``, d = 1 … N-1.

For a qubit this is ``(1, σx, σy, σz)/√2``, so a density matrix ``P = (1 + b·σ)/2`` has
components ``(1, b)/√2``. A Hermitian A has the real components ``c_a = Tr(E_a A)``
and ``A = Σ_a c_a E_a``: every matrix field is a batch of N² real scalar fields, and every
spherical-harmonic transform is a real scalar transform.

Matrix fields on the grid are complex arrays ``(N, N, ...)`` (matrix axes first);
component fields are real arrays ``(N², ...)``.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=None)
def basis(n: int) -> np.ndarray:
    """Orthonormal Hermitian basis, ``(n², n, n)`` complex (read-only)."""
    if n < 1:
        raise ValueError(f"matrix size N = {n} must be ≥ 1")
    mats = [np.eye(n, dtype=complex) / np.sqrt(n)]
    for j in range(n):
        for k in range(j + 1, n):
            sym = np.zeros((n, n), complex)
            sym[j, k] = sym[k, j] = 1 / np.sqrt(2)
            anti = np.zeros((n, n), complex)
            anti[j, k], anti[k, j] = -1j / np.sqrt(2), 1j / np.sqrt(2)
            mats += [sym, anti]
    for d in range(1, n):
        diag = np.zeros(n)
        diag[:d] = 1.0
        diag[d] = -d
        mats.append(np.diag(diag / np.sqrt(d * (d + 1))).astype(complex))
    out = np.array(mats)
    out.setflags(write=False)
    return out


def size_from_components(k: int) -> int:
    """N for a field with k = N² components."""
    n = int(round(np.sqrt(k)))
    if n * n != k:
        raise ValueError(f"{k} components is not a square number N²")
    return n


def to_components(a):
    """Real components ``(N², ...)`` of a Hermitian matrix field ``(N, N, ...)``."""
    a = np.asarray(a)
    e = basis(a.shape[0])
    # c_a = Tr(E_a A) = Σ_ij (E_a)_ji A_ij
    return np.einsum("cji,ij...->c...", e, a).real


def from_components(c):
    """Hermitian matrix field ``(N, N, ...)`` from real components ``(N², ...)``."""
    c = np.asarray(c)
    e = basis(size_from_components(c.shape[0]))
    return np.einsum("cij,c...->ij...", e, c)


def matmul(a, b):
    """Pointwise matrix product of fields ``(N, K, ...)`` and ``(K, M, ...)``."""
    return np.einsum("ik...,kj...->ij...", a, b)


def commutator(a, b):
    """Pointwise [A, B] = AB - BA."""
    return matmul(a, b) - matmul(b, a)


def trace(a):
    """Pointwise trace of a matrix field ``(N, N, ...)`` → ``(...)``."""
    return np.einsum("ii...->...", a)


def trace_product(a, b):
    """Pointwise Tr(AB) without forming AB; ``(N, N, ...)`` × ``(N, N, ...)`` → ``(...)``."""
    return np.einsum("ij...,ji...->...", a, b)


def to_matrices_last(a):
    """Move the matrix axes last: ``(N, N, ...)`` → ``(..., N, N)`` (for numpy.linalg)."""
    return np.moveaxis(np.moveaxis(np.asarray(a), 0, -1), 0, -1)


def eigvalsh(a):
    """Pointwise eigenvalues, ascending: ``(N, N, ...)`` → ``(N, ...)``."""
    w = np.linalg.eigvalsh(to_matrices_last(a))
    return np.moveaxis(w, -1, 0)


def unitary_conjugate(p, k, tau):
    """Isospectral rotation P ← U P U†, U = exp(-i K τ), pointwise.

    Parameters
    ----------
    p, k : ndarray (N, N, ...)
        Hermitian matrix fields (P the density, K the generator).
    tau : float
        Rotation time in units of 1/K, i.e. ``Δt/ħ``.

    Returns
    -------
    ndarray (N, N, ...): U P U†; its pointwise eigenvalues equal P's to round-off.
    """
    km = to_matrices_last(k)
    w, v = np.linalg.eigh(km)
    phase = np.exp(-1j * tau * w)
    u = np.einsum("...ik,...k,...jk->...ij", v, phase, v.conj())
    pm = to_matrices_last(p)
    out = u @ pm @ np.conj(np.swapaxes(u, -1, -2))
    return np.moveaxis(np.moveaxis(out, -1, 0), -1, 0)


def is_hermitian(a, tol=1e-12):
    """True when ``a`` (N, N, ...) equals its conjugate transpose to within ``tol``."""
    a = np.asarray(a)
    return bool(np.max(np.abs(a - np.conj(np.swapaxes(a, 0, 1))), initial=0.0) <= tol)
