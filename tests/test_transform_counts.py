"""Transform budget of every model, counted through ``SphereGrid.counts``.

Not a timing test: it pins the number of spherical-harmonic transforms, so that a change
that adds transforms (a gradient recomputed, a matrix transformed entry by entry, the
constant trace component transformed again) fails ``make test``. See docs/performance.md.

What is counted: ``grid.counts`` has one entry per transform *call on one real scalar
field*, by kind — ``synthesis``, ``analysis``, ``gradient`` (one call gives both
components of ∇f), ``vector_analysis`` (one tangent field → its two potentials),
``vector_synthesis``. In time, a gradient or a vector transform costs about two scalar
transforms; the budgets below are call counts, not times.

The state is the usual one (Tr P = 1 everywhere), for which the constant component
p_0 = Tr P/√N needs no transform.
"""

import numpy as np
import pytest

from spectral_qc import SphereGrid
from spectral_qc import exponential as ex
from spectral_qc import hermitian as hm
from spectral_qc.hamiltonians import Hamiltonian
from spectral_qc.integrators import make_integrator
from spectral_qc.models import make_model
from spectral_qc.models.regularizations import REGULARIZATIONS, Regularization
from spectral_qc.states import (spin_coherent_field, state_from_grid, two_qubit_correlated_field,
                                von_mises_fisher)

H_SCALAR = "0.5*nz**2 + 0.3*nx"
HAMILTONIANS = {
    1: [(np.eye(1), H_SCALAR)],
    2: [("I", H_SCALAR), ("X", "0.5*nx"), ("Y", "0.5*ny"), ("Z", "0.5*nz + 0.35")],
    4: [("II", H_SCALAR), ("XI", "0.5*nx + 0.2"), ("IX", "0.4*ny"), ("ZZ", "0.3*nz + 0.1")],
    8: [("III", H_SCALAR), ("XII", "0.5*nx + 0.2"), ("IXI", "0.4*ny"), ("ZZI", "0.3*nz + 0.1")],
}
HK = dict(regularization="heat_kernel", alpha=0.01)

# (model, N, keywords) → transform calls of one transport tendency (fields included),
# and of the first Strang step of a model (4 RK4 stages + 2 rotation sub-steps). A
# rotation leaves ϱ unchanged: the hybrid's first transport stage reuses ϱ and ∇ϱ of the
# rotation before it (one synthesis and, where the model reads ∇ϱ, one gradient fewer
# than the 30 S / 34 ∇ of issue 16 for the qubit; see test_later_steps_reuse_the_density).
# With the heat kernel, 𝒬_0 = p_0 S_αϱ is the same for equal ϱ and constant Tr P: its
# synthesis and gradient are reused by the second generator of a rotation and by the first
# transport stage (3 S and 3 ∇ fewer in a first step than the 94 S / 60 ∇ before), and
# the 4 generators of the rotations do not smooth g_0 (the identity component does not
# rotate P: 4 A and 4 S fewer, test_rotation_generator_skips_the_trace_smoothing).
BUDGET = [
    ("liouville", 1, {}, {"synthesis": 1, "vector_analysis": 1},
     {"synthesis": 4, "vector_analysis": 4}),
    ("ehrenfest", 2, {}, {"synthesis": 4, "gradient": 3, "analysis": 3, "vector_analysis": 1},
     {"synthesis": 22, "gradient": 12, "analysis": 18, "vector_analysis": 4}),
    ("ehrenfest", 4, {}, {"synthesis": 16, "gradient": 15, "analysis": 15,
                          "vector_analysis": 1},
     {"synthesis": 94, "gradient": 60, "analysis": 90, "vector_analysis": 4}),
    ("hybrid", 2, {}, {"synthesis": 4, "gradient": 5, "analysis": 4, "vector_analysis": 1},
     {"synthesis": 29, "gradient": 33, "analysis": 28, "vector_analysis": 4}),
    ("hybrid", 2, HK, {"synthesis": 12, "gradient": 8, "analysis": 11, "vector_analysis": 1},
     {"synthesis": 86, "gradient": 57, "analysis": 80, "vector_analysis": 4}),
    ("hybrid", 4, {}, {"synthesis": 16, "gradient": 17, "analysis": 16, "vector_analysis": 1},
     {"synthesis": 125, "gradient": 129, "analysis": 124, "vector_analysis": 4}),
    ("hybrid", 4, HK, {"synthesis": 48, "gradient": 32, "analysis": 47, "vector_analysis": 1},
     {"synthesis": 374, "gradient": 249, "analysis": 368, "vector_analysis": 4}),
    # three qubits (issue 16): n = N² − 1 = 63 transformed components; per tendency
    # ϱ + n syntheses, n + 2 gradients (∇P, ∇ϱ, the product rule), n + 1 analyses; per
    # rotation sub-step 2(1 + n) S, 2n + 1 ∇, 2n A (less ϱ, ∇ϱ of the first stage)
    ("hybrid", 8, {}, {"synthesis": 64, "gradient": 65, "analysis": 64, "vector_analysis": 1},
     {"synthesis": 509, "gradient": 513, "analysis": 508, "vector_analysis": 4}),
]


