"""Collect stage: mapping, flags, history on edits, labels kept, parts on workers == one process, privacy."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.collect.dumps import DumpMerger, DumpScan, dump_scan, merge_shards, read_part_to_shard
from pipeline.collect.posts import (
    BAD_SUBMISSION,
    store_post_rows,
    stored_post,
    submission_fields,
    trusted_post,
)
from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.privacy import AuthorHasher, hash_author
from pipeline.sources.dump import plan_parts
from pipeline.sources.scope import Scope
from pipeline.stages.collect import CollectReport, collect_dumps, post_from_submission, store_posts
from schemas.collect import PostRevision
from schemas.records import Post
from tests.support.dumps import submission, write_dump, write_frames


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[StageContext]:
    context = StageContext.open(load_config("demo", None, str(tmp_path / "ws")))
    yield context
    context.close()


def test_flags_from_markers_and_category() -> None:
    deleted = post_from_submission({**submission(1), "selftext": "[deleted]", "author": "[deleted]",
                                    "removed_by_category": "deleted"}, "api", "s", 1)
    removed = post_from_submission({**submission(2), "selftext": "[removed]",
                                    "removed_by_category": "moderator"}, "api", "s", 1)
    assert (deleted.deleted, deleted.removed, deleted.author_hash) == (True, False, None)
    assert (removed.deleted, removed.removed) == (False, True)
    assert removed.author_hash and "dump_author" not in removed.author_hash


def test_edit_then_removal_keeps_history(ctx: StageContext) -> None:
    first = post_from_submission(submission(1, "AskHR", text="original text"), "api", "s", 100)
    store_posts(ctx, [first], CollectReport())
    edited = post_from_submission(submission(1, "AskHR", text="edited text"), "api", "s", 200)
    removed = post_from_submission({**submission(1, "AskHR"), "selftext": "[removed]"}, "api", "s", 300)
    report = CollectReport()
    store_posts(ctx, [edited], report)
    store_posts(ctx, [removed], report)
    store_posts(ctx, [removed.model_copy(update={"retrieved_at": 400})], report)
    assert (report.stored_new_or_changed, report.revisions, report.unchanged) == (2, 2, 1)
    now = ctx.store.get(Post, first.id)
    assert now is not None and now.removed and now.retrieved_at == 300
    history = sorted(ctx.store.all(PostRevision), key=lambda r: r.retrieved_at)
    assert [(h.selftext, h.superseded_at) for h in history] == [("original text", 200), ("edited text", 300)]


def test_score_change_updates_without_history(ctx: StageContext) -> None:
    store_posts(ctx, [post_from_submission(submission(1, "AskHR"), "api", "s", 1)], CollectReport())
    report = CollectReport()
    store_posts(ctx, [post_from_submission({**submission(1, "AskHR"), "score": 999}, "api", "s", 2)], report)
    assert (report.stored_new_or_changed, report.revisions) == (1, 0)


def test_index_label_survives_a_dump_reread(ctx: StageContext) -> None:
    labelled = post_from_submission(submission(1, "AskHR"), "index:x.csv", "s", 1).model_copy(
        update={"domain_hint": "Career & work"})
    store_posts(ctx, [labelled], CollectReport())
    store_posts(ctx, [post_from_submission(submission(1, "AskHR"), "dump:d.zst", "s", 2)], CollectReport())
    stored = ctx.store.get(Post, labelled.id)
    assert stored is not None and stored.domain_hint == "Career & work"


def _dumps(tmp_path: Path) -> list[Path]:
    """A one-frame dump, a dump of many frames cut inside lines (one of them corrupt), and a
    plain file; duplicates across files and malformed lines everywhere."""
    records: list[dict[str, object] | str] = []
    for i in range(400):
        records.append(submission(i, text=f"body {i} " * (i % 60)))
        if i % 37 == 0:
            records.append("{broken")
        if i % 91 == 0:
            records.append("")
    records.append({**submission(8), "title": "a later duplicate wins"})
    records.append({"id": "nosub"})
    framed = write_frames(tmp_path / "RS_frames.zst", [*records[150:], *records[:150]], frame_bytes=3_001)
    broken = bytearray(write_frames(tmp_path / "RS_broken.zst", records[:300], 5_000).read_bytes())
    broken[len(broken) // 2: len(broken) // 2 + 40] = b"\xff" * 40  # garbage inside a middle frame
    (tmp_path / "RS_broken.zst").write_bytes(bytes(broken))
    return [write_dump(tmp_path / "RS_test.zst", records), framed, tmp_path / "RS_broken.zst",
            write_dump(tmp_path / "RS_more.jsonl", [{**submission(8), "title": "second file"}, "nope"])]


def test_parts_read_on_workers_store_exactly_what_one_process_stores(tmp_path: Path) -> None:
    dumps = _dumps(tmp_path)
    parts = plan_parts(dumps, min_part_bytes=1)
    assert len(parts) > 10 and max(p.part_index for p in parts) > 5
    seq = StageContext.open(load_config("demo", None, str(tmp_path / "seq")))
    par = StageContext.open(load_config("demo", None, str(tmp_path / "par")))
    try:
        seq_report = collect_dumps(seq, [str(d) for d in dumps])
        merger = DumpMerger(par, dump_scan(par, retrieved_at=7))
        shards = tmp_path / "shards"
        results = {part: read_part_to_shard(part, merger.scan, str(shards)) for part in reversed(parts)}
        par_report = merge_shards(merger, (results[part] for part in parts))

        def view(c: StageContext) -> list[dict[str, object]]:
            return [p.model_dump(exclude={"retrieved_at", "author_hash"}) for p in c.store.all(Post)]

        assert view(seq) == view(par) and view(seq)
        keep = ("read", "stored_new_or_changed", "unchanged", "out_of_scope", "malformed", "malformed_total",
                "revisions")
        assert {k: seq_report.as_dict()[k] for k in keep} == {k: par_report.as_dict()[k] for k in keep}
        assert [m["line"] for m in seq_report.as_dict()["malformed"]][:2] == [2, 41]
        assert any("compressed stream unreadable" in m[2] for m in seq_report.malformed)
        assert seq_report.revisions > 0
        last = seq.store.get(Post, "x0000008")
        assert last is not None and last.title == "second file" and last.source == "dump:RS_more.jsonl"
        assert list(shards.iterdir()) == []
    finally:
        seq.close()
        par.close()


def test_no_raw_author_in_the_workspace_after_collect(ctx: StageContext, tmp_path: Path) -> None:
    dump = write_dump(tmp_path / "RS_authors.jsonl",
                      [submission(i, "AskHR", author=f"Secret_Name_{i}") for i in range(50)])
    report = collect_dumps(ctx, [str(dump)])
    assert report.stored_new_or_changed == 50
    ctx.store.close()
    for file in ctx.workspace.rglob("*"):
        if file.is_file():
            assert b"Secret_Name_" not in file.read_bytes(), file


@pytest.mark.parametrize("changes", [
    {}, {"selftext": "[deleted]", "author": "[deleted]", "removed_by_category": "deleted"},
    {"selftext": "[removed]", "removed_by_category": "moderator"},
    {"id": "t3_abc", "created_utc": "1600000000.9"},
    {"score": None, "num_comments": "7", "over_18": 1, "permalink": "", "url": "https://x.example/a"},
    {"author": None, "title": None, "selftext": None},
])
def test_dump_posts_are_built_like_validated_posts(changes: dict[str, object]) -> None:
    data = {**submission(3, "AskHR"), **changes}
    fields = submission_fields(data, "dump:d.zst", "salt", 5)
    fast, validated = trusted_post(fields), post_from_submission(data, "dump:d.zst", "salt", 5)
    assert fast == validated and fast.model_dump_json() == validated.model_dump_json()
    assert fast.model_fields_set == validated.model_fields_set
    assert fast.model_copy(update={"domain_hint": "x"}) == validated.model_copy(update={"domain_hint": "x"})


@pytest.mark.parametrize("hint", [None, "Career & work"])
def test_a_post_read_back_from_its_json_equals_the_validated_one(hint: str | None) -> None:
    data = {**submission(4, "AskHR"), "title": "Ünïcode \"q\"\n"}
    post = trusted_post(submission_fields(data, "dump:d", "s", 9)).model_copy(update={"domain_hint": hint})
    text = post.model_dump_json()
    fast, validated = stored_post(text), Post.model_validate_json(text)
    assert fast == validated == post and fast.model_dump_json() == text
    assert fast.model_fields_set == validated.model_fields_set


@pytest.mark.parametrize("batch", [1, 2, 500])
def test_posts_stored_from_their_text_match_posts_stored_as_records(tmp_path: Path, batch: int) -> None:
    def post(i: int, title: str, at: int, hint: str | None = None) -> Post:
        fields = submission_fields({**submission(i, "AskHR"), "title": title}, "dump:d", "salt", at)
        return trusted_post(fields).model_copy(update={"domain_hint": hint})

    earlier = [post(1, "labelled", 1, "Career & work"), post(2, "first", 1)]
    later = [post(1, "labelled", 2), post(2, "edited", 2), post(3, "new", 2), post(3, "new again", 3),
             post(3, "new again", 4), post(2, "edited", 5), post(4, "x", 5)]
    as_posts = StageContext.open(load_config("demo", None, str(tmp_path / "posts")))
    as_rows = StageContext.open(load_config("demo", None, str(tmp_path / "rows")))
    try:
        reports = []
        for c, rows in ((as_posts, False), (as_rows, True)):
            store_posts(c, earlier, CollectReport())
            report = CollectReport()
            if rows:
                store_post_rows(c, ((p.id, p.model_dump_json(), None) for p in later), report, batch)
            else:
                store_posts(c, later, report, batch)
            reports.append(report.as_dict())
        assert reports[0] == reports[1]
        counts = reports[0]["stored_new_or_changed"], reports[0]["unchanged"], reports[0]["revisions"]
        assert counts == (4, 3, 2)
        for kind in (Post, PostRevision):
            assert as_posts.store.all(kind) == as_rows.store.all(kind)
        kept = as_rows.store.get(Post, post(1, "", 0).id)
        assert kept is not None and kept.domain_hint == "Career & work"
    finally:
        as_posts.close()
        as_rows.close()


@pytest.mark.parametrize("name", [
    "someone", "Ünïcødé_名前", "", "[deleted]", "[removed]", None, 12345, 1.5, True, ["x"], {"a": 1},
])
@pytest.mark.parametrize("salt", ["salt", "f" * 64, "s\udc80lt"])
def test_author_hasher_hashes_as_hash_author(name: object, salt: str) -> None:
    def outcome(fn: Callable[[], object]) -> object:
        try:
            return fn()
        except Exception as exc:  # the same error, word for word, is part of the same result
            return repr(exc)

    hasher = AuthorHasher(salt)
    expected = outcome(lambda: hash_author(name, salt))  # type: ignore[arg-type]
    assert outcome(lambda: hasher(name)) == expected
    assert outcome(lambda: pickle.loads(pickle.dumps(hasher))(name)) == expected


def _dump_line_variants() -> list[dict[str, object]]:
    """Submissions as dumps give them, and every way a value can be off its field's type."""
    base = submission(7, "AskHR")
    changes: list[dict[str, object]] = [
        {}, {"id": "t3_abc"},
        {"selftext": "[deleted]", "author": "[deleted]", "removed_by_category": "deleted"},
        {"selftext": "  [removed]\n"}, {"selftext": "[removed by reddit]"},
        {"selftext": "[deleted]" + " " * 40},
        {"selftext": " " * 30 + "[deleted]"}, {"removed_by_category": "moderator"},
        {"removed_by_category": "author"}, {"removed_by_category": 3}, {"removed_by_category": ""},
        {"selftext": "", "title": ""}, {"selftext": "x" * 5000 + "  "}, {"author": None}, {"author": ""},
        {"author": 42}, {"author": ["x"]}, {"author": "Ünïcødé"}, {"permalink": "", "url": "https://x.example/a"},
        {"permalink": "r/x/no-slash", "url": None}, {"score": 0, "num_comments": 0, "over_18": True},
        {"score": None}, {"score": "7"}, {"score": "abc"}, {"score": 1.9}, {"score": True},
        {"num_comments": []}, {"over_18": 1}, {"over_18": None}, {"title": None}, {"title": 5},
        {"selftext": None}, {"selftext": 3}, {"permalink": None}, {"id": 123},
        {"created_utc": "1600000000.9"},
    ]
    variants = [{**base, **change} for change in changes]
    for key in ("id", "title", "selftext", "score", "num_comments", "over_18", "permalink", "author",
                "url", "removed_by_category"):
        variants.append({k: v for k, v in base.items() if k != key})
    return variants


