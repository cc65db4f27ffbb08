"""The compiled kernels of issue 16 (spectral_qc.kernels) against independent references,
and the allocator setting that keeps a step free of page faults."""

import resource

import numpy as np
import pytest
from scipy.linalg import expm

from spectral_qc import SphereGrid
from spectral_qc import allocator
from spectral_qc import exponential as ex
from spectral_qc import hermitian as hm
from spectral_qc.hamiltonians import Hamiltonian
from spectral_qc.integrators import make_integrator
from spectral_qc.models import make_model
from spectral_qc.states import state_from_grid, two_qubit_correlated_field, von_mises_fisher


def _hermitian(rng, n, shape):
    a = rng.standard_normal((n, n) + shape) + 1j * rng.standard_normal((n, n) + shape)
    return (a + np.conj(np.swapaxes(a, 0, 1))) / 2


@pytest.mark.parametrize("N", [3, 4, 5])
@pytest.mark.parametrize("tau", [1e-3, 0.8])
def test_static_conjugation_matches_expm(rng, N, tau):
    """Ehrenfest's cached U P U† (N > 2) equals scipy's expm at every point; a block
    boundary (BLOCK points) falls inside the grid of 300 points."""
    shape = (3, 100)
    k, p = _hermitian(rng, N, shape), _hermitian(rng, N, shape)
    got = hm.from_components(ex.conjugate_static(ex.static_unitary(hm.to_components(k), tau),
                                                 hm.to_components(p)))
    for i in [(0, 0), (1, 55), (2, 99)]:
        ix = (slice(None), slice(None)) + i
        u = expm(-1j * tau * k[ix])
        np.testing.assert_allclose(got[ix], u @ p[ix] @ u.conj().T, rtol=0, atol=1e-13)


@pytest.mark.parametrize("N", [3, 4])
def test_compiled_commutator_equals_the_matrix_commutator(rng, N):
    """F(a, b) of the compiled kernel (grid-shaped input) against i[A, B] of the matrices,
    over more points than one block."""
    shape = (7, 101)
    a, b = _hermitian(rng, N, shape), _hermitian(rng, N, shape)
    f = hm.commutator_components(hm.to_components(a), hm.to_components(b))
    np.testing.assert_allclose(1j * hm.from_components(f), hm.commutator(a, b), rtol=0,
                               atol=1e-13)


def test_a_step_makes_no_page_faults():
    """With freed memory retained (spectral_qc.allocator), a repeated two-qubit hybrid
    step reuses its arrays: no page faults after the first steps (before: ≈ 5,000 per step
    at lmax 63, docs/performance.md)."""
    grid = SphereGrid(63)
    assert allocator.retain_freed_memory()
    ham = Hamiltonian([("II", "0.5*nz**2 + 0.3*nx"), ("XI", "0.5*nx + 0.2"), ("IX", "0.4*ny"),
                       ("ZZ", "0.3*nz + 0.1")])
    model = make_model("hybrid", grid, ham)
    state = state_from_grid(grid, von_mises_fisher(grid, [0.3, 0.1, 1.0], 2.0),
                            two_qubit_correlated_field(grid))
    integ = make_integrator("strang", model)
    for _ in range(2):  # the heap grows to the step's peak
        integ.step(state, 1e-3)
    faults = []
    for _ in range(3):  # the least of three (a one-off event elsewhere may fault)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        integ.step(state, 1e-3)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    assert min(faults) < 50, faults


def test_small_angle_sine_and_cosine_are_exact_to_roundoff():
    from spectral_qc import kernels

    x = np.linspace(-kernels.SMALL_HALF_ANGLE, kernels.SMALL_HALF_ANGLE, 20001)
    s, c = kernels._sin_cos_small(x)
    assert np.abs(s - np.sin(x)).max() <= 2.3e-16 * 0.25
    assert np.abs(c - np.cos(x)).max() <= 2.3e-16


@pytest.mark.parametrize("tau", [1e-3, 0.05, 2.0])
def test_qubit_rotation_matches_expm(rng, tau):
    """The compiled Rodrigues rotation, by polynomial (small angles) and by math.sin (large),
    against scipy's expm at every point of a (3, 90) grid."""
    shape = (3, 90)
    k, p = _hermitian(rng, 2, shape), _hermitian(rng, 2, shape)
    got = hm.from_components(ex.unitary_conjugate_components(hm.to_components(p),
                                                             hm.to_components(k), tau))
    for i in np.ndindex(shape):
        ix = (slice(None), slice(None)) + i
        u = expm(-1j * tau * k[ix])
        # round-off of both sides grows with ‖τK‖ (≈ 5e-15 at τ = 2 here)
        np.testing.assert_allclose(got[ix], u @ p[ix] @ u.conj().T, rtol=0,
                                   atol=1e-14 * np.abs(p).max())


