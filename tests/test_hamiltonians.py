"""Pauli strings and the Hamiltonian H(n) = Σ coef_k(n) O_k (spectral_qc.hamiltonians)."""

import itertools

import numpy as np
import pytest

from spectral_qc.errors import ConfigError
from spectral_qc.expressions import parse_expression
from spectral_qc.hamiltonians import Hamiltonian, Term, pauli_matrix

# written out by hand, independently of the module's own table
I2 = np.array([[1, 0], [0, 1]], dtype=complex)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
Z = np.array([[1, 0], [0, -1]], dtype=complex)
RNG = np.random.default_rng(3)


def test_single_paulis():
    for s, m in zip("IXYZ", (I2, X, Y, Z)):
        np.testing.assert_array_equal(pauli_matrix(s), m)


@pytest.mark.parametrize("a, b, c, phase", [
    ("X", "Y", "Z", 1j), ("Y", "Z", "X", 1j), ("Z", "X", "Y", 1j),
    ("Y", "X", "Z", -1j), ("Z", "Y", "X", -1j), ("X", "Z", "Y", -1j),
])
def test_pauli_products(a, b, c, phase):
    np.testing.assert_allclose(pauli_matrix(a) @ pauli_matrix(b), phase * pauli_matrix(c))


def test_pauli_squares_and_anticommutators():
    for s in "XYZ":
        np.testing.assert_allclose(pauli_matrix(s) @ pauli_matrix(s), I2)
    for a, b in itertools.combinations("XYZ", 2):
        pa, pb = pauli_matrix(a), pauli_matrix(b)
        np.testing.assert_allclose(pa @ pb + pb @ pa, 0 * I2)


def test_kron_order():
    np.testing.assert_array_equal(pauli_matrix("XZ"), np.kron(X, Z))
    np.testing.assert_array_equal(pauli_matrix("IZ"), np.diag([1, -1, 1, -1]).astype(complex))
    np.testing.assert_array_equal(pauli_matrix("ZI"), np.diag([1, 1, -1, -1]).astype(complex))
    assert not np.array_equal(pauli_matrix("XZ"), pauli_matrix("ZX"))
    np.testing.assert_array_equal(pauli_matrix("XYZ"), np.kron(np.kron(X, Y), Z))
    assert pauli_matrix("IIII").shape == (16, 16)


@pytest.mark.parametrize("bad, piece", [
    ("Q", "'Q'"), ("x", "upper case"), ("XA", "'A'"), ("", "empty"), ("X Z", "' '"),
    (3, "str"), (None, "str"), ("I" * 11, "at most"),
])
def test_bad_pauli_strings(bad, piece):
    with pytest.raises(ConfigError, match="Pauli") as info:
        pauli_matrix(bad)
    assert piece in str(info.value)


