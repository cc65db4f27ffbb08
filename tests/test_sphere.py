"""Identities of the sphere engine, against independent references.

Tolerances: 1e-11 relative, the issue's bound for lmax ∈ {31, 63, 127}; the transforms
themselves are accurate to ~1e-14, so the margin is two to three orders of magnitude.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import sph_harm_y

from spectral_qc import ConfigError, NonFiniteState, SphereGrid
from spectral_qc.sphere import (bracket, bracket_from_gradients, divergence, exponential_filter,
                                hamiltonian_vector_field, heat_kernel, integrate, laplacian,
                                power_spectrum)

from .conftest import random_coefficients, sphere

LMAXES = [31, 63, 127]
TOL = 1e-11


def rel(err, ref):
    return np.max(np.abs(err)) / max(np.max(np.abs(ref)), 1e-300)


def test_grid_layout():
    g = sphere(63)
    assert g.nlat >= 3 * 64 / 2 and g.nphi == 2 * g.nlat
    assert np.all(np.diff(g.theta) > 0)
    np.testing.assert_allclose(g.phi[1] - g.phi[0], 2 * np.pi / g.nphi)
    np.testing.assert_allclose(np.sum(g.n**2, axis=0), 1.0, atol=1e-15)
    np.testing.assert_allclose(g.weights.sum(), 4 * np.pi, rtol=1e-14)
    # Gauss nodes are the roots of P_nlat(cos θ): compare with numpy's Legendre roots
    x, _ = np.polynomial.legendre.leggauss(g.nlat)
    np.testing.assert_allclose(np.sort(np.cos(g.theta)), np.sort(x), atol=1e-14)


@pytest.mark.parametrize("lmax", LMAXES)
def test_synthesis_matches_scipy_harmonics(lmax):
    g = sphere(lmax)
    th, ph = np.meshgrid(g.theta, g.phi, indexing="ij")
    for l, m in [(0, 0), (1, 0), (3, 2), (lmax, 1), (lmax // 2, lmax // 3), (lmax, lmax)]:
        c = np.zeros(g.nlm, complex)
        c[(g.l == l) & (g.m == m)] = 1.0
        # real-field convention f = Σ a_l0 Y_l0 + 2 Re Σ_{m>0} a_lm Y_lm; no Condon–Shortley
        # phase in spectral_qc, while scipy includes (-1)^m
        ref = (1.0 if m == 0 else 2.0) * (-1) ** m * np.real(sph_harm_y(l, m, th, ph))
        assert rel(g.synthesis(c) - ref, ref) < TOL


@pytest.mark.parametrize("lmax", LMAXES)
def test_round_trip_and_laplacian(lmax, rng):
    g = sphere(lmax)
    c = random_coefficients(g, rng, batch=(3,))
    f = g.synthesis(c)
    assert rel(g.analysis(f) - c, c) < TOL
    # ∇²Y_lm = -l(l+1) Y_lm, checked through div(grad f) computed on the grid
    gt, gp = g.gradient(c)
    assert rel(divergence(g, gt, gp) - laplacian(g, c), laplacian(g, c)) < TOL


@pytest.mark.parametrize("lmax", LMAXES)
def test_divergence_integrates_to_zero_and_is_minus_adjoint_of_gradient(lmax, rng):
    g = sphere(lmax)
    lh = lmax // 2  # band-limit so that f·v is resolved by the quadrature
    f = random_coefficients(g, rng, lmax=lh)
    s, t = random_coefficients(g, rng, batch=(2,), lmax=lh)
    vt, vp = g.vector_synthesis(s, t)
    div = g.synthesis(divergence(g, vt, vp))
    assert abs(integrate(g, div)) < TOL * integrate(g, np.abs(div))
    ft, fp = g.gradient(f)
    lhs = integrate(g, g.synthesis(f) * div)
    rhs = -integrate(g, ft * vt + fp * vp)
    assert abs(lhs - rhs) < TOL * abs(rhs)


@pytest.mark.parametrize("lmax", LMAXES)
@pytest.mark.parametrize("spin", [1.0, 2.5])
def test_bracket_of_coordinates(lmax, spin):
    g = sphere(lmax)
    nx, ny, nz = g.n
    n_lm = g.analysis(g.n)
    for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
        got = bracket(g, n_lm[a], n_lm[b], spin)
        assert np.max(np.abs(got - g.n[c] / spin)) < TOL


@pytest.mark.parametrize("lmax", LMAXES)
def test_bracket_integral_identities(lmax, rng):
    g = sphere(lmax)
    lh = lmax // 3  # products of three fields resolved exactly
    f, gg, h = random_coefficients(g, rng, batch=(3,), lmax=lh)
    fg = bracket(g, f, gg, 1.7)
    assert abs(integrate(g, fg)) < TOL * integrate(g, np.abs(fg))
    a = integrate(g, g.synthesis(f) * bracket(g, gg, h, 1.7))
    b = integrate(g, g.synthesis(h) * bracket(g, f, gg, 1.7))
    assert abs(a - b) < TOL * abs(a)


def test_hamiltonian_vector_field_is_rotation():
    g = sphere(31)
    b = np.array([0.3, -0.5, 0.8])
    h_lm = g.analysis(np.tensordot(b, g.n, axes=1))
    xt, xp = hamiltonian_vector_field(g, h_lm, 2.0)
    # X_H = (1/S) b × n for H = b·n; compare Cartesian components projected on θ̂, φ̂
    th, ph = np.meshgrid(g.theta, g.phi, indexing="ij")
    e_th = np.stack([np.cos(th) * np.cos(ph), np.cos(th) * np.sin(ph), -np.sin(th)])
    e_ph = np.stack([-np.sin(ph), np.cos(ph), 0 * ph])
    v = np.cross(b[:, None, None], g.n, axis=0) / 2.0
    assert np.max(np.abs(xt - np.sum(v * e_th, 0))) < TOL
    assert np.max(np.abs(xp - np.sum(v * e_ph, 0))) < TOL


def test_matrix_bracket_keeps_order(rng):
    g = sphere(31)
    a = random_coefficients(g, rng, batch=(2, 2), lmax=8)
    b = random_coefficients(g, rng, batch=(2, 2), lmax=8)
    ga, gb = g.gradient(a), g.gradient(b)
    got = bracket_from_gradients(ga, gb, 1.0, matrix=True)
    ref = np.zeros_like(got)
    for i in range(2):
        for j in range(2):
            for k in range(2):
                ref[i, j] += bracket(g, a[i, k], b[k, j])
    assert np.max(np.abs(got - ref)) < TOL * np.max(np.abs(ref))


@pytest.mark.parametrize("lmax", LMAXES)
def test_quadrature_exact_to_dealiasing_degree(lmax, rng):
    g = sphere(lmax)
    # ∫ f g dA = Σ coefficient products (Parseval) for f, g of degree ≤ lmax
    f, h = random_coefficients(g, rng, batch=(2,))
    quad = integrate(g, g.synthesis(f) * g.synthesis(h))
    w = np.where(g.m == 0, 1.0, 2.0)
    parseval = np.sum(w * (f * np.conj(h)).real)
    assert abs(quad - parseval) < TOL * abs(parseval) + 1e-12
    assert power_spectrum(g, f).sum() == pytest.approx(integrate(g, g.synthesis(f) ** 2), rel=1e-11)


def test_point_evaluation_matches_synthesis(rng):
    g = sphere(63)
    c = random_coefficients(g, rng, decay=0.05)
    f = g.synthesis(c)
    i, j = rng.integers(0, g.nlat, 20), rng.integers(0, g.nphi, 20)
    assert rel(g.evaluate(c, g.theta[i], g.phi[j]) - f[i, j], f) < TOL
    # off the grid: against scipy's harmonics for a single mode
    c = np.zeros(g.nlm, complex)
    c[(g.l == 5) & (g.m == 3)] = 0.3 - 0.2j
    th, ph = rng.uniform(0, np.pi, 7), rng.uniform(0, 2 * np.pi, 7)
    ref = 2 * (-1) ** 3 * np.real((0.3 - 0.2j) * sph_harm_y(5, 3, th, ph))
    assert np.max(np.abs(g.evaluate(c, th, ph) - ref)) < 1e-13


def test_heat_kernel_and_filter():
    g = sphere(31)
    c = np.ones(g.nlm, complex)
    hk = heat_kernel(g, c, 0.01)
    np.testing.assert_allclose(hk, np.exp(-0.01 * g.l * (g.l + 1)))
    assert heat_kernel(g, c, 0.0)[5] == 1.0
    filt = exponential_filter(g, c)
    assert abs(filt[g.l == g.lmax][0]) < 1e-15 and abs(filt[g.l == 10][0] - 1) < 1e-10
    with pytest.raises(ValueError):
        heat_kernel(g, c, -1.0)


@pytest.mark.parametrize("bad", [0, -3, 5000, 2.5, True, "63"])
def test_bad_lmax_is_a_clear_error(bad):
    with pytest.raises(ConfigError, match="lmax"):
        SphereGrid(bad)


def test_bad_shapes_and_values():
    g = sphere(31)
    with pytest.raises(ValueError, match="nlat, nphi"):
        g.analysis(np.zeros((10, 10)))
    with pytest.raises(ValueError, match="nlm"):
        g.synthesis(np.zeros(7, complex))
    f = np.zeros(g.shape)
    f[3, 4] = np.nan
    with pytest.raises(NonFiniteState, match="NaN"):
        g.analysis(f)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), spin=st.floats(0.1, 10.0))
def test_bracket_antisymmetry_and_leibniz_random(seed, spin):
    g = sphere(31)
    rng = np.random.default_rng(seed)
    f, h, k = random_coefficients(g, rng, batch=(3,), lmax=10)
    fh = bracket(g, f, h, spin)
    assert np.max(np.abs(fh + bracket(g, h, f, spin))) < 1e-12 * max(1, np.abs(fh).max())
    # Leibniz: {f, h k} = {f, h} k + h {f, k}; h·k has degree ≤ 20 ≤ lmax, so exact
    hk = g.analysis(g.synthesis(h) * g.synthesis(k))
    lhs = bracket(g, f, hk, spin)
    rhs = fh * g.synthesis(k) + g.synthesis(h) * bracket(g, f, k, spin)
    assert np.max(np.abs(lhs - rhs)) < 1e-11 * max(1, np.abs(rhs).max())
