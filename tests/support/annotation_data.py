"""A small assembled workspace for annotation tests: scenarios, candidates, questions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline.hashing import content_id
from pipeline.stages.assemble import assemble_scenario
from pipeline.store import Store, open_store
from schemas.annotation import AnnotationResult, AnnotationTask
from schemas.records import ActionCandidate, Scenario
from schemas.values import SchwartzValue
from tests.support.builders import candidate_set

GENERATORS = ["gen-a", "gen-b"]
DOMAINS = ["Career", "Relationships"]
SEED = 15000


def labelled_text(gen: str, value: SchwartzValue, i: int) -> str:
    """An action text that names its generator and value (handy to read test failures)."""
    return f"{gen} does {value.value} {i}"


def build_store(folder: Path, scenarios: int = 4,
                action_text: Callable[[str, SchwartzValue, int], str] = labelled_text,
                scenario_text: str = "I have to decide something important, case {i}.") -> Store:
    """``scenarios`` scenarios (alternating domains), 20 candidates each, 5 questions each."""
    store = open_store(folder)
    for i in range(scenarios):
        domain = DOMAINS[i % len(DOMAINS)]
        scenario = Scenario(
            id=content_id("s", i), post_id=f"p{i}", domain=domain, subreddit="sub", title=f"Post {i}",
            text=scenario_text.format(i=i), created_utc=1_600_000_000 + i,
            url=f"https://example.org/{i}",
        )
        candidates = candidate_set(
            scenario.id, GENERATORS, lambda gen, value: action_text(gen, value, i)  # noqa: B023
        )
        store.put([scenario, *candidates])
        store.put(assemble_scenario(scenario, candidates, GENERATORS, SEED))
    return store


def judge(store: Store, cand: ActionCandidate, answers: list[str]) -> list[str]:
    """Blind judgements of one candidate by len(answers) experts; returns annotation ids."""
    task = AnnotationTask(id=content_id("at", cand.id), project="p", design="blind", candidate_id=cand.id,
                          scenario_id=cand.scenario_id, value=cand.value, generator=cand.generator,
                          domain="Career", model_version="m", annotators_wanted=len(answers))
    results = [AnnotationResult(id=content_id("ar", cand.id, i), task_id=task.id, candidate_id=cand.id,
                                project="p", design="blind", ls_annotation_id=i, ls_task_id=1,
                                annotator=f"a{i}", expert_value=answer)
               for i, answer in enumerate(answers)]
    store.put([task, *results])
    return [r.id for r in results]
