"""Several classical spins in the config (issue 17 item 3): keys, validation messages, the
Hamiltonian in n1x … n3z, the product initial density, and one spin exactly as before."""

import copy
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from spectral_qc.cli import demo_config_text, main
from spectral_qc.config import dumps_config, load_config
from spectral_qc.errors import ConfigError
from spectral_qc.expressions import Expression
from spectral_qc.models import PRODUCT_MODELS, model_class_for, product_model_class
from spectral_qc.product_hamiltonians import ProductHamiltonian
from spectral_qc.sphere.product import ProductGrid
from spectral_qc.states import product_density

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "two_spins.toml"


def two_spins(**changes):
    """A valid two-spin config dict; ``changes`` maps "table.key" to a value (None: delete)."""
    raw = {
        "grid": {"lmax": 7},
        "model": {"kind": "ehrenfest", "spin_magnitude": [1.0, 2.0]},
        "hamiltonian": {"terms": [
            {"op": "I", "coef": "0.3*(n1x*n2x + n1y*n2y + n1z*n2z)"},
            {"op": "Z", "coef": "0.5*n1z + 0.2*nz"}]},
        "initial": {"classical": {"kind": "product", "factors": [
            {"kind": "von_mises_fisher", "center": [0, 0, 1], "kappa": 2.0},
            {"kind": "mixture", "components": [
                {"center": [1, 0, 0], "kappa": 1.0, "weight": 2.0},
                {"center": [0, 1, 0], "kappa": 3.0}]}]},
            "quantum": {"bloch": [1.0, 0.0, 0.0]}},
        "time": {"t_end": 0.1, "dt": 0.05, "output_every": 0.05},
    }
    for key, value in changes.items():
        *tables, leaf = key.split(".")
        node = raw
        for t in tables:
            node = node[int(t)] if t.isdigit() else node.setdefault(t, {})
        if value is None:
            del node[leaf]
        elif isinstance(node, list):
            node[int(leaf)] = value
        else:
            node[leaf] = value
    return raw


def message(raw) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(raw)
    return str(info.value)


# ----------------------------------------------------------------- valid configs
def test_two_spin_config_is_resolved_and_round_trips():
    c = load_config(two_spins())
    assert c.spins == 2 and c.N == 2
    assert c.grid.lmax == (7, 7)                  # a number: every spin
    assert c.model.spin_magnitude == (1.0, 2.0)
    f0, f1 = c.initial.classical.factors
    assert c.initial.classical.kind == "product"
    assert (f0.kind, f0.center, f0.kappa) == ("von_mises_fisher", (0.0, 0.0, 1.0), 2.0)
    assert f1.kind == "mixture" and [w for _, _, w in f1.components] == [2.0, 1.0]
    text = dumps_config(c)
    assert "spin_magnitude = [1.0, 2.0]" in text and "lmax = [7, 7]" in text
    assert load_config(tomllib.loads(text)) == c
    assert load_config(two_spins(**{"grid.lmax": [5, 9]})).grid.lmax == (5, 9)


def test_a_list_of_one_spin_is_the_one_spin_config():
    raw = two_spins(**{"model.spin_magnitude": [1.5], "grid.lmax": [7],
                       "initial.classical": {"kind": "von_mises_fisher"},
                       "hamiltonian.terms": [{"op": "Z", "coef": "nz"}]})
    c = load_config(raw)
    one = copy.deepcopy(raw)
    one["model"]["spin_magnitude"], one["grid"]["lmax"] = 1.5, 7
    assert c == load_config(one) and c.spins == 1
    assert isinstance(c.model.spin_magnitude, float) and isinstance(c.grid.lmax, int)


def test_one_spin_configs_keep_their_resolved_form():
    """A one-spin config has no new keys in config.toml and the same values as before."""
    demo = load_config(tomllib.loads(demo_config_text()))
    raw = two_spins(**{"model.spin_magnitude": 1.0, "initial.classical": None,
                       "hamiltonian.terms": [{"op": "Z", "coef": "nz"}]})
    for cfg in (demo, load_config(raw)):
        text = dumps_config(cfg)
        assert "factors" not in text and "spin_magnitude = 1.0" in text
        assert cfg.spins == 1 and cfg.initial.classical.factors == ()
        assert isinstance(cfg.hamiltonian_operator().coefficients(np.eye(3)), np.ndarray)


