"""Reading raw answers: JSON anywhere in the text is accepted, everything else is invalid with a reason."""

from __future__ import annotations

import pytest

from pipeline.evaluate.parsing import parse_choice, parse_scores


@pytest.mark.parametrize(
    ("text", "letter", "reason"),
    [
        ('{"Answer": "B"}', "B", None),
        ('```json\n{"Answer": "C"}\n```', "C", None),
        ('I would pick the second.\n\n{"Answer": "d"}', "D", None),
        ('{"answer": " A "}', "A", None),
        ('Sure! Here it is: {"Answer": "A"} and that is final.', "A", None),
        ('{"Answer": "X"}', None, "x"),
        ("", None, "empty"),
        ("   \n", None, "empty"),
        ('{"Answer": ""}', None, "empty"),
        ('{"Answer": "E"}', None, "letter_out_of_range"),
        ('{"Answer": "Option B"}', None, "unparseable"),
        ("B", None, "unparseable"),  # a bare letter is not the asked format: never guessed
        ('{"Choice": "B"}', None, "unparseable"),
        ("{Answer: B}", None, "unparseable"),
    ],
)
def test_parse_choice(text: str, letter: str | None, reason: str | None) -> None:
    choice = parse_choice(text)
    assert (choice.letter, choice.invalid) == (letter, reason)


def test_scores_in_fences_after_prose_keep_every_position() -> None:
    body = ",\n".join(f'    "{p}": "{(p % 6) + 1}"' for p in range(1, 41))
    text = f"Sure, here is the response in the requested JSON format:\n\n```json\n{{\n{body}\n}}\n```\nThanks"
    parsed = parse_scores(text, list(range(1, 41)))
    assert parsed.invalid is None and parsed.item_issues == {}
    assert parsed.scores == {p: (p % 6) + 1 for p in range(1, 41)}


def test_scores_out_of_range_and_missing_are_named_per_position() -> None:
    parsed = parse_scores('{"1": "6", "2": 7, "3": "0", "4": "five"}', [1, 2, 3, 4, 5])
    assert parsed.scores == {1: 6}
    assert parsed.item_issues == {2: "score_out_of_range", 3: "score_out_of_range", 4: "unparseable",
                                  5: "missing_item"}
    assert parsed.invalid is None


def test_scores_with_no_readable_object_are_invalid_as_a_whole() -> None:
    assert parse_scores("I am an AI and have no values.", [1, 2]).invalid == "unparseable"
    assert parse_scores("", [1, 2]).invalid == "empty"
    only_bad = parse_scores('{"1": "9", "2": "12"}', [1, 2])
    assert only_bad.invalid == "score_out_of_range" and only_bad.scores == {}
