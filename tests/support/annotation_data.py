"""A small assembled workspace for annotation tests: scenarios, candidates, questions."""

from __future__ import annotations

from pathlib import Path

import annotation  # noqa: F401 - registers the annotation tables
from pipeline.hashing import content_id
from pipeline.stages.assemble import assemble_scenario
from pipeline.store import Store, open_store
from schemas.records import Scenario
from tests.support.builders import candidate_set

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
        suffix = str(i)
        candidates = candidate_set(
            scenario.id, GENERATORS, lambda gen, value: f"{gen} does {value.value} {suffix}"  # noqa: B023
        )
        store.put([scenario, *candidates])
        store.put(assemble_scenario(scenario, candidates, GENERATORS, SEED))
    return store
