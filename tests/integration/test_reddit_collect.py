"""PRAW, unchanged, against the loopback Reddit server: listings, checkpoints, faults, history, index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.sources.reddit_api import RedditCredentials, RedditSource, RetryPolicy
from pipeline.stages.collect import ListingSpec, collect_api, collect_index
from pipeline.status import workspace_status
from schemas.collect import PostRevision
from schemas.records import Drop, Post
from tests.support.reddit_server import RedditServer, make_post, posts_from_index_csv

pytestmark = pytest.mark.integration
REFERENCE = Path(__file__).resolve().parents[3] / "shared/reference/reddit_category_sampled_cleaned.csv"
NOW = 1_700_000_000.0


@pytest.fixture
def server() -> Iterator[RedditServer]:
    with RedditServer(now=NOW) as srv:
        yield srv


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[StageContext]:
    context = StageContext.open(load_config("default", None, str(tmp_path / "ws")))
    yield context
    context.close()


def source(server: RedditServer, timeout_s: float = 10.0) -> RedditSource:
    creds = RedditCredentials(server.client_id, server.client_secret, "valact-tests/0.1 by u/valact")
    return RedditSource.connect(creds, server.url, server.url, timeout_s, RetryPolicy(backoff_s=0.01))


def posts(n: int, sub: str = "AskHR", start: int = 0) -> list[dict[str, object]]:
    return [make_post(f"a{i:04d}", sub, NOW - 86400 * 30 - i * 3600, f"Should I quit job {i}?",
                      f"I have a decision to make about my job number {i}. " * 5, author=f"RealUser{i}",
                      score=i % 17, num_comments=i % 5) for i in range(start, start + n)]


def test_new_listing_paginates_to_the_end_and_resumes_from_checkpoint(server: RedditServer,
                                                                      ctx: StageContext) -> None:
    server.add_posts(posts(250))
    first = collect_api(ctx, source(server), ["AskHR"], [ListingSpec("new")])
    assert ctx.store.count(Post) == 250 and first.listings[0]["fetched"] == 250
    server.add_posts([make_post("fresh1", "AskHR", NOW - 100, "New one", "I ask for advice " * 10)])
    before = len(server.requests("/r/AskHR/new"))
    second = collect_api(ctx, source(server), ["AskHR"], [ListingSpec("new")])
    assert second.listings[0]["new_or_changed"] == 1 and second.listings[0]["stopped_at_checkpoint"]
    assert second.stored_new_or_changed == 1 and ctx.store.count(Post) == 251
    assert len(server.requests("/r/AskHR/new")) - before == 1  # one page, not three
    marks = workspace_status(ctx.store)["collect"]["checkpoints"]
    assert [(m["subreddit"], m["listing"], m["completed_runs"]) for m in marks] == [("askhr", "new", 2)]
    assert marks[0]["newest_created_utc"] == NOW - 100 and marks[0]["last_fetched"] < 250


def test_faults_lose_no_post_and_stop_no_run(server: RedditServer, ctx: StageContext) -> None:
    server.add_posts(posts(230))
    server.inject("429", times=2, path_contains="/new", reset_s=1)
    server.inject("500", times=4, path_contains="/new")
    server.inject("truncated", times=2, path_contains="/new")
    server.inject("slow", times=1, path_contains="/new", delay_s=2.5)
    report = collect_api(ctx, source(server, timeout_s=1), ["AskHR"], [ListingSpec("new")])
    assert ctx.store.count(Post) == 230
    reasons = report.fetch["retry_reasons"]
    assert reasons["TooManyRequests"] == 2 and reasons["BadJSON"] == 2
    assert reasons["ServerError"] >= 1  # 500s outlasting prawcore's own two retries
    assert any(r.fault == "slow" for r in server.requests("/new"))  # timed out, retried by prawcore
    assert len(server.requests(status=429)) == 2 and len(server.requests(status=500)) == 4


def test_top_and_search_windows(server: RedditServer, ctx: StageContext) -> None:
    server.add_posts(posts(40))
    server.add_posts([make_post("old1", "AskHR", NOW - 400 * 86400, "Old", "I decide " * 50)])
    collect_api(ctx, source(server), ["AskHR"], [ListingSpec("top", "year")])
    assert "old1" not in ctx.store.ids(Post) and ctx.store.count(Post) == 40
    ctx.store.delete(Post, ctx.store.ids(Post))
    collect_api(ctx, source(server), ["AskHR"], [ListingSpec.parse("search:job 3")])
    text = {str(p["id"]): f"{p['title']} {p['selftext']}".lower() for p in posts(40)}
    expected = {pid for pid, body in text.items() if "job" in body and "3" in body}
    assert ctx.store.ids(Post) == expected and len(expected) < 40


def test_recollect_records_edits_and_removals_as_history(server: RedditServer, ctx: StageContext) -> None:
    server.add_posts(posts(5))
    collect_api(ctx, source(server), ["AskHR"], [ListingSpec("top", "all")])
    server.edit("a0001", "I edited my post with an update about the decision. " * 3)
    server.remove("a0002")
    server.delete("a0003")
    report = collect_api(ctx, source(server), ["AskHR"], [ListingSpec("top", "all")])
    assert report.revisions == 3 and report.stored_new_or_changed == 3 and report.unchanged == 2
    removed, deleted = ctx.store.get(Post, "a0002"), ctx.store.get(Post, "a0003")
    assert removed is not None and removed.removed and deleted is not None and deleted.deleted
    old_texts = {r.post_id: r.selftext for r in ctx.store.all(PostRevision)}
    assert old_texts["a0003"].startswith("I have a decision")
    shown = workspace_status(ctx.store)["collect"]
    assert shown["posts_by_source"] == {"api": 5} and (shown["deleted"], shown["removed"]) == (1, 1)
    assert (shown["revisions"], shown["revised_posts"]) == (3, 3)


def test_unconfigured_subreddit_is_a_clear_error(server: RedditServer, ctx: StageContext) -> None:
    with pytest.raises(ValueError, match="gaming"):
        collect_api(ctx, source(server), ["gaming"], [ListingSpec("new")])


def test_index_posts_not_returned_are_recorded_and_not_asked_again(server: RedditServer, ctx: StageContext,
                                                                   tmp_path: Path) -> None:
    server.add_posts(posts(3))
    index = tmp_path / "index.csv"
    url = "https://www.reddit.com/r/AskHR/comments/{}/t/"
    index.write_text("time,title,url,scenario,Filter Result,subreddit,category\n" + "".join(
        f"2023-01-01,CSV title {pid},{url.format(pid)},[masked],yes,r/AskHR,Career & work\n"
        for pid in ("a0000", "a0001", "gone1")))
    report = collect_index(ctx, index, lambda: source(server))
    assert report.not_found == ["gone1"] and ctx.store.count(Post) == 2
    stored = ctx.store.get(Post, "a0001")
    assert stored is not None and stored.title == "CSV title a0001" and stored.domain_hint == "Career & work"
    assert any(d.item_id == "gone1" for d in ctx.store.all(Drop))
    again = collect_index(ctx, index, lambda: pytest.fail("no fetch expected"))  # type: ignore[arg-type,return-value]
    assert again.requested == 0 and again.not_found == ["gone1"]


def test_full_reference_index_rehydrates(server: RedditServer, ctx: StageContext) -> None:
    if not REFERENCE.is_file():
        pytest.skip(f"reference CSV not found at {REFERENCE} (lives in ../shared/reference)")
    data, deleted, removed = posts_from_index_csv(str(REFERENCE), deleted_every=41, removed_every=53)
    server.add_posts(data)
    for pid in deleted:
        server.delete(pid)
    for pid in removed:
        server.remove(pid)
    server.inject("429", times=1, path_contains="/api/info", reset_s=1)
    server.inject("500", times=3, path_contains="/api/info")
    server.inject("truncated", times=1, path_contains="/api/info")
    report = collect_index(ctx, REFERENCE, lambda: source(server))
    stored = ctx.store.all(Post)
    assert len(stored) == 3000 and report.info_requests == 30
    by_domain: dict[str | None, int] = {}
    for post in stored:
        by_domain[post.domain_hint] = by_domain.get(post.domain_hint, 0) + 1
    assert set(by_domain.values()) == {600} and None not in by_domain
    assert set(report.deleted) == deleted and set(report.removed) == removed and not report.not_found
    assert all(p.author_hash is None for p in stored if p.id in deleted)
    info_calls = len(server.requests("/api/info"))
    again = collect_index(ctx, REFERENCE, lambda: source(server))
    assert len(server.requests("/api/info")) == info_calls and again.requested == 0
    assert again.already_stored == 3000 and set(again.deleted) == deleted
    ctx.store.close()
    for file in ctx.workspace.rglob("*"):
        if file.is_file():
            assert b"index_author_" not in file.read_bytes(), file