# ------------------------------------------------------------ validation errors
@pytest.mark.parametrize("changes, needles", [
    ({"model.spin_magnitude": [1.0, -1.0]}, ["model.spin_magnitude", "[1.0, -1.0]", "> 0"]),
    ({"model.spin_magnitude": [1, 1, 1, 1]}, ["model.spin_magnitude", "1 to 3"]),
    ({"model.spin_magnitude": []}, ["model.spin_magnitude", "a list of 1 to 3"]),
    ({"grid.lmax": [7]}, ["grid.lmax = [7]", "list of 2", "spin_magnitude declares 2"]),
    ({"grid.lmax": [7, 0]}, ["grid.lmax = [7, 0]", "integer from 1", "each entry"]),
    ({"hamiltonian.terms": [{"op": "Z", "coef": "n3x"}]},
     ["hamiltonian.terms[0].coef", "'n3x'", "spin 3", "spin_magnitude = [S1, S2, S3]"]),
    ({"hamiltonian.terms": [{"op": "Z", "coef": "n1q"}]},
     ["hamiltonian.terms[0].coef", "unknown name 'n1q'", "n1x … n2z"]),
    ({"hamiltonian.terms": [{"op": "Z", "coef": "1/(n1z - n2z)"}]},
     ["hamiltonian.terms[0].coef", "finite on the product of unit spheres", "(n1, n2) = "]),
    ({"hamiltonian.terms": [{"op": "Q", "coef": "n2z"}]}, ["hamiltonian.terms[0].op", "'Q'"]),
    ({"initial.classical": {"kind": "von_mises_fisher"}},
     ["initial.classical.kind = 'von_mises_fisher'", "kind = \"product\"", "factors = ["]),
    ({"initial.classical": None}, ["initial.classical.kind", "product density"]),
    ({"initial.classical.factors": [{"kind": "von_mises_fisher"}]},
     ["initial.classical.factors", "list of 2 tables"]),
    ({"initial.classical.kappa": 2.0}, ["initial.classical.kappa", "not allowed with kind = 'product'"]),
    ({"initial.classical.factors.1": {"kind": "von_mises_fisher", "kappa": -1.0}},
     ["initial.classical.factors[1].kappa = -1.0", "≥ 0"]),
    ({"initial.classical.factors.0": {"kind": "von_mises_fisher", "center": [0, 0]}},
     ["initial.classical.factors[0].center", "3 numbers"]),
    ({"initial.classical.factors.1": {"kind": "mixture"}},
     ["initial.classical.factors[1].components", "non-empty list"]),
    ({"initial.classical.factors.1": {"kind": "mixture", "components": [{"kappa": 1.0}]}},
     ["initial.classical.factors[1].components[0].center: missing"]),
    ({"initial.classical.factors.0": {"kind": "product"}},
     ["initial.classical.factors[0].kind = 'product'", "'von_mises_fisher', 'mixture'"]),
    ({"initial.classical.factors.0": {"kappa": 1.0, "bogus": 1}},
     ["initial.classical.factors[0].bogus: unknown key"]),
    ({"model.kind": "hybird"}, ["model.kind = 'hybird'", "did you mean 'hybrid'"]),
    ({"model.regularization": "heat_kernel", "model.alpha": 0.01},
     ["model.regularization", "'ehrenfest' does not use a regularization"]),
    ({"model.kind": "liouville", "initial.quantum": None},
     ["hamiltonian.terms[1].op = 'Z'", "only identity terms"]),
])
def test_bad_two_spin_configs_name_key_value_and_fix(changes, needles):
    text = message(two_spins(**changes))
    for needle in needles:
        assert needle in text, (needle, text)


