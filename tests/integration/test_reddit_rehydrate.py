"""`rehydrate_release`: a masked release's texts refilled by post id through PRAW, into a copy."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.release.rehydrate import rehydrate_release
from pipeline.release.tables import parquet_bytes, scenarios_table
from pipeline.sources.reddit_api import RedditCredentials, RedditSource, RetryPolicy
from schemas.records import Scenario
from tests.support.reddit_server import RedditServer, make_post

pytestmark = pytest.mark.integration


def _release(folder: Path, ids: list[str]) -> Path:
    scenarios = [Scenario(id=f"s_{pid}", post_id=pid, domain="Career & work", subreddit="AskHR",
                          title=f"T {pid}", text="hidden", created_utc=1_650_000_000,
                          url=f"https://www.reddit.com/r/AskHR/comments/{pid}/") for pid in ids]
    (folder / "data").mkdir(parents=True)
    table = scenarios_table(scenarios, "masked", Counter())
    (folder / "data" / "scenarios.parquet").write_bytes(parquet_bytes(table))
    (folder / "README.md").write_text("card")
    return folder


def test_rehydrate_fills_texts_and_lists_gone_posts(tmp_path: Path) -> None:
    ids = [f"r{i:03d}" for i in range(150)]
    release = _release(tmp_path / "valact-15k-0.1.0", ids)
    with RedditServer() as server:
        server.add_posts([make_post(pid, "AskHR", 1_650_000_000, f"T {pid}",
                                    f"My text {pid}, mail me at someone@example.com", author="NameX")
                          for pid in ids[:-1]])
        server.delete(ids[0])
        server.remove(ids[1])
        creds = RedditCredentials(server.client_id, server.client_secret, "valact-tests/0.1")

        def connect() -> RedditSource:
            return RedditSource.connect(creds, server.url, server.url, 10, RetryPolicy(backoff_s=0.01))

        report = rehydrate_release(release, connect)
        assert (report.filled, report.deleted, report.removed, report.not_found) == (
            147, [ids[0]], [ids[1]], [ids[-1]])
        out = Path(report.output)
        table = pq.read_table(out / "data" / "scenarios.parquet")
        rows = {r["post_id"]: r["text"] for r in table.to_pylist()}
        assert str(rows[ids[5]]).startswith(f"My text {ids[5]}") and "someone@example.com" not in rows[ids[5]]
        assert rows[ids[0]] is None and rows[ids[-1]] is None
        assert (out / "README.md").read_text() == "card"
        assert pq.read_table(release / "data" / "scenarios.parquet").column("text").null_count == 150
        calls = len(server.requests("/api/info"))
        again = rehydrate_release(release, connect)
        assert again.requested == 0 and len(server.requests("/api/info")) == calls
        assert again.deleted == [ids[0]] and again.already_filled == 147
