"""The evaluation prompts: five differently worded variants per mode, and how units fill them.

Each mode's variants live in one versioned file, ``pipeline/prompts/evaluate_<mode>.toml``.
A variant becomes an ordinary ``Prompt`` whose hash covers the file's version and that
variant's own text, so rewording one variant re-asks only that variant's units.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from pipeline.hashing import canonical_json, sha256_hex
from pipeline.prompts import Prompt
from schemas.evaluate import EvalMode, PvqPosition
from schemas.records import LETTERS
from schemas.values import SchwartzValue

MAX_VARIANTS = 5


@cache
def variants(mode: EvalMode) -> tuple[Prompt, ...]:
    """Every prompt variant of a mode, in file order (variant k is index k-1)."""
    path = resources.files("pipeline.prompts") / f"evaluate_{mode}.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    version = str(data["version"])
    prompts = []
    for k, entry in enumerate(data["variants"], start=1):
        digest = sha256_hex(canonical_json([version, entry["system"], entry["user"]]))[:10]
        prompts.append(Prompt(name=f"{data['name']}.v{k}", version=version, system=entry["system"],
                              user=entry["user"], hash=f"{version}-{digest}"))
    return tuple(prompts)


def variant(mode: EvalMode, k: int) -> Prompt:
    """Variant ``k`` (1-based) of a mode; says how many exist when ``k`` is out of range."""
    available = variants(mode)
    if not 1 <= k <= len(available):
        raise ValueError(f"mode {mode} has prompt variants 1..{len(available)}, not {k}")
    return available[k - 1]


def options_text(actions: list[str]) -> str:
    """Options as lettered lines, in the order the question stores them."""
    return "\n".join(f"{letter}. {action}" for letter, action in zip(LETTERS, actions, strict=True))


def choice_variables(scenario: str, actions: list[str], target: SchwartzValue | None) -> dict[str, str]:
    """Template variables of a choice question (the target only for selection/adoption)."""
    variables = {"scenario": scenario.strip(), "options": options_text(actions)}
    if target is not None:
        variables |= {"value": target.value, "goal": target.goal}
    return variables


def pvq_variables(order: list[PvqPosition], texts: dict[str, str]) -> dict[str, str]:
    """Template variables of one PVQ-40 order: the numbered item texts."""
    lines = [f"{p.position}. {texts[p.key].strip()}" for p in order]
    return {"items": "\n".join(lines)}
