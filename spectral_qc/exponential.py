"""Unitary conjugation P ← U P U†, U = exp(−iKτ), for all grid points at once (N > 2).

The isospectral rotation of the split-step integrators (docs/models.md) used to
diagonalize K at every grid point (one LAPACK call per point). Here it is a truncated
exponential series evaluated with whole-grid array operations, to round-off:

* :func:`conjugate_series` (used for every N > 2): the rotation solves dp/dt = F(k, p) in
  the real Hermitian-basis components (−i[K, P] = F(k, p)·E, :func:`~spectral_qc.hermitian.
  commutator_components`), so p(τ) = exp(τ ad_K) p = Σ_j (τ^j/j!) F(k, ·)^j p, summed by
  Horner's rule with one sparse commutator per term (compiled,
  :func:`spectral_qc.kernels.conjugate_series`, for grid fields);
* :func:`conjugate_taylor`: U by the Taylor series of exp(−iτK̃) as batched N×N matrix
  products (scaling and squaring), then U P U† (slower than the compiled series for
  N = 4 and 8; kept as an independent method);
* :func:`static_unitary` / :func:`conjugate_static`: a generator that does not change
  (Ehrenfest): U from one ``eigh`` per point, cached by the integrator, then U P U† per
  point (compiled).

The number of terms comes from a bound on the whole grid: the traceless part K̃
(the trace part only adds a phase) has ‖K̃‖₂ ≤ ‖K̃‖_F = |k⃗| (components orthonormal in
Tr(AB)), so ‖τ ad_K‖ ≤ 2τ max|k⃗|. The series is cut where the next term's bound falls
below 2⁻⁵³ of ‖p‖; above a norm bound of 1/2 the step is split into equal sub-steps
(series) or scaled and squared (Taylor). Unitarity and the pointwise eigenvalues of P
then hold to round-off (benchmarks/save_reference_outputs.py prints both).
"""

from __future__ import annotations

import math

import numpy as np

from . import hermitian as hm
from . import kernels
from .hermitian import _qubit_rotate, commutator_components, from_components, to_components

#: Relative size of the first omitted series term (unit round-off).
SERIES_TOL = 2.0 ** -53
#: Largest norm bound of one series sub-step (beyond it: sub-steps or squaring).
SERIES_NORM_MAX = 0.5


def series_terms(x: float, tol: float = SERIES_TOL) -> int:
    """Smallest m with x^(m+1)/(m+1)! ≤ tol: terms of exp(X) for ‖X‖ ≤ x (0 for x = 0)."""
    if x <= 0:
        return 0
    m, term = 0, 1.0
    while True:
        m += 1
        term *= x / m
        if term * x / (m + 1) <= tol:
            return m


def traceless_norm_max(k) -> float:
    """max over the grid of |k⃗| = ‖K − Tr K/N‖_F for components ``k`` ``(N², ...)``."""
    k = np.asarray(k)
    if k.ndim >= 2 and k.dtype == np.float64 and k.shape[0] > 1:  # compiled, one pass
        return math.sqrt(kernels.traceless_norm2_max(hm._flat(k)))
    kk = np.einsum("a...,a...->...", k[1:], k[1:])
    return math.sqrt(float(kk.max(initial=0.0)))


def conjugate_series(p, k, tau):
    """Components of U P U†, U = exp(−iKτ), by the series of exp(τ ad_K) (module docstring).

    Parameters
    ----------
    p, k : (N², ...) real — components of P and K (same grid shape)
    tau : float — rotation time (Δt/ħ)

    Returns
    -------
    (N², ...) real. p_0 (the trace) is carried over unchanged.
    """
    x = 2.0 * abs(tau) * traceless_norm_max(k)
    n_sub = max(1, math.ceil(x / SERIES_NORM_MAX))
    h = tau / n_sub
    m = series_terms(x / n_sub)
    p, k = np.asarray(p, dtype=float), np.asarray(k, dtype=float)
    if p.shape == k.shape and p.ndim >= 2:  # compiled, per block of points (same sums)
        out = np.empty(p.shape)
        kernels.conjugate_series(hm._flat(p), hm._flat(k), *hm.structure_arrays(
            hm.size_from_components(p.shape[0])), float(h), m, n_sub if m else 0,
            out.reshape(p.shape[0], -1))
        return out
    s = np.array(p, dtype=float)
    for _ in range(n_sub if m else 0):
        q = s
        for j in range(m, 0, -1):  # s ← q + (h/j) F(k, s)
            c = commutator_components(k, s)
            c *= h / j
            c += q
            s = c
        s[0] = q[0]
    return s