def test_evaluate_against_hand_built_matrices():
    h = Hamiltonian([("I", "0.5*nz**2 + 0.3*nx"), ("X", "0.5*nx"), ("Y", 0.25),
                     ("Z", lambda nx, ny, nz: 0.5 * nz + 0.35)])
    assert h.N == 2 and len(h.terms) == 4 and not h.is_identity_only
    n = RNG.normal(size=(3, 5, 7))  # not unit vectors
    got = h.evaluate(n)
    assert got.shape == (2, 2, 5, 7) and got.dtype == complex
    for i, j in [(0, 0), (4, 6), (2, 3)]:
        nx, ny, nz = n[:, i, j]
        want = ((0.5 * nz**2 + 0.3 * nx) * I2 + 0.5 * nx * X + 0.25 * Y
                + (0.5 * nz + 0.35) * Z)
        np.testing.assert_allclose(got[:, :, i, j], want, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(got[:, :, i, j], got[:, :, i, j].conj().T)


def test_evaluate_two_qubits_and_matrices():
    m = np.array([[1.0, 2 - 1j, 0, 0], [2 + 1j, -1, 0, 0], [0, 0, 3, 1j], [0, 0, -1j, 0]])
    h = Hamiltonian([("XZ", "nx"), ("IY", "ny*nz"), (m, 2.0)])
    assert h.N == 4
    n = RNG.normal(size=(3, 11))
    got = h.evaluate(n)
    for k in range(11):
        nx, ny, nz = n[:, k]
        want = nx * np.kron(X, Z) + ny * nz * np.kron(I2, Y) + 2.0 * m
        np.testing.assert_allclose(got[..., k], want, rtol=1e-14, atol=1e-14)


def test_evaluate_single_vector_and_coefficients():
    h = Hamiltonian([("Z", "nz"), ("X", 1)])
    got = h.evaluate([0.0, 0.0, 2.0])
    np.testing.assert_allclose(got, 2.0 * Z + X)
    np.testing.assert_allclose(h.coefficients(np.ones((3, 2))), [[1, 1], [1, 1]])
    with pytest.raises(ValueError):
        h.evaluate(np.zeros((2, 4)))


def test_terms_are_operator_coefficient_pairs():
    h = Hamiltonian([("Y", "nx")])
    (term,) = h.terms
    assert isinstance(term, Term)
    op, coef = term
    np.testing.assert_array_equal(op, Y)
    assert not op.flags.writeable
    assert coef(np.array([0.3]), 0, 0)[0] == 0.3
    assert h.labels == ("'Y'",)


def test_is_identity_only_and_reduction():
    h = Hamiltonian([("I", "nz"), ("I", 2.0)])
    assert h.is_identity_only and h.is_constant is False
    assert Hamiltonian([(3.0 * np.eye(3), 1.0)]).is_identity_only
    assert not Hamiltonian([("Z", 1.0)]).is_identity_only
    assert not Hamiltonian([(np.diag([1.0, 1.0, 1.0 + 1e-6]), 1.0)]).is_identity_only
    r = Hamiltonian([("II", "nz"), (2.0 * np.eye(4), 0.5)]).reduced_to_scalar()
    assert r.N == 1
    np.testing.assert_allclose(r.evaluate(np.array([[0.0], [0.0], [3.0]]))[0, 0], [3.0 + 1.0])
    with pytest.raises(ConfigError, match="identity"):
        Hamiltonian([("I", 1.0), ("X", 1.0)]).reduced_to_scalar()


def test_hermiticity_rejection_names_term():
    bad = np.array([[1.0, 1.0], [0.0, 1.0]])
    with pytest.raises(ConfigError, match=r"term 1.*not Hermitian"):
        Hamiltonian([("Z", 1.0), (bad, 1.0)])
    tiny = np.array([[1.0, 1e-9j], [1e-9j, 1.0]])
    with pytest.raises(ConfigError, match="not Hermitian"):
        Hamiltonian([(tiny, 1.0)])
    ok = np.array([[1.0, 1j + 1e-14], [-1j, 1.0]])  # within 1e-12
    assert Hamiltonian([(ok, 1.0)]).N == 2


@pytest.mark.parametrize("terms, match", [
    ([], "at least one"),
    ([("X", 1.0), ("XZ", 1.0)], r"term 1.*same size"),
    ([(np.zeros((2, 3)), 1.0)], "square"),
    ([(np.ones((2, 2, 2)), 1.0)], "square"),
    ([(np.array([[np.nan, 0], [0, 1]]), 1.0)], "NaN"),
    ([(object(), 1.0)], "Pauli string or"),
    ([("X", True)], "bool"),
    ([("X", 1j)], "real"),
    ([("X", float("inf"))], "finite"),
    ([("X", "nx + x")], "unknown name 'x'"),
    ([("X", [1.0])], "expected a number"),
    ([("X",)], "pair"),
])
def test_bad_terms(terms, match):
    with pytest.raises(ConfigError, match=match):
        Hamiltonian(terms)


def test_callable_coefficient_checks():
    h = Hamiltonian([("X", lambda nx, ny, nz: 1j * nx)])
    with pytest.raises(ConfigError, match="complex"):
        h.evaluate(np.ones((3, 2)))
    h = Hamiltonian([("X", lambda nx, ny, nz: np.zeros(5))])
    with pytest.raises(ConfigError, match="broadcast"):
        h.evaluate(np.ones((3, 2)))
    h = Hamiltonian([("X", lambda nx, ny, nz: 0j + nx)])  # complex dtype, real values: fine
    np.testing.assert_allclose(h.evaluate(np.ones((3, 1)))[..., 0], X)
    h = Hamiltonian([("X", parse_expression("2*ny"))])
    np.testing.assert_allclose(h.evaluate([0.0, 1.5, 0.0]), 3.0 * X)


def test_from_config():
    h = Hamiltonian.from_config([
        {"op": "IZ", "coef": "nz"},
        {"matrix": [[[1, 0], [0, 0], [0, 0], [0, -1]],
                    [[0, 0], [2, 0], [0, 0], [0, 0]],
                    [[0, 0], [0, 0], [3, 0], [0, 0]],
                    [[0, 1], [0, 0], [0, 0], [4, 0]]], "coef": 2},
    ])
    m = np.diag([1.0, 2.0, 3.0, 4.0]).astype(complex)
    m[0, 3], m[3, 0] = -1j, 1j
    got = h.evaluate([0.0, 0.0, 0.5])
    np.testing.assert_allclose(got, 0.5 * np.kron(I2, Z) + 2 * m)
    assert h.labels == ("'IZ'", "matrix")


@pytest.mark.parametrize("terms, key", [
    ([], "hamiltonian.terms"),
    ("X", "hamiltonian.terms"),
    ([3], "hamiltonian.terms[0]"),
    ([{"op": "X"}], "hamiltonian.terms[0].coef"),
    ([{"op": "X", "coef": 1, "extra": 2}], "hamiltonian.terms[0].extra"),
    ([{"op": "X", "matrix": [[[1, 0]]], "coef": 1}], "hamiltonian.terms[0]"),
    ([{"coef": 1}], "hamiltonian.terms[0]"),
    ([{"op": "X", "coef": 1}, {"op": "Xq", "coef": 1}], "hamiltonian.terms[1].op"),
    ([{"op": 1, "coef": 1}], "hamiltonian.terms[0].op"),
    ([{"op": "X", "coef": "import os"}], "hamiltonian.terms[0].coef"),
    ([{"op": "X", "coef": [1]}], "hamiltonian.terms[0].coef"),
    ([{"op": "X", "coef": False}], "hamiltonian.terms[0].coef"),
    ([{"op": "X", "coef": 1}, {"op": "ZZ", "coef": 1}], "hamiltonian.terms[1].op"),
    ([{"matrix": [[[1, 0], [0, 1]], [[0, 0], [1, 0]]], "coef": 1}],
     "hamiltonian.terms[0].matrix"),
    ([{"matrix": [[1, 0], [0, 1]], "coef": 1}], "hamiltonian.terms[0].matrix[0][0]"),
    ([{"matrix": [[[1, 0], [0, 0]]], "coef": 1}], "hamiltonian.terms[0].matrix[0]"),
    ([{"matrix": [[[1, True]]], "coef": 1}], "hamiltonian.terms[0].matrix[0][0]"),
    ([{"matrix": [], "coef": 1}], "hamiltonian.terms[0].matrix"),
])
def test_from_config_errors_name_the_key(terms, key):
    with pytest.raises(ConfigError) as info:
        Hamiltonian.from_config(terms)
    assert str(info.value).startswith(key)
