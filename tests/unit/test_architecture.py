"""The layout ARCHITECTURE.md describes, checked: no import cycle (function-local imports included),
small modules with a docstring each, a short top level, and the CLI kept out of the library."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "emostream"
MAX_LINES = 300
MAX_TOP_LEVEL = 12


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every emostream module ``name`` imports, anywhere in the file, with the packages on the way
    (importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first)."""
    is_pkg = path.name == "__init__.py"
    pkg = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for t in targets:
            parts = t.split(".")
            for i in range(1, len(parts) + 1):
                mod = ".".join(parts[:i])
                if mod in known and mod != name:
                    found.add(mod)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_even_through_function_local_imports() -> None:
    mods = _modules()
    known = set(mods)
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    graph = {
        n: {m for m in _imports(n, p, known) if not (p.name == "__init__.py" and m.startswith(n + "."))}
        for n, p in mods.items()
    }
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_below_the_cli_imports_it() -> None:
    mods = _modules()
    known = set(mods)
    cli = {m for m in known if m == "emostream.cli" or m.startswith("emostream.cli.")}
    above = cli | {"emostream.__main__"}  # `python -m emostream` is the command itself
    offenders = [n for n, p in mods.items() if n not in above and _imports(n, p, known) & cli]
    assert offenders == []


def test_modules_are_small_and_documented() -> None:
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= MAX_LINES, f"{name}: {len(text.splitlines())} lines"
        assert ast.get_docstring(ast.parse(text)), f"{name} has no docstring"


def test_a_short_top_level() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, top
