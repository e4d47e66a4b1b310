from pathlib import Path

import pytest

from annotation.corrections import apply_corrections, verdicts
from pipeline.release.invariants import invariant_breaks, question_rows
from pipeline.stages.generate import candidate_id
from pipeline.store import Store
from schemas.annotation import Correction
from schemas.records import ActionCandidate, Drop, Question, Scenario
from schemas.values import SchwartzValue
from tests.support.annotation_data import GENERATORS, SEED, build_store, judge

POWER, ACH = SchwartzValue.POWER, SchwartzValue.ACHIEVEMENT


def cand(store: Store, scenario: Scenario, gen: str, value: SchwartzValue) -> ActionCandidate:
    found = store.get(ActionCandidate, candidate_id(scenario.id, gen, value))
    assert found is not None
    return found


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return build_store(tmp_path, scenarios=3)


def test_ties_keep_the_label(store: Store) -> None:
    s0 = store.all(Scenario)[0]
    judge(store, cand(store, s0, "gen-a", POWER), ["Power", "Achievement"])
    assert not verdicts(store)[candidate_id(s0.id, "gen-a", POWER)].wrong
    assert apply_corrections(store, GENERATORS, SEED, "drop").wrong == 0


def test_drop_withdraws_the_scenario_and_records_why(store: Store) -> None:
    s0, s1, _ = store.all(Scenario)
    wrong = cand(store, s0, "gen-a", POWER)
    ids = judge(store, wrong, ["Achievement", "None / unclear"])
    judge(store, cand(store, s1, "gen-b", ACH), ["Achievement"])  # a correct label changes nothing
    report = apply_corrections(store, GENERATORS, SEED, "drop")
    assert report.withdrawn == [s0.id] and report.wrong == 1
    remaining = store.all(Question)
    assert {q.scenario_id for q in remaining} == {s.id for s in store.all(Scenario)} - {s0.id}
    assert not invariant_breaks(question_rows(remaining))
    (corr,) = store.all(Correction)
    assert corr.annotation_ids == sorted(ids) and corr.outcome == "scenario_withdrawn"
    assert corr.old_text == wrong.text
    assert any(d.stage == "validate" and d.item_id == s0.id for d in store.all(Drop))
    again = apply_corrections(store, GENERATORS, SEED, "drop")
    assert again.withdrawn == [] and store.all(Question) == remaining


def test_relabel_of_a_swap_reassembles_with_invariants(store: Store) -> None:
    s0 = store.all(Scenario)[0]
    power, ach = cand(store, s0, "gen-a", POWER), cand(store, s0, "gen-a", ACH)
    judge(store, power, ["Achievement", "Achievement"])
    judge(store, ach, ["Power"])
    report = apply_corrections(store, GENERATORS, SEED, "relabel")
    assert report.reassembled == [s0.id]
    questions = store.all(Question)
    assert not invariant_breaks(question_rows(questions))
    options = {o.text: o for q in questions if q.scenario_id == s0.id for o in q.options}
    assert options[power.text].value == ACH and options[ach.text].value == POWER
    assert {c.outcome for c in store.all(Correction)} == {"reassembled"}


def test_relabel_without_a_partner_withdraws(store: Store) -> None:
    s0 = store.all(Scenario)[0]
    judge(store, cand(store, s0, "gen-b", POWER), ["Benevolence"])
    report = apply_corrections(store, GENERATORS, SEED, "relabel")
    assert report.withdrawn == [s0.id]
    assert not invariant_breaks(question_rows(store.all(Question)))


def test_regenerate_replaces_text_once_and_keeps_the_design(store: Store) -> None:
    s0 = store.all(Scenario)[0]
    wrong = cand(store, s0, "gen-b", ACH)
    judge(store, wrong, ["Power"])
    calls: list[str] = []

    def regenerate(candidate: ActionCandidate, scenario: Scenario) -> str:
        calls.append(candidate.id)
        return f"new action for {candidate.value.value}"

    report = apply_corrections(store, GENERATORS, SEED, "regenerate", regenerate)
    assert report.reassembled == [s0.id] and calls == [wrong.id]
    questions = store.all(Question)
    assert not invariant_breaks(question_rows(questions))
    texts = {o.candidate_id: o.text for q in questions for o in q.options}
    assert texts[wrong.id] == "new action for Achievement"
    (corr,) = store.all(Correction)
    assert corr.old_text == wrong.text and corr.new_candidate_id == wrong.id
    assert apply_corrections(store, GENERATORS, SEED, "regenerate", regenerate).already_applied == 1
    assert calls == [wrong.id]  # never paid twice
