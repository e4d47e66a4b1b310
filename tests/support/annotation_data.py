"""A small assembled workspace for annotation tests: scenarios, candidates, questions."""

from __future__ import annotations

from pathlib import Path

import annotation  # noqa: F401 - registers the annotation tables
from pipeline.hashing import content_id
from pipeline.stages.assemble import assemble_scenario
from pipeline.stages.generate import candidate_id
from pipeline.store import Store, open_store
from schemas.records import ActionCandidate, Scenario
from schemas.values import ALL_VALUES

GENERATORS = ["gen-a", "gen-b"]
DOMAINS = ["Career", "Relationships"]
SEED = 15000


def build_store(folder: Path, scenarios: int = 4) -> Store:
    """``scenarios`` scenarios (alternating domains), 20 candidates each, 5 questions each."""
    store = open_store(folder)
    for i in range(scenarios):
        domain = DOMAINS[i % len(DOMAINS)]
        scenario = Scenario(
            id=content_id("s", i), post_id=f"p{i}", domain=domain, subreddit="sub", title=f"Post {i}",
            text=f"I have to decide something important, case {i}.", created_utc=1_600_000_000 + i,
            url=f"https://example.org/{i}",
        )
        candidates = [
            ActionCandidate(
                id=candidate_id(scenario.id, gen, value), scenario_id=scenario.id, value=value,
                generator=gen, served_model="m", prompt_hash="1-test", text=f"{gen} does {value.value} {i}",
            )
            for gen in GENERATORS for value in ALL_VALUES
        ]
        store.put([scenario, *candidates])
        store.put(assemble_scenario(scenario, candidates, GENERATORS, SEED))
    return store
