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

from . import kernels


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


@functools.lru_cache(maxsize=None)
def _layout(n: int):
    """Index layout of :func:`basis`: (symmetric/antisymmetric pairs, diagonal table).

    ``pairs`` is a tuple of ``(a_sym, a_anti, j, k)``; ``diag`` is ``(n-1+1, n)``: the
    diagonal of E_0 followed by those of the diagonal Gell-Mann matrices, with their
    component indices ``diag_index``.
    """
    pairs, a = [], 1
    for j in range(n):
        for k in range(j + 1, n):
            pairs.append((a, a + 1, j, k))
            a += 2
    diag_index = (0,) + tuple(range(a, n * n))
    e = basis(n)
    diag = np.array([np.diag(e[c]).real for c in diag_index])
    diag.setflags(write=False)
    return tuple(pairs), diag_index, diag


def to_components(a):
    """Real components ``(N², ...)`` of a Hermitian matrix field ``(N, N, ...)``.

    ``c_a = Re Tr(E_a A)``, evaluated from the (at most two) non-zero entries of each E_a.
    """
    a = np.asarray(a)
    n = a.shape[0]
    pairs, diag_index, diag = _layout(n)
    out = np.empty((n * n,) + a.shape[2:])
    r2 = 1 / np.sqrt(2)
    for a_s, a_a, j, k in pairs:
        ajk, akj = a[j, k], a[k, j]
        out[a_s] = r2 * (ajk.real + akj.real)  # Tr(E A) = (A_kj + A_jk)/√2
        out[a_a] = r2 * (akj.imag - ajk.imag)  # Tr(E A) = i(A_jk − A_kj)/√2
    for c, d in zip(diag_index, diag):
        acc = None
        for j in range(n):
            if d[j] != 0:
                term = d[j] * a[j, j].real
                acc = term if acc is None else acc + term
        out[c] = acc
    return out


def from_components(c):
    """Hermitian matrix field ``(N, N, ...)`` from real components ``(N², ...)``."""
    c = np.asarray(c)
    n = size_from_components(c.shape[0])
    pairs, diag_index, diag = _layout(n)
    out = np.zeros((n, n) + c.shape[1:], dtype=complex)
    re, im = out.real, out.imag
    r2 = 1 / np.sqrt(2)
    for a_s, a_a, j, k in pairs:
        re[j, k] = re[k, j] = r2 * c[a_s]
        im[j, k] = -r2 * c[a_a]
        im[k, j] = r2 * c[a_a]
    for j in range(n):
        acc = None
        for cidx, d in zip(diag_index, diag):
            if d[j] != 0:
                term = d[j] * c[cidx]
                acc = term if acc is None else acc + term
        re[j, j] = acc
    return out


def matmul(a, b):
    """Pointwise matrix product of fields ``(N, K, ...)`` and ``(K, M, ...)``."""
    a, b = np.asarray(a), np.asarray(b)
    n, kk, m = a.shape[0], a.shape[1], b.shape[1]
    shape = np.broadcast_shapes(a.shape[2:], b.shape[2:])
    out = np.empty((n, m) + shape, dtype=np.result_type(a, b))
    for i in range(n):
        for j in range(m):
            acc = a[i, 0] * b[0, j]
            for k in range(1, kk):
                acc += a[i, k] * b[k, j]
            out[i, j] = acc
    return out


def commutator(a, b):
    """Pointwise [A, B] = AB - BA."""
    return matmul(a, b) - matmul(b, a)


def trace(a):
    """Pointwise trace of a matrix field ``(N, N, ...)`` → ``(...)``."""
    a = np.asarray(a)
    return sum(a[i, i] for i in range(a.shape[0]))


def trace_product(a, b):
    """Pointwise Tr(AB) without forming AB; ``(N, N, ...)`` × ``(N, N, ...)`` → ``(...)``."""
    a, b = np.asarray(a), np.asarray(b)
    out = None
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            term = a[i, j] * b[j, i]
            out = term if out is None else out + term
    return out


