"""The constant N×N operators of a Hamiltonian: Pauli strings and explicit matrices.

Pauli strings are tensor products in :func:`numpy.kron` order: the left letter acts on
the first qubit, so ``pauli_matrix("XZ") == np.kron(X, Z)``. Explicit matrices are given
as N rows of N ``[re, im]`` pairs (contract §2). Every name is also importable from
:mod:`spectral_qc.hamiltonians`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ConfigError

__all__ = ["pauli_matrix", "matrix_from_pairs", "is_identity_multiple", "as_operator", "PAULI",
           "HERMITIAN_TOL", "MAX_QUBITS"]

#: Absolute tolerance (relative to max(1, max|O|)) for ``O = O†``.
HERMITIAN_TOL = 1e-12
#: Longest accepted Pauli string (N = 2**MAX_QUBITS).
MAX_QUBITS = 10


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


PAULI = {
    "I": _frozen(np.eye(2, dtype=complex)),
    "X": _frozen(np.array([[0, 1], [1, 0]], dtype=complex)),
    "Y": _frozen(np.array([[0, -1j], [1j, 0]], dtype=complex)),
    "Z": _frozen(np.array([[1, 0], [0, -1]], dtype=complex)),
}


def pauli_matrix(string: str) -> np.ndarray:
    """Tensor product of Pauli matrices.

    Parameters
    ----------
    string : str
        One letter of ``I X Y Z`` per qubit, e.g. ``"XZ"``; the left letter acts on the
        first qubit (``np.kron`` order).

    Returns
    -------
    numpy.ndarray
        Complex array of shape ``(2**len(string), 2**len(string))``.

    Raises
    ------
    ConfigError
        If ``string`` is not a non-empty string of the letters I, X, Y, Z (upper case)
        of at most :data:`MAX_QUBITS` letters.
    """
    if not isinstance(string, str):
        raise ConfigError(f"Pauli string must be a str, got {type(string).__name__} {string!r}")
    if not string:
        raise ConfigError("Pauli string is empty; use one of the letters I, X, Y, Z per qubit")
    bad = sorted({c for c in string if c not in PAULI})
    if bad:
        hint = " (Pauli letters are upper case)" if all(c.upper() in PAULI for c in bad) else ""
        raise ConfigError(f"Pauli string {string!r}: invalid letter(s) "
                          f"{', '.join(map(repr, bad))}; allowed are I, X, Y, Z{hint}")
    if len(string) > MAX_QUBITS:
        raise ConfigError(f"Pauli string {string!r} has {len(string)} letters; at most "
                          f"{MAX_QUBITS} qubits are supported")
    out = np.ones((1, 1), dtype=complex)
    for c in string:
        out = np.kron(out, PAULI[c])
    return out



def as_operator(op: Any, name: str) -> np.ndarray:
    if isinstance(op, str):
        try:
            return _frozen(pauli_matrix(op))
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    try:
        a = np.array(op, dtype=complex)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a Pauli string or an N×N complex matrix, got "
                          f"{type(op).__name__}") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ConfigError(f"{name}: the operator must be a square N×N matrix, got shape "
                          f"{a.shape}")
    if not np.all(np.isfinite(a)):
        raise ConfigError(f"{name}: the operator contains NaN or infinite entries")
    err = float(np.max(np.abs(a - a.conj().T)))
    if err > HERMITIAN_TOL * max(1.0, float(np.max(np.abs(a)))):
        raise ConfigError(f"{name}: the operator is not Hermitian (max |O - O†| = {err:.3g}, "
                          f"tolerance {HERMITIAN_TOL:g})")
    return _frozen(a)


def is_identity_multiple(a: np.ndarray) -> bool:
    """Whether a square matrix is a multiple of the identity.

    Parameters
    ----------
    a : numpy.ndarray
        Square matrix.

    Returns
    -------
    bool
        True if ``max |a - a[0, 0] I| ≤ HERMITIAN_TOL · max(1, max |a|)``.
    """
    scale = max(1.0, float(np.max(np.abs(a))))
    return bool(np.max(np.abs(a - a[0, 0] * np.eye(a.shape[0]))) <= HERMITIAN_TOL * scale)


def matrix_from_pairs(matrix: Any, name: str) -> np.ndarray:
    """Square complex matrix from the TOML form ``[[[re, im], …], …]``.

    Parameters
    ----------
    matrix : list
        N rows of N pairs ``[re, im]`` of real numbers (bools are not numbers).
    name : str
        Dotted key for error messages.

    Returns
    -------
    numpy.ndarray
        Complex array ``(N, N)``.

    Raises
    ------
    ConfigError
        If the nesting, the lengths or the entry types are wrong.
    """
    if not isinstance(matrix, (list, tuple)) or not matrix:
        raise ConfigError(f"{name} = {matrix!r}: expected a non-empty list of rows of "
                          f"[re, im] pairs")
    rows = []
    for i, row in enumerate(matrix):
        if not isinstance(row, (list, tuple)) or len(row) != len(matrix):
            raise ConfigError(f"{name}[{i}]: expected a row of {len(matrix)} [re, im] pairs "
                              f"(the matrix must be square), got {row!r}")
        vals = []
        for j, pair in enumerate(row):
            ok = (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in pair))
            if not ok:
                raise ConfigError(f"{name}[{i}][{j}] = {pair!r}: expected a pair [re, im] of "
                                  f"numbers")
            vals.append(complex(pair[0], pair[1]))
        rows.append(vals)
    return np.array(rows, dtype=complex)
