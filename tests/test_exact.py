"""Tests of spectral_qc.exact: exact N-level ⊗ spin-I dynamics.

References used here are independent of the code under test: closed forms derived by
hand (rigid precession, the spin-1/2 exchange / SWAP oscillation), a classical ODE
integrated with scipy, and QuTiP (optional, ``pytest.importorskip``).
"""

from fractions import Fraction

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from spectral_qc import exact as ex
from spectral_qc.errors import ConfigError

SX = np.array([[0, 1], [1, 0]], dtype=complex)
SY = np.array([[0, -1j], [1j, 0]], dtype=complex)
SZ = np.array([[1, 0], [0, -1]], dtype=complex)
PAULI = np.array([SX, SY, SZ])
ID2 = np.eye(2, dtype=complex)


def bloch_density(b):
    """(1 + b·σ)/2."""
    return 0.5 * (ID2 + np.einsum("a,aij->ij", np.asarray(b, float), PAULI))


def bloch_vector(rho):
    """Tr(σ ρ), rho (..., 2, 2) → (..., 3)."""
    return np.einsum("aji,...ij->...a", PAULI, rho).real


def rho_q(ds):
    return ds.rho_q_real.values + 1j * ds.rho_q_imag.values


def unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


# A generic coupled qubit Hamiltonian H(n) = A0 + Σ n_a A_a (the default config, minus nz²)
A0_GEN = 0.35 * SZ + 0.1 * SX
A_GEN = 0.5 * PAULI + np.array([0.3 * ID2, -0.2 * ID2, 0.1 * SY])
RHO_MIXED = np.array([[0.7, 0.2 - 0.1j], [0.2 + 0.1j, 0.3]])


# --------------------------------------------------------------- building blocks

@pytest.mark.parametrize("spin", [0.5, 1, 1.5, 3.5, 50])
def test_spin_matrices_algebra(spin):
    j = ex.spin_matrices(spin)
    dim = int(round(2 * spin)) + 1
    assert j.shape == (3, dim, dim)
    tol = 1e-12 * max(1.0, spin ** 2)
    for a in range(3):
        b, c = (a + 1) % 3, (a + 2) % 3
        assert np.max(np.abs(j[a] @ j[b] - j[b] @ j[a] - 1j * j[c])) < tol
        assert np.max(np.abs(j[a] - j[a].conj().T)) == 0.0
    casimir = sum(m @ m for m in j)
    assert np.max(np.abs(casimir - spin * (spin + 1) * np.eye(dim))) < tol
    assert np.allclose(np.diag(j[2]).real, spin - np.arange(dim))


def test_spin_one_half_is_pauli_over_two():
    assert np.allclose(ex.spin_matrices(0.5), PAULI / 2, atol=1e-15)


@pytest.mark.parametrize("spin", [0.5, 1, 2.5, 20])
@pytest.mark.parametrize("center", [[0, 0, 1], [0, 0, -1], [1, 0, 0], [0.3, -0.5, 0.8],
                                    [-0.2, 0.9, -0.4]])
def test_coherent_state(spin, center):
    c = unit(center)
    j = ex.spin_matrices(spin)
    psi = ex.coherent_state(spin, center)
    assert abs(np.vdot(psi, psi) - 1) < 1e-13
    jc = np.einsum("a,aij->ij", c, j)
    # highest-weight eigenvector of J·c
    assert np.max(np.abs(jc @ psi - spin * psi)) < 1e-11 * spin
    mean = np.einsum("i,aij,j->a", psi.conj(), j, psi).real
    assert np.max(np.abs(mean / spin - c)) < 1e-12
    # transverse variance I/2 along any u ⊥ c
    u = unit(np.cross(c, [0.1, 0.7, 0.3]))
    ju = np.einsum("a,aij->ij", u, j)
    assert abs(np.vdot(psi, ju @ ju @ psi).real - spin / 2) < 1e-10 * spin