def _reference_post(data: dict[str, Any], source: str, salt: str, at: int) -> Post:
    """The plain mapping, each value converted, validated (what the fast paths must equal)."""
    get = data.get
    selftext, permalink = str(get("selftext") or ""), str(get("permalink") or "")
    category, marker = str(get("removed_by_category") or ""), selftext.strip()
    deleted = marker in {"[deleted]"} or category in {"deleted", "author"}
    removed = not deleted and (marker in {"[removed]", "[removed by reddit]"} or bool(category))
    return Post(
        id=str(data["id"]).removeprefix("t3_"), subreddit=str(data["subreddit"]),
        created_utc=c if type(c := data["created_utc"]) is int else int(float(c)),
        title=str(get("title") or ""), selftext=selftext, score=int(get("score") or 0),
        num_comments=int(get("num_comments") or 0), over_18=bool(get("over_18", False)),
        permalink=permalink,
        url=f"https://www.reddit.com{permalink}" if permalink.startswith("/") else str(get("url") or ""),
        author_hash=hash_author(get("author"), salt), removed=removed, deleted=deleted, source=source,
        retrieved_at=at,
    )


def test_kept_dump_posts_equal_validated_posts() -> None:
    """The reader builds kept posts in place, unvalidated, and submission_fields takes typed values
    as they are: each post equals the plain mapping's validated Post, or the line is reported with
    the error that mapping raises."""
    scan = DumpScan(Scope(None, 0, 2**40), "salt", 5)
    for data in _dump_line_variants():
        report = CollectReport()
        kept = scan.scan([json.dumps(data).encode()], 10, "d.zst", report)
        try:
            validated = _reference_post(data, "dump:d.zst", "salt", 5)
        except BAD_SUBMISSION as exc:
            assert kept == [] and report.malformed == [("d.zst", 11, f"bad submission: {exc!r}")], data
            with pytest.raises(type(exc)):
                post_from_submission(data, "dump:d.zst", "salt", 5)
            continue
        assert len(kept) == 1 and report.malformed == [], data
        assert post_from_submission(data, "dump:d.zst", "salt", 5) == validated
        post = kept[0]
        assert post == validated and post.model_dump_json() == validated.model_dump_json(), data
        assert post.model_fields_set == validated.model_fields_set, data
        hint = {"domain_hint": "x"}
        assert post.model_copy(update=hint) == validated.model_copy(update=hint)
        assert Post.model_validate(post.model_dump()) == post
