"""What an evaluation run asks: one unit per (prompt variant, question) or (variant, PVQ trial).

Planning is a pure function of the release, the options and the seed, so two runs plan the
same units with the same ids; a unit whose answer is already stored is simply not planned
again, which is what makes a run resumable and a re-run free.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from pipeline.evaluate.prompts import MAX_VARIANTS, choice_variables, pvq_variables
from pipeline.evaluate.release import EvalQuestion, EvalRelease
from pipeline.hashing import content_id
from schemas.evaluate import EvalMode, PvqItem, PvqPosition
from schemas.values import SchwartzValue

DEFAULT_TRIALS = 10


class EvalOptions(BaseModel):
    """One ``valact evaluate`` invocation (plain data: it is a flow parameter)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    mode: EvalMode
    prompts: int = Field(default=MAX_VARIANTS, ge=1, le=MAX_VARIANTS, description="prompt variants K")
    limit: int | None = Field(default=None, ge=1, description="scenarios per domain (None = all)")
    seed: int = 0
    trials: int = Field(default=DEFAULT_TRIALS, ge=1, description="PVQ-40 shuffled item orders")


@dataclass(frozen=True)
class Unit:
    """One request to make: everything ``answer_one`` needs, nothing live."""

    answer_id: str
    release: str
    model: str
    mode: EvalMode
    variant: int
    unit: str
    variables: dict[str, str]
    question: EvalQuestion | None = None
    target: SchwartzValue | None = None
    trial: int | None = None
    positions: list[PvqPosition] = field(default_factory=list)


def answer_id(release: str, model: str, mode: EvalMode, variant: int, unit: str) -> str:
    """The stored answer's id: the same unit of the same model on the same release is one row."""
    return content_id("ans", release, model, mode, variant, unit)


def sample_questions(questions: list[EvalQuestion], limit: int | None, seed: int) -> list[EvalQuestion]:
    """All questions, or those of at most ``limit`` scenarios per domain (seeded choice)."""
    if limit is None:
        return questions
    by_domain: dict[str, list[str]] = defaultdict(list)
    for q in questions:
        if q.scenario_id not in by_domain[q.domain]:
            by_domain[q.domain].append(q.scenario_id)
    keep: set[str] = set()
    for domain in sorted(by_domain):
        scenarios = sorted(by_domain[domain])
        random.Random(f"{seed}:limit:{domain}").shuffle(scenarios)
        keep.update(scenarios[:limit])
    return [q for q in questions if q.scenario_id in keep]


def target_value(question: EvalQuestion, seed: int) -> SchwartzValue:
    """The selection/adoption target: one of the question's four values, fixed by seed and question."""
    return random.Random(f"{seed}:target:{question.question_id}").choice(question.values)


def pvq_order(items: list[PvqItem], seed: int, trial: int) -> list[PvqPosition]:
    """Trial ``trial``'s shuffled item order, numbered 1..40."""
    shuffled = sorted(items, key=lambda i: i.key)
    random.Random(f"{seed}:pvq:{trial}").shuffle(shuffled)
    return [PvqPosition(position=n, key=i.key, value=i.value) for n, i in enumerate(shuffled, start=1)]


def plan_units(
    release: EvalRelease, options: EvalOptions, items: list[PvqItem] | None = None,
    done: set[str] | frozenset[str] = frozenset(),
) -> list[Unit]:
    """Every unit of the run not in ``done`` (ids of stored answers), variant-major order."""
    units: list[Unit] = []
    if options.mode == "pvq40":
        if not items:
            raise ValueError("pvq40 needs the item texts: pass --items FILE "
                             "(CSV item,value,text or a PVQ log)")
        texts = {i.key: i.text for i in items}
        for k in range(1, options.prompts + 1):
            for trial in range(options.trials):
                order = pvq_order(items, options.seed, trial)
                unit = f"trial{trial}"
                units.append(Unit(
                    answer_id=answer_id(release.label, options.model, "pvq40", k, unit),
                    release=release.label, model=options.model, mode="pvq40", variant=k, unit=unit,
                    variables=pvq_variables(order, texts), trial=trial, positions=order,
                ))
        return [u for u in units if u.answer_id not in done]
    chosen = [q for q in sample_questions(release.questions, options.limit, options.seed)
              if q.scenario_id in release.texts]
    for k in range(1, options.prompts + 1):
        for q in chosen:
            target = target_value(q, options.seed) if options.mode != "default" else None
            units.append(Unit(
                answer_id=answer_id(release.label, options.model, options.mode, k, q.question_id),
                release=release.label, model=options.model, mode=options.mode, variant=k, unit=q.question_id,
                variables=choice_variables(release.texts[q.scenario_id], q.actions, target),
                question=q, target=target,
            ))
    return [u for u in units if u.answer_id not in done]