@pytest.fixture(scope="module")
def grid():
    return SphereGrid(15)


def _state(grid, N):
    rho = von_mises_fisher(grid, [0.3, 0.1, 1.0], 2.0)
    if N == 1:
        P = np.ones((1, 1) + grid.shape, complex)
    elif N == 2:
        P = spin_coherent_field(grid, 0.6)
    elif N == 4:  # a correlated pure two-qubit state
        P = two_qubit_correlated_field(grid)
    else:  # a product of the qubit state and the two-qubit state: pure, Tr P = 1
        P = np.einsum("ij...,kl...->ikjl...", spin_coherent_field(grid, 0.6),
                      two_qubit_correlated_field(grid)).reshape((8, 8) + grid.shape)
    return state_from_grid(grid, rho, P)


def _id(case):
    kind, N, kw = case[:3]
    return f"{kind}-N{N}" + ("-heat_kernel" if kw else "")


@pytest.mark.parametrize("case", BUDGET, ids=[_id(c) for c in BUDGET])
def test_transport_tendency_budget(grid, case):
    kind, N, kw, per_tendency, _ = case
    model = make_model(kind, grid, Hamiltonian(HAMILTONIANS[N]), **kw)
    state = _state(grid, N)
    grid.counts.clear()
    model.transport_tendency(state)
    assert dict(grid.counts) == per_tendency
    # the rotation generator of the same stage is free: it is cached on the fields
    f = model.fields(state)
    model.transport_tendency(state, f)
    grid.counts.clear()
    model.generator_from_fields(f)
    assert sum(grid.counts.values()) == 0


@pytest.mark.parametrize("case", BUDGET, ids=[_id(c) for c in BUDGET])
def test_strang_step_budget(grid, case):
    kind, N, kw, _, per_step = case
    model = make_model(kind, grid, Hamiltonian(HAMILTONIANS[N]), **kw)
    state = _state(grid, N)
    integ = make_integrator("strang", model)
    grid.counts.clear()
    integ.step(state, 1e-3)
    assert dict(grid.counts) == per_step


@pytest.mark.parametrize("kw, saved", [({}, {"synthesis": 2, "gradient": 2}),
                                       (HK, {"synthesis": 2 + 4 + 4, "gradient": 4,
                                             "analysis": 4})])
def test_later_steps_reuse_the_density(grid, kw, saved):
    """From the second step on, the first rotation of a step has the ϱ of the last one of
    the step before: ϱ (and ∇ϱ, read by the plain hybrid only) are not transformed again,
    two of each fewer than the 30 S / 34 ∇ per step before. With the heat kernel 𝒬_0 is
    reused by 4 of the 8 generators (both of the first rotation, the first stage, the
    second generator of the last rotation): 4 S and 4 ∇ fewer than the 94 S / 60 ∇ too,
    and the rotations' 4 generators skip the smoothing of g_0 (4 A and 4 S)."""
    model = make_model("hybrid", grid, Hamiltonian(HAMILTONIANS[2]), **kw)
    integ = make_integrator("strang", model)
    state = integ.step(_state(grid, 2), 1e-3)
    before = {"synthesis": 94 if kw else 30, "gradient": 60 if kw else 34, "analysis": 84 if kw
              else 28, "vector_analysis": 4}
    grid.counts.clear()
    integ.step(state, 1e-3)
    assert dict(grid.counts) == {k: v - saved.get(k, 0) for k, v in before.items()}


