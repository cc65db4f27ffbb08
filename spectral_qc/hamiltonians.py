"""Hamiltonians ``H(n) = Σ_k coef_k(n) · O_k`` on the sphere of Bloch vectors n.

Each term pairs a constant Hermitian N×N operator ``O_k`` (a Pauli string such as
``"XZ"`` or an explicit matrix) with a real coefficient field ``coef_k(n)`` (a number,
a Python callable ``f(nx, ny, nz)``, or an expression string parsed by
:mod:`spectral_qc.expressions`).

Pauli strings are tensor products in :func:`numpy.kron` order: the left letter acts on
the first qubit, so ``pauli_matrix("XZ") == np.kron(X, Z)`` (:mod:`spectral_qc.matrices`).
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, NamedTuple

import numpy as np

from .errors import ConfigError
from .expressions import Expression
from .matrices import (HERMITIAN_TOL, MAX_QUBITS, PAULI, _frozen, as_operator,
                       is_identity_multiple, matrix_from_pairs, pauli_matrix)

__all__ = ["pauli_matrix", "matrix_from_pairs", "is_identity_multiple", "Coefficient", "Term",
           "Hamiltonian", "PAULI", "HERMITIAN_TOL", "MAX_QUBITS"]



class Coefficient:
    """A real coefficient field ``c(nx, ny, nz)``.

    Parameters
    ----------
    value : float, str or callable
        A real number, an expression string (see :mod:`spectral_qc.expressions`), an
        :class:`~spectral_qc.expressions.Expression`, or a callable ``f(nx, ny, nz)``
        returning an array broadcastable to the shape of its arguments.
    name : str
        How to refer to this coefficient in error messages.

    Raises
    ------
    ConfigError
        If ``value`` is none of the above, a bool, complex, or not finite.
    """

    __slots__ = ("source", "name", "_func", "_const")

    def __init__(self, value: Any, name: str = "coefficient"):
        self.source = value
        self.name = name
        self._const: float | None = None
        self._func: Callable | None = None
        if isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"{name} = {value!r}: a bool is not a number; give a real "
                              f"number or an expression in nx, ny, nz")
        if isinstance(value, numbers.Real):
            if not np.isfinite(float(value)):
                raise ConfigError(f"{name} = {value!r}: must be finite")
            self._const = float(value)
        elif isinstance(value, numbers.Complex):
            raise ConfigError(f"{name} = {value!r}: coefficients must be real (a complex "
                              f"coefficient makes H non-Hermitian)")
        elif isinstance(value, str):
            try:
                self._func = Expression(value)
            except ConfigError as exc:
                raise ConfigError(f"{name}: {exc}") from None
        elif isinstance(value, Expression):
            self._func = value
        elif callable(value):
            self._func = value
        else:
            raise ConfigError(f"{name} = {value!r}: expected a number, an expression string "
                              f"or a callable f(nx, ny, nz), got {type(value).__name__}")
        if isinstance(self._func, Expression) and self._func.is_constant:
            self._const = self._func.constant_value()

    @property
    def is_constant(self) -> bool:
        """True for numbers and expressions without nx, ny, nz (callables: False)."""
        return self._const is not None

    @property
    def constant(self) -> float | None:
        """The value of a constant coefficient, else None."""
        return self._const

    def __call__(self, nx, ny, nz) -> np.ndarray:
        """Evaluate at the vectors (nx, ny, nz).

        Parameters
        ----------
        nx, ny, nz : array_like
            Vector components, broadcast against each other.

        Returns
        -------
        numpy.ndarray
            Real float64 array of the broadcast shape.

        Raises
        ------
        ConfigError
            If a callable returns values with a non-zero imaginary part or of a shape
            that does not broadcast.
        """
        shape = np.broadcast_shapes(np.shape(nx), np.shape(ny), np.shape(nz))
        if self._const is not None:
            return np.full(shape, self._const)
        value = np.asarray(self._func(nx, ny, nz))
        if np.iscomplexobj(value):
            if np.any(value.imag != 0):
                raise ConfigError(f"{self.name}: {self.source!r} returned complex values; "
                                  f"coefficients must be real")
            value = value.real
        try:
            return np.array(np.broadcast_to(value, shape), dtype=np.float64)
        except ValueError:
            raise ConfigError(f"{self.name}: {self.source!r} returned shape {value.shape}, "
                              f"which does not broadcast to {shape}") from None

    def euler_derivative(self, nx, ny, nz) -> np.ndarray:
        """Radial derivative ``n·∇c`` of the coefficient as written off the sphere.

        Numbers: 0. Expressions: exact, from the syntax tree
        (:meth:`~spectral_qc.expressions.Expression.euler_derivative`). A plain Python
        callable is *defined* to be continued off the unit sphere as constant along rays,
        ``c(n) := c(n/|n|)``, so its radial derivative is 0 (docs/models.md, "The phase
        term"); write the coefficient as an expression to choose another continuation.

        Returns
        -------
        numpy.ndarray
            float64 array of the broadcast shape of nx, ny, nz.
        """
        shape = np.broadcast_shapes(np.shape(nx), np.shape(ny), np.shape(nz))
        if isinstance(self._func, Expression) and self._const is None:
            return self._func.euler_derivative(nx, ny, nz)
        return np.zeros(shape)

    def __repr__(self) -> str:
        return f"Coefficient({self.source!r})"


class Term(NamedTuple):
    """One term ``coef(n) · operator`` of a :class:`Hamiltonian`."""

    operator: np.ndarray
    """Constant Hermitian ``(N, N)`` complex matrix (read-only)."""
    coef: Coefficient
    """Real coefficient field."""


class Hamiltonian:
    """``H(n) = Σ_k coef_k(n) · O_k`` with constant Hermitian operators ``O_k``.

    Parameters
    ----------
    terms : sequence of (operator, coefficient)
        ``operator`` is a Pauli string (``"X"``, ``"IZ"``, …) or an N×N Hermitian
        array; ``coefficient`` is a real number, an expression string in nx, ny, nz, or
        a callable ``f(nx, ny, nz)``. All operators must have the same size N.
    names : sequence of str, optional
        Names of the operators in error messages (default ``"term k"``).
    coef_names : sequence of str, optional
        Names of the coefficients in error messages (default ``"<name> coefficient"``).

    Raises
    ------
    ConfigError
        If there are no terms, an operator is not Hermitian (tolerance
        :data:`HERMITIAN_TOL`) or of the wrong size, or a coefficient is invalid; the
        message names the term.
    """

    def __init__(self, terms, names=None, coef_names=None):
        terms = list(terms) if not isinstance(terms, (str, bytes)) else None
        if not terms:
            raise ConfigError("a Hamiltonian needs at least one (operator, coefficient) term")
        names = list(names) if names is not None else [f"term {k}" for k in range(len(terms))]
        coef_names = (list(coef_names) if coef_names is not None
                      else [f"{name} coefficient" for name in names])
        built, labels = [], []
        for name, coef_name, term in zip(names, coef_names, terms):
            if not isinstance(term, (tuple, list)) or len(term) != 2:
                raise ConfigError(f"{name}: expected an (operator, coefficient) pair, got "
                                  f"{term!r}")
            op, coef = term
            matrix = as_operator(op, name)
            if built and matrix.shape != built[0].operator.shape:
                raise ConfigError(
                    f"{name}: operator {self._label(op)} is {matrix.shape[0]}×{matrix.shape[0]}"
                    f" but {names[0]} is {built[0].operator.shape[0]}×"
                    f"{built[0].operator.shape[0]}; all operators must have the same size N")
            built.append(Term(matrix, Coefficient(coef, coef_name)))
            labels.append(self._label(op))
        self._terms = tuple(built)
        self._labels = tuple(labels)
        self._ops = _frozen(np.array([t.operator for t in built]))

    @staticmethod
    def _label(op) -> str:
        return repr(op) if isinstance(op, str) else "matrix"

    @classmethod
    def from_config(cls, terms_list, key: str = "hamiltonian.terms") -> "Hamiltonian":
        """Build from the TOML ``[hamiltonian] terms`` list.

        Parameters
        ----------
        terms_list : list of dict
            Each ``{op = "XZ", coef = ...}`` or ``{matrix = [[[re, im], …], …],
            coef = ...}``; ``coef`` is a number or an expression string.
        key : str, optional
            Dotted key used in error messages.

        Returns
        -------
        Hamiltonian

        Raises
        ------
        ConfigError
            Naming ``key[k].field`` for any malformed term.
        """
        if not isinstance(terms_list, (list, tuple)) or not terms_list:
            raise ConfigError(f"{key} = {terms_list!r}: expected a non-empty list of tables "
                              f"{{op = ..., coef = ...}}")
        terms, names, coef_names = [], [], []
        for k, item in enumerate(terms_list):
            name = f"{key}[{k}]"
            if not isinstance(item, dict):
                raise ConfigError(f"{name} = {item!r}: expected a table {{op = ..., coef = ...}}"
                                  f" or {{matrix = ..., coef = ...}}")
            unknown = sorted(set(item) - {"op", "matrix", "coef"})
            if unknown:
                raise ConfigError(f"{name}.{unknown[0]}: unknown key; allowed keys are op, "
                                  f"matrix, coef")
            if ("op" in item) == ("matrix" in item):
                raise ConfigError(f"{name}: give exactly one of op (a Pauli string) or matrix "
                                  f"(N×N [re, im] pairs)")
            if "coef" not in item:
                raise ConfigError(f"{name}.coef: missing; give a number or an expression in "
                                  f"nx, ny, nz")
            coef = item["coef"]
            coef_names.append(f"{name}.coef")
            if isinstance(coef, bool) or not isinstance(coef, (int, float, str)):
                raise ConfigError(f"{name}.coef = {coef!r}: expected a number or an expression "
                                  f"string in nx, ny, nz")
            if "op" in item:
                if not isinstance(item["op"], str):
                    raise ConfigError(f"{name}.op = {item['op']!r}: expected a Pauli string "
                                      f"such as \"X\" or \"IZ\"")
                terms.append((item["op"], coef))
                names.append(f"{name}.op")
            else:
                terms.append((matrix_from_pairs(item["matrix"], f"{name}.matrix"), coef))
                names.append(f"{name}.matrix")
        return cls(terms, names, coef_names)

    @property
    def N(self) -> int:
        """Size of the operators (the quantum dimension)."""
        return int(self._ops.shape[1])

    @property
    def terms(self) -> tuple[Term, ...]:
        """The terms, each a :class:`Term` ``(operator, coef)``."""
        return self._terms

    @property
    def labels(self) -> tuple[str, ...]:
        """Per term: the Pauli string (quoted) or ``"matrix"``."""
        return self._labels

    @property
    def operators(self) -> np.ndarray:
        """All operators stacked, ``(K, N, N)`` complex (read-only)."""
        return self._ops

    @property
    def is_identity_only(self) -> bool:
        """True if every operator is a multiple of the identity."""
        return all(is_identity_multiple(t.operator) for t in self._terms)

    @property
    def is_constant(self) -> bool:
        """True if every coefficient is a constant (H does not depend on n)."""
        return all(t.coef.is_constant for t in self._terms)

    def coefficients(self, n) -> np.ndarray:
        """All coefficient fields.

        Parameters
        ----------
        n : array_like
            Vectors, shape ``(3, ...)``.

        Returns
        -------
        numpy.ndarray
            Real array ``(K, ...)``, one field per term.
        """
        n = np.asarray(n, dtype=np.float64)
        if n.ndim < 1 or n.shape[0] != 3:
            raise ConfigError(f"n must have shape (3, ...), got {n.shape}")
        return np.stack([t.coef(n[0], n[1], n[2]) for t in self._terms])

    def evaluate(self, n) -> np.ndarray:
        """``H(n) = Σ_k coef_k(n) O_k``.

        Parameters
        ----------
        n : array_like
            Vectors of shape ``(3, ...)`` (need not be unit vectors).

        Returns
        -------
        numpy.ndarray
            Complex array ``(N, N, ...)``.
        """
        c = self.coefficients(n)
        return np.tensordot(self._ops, c, axes=(0, 0))

    def lagrangian(self, n) -> np.ndarray:
        """The phase term of the Koopman–van Hove equations, ``L(n) = n·∇H − H``.

        ``n·∇`` is the three-dimensional radial (Euler) derivative of each coefficient
        as written (:meth:`Coefficient.euler_derivative`): L depends on how H is
        continued off the sphere (paper eqs. 7, 14, 29; docs/models.md). For a term
        linear in n (``n·B``) L vanishes; a term homogeneous of degree k contributes
        (k − 1) times itself.

        Parameters
        ----------
        n : array_like (3, ...)
            Points (on the unit sphere for the models).

        Returns
        -------
        numpy.ndarray
            Complex Hermitian ``(N, N, ...)``.
        """
        n = np.asarray(n, dtype=np.float64)
        if n.ndim < 1 or n.shape[0] != 3:
            raise ValueError(f"n must have shape (3, ...), got {n.shape}")
        c = np.stack([t.coef.euler_derivative(n[0], n[1], n[2]) - t.coef(n[0], n[1], n[2])
                      for t in self._terms])
        return np.tensordot(self._ops, c, axes=(0, 0))

    def reduced_to_scalar(self) -> "Hamiltonian":
        """The N = 1 Hamiltonian of an identity-only one (``O_k = λ_k I → λ_k``).

        Returns
        -------
        Hamiltonian
            Same coefficients, operators ``[[λ_k]]``.

        Raises
        ------
        ConfigError
            If some operator is not a multiple of the identity.
        """
        for label, t in zip(self._labels, self._terms):
            if not is_identity_multiple(t.operator):
                raise ConfigError(f"operator {label} is not a multiple of the identity; only "
                                  f"such terms can be reduced to N = 1")
        return Hamiltonian([(np.array([[t.operator[0, 0].real]]), t.coef.source)
                            for t in self._terms])

    def __repr__(self) -> str:
        parts = [f"{t.coef.source!r}·{label}" for label, t in zip(self._labels, self._terms)]
        return f"Hamiltonian(N={self.N}, {' + '.join(parts)})"