def test_coherent_state_spin_half_projector():
    m = unit([0.3, -0.5, 0.8])
    psi = ex.coherent_state(0.5, m)
    assert np.allclose(np.outer(psi, psi.conj()), bloch_density(m), atol=1e-14)


@pytest.mark.parametrize("spin", [0.5, 1, 1.5, 2.0, np.float64(2.5), Fraction(7, 2), 50])
def test_check_spin_accepts(spin):
    assert ex.check_spin(spin) == float(spin)


@pytest.mark.parametrize("spin", [0, -0.5, 0.3, 1.25, float("nan"), float("inf"), True,
                                  "1", 1 + 0j, None])
def test_check_spin_rejects(spin):
    with pytest.raises(ValueError):
        ex.check_spin(spin)


def test_vmf_mean_resultant():
    k = np.array([1e-6, 0.5, 2.0, 40.0])
    expect = 1 / np.tanh(k) - 1 / k
    expect[0] = k[0] / 3
    assert np.allclose(ex.vmf_mean_resultant(k), expect, rtol=1e-12, atol=1e-15)
    assert ex.vmf_mean_resultant(0.0) == 0.0
    # κ = 2I: |⟨n⟩| = 1 − 1/(2I) + O(e^{−4I})
    assert abs(ex.vmf_mean_resultant(2 * 25.0) - (1 - 1 / 50)) < 1e-15


# ------------------------------------------------------------------ input checks

@pytest.mark.parametrize("bad", [
    dict(A0=np.array([[0, 1], [0, 0]])),
    dict(A=np.zeros((2, 2, 2))),
    dict(A=np.array([SX, SY, 1j * SZ])),
    dict(rho_q0=np.diag([1.0, 1.0])),
    dict(rho_q0=np.diag([1.5, -0.5])),
    dict(rho_q0=np.eye(3) / 3),
    dict(center=[0, 0, 0]),
    dict(center=[1, 0]),
    dict(times=[0.1, 0.2]),
    dict(times=[0.0, 0.2, 0.1]),
    dict(times=[[0.0, 1.0]]),
    dict(hbar=0.0),
    dict(spin=0.7),
])
def test_solve_matrices_rejects_bad_input(bad):
    args = dict(A0=A0_GEN, A=A_GEN, rho_q0=RHO_MIXED, center=[0, 0, 1], spin=1,
                times=[0.0, 0.5], hbar=1.0)
    args.update(bad)
    with pytest.raises(ValueError):
        ex.solve_matrices(args.pop("A0"), args.pop("A"), args.pop("rho_q0"),
                          args.pop("center"), args.pop("spin"), args.pop("times"), **args)


# ------------------------------------------------------------------ output format

def test_output_dataset_format():
    t = np.linspace(0, 1, 5)
    ds = ex.solve_matrices(A0_GEN, A_GEN, RHO_MIXED, [0, 1, 1], 1.5, t, hbar=0.5)
    assert list(ds.time.values) == list(t)
    assert list(ds.xyz.values) == ["x", "y", "z"]
    assert ds.rho_q_real.dims == ("time", "i", "j") and ds.rho_q_imag.dims == ("time", "i", "j")
    assert ds.n_mean.dims == ("time", "xyz")
    for name in ["purity", "energy", "min_eig_rho_q", "mass"]:
        assert ds[name].dims == ("time",)
    for name in list(ds.data_vars) + ["time"]:
        assert "units" in ds[name].attrs and "long_name" in ds[name].attrs, name
    assert ds.attrs["spin"] == 1.5 and ds.attrs["hbar"] == 0.5
    assert ds.attrs["spin_magnitude"] == 0.75 and ds.attrs["kappa_equivalent"] == 3.0
    # initial values
    assert np.allclose(rho_q(ds)[0], RHO_MIXED, atol=1e-13)
    assert np.allclose(ds.n_mean.values[0], unit([0, 1, 1]), atol=1e-13)


