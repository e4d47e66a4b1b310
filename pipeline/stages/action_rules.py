"""What a valid generated action set is: ten distinct values, each a short, non-empty action
that does not name its value. Severity per rule comes from config (error / warning / off)."""

from __future__ import annotations

import re
from typing import Any

from pipeline.llm.client import Issue
from schemas.config import GenerateConfig
from schemas.values import ALL_VALUES, SchwartzValue

SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
VALUE_NAME_PATTERNS = {
    value: re.compile(r"\b" + re.escape(value.value).replace(r"\-", r"[-\s]?") + r"\b", re.IGNORECASE)
    for value in SchwartzValue
}


# A sentence that starts with a capitalised word and ends with a full stop, at most
# ``max_chars`` long. Servers that constrain decoding by schema (llama.cpp) then cannot emit
# JSON debris or run-on text as an "action"; the length must live inside the pattern because
# llama.cpp ignores maxLength once a pattern is given. OpenAI's strict mode gets the schema
# without these keywords (see openai_provider.strict_schema).
def action_pattern(max_chars: int) -> str:
    """Regex of one action: ``Word rest-of-sentence.`` within ``max_chars`` characters."""
    body = max(1, max_chars - 12)
    return r"^[A-Z][a-z']{1,10} [^\"{}\[\]\n\\]{1," + str(body) + r"}[.!]$"


def action_set_schema(max_chars: int) -> dict[str, Any]:
    """JSON schema of one answer: an object keyed by the ten value names."""
    action = {"type": "string", "minLength": 12, "maxLength": max_chars, "pattern": action_pattern(max_chars)}
    return {
        "type": "object",
        "properties": {v.value: dict(action) for v in ALL_VALUES},
        "required": [v.value for v in ALL_VALUES],
        "additionalProperties": False,
    }


def parse_action_set(data: Any) -> dict[SchwartzValue, str]:
    """Map value names to actions; unknown names or non-string actions are schema errors.

    Two keys naming the same value (e.g. "Self-direction" and "self direction") are kept
    apart by raising, since JSON objects cannot say which one the model meant.
    """
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object keyed by value names")
    actions: dict[SchwartzValue, str] = {}
    for key, text in data.items():
        value = SchwartzValue.parse(str(key))
        if value in actions:
            raise ValueError(f"value {value.value} appears twice")
        if not isinstance(text, str):
            raise ValueError(f"the action for {key} is not a string")
        actions[value] = " ".join(text.split())
    return actions


def count_sentences(text: str) -> int:
    """Sentences in a text: terminal punctuation followed by space or end, at least one."""
    stripped = text.strip()
    if not stripped:
        return 0
    ends = len(SENTENCE_END.findall(stripped))
    return ends + (0 if SENTENCE_END.search(stripped[-1:] + " ") else 1)


def check_action_set(actions: dict[SchwartzValue, str], cfg: GenerateConfig) -> list[Issue]:
    """Every rule violation, tagged with the severity the config gives that rule."""
    rules = cfg.rules
    issues: list[Issue] = []

    def add(rule: str, severity: str, message: str) -> None:
        if severity != "off":
            issues.append(Issue(rule, message, severity))  # type: ignore[arg-type]

    missing = [v.value for v in ALL_VALUES if v not in actions]
    if missing:
        add("distinct_values", rules.distinct_values, f"missing values: {', '.join(missing)}")
    for value, text in actions.items():
        if not text.strip():
            add("non_empty", rules.non_empty, f"the action for {value.value} is empty")
            continue
        if count_sentences(text) > cfg.max_sentences:
            add("max_sentences", rules.max_sentences,
                f"the action for {value.value} has more than {cfg.max_sentences} sentences")
        if len(text) > cfg.max_chars:
            add("max_chars", rules.max_chars,
                f"the action for {value.value} is longer than {cfg.max_chars} characters")
        leaked = [v.value for v, pattern in VALUE_NAME_PATTERNS.items() if pattern.search(text)]
        if leaked:
            add("value_name_leak", rules.value_name_leak,
                f"the action for {value.value} names a value ({', '.join(leaked)}); describe the action only")
    return issues
