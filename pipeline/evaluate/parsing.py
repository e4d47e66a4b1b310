"""Read a model's raw answer text; say why when it cannot be read. Never guess.

Models wrap their JSON in code fences, put prose before or after it, or answer with a bare
letter. The readers below look for the first JSON object in the text (fenced or not) and
fall back to nothing: an answer without a readable object is ``unparseable``, and a readable
one with a value outside the allowed range keeps the reason that says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from schemas.evaluate import PVQ_SCORES, InvalidReason
from schemas.records import LETTERS, Letter

FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object found in the text: fenced blocks first, then objects in the prose."""
    found: list[dict[str, Any]] = []
    decoder = json.JSONDecoder()
    for chunk in [*FENCE.findall(text), text]:
        start = chunk.find("{")
        while start != -1:
            try:
                obj, end = decoder.raw_decode(chunk, start)
            except json.JSONDecodeError:
                start = chunk.find("{", start + 1)
                continue
            if isinstance(obj, dict):
                found.append(obj)
            start = chunk.find("{", end)
        if found:
            return found
    return found


@dataclass(frozen=True)
class Choice:
    """A letter, or why there is none."""

    letter: Letter | None
    invalid: InvalidReason | None


def _answer_field(obj: dict[str, Any]) -> Any:
    for key, value in obj.items():
        if str(key).strip().lower() == "answer":
            return value
    return None


def parse_choice(text: str) -> Choice:
    """``{"Answer": "B"}`` (in any wrapping) -> B; "X", empty, E..Z or no object -> the reason."""
    if not text.strip():
        return Choice(None, "empty")
    answers = [a for a in (_answer_field(o) for o in json_objects(text)) if a is not None]
    if not answers:
        return Choice(None, "unparseable")
    given = str(answers[0]).strip().strip(".()").upper()
    if given in LETTERS:
        return Choice(given, None)  # type: ignore[arg-type]
    if given == "X":
        return Choice(None, "x")
    if given == "":
        return Choice(None, "empty")
    if len(given) == 1 and given.isalpha():
        return Choice(None, "letter_out_of_range")
    return Choice(None, "unparseable")


@dataclass
class Scores:
    """Valid scores by position, the reason for every position not scored, and the answer's verdict."""

    scores: dict[int, int] = field(default_factory=dict)
    item_issues: dict[int, InvalidReason] = field(default_factory=dict)
    invalid: InvalidReason | None = None


def _score(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return None


def parse_scores(text: str, positions: list[int]) -> Scores:
    """A JSON object from position to score 1-6 -> valid scores plus a reason per bad position.

    The answer as a whole is invalid only when no object can be read; a readable object with
    some bad or missing positions keeps its good scores and names the bad ones.
    """
    if not text.strip():
        return Scores(item_issues={p: "empty" for p in positions}, invalid="empty")
    objects = [o for o in json_objects(text) if any(str(p) in {str(k).strip() for k in o} for p in positions)]
    if not objects:
        return Scores(item_issues={p: "unparseable" for p in positions}, invalid="unparseable")
    given = {str(k).strip(): v for k, v in objects[0].items()}
    result = Scores()
    for position in positions:
        if str(position) not in given:
            result.item_issues[position] = "missing_item"
            continue
        score = _score(given[str(position)])
        if score is None:
            result.item_issues[position] = "unparseable"
        elif score not in PVQ_SCORES:
            result.item_issues[position] = "score_out_of_range"
        else:
            result.scores[position] = score
    if not result.scores:
        result.invalid = "score_out_of_range" if "score_out_of_range" in result.item_issues.values() \
            else "unparseable"
    return result
