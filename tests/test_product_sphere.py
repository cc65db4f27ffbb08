"""The product-sphere engine (S²)^j (issue 17): transforms, gradients, divergence, bracket,
quadrature, point values and per-factor smoothing, against analytic formulas in the
Cartesian components of n_1, n_2 and against the one-sphere engine (shtns) for j = 1."""

import numpy as np
import pytest

from spectral_qc import SphereGrid
from spectral_qc.errors import ConfigError
from spectral_qc.sphere import bracket, gradient, integrate
from spectral_qc.sphere.legendre import FactorGrid, normalized_legendre
from spectral_qc.sphere.product import ProductGrid


def tangent_projection(grid, a, ambient):
    """(e_θa·∇f, e_φa·∇f) of an ambient gradient ``ambient`` (3 arrays) on factor a."""
    e_t, e_p = grid.tangent_basis(a)
    return [np.broadcast_to(sum(ambient[i] * e[i] for i in range(3)), grid.shape)
            for e in (e_t, e_p)]


def _two_spin_fields(g):
    """f = n1x n2z + n1y² n2x n2y and h = n1z n2y + n1x, with their ambient gradients."""
    (x1, y1, z1), (x2, y2, z2) = g.n
    f = x1 * z2 + y1 ** 2 * x2 * y2
    df1 = [z2 + 0 * x1, 2 * y1 * x2 * y2, 0 * x1 * x2]
    df2 = [y1 ** 2 * y2, y1 ** 2 * x2, x1 + 0 * x2]
    h = z1 * y2 + x1 + 0 * x2
    dh1 = [1 + 0 * y2 * x1, 0 * x1 * x2, y2 + 0 * z1]
    dh2 = [0 * x1 * x2, z1 + 0 * x2, 0 * x1 * x2]
    full = lambda a: np.broadcast_to(a, g.shape)  # noqa: E731
    return full(f), (df1, df2), full(h), (dh1, dh2)


@pytest.fixture(scope="module")
def g2():
    return ProductGrid([6, 8])


def test_round_trip_of_random_coefficients(g2, rng):
    c = rng.standard_normal((2, g2.ncoef))
    assert np.abs(g2.analysis(g2.synthesis(c)) - c).max() < 1e-13


def test_gradients_of_polynomials_match_the_analytic_tangent_gradients(g2):
    f, (df1, df2), _, _ = _two_spin_fields(g2)
    grad = g2.gradient(g2.analysis(f))
    ref = tangent_projection(g2, 0, df1) + tangent_projection(g2, 1, df2)
    for k in range(4):
        assert np.abs(grad[k] - ref[k]).max() < 1e-13, k


def test_bracket_matches_sum_of_triple_products(g2):
    """{f, h} = Σ_a (1/S_a) n_a·(∂_{n_a} f × ∂_{n_a} h) with ambient gradients."""
    f, df, h, dh = _two_spin_fields(g2)
    s = [1.0, 2.5]
    ref = 0
    for a in range(2):
        cross = np.cross(np.stack(np.broadcast_arrays(*df[a], g2.n[a][0]))[:3],
                         np.stack(np.broadcast_arrays(*dh[a], g2.n[a][0]))[:3], axis=0)
        ref = ref + np.einsum("i...,i...->...", g2.n[a], cross) / s[a]
    got = g2.bracket(g2.analysis(f), g2.analysis(h), s)
    assert np.abs(got - ref).max() < 1e-13


def test_divergence_of_gradient_is_the_sum_of_factor_laplacians(g2):
    """f = Y_2 ⊗ Y_3 (n1x n1y · (5 n2z³ − 3 n2z)): div ∇f = −(2·3 + 3·4) f; div X_f = 0."""
    (x1, y1, _), (_, _, z2) = g2.n
    f = np.broadcast_to(x1 * y1 * (5 * z2 ** 3 - 3 * z2), g2.shape)
    c = g2.analysis(f)
    div = g2.synthesis(g2.divergence(g2.gradient(c)))
    assert np.abs(div + 18 * f).max() < 1e-12
    assert np.abs(g2.divergence(g2.hamiltonian_vector_field(c, [1.0, 3.0]))).max() < 1e-13


