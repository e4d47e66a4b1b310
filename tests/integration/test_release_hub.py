"""Publishing to the Hub through huggingface_hub's real client against a loopback Hub."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from pipeline.hashing import sha256_hex
from pipeline.release.build import build_release
from pipeline.release.folder import ReleaseExistsError
from pipeline.release.hub import ReleaseInvalidError, publish_to_hub
from pipeline.release.verify import verify
from tests.support.hub_server import HubServer
from tests.support.release_data import declare, make_workspace

pytestmark = pytest.mark.integration
TOKEN = "hf_loopback_token"


@pytest.fixture
def hub() -> Iterator[HubServer]:
    with HubServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def release(tmp_path: Path) -> Path:
    workspace = make_workspace(tmp_path)
    declare(tmp_path / "releases", "0.1.0", workspace)
    return build_release(tmp_path / "releases", "0.1.0").release.path


def test_publish_is_one_commit_with_every_file_then_a_tag(hub: HubServer, release: Path) -> None:
    api = HfApi(endpoint=hub.url, token=TOKEN)
    result = publish_to_hub(release, "valact/test-set", api)
    commits = [r for r in hub.state.requests if r[0] == "POST" and "/commit/" in r[1]]
    assert commits == [("POST", "/api/datasets/valact/test-set/commit/main")]
    payload = hub.state.commit_payloads[0]
    assert payload[0]["key"] == "header" and payload[0]["value"]["summary"] == "Release valact-test 0.1.0"
    inline = {line["value"]["path"]: base64.b64decode(line["value"]["content"])
              for line in payload[1:] if line["key"] == "file"}
    by_lfs = {line["value"]["path"]: line["value"]["oid"] for line in payload[1:] if line["key"] == "lfsFile"}
    on_disk = {p.relative_to(release).as_posix(): p.read_bytes() for p in release.rglob("*") if p.is_file()}
    assert set(inline) | set(by_lfs) == set(on_disk) and not set(inline) & set(by_lfs)
    # Parquet tables and PNG figures travel as LFS objects (uploaded once, then named in
    # the commit by sha256); the card, manifest and changelog go inline.
    assert set(by_lfs) == {p for p in on_disk if p.endswith((".parquet", ".png"))} and by_lfs
    assert {"README.md", "manifest.json"} <= set(inline)
    assert all(inline[p] == on_disk[p] for p in inline)
    assert sorted(hub.state.lfs_uploads) == sorted(by_lfs.values())
    repo = hub.state.repos["valact/test-set"]
    assert repo.tags == {"v0.1.0": result.commit_oid} and repo.branches["main"] == result.commit_oid
    published = repo.commits[result.commit_oid]
    assert {p: published.files[p] for p in on_disk} == on_disk and published.lfs == set(by_lfs)
    manifest = json.loads(inline["manifest.json"])
    assert all(sha256_hex(on_disk[f["path"]]) == f["sha256"] for f in manifest["files"])
    assert all(by_lfs[f["path"]] == f["sha256"] for f in manifest["files"] if f["path"] in by_lfs)


def test_publishing_the_same_version_twice_is_refused(hub: HubServer, release: Path) -> None:
    api = HfApi(endpoint=hub.url, token=TOKEN)
    publish_to_hub(release, "valact/test-set", api)
    before = len(hub.state.commit_payloads)
    with pytest.raises(ReleaseExistsError, match=r"already has tag v0\.1\.0"):
        publish_to_hub(release, "valact/test-set", api)
    assert len(hub.state.commit_payloads) == before


def test_dry_run_sends_nothing_and_lists_the_plan(hub: HubServer, release: Path) -> None:
    result = publish_to_hub(release, "valact/test-set", HfApi(endpoint=hub.url, token=TOKEN), dry_run=True)
    assert hub.state.requests == []
    assert {p.path for p in result.plan} >= {"README.md", "manifest.json", "data/questions.parquet"}


def test_a_published_tag_verifies_from_the_hub(hub: HubServer, release: Path) -> None:
    api = HfApi(endpoint=hub.url, token=TOKEN)
    publish_to_hub(release, "valact/test-set", api)
    report = verify("hf://valact/test-set@v0.1.0", api)
    assert report.ok, report.problems
    assert report.checked_files == 8


def test_a_broken_release_is_not_published(hub: HubServer, release: Path) -> None:
    (release / "CHANGELOG.md").write_text("tampered")
    with pytest.raises(ReleaseInvalidError, match=r"CHANGELOG\.md: checksum mismatch"):
        publish_to_hub(release, "valact/test-set", HfApi(endpoint=hub.url, token=TOKEN))
    assert hub.state.requests == []


def test_a_wrong_token_is_rejected_by_the_hub(hub: HubServer, release: Path) -> None:
    with pytest.raises(HfHubHTTPError) as info:
        publish_to_hub(release, "valact/test-set", HfApi(endpoint=hub.url, token="hf_wrong"))
    assert info.value.response.status_code == 401
