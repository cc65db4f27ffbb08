"""Safe arithmetic expressions in the Bloch-vector components ``nx, ny, nz``.

Coefficients of the Hamiltonian (config ``[hamiltonian] terms``) may be strings such as
``"0.5*nz**2 + 0.3*sin(pi*nx)"``. They are parsed with :func:`ast.parse` (``mode="eval"``)
and the tree is checked against a whitelist of node types; evaluation walks the checked
tree with numpy. Nothing is ever passed to ``eval``/``exec`` or compiled to byte code.

Only ASCII text is accepted. Grammar (Python's own precedence and associativity, so ``-2**2 == -4`` and
``2**3**2 == 512``)::

    expr   := number | name | func "(" expr ")" | "(" expr ")"
            | ("+" | "-") expr | expr ("+" | "-" | "*" | "/" | "**") expr
    number := int | float (incl. scientific notation, e.g. 1.5e-3)
    name   := nx | ny | nz | pi
    func   := sin | cos | tan | exp | log | sqrt | abs

Several classical spins (``Expression(text, spins=j)``, j = 1–3): the names ``n1x, n1y,
n1z, …, njz`` are the components of spin a = 1 … j, and ``nx, ny, nz`` keep meaning spin 1
(:func:`spin_variables`); a variable of a spin beyond j is refused with the fix. Evaluate
with :meth:`Expression.of_spins`. Without ``spins`` the grammar is the one-spin grammar
above, exactly.

All arithmetic is done in float64; division by zero, overflow and the logarithm or
square root of a negative number give ``inf``/``nan`` (no warning, no exception).
"""

from __future__ import annotations

import ast
import difflib
import warnings

import numpy as np

from .errors import ConfigError
from .expression_spins import MAX_SPINS, missing_spin, spin_variables

__all__ = ["Expression", "parse_expression", "MAX_LENGTH", "MAX_DEPTH", "FUNCTIONS",
           "VARIABLES", "CONSTANTS", "euler_derivative", "spin_variables", "MAX_SPINS"]

#: Longest accepted source text (characters).
MAX_LENGTH = 1000
#: Deepest accepted expression tree (nodes from the root to a leaf).
MAX_DEPTH = 64

VARIABLES = ("nx", "ny", "nz")
CONSTANTS = {"pi": float(np.pi)}
FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp,
    "log": np.log, "sqrt": np.sqrt, "abs": np.abs,
}
_BINOPS = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
    ast.Div: np.divide, ast.Pow: np.power,
}
_UNARYOPS = {ast.UAdd: np.positive, ast.USub: np.negative}
_ALLOWED_NAMES = VARIABLES + tuple(CONSTANTS) + tuple(FUNCTIONS)
_OP_TEXT = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&",
            ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
            ast.Not: "not", ast.Invert: "~"}
_NODE_TEXT = {"Attribute": "attribute access", "Subscript": "subscript", "Lambda": "lambda",
              "ListComp": "comprehension", "SetComp": "comprehension",
              "DictComp": "comprehension", "GeneratorExp": "generator expression",
              "IfExp": "conditional expression", "BoolOp": "boolean operator",
              "Compare": "comparison", "NamedExpr": "assignment expression",
              "JoinedStr": "f-string", "Starred": "starred expression", "Await": "await",
              "Yield": "yield", "YieldFrom": "yield", "Slice": "slice"}


def _short(text: str, limit: int = 80) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def _fail(text: str, node: ast.AST | None, what: str) -> ConfigError:
    piece = ast.get_source_segment(text, node) if node is not None else None
    where = f" {_short(piece)}" if piece else ""
    return ConfigError(f"expression {_short(text)}: {what}{where} is not allowed; use numbers, "
                       f"nx, ny, nz, pi, + - * / ** ( ) and {', '.join(FUNCTIONS)}")


