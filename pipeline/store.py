"""The workspace store: one SQLite file holding every record, keyed by stable ids.

SQLite because it ships with Python (nothing to install or run), gives atomic transactions
(a crash never leaves half a batch), allows many readers alongside one writer in WAL mode,
and a workspace stays a single file you can copy. Records are stored as their JSON next to
their id; writes are idempotent upserts that report whether anything actually changed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from schemas.records import Record
from schemas.tables import TABLES

R = TypeVar("R", bound=Record)


class Store:
    """Typed access to the workspace database. Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._created: set[str] = set()
        with self._write_lock, self._conn() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        yield conn

    def close(self) -> None:
        """Close this thread's connection (other threads close theirs on exit)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def table(self, cls: type[Record]) -> str:
        """The table that holds records of this type (created on first use)."""
        try:
            table = TABLES[cls]
        except KeyError:
            raise TypeError(
                f"{cls.__name__} is not a stored record type; declare its table in schemas/tables.py"
            ) from None
        if table not in self._created:
            with self._conn() as conn:
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} ("
                    "id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at REAL NOT NULL)"
                )
            self._created.add(table)
        return table

    def put(self, records: Iterable[Record]) -> int:
        """Insert or update records in one transaction; returns how many were new or changed."""
        rows: dict[str, list[tuple[str, str, float]]] = {}
        now = time.time()
        for record in records:
            rows.setdefault(self.table(type(record)), []).append((record.id, record.model_dump_json(), now))
        if not rows:
            return 0
        changed = 0
        with self._write_lock, self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for table, batch in rows.items():
                    before = conn.total_changes
                    conn.executemany(
                        f"INSERT INTO {table} (id, data, updated_at) VALUES (?, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at "
                        "WHERE data != excluded.data",
                        batch,
                    )
                    changed += conn.total_changes - before
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return changed

    def get(self, cls: type[R], record_id: str) -> R | None:
        """One record by id, or None."""
        with self._conn() as conn:
            row = conn.execute(f"SELECT data FROM {self.table(cls)} WHERE id = ?", (record_id,)).fetchone()
        return cls.model_validate_json(row[0]) if row else None

    def all(self, cls: type[R]) -> list[R]:
        """Every record of a type, ordered by id (deterministic)."""
        with self._conn() as conn:
            rows = conn.execute(f"SELECT data FROM {self.table(cls)} ORDER BY id").fetchall()
        return [cls.model_validate_json(row[0]) for row in rows]

    def iter(self, cls: type[R], chunk: int = 1000, order_by: tuple[str, ...] = ()) -> Iterator[R]:
        """Every record of a type, ordered by id, read ``chunk`` rows at a time.

        For tables that grow with the build (posts, calls): memory stays at one chunk,
        not the table. Uses its own connection so writes between chunks cannot disturb it.
        ``order_by`` names record fields to sort by first (SQLite sorts, spilling to disk if
        it must), so a reader wanting another order need not load the table to sort it.
        """
        table = self.table(cls)
        unknown = [name for name in order_by if name not in cls.model_fields]
        if unknown:
            raise ValueError(f"{cls.__name__} has no field {', '.join(unknown)} to order by")
        keys = "".join(f"json_extract(data, '$.{name}'), " for name in order_by)
        conn = sqlite3.connect(self.path, timeout=60)
        try:
            cursor = conn.execute(f"SELECT data FROM {table} ORDER BY {keys}id")
            while rows := cursor.fetchmany(chunk):
                for row in rows:
                    yield cls.model_validate_json(row[0])
        finally:
            conn.close()

    def get_many(self, cls: type[R], record_ids: Iterable[str]) -> dict[str, R]:
        """Records by id (missing ids are absent from the result)."""
        wanted = list(record_ids)
        found: dict[str, R] = {}
        with self._conn() as conn:
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                marks = ",".join("?" * len(part))
                for rid, data in conn.execute(
                    f"SELECT id, data FROM {self.table(cls)} WHERE id IN ({marks})", part
                ):
                    found[rid] = cls.model_validate_json(data)
        return found

    def ids(self, cls: type[Record]) -> set[str]:
        """The ids present for a type."""
        with self._conn() as conn:
            return {row[0] for row in conn.execute(f"SELECT id FROM {self.table(cls)}")}

    def count(self, cls: type[Record]) -> int:
        """How many records of a type are stored."""
        with self._conn() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {self.table(cls)}").fetchone()[0])

    def delete(self, cls: type[Record], record_ids: Iterable[str]) -> int:
        """Remove records by id; returns how many existed."""
        ids = [(rid,) for rid in record_ids]
        with self._write_lock, self._conn() as conn:
            before = conn.total_changes
            conn.executemany(f"DELETE FROM {self.table(cls)} WHERE id = ?", ids)
            return conn.total_changes - before

    def get_meta(self, key: str, default: Any = None) -> Any:
        """A small JSON value kept beside the records (checkpoints, last release...)."""
        with self._conn() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def meta_items(self, prefix: str) -> dict[str, Any]:
        """Every meta value whose key starts with ``prefix`` (e.g. all listing checkpoints)."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key", (len(prefix), prefix)
            ).fetchall()
        return {key: json.loads(value) for key, value in rows}

    def set_meta(self, key: str, value: Any) -> None:
        """Store a small JSON value under a key."""
        with self._write_lock, self._conn() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, json.dumps(value, sort_keys=True)),
            )


STORE_FILE = "valact.sqlite"


class NoWorkspaceError(Exception):
    """A read-only command was pointed at a folder that holds no workspace."""


def open_store(workspace: Path) -> Store:
    """The store of a workspace folder (created on first use)."""
    return Store(workspace / STORE_FILE)


def open_existing_store(workspace: Path) -> Store:
    """The store of a workspace that must already exist: reading commands never create one."""
    if not (workspace / STORE_FILE).is_file():
        raise NoWorkspaceError(f"no workspace at {workspace.resolve()}; run `valact build` first")
    return open_store(workspace)


def put_json(store: Store, cls: type[Record], rows: list[tuple[str, str]]) -> int:
    """Upsert records already serialised, as (id, the record's ``model_dump_json()`` text).

    Why: a collect's driver stores posts that a worker serialised moment before; writing
    that text as it is saves parsing and serialising each post again. Same upsert, same
    count of new or changed records as ``Store.put``; the text must be what ``put`` would write.
    """
    if not rows:
        return 0
    table, now = store.table(cls), time.time()
    with store._write_lock, store._conn() as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            before = conn.total_changes
            conn.executemany(
                f"INSERT INTO {table} (id, data, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at "
                "WHERE data != excluded.data",
                [(record_id, text, now) for record_id, text in rows],
            )
            changed = conn.total_changes - before
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return changed
