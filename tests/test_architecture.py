"""Architecture rules (issue 12): no import cycle among spectral_qc's modules, no module of
spectral_qc/ or validation/ over 450 lines, and no method replaced on an instance
(``obj.method = …``) outside the tests. Everything is read with ``ast``, nothing imported."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "spectral_qc"
MAX_LINES = 450


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    """The absolute module of ``from X import …`` in module ``here``."""
    if node.level == 0:
        return node.module or ""
    base = here.split(".") if is_package else here.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, here: str, modules: dict, *, lazy: bool) -> set:
    """spectral_qc modules imported by one module (module level only unless ``lazy``)."""
    tree = ast.parse(path.read_text("utf-8"))
    nodes = ast.walk(tree) if lazy else _module_level(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = resolve(node, here, path.name == "__init__.py")
            names = [target] + [f"{target}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:  # a.b.c → a.b → a
                name = name.rpartition(".")[0]
            if name and name != here:
                found.add(name)
    return found


def _module_level(tree):
    """Statements run at import time: the module body, including if/try blocks."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                todo.extend(getattr(node, field, []))
        elif isinstance(node, ast.ExceptHandler):
            todo.extend(node.body)


def find_cycle(graph: dict):
    """One import cycle as a list of modules, or None (depth-first search)."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == "open":
                return stack[stack.index(n):] + [n]
            if n not in state:
                cycle = visit(n)
                if cycle:
                    return cycle
        state[m] = "done"
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state:
            cycle = visit(m)
            if cycle:
                return cycle
    return None


def graph_of(lazy: bool) -> dict:
    modules = package_modules()
    graph = {m: imports_of(p, m, modules, lazy=lazy) for m, p in modules.items()}
    # importing a submodule runs its package's __init__ first: that is not a cycle of ours
    return {m: {n for n in deps if not m.startswith(n + ".")} for m, deps in graph.items()}


@pytest.mark.parametrize("lazy", [False, True], ids=["import-time", "with-function-imports"])
def test_no_import_cycle_among_package_modules(lazy):
    cycle = find_cycle(graph_of(lazy))
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    modules = {"spectral_qc": None, "spectral_qc.x": None, "spectral_qc.x.y": None}
    tree = ast.parse("from ..x import y\nfrom . import z\n")
    here = "spectral_qc.x.w"
    assert resolve(tree.body[0], here, False) == "spectral_qc.x"
    assert resolve(tree.body[1], here, False) == "spectral_qc.x"
    assert modules and resolve(tree.body[0], "spectral_qc.x", True) == "spectral_qc.x"


def test_no_module_over_450_lines():
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "validation").rglob("*.py"))
    assert len(files) > 30
    long = {str(p.relative_to(ROOT)): n for p in files
            if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


# --------------------------------------------------- methods replaced on an instance
def python_sources():
    """Every Python source outside tests/ (and the code cells of the notebooks)."""
    for p in sorted(ROOT.rglob("*.py")):
        rel = p.relative_to(ROOT)
        if rel.parts[0] in ("tests", ".venv", "build", "out") or rel.parts[0].startswith("."):
            continue
        yield str(rel), p.read_text("utf-8")
    for p in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(p.read_text("utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        yield str(p.relative_to(ROOT)), "\n".join(
            line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))


def _is_property(f) -> bool:
    return any((isinstance(d, ast.Name) and d.id in ("property", "cached_property"))
               or (isinstance(d, ast.Attribute) and d.attr in ("setter", "getter"))
               for d in f.decorator_list)


def class_methods(tree) -> dict:
    """Class name → its (non-dunder, non-property) method names."""
    return {node.name: {f.name for f in node.body
                        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                        and not f.name.startswith("__") and not _is_property(f)}
            for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}


def _stored_attributes(node):
    targets = (node.targets if isinstance(node, ast.Assign)
               else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
    for t in targets:
        for sub in ast.walk(t):
            if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
                yield sub


def only_methods(sources) -> set:
    """Names that are methods of some class and never a data attribute (``self.x = …``)."""
    methods, data = set(), set()
    for _, text in sources:
        tree = ast.parse(text)
        for names in class_methods(tree).values():
            methods |= names
        for node in ast.walk(tree):
            for sub in _stored_attributes(node):
                if isinstance(sub.value, ast.Name) and sub.value.id == "self":
                    data.add(sub.attr)
    return methods - data


def method_assignments(text: str, methods: set) -> list:
    """``obj.name = …`` replacing a method: ``name`` one of ``methods`` (methods that are
    never data), or ``self.name = …`` inside a class that defines the method ``name``."""
    tree = ast.parse(text)
    own = class_methods(tree)
    hits = []
    for cls in [None] + [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
        body = tree.body if cls is None else cls.body
        for stmt in body:
            if cls is None and isinstance(stmt, ast.ClassDef):
                continue
            for node in ast.walk(stmt):
                for sub in _stored_attributes(node):
                    is_self = isinstance(sub.value, ast.Name) and sub.value.id == "self"
                    if (is_self and cls is not None and sub.attr in own[cls.name]) or \
                            (not is_self and sub.attr in methods):
                        hits.append((node.lineno, ast.unparse(sub)))
    return sorted(set(hits))


def test_no_method_assigned_to_an_instance():
    sources = list(python_sources())
    methods = only_methods(sources)
    assert {"run", "step", "record", "spectral_tendency", "add_handler"} <= methods
    found = {name: hits for name, text in sources if (hits := method_assignments(text, methods))}
    assert not found, f"methods replaced on an instance: {found}"


def test_method_assignment_detector():
    methods = {"run", "step"}
    assert method_assignments("sim.run = lambda: 0\nsim.steps = 3\n", methods) == [(1, "sim.run")]
    assert method_assignments("a.b.step, x = f, 1\n", methods) == [(1, "a.b.step")]
    assert method_assignments("run = 3\nsim.time = 1\n", methods) == []
    cls = "class A:\n    def go(self):\n        self.go = 1\n        self.x = 2\n"
    assert method_assignments(cls, set()) == [(3, "self.go")]
    src = [("m", "class A:\n    def f(self):\n        pass\n    def g(self):\n        self.h = 1\n"
                 "class B:\n    def h(self):\n        pass\n")]
    assert only_methods(src) == {"f", "g"}  # h is data somewhere: not flagged on other objects
