"""Reading, validating, writing and overriding the TOML run configuration."""

import copy
import math
import tomllib

import numpy as np
import pytest

from spectral_qc import config as cfg
from spectral_qc.config import (Config, ClassicalConfig, QuantumConfig, apply_overrides,
                                config_to_dict, dumps_config, load_config, loads_config)
from spectral_qc.errors import ConfigError
from spectral_qc.hamiltonians import Hamiltonian

CONTRACT_TOML = """
[grid]
lmax = 63

[model]
kind = "hybrid"
hbar = 1.0
spin_magnitude = 1.0
regularization = "none"
alpha = 0.0

[hamiltonian]
terms = [
  { op = "I", coef = "0.5*nz**2 + 0.3*nx" },
  { op = "X", coef = "0.5*nx" }, { op = "Y", coef = "0.5*ny" }, { op = "Z", coef = "0.5*nz + 0.35" },
]

[initial.classical]
kind = "von_mises_fisher"
center = [0.0, 0.0, 1.0]
kappa = 2.0

[initial.quantum]
bloch = [1.0, 0.0, 0.0]

[time]
t_end = 1.0
dt = 0.01
output_every = 0.1

[output]
dir = "out/run"
fields = false
figures = true
checkpoint_every = 0.5
"""
MINIMAL = {"hamiltonian": {"terms": [{"op": "Z", "coef": "0.5*nz"}]}}


def full():
    return tomllib.loads(CONTRACT_TOML)


def setting(raw, key, value):
    """Copy of ``raw`` with the dotted ``key`` set (value ``DELETE`` removes it)."""
    raw = copy.deepcopy(raw)
    *path, leaf = key.split(".")
    node = raw
    for part in path:
        node = node.setdefault(part, {})
    if value is DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return raw


DELETE = object()


# ------------------------------------------------------------------- reading + defaults
def test_contract_example_loads():
    c = loads_config(CONTRACT_TOML)
    assert c.grid.lmax == 63 and c.model.kind == "hybrid" and c.N == 2
    assert c.output.checkpoint_every == 0.5 and c.time.output_every == 0.1
    assert c.initial.quantum.kind == "bloch" and c.initial.quantum.value == (1.0, 0.0, 0.0)
    np.testing.assert_allclose(c.initial.quantum.density, [[0.5, 0.5], [0.5, 0.5]])
    h = c.hamiltonian_operator()
    assert isinstance(h, Hamiltonian) and h.N == 2
    np.testing.assert_allclose(h.evaluate([0.0, 0.0, 1.0]),
                               np.diag([0.5 + 0.85, 0.5 - 0.85]), atol=1e-15)


def test_defaults_applied():
    c = load_config(MINIMAL)
    assert c.grid.lmax == 63
    assert (c.model.kind, c.model.hbar, c.model.spin_magnitude, c.model.regularization,
            c.model.alpha) == ("hybrid", 1.0, 1.0, "none", 0.0)
    cl = c.initial.classical
    assert (cl.kind, cl.center, cl.kappa, cl.components) == ("von_mises_fisher",
                                                             (0.0, 0.0, 1.0), 2.0, ())
    assert c.initial.quantum.kind == "bloch" and c.initial.quantum.value == (1.0, 0.0, 0.0)
    assert (c.time.t_end, c.time.dt, c.time.output_every) == (1.0, 0.01, 0.1)
    o = c.output
    assert (o.dir, o.fields, o.figures, o.checkpoint_every) == ("out/run", False, True, 0.1)
    c2 = load_config(setting(MINIMAL, "time", {"dt": 0.05, "output_every": 0.25}))
    assert c2.output.checkpoint_every == 0.25  # = output_every when absent
    assert isinstance(c.time.t_end, float) and isinstance(c.grid.lmax, int)