def _matrices_last(c):
    """Hermitian matrices ``(..., N, N)`` complex from components ``(N², ...)``."""
    m = from_components(c)
    return np.ascontiguousarray(np.moveaxis(np.moveaxis(m, 0, -1), 0, -1))


def _components_from_last(m):
    return to_components(np.ascontiguousarray(np.moveaxis(np.moveaxis(m, -1, 0), -1, 0)))


def unitary_taylor(k, tau):
    """U = exp(−iK̃τ) per point, ``(..., N, N)`` complex, K̃ the traceless part of K.

    Taylor series with scaling and squaring, as batched matrix products (no
    eigendecomposition); U P U† equals the conjugation by exp(−iKτ) (the trace only adds a
    phase). ``k`` ``(N², ...)``.
    """
    k0 = np.array(k, dtype=float)
    k0[0] = 0.0
    x = abs(tau) * traceless_norm_max(k0)
    squarings = max(0, math.ceil(math.log2(x / SERIES_NORM_MAX))) if x > SERIES_NORM_MAX else 0
    a = _matrices_last(k0)
    a *= -1j * tau / 2 ** squarings
    n = a.shape[-1]
    eye = np.eye(n)
    m = series_terms(x / 2 ** squarings)
    if m == 0:
        return np.broadcast_to(eye, a.shape).astype(complex)
    u = a / m
    u += eye
    for j in range(m - 1, 0, -1):  # Horner: u ← 1 + (a/j) u
        u = a @ u
        u /= j
        u += eye
    for _ in range(squarings):
        u = u @ u
    return u


def conjugate_taylor(p, k, tau):
    """:func:`conjugate_series` by :func:`unitary_taylor` and two batched matrix products."""
    u = unitary_taylor(k, tau)
    out = _components_from_last(u @ _matrices_last(p) @ np.conj(np.swapaxes(u, -1, -2)))
    out[0] = p[0]  # the trace is conserved exactly
    return out


def unitary_conjugate_components(p, k, tau):
    """Components of U P U†, U = exp(−i K τ), from the components p, k ``(N², ...)``.

    The rotation sub-step of every integrator. Closed form (Rodrigues rotation of the Bloch
    vector, :func:`spectral_qc.hermitian._qubit_rotate`) for N = 2; for N > 2 a truncated
    exponential series to round-off, for all grid points at once
    (:func:`conjugate_components`; no eigendecomposition).
    """
    p, k = np.asarray(p), np.asarray(k)
    if p.shape[0] == 1:
        return p.copy()
    if p.shape[0] == 4:
        return _qubit_rotate(p, k, tau)
    return conjugate_components(p, k, tau)


def conjugate_components(p, k, tau):
    """U P U† in components for N > 2: the compiled commutator series
    (:func:`conjugate_series`; faster than the batched Taylor :func:`conjugate_taylor`
    for N = 4 and 8 by measurement, docs/performance.md)."""
    return conjugate_series(p, k, tau)


def static_unitary(k, tau):
    """U = exp(−iKτ) per point for a generator that does not change (Ehrenfest), in the
    layout of :func:`conjugate_static`: ``(U.real, U.imag)``, each ``(N, N, npts)``.

    One :func:`numpy.linalg.eigh` per point, done once per τ by the integrator.
    """
    u = hm.unitary_field(k, tau)  # (..., N, N)
    n = u.shape[-1]
    u = np.moveaxis(np.moveaxis(u, -1, 0), -1, 0).reshape(n, n, -1)
    return np.ascontiguousarray(u.real), np.ascontiguousarray(u.imag)


def conjugate_static(u, p):
    """Components of U P U† for ``u`` from :func:`static_unitary` and components p
    ``(N², ...)`` (compiled; the result equals :func:`~spectral_qc.hermitian.
    conjugate_components_with` to round-off). p_0 is carried over."""
    p = np.asarray(p, dtype=float)
    pairs, diag_index, diag = hm._layout(hm.size_from_components(p.shape[0]))
    out = np.empty(p.shape)
    kernels.conjugate_with(u[0], u[1], hm._flat(p), _pairs_array(pairs),
                           np.array(diag_index, dtype=np.int64), np.ascontiguousarray(diag),
                           out.reshape(p.shape[0], -1))
    out[0] = p[0]  # Tr(U P U†) = Tr P exactly
    return out


def _pairs_array(pairs):
    return np.array(pairs, dtype=np.int64).reshape(-1, 4)
