"""Tools the validation studies use from the package: Model.spectral_tendency,
sphere.resample, the grid's tangent vectors, states.bloch_field and the preset
Hamiltonian."""

import tomllib
from importlib import resources

import numpy as np
import pytest

from spectral_qc import hermitian as hm
from spectral_qc import presets
from spectral_qc.integrators import make_integrator
from spectral_qc.simulation import Simulation
from spectral_qc.sphere import SphereGrid, resample
from spectral_qc.states import bloch_density, bloch_field, spin_coherent_field


def sim_of(kind, lmax=15, regularization="none"):
    model = {"kind": kind}
    if kind == "hybrid":
        model.update(regularization=regularization,
                     alpha=0.01 if regularization != "none" else 0.0)
    terms = presets.classical_terms() if kind == "liouville" else presets.coupled_qubit_terms()
    cfg = {"grid": {"lmax": lmax}, "model": model, "hamiltonian": {"terms": terms},
           "initial": {"classical": {"center": [0.48, 0.36, 0.8], "kappa": 2.0}},
           "time": {"t_end": 0.1, "dt": 0.01, "output_every": 0.1}}
    sim = Simulation(cfg)
    if kind != "liouville":  # a correlated P, so that ∇P ≠ 0 and the rotation is not uniform
        sim.state = sim.state_from_grid(sim.grid.synthesis(sim.state.rho_lm),
                                        spin_coherent_field(sim.grid, axis_tilt=0.5))
    return sim


CASES = [("liouville", "none"), ("ehrenfest", "none"), ("hybrid", "none"),
         ("hybrid", "heat_kernel")]


@pytest.mark.parametrize("kind, reg", CASES)
def test_spectral_tendency_is_the_projected_grid_tendency(kind, reg):
    sim = sim_of(kind, regularization=reg)
    g, m, s = sim.grid, sim.model, sim.state
    drho_lm, dp_lm = m.spectral_tendency(s)
    drho, dP = m.tendency(s)
    scale_rho = np.abs(drho_lm).max()
    assert scale_rho > 1e-3
    np.testing.assert_allclose(drho_lm, g.analysis(drho), rtol=0, atol=1e-12 * scale_rho)
    comps = hm.to_components(dP)
    assert dp_lm.shape == s.p_lm.shape and not np.any(dp_lm[0])
    if m.N > 1:
        scale = np.abs(dp_lm).max()
        assert scale > 1e-3
        np.testing.assert_allclose(dp_lm[1:], g.analysis(comps[1:]), rtol=0,
                                   atol=1e-12 * scale)


@pytest.mark.parametrize("kind, reg", CASES)
def test_spectral_tendency_is_the_rate_of_the_integrator(kind, reg):
    """Independent of the tendency code: Richardson of one-step differences of the
    split-step integrator, (2 D(h/2) − D(h)) with D(h) = (S_h u − u)/h, is F(u) + O(h²)."""
    sim = sim_of(kind, regularization=reg)
    m, s = sim.model, sim.state
    integ = make_integrator("strang", m)

    def rate(h):
        u = integ.step(s, h)
        return (u.rho_lm - s.rho_lm) / h, (u.p_lm - s.p_lm) / h

    h = 1e-4
    (a0, a1), (b0, b1) = rate(h), rate(h / 2)
    drho_lm, dp_lm = m.spectral_tendency(s)
    np.testing.assert_allclose(2 * b0 - a0, drho_lm, rtol=0, atol=1e-6 * np.abs(drho_lm).max())
    if m.N > 1:
        np.testing.assert_allclose((2 * b1 - a1)[1:], dp_lm[1:], rtol=0,
                                   atol=1e-6 * np.abs(dp_lm).max())


def test_resample_is_band_limited_interpolation():
    coarse, fine = SphereGrid(11), SphereGrid(23)
    f = lambda n: n[0] * n[2] ** 2 - 0.3 * n[1] + 0.2  # degree 3
    f_lm = coarse.analysis(f(coarse.n))
    up = resample(coarse, f_lm, fine)
    np.testing.assert_allclose(fine.synthesis(up), f(fine.n), rtol=0, atol=1e-13)
    np.testing.assert_array_equal(resample(fine, up, coarse), f_lm)  # round trip exact
    # leading dimensions; truncation drops l > lmax of the target
    g_lm = fine.analysis(np.stack([fine.n[2] ** 7, fine.n[0]]))
    down = resample(fine, g_lm, coarse)
    assert down.shape == (2, coarse.nlm)
    keep = fine.l <= coarse.lmax
    np.testing.assert_array_equal(np.sort_complex(down[0]), np.sort_complex(g_lm[0][keep]))
    with pytest.raises(ValueError, match="resample"):
        resample(coarse, up, fine)


def test_grid_tangent_vectors():
    g = SphereGrid(15)
    n, et, ep = g.n, g.e_theta, g.e_phi
    for a, b, want in ((et, et, 1), (ep, ep, 1), (et, ep, 0), (n, et, 0), (n, ep, 0)):
        np.testing.assert_allclose(np.sum(a * b, axis=0), want, rtol=0, atol=1e-14)
    np.testing.assert_allclose(np.cross(et, ep, axis=0), n, rtol=0, atol=1e-14)
    # the surface gradient of nz is e_z − nz n
    gt, gp = g.gradient(g.analysis(n[2]))
    want = np.array([0, 0, 1.0])[:, None, None] - n[2] * n
    np.testing.assert_allclose(gt * et + gp * ep, want, rtol=0, atol=1e-12)


def test_bloch_field_and_presets():
    b = np.array([[0.3, -0.6], [0.1, 0.0], [0.5, 0.8]])  # two Bloch vectors, (3, 2)
    P = bloch_field(b)
    for k in range(2):
        np.testing.assert_allclose(P[:, :, k], bloch_density(b[:, k]), rtol=0, atol=1e-15)
    np.testing.assert_allclose(P[:, :, 1], [[0.9, -0.3], [-0.3, 0.1]], rtol=0, atol=1e-16)
    demo = tomllib.loads(resources.files("spectral_qc").joinpath("data/demo.toml")
                         .read_text("utf-8"))
    assert presets.coupled_qubit_terms() == demo["hamiltonian"]["terms"]
    t = presets.coupled_qubit_terms()
    t[0]["coef"] = "0"
    assert presets.coupled_qubit_terms()[0]["coef"] == presets.CLASSICAL_H0  # fresh copies
