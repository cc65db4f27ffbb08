"""The safe coefficient-expression parser (spectral_qc.expressions)."""

import builtins
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spectral_qc.errors import ConfigError
from spectral_qc.expressions import MAX_DEPTH, MAX_LENGTH, Expression, parse_expression

RNG = np.random.default_rng(12)
NX, NY, NZ = RNG.normal(size=(3, 4, 5))


@pytest.mark.parametrize("text, expected", [
    ("1", lambda x, y, z: np.ones_like(x)),
    ("2.5e-3", lambda x, y, z: np.full_like(x, 2.5e-3)),
    ("1E2 + .5", lambda x, y, z: np.full_like(x, 100.5)),
    ("nx", lambda x, y, z: x),
    ("0.5*nz**2 + 0.3*nx", lambda x, y, z: 0.5 * z**2 + 0.3 * x),
    ("-ny + +nz - -nx", lambda x, y, z: -y + z + x),
    ("nx*ny/nz", lambda x, y, z: x * y / z),
    ("(nx + ny) * (nx - nz)", lambda x, y, z: (x + y) * (x - z)),
    ("sin(pi*nx) + cos(ny) - tan(nz/4)", lambda x, y, z: np.sin(np.pi * x) + np.cos(y)
     - np.tan(z / 4)),
    ("exp(-nx**2) * log(1 + nz**2)", lambda x, y, z: np.exp(-x**2) * np.log1p(z**2)),
    ("sqrt(abs(nx*ny))", lambda x, y, z: np.sqrt(np.abs(x * y))),
    ("abs(nx)**1.5", lambda x, y, z: np.abs(x) ** 1.5),
    ("nx**3 - ny**2*nz", lambda x, y, z: x**3 - y**2 * z),
    ("  nx + 1  ", lambda x, y, z: x + 1),
    ("pi", lambda x, y, z: np.full_like(x, np.pi)),
])
def test_values_match_numpy(text, expected):
    got = parse_expression(text)(NX, NY, NZ)
    assert got.shape == NX.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected(NX, NY, NZ), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("text, value", [
    ("-2**2", -4.0), ("2**3**2", 512.0), ("2**-1", 0.5), ("(-2)**2", 4.0), ("(-2)**3", -8.0),
    ("1 - 2 - 3", -4.0), ("8 / 4 / 2", 1.0), ("2 + 3*4", 14.0), ("(2 + 3)*4", 20.0),
    ("-3**2 + 10", 1.0), ("2*-3", -6.0), ("--2", 2.0),
])
def test_precedence_and_associativity(text, value):
    e = parse_expression(text)
    assert e.is_constant
    assert e.constant_value() == value
    assert float(e(0.0, 0.0, 0.0)) == value


def test_broadcasting_and_shape():
    e = parse_expression("nx + 10*ny + 100*nz")
    out = e(np.arange(3)[:, None, None], np.arange(4)[None, :, None], np.arange(2))
    assert out.shape == (3, 4, 2)
    assert out[2, 3, 1] == 2 + 30 + 100
    const = parse_expression("3")(np.zeros((2, 3)), 0.0, 0.0)
    assert const.shape == (2, 3) and np.all(const == 3)
    const[0, 0] = 5.0  # result is a fresh, writable array


def test_attributes():
    e = parse_expression(" nz*nx ")
    assert e.source == " nz*nx "
    assert not e.is_constant and e.variables == {"nx", "nz"}
    assert parse_expression("sin(pi/2)").is_constant
    with pytest.raises(ValueError):
        e.constant_value()
    assert isinstance(e, Expression) and "nz*nx" in repr(e)
    assert parse_expression("nx+1") == parse_expression("nx + 1")
    assert parse_expression("nx+1") != parse_expression("1+nx")
    again = pickle.loads(pickle.dumps(e))
    assert again == e and again.source == e.source


def test_singular_values_do_not_raise():
    with np.errstate(all="raise"):
        out = parse_expression("1/nx + log(ny) + sqrt(nz) + 10.0**400")(0.0, -1.0, -1.0)
    assert not np.isfinite(out)
    assert parse_expression("9**9**9")(0, 0, 0) == np.inf  # float, not a huge int


