"""The workspace store: idempotent upserts, change detection, deletes, metadata."""

from __future__ import annotations

from pathlib import Path

from pipeline.store import open_store
from schemas.records import Drop, Post


def post(pid: str, title: str = "t") -> Post:
    return Post(id=pid, subreddit="college", created_utc=1_600_000_000, title=title, selftext="I ask.",
                source="dump:x", retrieved_at=1)


def test_put_twice_changes_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert store.put([post("a"), post("b")]) == 2
    assert store.put([post("a"), post("b")]) == 0
    assert store.count(Post) == 2


def test_changed_record_is_updated_in_place(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.put([post("a")])
    assert store.put([post("a", title="edited")]) == 1
    stored = store.get(Post, "a")
    assert stored is not None and stored.title == "edited"
    assert store.count(Post) == 1


def test_records_survive_reopening(tmp_path: Path) -> None:
    open_store(tmp_path).put([post("a")])
    assert open_store(tmp_path).ids(Post) == {"a"}


def test_delete_and_meta(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.put([post("a"), Drop(id="d1", stage="prefilter", item_id="a", reason="nsfw")])
    assert store.delete(Post, ["a", "missing"]) == 1
    assert store.all(Drop)[0].reason == "nsfw"
    store.set_meta("k", {"x": 1})
    assert store.get_meta("k") == {"x": 1}
    assert store.get_meta("absent", "default") == "default"


def test_all_is_ordered_by_id(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.put([post("c"), post("a"), post("b")])
    assert [p.id for p in store.all(Post)] == ["a", "b", "c"]
