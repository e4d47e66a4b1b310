"""The changelog's diff covers the validation table: new, withdrawn and changed judgements."""

from __future__ import annotations

from pathlib import Path

from annotation import release_validation
from pipeline.release.build import build_release
from pipeline.store import open_store
from schemas.annotation import AnnotationResult
from schemas.records import ActionCandidate
from tests.support.annotation_data import judge
from tests.support.release_data import declare, make_workspace


def test_changelog_lists_validation_rows_added_and_changed(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    releases = tmp_path / "releases"
    store = open_store(workspace)
    first, second = sorted(store.all(ActionCandidate), key=lambda c: c.id)[:2]
    (kept,) = judge(store, first, [first.value.value])
    store.close()
    declare(releases, "0.1.0", workspace)
    build_release(releases, "0.1.0", validation=release_validation)

    store = open_store(workspace)
    judge(store, second, [second.value.value, "None / unclear"])
    result = store.get(AnnotationResult, kept)
    assert result is not None
    store.put([result.model_copy(update={"expert_value": "None / unclear"})])  # the expert changed their mind
    store.close()
    declare(releases, "0.2.0", workspace)
    built = build_release(releases, "0.2.0", validation=release_validation)

    assert built.diff is not None
    validation = built.diff.tables["validation"]
    assert len(validation.added) == 2 and all(i.startswith(f"{second.id}/blind/") for i in validation.added)
    assert validation.removed == []
    assert validation.changed == {f"{first.id}/blind/a0": ["correct", "expert_value"]}
    changelog = (built.release.path / "CHANGELOG.md").read_text(encoding="utf-8")
    entry = changelog[changelog.index("## 0.2.0"):changelog.index("## 0.1.0")]
    assert "- validation: 2 added, 0 removed, 1 changed" in entry
    assert f"changed `{first.id}/blind/a0`: correct, expert_value" in entry