def test_frozen_and_keyword_only():
    c = load_config(MINIMAL)
    with pytest.raises(AttributeError):
        c.grid.lmax = 5
    with pytest.raises(TypeError):
        cfg.GridConfig(10)
    assert not c.initial.quantum.density.flags.writeable


def test_load_from_path_and_errors(tmp_path):
    p = tmp_path / "run.toml"
    p.write_text(CONTRACT_TOML)
    assert load_config(p) == load_config(str(p)) == loads_config(CONTRACT_TOML)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "missing.toml")
    p.write_text("[grid\nlmax = 3")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(p)
    with pytest.raises(ConfigError, match="invalid TOML"):
        loads_config("a = = 1")
    with pytest.raises(ConfigError, match="path or a dict"):
        load_config(42)
    c = load_config(MINIMAL)
    assert load_config(c) is c


def test_dict_source_not_modified_and_numpy_accepted():
    raw = setting(full(), "initial.classical.center", np.array([3.0, 0.0, 4.0]))
    raw["grid"]["lmax"] = np.int64(31)
    before = copy.deepcopy(raw)
    c = load_config(raw)
    assert c.grid.lmax == 31 and type(c.grid.lmax) is int
    assert c.initial.classical.center == (0.6, 0.0, 0.8)
    assert raw.keys() == before.keys() and raw["grid"] == before["grid"]


# ------------------------------------------------------------------------ normalization
def test_center_normalized():
    c = load_config(setting(MINIMAL, "initial.classical", {"center": [0, 3, -4], "kappa": 0}))
    assert c.initial.classical.center == pytest.approx((0.0, 0.6, -0.8), abs=1e-15)
    assert c.initial.classical.kappa == 0.0


def test_ket_normalized_and_kept_as_given():
    raw = setting(MINIMAL, "initial.quantum", {"ket": [[3, 0], [0, 4]]})
    q = load_config(raw).initial.quantum
    assert q.kind == "ket" and q.value == ((3.0, 0.0), (0.0, 4.0))
    psi = np.array([0.6, 0.8j])
    np.testing.assert_allclose(q.density, np.outer(psi, psi.conj()), atol=1e-15)
    assert abs(np.trace(q.density) - 1) < 1e-15


def test_density_and_mixed_bloch():
    rho = [[[0.7, 0], [0.1, -0.2]], [[0.1, 0.2], [0.3, 0]]]
    q = load_config(setting(MINIMAL, "initial.quantum", {"density": rho})).initial.quantum
    np.testing.assert_allclose(q.density, [[0.7, 0.1 - 0.2j], [0.1 + 0.2j, 0.3]])
    q = load_config(setting(MINIMAL, "initial.quantum", {"bloch": [0, 0.6, 0]})).initial.quantum
    np.testing.assert_allclose(q.density, [[0.5, -0.3j], [0.3j, 0.5]])


def test_mixture():
    comps = [{"center": [2, 0, 0], "kappa": 5, "weight": 2},
             {"center": [0, 0, -1], "kappa": 1.5}]
    c = load_config(setting(MINIMAL, "initial.classical", {"kind": "mixture",
                                                           "components": comps}))
    cl = c.initial.classical
    assert cl.kind == "mixture" and cl.center is None and cl.kappa is None
    assert cl.components == (((1.0, 0.0, 0.0), 5.0, 2.0), ((0.0, 0.0, -1.0), 1.5, 1.0))


def test_four_level_system():
    terms = [{"op": "XZ", "coef": "nx"}, {"op": "IY", "coef": 1.0}]
    raw = {"hamiltonian": {"terms": terms},
           "initial": {"quantum": {"ket": [[1, 0], [0, 0], [0, 0], [0, 0]]}}}
    assert load_config(raw).N == 4
    with pytest.raises(ConfigError, match=r"^initial\.quantum: missing.*N = 4"):
        load_config({"hamiltonian": {"terms": terms}})