@pytest.mark.parametrize("N", [2, 4])
def test_compiled_trace_product_and_norm_match_the_matrices(rng, N):
    """hm.dot_components (compiled for grid fields) is Re Tr(AB) of the matrices, and
    traceless_norm_max is the largest Frobenius norm of K − Tr K/N, over 7 × 301 points
    (more than one block)."""
    shape = (7, 301)
    a, b = _hermitian(rng, N, shape), _hermitian(rng, N, shape)
    ca, cb = hm.to_components(a), hm.to_components(b)
    np.testing.assert_allclose(hm.dot_components(ca, cb),
                               np.einsum("ij...,ji...->...", a, b).real, rtol=0, atol=1e-13)
    traceless = b - np.einsum("ii...->...", b) / N * np.eye(N)[:, :, None, None]
    frob = np.sqrt(np.einsum("ij...,ij...->...", traceless, traceless.conj()).real).max()
    assert ex.traceless_norm_max(cb) == pytest.approx(frob, rel=1e-14)


@pytest.mark.parametrize("reg", ["heat_kernel", "hyper_heat_kernel"])
def test_fused_smoothed_qubit_generator_equals_the_two_step_path(reg):
    """The heat-kernel qubit's ħ-part in one compiled pass equals, bit for bit,
    quantum_fields_components followed by the qubit generator and the smoothing; a
    smoothed density ≤ 0 raises SmoothedDensityLost on both paths."""
    from spectral_qc.errors import SmoothedDensityLost
    from spectral_qc.models.hybrid import qubit_quantum_generator
    from spectral_qc.states import spin_coherent_field

    grid = SphereGrid(31)
    ham = Hamiltonian([("I", "0.5*nz**2 + 0.3*nx"), ("X", "0.5*nx"), ("Y", "0.5*ny"),
                       ("Z", "0.5*nz + 0.35")])
    model = make_model("hybrid", grid, ham, regularization=reg, alpha=0.01, hbar=0.8,
                       spin_magnitude=1.2)
    assert model._fused_smoothing
    state = state_from_grid(grid, von_mises_fisher(grid, [0.3, 0.1, 1.0], 2.0),
                            spin_coherent_field(grid, 0.6))
    f = model.fields(state)
    fused = model.quantum_part(f)
    f2 = model.fields(state)
    rho, grad_rho, p, grad_p = model.regularizer.quantum_fields_components(f2, 2)
    two_step = model.regularizer.smooth_generator_components(
        qubit_quantum_generator(rho, grad_rho, p, grad_p, model._grad_h_scaled, model.hbar))
    assert np.array_equal(fused, two_step)
    bad = type(state)(-state.rho_lm, state.p_lm)  # ϱ < 0: so is ϱ̃
    with pytest.raises(SmoothedDensityLost):
        model.quantum_part(model.fields(bad))
    with pytest.raises(SmoothedDensityLost):
        model.regularizer.quantum_fields_components(model.fields(bad), 2)


@pytest.mark.parametrize("kw", [{}, dict(regularization="heat_kernel", alpha=0.01)])
def test_qubit_velocity_kernel_equals_the_product_rule_path(kw):
    """The qubit velocity in one compiled pass equals the generic Tr(P∇𝒦) × n/S of
    Model.velocity_from_fields (product rule, Σ p_a∇h_a), bit for bit; with a Hamiltonian
    whose ∇h has a zero component (the sum runs over all four) and S ≠ 1."""
    from spectral_qc.models.base import Model
    from spectral_qc.states import spin_coherent_field

    grid = SphereGrid(23)
    ham = Hamiltonian([("I", "0.5*nz**2 + 0.3*nx"), ("X", "0.5*nx"), ("Z", 0.35)])
    model = make_model("hybrid", grid, ham, hbar=0.7, spin_magnitude=1.3, **kw)
    state = state_from_grid(grid, von_mises_fisher(grid, [0.3, 0.1, 1.0], 2.0),
                            spin_coherent_field(grid, 0.6))
    f = model.fields(state)
    assert f.trace_constant and len(model.grad_h_rows) == 3
    fast = model.velocity_from_fields(f)
    f.cache.pop("x")
    generic = Model.velocity_from_fields(model, f)
    assert np.array_equal(fast, generic) and np.abs(fast).max() > 0.1
