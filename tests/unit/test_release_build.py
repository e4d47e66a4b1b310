from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard, DatasetCardData

from pipeline.config import load_config
from pipeline.release import tables
from pipeline.release.build import build_release
from pipeline.release.content import EmptyReleaseError, ReleaseOptions, build_release_files
from pipeline.release.declarations import keep_manifest
from pipeline.release.diff import diff_releases, load_release_tables
from pipeline.release.folder import ReleaseExistsError
from pipeline.release.tables import QUESTIONS_SCHEMA, ParquetBuilder, read_parquet, sort_questions
from pipeline.release.verify import verify_folder
from pipeline.store import open_store
from schemas.records import ActionCandidate, Question
from tests.support.release_data import change_actions, declare, make_workspace


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path, Path]:
    workspace = make_workspace(tmp_path)
    releases = tmp_path / "releases"
    declare(releases, "0.1.0", workspace)
    result = build_release(releases, "0.1.0")
    return releases, workspace, result.release.path


def test_release_has_all_files_and_passes_verify(built: tuple[Path, Path, Path]) -> None:
    _, _, folder = built
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert names == {
        "README.md",
        "CHANGELOG.md",
        "manifest.json",
        "data/questions.parquet",
        "data/scenarios.parquet",
        "data/candidates.parquet",
        "data/validation.parquet",
        "figures/value_distribution.png",
        "figures/confusion_matrix.png",
    }
    report = verify_folder(folder)
    assert report.ok, report.problems
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"]["questions"] == 15 and manifest["counts"]["candidates"] == 60
    assert manifest["prompts"] and manifest["config_hash"] and manifest["models"]


def test_card_metadata_is_valid_for_the_hub(built: tuple[Path, Path, Path]) -> None:
    card = DatasetCard.load(built[2] / "README.md", repo_type="dataset")
    data = card.data.to_dict()
    DatasetCardData(**data)
    for key in (
        "license",
        "language",
        "task_categories",
        "size_categories",
        "annotations_creators",
        "source_datasets",
        "pretty_name",
        "configs",
    ):
        assert data[key], key
    assert {c["config_name"] for c in data["configs"]} == {"questions", "scenarios", "candidates"}
    assert "valact rehydrate" in card.text and "Value by answer position" in card.text


def test_flipping_one_byte_fails_verify(built: tuple[Path, Path, Path]) -> None:
    folder = built[2]
    path = folder / "data" / "questions.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify_folder(folder)
    assert not report.ok
    assert any(p.startswith("data/questions.parquet: checksum mismatch") for p in report.problems)


def test_verify_catches_invariants_the_manifest_does_not_declare(built: tuple[Path, Path, Path]) -> None:
    folder = built[2]
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["warnings"]["invariant.single_generator_pair"] = 2
    (folder / "manifest.json").write_text(json.dumps(manifest))
    problems = verify_folder(folder).problems
    assert problems == ["invariant single_generator_pair: 0 breaks in the tables, manifest declares 2"]


def test_verify_catches_an_unlisted_file_and_a_card_without_metadata(built: tuple[Path, Path, Path]) -> None:
    folder = built[2]
    (folder / "data" / "extra.parquet").write_bytes(b"x")
    readme = folder / "README.md"
    readme.write_text(readme.read_text().split("---", 2)[2])
    problems = verify_folder(folder).problems
    assert "data/extra.parquet: file not listed in the manifest" in problems
    assert any(p.startswith("README.md: checksum mismatch") for p in problems)
    assert any("card metadata lacks license" in p for p in problems)


def test_same_records_give_the_same_bytes(tmp_path: Path, built: tuple[Path, Path, Path]) -> None:
    releases, _, folder = built
    first = {p.name: p.read_bytes() for p in (folder / "data").iterdir()}
    result = build_release(releases, "0.1.0")
    assert result.release.changed is False
    second = make_workspace(tmp_path / "again")
    declare(tmp_path / "again" / "releases", "0.1.0", second)
    other = build_release(tmp_path / "again" / "releases", "0.1.0").release.path
    assert {p.name: p.read_bytes() for p in (other / "data").iterdir()} == first


def test_diff_names_exactly_the_three_changed_questions(built: tuple[Path, Path, Path]) -> None:
    releases, workspace, old_folder = built
    store = open_store(workspace)
    changed = sorted(q.id for q in store.all(Question))[3:6]
    change_actions(store, changed)
    store.close()
    declare(releases, "0.2.0", workspace)
    result = build_release(releases, "0.2.0")
    assert result.diff is not None and result.diff.old_version == "0.1.0"
    questions = result.diff.tables["questions"]
    assert (questions.added, questions.removed) == ([], [])
    assert sorted(questions.changed) == changed
    assert all(fields == ["options.action"] for fields in questions.changed.values())
    assert result.diff.tables["scenarios"].empty
    new_folder = result.release.path
    changelog = (new_folder / "CHANGELOG.md").read_text()
    assert changelog.index("## 0.2.0") < changelog.index("## 0.1.0")
    for qid in changed:
        assert f"changed `{qid}`: options.action" in changelog
        assert qid in (new_folder / "README.md").read_text()
    again = diff_releases(load_release_tables(old_folder), load_release_tables(new_folder), "0.1.0", "0.2.0")
    assert sorted(again.tables["questions"].changed) == changed