def test_one_spin_config_with_a_second_spin_variable_says_how_to_declare_it():
    raw = two_spins(**{"model.spin_magnitude": 1.0, "initial.classical": None,
                       "hamiltonian.terms": [{"op": "Z", "coef": "nz + n2z"}]})
    text = message(raw)
    for needle in ("hamiltonian.terms[0].coef", "'n2z'", "declares 1 classical spin",
                   "spin_magnitude = [S1, S2]", "with one spin write nx, ny, nz"):
        assert needle in text, (needle, text)
    raw["hamiltonian"]["terms"] = [{"op": "Z", "coef": "nz"}]
    raw["initial"]["classical"] = {"kind": "product", "factors": []}
    assert "several classical spins" in message(raw)


def test_bad_two_spin_config_exits_2_with_one_line(tmp_path, capsys):
    text = EXAMPLE.read_text().replace('coef = "0.5*n1x"', 'coef = "0.5*n3x"')
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code = main(["run", str(path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "hamiltonian.terms[1].coef" in err and "'n3x'" in err and "spin_magnitude" in err


# -------------------------------------------------- kinds, Hamiltonian, density
def test_model_kinds_on_products_are_chosen_in_one_place():
    assert set(PRODUCT_MODELS) == {"liouville", "ehrenfest", "hybrid", "kvn", "kvh",
                                   "hybrid_kvh"}
    for kind, cls in PRODUCT_MODELS.items():
        assert model_class_for(kind, 2) is cls and product_model_class(kind) is cls
        assert model_class_for(kind, 1).__name__ == cls.__name__.removeprefix("Product")
    with pytest.raises(ConfigError, match="did you mean 'hybrid'"):
        model_class_for("hybird", 3)


def test_expressions_in_several_spins_against_direct_formulas(rng):
    n1, n2, n3 = (rng.standard_normal((3, 5)) for _ in range(3))
    e = Expression("0.3*(n1x*n2x + n1y*n2y + n1z*n2z) + nz*n3y - sin(n2x)**2", spins=3)
    ref = 0.3 * (n1 * n2).sum(0) + n1[2] * n3[1] - np.sin(n2[0]) ** 2
    assert np.allclose(e.of_spins(n1, n2, n3), ref, rtol=1e-15, atol=1e-15)
    assert e.variables == {"n1x", "n1y", "n1z", "n2x", "n2y", "n2z", "nz", "n3y"}
    one = Expression("0.5*nz**2 + 0.3*nx")
    assert one.spins is None and np.array_equal(one.of_spins(n1), one(*n1))
    with pytest.raises(ConfigError, match="'n1x'.*did you mean 'nx'"):
        Expression("n1x")


def test_product_hamiltonian_from_config_matches_the_callables(rng):
    terms = [{"op": "I", "coef": "n1x*n2x + 2"}, {"op": "X", "coef": 0.25},
             {"matrix": [[[1, 0], [0, 0.5]], [[0, -0.5], [-1, 0]]], "coef": "n2z**2"}]
    h = ProductHamiltonian.from_config(terms, 2)
    ref = ProductHamiltonian([("I", lambda a, b: a[0] * b[0] + 2), ("X", 0.25),
                              (np.array([[1, 0.5j], [-0.5j, -1]]), lambda a, b: b[2] ** 2)], 2)
    n1, n2 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert np.allclose(h.evaluate([n1, n2]), ref.evaluate([n1, n2]), rtol=0, atol=1e-15)
    scalar = ProductHamiltonian.from_config(terms[:1], 2).reduced_to_scalar()
    assert scalar.N == 1 and np.allclose(scalar.evaluate([n1, n2])[0, 0], n1[0] * n2[0] + 2)


def test_product_density_is_the_product_of_normalized_factors():
    """∫ϱ0 dμ = 1 and ∫ϱ0 n2 dμ = the mixture's mean, from the vMF closed form
    ∫ vMF(n; c, κ) n dA = (coth κ − 1/κ) c."""
    c = load_config(two_spins())
    grid = ProductGrid(c.grid.lmax)
    rho = product_density(grid, c.initial.classical.factors)
    assert abs(grid.integrate(rho) - 1) < 1e-13
    mean = lambda k: 1 / math.tanh(k) - 1 / k  # noqa: E731
    ref1 = np.array([0, 0, mean(2.0)])
    ref2 = (2 * mean(1.0) * np.array([1, 0, 0]) + mean(3.0) * np.array([0, 1, 0])) / 3
    for n, ref in zip(grid.n, (ref1, ref2)):
        got = grid.integrate(rho * n)
        assert np.allclose(got, ref, rtol=0, atol=1e-13), (got, ref)


def test_all_vmf_product_density_is_the_api_product_bit_for_bit():
    c = load_config(two_spins(**{"initial.classical.factors.1": {
        "kind": "von_mises_fisher", "center": [1, 1, 0], "kappa": 0.7}}))
    grid = ProductGrid(c.grid.lmax)
    from spectral_qc.models.product import von_mises_fisher_product
    factors = c.initial.classical.factors         # centers as the config normalized them
    ref = von_mises_fisher_product(grid, [f.center for f in factors], [2.0, 0.7])
    assert np.array_equal(product_density(grid, factors), ref)


def test_euler_derivative_of_several_spins_against_hand_derivatives(rng):
    """Σ_a n_a·∇_{n_a} f by the syntax tree == the derivative done by hand."""
    n1, n2 = rng.uniform(0.2, 1.0, (3, 6)), rng.uniform(0.2, 1.0, (3, 6))
    e = Expression("n1x*n2x + sin(n1z)*n2y + n2z**n1y", spins=2)
    x1, y1, z1 = n1
    x2, y2, z2 = n2
    ref = (2 * x1 * x2 + (z1 * np.cos(z1) * y2 + np.sin(z1) * y2)
           + z2**y1 * (y1 * np.log(z2) + y1))      # n·∇(a**b) = a**b (b' ln a + b a'/a)
    assert np.allclose(e.euler_of_spins(n1, n2), ref, rtol=1e-14, atol=0)
    one = Expression("nz**2 + nx*ny")
    assert np.array_equal(one.euler_of_spins(n1), one.euler_derivative(*n1))


def test_one_spin_config_object_is_the_one_written_by_hand():
    """A one-spin config resolves to exactly the Config of before (built here field by
    field): a float S, an int lmax, no factors."""
    from spectral_qc.config import (ClassicalConfig, Config, GridConfig, HamiltonianConfig,
                                    InitialConfig, ModelConfig, OutputConfig, QuantumConfig,
                                    SolverConfig, TimeConfig)
    from spectral_qc.config.schema import bloch_density
    terms = [{"op": "Z", "coef": "0.5*nz"}, {"op": "X", "coef": 0.2}]
    raw = {"grid": {"lmax": 15}, "model": {"kind": "hybrid", "spin_magnitude": 2},
           "hamiltonian": {"terms": terms},
           "initial": {"classical": {"kind": "mixture", "components": [
               {"center": [0, 0, 2], "kappa": 1.0}]}, "quantum": {"bloch": [0, 1, 0]}},
           "time": {"t_end": 0.2, "dt": 0.05, "output_every": 0.1}}
    ref = Config(grid=GridConfig(lmax=15),
                 model=ModelConfig(kind="hybrid", hbar=1.0, spin_magnitude=2.0),
                 hamiltonian=HamiltonianConfig(terms=tuple(terms)),
                 initial=InitialConfig(
                     classical=ClassicalConfig(kind="mixture", center=None, kappa=None,
                                               components=(((0.0, 0.0, 1.0), 1.0, 1.0),)),
                     quantum=QuantumConfig(kind="bloch", value=(0.0, 1.0, 0.0),
                                           density=bloch_density((0.0, 1.0, 0.0)))),
                 time=TimeConfig(t_end=0.2, dt=0.05, output_every=0.1),
                 solver=SolverConfig(), output=OutputConfig(checkpoint_every=0.1))
    got = load_config(raw)
    assert got == ref and type(got.model.spin_magnitude) is float
    assert type(got.grid.lmax) is int and got.spins == 1