# ---------------------------------------------------------------------- liouville
def test_liouville_reduction():
    raw = {"model": {"kind": "liouville"},
           "hamiltonian": {"terms": [{"op": "I", "coef": "nz"}, {"op": "II", "coef": 0.5},
                                     {"matrix": [[[2, 0], [0, 0]], [[0, 0], [2, 0]]],
                                      "coef": "nx"}]}}
    with pytest.raises(ConfigError, match="same size"):  # mixed Pauli lengths stay an error
        load_config(raw)
    raw["hamiltonian"]["terms"][1]["op"] = "I"
    c = load_config(raw)
    assert c.N == 1 and c.initial.quantum.density.shape == (1, 1)
    h = c.hamiltonian_operator()
    assert h.N == 1
    np.testing.assert_allclose(h.evaluate([[0.5], [0.0], [2.0]])[0, 0], [2.0 + 0.5 + 2 * 0.5])
    again = load_config(tomllib.loads(dumps_config(c)))
    assert again == c and "initial.quantum" not in dumps_config(c)


@pytest.mark.parametrize("term, key", [
    ({"op": "Z", "coef": 1}, "hamiltonian.terms[1].op"),
    ({"op": "IZ", "coef": 1}, "hamiltonian.terms[1].op"),
    ({"matrix": [[[1, 0], [0, 0]], [[0, 0], [2, 0]]], "coef": 1}, "hamiltonian.terms[1].matrix"),
])
def test_liouville_rejects_non_identity(term, key):
    first = {"op": "II" if term.get("op") == "IZ" else "I", "coef": 1}
    raw = {"model": {"kind": "liouville"}, "hamiltonian": {"terms": [first, term]}}
    with pytest.raises(ConfigError, match="liouville") as info:
        load_config(raw)
    assert str(info.value).startswith(key)


def test_liouville_rejects_quantum_section():
    raw = setting(MINIMAL, "model.kind", "liouville")
    raw["hamiltonian"]["terms"] = [{"op": "I", "coef": "nz"}]
    raw["initial"] = {"quantum": {"bloch": [0, 0, 1]}}
    with pytest.raises(ConfigError, match=r"^initial\.quantum = .*liouville"):
        load_config(raw)


# ------------------------------------------------------------------------ round trip
ROUND_TRIP = [
    full(),
    MINIMAL,
    setting(setting(full(), "model.regularization", "heat_kernel"), "model.alpha", 1e-4),
    {"hamiltonian": {"terms": [{"op": "XZ", "coef": "sin(pi*nx) + 1"},
                               {"matrix": [[[1, 0], [0, 1], [0, 0], [0, 0]],
                                           [[0, -1], [2.5, 0], [0, 0], [0, 0]],
                                           [[0, 0], [0, 0], [1e-30, 0], [0, 0]],
                                           [[0, 0], [0, 0], [0, 0], [-1, 0]]], "coef": 3}]},
     "initial": {"quantum": {"density": [[[0.25, 0] if i == j else [0, 0] for j in range(4)]
                                         for i in range(4)]},
                 "classical": {"kind": "mixture", "components": [
                     {"center": [1, 2, 3], "kappa": 7.25, "weight": 0.1},
                     {"center": [0.1, 0.2, 0.3], "kappa": 0}]}},
     "time": {"t_end": 2.5, "dt": 1e-3, "output_every": 0.007},
     "output": {"dir": 'weird "dir"\\with\tstuff/ünï', "fields": True, "figures": False,
                "checkpoint_every": 0.021}},
    {"model": {"kind": "ehrenfest", "hbar": 0.3, "spin_magnitude": 12.5},
     "grid": {"lmax": 2047},
     "hamiltonian": {"terms": [{"op": "Y", "coef": -0.1}]},
     "initial": {"classical": {"center": [1e-3, 1, 1 / 3], "kappa": 1e6},
                 "quantum": {"ket": [[0.1, 0.2], [0.3, -0.4]]}}},
]