def test_reused_density_follows_the_coefficients(grid):
    """ϱ is reused only for equal coefficients: a state changed in place is transformed
    again, and the fields equal those of a fresh model (bit for bit); the shared arrays
    cannot be changed in place."""
    ham = Hamiltonian(HAMILTONIANS[2])
    model = make_model("hybrid", grid, ham)
    state = _state(grid, 2)
    model.fields(state).grad_rho
    grid.counts.clear()
    f = model.fields(state)
    f.grad_rho
    assert grid.counts["synthesis"] == 3 and grid.counts["gradient"] == 3  # P only
    state.rho_lm[2] += 0.01  # in place
    grid.counts.clear()
    f = model.fields(state)
    f.grad_rho
    assert grid.counts["synthesis"] == 4 and grid.counts["gradient"] == 4
    fresh = make_model("hybrid", grid, ham).fields(state)
    assert np.array_equal(f.rho, fresh.rho) and np.array_equal(f.grad_rho, fresh.grad_rho)
    with pytest.raises(ValueError):  # shared between sub-steps: read-only
        f.rho[0, 0] = 1.0


@pytest.mark.parametrize("N", [2, 4])
def test_rotation_generator_skips_the_trace_smoothing(grid, N):
    """With the heat kernel the rotation's 𝒦 has the components 1 … N²−1 of the full
    generator, bit for bit, and k_0 = h_0 (the identity part does not rotate P), one
    analysis and one synthesis cheaper; the rotated P is the same as with the full 𝒦."""
    from spectral_qc.exponential import unitary_conjugate_components

    model = make_model("hybrid", grid, Hamiltonian(HAMILTONIANS[N]), **HK)
    state = _state(grid, N)
    full = model.generator_components(model.fields(state))
    f = model.fields(state)
    grid.counts.clear()
    rot = model.rotation_generator_components(f)
    assert dict(grid.counts) == {"analysis": N * N - 1 + N * N - 1, "synthesis": N * N - 1
                                 + N * N - 1, "gradient": N * N - 1}
    assert np.array_equal(rot[1:], full[1:]) and np.array_equal(rot[0], model.h[0])
    assert not np.array_equal(full[0], model.h[0])  # the ħ-part has a trace
    p = f.p
    assert np.array_equal(unitary_conjugate_components(p, rot, 0.3),
                          unitary_conjugate_components(p, full, 0.3))
    plain = make_model("hybrid", grid, Hamiltonian(HAMILTONIANS[N]))
    fp = plain.fields(state)
    assert plain.rotation_generator_components(fp) is plain.generator_components(fp)


def test_hybrid_qubit_tendency_within_target(grid):
    """Issue 8: a hybrid qubit tendency within ~20 pair-equivalents. Counting a gradient
    or a vector transform as two scalar transforms, it stays under 12 pairs of transforms
    (the rest of the budget is pointwise algebra, measured by benchmarks/run.py)."""
    model = make_model("hybrid", grid, Hamiltonian(HAMILTONIANS[2]))
    state = _state(grid, 2)
    grid.counts.clear()
    model.transport_tendency(state)
    c = grid.counts
    scalar = c["synthesis"] + c["analysis"] + 2 * (c["gradient"] + c["vector_analysis"])
    assert scalar / 2 <= 12


def test_general_trace_falls_back_to_all_components(grid):
    """A state whose Tr P varies transforms p_0 as well (and gives the same physics)."""
    model = make_model("ehrenfest", grid, Hamiltonian(HAMILTONIANS[2]))
    state = _state(grid, 2)
    scaled = type(state)(state.rho_lm, state.p_lm * 1.0)
    scaled.p_lm[0] += 1e-3 * (grid.l == 1) * (grid.m == 0)
    grid.counts.clear()
    f = model.fields(scaled)
    assert not f.trace_constant
    assert grid.counts["synthesis"] == 1 + 4 and grid.counts["gradient"] == 4
    g_const = model.fields(state)
    assert g_const.trace_constant
    np.testing.assert_allclose(g_const.p[0], 1 / np.sqrt(2), rtol=0, atol=1e-14)


