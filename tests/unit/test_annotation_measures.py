import math
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from annotation.measures import (
    accuracy,
    accuracy_by,
    agreement,
    confusion,
    confusion_png,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    wilson,
)
from pipeline.agreement import cohen_kappa

# Two raters, ten items: 8 agreements, each rater says Y five times.
A = list("YYYYYNNNNN")
B = list("YYYYNNNNNY")


def test_wilson_matches_hand_computation() -> None:
    p, lo, hi = wilson(8, 10)
    assert p == 0.8
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0)[1:] == (0.0, 1.0)
    assert wilson(10, 10)[2] == 1.0


def test_cohen_kappa_hand_value_and_sklearn() -> None:
    # po = 0.8, pe = 0.5*0.5 + 0.5*0.5 = 0.5 -> kappa = 0.3 / 0.5
    assert cohen_kappa(A, B) == pytest.approx(0.6)
    assert cohen_kappa(A, B) == pytest.approx(cohen_kappa_score(A, B))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("abcd")), min_size=2, max_size=40))
def test_cohen_kappa_agrees_with_sklearn(pairs: list[tuple[str, str]]) -> None:
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    ours = cohen_kappa(a, b)
    with np.errstate(all="ignore"):
        theirs = cohen_kappa_score(a, b)
    if math.isnan(theirs):
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)


def test_krippendorff_hand_value_and_package() -> None:
    # coincidences: YY=8, NN=8, YN=NY=2; n=20 -> alpha = 1 - 19 * 4 / (2 * 10 * 10) = 0.62
    units = [[x, y] for x, y in zip(A, B, strict=True)]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.62)
    data = np.array([[1.0 if x == "Y" else 0.0 for x in A], [1.0 if y == "Y" else 0.0 for y in B]])
    assert krippendorff_alpha_nominal(units) == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0, 1, 2, None]), min_size=3, max_size=3), min_size=3, max_size=25))
def test_krippendorff_agrees_with_package_with_missing_values(units: list[list[int | None]]) -> None:
    """Units x 3 raters, some answers missing; compare with the reference implementation."""
    pairable = [[v for v in unit if v is not None] for unit in units]
    values = {v for unit in pairable if len(unit) >= 2 for v in unit}
    if len(values) < 2:
        return  # the package refuses data with a single value
    ours = krippendorff_alpha_nominal(pairable)
    data = np.array([[np.nan if (v := u[r]) is None else float(v) for u in units] for r in range(3)])
    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_fleiss_kappa_textbook_example() -> None:
    # Fleiss (1971) style example: 10 items, 14 raters, 5 categories -> 0.210
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-5)
    with pytest.raises(ValueError):
        fleiss_kappa([[1, 1], [2, 1]])


def test_fleiss_equals_krippendorff_limit_and_two_rater_case() -> None:
    # With two raters Fleiss' kappa is Scott's pi: (0.8 - 0.5) / 0.5 here.
    table = [[x.count("Y") + y.count("Y"), x.count("N") + y.count("N")] for x, y in zip(A, B, strict=True)]
    assert fleiss_kappa(table) == pytest.approx(0.6)


def _row(
    task: str, annotator: str, value: str, expert: str | None, generator: str = "g1"
) -> dict[str, object]:
    return {"annotation_id": f"{task}-{annotator}", "task_id": task, "candidate_id": f"c-{task}",
            "scenario_id": "s", "value": value, "generator": generator, "domain": "d", "design": "blind",
            "annotator": annotator, "expert_value": expert, "verdict": None, "answer": expert,
            "correct": None if expert is None else expert == value, "comment": ""}


def test_accuracy_confusion_and_agreement_on_crafted_rows(tmp_path: Path) -> None:
    rows = [
        _row("t1", "x", "Power", "Power"), _row("t1", "y", "Power", "Power"),
        _row("t2", "x", "Power", "Achievement"), _row("t2", "y", "Power", "Power"),
        _row("t3", "x", "Hedonism", "Hedonism", "g2"), _row("t3", "y", "Hedonism", "Stimulation", "g2"),
        _row("t4", "x", "Hedonism", "Hedonism", "g2"), _row("t5", "x", "Hedonism", None, "g2"),
    ]
    acc = accuracy(rows)
    assert (acc["n"], acc["correct"]) == (7, 5)  # t5 has no answer
    by_gen = accuracy_by(rows, "generator")
    assert (by_gen["g1"]["correct"], by_gen["g1"]["n"]) == (3, 4)
    assert (by_gen["g2"]["correct"], by_gen["g2"]["n"]) == (2, 3)
    matrix = confusion(rows)
    assert matrix["Power"] == {"Power": 3, "Achievement": 1}
    assert matrix["Hedonism"] == {"Hedonism": 2, "Stimulation": 1}
    agree = agreement(rows)
    assert agree["items"] == 3 and agree["annotators"] == 2
    x = ["Power", "Achievement", "Hedonism"]
    y = ["Power", "Power", "Stimulation"]
    assert agree["cohen_kappa"] == pytest.approx(cohen_kappa_score(x, y))
    alpha = krippendorff_alpha_nominal(list(zip(x, y, strict=True)))
    assert agree["krippendorff_alpha"] == pytest.approx(alpha)
    png = confusion_png(matrix, tmp_path / "c.png", ["Power", "Hedonism"], ["Power", "Achievement",
                                                                              "Hedonism", "Stimulation"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