@pytest.mark.parametrize("text, piece", [
    ("__import__('os').system('echo hi')", "__import__"),
    ("().__class__", "attribute"),
    ("nx.real", "nx.real"),
    ("[1][0]", "subscript"),
    ("open('x')", "'open'"),
    ("lambda: 1", "lambda"),
    ("eval('1')", "'eval'"),
    ("exec('1')", "'exec'"),
    ("x", "'x'"),
    ("'a'", "str"),
    ("b'a'", "bytes"),
    ("f'{nx}'", "f-string"),
    ("True", "bool"),
    ("None", "NoneType"),
    ("1j", "complex"),
    ("[x for x in (1,)]", "comprehension"),
    ("(1, 2)", "Tuple"),
    ("{1: 2}", "Dict"),
    ("nx if ny else nz", "conditional"),
    ("nx < ny", "comparison"),
    ("nx and ny", "boolean"),
    ("nx // 2", "'//'"),
    ("nx % 2", "'%'"),
    ("nx @ ny", "'@'"),
    ("~nx", "'~'"),
    ("not nx", "'not'"),
    ("(y := 1)", "assignment"),
    ("sin", "'sin'"),
    ("sinn(nx)", "did you mean 'sin'"),
    ("sin(nx, ny)", "one argument"),
    ("sin(*nx)", "one argument"),
    ("sin(x=nx)", "keyword"),
    ("sin(nx)(ny)", "plain function name"),
    ("globals()", "'globals'"),
    ("nx; ny", "syntax"),
    ("1if 2", "syntax"),
    ("import os", "syntax"),
    ("", "empty"),
    ("   ", "empty"),
    ("nx\x00", "null"),
    ("ｎx", "non-ASCII"),
    ("nx·2", "non-ASCII"),
    ("1" + "0" * 400, "too large"),
    ("nx + " * 250 + "1", "characters"),
    ("-" * (MAX_DEPTH + 5) + "1", "nested"),
    ("(" * 300 + "1" + ")" * 300, "nested"),
])
def test_rejections(text, piece):
    with pytest.raises(ConfigError) as info:
        parse_expression(text)
    assert piece.lower() in str(info.value).lower()


@pytest.mark.parametrize("value", [1, 1.5, None, ["nx"], b"nx"])
def test_rejects_non_strings(value):
    with pytest.raises(ConfigError, match="string"):
        parse_expression(value)