class _CopyingIdentity(Regularization):
    """A user regularization that overrides both hooks (with the identity, copying)."""

    name = "_copying_identity_test"
    calls = []

    def quantum_fields_components(self, f, N):
        self.calls.append("fields")
        return f.rho.copy(), f.grad_rho.copy(), f.p.copy(), f.grad_p.copy()

    def smooth_generator_components(self, g_comp):
        self.calls.append("smooth")
        return np.array(g_comp)


@pytest.mark.parametrize("N", [2, 4])
def test_user_regularization_is_honoured(grid, N, monkeypatch):
    """The hybrid model goes through a registered regularization's hooks (the qubit fast
    path included); being the identity, it equals "none"."""
    monkeypatch.setitem(REGULARIZATIONS, _CopyingIdentity.name, _CopyingIdentity)
    ham = Hamiltonian(HAMILTONIANS[N])
    state = _state(grid, N)
    plain = make_model("hybrid", grid, ham)
    other = make_model("hybrid", grid, ham, regularization=_CopyingIdentity.name)
    np.testing.assert_allclose(other.generator(state), plain.generator(state), atol=1e-13)
    np.testing.assert_allclose(other.energy(state), plain.energy(state), atol=1e-13)
    assert {"fields", "smooth"} <= set(_CopyingIdentity.calls)


@pytest.mark.parametrize("N", [2, 3, 4])
def test_component_algebra_matches_matrices(N, rng):
    shape = (3, 5)
    a = rng.standard_normal((N, N) + shape) + 1j * rng.standard_normal((N, N) + shape)
    b = rng.standard_normal((N, N) + shape) + 1j * rng.standard_normal((N, N) + shape)
    a, b = a + np.conj(np.swapaxes(a, 0, 1)), b + np.conj(np.swapaxes(b, 0, 1))
    ca, cb = hm.to_components(a), hm.to_components(b)
    np.testing.assert_allclose(1j * hm.from_components(hm.commutator_components(ca, cb)),
                               hm.commutator(a, b), atol=1e-12)
    np.testing.assert_allclose(hm.dot_components(ca, cb), hm.trace_product(a, b).real,
                               atol=1e-12)
    from scipy.linalg import expm

    p = hm.from_components(ca)
    expected = np.empty_like(p)
    for i in np.ndindex(shape):
        u = expm(-0.3j * b[(slice(None), slice(None)) + i])
        expected[(slice(None), slice(None)) + i] = u @ p[(slice(None), slice(None)) + i] @ u.conj().T
    np.testing.assert_allclose(hm.unitary_conjugate(p, b, 0.3), expected, atol=1e-12)
    np.testing.assert_allclose(
        hm.from_components(ex.unitary_conjugate_components(ca, cb, 0.3)), expected,
        atol=1e-12)
    u = hm.unitary_field(cb, 0.3)
    np.testing.assert_allclose(hm.from_components(hm.conjugate_components_with(u, ca)),
                               expected, atol=1e-12)


def test_qubit_conjugation_single_point_and_non_hermitian(rng):
    """The closed-form qubit rotation also takes one matrix (no grid axes) and a
    non-Hermitian P (its Hermitian and anti-Hermitian parts rotate alike)."""
    from scipy.linalg import expm

    a = rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2))
    k = a + a.conj().T
    p = rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2))
    u = expm(-0.4j * k)
    np.testing.assert_allclose(hm.unitary_conjugate(p, k, 0.4), u @ p @ u.conj().T,
                               atol=1e-13)
    np.testing.assert_allclose(ex.unitary_conjugate_components(hm.to_components(p @ p.conj().T),
                                                               hm.to_components(k), 0.4),
                               hm.to_components(u @ p @ p.conj().T @ u.conj().T), atol=1e-13)
