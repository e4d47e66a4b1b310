"""The authors' result logs (../shared/reference, not shipped) imported and analysed.

Every expected number is computed here from the raw files with plain parsing, independent of
the importer and the analysis code, and then compared with what those produce.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from pipeline.analysis.analyze import analyze_answers
from pipeline.evaluate.items import read_items
from pipeline.importers.valact_results import import_results
from pipeline.store import Store, open_store
from schemas.evaluate import EvalAnswer
from schemas.values import SchwartzValue

SHARED = Path(__file__).resolve().parents[3] / "shared"
REFERENCE = SHARED / "reference"
DEFAULT_LOG = REFERENCE / "grok_result_exp_default_reddit.txt"
PVQ_LOGS = [REFERENCE / "4o_result_exp_pvq.txt", REFERENCE / "grok_result_exp_pvq.txt"]
VALID = {f'{{"Answer": "{x}"}}': x for x in "ABCD"}

needs_reference = pytest.mark.skipif(
    not (DEFAULT_LOG.is_file() and all(p.is_file() for p in PVQ_LOGS)),
    reason=f"the authors' reference logs are not at {REFERENCE} (they are not shipped with valact)",
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path)


def design_keys() -> dict[str, set[int]]:
    """Value -> PVQ-40 item numbers, read from DESIGN.md's table (falls back to the schema)."""
    design = SHARED / "DESIGN.md"
    if not design.is_file():
        return {v.value: set(v.pvq_items) for v in SchwartzValue}
    keys = {}
    for line in design.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"[\d ]+", cells[2]):
            keys[cells[0]] = {int(n) for n in cells[2].split()}
    return keys


def raw_default_log() -> tuple[int, dict[int, list[tuple[list[str], str]]]]:
    """(scenarios, prompt -> [(option values, raw answer)]) straight from the text file."""
    lines = DEFAULT_LOG.read_text(encoding="utf-8").splitlines()
    by_prompt: dict[int, list[tuple[list[str], str]]] = {}
    scenarios = 0
    questions: list[list[str]] = []
    for line in lines:
        if line.startswith("[["):
            scenarios += 1
            questions = [[opt[1] for opt in q] for q in ast.literal_eval(line)]
        match = re.match(r"model_choice for prompt(\d): (.*)$", line)
        if match:
            answers = ast.literal_eval(match.group(2))
            assert len(answers) == len(questions) == 5
            by_prompt.setdefault(int(match.group(1)), []).extend(zip(questions, answers, strict=True))
    return scenarios, by_prompt


@needs_reference
def test_grok_default_log_every_answer_and_invalid_reason(store: Store) -> None:
    scenarios, by_prompt = raw_default_log()
    assert scenarios == 300 and sorted(by_prompt) == [1, 2, 3, 4, 5]
    raw_invalid = Counter(raw for pairs in by_prompt.values() for _, raw in pairs if raw not in VALID)

    report = import_results(store, DEFAULT_LOG)

    answers = store.all(EvalAnswer)
    assert len(answers) == report.answers == 300 * 5 * 5
    assert {a.variant for a in answers} == {1, 2, 3, 4, 5}
    assert len({a.unit for a in answers}) == 1500
    # every raw string outside the four valid answers is invalid, with its reason
    assert raw_invalid == Counter({'{"Answer": "X"}': 64, "": 6})
    stored = Counter((a.raw, a.invalid) for a in answers if a.invalid)
    assert stored == Counter({('{"Answer": "X"}', "x"): 64, ("", "empty"): 6})
    assert all(a.chosen_value is not None for a in answers if not a.invalid)
    # a second import stores nothing new
    import_results(store, DEFAULT_LOG)
    assert store.count(EvalAnswer) == 7500


@needs_reference
def test_grok_default_shares_match_an_independent_count(store: Store) -> None:
    _, by_prompt = raw_default_log()
    expected: dict[str, dict[str, float]] = {}
    for prompt, pairs in by_prompt.items():
        chosen = [values["ABCD".index(VALID[raw])] for values, raw in pairs if raw in VALID]
        counts = Counter(chosen)
        expected[str(prompt)] = {v.value: 100 * counts[v.value] / len(chosen) for v in SchwartzValue}
    mean = {v.value: sum(e[v.value] for e in expected.values()) / 5 for v in SchwartzValue}
    for shares in [*expected.values(), mean]:
        assert sum(shares.values()) == pytest.approx(100.0)

    import_results(store, DEFAULT_LOG)
    table = analyze_answers(store.all(EvalAnswer)).tables["default_shares"]
    mine = table[(table["model"] == "grok") & (table["domain"] == "all")]
    for variant, shares in [*expected.items(), ("mean", mean)]:
        got = mine[mine["variant"] == variant].set_index("value")["share"].to_dict()
        assert got == pytest.approx(shares), variant
    invalid = analyze_answers(store.all(EvalAnswer)).tables["invalid"]
    assert dict(zip(invalid["reason"], invalid["count"], strict=True)) == {"x": 64, "empty": 6}


def raw_pvq_log(path: Path) -> list[tuple[dict[int, str], list[str]]]:
    """Per trial: position -> value name, and the five raw answers."""
    trials: list[tuple[dict[int, str], list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("----trial"):
            trials.append(({}, []))
        elif line.startswith("model_choice: "):
            trials[-1][1].extend(ast.literal_eval(line[len("model_choice: "):]))
        elif ": [(" in line:
            name, rest = line.split(": ", 1)
            for position, _text in ast.literal_eval(rest):
                trials[-1][0][position] = name
    return trials


def first_object(text: str) -> dict[str, str]:
    return dict(json.loads(text[text.index("{"): text.rindex("}") + 1]))


@needs_reference
@pytest.mark.parametrize("log", PVQ_LOGS, ids=lambda p: p.name)
def test_pvq_log_trials_items_and_means(store: Store, log: Path) -> None:
    keys = design_keys()
    assert {k: len(v) for k, v in keys.items()} == {v.value: len(v.pvq_items) for v in SchwartzValue}
    trials = raw_pvq_log(log)
    assert len(trials) == 10
    scores: dict[str, list[int]] = {v.value: [] for v in SchwartzValue}
    for positions, answers in trials:
        assert sorted(positions) == list(range(1, 41))  # each trial covers the 40 items
        assert Counter(positions.values()) == Counter({v: len(k) for v, k in keys.items()})
        assert len(answers) == 5
        for raw in answers:
            for position, score in first_object(raw).items():
                scores[positions[int(position)]].append(int(score))
    every = [s for values in scores.values() for s in values]
    assert len(every) == 10 * 5 * 40
    overall = sum(every) / len(every)
    raw_means = {v: sum(s) / len(s) for v, s in scores.items()}

    report = import_results(store, log)
    assert (report.units, report.variants, report.answers) == (10, 5, 50)
    stored = store.all(EvalAnswer)
    assert all(len(a.positions) == 40 and len(a.scores) == 40 and not a.item_issues for a in stored)
    means = analyze_answers(stored).tables["pvq_means"].set_index("value")
    assert means["raw_mean"].to_dict() == pytest.approx(raw_means)
    assert means["centred_mean"].to_dict() == pytest.approx({v: m - overall for v, m in raw_means.items()})
    assert sum(means["scores"]) == 2000


@needs_reference
def test_items_taken_from_a_pvq_log_follow_the_key(tmp_path: Path) -> None:
    items = read_items(PVQ_LOGS[0])
    keys = design_keys()
    assert len(items) == 40 and len({i.text for i in items}) == 40
    assert Counter(i.value.value for i in items) == Counter({v: len(k) for v, k in keys.items()})