# ------------------------------------------------------------ algebra in components
@functools.lru_cache(maxsize=None)
def structure_constants(n: int):
    """Sparse structure constants of the basis: ``[E_a, E_b] = i Σ_c F_cab E_c``.

    Returns a tuple of ``(a, b, ((c, F_cab), …))`` for a < b with a non-zero column
    (F is real and antisymmetric in a, b; E_0 commutes with everything).
    """
    e = basis(n)
    # F_cab = -i Tr(E_c [E_a, E_b]) = 2 Im Tr(E_c E_a E_b)
    f = 2 * np.einsum("cij,ajk,bki->cab", e, e, e).imag
    out = []
    for a in range(n * n):
        for b in range(a + 1, n * n):
            col = tuple((c, float(f[c, a, b])) for c in range(n * n) if abs(f[c, a, b]) > 1e-13)
            if col:
                out.append((a, b, col))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _structure_for_support(n: int, support: frozenset | None):
    """:func:`structure_constants` restricted to the products a_i b_j with b_j possibly
    non-zero (``support``: the components of b that may be non-zero; None: all).

    Returns ``(i, j, kind, col)``: kind 0 for a_i b_j − a_j b_i, 1 for a_i b_j alone
    (b_i ≡ 0), 2 for −a_j b_i alone (b_j ≡ 0); pairs with b_i ≡ b_j ≡ 0 are dropped.
    """
    out = []
    for i, j, col in structure_constants(n):
        has_i = support is None or i in support
        has_j = support is None or j in support
        if has_i or has_j:
            out.append((i, j, 0 if has_i and has_j else (1 if has_j else 2), col))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def structure_arrays(n: int, support: frozenset | None = None):
    """:func:`structure_constants` as flat arrays for the compiled kernels.

    Returns ``(I, J, C, F)`` (int64, int64, int64, float64), one entry per non-zero
    F_C,IJ with I < J, so that ``F(a, b)_c = Σ_{e: C_e = c} F_e (a_I b_J − a_J b_I)``, in
    the order of :func:`structure_constants`. ``support``: keep only the pairs with I or J
    in it (the components of b that may be non-zero, :func:`support_of`).
    """
    rows = [(i, j, c, fc) for i, j, col in structure_constants(n)
            if support is None or i in support or j in support for c, fc in col]
    i, j, c, f = zip(*rows) if rows else ((), (), (), ())
    return (np.array(i, dtype=np.int64), np.array(j, dtype=np.int64),
            np.array(c, dtype=np.int64), np.array(f, dtype=float))


@functools.lru_cache(maxsize=None)
def structure_products(n: int, support: frozenset | None = None):
    """The bilinear form F(a, b) as single products: ``(A, B, C, F)`` with
    ``F(a, b)_c = Σ_{e: C_e = c} F_e a_{A_e} b_{B_e}``, keeping only the products whose
    b component is in ``support`` (None: all)."""
    rows = []
    for i, j, col in structure_constants(n):
        for c, fc in col:
            if support is None or j in support:
                rows.append((i, j, c, fc))
            if support is None or i in support:
                rows.append((j, i, c, -fc))
    a, b, c, f = zip(*rows) if rows else ((), (), (), ())
    return (np.array(a, dtype=np.int64), np.array(b, dtype=np.int64),
            np.array(c, dtype=np.int64), np.array(f, dtype=float))


def support_of(b) -> frozenset:
    """The components of ``b`` ``(…, N², ...)`` (component axis ``-3`` for grid fields,
    else 0) that are not identically zero: ``frozenset`` of indices."""
    b = np.asarray(b)
    axis = b.ndim - 3 if b.ndim >= 3 else 0
    flat = np.moveaxis(b, axis, 0).reshape(b.shape[axis], -1)
    return frozenset(int(c) for c in np.flatnonzero(np.any(flat != 0, axis=1)))