def test_limits_are_inclusive():
    text = "1+" * ((MAX_LENGTH - 1) // 2) + "1"
    assert len(text) <= MAX_LENGTH
    with pytest.raises(ConfigError, match="nested"):  # long but too deep: depth, not length
        parse_expression(text)
    flat = "+".join(["nx*ny"] * 20)
    assert parse_expression(flat)(1.0, 2.0, 0.0) == 40.0
    assert parse_expression("-" * (MAX_DEPTH - 1) + "1")(0, 0, 0) == -1.0


# --------------------------------------------------------------- no code is ever run
class _Executed(BaseException):
    """Raised by the traps; a BaseException so that no `except Exception` can hide it."""


_TRAPS = {"armed": False, "hits": []}
_EVENTS = ("exec", "import", "open", "os.system", "subprocess.Popen", "os.exec", "os.spawn",
           "os.posix_spawn", "os.remove", "shutil", "socket", "ctypes", "builtins.input")


def _audit(event, args):
    if _TRAPS["armed"] and event.startswith(_EVENTS):
        _TRAPS["hits"].append(event)
        raise _Executed(event)


sys.addaudithook(_audit)  # process-wide but inert unless armed


def _trap(*args, **kwargs):
    _TRAPS["hits"].append("builtin")
    raise _Executed("builtin called")


_PATCHED = [(builtins, n) for n in ("__import__", "eval", "exec", "open", "breakpoint",
                                     "input")] + [(os, "system"), (subprocess, "Popen")]


class _Armed:
    """Context manager: dangerous builtins raise, audit events of executed code raise."""

    def __enter__(self):
        self.saved = [(mod, name, getattr(mod, name)) for mod, name in _PATCHED]
        for mod, name in _PATCHED:
            setattr(mod, name, _trap)
        _TRAPS["armed"] = True

    def __exit__(self, *exc):
        _TRAPS["armed"] = False
        for mod, name, value in self.saved:
            setattr(mod, name, value)


def check_safe(text):
    """Parse and evaluate with the traps armed: a ConfigError or a float array, nothing else."""
    _TRAPS["hits"].clear()
    try:
        with _Armed():
            try:
                e = parse_expression(text)
            except ConfigError:
                e = None
            out = e(NX, NY, NZ) if e is not None else None
    finally:
        assert _TRAPS["hits"] == [], f"{text!r} triggered {_TRAPS['hits']}"
    if e is not None:
        assert isinstance(out, np.ndarray) and out.shape == NX.shape
        assert out.dtype == np.float64
    return e


def _import_something():
    import importlib  # an import statement goes through builtins.__import__
    return importlib


@pytest.mark.parametrize("attack", [
    lambda: builtins.eval("1"), lambda: builtins.exec("1"), _import_something,
    lambda: builtins.open(os.devnull), lambda: os.system("true"),
    lambda: sys.audit("os.system", b"true"), lambda: sys.audit("exec", None),
])
def test_traps_fire(attack):
    """The traps must fire, or the property tests below would prove nothing."""
    with pytest.raises(_Executed):
        with _Armed():
            attack()
    assert _TRAPS["hits"]
    _TRAPS["hits"].clear()
    assert builtins.eval("1") == 1  # and they are disarmed afterwards


def test_payloads_rejected_without_side_effects(tmp_path):
    marker = tmp_path / "pwned"
    for text in [f"__import__('os').system('touch {marker}')",
                 f"open('{marker}', 'w')",
                 "().__class__.__base__.__subclasses__()",
                 "eval(\"__import__('os')\")", "exec('import os')",
                 "[c for c in ().__class__.__bases__]", "(lambda: __import__('os'))()",
                 "breakpoint()", "input()", "print(1)", "__builtins__", "globals()['x']"]:
        assert check_safe(text) is None
    assert not marker.exists()


GRAMMAR = ["nx", "ny", "nz", "pi", "1", "2.5", "1e-3", "3E+2", "+", "-", "*", "/", "**",
           "(", ")", "sin(", "cos(", "tan(", "exp(", "log(", "sqrt(", "abs("]
JUNK = ["__import__", "'os'", ".", "system", "[", "]", "lambda", ":", ",", "__class__",
        "=", ";", "@", "if", "else", "for", "in", "x", "open", "eval", "exec", "\"", "{",
        "}", "not", "and", "<", "1j", "...", "__builtins__", "globals", "\n", "#", "\\",
        "%", "//", "~", "True", "None", ":=", "*", "yield", "await", "print"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_random_text_never_executes(text):
    check_safe(text)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(GRAMMAR + JUNK), max_size=25), st.sampled_from(["", " "]))
def test_random_tokens_never_execute(tokens, sep):
    check_safe(sep.join(tokens))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(GRAMMAR), min_size=1, max_size=25))
def test_grammar_tokens_parse_or_fail_cleanly(tokens):
    check_safe(" ".join(tokens))


@st.composite
def valid_expressions(draw, depth=0):
    """Random well-formed expressions of the grammar (each must parse)."""
    if depth > 4 or draw(st.booleans()):
        return draw(st.sampled_from(["nx", "ny", "nz", "pi", "2", "0.5", "1.5e-1"]))
    kind = draw(st.sampled_from(["bin", "un", "call", "paren"]))
    a = draw(valid_expressions(depth + 1))
    if kind == "bin":
        return f"{a} {draw(st.sampled_from(['+', '-', '*', '/', '**']))} " \
               f"{draw(valid_expressions(depth + 1))}"
    if kind == "un":
        return f"{draw(st.sampled_from(['-', '+']))}{a}"
    if kind == "call":
        return f"{draw(st.sampled_from(['sin', 'cos', 'tan', 'exp', 'log', 'sqrt', 'abs']))}({a})"
    return f"({a})"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_expressions())
def test_valid_grammar_always_parses(text):
    assert check_safe(text) is not None
