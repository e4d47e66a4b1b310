"""The workspace store: idempotent upserts, change detection, deletes, metadata."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import schemas
from pipeline.store import open_store
from schemas.records import Drop, Post, Record
from schemas.tables import TABLES


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


def test_iter_orders_by_fields_then_id(tmp_path: Path) -> None:
    """The release builder reads questions in release order from SQLite, not by sorting them."""
    store = open_store(tmp_path)
    store.put([post("a", title="z"), post("b", title="y"), post("c", title="z"), post("d", title="x")])
    assert [p.id for p in store.iter(Post, chunk=2, order_by=("title",))] == ["d", "b", "a", "c"]
    assert [p.id for p in store.iter(Post)] == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="no field nope"):
        list(store.iter(Post, order_by=("nope",)))


def test_every_record_type_of_schemas_has_one_declared_table(tmp_path: Path) -> None:
    """The registry in schemas/tables.py covers every stored type, so no import is needed to
    read any table; and a type left out gets a clear error, not a silent new table."""
    found = {cls for module in pkgutil.iter_modules(schemas.__path__)
             for cls in vars(importlib.import_module(f"schemas.{module.name}")).values()
             if isinstance(cls, type) and issubclass(cls, Record) and cls is not Record}
    assert found == set(TABLES)
    assert len(set(TABLES.values())) == len(TABLES)

    class Unlisted(Record):
        pass

    store = open_store(tmp_path)
    with pytest.raises(TypeError, match=r"schemas/tables\.py"):
        store.put([Unlisted(id="x")])
