"""Property tests of the 5x4 design: every invariant, for any seed and scenario."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.release.invariants import invariant_breaks, question_rows
from pipeline.release.tables import questions_table
from pipeline.stages.assemble import AssemblyError, assemble_scenario, design
from schemas.records import ActionCandidate, Question, Scenario
from tests.support.builders import candidate_set

GENERATORS = ["gen-a", "gen-b"]


def scenario(sid: str) -> Scenario:
    return Scenario(id=sid, post_id=sid.removeprefix("s_"), domain="Ethics", subreddit="AmItheAsshole",
                    title="t", text="I wonder what to do.", created_utc=1_600_000_000, url="")


def candidates(sid: str) -> list[ActionCandidate]:
    return candidate_set(sid, GENERATORS, lambda g, v: f"{g} does {v.name}.")


def rows(questions: list[Question], sc: Scenario) -> list[dict[str, object]]:
    table = questions_table(questions, {sc.id: sc})
    result: list[dict[str, object]] = table.to_pylist()
    return result


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31), sid=st.text(min_size=1, max_size=12))
def test_design_keeps_every_invariant(seed: int, sid: str) -> None:
    sc = scenario(f"s_{sid}")
    questions = assemble_scenario(sc, candidates(sc.id), GENERATORS, seed)
    assert invariant_breaks(rows(questions, sc)) == Counter()
    assert invariant_breaks(question_rows(questions)) == Counter()
    # each question mixes two actions from each generator; a value's two actions never share a letter
    for q in questions:
        assert sorted(o.generator for o in q.options) == ["gen-a", "gen-a", "gen-b", "gen-b"]
    letters = [(o.value, o.letter) for q in questions for o in q.options]
    assert len(set(letters)) == 20


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31), sid=st.text(min_size=1, max_size=12))
def test_design_is_deterministic(seed: int, sid: str) -> None:
    assert design(seed, sid) == design(seed, sid)


def test_different_seeds_give_different_designs() -> None:
    assert len({str(design(seed, "s_x")) for seed in range(20)}) > 10


def test_any_two_questions_share_exactly_one_value() -> None:
    slots = design(7, "s_abc")
    value_sets = [{v for v, _ in q} for q in slots]
    for i in range(5):
        for j in range(i + 1, 5):
            assert len(value_sets[i] & value_sets[j]) == 1


def test_missing_candidate_is_an_error_not_a_short_question() -> None:
    sc = scenario("s_1")
    try:
        assemble_scenario(sc, candidates(sc.id)[:-1], GENERATORS, 1)
    except AssemblyError as exc:
        assert "gen-b/Universalism" in str(exc)
    else:
        raise AssertionError("expected AssemblyError")


def test_value_positions_are_balanced_over_many_scenarios() -> None:
    counts: dict[tuple[str, int], int] = {}
    for n in range(400):
        for q in design(15000, f"s_{n}"):
            for position, (value, _) in enumerate(q):
                counts[(value.value, position)] = counts.get((value.value, position), 0) + 1
    # 400 scenarios x 2 appearances = 800 per value, 200 expected per letter
    assert all(150 <= c <= 250 for c in counts.values()), counts


def test_invariant_checker_catches_a_broken_table() -> None:
    sc = scenario("s_2")
    good = rows(assemble_scenario(sc, candidates(sc.id), GENERATORS, 3), sc)
    broken = [dict(r) for r in good]
    options = [dict(o) for o in broken[0]["options"]]  # type: ignore[attr-defined]
    options[1]["value"] = options[0]["value"]
    broken[0]["options"] = options
    assert invariant_breaks(broken)["distinct_values"] == 1
    assert invariant_breaks(good[:4])["questions_per_scenario"] == 1
    swapped = [dict(r) for r in good]
    options = [dict(o) for o in swapped[0]["options"]]  # type: ignore[attr-defined]
    options[0]["letter"], options[1]["letter"] = options[1]["letter"], options[0]["letter"]
    swapped[0]["options"] = options
    assert invariant_breaks(swapped)["letters"] == 1