def test_a_published_version_cannot_change(built: tuple[Path, Path, Path]) -> None:
    releases, workspace, folder = built
    from pipeline.release.folder import read_manifest

    manifest = read_manifest(folder)
    assert manifest is not None
    keep_manifest(releases, manifest)
    store = open_store(workspace)
    change_actions(store, [sorted(store.ids(Question))[0]])
    store.close()
    with pytest.raises(ReleaseExistsError, match="is published"):
        build_release(releases, "0.1.0", overwrite=True)


def test_unpublished_build_needs_overwrite_to_change(built: tuple[Path, Path, Path]) -> None:
    releases, workspace, _ = built
    store = open_store(workspace)
    change_actions(store, [sorted(store.ids(Question))[0]])
    store.close()
    with pytest.raises(ReleaseExistsError, match="--overwrite"):
        build_release(releases, "0.1.0")
    assert build_release(releases, "0.1.0", overwrite=True).release.changed


@pytest.mark.parametrize("policy", ["full", "masked"])
def test_text_policies_never_leak_personal_details(tmp_path: Path, policy: str) -> None:
    from tests.support.release_data import PII

    workspace = make_workspace(tmp_path)
    declare(tmp_path / "releases", "0.1.0", workspace, text_policy=policy)
    folder = build_release(tmp_path / "releases", "0.1.0").release.path
    texts = [p.read_text() for p in folder.rglob("*") if p.suffix in {".md", ".json"}]
    for table in folder.glob("data/*.parquet"):
        texts.append(json.dumps(pq.read_table(table).to_pylist()))
    blob = "\n".join(texts)
    for secret in [*PII, "secret_poster", "another_poster", "jane.doe", "7946 0958", "123-4567"]:
        assert secret not in blob, secret
    scenarios = pq.read_table(folder / "data" / "scenarios.parquet").to_pylist()
    if policy == "full":
        assert all(all(mark in s["text"] for mark in ("[email]", "[phone]", "[user]")) for s in scenarios)
        counts = json.loads((folder / "manifest.json").read_text())["counts"]
        assert counts["scrubbed.phone"] == 6 and counts["scrubbed.email"] == 6
        assert counts["scrubbed.user_mention"] == 3 and counts["scrubbed.user_link"] == 3
    else:
        assert all(s["text"] is None for s in scenarios)
        assert all(s["url"] == f"https://www.reddit.com/comments/{s['post_id']}/" for s in scenarios)
    assert verify_folder(folder).ok


def test_a_workspace_without_questions_is_not_released(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    store = open_store(workspace)
    store.delete(Question, store.ids(Question))  # e.g. every scenario withdrawn by corrections
    store.close()
    releases = tmp_path / "releases"
    declare(releases, "0.1.0", workspace)
    with pytest.raises(EmptyReleaseError, match="no assembled questions"):
        build_release(releases, "0.1.0")
    assert not list((workspace / "releases").glob("**/manifest.json"))


def test_a_question_naming_a_missing_candidate_is_declared(tmp_path: Path) -> None:
    """The candidates table is filtered to what the questions use; a candidate gone from the
    store is counted as an invariant break in the manifest's warnings, not silently absent."""
    store = open_store(make_workspace(tmp_path, scenarios=2))
    try:
        gone = store.all(ActionCandidate)[0].id
        store.delete(ActionCandidate, [gone])
        content = build_release_files(store, load_config("demo"), ReleaseOptions())
    finally:
        store.close()
    assert content.warnings == {"invariant.unknown_candidate": 1}
    assert content.rows["data/candidates.parquet"] == 39


def test_tables_built_in_small_batches_give_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The builder streams records into Arrow batches and parquet row groups; neither the
    batch nor the row-group size may change a byte of the release (or a rebuild of a
    published version would differ), and every row group but the last is full."""
    store = open_store(make_workspace(tmp_path, scenarios=3))
    config = load_config("demo")
    try:
        whole = build_release_files(store, config, ReleaseOptions()).files
        monkeypatch.setattr(ParquetBuilder.__init__, "__defaults__", (2,))  # 2 rows per batch
        batched = build_release_files(store, config, ReleaseOptions()).files
        monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 4)  # 15 questions: groups of 4, 4, 4, 3
        grouped = build_release_files(store, config, ReleaseOptions()).files
        monkeypatch.setattr(ParquetBuilder.__init__, "__defaults__", (3,))
        regrouped = build_release_files(store, config, ReleaseOptions()).files
    finally:
        store.close()
    assert ParquetBuilder(QUESTIONS_SCHEMA).batch_rows == 3
    assert batched == whole
    assert regrouped == grouped
    questions = pq.ParquetFile(io.BytesIO(grouped["data/questions.parquet"]))
    assert [questions.metadata.row_group(i).num_rows for i in range(questions.num_row_groups)] == [4, 4, 4, 3]
    assert questions.read().equals(read_parquet(whole["data/questions.parquet"]))
    assert sort_questions(questions.read()).equals(questions.read())  # release order, streamed from SQLite