def test_integral_point_values_and_heat_kernel(g2, rng):
    (x1, _, z1), (x2, y2, _) = g2.n
    assert abs(g2.integrate(np.broadcast_to(z1 ** 2 * x2 ** 2, g2.shape)) - (4 * np.pi / 3) ** 2) < 1e-13
    f = np.broadcast_to(x1 * z1 * y2 + x2 ** 3, g2.shape)
    c = g2.analysis(f)
    th1, ph1, th2, ph2 = rng.uniform(0, np.pi, 7), rng.uniform(0, 6.3, 7), \
        rng.uniform(0, np.pi, 7), rng.uniform(0, 6.3, 7)
    val = g2.evaluate(c, [(th1, ph1), (th2, ph2)])
    ref = (np.sin(th1) * np.cos(ph1) * np.cos(th1) * np.sin(th2) * np.sin(ph2)
           + (np.sin(th2) * np.cos(ph2)) ** 3)
    assert np.abs(val - ref).max() < 1e-13
    y = np.broadcast_to(x1 * z1 * y2, g2.shape)  # degrees (2, 1)
    smooth = g2.synthesis(g2.heat_kernel(g2.analysis(y), [0.01, 0.2]))
    assert np.abs(smooth - np.exp(-0.01 * 6 - 0.2 * 2) * y).max() < 1e-13
    with pytest.raises(ConfigError, match="alpha"):
        g2.heat_kernel(c, [0.1, -1])


def test_legendre_tables_match_shtns_and_scipy():
    """The recurrence of legendre.py against shtns (gradient synthesis of unit coefficients)."""
    sg = SphereGrid(9)
    fg = FactorGrid(9, nlat=sg.nlat)
    eye = np.eye(sg.nlm, dtype=complex)
    vals = sg.synthesis(eye)[:, :, 0]  # φ = 0: 2 N P cos 0 for m > 0
    dth = sg.gradient(eye)[0][:, :, 0]
    lam, dlam = normalized_legendre(9, np.cos(sg.theta))
    w = np.where(sg.m > 0, np.sqrt(2.0), 1.0)[:, None]
    assert np.abs(lam[sg.l, sg.m] * w - vals).max() < 1e-13
    assert np.abs(dlam[sg.l, sg.m] * w - dth).max() < 1e-12
    assert np.abs(fg.theta - sg.theta).max() < 1e-14


def test_one_sphere_through_the_product_engine_is_the_sphere_engine(rng):
    sg = SphereGrid(13)
    pg = ProductGrid(13, nlat=sg.nlat)
    f_lm = rng.standard_normal(sg.nlm) + 1j * rng.standard_normal(sg.nlm)
    f_lm[sg.m == 0] = f_lm[sg.m == 0].real
    f_lm *= np.exp(-0.2 * sg.l)
    h_lm = np.exp(-0.3 * sg.l) * (rng.standard_normal(sg.nlm) + 1j * rng.standard_normal(sg.nlm))
    h_lm[sg.m == 0] = h_lm[sg.m == 0].real
    c, d = pg.from_sphere(f_lm), pg.from_sphere(h_lm)
    assert np.abs(pg.to_sphere(c) - f_lm).max() < 1e-15
    assert np.abs(pg.synthesis(c) - sg.synthesis(f_lm)).max() < 1e-13
    assert np.abs(pg.gradient(c) - gradient(sg, f_lm)).max() < 1e-13
    assert np.abs(pg.bracket(c, d, 1.7) - bracket(sg, f_lm, h_lm, 1.7)).max() < 1e-13
    v = rng.standard_normal((2,) + sg.shape)
    s_lm, _ = sg.vector_analysis(v[0], v[1])
    assert np.abs(pg.to_sphere(pg.divergence(v)) + sg.l * (sg.l + 1) * s_lm).max() < 1e-13
    f = sg.synthesis(f_lm)
    assert abs(pg.integrate(f) - integrate(sg, f)) < 1e-13
    assert np.abs(pg.analysis(f) - c).max() < 1e-13


def test_three_spins_round_trip_and_gradient(rng):
    g = ProductGrid([2, 3, 2])
    (x1, _, _), (_, y2, _), (_, _, z3) = g.n
    f = np.broadcast_to(x1 * y2 * z3 + y2 ** 2, g.shape)
    grad = g.gradient(g.analysis(f))
    ref = (tangent_projection(g, 0, [y2 * z3, 0 * x1, 0 * x1])
           + tangent_projection(g, 1, [0 * y2, x1 * z3 + 2 * y2, 0 * y2])
           + tangent_projection(g, 2, [0 * z3, 0 * z3, x1 * y2]))
    assert max(np.abs(grad[k] - ref[k]).max() for k in range(6)) < 1e-13


def test_bad_input_names_the_key():
    with pytest.raises(ConfigError, match="grid.lmax"):
        ProductGrid([4, 5, 6], spins=2)
    with pytest.raises(ConfigError, match="1, 2 or 3"):
        ProductGrid([3] * 4)
    with pytest.raises(ConfigError, match="ncoef"):
        ProductGrid([3, 3]).synthesis(np.zeros(10))
