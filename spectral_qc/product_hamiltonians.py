"""Hamiltonians of several classical spins, ``H(n_1, …, n_j) = Σ_k c_k(n_1, …, n_j) O_k``.

The operators are those of :mod:`spectral_qc.matrices` (Pauli strings or explicit
Hermitian matrices); a coefficient is a real number or a callable ``c(n1, n2, …)`` that
receives one array ``(3, ...)`` per spin (Cartesian components of n_a, broadcastable
against each other) and returns a real array. Example, a bilinear coupling and a qubit on
spin 1::

    ProductHamiltonian([("I", lambda n1, n2: (n1 * n2).sum(0)), ("Z", lambda n1, n2: n1[2])],
                       spins=2)

The Koopman–van Hove phase term (:meth:`ProductHamiltonian.lagrangian`) needs the radial
derivatives of the coefficients off the spheres: a plain callable is continued constant along
the rays of every n_a (as on one sphere, docs/models.md "The phase term"); an
:class:`EulerCoefficient` (e.g. :func:`homogeneous`) carries its own.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import hermitian as hm
from .errors import ConfigError
from .expressions import Expression
from .matrices import as_operator, is_identity_multiple


class ProductHamiltonian:
    """``H(n_1, …, n_j)``: constant Hermitian operators times real coefficient fields.

    Parameters
    ----------
    terms : sequence of (operator, coefficient)
        operator: Pauli string or N×N Hermitian array; coefficient: a real number or a
        callable ``c(n1, …, nj)`` as in the module docstring.
    spins : int
        j, the number of classical spins.
    """

    def __init__(self, terms, spins):
        terms = list(terms)
        if not terms:
            raise ConfigError("a Hamiltonian needs at least one (operator, coefficient) term")
        self.spins = int(spins)
        ops, coefs = [], []
        for k, (op, coef) in enumerate(terms):
            m = as_operator(op, f"term {k}")
            if ops and m.shape != ops[0].shape:
                raise ConfigError(f"term {k}: operator is {m.shape[0]}×{m.shape[0]}, term 0 is "
                                  f"{ops[0].shape[0]}×{ops[0].shape[0]}; all must have one size N")
            if isinstance(coef, bool) or not (isinstance(coef, numbers.Real) or callable(coef)):
                raise ConfigError(f"term {k}: coefficient {coef!r} must be a real number or a "
                                  f"callable c(n1, …, n{self.spins})")
            ops.append(m)
            coefs.append(float(coef) if isinstance(coef, numbers.Real) else coef)
        self._ops = np.array(ops)
        self._coefs = coefs

    @property
    def N(self) -> int:
        """Size of the operators (the quantum dimension)."""
        return int(self._ops.shape[1])

    @property
    def operators(self) -> np.ndarray:
        """``(K, N, N)`` complex."""
        return self._ops

    def coefficients(self, n) -> np.ndarray:
        """All coefficient fields ``(K, ...)`` at the points ``n`` (j arrays ``(3, ...)``)."""
        n = [np.asarray(x, float) for x in n]
        if len(n) != self.spins or any(x.shape[:1] != (3,) for x in n):
            raise ConfigError(f"give {self.spins} arrays of shape (3, ...), one per spin")
        shape = np.broadcast_shapes(*(x.shape[1:] for x in n))
        out = []
        for k, c in enumerate(self._coefs):
            value = np.full(shape, c) if isinstance(c, float) else np.asarray(c(*n))
            if np.iscomplexobj(value):
                raise ConfigError(f"term {k}: the coefficient returned complex values")
            out.append(np.broadcast_to(value, shape))
        return np.stack(out).astype(float)

    def evaluate(self, n) -> np.ndarray:
        """``H`` at the points: ``(N, N, ...)`` complex."""
        return np.tensordot(self._ops, self.coefficients(n), axes=(0, 0))

    def components(self, n) -> np.ndarray:
        """H's real Hermitian-basis components ``(N², ...)`` at the points, without forming the
        complex matrix field: h_a = Σ_k c_k Tr(E_a O_k) (half the memory of :meth:`evaluate`)."""
        weights = hm.to_components(np.moveaxis(self._ops, 0, -1))  # (N², K)
        return np.tensordot(weights, self.coefficients(n), axes=(1, 0))

    @classmethod
    def from_config(cls, terms_list, spins: int, key: str = "hamiltonian.terms"
                    ) -> "ProductHamiltonian":
        """Build from the TOML ``[hamiltonian] terms`` of a config with ``spins`` spins.

        The tables are those of one spin (:meth:`Hamiltonian.from_config
        <spectral_qc.hamiltonians.Hamiltonian.from_config>` checks their keys and operators,
        with the same messages); a ``coef`` string is an expression in ``n1x … n{spins}z``
        (``nx, ny, nz`` = spin 1; :class:`~spectral_qc.expressions.Expression` with
        ``spins``). Errors name ``key[k].coef``, the variable and the fix.
        """
        from .hamiltonians import Hamiltonian

        structure = ([{**t, "coef": 0.0} if isinstance(t, dict) and isinstance(
            t.get("coef"), str) else t for t in terms_list]
            if isinstance(terms_list, (list, tuple)) else terms_list)
        ops = Hamiltonian.from_config(structure, key=key).operators  # keys, op, matrix
        terms = []
        for k, (item, op) in enumerate(zip(terms_list, ops)):
            coef = item["coef"]
            if isinstance(coef, str):
                try:
                    coef = _SpinCoefficient(Expression(coef, spins=spins))
                except ConfigError as exc:
                    raise ConfigError(f"{key}[{k}].coef: {exc}") from None
            terms.append((op, coef))
        return cls(terms, spins)

    def reduced_to_scalar(self) -> "ProductHamiltonian":
        """The N = 1 Hamiltonian of an identity-only one (``O_k = λ_k I → λ_k``; Liouville)."""
        for k, op in enumerate(self._ops):
            if not is_identity_multiple(op):
                raise ConfigError(f"term {k}: the operator is not a multiple of the identity; "
                                  "only such terms can be reduced to N = 1")
        return ProductHamiltonian([(np.array([[op[0, 0].real]]), c)
                                   for op, c in zip(self._ops, self._coefs)], self.spins)

    def lagrangian(self, n) -> np.ndarray:
        """The Koopman–van Hove phase term L = Σ_a n_a·∇_{n_a}H − H, ``(N, N, ...)`` complex.

        The Lagrangian Σ_a n_a·ν_a − H of j rigid rotors (paper eq. 7 for every spin) at
        ν_a = ∇_{n_a}H, the three-dimensional gradient in n_a of H as written (eqs. 14, 29
        with the §4.4 sum over the spins; docs/koopman.md, "Several classical spins"). A
        coefficient contributes ``euler_derivative(n1, …, nj) − c`` when it has that method
        (:class:`EulerCoefficient`), −c otherwise (numbers, plain callables: constant along
        rays).
        """
        values = self.coefficients(n)
        n = [np.asarray(x, float) for x in n]
        euler = np.zeros_like(values)
        for k, c in enumerate(self._coefs):
            if hasattr(c, "euler_derivative"):
                euler[k] = np.broadcast_to(np.asarray(c.euler_derivative(*n), float),
                                           values.shape[1:])
        return np.tensordot(self._ops, euler - values, axes=(0, 0))


class _SpinCoefficient:
    """A coefficient expression as the callable ``c(n1, …, nj)`` of :class:`ProductHamiltonian`."""

    __slots__ = ("expression",)

    def __init__(self, expression):
        self.expression = expression

    def __call__(self, *n):
        return self.expression.of_spins(*n)

    def euler_derivative(self, *n):
        """Σ_a n_a·∇_{n_a} c of the expression as written (for a Koopman phase term)."""
        return self.expression.euler_of_spins(*n)

    def __repr__(self):
        return f"{self.expression.source!r}"


class EulerCoefficient:
    """A coefficient c(n1, …, nj) with its radial derivative E = Σ_a n_a·∇_{n_a} c as written
    off the spheres (the phase term of :meth:`ProductHamiltonian.lagrangian`).

    Parameters
    ----------
    value, euler : callables ``(n1, …, nj) -> array``, each n_a ``(3, ...)``
    """

    def __init__(self, value, euler):
        if not (callable(value) and callable(euler)):
            raise ConfigError("EulerCoefficient(value, euler): both must be callables "
                              "c(n1, …, nj)")
        self.value, self.euler = value, euler

    def __call__(self, *n):
        return self.value(*n)

    def euler_derivative(self, *n):
        """Σ_a n_a·∇_{n_a} c at the points, a real array."""
        return self.euler(*n)


def homogeneous(value, degree) -> EulerCoefficient:
    """A coefficient homogeneous of total degree k in (n1, …, nj) as written, so that
    Σ_a n_a·∇_{n_a} c = k c (Euler's theorem): e.g. ``homogeneous(lambda n1, n2: (n1*n2).sum(0),
    2)`` for n1·n2 (phase term +n1·n2), degree 1 for a linear term (phase term 0)."""
    k = float(degree)
    return EulerCoefficient(value, lambda *n: k * np.asarray(value(*n), float))