# ------------------------------------------------------------------ uncoupled case

def classical_precession(c, n0, times, S):
    """Integrate the classical Liouville characteristic dn/dt = (1/S) c × n (scipy)."""
    sol = solve_ivp(lambda t, n: np.cross(c, n) / S, (times[0], times[-1]), n0,
                    t_eval=times, rtol=1e-12, atol=1e-13, method="DOP853")
    return sol.y.T


@pytest.mark.parametrize("spin", [0.5, 3, 20])
@pytest.mark.parametrize("hbar", [1.0, 0.7])
def test_uncoupled_precession(spin, hbar):
    """H = c·n 1 + (b/2)σz: rigid precession about c at |c|/(ħI); ρ01 ∝ e^{−ibt/ħ}."""
    c = np.array([0.4, -0.3, 1.1])
    b = 0.9
    A0 = 0.5 * b * SZ
    A = np.array([c[a] * ID2 for a in range(3)])
    n0 = unit([0.6, 0.2, -0.5])
    psi_q = np.array([0.6, 0.8j])                                  # pure, ρ01 ≠ 0
    rho0 = np.outer(psi_q, psi_q.conj())
    t = np.linspace(0, 3 * spin, 31)
    ds = ex.solve_matrices(A0, A, rho0, n0, spin, t, hbar=hbar)

    S = hbar * spin
    n_cl = classical_precession(c, n0, t, S)
    assert np.max(np.abs(ds.n_mean.values - n_cl)) < 1e-9
    # the rotation angle covered is substantial (the test can fail)
    assert np.max(np.abs(n_cl - n0)) > 0.5

    r = rho_q(ds)
    assert np.max(np.abs(r[:, 0, 1] - rho0[0, 1] * np.exp(-1j * b * t / hbar))) < 1e-11
    assert np.max(np.abs(r[:, 0, 0] - rho0[0, 0])) < 1e-12
    assert np.max(np.abs(ds.purity.values - 1.0)) < 1e-12
    # energy = c·n0 + (b/2)⟨σz⟩
    e0 = c @ n0 + 0.5 * b * (rho0[0, 0] - rho0[1, 1]).real
    assert np.max(np.abs(ds.energy.values - e0)) < 1e-11


# ------------------------------------------------------------------ I = 1/2 exchange

def exchange_closed_form(b, m, a, t, hbar):
    """H = (a/2) n·σ at I = 1/2: Ĥ = (a/2)σ⊗σ = a SWAP − a/2.

    exp(−iĤt/ħ) = e^{iat/2ħ}(cos θ − i sin θ SWAP), θ = at/ħ, so a product state
    |χ⟩|μ⟩ goes to cos θ |χ⟩|μ⟩ − i sin θ |μ⟩|χ⟩ (up to a phase). Tracing out the spin:

        ρ_q(t) = cos²θ P_b + sin²θ P_m + (i/2) sin 2θ [P_b, P_m],
        [P_b, P_m] = (i/2)(b × m)·σ,

    so the Bloch vectors are r(t) = cos²θ b + sin²θ m − ½ sin 2θ (b × m) and, by the
    SWAP symmetry, ⟨σ_spin⟩(t) = cos²θ m + sin²θ b − ½ sin 2θ (m × b). Both are affine in
    b, so they hold for mixed qubit states (|b| < 1) as well.
    """
    th = (a * t / hbar)[:, None]
    bm = np.cross(b, m)
    r = np.cos(th) ** 2 * b + np.sin(th) ** 2 * m - 0.5 * np.sin(2 * th) * bm
    s = np.cos(th) ** 2 * m + np.sin(th) ** 2 * b + 0.5 * np.sin(2 * th) * bm
    return r, s