def _suggest(name: str) -> str:
    close = difflib.get_close_matches(name, _ALLOWED_NAMES, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check(text: str, node: ast.AST, depth: int, names: set[str],
           variables=VARIABLES, spins=None) -> None:
    """Raise ConfigError unless ``node`` and its children are all whitelisted.

    The variables met are added to ``names``; ``variables`` are the allowed ones
    (:func:`spin_variables` for ``spins`` classical spins, default nx, ny, nz).
    """
    sub = (lambda child: _check(text, child, depth + 1, names, variables, spins))
    if depth > MAX_DEPTH:
        raise ConfigError(f"expression {_short(text)}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = type(value).__name__
            raise _fail(text, node, f"a constant of type {kind}")
        try:
            float(value)
        except OverflowError:
            raise _fail(text, node, "a number too large for float64") from None
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise _fail(text, node, f"the function name {node.id!r} without a call")
        if node.id not in variables and node.id not in CONSTANTS:
            missing = missing_spin(_short(text), node.id, spins)
            if missing is not None:
                raise missing
            allowed = ("nx, ny, nz" if spins is None else
                       f"nx, ny, nz, n1x … n{spins}z")
            raise ConfigError(f"expression {_short(text)}: unknown name {node.id!r}"
                              f"{_suggest(node.id)}; allowed names are {allowed}, pi")
        if node.id in variables:
            names.add(node.id)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise _fail(text, node, f"the operator {_OP_TEXT.get(type(node.op), '?')!r} in")
        sub(node.left)
        sub(node.right)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARYOPS:
            raise _fail(text, node, f"the operator {_OP_TEXT.get(type(node.op), '?')!r} in")
        sub(node.operand)
    elif isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            raise _fail(text, func, "calling something other than a plain function name:")
        if func.id not in FUNCTIONS:
            raise ConfigError(f"expression {_short(text)}: function {func.id!r} is not allowed"
                              f"{_suggest(func.id)}; allowed functions are "
                              f"{', '.join(FUNCTIONS)}")
        if node.keywords:
            raise _fail(text, node, "a keyword argument in")
        if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise _fail(text, node, f"{func.id}() takes exactly one argument;")
        sub(node.args[0])
    else:
        name = type(node).__name__
        raise _fail(text, node, _NODE_TEXT.get(name, f"a {name} node"))


def _evaluate(node: ast.AST, env: dict[str, np.ndarray]) -> np.ndarray:
    """Interpret a checked tree with numpy float64 arithmetic."""
    if isinstance(node, ast.Constant):
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        return env[node.id] if node.id in env else np.float64(CONSTANTS[node.id])
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_evaluate(node.left, env), _evaluate(node.right, env))
    if isinstance(node, ast.UnaryOp):
        return _UNARYOPS[type(node.op)](_evaluate(node.operand, env))
    # ast.Call, the only remaining whitelisted node
    return FUNCTIONS[node.func.id](_evaluate(node.args[0], env))


def _uses_variables(node: ast.AST) -> bool:
    """True when the subtree mentions a variable (nx, ny, nz, or n1x … of several spins)."""
    return any(isinstance(n, ast.Name) and n.id not in CONSTANTS and n.id not in FUNCTIONS
               for n in ast.walk(node))


def _d_pow(node, a, da, b, db):
    """(a**b, n·∇(a**b)); a constant exponent uses b·a**(b−1)·a' (no log of a)."""
    value = np.power(a, b)
    if not _uses_variables(node.right):
        return value, np.where(da == 0, 0.0, b * np.power(a, b - 1) * da)
    return value, value * (db * np.log(a) + b * da / a)


def _d_call(name, a, da):
    """(f(a), f'(a)·a') for the whitelisted functions."""
    if name == "sin":
        return np.sin(a), np.cos(a) * da
    if name == "cos":
        return np.cos(a), -np.sin(a) * da
    if name == "tan":
        return np.tan(a), da / np.cos(a) ** 2
    if name == "exp":
        e = np.exp(a)
        return e, e * da
    if name == "log":
        return np.log(a), da / a
    if name == "sqrt":
        r = np.sqrt(a)
        return r, da / (2 * r)
    return np.abs(a), np.sign(a) * da  # abs


def _evaluate_euler(node: ast.AST, env: dict[str, np.ndarray]):
    """Forward-mode differentiation of a checked tree along the radial direction.

    Returns ``(f, n·∇f)`` with the seeds ``n·∇n_x = n_x`` (and y, z): the derivative is
    exact (rules of calculus applied to the tree), not a finite difference.
    """
    if isinstance(node, ast.Constant):
        return np.float64(node.value), np.float64(0.0)
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id], env[node.id]
        return np.float64(CONSTANTS[node.id]), np.float64(0.0)
    if isinstance(node, ast.UnaryOp):
        a, da = _evaluate_euler(node.operand, env)
        return (-a, -da) if isinstance(node.op, ast.USub) else (a, da)
    if isinstance(node, ast.Call):
        return _d_call(node.func.id, *_evaluate_euler(node.args[0], env))
    a, da = _evaluate_euler(node.left, env)
    b, db = _evaluate_euler(node.right, env)
    op = type(node.op)
    if op is ast.Add:
        return a + b, da + db
    if op is ast.Sub:
        return a - b, da - db
    if op is ast.Mult:
        return a * b, da * b + a * db
    if op is ast.Div:
        return a / b, (da * b - a * db) / b**2
    return _d_pow(node, a, da, b, db)


