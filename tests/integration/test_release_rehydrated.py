"""A folder written by ``valact rehydrate`` passes ``valact release verify`` as a marked copy."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.cli_release import release_app
from pipeline.hashing import sha256_hex
from pipeline.release.build import build_release
from pipeline.release.rehydrate import rehydrate_release
from pipeline.release.verify import verify_folder
from pipeline.sources.reddit_api import RedditCredentials, RedditSource, RetryPolicy
from tests.support.reddit_server import RedditServer, make_post
from tests.support.release_data import declare, make_workspace

pytestmark = pytest.mark.integration


def test_rehydrated_copy_has_its_own_manifest_and_verifies(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    declare(tmp_path / "releases", "0.1.0", workspace, text_policy="masked")
    release = build_release(tmp_path / "releases", "0.1.0").release.path
    post_ids = [r["post_id"] for r in pq.read_table(release / "data" / "scenarios.parquet").to_pylist()]
    with RedditServer() as server:
        server.add_posts([make_post(pid, "careerguidance", 1_600_000_000, f"T {pid}",
                                    f"My story {pid}: call me at 867-5309") for pid in post_ids[1:]])
        creds = RedditCredentials(server.client_id, server.client_secret, "valact-tests/0.1")
        retry = RetryPolicy(backoff_s=0.01)
        report = rehydrate_release(
            release, lambda: RedditSource.connect(creds, server.url, server.url, 10, retry)
        )
    copy = Path(report.output)
    assert report.filled == len(post_ids) - 1 and report.not_found == [post_ids[0]]

    checked = verify_folder(copy)
    assert checked.ok, checked.problems
    manifest = checked.manifest
    assert manifest is not None and manifest.rehydrated is not None
    assert manifest.rehydrated.source_manifest_sha256 == sha256_hex((release / "manifest.json").read_bytes())
    assert (manifest.rehydrated.source_text_policy, manifest.text_policy) == ("masked", "full")
    assert (manifest.rehydrated.filled, manifest.rehydrated.missing) == (len(post_ids) - 1, 1)
    assert "rehydration.json" in {f.path for f in manifest.files}
    texts = [r["text"] for r in pq.read_table(copy / "data" / "scenarios.parquet").to_pylist()]
    assert sum(1 for t in texts if t) == len(post_ids) - 1 and not any("5309" in (t or "") for t in texts)
    assert verify_folder(release).ok  # the release itself is untouched
    assert json.loads((release / "manifest.json").read_text())["text_policy"] == "masked"

    result = CliRunner().invoke(release_app, ["verify", str(copy), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rehydrated"]["source_text_policy"] == "masked"
    (copy / "data" / "scenarios.parquet").write_bytes(b"tampered")
    assert not verify_folder(copy).ok
