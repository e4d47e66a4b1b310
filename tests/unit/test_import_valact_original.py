from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.importers.valact_original import import_original, parse_question_list
from pipeline.store import open_store
from schemas.imports import ImportFlag
from schemas.records import ActionCandidate, Drop, Question, Scenario
from schemas.values import ALL_VALUES

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
LOG = REFERENCE / "grok_result_exp_default_reddit.txt"
INDEX = REFERENCE / "reddit_category_sampled_cleaned.csv"
K5 = [(0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)]


def qa_list(same_model_values: int = 0, tag: str = "") -> str:
    """A literal 5x4 list on the K5 design; the first ``same_model_values`` values use one model."""
    questions: list[list[tuple[str, str, str]]] = [[] for _ in range(5)]
    for i, (value, (a, b)) in enumerate(zip(ALL_VALUES, K5, strict=True)):
        models = ("gpt-4o", "gpt-4o") if i < same_model_values else ("gpt-4o", "qwen")
        questions[a].append((models[0], value.value, f"Act on {value.value} first{tag}."))
        questions[b].append((models[1], value.value, f"Act on {value.value} second{tag}."))
    return repr(questions)


def log_block(listing: str) -> str:
    answers = repr(['{"Answer": "A"}', '{"Answer": "X"}', '{"Answer": "C"}', "", '{"Answer": "D"}'])
    return "\n".join(["【Masked_Scenario】", listing,
                      *(f"model_choice for prompt{k}: {answers}" for k in range(1, 6))]) + "\n"


def test_log_blocks_become_records_and_single_model_pairs_are_flagged(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text(log_block(qa_list(0)) + log_block(qa_list(3, " b")), encoding="utf-8")
    store = open_store(tmp_path / "ws")
    report = import_original(store, log)
    assert (report.scenarios, report.questions, report.candidates) == (2, 10, 40)
    assert report.flags == {"single_model_pair": 3}
    assert report.answers == {"valid": 30, "invalid": 20}
    flags = store.all(ImportFlag)
    assert {f.scenario_id for f in flags} == {"s_orig_0002"}
    assert store.count(Question) == 10 and store.count(ActionCandidate) == 40
    q = store.get(Question, sorted(store.ids(Question))[0])
    assert q is not None and [o.letter for o in q.options] == ["A", "B", "C", "D"]
    again = import_original(store, log)
    assert again.as_dict() == report.as_dict() and store.count(Question) == 10


def test_an_unreadable_list_is_dropped_with_its_line(tmp_path: Path) -> None:
    source = tmp_path / "qa_pairs_reddit.txt"
    broken = qa_list().replace("'Power'", "'Powerful'")
    source.write_text(qa_list() + "\n" + broken + "\n[[('qwen', 'Power')\n", encoding="utf-8")
    store = open_store(tmp_path / "ws")
    report = import_original(store, source)
    assert (report.scenarios, report.dropped) == (1, 2)
    details = sorted(d.detail for d in store.all(Drop))
    assert details[0].startswith("qa_pairs_reddit.txt:2: question") and "Powerful" in details[0]
    assert details[1].startswith("qa_pairs_reddit.txt:3: not a Python literal")


def test_lists_link_to_the_index_by_position_when_counts_match(tmp_path: Path) -> None:
    index = tmp_path / "index.csv"
    index.write_text(
        "time,title,url,scenario,Filter Result,subreddit,category\n"
        '2023-09-05,"Quit, or stay?",https://www.reddit.com/r/AskHR/comments/169y2yb/quit/,[masked],yes,'
        "r/AskHR,Career & work\n", encoding="utf-8")
    source = tmp_path / "qa_pairs_reddit.txt"
    source.write_text(qa_list() + "\n", encoding="utf-8")
    store = open_store(tmp_path / "ws")
    report = import_original(store, source, index)
    assert report.linked_to_index
    scenario = store.get(Scenario, "s_169y2yb")
    assert scenario is not None
    assert (scenario.domain, scenario.subreddit, scenario.title, scenario.text) == ("Career & work", "AskHR",
                                                                                    "Quit, or stay?", "")


def test_wrong_option_count_is_a_format_error() -> None:
    with pytest.raises(ValueError, match="3 options"):
        parse_question_list("[[('qwen', 'Power', 'x'), ('qwen', 'Hedonism', 'y'), "
                            "('qwen', 'Tradition', 'z')]]")


@pytest.mark.skipif(not LOG.is_file(), reason="reference files not available")
def test_reference_log_gives_300_scenarios_and_1500_questions(tmp_path: Path) -> None:
    store = open_store(tmp_path / "ws")
    report = import_original(store, LOG, INDEX)
    assert (report.scenarios, report.questions, report.candidates) == (300, 1500, 6000)
    assert report.value_pairs == 3000
    assert report.flags == {"single_model_pair": 1478}
    assert report.index_rows == 3000 and not report.linked_to_index
    assert report.answers["invalid"] == 70


def test_an_import_publishes_as_a_release_that_declares_its_breaks(tmp_path: Path) -> None:
    from pipeline.release.build import build_release
    from pipeline.release.verify import verify_folder

    log = tmp_path / "log.txt"
    log.write_text(log_block(qa_list(2)) + log_block(qa_list(0, " b")), encoding="utf-8")
    store = open_store(tmp_path / "ws")
    import_original(store, log)
    store.close()
    releases = tmp_path / "releases"
    releases.mkdir()
    (releases / "1.0.0.toml").write_text(
        f'name = "orig"\n[source]\nkind = "valact-original"\nworkspace = "{tmp_path / "ws"}"\n',
        encoding="utf-8")
    folder = build_release(releases, "1.0.0").release.path
    report = verify_folder(folder)
    assert report.ok, report.problems
    assert report.manifest is not None
    assert report.manifest.warnings == {"invariant.single_generator_pair": 2}
    card = (folder / "README.md").read_text()
    assert "## Invariant breaks" in card and "| single_generator_pair | 2 |" in card
    assert "imported unchanged" in card