def commutator_components(a, b, support=None):
    """Real components f of ``[A, B] = i f·E`` from components a, b ``(N², ...)``.

    For a qubit (basis σ/√2) this is ``f = √2 (a⃗ × b⃗)`` on the σ components, f_0 = 0.
    ``support`` (N > 2): the components of b that may be non-zero (:func:`support_of`),
    e.g. of a Hamiltonian with few terms; products with b's zero components are skipped
    (the result is the same to the bit).
    """
    a, b = np.asarray(a), np.asarray(b)
    nn = a.shape[0]
    shape = np.broadcast_shapes(a.shape[1:], b.shape[1:])
    out = np.zeros((nn,) + shape)
    if nn == 1:
        return out
    if nn == 4:
        s = np.sqrt(2)
        out[1] = s * (a[2] * b[3] - a[3] * b[2])
        out[2] = s * (a[3] * b[1] - a[1] * b[3])
        out[3] = s * (a[1] * b[2] - a[2] * b[1])
        return out
    n = size_from_components(nn)
    if a.shape == b.shape and a.ndim >= 2 and a.dtype == b.dtype == np.float64:
        kernels.commutator(_flat(a), _flat(b), *structure_arrays(
            n, None if support is None else frozenset(support)), _flat(out))
        return out
    t, u = np.empty(shape), np.empty(shape)
    for i, j, kind, col in _structure_for_support(n, None if support is None
                                                  else frozenset(support)):
        if kind == 0:  # t = a_i b_j − a_j b_i, in place
            np.multiply(a[i], b[j], out=t)
            np.multiply(a[j], b[i], out=u)
            t -= u
        elif kind == 1:
            np.multiply(a[i], b[j], out=t)
        else:
            np.multiply(a[j], b[i], out=t)
            np.negative(t, out=t)
        for c, fc in col:
            np.multiply(t, fc, out=u)
            out[c] += u
    return out


