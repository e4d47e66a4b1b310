"""Analysis measures on small literal answers, checked against numbers worked out by hand
(Welch's t from its formula, Pearson r from numpy), not against the module itself."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pipeline.analysis.analyze import analyze_answers, write_analysis
from pipeline.analysis.release_results import results_rows
from schemas.evaluate import EvalAnswer, EvalMode, PvqPosition
from schemas.values import ALL_VALUES, SchwartzValue

V = list(ALL_VALUES)
POWER, SECURITY, BENEVOLENCE, UNIVERSALISM = (SchwartzValue.POWER, SchwartzValue.SECURITY,
                                              SchwartzValue.BENEVOLENCE, SchwartzValue.UNIVERSALISM)
OPTIONS = [POWER, SECURITY, BENEVOLENCE, UNIVERSALISM]


def choice(model: str, mode: EvalMode, variant: int, q: str, letter: str | None, domain: str = "Ethics",
           target: SchwartzValue | None = None, invalid: str | None = None) -> EvalAnswer:
    return EvalAnswer(
        id=f"{model}-{mode}-{variant}-{q}", source="test", release="r", model=model, mode=mode,
        variant=variant, unit=q, question_id=q, scenario_id="s", domain=domain, option_values=OPTIONS,
        target=target, choice=letter,  # type: ignore[arg-type]
        chosen_value=OPTIONS["ABCD".index(letter)] if letter else None, raw=letter or "", invalid=invalid,  # type: ignore[arg-type]
    )


def welch(a: list[float], b: list[float]) -> float:
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    return float((np.mean(a) - np.mean(b)) / math.sqrt(va + vb))


def test_default_shares_exclude_invalid_and_average_variants() -> None:
    answers = [
        choice("m", "default", 1, "q1", "A"), choice("m", "default", 1, "q2", "A"),
        choice("m", "default", 1, "q3", "B"), choice("m", "default", 1, "q4", None, invalid="x"),
        choice("m", "default", 2, "q1", "C"), choice("m", "default", 2, "q2", "C", domain="Relationships"),
    ]
    tables = analyze_answers(answers).tables
    shares = tables["default_shares"]
    all_ = shares[(shares["domain"] == "all")].set_index(["variant", "value"])["share"]
    assert all_[("1", "Power")] == pytest.approx(200 / 3)
    assert all_[("1", "Security")] == pytest.approx(100 / 3)
    assert all_[("2", "Benevolence")] == pytest.approx(100)
    assert all_[("mean", "Power")] == pytest.approx(100 / 3)
    assert all_[("mean", "Benevolence")] == pytest.approx(50)
    ethics = shares[(shares["domain"] == "Ethics") & (shares["variant"] == "2")].set_index("value")["share"]
    assert ethics["Benevolence"] == pytest.approx(100)
    invalid = tables["invalid"]
    assert invalid.to_dict("records") == [
        {"model": "m", "mode": "default", "level": "answer", "reason": "x", "count": 1}]


def test_selection_vs_adoption_welch_and_drop_on_correct_selections() -> None:
    # selection: Power target right on q1..q3, wrong on q4; adoption: right only on q1 and q4
    sel = [choice("m", "selection", 1, f"q{i}", "A" if i < 4 else "B", target=POWER) for i in range(1, 5)]
    ado = [choice("m", "adoption", 1, f"q{i}", "A" if i in (1, 4) else "D", target=POWER)
           for i in range(1, 5)]
    ado.append(choice("m", "adoption", 2, "q9", None, target=POWER, invalid="letter_out_of_range"))
    tables = analyze_answers(sel + ado).tables
    acc = tables["accuracy"].set_index(["mode", "domain", "value"])["accuracy"]
    assert acc[("selection", "all", "Power")] == pytest.approx(75)
    assert acc[("adoption", "all", "Power")] == pytest.approx(50)  # the invalid answer is excluded
    assert math.isnan(acc[("selection", "all", "Security")])
    sva = tables["selection_vs_adoption"]
    row = sva[(sva["domain"] == "all") & (sva["value"] == "Power")].to_dict("records")[0]
    assert row["t"] == pytest.approx(welch([1, 1, 1, 0], [1, 0, 0, 1]))
    # of q1..q3 (right in selection), adoption kept only q1
    assert row["n_selected"] == 3
    assert row["adoption_if_selected"] == pytest.approx(100 / 3)
    assert row["drop_if_selected"] == pytest.approx(200 / 3)


def pvq_answer(model: str, variant: int, scores: dict[SchwartzValue, int]) -> EvalAnswer:
    positions, given, n = [], {}, 1
    for value in V:
        for item in value.pvq_items:
            positions.append(PvqPosition(position=n, key=str(item), value=value))
            given[n] = scores[value]
            n += 1
    return EvalAnswer(id=f"{model}-pvq-{variant}", source="test", release="r", model=model, mode="pvq40",
                      variant=variant, unit="trial0", trial=0, positions=positions, scores=given, raw="{}")


def test_pvq_centring_and_declared_vs_enacted_r() -> None:
    declared = {v: 1 + (i % 6) for i, v in enumerate(V)}
    answers = [pvq_answer("m", 1, declared)]
    picks = "AABBBCCCCD"  # shares: Power 20, Security 30, Benevolence 40, Universalism 10
    answers += [choice("m", "default", 1, f"q{i}", letter) for i, letter in enumerate(picks)]
    tables = analyze_answers(answers).tables
    means = tables["pvq_means"].set_index("value")
    n_items = {v: len(v.pvq_items) for v in V}
    overall = sum(declared[v] * n_items[v] for v in V) / 40
    for v in V:
        assert means.loc[v.value, "raw_mean"] == declared[v]
        assert means.loc[v.value, "centred_mean"] == pytest.approx(declared[v] - overall)
    shares = {POWER: 20, SECURITY: 30, BENEVOLENCE: 40, UNIVERSALISM: 10}
    x = np.array([declared[v] - overall for v in V])
    y = np.array([shares.get(v, 0) - 10 for v in V])
    r = tables["declared_vs_enacted"].set_index("domain").loc["all", "r"]
    assert r == pytest.approx(float(np.corrcoef(x, y)[0, 1]))


def test_majority_vote_and_model_matrix(tmp_path: Path) -> None:
    answers = []
    for model, letters in (("a", {"q1": "AAB", "q2": "CCC", "q3": "ABD"}),
                           ("b", {"q1": "AAA", "q2": "DDC", "q3": "BBB"})):
        for q, given in letters.items():
            answers += [choice(model, "default", k + 1, q, letter) for k, letter in enumerate(given)]
    tables = analyze_answers(answers).tables
    major = tables["majority"]
    a = major[(major["model"] == "a") & (major["domain"] == "all")].set_index("value")
    assert a.loc["Power", "share"] == pytest.approx(50) and a.loc["Benevolence", "share"] == pytest.approx(50)
    assert set(a["questions"]) == {2}  # q3 has no majority for model a
    consensus = major[(major["model"] == "all models") & (major["domain"] == "all")].set_index("value")
    assert set(consensus["questions"]) == {1} and consensus.loc["Power", "share"] == 100  # only q1 agrees
    corr = tables["model_correlations"]
    assert set(corr[corr["profile"] == "enacted"]["model_a"]) == {"a", "b"}
    written = write_analysis(analyze_answers(answers), tmp_path / "out", "t")
    assert (tmp_path / "out" / "report.md").read_text().startswith("# t")
    assert "model_correlations.png" in written["figures"]
    assert (tmp_path / "out" / "model_correlations.png").read_bytes()[:4] == b"\x89PNG"


def test_results_rows_keep_text_columns_as_labels() -> None:
    answers = [choice("m", "default", 1, "q1", None, invalid="x"), choice("m", "default", 1, "q2", "A"),
               choice("n", "default", 1, "q1", "B")]
    rows = results_rows(analyze_answers(answers).tables)
    invalid = [r for r in rows if r["analysis"] == "invalid"]
    assert invalid == [{"analysis": "invalid", "model": "m", "mode": "default", "domain": None,
                        "variant": None, "value": None, "metric": "answer:x:count", "number": 1.0, "n": None}]
    corr = {r["metric"]: r["number"] for r in rows if r["analysis"] == "model_correlations"}
    assert corr["enacted:m:m:r"] == 1.0 and "enacted:m:n:r" in corr
    shares = [r for r in rows if r["analysis"] == "default_shares" and r["metric"] == "share"
              and r["model"] == "m" and r["variant"] == "mean" and r["domain"] == "all"]
    assert sum(r["number"] for r in shares) == pytest.approx(100) and {r["n"] for r in shares} == {1}