@pytest.mark.parametrize("raw", ROUND_TRIP, ids=range(len(ROUND_TRIP)))
def test_round_trip(raw):
    c = load_config(raw)
    text = dumps_config(c)
    again = load_config(tomllib.loads(text))
    assert again == c
    assert config_to_dict(again) == config_to_dict(c)
    assert dumps_config(again) == text
    assert loads_config(text) == c


def test_equality_is_meaningful():
    a, b = load_config(full()), load_config(full())
    assert a == b
    assert a != load_config(setting(full(), "initial.quantum.bloch", [0.0, 1.0, 0.0]))
    assert a != load_config(setting(full(), "initial.classical.center", [0.0, 1.0, 1.0]))
    assert a != load_config(setting(full(), "time.t_end", 2.0))
    q = a.initial.quantum
    assert q == QuantumConfig(kind="bloch", value=(1.0, 0.0, 0.0), density=q.density.copy())
    assert q != QuantumConfig(kind="bloch", value=(1.0, 0.0, 0.0),
                              density=np.eye(2, dtype=complex) / 2)
    assert ClassicalConfig(center=(0.0, 0.0, 1.0)) != ClassicalConfig(center=(0.0, 1e-6, 1.0))


@pytest.mark.parametrize("center", [[1, 2, 3], [0.1, 0.2, 0.3], [1e-300, 3e-300, 0],
                                    [1e300, -1e300, 2e300], [7, 11, -13]])
def test_center_normalization_is_idempotent(center):
    c = load_config(setting(MINIMAL, "initial.classical.center", center))
    w = c.initial.classical.center
    assert abs(math.hypot(*w) - 1.0) <= 1e-15
    again = load_config(setting(MINIMAL, "initial.classical.center", list(w)))
    assert again.initial.classical.center == w  # bit for bit


def test_dumped_text_is_plain_toml():
    text = dumps_config(load_config(full()))
    assert "[initial.classical]" in text and "[initial.quantum]" in text
    assert 'checkpoint_every = 0.5' in text
    assert tomllib.loads(text)["hamiltonian"]["terms"][0] == {
        "op": "I", "coef": "0.5*nz**2 + 0.3*nx"}


