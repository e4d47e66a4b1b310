"""Record builders shared by tests: one place that knows how a full candidate set looks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipeline.stages.generate import candidate_id
from schemas.records import ActionCandidate
from schemas.values import ALL_VALUES, SchwartzValue


def candidate_set(
    scenario_id: str,
    generators: Sequence[str],
    text: Callable[[str, SchwartzValue], str],
    served_model: str = "m",
    prompt_hash: str = "1-test",
) -> list[ActionCandidate]:
    """Twenty candidates (one per generator per value) with the stages' stable ids."""
    return [
        ActionCandidate(id=candidate_id(scenario_id, gen, value), scenario_id=scenario_id, value=value,
                        generator=gen, served_model=served_model, prompt_hash=prompt_hash,
                        text=text(gen, value))
        for gen in generators for value in ALL_VALUES
    ]
