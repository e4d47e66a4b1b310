"""Stage 4, assemble: 20 candidates -> 5 questions x 4 value-distinct options per scenario.

The design is the complete graph K5: the five questions are its vertices and the ten values
its ten edges, so every value sits in exactly two questions, every question holds four
distinct values and any two questions share exactly one value. An Eulerian orientation of
K5 (each vertex has two outgoing and two incoming edges) decides which of a value's two
questions gets generator 1's action and which gets generator 2's: every value contributes
one action from each model, all 20 candidates are used once, and every question mixes two
actions from each model. Answer letters are shuffled per question so a value's two options
never share a letter. Everything derives from (seed, scenario id): same input, same output.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from itertools import combinations
from typing import ClassVar

from pipeline.context import StageContext
from pipeline.hashing import content_id, sha256_hex
from pipeline.prompts import load_prompt
from pipeline.stage import Outcome, Stage, StageStats, drop_record
from pipeline.stages.generate import candidate_id
from pipeline.stages.screen import replace_drops
from schemas.records import LETTERS, ActionCandidate, Drop, Question, QuestionOption, Scenario
from schemas.values import ALL_VALUES, SchwartzValue

STAGE = "assemble"
QUESTIONS = 5
OPTIONS = 4
K5_EDGES: tuple[tuple[int, int], ...] = tuple(combinations(range(QUESTIONS), 2))


class AssemblyError(ValueError):
    """The candidates do not allow the 5x4 design (missing or extra actions)."""


def scenario_rng(seed: int, scenario_id: str) -> random.Random:
    """A random generator private to one scenario, so scenarios do not affect each other."""
    return random.Random(int(sha256_hex(f"{seed}:{scenario_id}")[:16], 16))


def first_generator_end(u: int, v: int) -> int:
    """The endpoint of edge {u, v} taking generator 1's action under the orientation
    i -> i+1, i -> i+2 (mod 5), which gives every vertex out-degree 2 and in-degree 2."""
    return u if (v - u) % QUESTIONS in (1, 2) else v


def design(seed: int, scenario_id: str) -> list[list[tuple[SchwartzValue, int]]]:
    """Per question, four (value, generator index 0|1) slots in answer-letter order."""
    rng = scenario_rng(seed, scenario_id)
    values = list(ALL_VALUES)
    rng.shuffle(values)
    relabel = list(range(QUESTIONS))
    rng.shuffle(relabel)
    flip = rng.random() < 0.5
    slots: list[list[tuple[SchwartzValue, int]]] = [[] for _ in range(QUESTIONS)]
    for value, (u, v) in zip(values, K5_EDGES, strict=True):
        first = first_generator_end(u, v)
        for end in (u, v):
            generator = 0 if end == first else 1
            slots[relabel[end]].append((value, generator ^ int(flip)))
    while True:
        for question in slots:
            rng.shuffle(question)
        letters: dict[SchwartzValue, set[int]] = defaultdict(set)
        for question in slots:
            for position, (value, _) in enumerate(question):
                letters[value].add(position)
        if all(len(positions) == 2 for positions in letters.values()):
            return slots


def assemble_scenario(
    scenario: Scenario, candidates: list[ActionCandidate], generators: list[str], seed: int
) -> list[Question]:
    """The five questions of one scenario from its 20 candidates."""
    by_key = {(c.value, c.generator): c for c in candidates}
    missing = [f"{g}/{v.value}" for g in generators for v in ALL_VALUES if (v, g) not in by_key]
    if missing:
        raise AssemblyError(f"missing candidates: {', '.join(missing)}")
    questions: list[Question] = []
    for index, slots in enumerate(design(seed, scenario.id)):
        options = []
        for letter, (value, gen_index) in zip(LETTERS, slots, strict=True):
            cand = by_key[(value, generators[gen_index])]
            options.append(
                QuestionOption(letter=letter, value=value, generator=cand.generator,
                               candidate_id=cand.id, text=cand.text)
            )
        questions.append(
            Question(id=content_id("q", scenario.id, index), scenario_id=scenario.id,
                     index=index, options=options, seed=seed)
        )
    return questions


class AssembleStage(Stage[str]):
    """The 5x4 design for every scenario with a full candidate set; one unit per scenario."""

    name: ClassVar[str] = STAGE
    reads = (Scenario, ActionCandidate)
    writes = (Question, Drop)

    def __init__(self) -> None:
        self._questions: set[str] = set()
        self._drops: list[Drop] = []
        self._changed = 0

    def total(self, ctx: StageContext) -> int:
        """One unit per stored scenario."""
        return ctx.store.count(Scenario)

    def plan(self, ctx: StageContext) -> Iterator[str]:
        """Scenario ids in id order."""
        return iter(sorted(ctx.store.ids(Scenario)))

    def run(self, ctx: StageContext, unit: str) -> Outcome:
        """Assemble one scenario from its candidates (looked up by their stable ids)."""
        scenario = ctx.store.get(Scenario, unit)
        if scenario is None:
            return Outcome("skipped")
        generators = ctx.config.generate.generators
        prompt_hash = load_prompt("generate").hash
        ids = [candidate_id(unit, g, v) for g in generators for v in ALL_VALUES]
        found = ctx.store.get_many(ActionCandidate, ids).values()
        candidates = [c for c in found if c.prompt_hash == prompt_hash]
        try:
            questions = assemble_scenario(scenario, candidates, generators, ctx.config.assemble.seed)
        except AssemblyError as exc:
            self._drops.append(drop_record(STAGE, unit, "incomplete_candidates", str(exc)[:300]))
            return Outcome("dropped", "incomplete_candidates", str(exc)[:300])
        self._changed += ctx.store.put(questions)
        self._questions.update(q.id for q in questions)
        return Outcome.done()

    def finish(self, ctx: StageContext, stats: StageStats) -> None:
        """Questions of scenarios no longer selected go; the drops are exactly this run's."""
        ctx.store.delete(Question, ctx.store.ids(Question) - self._questions)
        replace_drops(ctx, STAGE, self._drops)
        stats.facts.update({"questions": len(self._questions), "changed": self._changed,
                            "incomplete_scenarios": len(self._drops)})


def run_assemble(ctx: StageContext) -> dict[str, int]:
    """Assemble every scenario (corrections and tests call this; flows go through the runner)."""
    stage = AssembleStage()
    stats = StageStats(STAGE)
    for unit in stage.plan(ctx):
        stats.count(stage.run(ctx, unit))
    stage.finish(ctx, stats)
    return {k: int(v) for k, v in stats.facts.items()}
