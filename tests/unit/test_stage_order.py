"""The order of the stages is written down once, in ``pipeline.stages.catalog``.

Any other module that spells it out again (a list of stage names, or calls to three or more
stage flows/functions one after another) would drift from the catalog the day a stage is
added. The scanner below finds both shapes; the last test shows it catching one.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

from pipeline.stages.catalog import STAGE_ORDER

REPO = Path(__file__).resolve().parents[2]
OWN_CODE = ("schemas", "pipeline", "flows", "annotation", "benchmarks", "scripts")
HOME = REPO / "pipeline" / "stages" / "catalog.py"


def _in_order(names: list[str]) -> bool:
    """Three or more stage names, each later in the order than the one before."""
    positions = [STAGE_ORDER.index(n) for n in names if n in STAGE_ORDER]
    run = 1
    for before, after in itertools.pairwise(positions):
        run = run + 1 if after > before else 1
        if run >= 3:
            return True
    return False


def _stage_of_call(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    for stage in STAGE_ORDER:
        if name in (f"{stage}_flow", f"run_{stage}", f"{stage}_task"):
            return stage
    return None


def order_reimplementations(source: str) -> list[int]:
    """Line numbers where a module spells out the stage order itself."""
    found: list[int] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List):
            names = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if _in_order(names):
                found.append(node.lineno)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            calls = [s for stmt in node.body for s in ast.walk(stmt) if _stage_of_call(s)]
            if _in_order([_stage_of_call(c) or "" for c in calls]):
                found.append(getattr(node, "lineno", 0))
    return found


def test_only_the_catalog_spells_out_the_stage_order() -> None:
    offenders = {}
    for folder in OWN_CODE:
        for path in sorted((REPO / folder).rglob("*.py")):
            if path == HOME:
                continue
            lines = order_reimplementations(path.read_text(encoding="utf-8"))
            if lines:
                offenders[str(path.relative_to(REPO))] = lines
    assert offenders == {}, f"stage order re-implemented outside the catalog: {offenders}"


def test_the_catalog_itself_is_found_by_the_scanner() -> None:
    assert order_reimplementations(HOME.read_text(encoding="utf-8"))


def test_the_scanner_catches_a_hand_written_build() -> None:
    hand_written = '''
def build(ref):
    collect_flow(ref)
    screen_flow(ref)
    generate_flow(ref)
    assemble_flow(ref)
'''
    assert order_reimplementations(hand_written) == [2]
    assert order_reimplementations("STAGES = ['screen', 'generate', 'assemble']\n") == [1]
    assert order_reimplementations("PAIR = ('screen', 'generate')\n") == []
