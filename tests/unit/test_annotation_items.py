"""Expert accuracy counts each judged action once; agreement uses the overlap.

Five candidates: two experts agree (c0), two disagree (c1, a tie), two disagree and one
annotation is marked ground truth (c2, adjudicated wrong), three experts with a majority
against (c3), and one single judgement (c4). Counted per judgement this would be 6 of 10
correct; per item it is 2 of 4 resolved items, the tie waiting for adjudication.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation import validation_summary
from annotation.corrections import verdicts
from annotation.measures import wilson
from annotation.report import render
from schemas.annotation import AnnotationResult
from schemas.records import ActionCandidate
from schemas.values import ALL_VALUES
from tests.support.annotation_data import build_store, judge


def _other(value: str) -> str:
    names = [v.value for v in ALL_VALUES]
    return names[(names.index(value) + 1) % len(names)]


def test_accuracy_counts_items_once_and_agreement_uses_the_overlap(tmp_path: Path) -> None:
    store = build_store(tmp_path, scenarios=1)
    cands = sorted(store.all(ActionCandidate), key=lambda c: c.id)[:5]
    right = [c.value.value for c in cands]
    wrong = [_other(v) for v in right]
    judge(store, cands[0], [right[0], right[0]])
    judge(store, cands[1], [right[1], wrong[1]])
    adjudicated = judge(store, cands[2], [right[2], wrong[2]])
    judge(store, cands[3], [wrong[3], wrong[3], right[3]])
    judge(store, cands[4], [right[4]])
    truth = store.get(AnnotationResult, adjudicated[1])
    assert truth is not None
    store.put([truth.model_copy(update={"ground_truth": True})])

    summary = validation_summary(store)
    assert summary["judgements"] == 10 and summary["candidates"] == 5
    assert (summary["items_judged"], summary["items_tied"], summary["items_adjudicated"]) == (4, 1, 1)
    assert summary["accuracy"] == 0.5  # c0 and c4 right, c2 (adjudicated) and c3 (majority) wrong
    _, low, high = wilson(2, 4)
    assert summary["ci95"] == [round(low, 4), round(high, 4)]
    assert summary["overlap_items"] == 4  # agreement over every task with two or more experts

    wrong_ids = {cid for cid, v in verdicts(store).items() if v.wrong}
    assert wrong_ids == {cands[2].id, cands[3].id}  # the tie keeps its label until adjudicated
    assert verdicts(store)[cands[2].id].annotation_ids == [adjudicated[1]]

    text, _ = render(store, "p")
    assert "**50.0%** of 4 items" in text and "1 tied" in text and "1 adjudicated" in text


@pytest.mark.parametrize("answers", [["x", "x"], ["x"]])
def test_unanimous_or_single_items_match_judgement_counts(tmp_path: Path, answers: list[str]) -> None:
    store = build_store(tmp_path, scenarios=1)
    cand = sorted(store.all(ActionCandidate), key=lambda c: c.id)[0]
    judge(store, cand, [cand.value.value if a == "x" else a for a in answers])
    summary = validation_summary(store)
    assert (summary["items_judged"], summary["accuracy"]) == (1, 1.0)
