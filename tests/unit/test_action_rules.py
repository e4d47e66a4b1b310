"""Validation of generated action sets: bad model output is caught, named and graded."""

from __future__ import annotations

import json

import pytest

from pipeline.llm.client import OutputSpec, validate_answer
from pipeline.llm.types import ChatResponse
from pipeline.stages.action_rules import (
    action_set_schema,
    check_action_set,
    count_sentences,
    parse_action_set,
)
from schemas.config import ActionRules, GenerateConfig
from schemas.values import ALL_VALUES, SchwartzValue

STRICT = GenerateConfig(generators=["a", "b"])
LENIENT = GenerateConfig(
    generators=["a", "b"],
    rules=ActionRules(max_sentences="warning", max_chars="warning", value_name_leak="warning"),
)


def good_answer() -> dict[str, str]:
    return {v.value: f"Call your sister tonight and talk about option {i}." for i, v in enumerate(ALL_VALUES)}


def spec(cfg: GenerateConfig) -> OutputSpec[dict[SchwartzValue, str]]:
    return OutputSpec("value_actions", action_set_schema(400), parse_action_set,
                      lambda actions: check_action_set(actions, cfg))


def answer(data: object, finish: str = "stop") -> ChatResponse:
    return ChatResponse(text=json.dumps(data), finish_reason=finish)


def test_good_answer_passes() -> None:
    value, issues = validate_answer(answer(good_answer()), spec(STRICT))
    assert value is not None and len(value) == 10 and issues == []


def test_missing_value_is_an_error() -> None:
    data = good_answer()
    del data["Tradition"]
    _, issues = validate_answer(answer(data), spec(STRICT))
    assert [(i.rule, i.severity) for i in issues] == [("distinct_values", "error")]
    assert "Tradition" in issues[0].message


def test_same_value_twice_under_two_spellings_is_rejected() -> None:
    data = good_answer()
    data["self direction"] = "Do it alone."
    value, issues = validate_answer(answer(data), spec(STRICT))
    assert value is None and issues[0].rule == "schema"


def test_unknown_value_name_is_rejected() -> None:
    data = good_answer()
    data["Curiosity"] = "Look around."
    value, issues = validate_answer(answer(data), spec(STRICT))
    assert value is None and "Curiosity" in issues[0].message


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("   ", "non_empty"),
        ("Quit. Move abroad. Start over.", "max_sentences"),
        ("Choose the option with more power over the budget.", "value_name_leak"),
        ("Act with self direction and leave.", "value_name_leak"),
        ("Go. " + "x" * 400, "max_chars"),
    ],
)
def test_each_rule_fires(text: str, rule: str) -> None:
    data = good_answer()
    data["Hedonism"] = text
    _, issues = validate_answer(answer(data), spec(STRICT))
    assert rule in {i.rule for i in issues}
    assert all(i.severity == "error" for i in issues)


def test_warning_rules_do_not_block() -> None:
    data = good_answer()
    data["Power"] = "Take the power seat. Then negotiate. Then leave."
    value, issues = validate_answer(answer(data), spec(LENIENT))
    assert value is not None
    assert {i.rule for i in issues} == {"max_sentences", "value_name_leak"}
    assert all(i.severity == "warning" for i in issues)


def test_truncated_and_filtered_and_non_json_answers() -> None:
    assert validate_answer(answer(good_answer(), "length"), spec(STRICT))[1][0].rule == "truncated"
    filtered = validate_answer(answer(good_answer(), "content_filter"), spec(STRICT))
    assert filtered[1][0].rule == "content_filter"
    bad = ChatResponse(text='{"Power": "unterminated', finish_reason="stop")
    assert validate_answer(bad, spec(STRICT))[1][0].rule == "invalid_json"
    assert validate_answer(answer(["a list"]), spec(STRICT))[1][0].rule == "schema"


def test_sentence_counting() -> None:
    assert count_sentences("One.") == 1
    assert count_sentences("One. Two!") == 2
    assert count_sentences("No end mark") == 1
    assert count_sentences("Pay $3.50 now. Then rest.") == 2
    assert count_sentences("") == 0


def test_schema_lists_all_ten_values() -> None:
    schema = action_set_schema(100)
    assert schema["required"] == [v.value for v in ALL_VALUES]
    assert schema["additionalProperties"] is False


def test_action_pattern_bounds_length_and_shape() -> None:
    import re

    from pipeline.stages.action_rules import action_pattern

    pattern = re.compile(action_pattern(60))
    assert pattern.match("Ask your manager for one more week to decide.")
    assert pattern.match("Don't sign anything yet!")
    assert not pattern.match("Ask " + "very " * 20 + "politely.")  # longer than 60 characters
    assert not pattern.match('"}, {"')  # JSON debris
    assert not pattern.match("ask without a capital.")