def _flat(a):
    """A C-contiguous float64 view (or copy) ``(n, npts)`` of components ``(n, ...)``."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    return a.reshape(a.shape[0], a[0].size if a.shape[0] else 0)


def dot_components(a, b):
    """Pointwise Tr(AB) = Σ_a a_a b_a for components ``(N², ...)``."""
    if (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim >= 2
            and a.shape == b.shape and a.dtype == b.dtype == np.float64):
        out = np.empty(a.shape[1:])  # compiled, the same sums in the same order
        kernels.dot_components(_flat(a), _flat(b), out.reshape(-1))
        return out
    out = a[0] * b[0]
    for c in range(1, a.shape[0]):
        out += a[c] * b[c]
    return out


def to_matrices_last(a):
    """Move the matrix axes last: ``(N, N, ...)`` → ``(..., N, N)`` (for numpy.linalg)."""
    return np.moveaxis(np.moveaxis(np.asarray(a), 0, -1), 0, -1)


def eigvalsh(a):
    """Pointwise eigenvalues, ascending: ``(N, N, ...)`` → ``(N, ...)``."""
    w = np.linalg.eigvalsh(to_matrices_last(a))
    return np.moveaxis(w, -1, 0)


def eigvalsh_components(c):
    """Pointwise eigenvalues, ascending, from components ``(N², ...)`` → ``(N, ...)``.

    Closed form for a qubit, λ± = (c_0 ± |c⃗|)/√2 (P = (c_0 + c⃗·σ)/√2); batched
    :func:`numpy.linalg.eigvalsh` for N > 2.
    """
    c = np.asarray(c)
    if c.shape[0] == 1:
        return c.copy()
    if c.shape[0] == 4:
        r = np.sqrt(c[1] * c[1] + c[2] * c[2] + c[3] * c[3])
        r2 = 1 / np.sqrt(2)
        return np.stack([(c[0] - r) * r2, (c[0] + r) * r2])
    return eigvalsh(from_components(c))


def _qubit_rotate(p, k, tau):
    """U P U† in components for a qubit: a Rodrigues rotation of P's Bloch vector.

    With K = (k_0 + k⃗·σ)/√2, ``dp⃗/dt = √2 k⃗ × p⃗`` (from −i[K, P]); over ``tau`` p⃗ turns
    by the angle φ = √2|k⃗|τ about k⃗:

        p⃗' = cos φ p⃗ + sin φ (k̂ × p⃗) + (1 − cos φ)(k̂·p⃗) k̂,

    evaluated with the half angle (sin φ = 2 s c, 1 − cos φ = 2 s², s, c = sin, cos φ/2),
    which is accurate for small φ. p_0 (the trace) is unchanged.
    """
    if p.ndim == 1 or k.ndim == 1:  # a single point: give it a grid axis
        return _qubit_rotate(p.reshape(4, -1), k.reshape(4, -1), tau).reshape(
            np.broadcast_shapes(p.shape, k.shape))
    if p.shape == k.shape and p.dtype == k.dtype == np.float64:  # compiled, same result
        out = np.empty(p.shape)
        kernels.qubit_rotate(_flat(p), _flat(k), float(tau), out.reshape(4, -1))
        return out
    k1, k2, k3 = k[1], k[2], k[3]
    p1, p2, p3 = p[1], p[2], p[3]
    kn = k1 * k1
    kn += k2 * k2
    kn += k3 * k3
    np.sqrt(kn, out=kn)
    half = kn * (tau / np.sqrt(2))
    s = np.sin(half)
    c = np.cos(half, out=half)
    inv = np.divide(1.0, kn, out=np.zeros_like(kn), where=kn > 0)  # k = 0: no rotation
    s_k = s * c  # sin φ / |k| = 2 s c / |k|
    s_k *= 2.0
    s_k *= inv
    s *= s  # s²
    cos_phi = 1.0 - 2.0 * s
    c_k = s  # (1 − cos φ)/|k|² (k̂·p⃗) = 2 s² (k⃗·p⃗)/|k|²
    c_k *= 2.0
    c_k *= inv
    c_k *= inv
    kdp = k1 * p1
    kdp += k2 * p2
    kdp += k3 * p3
    c_k *= kdp
    out = np.empty(np.broadcast_shapes(p.shape, k.shape))
    out[0] = p[0]
    t = np.empty_like(kn)
    for i, (ka, kb, pa, pb, pi_, ki) in enumerate(((k2, k3, p2, p3, p1, k1),
                                                   (k3, k1, p3, p1, p2, k2),
                                                   (k1, k2, p1, p2, p3, k3))):
        o = out[i + 1]
        np.multiply(ka, pb, out=o)  # (k⃗ × p⃗)_i
        np.multiply(kb, pa, out=t)
        o -= t
        o *= s_k
        np.multiply(cos_phi, pi_, out=t)
        o += t
        np.multiply(c_k, ki, out=t)
        o += t
    return out


def unitary_field(k, tau):
    """U = exp(−iKτ) per point from the components k ``(N², ...)``: ``(..., N, N)``."""
    w, v = np.linalg.eigh(to_matrices_last(from_components(k)))
    phase = np.exp(-1j * tau * w)
    return (v * phase[..., None, :]) @ np.conj(np.swapaxes(v, -1, -2))


def conjugate_components_with(u, p):
    """Components of U P U† for unitaries ``u`` ``(..., N, N)`` and components p ``(N², ...)``."""
    pm = np.ascontiguousarray(to_matrices_last(from_components(p)))
    out = u @ pm @ np.conj(np.swapaxes(u, -1, -2))
    return to_components(np.ascontiguousarray(np.moveaxis(np.moveaxis(out, -1, 0), -1, 0)))


def _conjugate_eigh(p, k, tau):
    km = to_matrices_last(k)
    w, v = np.linalg.eigh(km)
    phase = np.exp(-1j * tau * w)
    u = (v * phase[..., None, :]) @ np.conj(np.swapaxes(v, -1, -2))
    pm = to_matrices_last(p)
    out = u @ pm @ np.conj(np.swapaxes(u, -1, -2))
    return np.moveaxis(np.moveaxis(out, -1, 0), -1, 0)


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
    For N = 2 the closed form of :func:`_qubit_rotate` is used.
    """
    p, k = np.asarray(p), np.asarray(k)
    if p.shape[0] == 2 and is_hermitian(k, 0.0):
        kc = to_components(k)
        out = from_components(_qubit_rotate(to_components(p), kc, tau))
        anti = to_components(-0.5j * (p - np.conj(np.swapaxes(p, 0, 1))))  # P = A + iB
        if np.any(anti):
            out = out + 1j * from_components(_qubit_rotate(anti, kc, tau))
        return out
    return _conjugate_eigh(p, k, tau)


def is_hermitian(a, tol=1e-12):
    """True when ``a`` (N, N, ...) equals its conjugate transpose to within ``tol``."""
    a = np.asarray(a)
    return bool(np.max(np.abs(a - np.conj(np.swapaxes(a, 0, 1))), initial=0.0) <= tol)
