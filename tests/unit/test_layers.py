"""The layer rules, checked on the source: who may import whom, and no import cycles.

- ``schemas`` imports nothing of ours;
- ``pipeline`` imports neither ``flows`` nor ``annotation``;
- only ``flows`` imports Prefect;
- no cycles between our modules (module-level imports; ``TYPE_CHECKING`` blocks excluded).

The checker is plain ``ast``; the last tests feed it small trees with a forbidden import to
show it fails.
"""

from __future__ import annotations

import ast
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
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _targets(node, name):
                    if in_function:
                        module.inner.append((target, node.lineno))
                    else:
                        module.top.add(target)
            for child_field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, child_field, None)
                if isinstance(children, list):
                    inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    visit([c for c in children if isinstance(c, ast.stmt)] +
                          [s for h in children if isinstance(h, ast.ExceptHandler) for s in h.body], inner)

    visit(ast.parse(source).body, False)
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
