"""A small assembled workspace and release declarations for release tests.

Posts carry seeded personal details (e-mail, phone, usernames, user-page links) so tests can
prove a ``full`` release scrubs them and a ``masked`` one drops bodies.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.stages.assemble import assemble_scenario
from pipeline.store import Store, open_store
from schemas.records import ActionCandidate, Question, Scenario
from tests.support.builders import candidate_set

GENERATORS = ["local-gen-a", "local-gen-b"]  # the demo profile's generators
SEED = 15000
PII = ["jane.doe@example.com", "(555) 123-4567", "+44 20 7946 0958", "u/secret_poster",
       "https://www.reddit.com/user/another_poster/"]
PII_TEXT = (
    "I (29F) got a job offer and my manager u/secret_poster told me to decide by Friday. "
    "Reach me at jane.doe@example.com or (555) 123-4567, my UK number is +44 20 7946 0958. "
    "My old thread is at https://www.reddit.com/user/another_poster/ if that helps. Should I take it?"
)


def scenario(n: int) -> Scenario:
    """Scenario ``n`` with personal details in its body and one in its title."""
    return Scenario(
        id=f"s_p{n:03d}", post_id=f"p{n:03d}", domain="Career & work", subreddit="careerguidance",
        title=f"Offer number {n}, mail jane.doe@example.com", text=PII_TEXT, created_utc=1_600_000_000 + n,
        url=f"https://www.reddit.com/r/careerguidance/comments/p{n:03d}/offer/",
    )


def candidates(sc: Scenario, suffix: str = "") -> list[ActionCandidate]:
    """Twenty candidates: one per generator per value."""
    return candidate_set(
        sc.id, GENERATORS,
        lambda gen, value: f"I would act for {value.value.lower()} as {gen} suggests{suffix}.",
        served_model="smollm2-135m-instruct",
    )


def fill_store(store: Store, scenarios: int = 3) -> list[Question]:
    """Scenarios, candidates and assembled questions, as the stages would store them."""
    questions: list[Question] = []
    for n in range(scenarios):
        sc = scenario(n)
        cands = candidates(sc)
        store.put([sc, *cands])
        questions += assemble_scenario(sc, cands, GENERATORS, SEED)
    store.put(questions)
    return questions


def change_actions(store: Store, question_ids: list[str]) -> None:
    """Rewrite the first option's action of each given question (a three-question change)."""
    for qid in question_ids:
        question = store.get(Question, qid)
        assert question is not None
        first = question.options[0].model_copy(update={"text": question.options[0].text + " Revised."})
        store.put([question.model_copy(update={"options": [first, *question.options[1:]]})])


def make_workspace(root: Path, scenarios: int = 3) -> Path:
    """A workspace folder holding an assembled store."""
    workspace = root / "workspace"
    store = open_store(workspace)
    try:
        fill_store(store, scenarios)
    finally:
        store.close()
    return workspace


def declare(releases: Path, version: str, workspace: Path, text_policy: str = "masked",
            previous: str | None = None, name: str = "valact-test") -> Path:
    """Write ``releases/<version>.toml`` for a workspace built with the demo profile."""
    releases.mkdir(parents=True, exist_ok=True)
    lines = [f'version = "{version}"', f'name = "{name}"', f'text_policy = "{text_policy}"',
             'notes = "Test release."']
    if previous:
        lines.append(f'previous = "{previous}"')
    lines += ["[source]", 'profile = "demo"', f'workspace = "{workspace}"']
    path = releases / f"{version}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
