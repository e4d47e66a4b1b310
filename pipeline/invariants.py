"""The assembly invariants, checked on published question rows (plain dicts).

Used by tests, by release verification and by anyone auditing a release: it works on the
rows of the ``questions`` table, so it checks what users actually download.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

QUESTIONS_PER_SCENARIO = 5
OPTIONS_PER_QUESTION = 4
VALUE_COUNT = 10


def question_invariant_errors(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every broken invariant, one message each; an empty list means the table is sound.

    Per scenario: five questions; four options with distinct values and letters A-D per
    question; twenty distinct candidates; each of the ten values in exactly two questions,
    once per generator; and no value on the same letter twice.
    """
    errors: list[str] = []
    by_scenario: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_scenario[str(row["scenario_id"])].append(row)
    for sid, questions in sorted(by_scenario.items()):
        if len(questions) != QUESTIONS_PER_SCENARIO:
            errors.append(f"{sid}: {len(questions)} questions, expected {QUESTIONS_PER_SCENARIO}")
        candidates: Counter[str] = Counter()
        per_value_generators: dict[str, list[str]] = defaultdict(list)
        per_value_letters: dict[str, list[str]] = defaultdict(list)
        for q in questions:
            options = list(q["options"])
            values = [o["value"] for o in options]
            letters = [o["letter"] for o in options]
            if len(options) != OPTIONS_PER_QUESTION or len(set(values)) != OPTIONS_PER_QUESTION:
                errors.append(f"{q['question_id']}: values not four distinct: {values}")
            if letters != ["A", "B", "C", "D"]:
                errors.append(f"{q['question_id']}: letters {letters}, expected A-D in order")
            for o in options:
                candidates[o["candidate_id"]] += 1
                per_value_generators[o["value"]].append(o["generator"])
                per_value_letters[o["value"]].append(o["letter"])
        reused = sorted(c for c, n in candidates.items() if n > 1)
        if reused:
            errors.append(f"{sid}: candidates used more than once: {reused}")
        if len(candidates) != QUESTIONS_PER_SCENARIO * OPTIONS_PER_QUESTION:
            errors.append(f"{sid}: {len(candidates)} distinct candidates, expected 20")
        if len(per_value_generators) != VALUE_COUNT:
            errors.append(f"{sid}: {len(per_value_generators)} values used, expected {VALUE_COUNT}")
        for value, generators in sorted(per_value_generators.items()):
            if len(generators) != 2 or len(set(generators)) != 2:
                errors.append(f"{sid}: value {value} comes from {generators}, expected one per generator")
            if len(set(per_value_letters[value])) != len(per_value_letters[value]):
                errors.append(f"{sid}: value {value} sits on the same letter twice")
    return errors
