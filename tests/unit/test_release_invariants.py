from __future__ import annotations

from typing import Any

import pytest

from pipeline.release.invariants import GroupedInvariants, as_warnings, declared, invariant_breaks
from pipeline.release.tables import questions_table
from pipeline.stages.assemble import assemble_scenario
from tests.support.release_data import GENERATORS, SEED, candidates, scenario


def rows(n: int = 2) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        sc = scenario(i)
        questions = assemble_scenario(sc, candidates(sc), GENERATORS, SEED)
        out += questions_table(questions, {sc.id: sc}).to_pylist()
    return out


def test_assembled_questions_break_nothing() -> None:
    assert sum(invariant_breaks(rows()).values()) == 0


def test_same_generator_pair_is_counted_once_per_value() -> None:
    table = rows(1)
    option = table[0]["options"][0]
    value = option["value"]
    other = next(o for r in table[1:] for o in r["options"] if o["value"] == value)
    option["generator"] = other["generator"]
    assert invariant_breaks(table) == {"single_generator_pair": 1}


def test_short_scenario_repeated_value_and_unknown_ids_are_caught() -> None:
    table = rows(1)
    table[1]["options"][1]["value"] = table[1]["options"][0]["value"]
    breaks = invariant_breaks(table[1:], scenario_ids=set(), candidate_ids=set())
    assert breaks["questions_per_scenario"] == 1
    assert breaks["distinct_values"] == 1
    assert breaks["candidates_used_once"] == 1
    assert breaks["unknown_scenario"] == 1
    assert breaks["unknown_candidate"] == 16


def test_warnings_round_trip() -> None:
    warnings = as_warnings({"single_generator_pair": 3, "distinct_values": 0})
    assert declared(warnings) == {"single_generator_pair": 3}


def test_grouped_rows_give_the_same_counts_and_must_stay_grouped() -> None:
    """The release builder checks each scenario as its rows pass; the counts equal the
    any-order checker's, and a scenario whose rows come back later is refused, not miscounted."""
    table = rows(3)
    table[1]["options"][1]["value"] = table[1]["options"][0]["value"]
    checker = GroupedInvariants(scenario_ids={table[0]["scenario_id"]}, candidate_ids=set())
    for row in table[1:]:
        checker.add(row)
    expected = invariant_breaks(table[1:], {table[0]["scenario_id"]}, set())
    assert checker.finish() == expected
    assert expected["unknown_scenario"] == 2 and expected["distinct_values"] == 1
    shuffled = GroupedInvariants()
    for row in [table[0], table[6], table[1]]:
        if row is table[1]:
            with pytest.raises(ValueError, match="not consecutive"):
                shuffled.add(row)
        else:
            shuffled.add(row)
