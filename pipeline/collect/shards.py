"""Per-part shard files: where a worker puts the posts it read until the driver stores them.

A shard is a small SQLite file (stdlib, one writer, rows kept in insertion order) in a folder
both the worker and the driver can reach (under the workspace by default). The worker
appends a batch at a time, so its memory is bounded by the batch; the driver reads a shard
back in batches, in order, and deletes it once stored. Posts travel as their id and JSON,
the same text the store keeps, so the driver can write a new post as it came, never parsing
or serialising it again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pipeline.collect.posts import PostRow
from schemas.records import Post

READ_BATCH = 500


class ShardWriter:
    """Appends posts to a fresh shard file (an old one at the same path is replaced)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute(
            "CREATE TABLE posts (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, data TEXT NOT NULL)")
        self.count = 0

    def add(self, posts: list[Post]) -> None:
        """Append one batch in one transaction."""
        self._conn.execute("BEGIN")
        self._conn.executemany("INSERT INTO posts (id, data) VALUES (?, ?)",
                               ((p.id, p.model_dump_json()) for p in posts))
        self._conn.execute("COMMIT")
        self.count += len(posts)

    def close(self) -> None:
        """Finish the file (the driver may read it from here on)."""
        self._conn.close()


def read_shard(path: Path, batch: int = READ_BATCH) -> Iterator[PostRow]:
    """The posts of a shard as rows (id, JSON text, no Post) in the order they were added,
    ``batch`` rows in memory at a time."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cursor = conn.execute("SELECT id, data FROM posts ORDER BY seq")
        while rows := cursor.fetchmany(batch):
            for post_id, data in rows:
                yield post_id, data, None
    finally:
        conn.close()
