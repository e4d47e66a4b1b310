"""The layer rules, checked on the source: who may import whom, and no import cycles.

- ``schemas`` imports nothing of ours;
- ``pipeline`` imports neither ``flows`` nor ``annotation``;
- only ``flows`` imports Prefect;
- no cycles between our modules (module-level imports; ``TYPE_CHECKING`` blocks excluded);
- an import of our own modules inside a function says why in a comment: on its line, or on a
  comment line right above it or above the run of imports it stands in. Such imports hide
  edges from the cycle check, so each one must be a decision (Prefect settings first, a fast
  ``--help``), not a way around the layout.

The checker is plain ``ast``; the last tests feed it small trees with a forbidden import to
show it fails.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "pipeline", "flows", "annotation")
FORBIDDEN = {
    "schemas": ("pipeline", "flows", "annotation", "prefect", "prefect_dask"),
    "pipeline": ("flows", "annotation", "prefect", "prefect_dask"),
    "annotation": ("flows", "prefect", "prefect_dask"),
}


@dataclass
class Module:
    """One source file: its dotted name, module-level imports and function-level imports."""

    name: str
    top: set[str] = field(default_factory=set)
    inner: list[tuple[str, int]] = field(default_factory=list)  # (module, line)
    # line of an inner import -> (first line of its run of adjacent imports, its last line)
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)
    comments: dict[int, str] = field(default_factory=dict)  # line -> comment text
    comment_lines: set[int] = field(default_factory=set)  # lines that hold nothing but a comment


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parent = module.split(".")[: -node.level]
        base = ".".join([*parent, base]) if base else ".".join(parent)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def parse_module(name: str, source: str) -> Module:
    """The imports of one module, split into module level and inside functions."""
    module = Module(name)

    def visit(nodes: list[ast.stmt], in_function: bool) -> None:
        run_start = 0
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import | ast.ImportFrom):
                run_start = run_start or node.lineno
                for target in _targets(node, name):
                    if in_function:
                        module.inner.append((target, node.lineno))
                        module.spans[node.lineno] = (run_start, node.end_lineno or node.lineno)
                    else:
                        module.top.add(target)
            else:
                run_start = 0
            for child_field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, child_field, None)
                if isinstance(children, list):
                    inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    visit([c for c in children if isinstance(c, ast.stmt)] +
                          [s for h in children if isinstance(h, ast.ExceptHandler) for s in h.body], inner)

    visit(ast.parse(source).body, False)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            module.comments[token.start[0]] = token.string
            if token.line.lstrip().startswith("#"):
                module.comment_lines.add(token.start[0])
    return module


def load_tree(root: Path) -> dict[str, Module]:
    """Every module of our packages under ``root``."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = parse_module(name, path.read_text(encoding="utf-8"))
    return modules


def _ours(target: str, modules: dict[str, Module]) -> str | None:
    """The module of ours an import refers to (longest known prefix), if any."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def layer_violations(modules: dict[str, Module]) -> list[str]:
    """Imports that break the layer rules (module level and inside functions)."""
    found = []
    for module in modules.values():
        layer = module.name.split(".")[0]
        targets = [(t, "top") for t in module.top] + [(t, f"line {line}") for t, line in module.inner]
        for target, where in targets:
            if any(target == f or target.startswith(f + ".") for f in FORBIDDEN.get(layer, ())):
                found.append(f"{module.name} imports {target} ({where})")
    return sorted(set(found))


_DIRECTIVE = re.compile(r"noqa(:\s*[A-Z0-9, ]+)?|type:\s*ignore(\[[^\]]*\])?|pragma:[\w ]+")


def _explains(comment: str) -> bool:
    """A comment with words in it, not only a linter directive (``# noqa: F401`` says no why)."""
    return re.search(r"[A-Za-z]{3,}", _DIRECTIVE.sub("", comment.lstrip("#"))) is not None


def unexplained_inner_imports(modules: dict[str, Module]) -> list[str]:
    """Imports of our own modules inside functions with no comment saying why they are there."""
    found = []
    for module in modules.values():
        for target, line in module.inner:
            if _ours(target, modules) is None:
                continue
            first, last = module.spans[line]
            above = [n for n in (first - 1, line - 1) if n in module.comment_lines]
            if not any(_explains(module.comments.get(n, "")) for n in (*above, *range(line, last + 1))):
                found.append(f"{module.name} line {line}")
    return sorted(set(found))


def import_cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Cycles in the module-level import graph of our modules (each reported once)."""
    graph = {
        name: sorted({o for t in m.top if (o := _ours(t, modules)) and o != name})
        for name, m in modules.items()
    }
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    cycles.append([*cycle, nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name)
    return cycles


def test_layer_rules_hold() -> None:
    assert layer_violations(load_tree(REPO)) == []


def test_no_import_cycles() -> None:
    assert import_cycles(load_tree(REPO)) == []


def test_inner_imports_say_why() -> None:
    assert unexplained_inner_imports(load_tree(REPO)) == []


def _tree(files: dict[str, str]) -> dict[str, Module]:
    return {name: parse_module(name, source) for name, source in files.items()}


def test_checker_catches_a_forbidden_import() -> None:
    tree = _tree({
        "schemas.records": "from pipeline.store import Store\n",
        "pipeline.store": "import prefect\nfrom annotation.client import X\n",
        "annotation.client": "",
        "flows.cli": "import prefect\n",
    })
    assert layer_violations(tree) == [
        "pipeline.store imports annotation.client (top)",
        "pipeline.store imports annotation.client.X (top)",
        "pipeline.store imports prefect (top)",
        "schemas.records imports pipeline.store (top)",
        "schemas.records imports pipeline.store.Store (top)",
    ]


def test_checker_catches_cycles() -> None:
    tree = _tree({
        "pipeline.a": "from pipeline.b import f\n",
        "pipeline.b": "from pipeline.c import g\n",
        "pipeline.c": "import pipeline.a\n\ndef h():\n    from pipeline.b import f\n\n"
                      "def k():\n    # needed late: b is heavy\n    from pipeline.b import f\n",
    })
    assert import_cycles(tree) == [["pipeline.a", "pipeline.b", "pipeline.c", "pipeline.a"]]
    # Imports inside functions are not module-level edges: they break no cycle rule...
    assert "pipeline.b" not in tree["pipeline.c"].top
    # ...but the layer rules see them too.
    tree["pipeline.c"] = parse_module("pipeline.c", "def h():\n    import flows.cli\n")
    assert layer_violations(tree) == ["pipeline.c imports flows.cli (line 2)"]


def test_checker_catches_an_unexplained_inner_import() -> None:
    tree = _tree({
        "pipeline.a": "",
        "flows.cli": "import json\n\n"
                     "def quiet():\n    import os\n    from pipeline.a import f  # noqa: F401\n\n"
                     "def said():\n    # deferred: loads Prefect; --help stays fast\n    import prefect\n\n"
                     "    from pipeline.a import f\n    from pipeline import a\n\n"
                     "def inline():\n    from pipeline.a import g  # deferred: pandas\n\n"
                     "def borrowed():\n    x = 1  # a comment about x\n    from pipeline.a import h\n",
    })
    # Standard-library and third-party imports need no reason; a bare noqa is no reason, and
    # neither is the comment at the end of the line above (it is about that line).
    assert unexplained_inner_imports(tree) == ["flows.cli line 19", "flows.cli line 5"]