# ------------------------------------------------------------------------ invalid configs
BAD = [  # (dotted key to set, value, dotted key expected in the message)
    ("grid.lmax", 0, "grid.lmax"),
    ("grid.lmax", 2048, "grid.lmax"),
    ("grid.lmax", 63.0, "grid.lmax"),
    ("grid.lmax", True, "grid.lmax"),
    ("grid.lmax", "63", "grid.lmax"),
    ("grid.lmx", 63, "grid.lmx"),
    ("gird", {"lmax": 63}, "gird"),
    ("grid", 63, "grid"),
    ("model.kind", "quantum", "model.kind"),
    ("model.hbar", 0.0, "model.hbar"),
    ("model.hbar", -1.0, "model.hbar"),
    ("model.hbar", True, "model.hbar"),
    ("model.hbar", math.nan, "model.hbar"),
    ("model.spin_magnitude", math.inf, "model.spin_magnitude"),
    ("model.spin_magnitude", 0, "model.spin_magnitude"),
    ("model.regularization", "gaussian", "model.regularization"),
    ("model.alpha", 0.1, "model.alpha"),           # with "none"
    ("model.alpha", -0.1, "model.alpha"),
    ("model.dt", 0.1, "model.dt"),
    ("hamiltonian", DELETE, "hamiltonian"),
    ("hamiltonian.terms", DELETE, "hamiltonian.terms"),
    ("hamiltonian.terms", [], "hamiltonian.terms"),
    ("hamiltonian.terms", [{"op": "X", "coef": "x**2"}], "hamiltonian.terms[0].coef"),
    ("hamiltonian.terms", [{"op": "X", "coef": "__import__('os')"}],
     "hamiltonian.terms[0].coef"),
    ("hamiltonian.terms", [{"op": "X", "coef": 1}, {"op": "XY", "coef": 1}],
     "hamiltonian.terms[1].op"),
    ("hamiltonian.terms", [{"op": "W", "coef": 1}], "hamiltonian.terms[0].op"),
    ("hamiltonian.terms", [{"matrix": [[[0, 1], [1, 0]], [[1, 0], [0, 0]]], "coef": 1}],
     "hamiltonian.terms[0].matrix"),
    ("hamiltonian.term", [], "hamiltonian.term"),
    ("hamiltonian.terms", [{"op": "Z", "coef": 1}, {"op": "X", "coef": "log(nz)"}],
     "hamiltonian.terms[1].coef"),                                  # NaN on the sphere
    ("hamiltonian.terms", [{"op": "Z", "coef": "1/nx"}], "hamiltonian.terms[0].coef"),
    ("hamiltonian.terms", [{"op": "Z", "coef": "exp(1000*nz)"}], "hamiltonian.terms[0].coef"),
    ("initial.classical.kind", "gauss", "initial.classical.kind"),
    ("initial.classical.center", [0, 0, 0], "initial.classical.center"),
    ("initial.classical.center", [0, 1], "initial.classical.center"),
    ("initial.classical.center", [0, 1, "z"], "initial.classical.center"),
    ("initial.classical.center", [0, 1, math.inf], "initial.classical.center"),
    ("initial.classical.kappa", -1.0, "initial.classical.kappa"),
    ("initial.classical.components", [{"center": [0, 0, 1], "kappa": 1}],
     "initial.classical.components"),                  # with von_mises_fisher
    ("initial.classical", {"kind": "mixture"}, "initial.classical.components"),
    ("initial.classical", {"kind": "mixture", "components": []},
     "initial.classical.components"),
    ("initial.classical", {"kind": "mixture", "center": [0, 0, 1],
                           "components": [{"center": [0, 0, 1], "kappa": 1}]},
     "initial.classical.center"),
    ("initial.classical", {"kind": "mixture", "components": [
        {"center": [0, 0, 1], "kappa": 1, "weight": 0}]},
     "initial.classical.components[0].weight"),
    ("initial.classical", {"kind": "mixture", "components": [
        {"center": [0, 0, 1], "kappa": 1}, {"center": [0, 0, 1], "kappa": 1, "weight": -2}]},
     "initial.classical.components[1].weight"),
    ("initial.classical", {"kind": "mixture", "components": [{"kappa": 1}]},
     "initial.classical.components[0].center"),
    ("initial.classical", {"kind": "mixture", "components": [
        {"center": [0, 0, 1], "kappa": 1, "wieght": 1}]},
     "initial.classical.components[0].wieght"),
    ("initial.quantum.bloch", [1.0, 0.1, 0.0], "initial.quantum.bloch"),
    ("initial.quantum.bloch", [1.0, 0.0], "initial.quantum.bloch"),
    ("initial.quantum.bloch", [1.0, 0.0, False], "initial.quantum.bloch"),
    ("initial.quantum.ket", [[1, 0], [0, 0]], "initial.quantum.ket"),   # and bloch
    ("initial.quantum", {"ket": [[1, 0]]}, "initial.quantum.ket"),
    ("initial.quantum", {"ket": [[1, 0], [0, 0], [0, 0]]}, "initial.quantum.ket"),
    ("initial.quantum", {"ket": [[0, 0], [0, 0]]}, "initial.quantum.ket"),
    ("initial.quantum", {"ket": [1, 0]}, "initial.quantum.ket"),
    ("initial.quantum", {"density": [[[1, 0], [0, 1]], [[0, 0], [0, 0]]]},
     "initial.quantum.density"),                                    # not Hermitian
    ("initial.quantum", {"density": [[[0.6, 0], [0, 0]], [[0, 0], [0.6, 0]]]},
     "initial.quantum.density"),                                    # trace 1.2
    ("initial.quantum", {"density": [[[1.5, 0], [0, 0]], [[0, 0], [-0.5, 0]]]},
     "initial.quantum.density"),                                    # not PSD
    ("initial.quantum", {"density": [[[1, 0]]]}, "initial.quantum.density"),  # 1×1 for N = 2
    ("initial.quantum", {"bra": [[1, 0]]}, "initial.quantum.bra"),
    ("initial.quantum", "bloch", "initial.quantum"),
    ("initial.classic", {}, "initial.classic"),
    ("time.t_end", 0.0, "time.t_end"),
    ("time.t_end", -1.0, "time.t_end"),
    ("time.dt", 0.0, "time.dt"),
    ("time.dt", 2.0, "time.dt"),                                   # > t_end
    ("time.dt", "0.01", "time.dt"),
    ("time.output_every", 0.015, "time.output_every"),
    ("time.output_every", 0.005, "time.output_every"),              # < dt
    ("time.output_every", 0.0, "time.output_every"),
    ("output.checkpoint_every", 0.25, "output.checkpoint_every"),
    ("output.checkpoint_every", -0.5, "output.checkpoint_every"),
    ("output.fields", "yes", "output.fields"),
    ("output.figures", 1, "output.figures"),
    ("output.dir", "", "output.dir"),
    ("output.dir", 3, "output.dir"),
    ("output.every", 1, "output.every"),
]


