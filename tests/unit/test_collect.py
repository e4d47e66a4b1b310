"""Collect stage: mapping, flags, history on edits, labels kept, partitions == sequential, privacy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.sources.dump import Partition
from pipeline.sources.scope import Scope
from pipeline.stages.collect import (
    CollectReport,
    collect_dumps,
    post_from_submission,
    read_dump_partition,
    store_partitions,
    store_posts,
)
from schemas.collect import PostRevision
from schemas.records import Post
from tests.support.dumps import submission, write_dump


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


def _dump(tmp_path: Path) -> Path:
    records: list[dict[str, object] | str] = []
    for i in range(400):
        records.append(submission(i))
        if i % 37 == 0:
            records.append("{broken")
    records.append({**submission(8), "title": "a later duplicate wins"})
    records.append({"id": "nosub"})
    return write_dump(tmp_path / "RS_test.zst", records)


def test_partitioned_read_stores_exactly_what_a_sequential_read_stores(tmp_path: Path) -> None:
    dump = _dump(tmp_path)
    other = write_dump(tmp_path / "RS_more.jsonl", [{**submission(7), "title": "second file"}, "nope"])
    seq = StageContext.open(load_config("demo", None, str(tmp_path / "seq")))
    par = StageContext.open(load_config("demo", None, str(tmp_path / "par")))
    try:
        seq_report = collect_dumps(seq, [str(dump), str(other)])
        scope, salt = Scope.from_config(par.config), "salt"
        results = [read_dump_partition(str(path), i, scope, salt, Partition(k, 3, 16), 7)
                   for i, path in enumerate([dump, other]) for k in reversed(range(3))]
        par_report = store_partitions(par, results)

        def view(c: StageContext) -> list[dict[str, object]]:
            return [p.model_dump(exclude={"retrieved_at", "author_hash"}) for p in c.store.all(Post)]

        assert view(seq) == view(par) and view(seq)
        keep = ("read", "stored_new_or_changed", "out_of_scope", "malformed", "malformed_total", "revisions")
        assert {k: seq_report.as_dict()[k] for k in keep} == {k: par_report.as_dict()[k] for k in keep}
        assert seq_report.malformed_total == 13
        assert [m["line"] for m in seq_report.as_dict()["malformed"]][:2] == [2, 40]
        dup = seq.store.get(Post, "x0000008")
        assert dup is not None and dup.title == "a later duplicate wins"
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