def test_exchange_up_down_closed_form():
    """|↑⟩|↓⟩: ρ_q = diag(cos²(at/ħ), sin²(at/ħ)), purity 1 − ½ sin²(2at/ħ)."""
    a, hbar = 1.3, 1.0
    A = 0.5 * a * PAULI
    t = np.linspace(0, 5, 51)
    ds = ex.solve_matrices(np.zeros((2, 2)), A, np.diag([1.0, 0.0]), [0, 0, -1], 0.5, t,
                           hbar=hbar)
    th = a * t / hbar
    r = rho_q(ds)
    assert np.max(np.abs(r[:, 0, 0] - np.cos(th) ** 2)) < 1e-12
    assert np.max(np.abs(r[:, 1, 1] - np.sin(th) ** 2)) < 1e-12
    assert np.max(np.abs(r[:, 0, 1])) < 1e-12
    assert np.max(np.abs(ds.purity.values - (1 - 0.5 * np.sin(2 * th) ** 2))) < 1e-12
    assert np.max(np.abs(ds.n_mean.values[:, 2] + np.cos(2 * th))) < 1e-12
    assert np.max(np.abs(ds.energy.values + a / 2)) < 1e-12
    assert ds.purity.values.min() < 0.51          # full swap → maximally mixed at θ = π/4


@pytest.mark.parametrize("b", [[0.6, 0.0, 0.8], [0.2, -0.3, 0.5], [0, 0, 0]])
def test_exchange_general_closed_form(b):
    b = np.asarray(b, float)
    a, hbar = 0.8, 0.6
    m = unit([-0.4, 0.7, 0.2])
    t = np.linspace(0, 4, 41)
    ds = ex.solve_matrices(np.zeros((2, 2)), 0.5 * a * PAULI, bloch_density(b), m, 0.5, t,
                           hbar=hbar)
    r_ref, s_ref = exchange_closed_form(b, m, a, t, hbar)
    assert np.max(np.abs(bloch_vector(rho_q(ds)) - r_ref)) < 1e-12
    assert np.max(np.abs(ds.n_mean.values - s_ref)) < 1e-12
    assert np.max(np.abs(ds.purity.values - 0.5 * (1 + np.sum(r_ref ** 2, axis=1)))) < 1e-12
    assert np.max(np.abs(ds.energy.values - 0.5 * a * b @ m)) < 1e-12


# --------------------------------------------------------------- invariants, big I

def test_invariants_large_spin():
    """I = 50 (dimension 202): trace 1, positivity, Hermiticity, energy conserved."""
    t = np.linspace(0, 40, 81)
    ds = ex.solve_matrices(A0_GEN, A_GEN, RHO_MIXED, [1, 0.2, -0.3], 50, t)
    r = rho_q(ds)
    assert ds.attrs["dimension"] == 202
    assert np.max(np.abs(ds.mass.values - 1)) < 1e-12
    assert np.max(np.abs(np.trace(r, axis1=1, axis2=2) - 1)) < 1e-12
    assert ds.min_eig_rho_q.values.min() > -1e-12
    assert np.max(np.abs(ds.energy.values - ds.energy.values[0])) < 1e-11
    assert np.all(ds.purity.values <= 1 + 1e-12)
    assert np.all(np.linalg.norm(ds.n_mean.values, axis=1) <= 1 + 1e-12)
    # the coupling does something: purity and ρ_q change over the run
    assert np.max(np.abs(r - r[0])) > 0.05
    # energy at t = 0 from the classical formula Tr(ρ_q0 H(center)) (exact: product state)
    c = unit([1, 0.2, -0.3])
    h_c = A0_GEN + np.einsum("a,aij->ij", c, A_GEN)
    assert abs(ds.energy.values[0] - np.trace(RHO_MIXED @ h_c).real) < 1e-12


def test_pure_state_purity_decays_and_mixed_state_positive():
    t = np.linspace(0, 20, 41)
    ds = ex.solve_matrices(A0_GEN, A_GEN, bloch_density([0, 1, 0]), [0, 0, 1], 2, t)
    assert ds.purity.values[0] == pytest.approx(1, abs=1e-13)
    assert ds.purity.values.min() < 0.95           # decoherence through the spin
    assert ds.min_eig_rho_q.values.min() > -1e-13


