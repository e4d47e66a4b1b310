"""Planning is deterministic from the seed, samples by domain, and skips stored answers;
prompt variants are five distinct wordings of the same request."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.evaluate.items import ItemsError, read_items_csv
from pipeline.evaluate.plan import EvalOptions, plan_units, pvq_order
from pipeline.evaluate.prompts import variant, variants
from pipeline.evaluate.release import EvalQuestion, EvalRelease
from schemas.evaluate import EVAL_MODES
from schemas.values import ALL_VALUES
from tests.support.eval_data import write_items_csv

DOMAINS = ["Career & work", "Ethics", "Relationships"]


def release(scenarios_per_domain: int = 4) -> EvalRelease:
    questions, texts = [], {}
    for d, domain in enumerate(DOMAINS):
        for s in range(scenarios_per_domain):
            sid = f"s{d}{s}"
            texts[sid] = f"Post {sid}: should I take the offer?"
            for q in range(5):
                values = [ALL_VALUES[(q + k * 3) % 10] for k in range(4)]
                questions.append(EvalQuestion(question_id=f"q{d}{s}{q}", scenario_id=sid, domain=domain,
                                              actions=[f"act {v.value}" for v in values], values=values))
    return EvalRelease(label="demo@0.1.0", questions=questions, texts=texts)


@pytest.mark.parametrize("mode", EVAL_MODES)
def test_five_distinct_variants_per_mode(mode: str) -> None:
    prompts = variants(mode)  # type: ignore[arg-type]
    assert len(prompts) == 5
    assert len({p.hash for p in prompts}) == 5 and len({p.user for p in prompts}) == 5
    for p in prompts:
        if mode == "pvq40":
            text = p.messages(items="1. placeholder")[1]["content"]
            assert "1. placeholder" in text and "6" in text
        else:
            filled = p.messages(scenario="SCENARIO", options="A. a\nB. b", value="Power", goal="GOAL")
            text = filled[1]["content"]
            assert "SCENARIO" in text and "A. a" in text and '"Answer"' in text
            assert ("GOAL" in text and "Power" in text) == (mode in ("selection", "adoption"))
    with pytest.raises(ValueError, match=r"1\.\.5"):
        variant(mode, 6)  # type: ignore[arg-type]


def test_choice_units_are_seeded_sampled_and_resumable() -> None:
    rel = release()
    options = EvalOptions(model="m", mode="selection", prompts=2, limit=2, seed=7)
    units = plan_units(rel, options)
    assert len(units) == 2 * len(DOMAINS) * 2 * 5  # variants x domains x scenarios x questions
    per_domain = {d: {u.question.scenario_id for u in units if u.question and u.question.domain == d}
                  for d in DOMAINS}
    assert all(len(s) == 2 for s in per_domain.values())
    assert [u.answer_id for u in plan_units(rel, options)] == [u.answer_id for u in units]
    for u in units:
        assert u.question is not None and u.target in u.question.values
        assert u.target.goal in u.variables["goal"]
    # the target of a question is the same for every variant (and for adoption)
    adoption = plan_units(rel, options.model_copy(update={"mode": "adoption"}))
    assert {(u.unit, u.target) for u in units} == {(u.unit, u.target) for u in adoption}
    other_seed = plan_units(rel, options.model_copy(update={"seed": 8}))
    assert {u.unit for u in other_seed} != {u.unit for u in units}
    done = {u.answer_id for u in units[:7]}
    assert len(plan_units(rel, options, done=done)) == len(units) - 7
    assert plan_units(rel, options, done={u.answer_id for u in units}) == []


def test_default_units_have_no_target_and_all_questions_without_limit() -> None:
    units = plan_units(release(), EvalOptions(model="m", mode="default", prompts=1))
    assert len(units) == len(DOMAINS) * 4 * 5
    assert all(u.target is None and "goal" not in u.variables for u in units)


def test_pvq_units_shuffle_the_forty_items(tmp_path: Path) -> None:
    items = read_items_csv(write_items_csv(tmp_path / "items.csv"))
    units = plan_units(release(), EvalOptions(model="m", mode="pvq40", prompts=2, trials=10, seed=1), items)
    assert len(units) == 20
    orders = {tuple(p.key for p in u.positions) for u in units}
    assert len(orders) == 10  # ten shuffled orders, shared by the variants
    for u in units:
        assert [p.position for p in u.positions] == list(range(1, 41))
        assert sorted(int(p.key) for p in u.positions) == list(range(1, 41))
        assert all(int(p.key) in p.value.pvq_items for p in u.positions)
        assert u.variables["items"].count("Placeholder portrait") == 40
    assert pvq_order(items, 1, 3) == pvq_order(items, 1, 3)


def test_items_csv_must_follow_the_pvq_key(tmp_path: Path) -> None:
    path = write_items_csv(tmp_path / "items.csv")
    rows = path.read_text(encoding="utf-8").splitlines()
    swapped = [r.replace("1,Self-direction", "1,Power") for r in rows]
    (tmp_path / "bad.csv").write_text("\n".join(swapped) + "\n", encoding="utf-8")
    with pytest.raises(ItemsError, match=r"per value|key"):
        read_items_csv(tmp_path / "bad.csv")
    (tmp_path / "short.csv").write_text("\n".join(rows[:30]) + "\n", encoding="utf-8")
    with pytest.raises(ItemsError, match="40"):
        read_items_csv(tmp_path / "short.csv")