@pytest.mark.parametrize("key, value, expected", BAD,
                         ids=[f"{k}={v!r}"[:50] for k, v, _ in BAD])
def test_invalid_configs_name_the_key(key, value, expected):
    raw = setting(full(), key, value)
    with pytest.raises(ConfigError) as info:
        load_config(raw)
    msg = str(info.value)
    assert msg.split(" ")[0].rstrip(":") == expected, msg


def test_error_messages_show_value_and_allowed():
    with pytest.raises(ConfigError, match=r"^time\.dt = -0\.1: expected a number > 0$"):
        load_config(setting(full(), "time.dt", -0.1))
    with pytest.raises(ConfigError, match=r"model\.kind = 'hybird'.*'hybrid'.*did you mean"):
        load_config(setting(full(), "model.kind", "hybird"))
    with pytest.raises(ConfigError, match=r"grid\.lmx: unknown key.*did you mean 'lmax'"):
        load_config(setting(full(), "grid.lmx", 3))
    with pytest.raises(ConfigError, match=r"model\.dt: .*belongs in \[time\]"):
        load_config(setting(full(), "model.dt", 3))
    with pytest.raises(ConfigError, match=r"model\.hbar = True: .*got bool"):
        load_config(setting(full(), "model.hbar", True))
    with pytest.raises(ConfigError, match=r"time\.output_every = 0\.015: .*multiple of "
                                          r"time\.dt = 0\.01"):
        load_config(setting(full(), "time.output_every", 0.015))


def test_heat_kernel_alpha_rules():
    raw = setting(full(), "model.regularization", "heat_kernel")
    with pytest.raises(ConfigError, match=r"^model\.alpha = 0\.0: must be > 0"):
        load_config(raw)
    assert load_config(setting(raw, "model.alpha", 0.01)).model.alpha == 0.01


def test_tolerances():
    raw = setting(full(), "initial.quantum.bloch", [1.0 + 1e-13, 0.0, 0.0])
    assert load_config(raw).initial.quantum.value[0] == 1.0 + 1e-13
    t = load_config(setting(setting(full(), "time.dt", 0.1 / 3), "time.output_every", 0.1))
    assert t.time.output_every == 0.1
    raw = setting(full(), "time", {"t_end": 1.0, "dt": 0.1, "output_every": 0.3 + 1e-12})
    raw = setting(raw, "output.checkpoint_every", 0.9)
    assert load_config(raw).time.output_every == 0.3 + 1e-12
    raw = setting(full(), "time", {"t_end": 1.0, "dt": 0.1, "output_every": 0.3 + 1e-6})
    with pytest.raises(ConfigError, match="time.output_every"):
        load_config(setting(raw, "output.checkpoint_every", DELETE))
    t = setting(full(), "time", {"t_end": 1.0, "dt": 1.0, "output_every": 1.0})
    assert load_config(setting(t, "output.checkpoint_every", 2.0)).time.dt == 1.0  # t_end = dt