def test_hbar_rescaling():
    """U = exp(−iĤt/ħ): (ħ, t) and (1, t/ħ) give the same state."""
    t = np.linspace(0, 3, 13)
    h = 0.37
    d1 = ex.solve_matrices(A0_GEN, A_GEN, RHO_MIXED, [0.2, 0.5, 1], 3.5, t, hbar=h)
    d2 = ex.solve_matrices(A0_GEN, A_GEN, RHO_MIXED, [0.2, 0.5, 1], 3.5, t / h, hbar=1.0)
    for v in ["rho_q_real", "rho_q_imag", "n_mean", "purity", "energy"]:
        assert np.max(np.abs(d1[v].values - d2[v].values)) < 1e-11, v


def test_two_qubit_system_partial_trace():
    """N = 4: a spectator qubit with its own field stays pure and decoupled."""
    A0 = np.kron(ID2, 0.7 * SX)
    A = np.array([np.kron(0.5 * p, ID2) for p in PAULI])
    spect = bloch_density([0, 0, 1])
    rho0 = np.kron(bloch_density([1, 0, 0]), spect)
    t = np.linspace(0, 6, 25)
    ds = ex.solve_matrices(A0, A, rho0, [0, 1, 0], 1.5, t)
    r = rho_q(ds).reshape(len(t), 2, 2, 2, 2)
    r_spect = np.einsum("tkikj->tij", r)
    th = 0.7 * t
    expect_z = np.cos(2 * th)
    expect_y = -np.sin(2 * th)
    bv = bloch_vector(r_spect)
    assert np.max(np.abs(bv[:, 2] - expect_z)) < 1e-12
    assert np.max(np.abs(bv[:, 1] - expect_y)) < 1e-12
    assert np.max(np.abs(ds.mass.values - 1)) < 1e-12


# -------------------------------------------------------------------- QuTiP

@pytest.mark.parametrize("spin", [0.5, 1, 2.5, 6])
def test_agrees_with_qutip(spin):
    pytest.importorskip("qutip")
    t = np.linspace(0, 5, 21)
    center = [0.3, -0.5, 0.8]
    d1 = ex.solve_matrices(A0_GEN, A_GEN, RHO_MIXED, center, spin, t, hbar=0.7)
    d2 = ex.solve_qutip(A0_GEN, A_GEN, RHO_MIXED, center, spin, t, hbar=0.7)
    for v in ["rho_q_real", "rho_q_imag", "n_mean", "purity", "energy", "min_eig_rho_q"]:
        err = np.max(np.abs(d1[v].values - d2[v].values))
        assert err < 1e-10, (v, err)
    assert "qutip" in d2.attrs["method"]


