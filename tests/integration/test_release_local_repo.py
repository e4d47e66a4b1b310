"""The offline Hub stand-in: a local git repository that ``datasets.load_dataset`` reads."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import datasets  # after the offline switches above, which it reads at import
import pyarrow.parquet as pq
import pytest

from pipeline.release.build import build_release
from pipeline.release.folder import ReleaseExistsError
from pipeline.release.local_repo import local_tags, publish_to_local_repo
from pipeline.store import open_store
from schemas.records import Question
from tests.support.release_data import change_actions, declare, make_workspace

pytestmark = pytest.mark.integration
CONFIGS = ["questions", "scenarios", "candidates"]


def test_every_config_round_trips_through_load_dataset(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    declare(tmp_path / "releases", "0.1.0", workspace, text_policy="full")
    folder = build_release(tmp_path / "releases", "0.1.0").release.path
    repo = tmp_path / "hub" / "valact-test"
    result = publish_to_local_repo(folder, repo)
    assert result.tag == "v0.1.0" and local_tags(repo) == ["v0.1.0"]
    for source in (folder, repo):
        for config in CONFIGS:
            loaded = datasets.load_dataset(str(source), config, split="train",
                                           cache_dir=str(tmp_path / "cache"))
            expected = pq.read_table(folder / "data" / f"{config}.parquet")
            assert loaded.num_rows == expected.num_rows > 0
            assert loaded.to_list() == expected.to_pylist()


def test_versions_are_tagged_commits_and_a_tag_is_never_reused(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    releases = tmp_path / "releases"
    declare(releases, "0.1.0", workspace)
    first = build_release(releases, "0.1.0").release.path
    repo = tmp_path / "hub" / "valact-test"
    publish_to_local_repo(first, repo)
    with pytest.raises(ReleaseExistsError, match=r"already has tag v0\.1\.0"):
        publish_to_local_repo(first, repo)
    store = open_store(workspace)
    change_actions(store, sorted(store.ids(Question))[:3])
    store.close()
    declare(releases, "0.2.0", workspace)
    second = build_release(releases, "0.2.0").release.path
    publish_to_local_repo(second, repo)
    assert local_tags(repo) == ["v0.1.0", "v0.2.0"]
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--branch", "v0.1.0", str(repo), str(clone)], check=True,
                   capture_output=True)
    tagged = (clone / "data" / "questions.parquet").read_bytes()
    assert tagged == (first / "data" / "questions.parquet").read_bytes()
    assert (repo / "CHANGELOG.md").read_text().startswith("# Changelog\n\n## 0.2.0")