# ---------------------------------------------------------------------- overrides
def test_overrides():
    raw = full()
    out = apply_overrides(raw, ["time.dt=0.005", "model.kind=hybrid", " grid.lmax = 31 ",
                                "output.dir=out/x y=z", "output.fields=true",
                                "initial.quantum.ket=[[1, 0], [0, 1]]",
                                'model.regularization="heat_kernel"', "model.alpha=1e-3",
                                "initial.classical.center=[1, 0, 0]"])
    assert raw == full()  # input untouched
    c = load_config(out)
    assert c.time.dt == 0.005 and c.model.kind == "hybrid" and c.grid.lmax == 31
    assert c.output.dir == "out/x y=z" and c.output.fields is True
    assert c.initial.quantum.kind == "ket"  # bloch was replaced, not duplicated
    assert c.model.regularization == "heat_kernel" and c.model.alpha == 1e-3
    assert c.initial.classical.center == (1.0, 0.0, 0.0)
    out = apply_overrides(MINIMAL, ["hamiltonian.terms=[{op = \"X\", coef = \"nx\"}]",
                                    "time.t_end=2"])
    c = load_config(out)
    assert c.hamiltonian.terms == ({"op": "X", "coef": "nx"},) and c.time.t_end == 2.0
    assert apply_overrides(MINIMAL, ["output.dir=123"])["output"]["dir"] == "123"
    assert apply_overrides(MINIMAL, ["time.dt=abc"])["time"]["dt"] == "abc"  # then invalid


@pytest.mark.parametrize("item, match", [
    ("time.dtt=0.1", r"time\.dtt: unknown key; did you mean 'time.dt'"),
    ("dt=0.1", "unknown key"),
    ("timing.dt=0.1", "unknown key"),
    ("initial.quantum.bra=[1]", "unknown key"),
    ("time.dt", "section.key=value"),
    ("grid.lmax.x=1", "unknown key"),
])
def test_bad_overrides(item, match):
    with pytest.raises(ConfigError, match=match):
        apply_overrides(full(), [item])


def test_overridden_value_is_validated():
    out = apply_overrides(full(), ["time.dt=-1"])
    with pytest.raises(ConfigError, match=r"^time\.dt = -1"):
        load_config(out)
    with pytest.raises(ConfigError, match=r"--set time\.dt: time is not a table"):
        apply_overrides({"time": 3}, ["time.dt=1"])


def test_names_come_from_the_registries(monkeypatch):
    from spectral_qc import integrators, models

    assert set(models.MODELS) == {"liouville", "ehrenfest", "hybrid", "kvn", "kvh",
                                  "hybrid_kvh"}  # contract §6
    assert list(models.REGULARIZATIONS)[:2] == ["none", "heat_kernel"]
    # a model registered at run time is a valid kind at once: no second list to update
    monkeypatch.setitem(models.MODELS, "ehrenfest_copy", models.MODELS["ehrenfest"])
    assert load_config({**MINIMAL, "model": {"kind": "ehrenfest_copy"}}).model.kind == \
        "ehrenfest_copy"
    monkeypatch.setitem(integrators.SCHEMES, "strang_copy", integrators.SCHEMES["strang"])
    c = load_config({**MINIMAL, "solver": {"scheme": "strang_copy"}})
    assert c.solver.scheme == "strang_copy"
    assert isinstance(load_config(MINIMAL), Config)