def test_solve_qutip_without_qutip_gives_install_hint(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "qutip" or name.startswith("qutip."):
            raise ImportError("No module named 'qutip'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"spectral_qc\[exact\]"):
        ex.solve_qutip(A0_GEN, A_GEN, RHO_MIXED, [0, 0, 1], 1, [0.0, 1.0])


# ------------------------------------------------------- linearity of a Hamiltonian

class _Term:
    def __init__(self, op, coef, name):
        self.operator = op
        self.coef = _Coef(coef, name)


class _Coef:
    def __init__(self, fn, name):
        self.fn, self.name, self.source = fn, name, name.split("=", 1)[-1]

    def __call__(self, nx, ny, nz):
        return np.broadcast_to(np.asarray(self.fn(nx, ny, nz), float), np.shape(nx))


class FakeHamiltonian:
    """Duck-typed stand-in for spectral_qc.hamiltonians.Hamiltonian: Σ coef_k(n) O_k."""

    def __init__(self, terms):
        self._terms = [_Term(op, fn, f"hamiltonian.terms[{k}].coef")
                       for k, (op, fn) in enumerate(terms)]

    N = property(lambda self: self._terms[0].operator.shape[0])
    terms = property(lambda self: self._terms)

    def coefficients(self, n):
        return np.stack([t.coef(*n) for t in self._terms])

    def evaluate(self, n):
        return np.tensordot(np.array([t.operator for t in self._terms]),
                            self.coefficients(n), axes=(0, 0))


def test_linear_coefficients_recovers_matrices():
    ham = FakeHamiltonian([
        (ID2, lambda x, y, z: 0.3 * x - 0.2 * y + 0.1),
        (SX, lambda x, y, z: 0.5 * x + 0.1),
        (SY, lambda x, y, z: 0.5 * y + 0.1 * z),
        (SZ, lambda x, y, z: 0.5 * z + 0.35),
    ])
    A0, A = ex.linear_coefficients(ham)
    assert np.allclose(A0, 0.1 * ID2 + 0.1 * SX + 0.35 * SZ, atol=1e-14)
    assert np.allclose(A, A_GEN, atol=1e-14)


@pytest.mark.parametrize("coef", [lambda x, y, z: 0.5 * z ** 2 + 0.3 * x,
                                  lambda x, y, z: np.sqrt(x ** 2 + y ** 2 + z ** 2),
                                  lambda x, y, z: np.log(np.abs(z)),
                                  lambda x, y, z: x * y])
def test_linear_coefficients_rejects_nonlinear(coef):
    ham = FakeHamiltonian([(ID2, coef), (SX, lambda x, y, z: 0.5 * x)])
    with pytest.raises(ConfigError, match=r"at most linear.*|linear in nx") as info:
        ex.linear_coefficients(ham)
    assert "hamiltonian.terms[0].coef" in str(info.value)
    assert "terms[1]" not in str(info.value)


def test_linear_coefficients_names_pauli_component_without_terms():
    class Bare:
        N = 2

        def evaluate(self, n):
            return 0.5 * n[2] ** 2 * SZ[:, :, None] + n[0] * SX[:, :, None]

    with pytest.raises(ConfigError, match="Z component"):
        ex.linear_coefficients(Bare())


# ------------------------------------------------------------- solve(config, spin)

def linear_config(hbar=0.5, spin_magnitude=1.0, t_end=1.0):
    """A qubit config whose Hamiltonian is linear in n (dict of the TOML structure)."""
    return {
        "model": {"kind": "hybrid", "hbar": hbar, "spin_magnitude": spin_magnitude},
        "hamiltonian": {"terms": [
            {"op": "I", "coef": "0.3*nx - 0.2*ny + 0.1"},
            {"op": "X", "coef": "0.5*nx + 0.1"},
            {"op": "Y", "coef": "0.5*ny + 0.1*nz"},
            {"op": "Z", "coef": "0.5*nz + 0.35"},
        ]},
        "initial": {"classical": {"kind": "von_mises_fisher", "center": [1.0, 0.0, 1.0],
                                  "kappa": 4.0},
                    "quantum": {"bloch": [0.6, 0.0, 0.8]}},
        "time": {"t_end": t_end, "dt": 0.05, "output_every": 0.1},
    }


def test_solve_config_matches_matrices(tmp_path):
    import warnings
    from spectral_qc.config import load_config, dumps_config

    cfg = linear_config()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # S = ħI = 1: no warning
        ds = ex.solve(cfg, spin=2)
    A0 = 0.1 * ID2 + 0.1 * SX + 0.35 * SZ
    ref = ex.solve_matrices(A0, A_GEN, bloch_density([0.6, 0, 0.8]), [1, 0, 1], 2,
                            np.arange(11) * 0.1, hbar=0.5)
    assert np.allclose(ds.time.values, np.arange(11) * 0.1, rtol=0, atol=1e-12)
    for v in ["rho_q_real", "rho_q_imag", "n_mean", "purity", "energy"]:
        assert np.max(np.abs(ds[v].values - ref[v].values)) < 1e-12, v
    assert ds.attrs["spin_magnitude_matches"] == 1 and ds.attrs["config_spin_magnitude"] == 1
    assert "[hamiltonian]" in ds.attrs["config"]
    # the same from a TOML file and from a loaded Config
    path = tmp_path / "run.toml"
    path.write_text(dumps_config(load_config(cfg)))
    for source in (path, str(path), load_config(cfg)):
        d2 = ex.solve(source, spin=2)
        assert np.max(np.abs(d2.rho_q_real.values - ds.rho_q_real.values)) < 1e-12


def test_solve_config_time_grid_includes_t_end():
    ds = ex.solve(linear_config(t_end=0.35), spin=2)
    assert np.allclose(ds.time.values, [0, 0.1, 0.2, 0.3, 0.35], atol=1e-12)


def test_solve_config_rejects_nonlinear_hamiltonian():
    cfg = linear_config()
    cfg["hamiltonian"]["terms"][0]["coef"] = "0.5*nz**2 + 0.3*nx"   # the default's nz² term
    with pytest.raises(ConfigError) as info:
        ex.solve(cfg, spin=2)
    msg = str(info.value)
    assert "hamiltonian.terms[0].coef" in msg and "nz**2" in msg and "linear" in msg
    assert "terms[1]" not in msg


def test_solve_config_rejects_mixture():
    cfg = linear_config()
    cfg["initial"]["classical"] = {"kind": "mixture", "components": [
        {"center": [0, 0, 1], "kappa": 2.0, "weight": 0.5},
        {"center": [1, 0, 0], "kappa": 2.0, "weight": 0.5}]}
    with pytest.raises(ConfigError, match="mixture"):
        ex.solve(cfg, spin=2)


def test_solve_config_warns_on_spin_magnitude_mismatch():
    with pytest.warns(UserWarning, match="spin_magnitude"):
        ds = ex.solve(linear_config(spin_magnitude=1.0), spin=3)     # ħI = 1.5
    assert ds.attrs["spin_magnitude_matches"] == 0
    assert ds.attrs["spin_magnitude"] == 1.5


def test_solve_config_rejects_bad_spin_and_method():
    with pytest.raises(ValueError):
        ex.solve(linear_config(), spin=0.25)
    with pytest.raises(ValueError):
        ex.solve(linear_config(), spin=2, method="rk4")


def test_solve_liouville_config_precesses():
    """N = 1: the spin alone, H = c·n → rigid precession at |c|/(ħI)."""
    cfg = {"model": {"kind": "liouville", "hbar": 0.25, "spin_magnitude": 1.0},
           "hamiltonian": {"terms": [{"op": "I", "coef": "0.3*nx + 0.5*nz - 0.2*ny"}]},
           "initial": {"classical": {"center": [0.0, 1.0, 0.0], "kappa": 8.0}},
           "time": {"t_end": 3.0, "dt": 0.1, "output_every": 0.2}}
    ds = ex.solve(cfg, spin=4)
    n_cl = classical_precession(np.array([0.3, -0.2, 0.5]), np.array([0.0, 1.0, 0.0]),
                                ds.time.values, 1.0)
    assert np.max(np.abs(ds.n_mean.values - n_cl)) < 1e-9
    assert np.allclose(ds.purity.values, 1.0) and ds.sizes["i"] == 1


def test_solve_config_qutip_method():
    pytest.importorskip("qutip")
    cfg = linear_config(spin_magnitude=0.75)                  # = ħI
    d1 = ex.solve(cfg, spin=1.5)
    d2 = ex.solve(cfg, spin=1.5, method="qutip")
    for v in ["rho_q_real", "rho_q_imag", "n_mean", "energy"]:
        assert np.max(np.abs(d1[v].values - d2[v].values)) < 1e-10, v