class Expression:
    """A parsed, validated coefficient expression ``f(nx, ny, nz)``.

    Parameters
    ----------
    source : str
        Expression text (see the module docstring for the grammar).
    spins : int, optional
        j = 1 … :data:`MAX_SPINS`: the expression may also use ``n1x … njz`` (spin a's
        components; ``nx, ny, nz`` = spin 1) and is evaluated with :meth:`of_spins`.
        None (default): the one-spin grammar (nx, ny, nz only).

    Raises
    ------
    ConfigError
        If the text is not a valid expression of the grammar.
    """

    __slots__ = ("_source", "_tree", "_names", "_spins")

    def __init__(self, source: str, spins: int | None = None):
        if spins is not None and (isinstance(spins, bool) or spins not in range(1, MAX_SPINS + 1)):
            raise ConfigError(f"Expression: spins = {spins!r}; 1 to {MAX_SPINS} classical "
                              "spins are supported")
        if not isinstance(source, str):
            raise ConfigError(f"expression must be a string, got {type(source).__name__} "
                              f"{repr(source)[:80]}")
        if len(source) > MAX_LENGTH:
            raise ConfigError(f"expression {_short(source, 40)} is {len(source)} characters "
                              f"long; at most {MAX_LENGTH} are allowed")
        if not source.isascii():
            bad = next(c for c in source if not c.isascii())
            raise ConfigError(f"expression {_short(source)}: the non-ASCII character {bad!r} "
                              f"is not allowed; write ASCII only")
        text = source.strip()
        if not text:
            raise ConfigError("expression is empty; write a number or a formula in nx, ny, nz")
        try:
            with warnings.catch_warnings():  # e.g. "1or 2": a warning here is an error
                warnings.simplefilter("error", SyntaxWarning)
                tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            raise ConfigError(f"expression {_short(source)}: syntax error ({exc.msg})") from None
        except (ValueError, RecursionError, MemoryError) as exc:
            raise ConfigError(f"expression {_short(source)}: cannot be parsed "
                              f"({type(exc).__name__}: {exc})") from None
        names: set[str] = set()
        variables = VARIABLES if spins is None else spin_variables(spins)
        _check(text, tree.body, 1, names, variables, spins)
        self._source = source
        self._tree = tree.body
        self._names = frozenset(names)
        self._spins = spins

    @property
    def source(self) -> str:
        """The expression text as given."""
        return self._source

    @property
    def variables(self) -> frozenset[str]:
        """The variables (a subset of ``{"nx", "ny", "nz"}``, or of
        :func:`spin_variables` with ``spins``) the expression uses."""
        return self._names

    @property
    def spins(self) -> int | None:
        """The number of classical spins it was parsed for (None: the one-spin grammar)."""
        return self._spins

    def of_spins(self, *n) -> np.ndarray:
        """Evaluate at the points (n_1, …, n_j) of several classical spins (paper §4.4).

        Parameters
        ----------
        *n : j arrays ``(3, ...)``
            Cartesian components of each spin's vector, broadcastable against each other
            (e.g. :attr:`ProductGrid.n <spectral_qc.sphere.product.ProductGrid.n>`).

        Returns
        -------
        numpy.ndarray
            float64 of the broadcast shape; inf/nan where the formula is singular.
        """
        j = 1 if self._spins is None else self._spins
        if len(n) != j:
            raise ConfigError(f"expression {_short(self._source)}: give {j} arrays (3, ...), "
                              f"one per spin, got {len(n)}")
        n = [np.asarray(x, dtype=np.float64) for x in n]
        env = {name: n[a][c] for name, (a, c) in spin_variables(j).items()}
        shape = np.broadcast_shapes(*(x.shape[1:] for x in n))
        with np.errstate(all="ignore"):
            value = _evaluate(self._tree, env)
        return np.array(np.broadcast_to(value, shape), dtype=np.float64)

    @property
    def is_constant(self) -> bool:
        """True if the expression uses none of nx, ny, nz."""
        return not self._names

    def constant_value(self) -> float:
        """Value of a constant expression.

        Returns
        -------
        float
            The value.

        Raises
        ------
        ValueError
            If the expression depends on nx, ny or nz.
        """
        if not self.is_constant:
            raise ConfigError(f"expression {self._source!r} is not constant")
        return float(self(0.0, 0.0, 0.0))

    def __call__(self, nx, ny, nz) -> np.ndarray:
        """Evaluate on arrays (numpy broadcasting).

        Parameters
        ----------
        nx, ny, nz : array_like
            Components of the (not necessarily unit) vector n; broadcast against
            each other.

        Returns
        -------
        numpy.ndarray
            float64 array of the broadcast shape of the inputs (also for constant
            expressions); may contain inf/nan where the formula is singular.
        """
        env = {k: np.asarray(v, dtype=np.float64) for k, v in zip(VARIABLES, (nx, ny, nz))}
        shape = np.broadcast_shapes(*(a.shape for a in env.values()))
        with np.errstate(all="ignore"):
            value = _evaluate(self._tree, env)
        return np.array(np.broadcast_to(value, shape), dtype=np.float64)

    def euler_derivative(self, nx, ny, nz) -> np.ndarray:
        """The radial (Euler) derivative ``n·∇f = nx ∂f/∂nx + ny ∂f/∂ny + nz ∂f/∂nz``.

        The three-dimensional gradient of the formula *as written* (it depends on how f
        is continued off the unit sphere: ``nz**2`` gives ``2 nz**2``, but
        ``nz**2/(nx**2+ny**2+nz**2)`` gives 0). Computed exactly by differentiating the
        syntax tree (forward mode); used by the Koopman models' phase term n·∇H − H
        (paper eqs. 14, 29).

        Parameters
        ----------
        nx, ny, nz : array_like
            Components of the point n (broadcast).

        Returns
        -------
        numpy.ndarray
            float64, the broadcast shape; inf/nan where the formula or its derivative is
            singular (e.g. ``sqrt`` at 0).
        """
        env = {k: np.asarray(v, dtype=np.float64) for k, v in zip(VARIABLES, (nx, ny, nz))}
        shape = np.broadcast_shapes(*(a.shape for a in env.values()))
        with np.errstate(all="ignore"):
            _, deriv = _evaluate_euler(self._tree, env)
        return np.array(np.broadcast_to(deriv, shape), dtype=np.float64)

    def euler_of_spins(self, *n) -> np.ndarray:
        """Σ_a n_a·∇_{n_a} f at the points (n_1, …, n_j) (the formula as written, as
        :meth:`euler_derivative` for one spin; the Koopman phase term on products)."""
        env = {name: np.asarray(n[a], dtype=np.float64)[c] for name, (a, c) in
               spin_variables(1 if self._spins is None else self._spins).items()}
        shape = np.broadcast_shapes(*(np.shape(x)[1:] for x in n))
        with np.errstate(all="ignore"):
            _, deriv = _evaluate_euler(self._tree, env)
        return np.array(np.broadcast_to(deriv, shape), dtype=np.float64)

    def __repr__(self) -> str:
        return f"Expression({self._source!r})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        return ast.dump(self._tree) == ast.dump(other._tree)

    def __hash__(self) -> int:
        return hash(ast.dump(self._tree))

    def __reduce__(self):
        return (Expression, (self._source, self._spins))


def euler_derivative(expression, nx, ny, nz) -> np.ndarray:
    """``n·∇f`` of an expression string or :class:`Expression` (see
    :meth:`Expression.euler_derivative`)."""
    expr = expression if isinstance(expression, Expression) else Expression(expression)
    return expr.euler_derivative(nx, ny, nz)


def parse_expression(text: str) -> Expression:
    """Parse and validate a coefficient expression.

    Parameters
    ----------
    text : str
        Expression in nx, ny, nz (see the module docstring for the grammar).

    Returns
    -------
    Expression
        Callable ``f(nx, ny, nz)``.

    Raises
    ------
    ConfigError
        If ``text`` is not a string of the grammar, longer than :data:`MAX_LENGTH`
        characters, or nested deeper than :data:`MAX_DEPTH` levels; the message names
        the offending piece.
    """
    return Expression(text)
