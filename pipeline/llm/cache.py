"""Content-addressed response cache shared by every stage and every run.

The key is a hash of everything that determines the answer: provider, model id, messages,
sampling parameters and output schema. Same request, same key, no second payment; change
the prompt (its text is in the messages) and the key changes by itself.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from pipeline.hashing import canonical_json, sha256_hex
from pipeline.llm.types import ChatRequest, ChatResponse


def request_key(provider: str, request: ChatRequest) -> str:
    """The cache key of a request."""
    payload: dict[str, object] = {
        "provider": provider,
        "model": request.model,
        "messages": request.messages,
        "params": request.params(),
        "schema": request.response_schema,
        "mode": request.structured_mode,
    }
    if request.prompt_hash is not None:
        payload["prompt"] = request.prompt_hash
    return sha256_hex(canonical_json(payload))


def prompt_version(prompt_hash: str) -> str:
    """The version part of a prompt hash (``"<version>-<content hash>"``)."""
    return prompt_hash.split("-", 1)[0] if "-" in prompt_hash else prompt_hash


def split_prompt_version(spec: str) -> tuple[str | None, str]:
    """``generate:1`` -> ("generate", "1"); ``1`` or ``1-3f9a0c12de`` -> (None, the same).

    How users name a prompt version (``valact cache prune --prompt-version generate:1``):
    the prompt name is stored with every entry, the version is the part of the prompt hash
    before its dash.
    """
    name, sep, version = spec.partition(":")
    return (name, version) if sep else (None, spec)


class ResponseCache:
    """SQLite table of request key -> response. Writes commit at once: a crash keeps them."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the process being killed (what resuming needs) without
        # an fsync per answer, which at provider speed (100 answers/s) would stall the run.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, provider TEXT, model TEXT, "
            "prompt_hash TEXT, response TEXT NOT NULL, created_at REAL NOT NULL)"
        )
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(responses)")}
        if "prompt_name" not in columns:  # caches written before prompt names were kept
            self._conn.execute("ALTER TABLE responses ADD COLUMN prompt_name TEXT NOT NULL DEFAULT ''")

    def get(self, key: str) -> ChatResponse | None:
        """The stored response for a key, if any."""
        with self._lock:
            row = self._conn.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return ChatResponse.model_validate_json(row[0]) if row else None

    def put(
        self, key: str, provider: str, model: str, prompt_hash: str, response: ChatResponse,
        prompt_name: str = "",
    ) -> None:
        """Store a response (first write wins; answers are never overwritten)."""
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO responses "
                "(key, provider, model, prompt_hash, response, created_at, prompt_name) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, provider, model, prompt_hash, response.model_dump_json(), time.time(), prompt_name),
            )

    def stats(self) -> dict[str, int]:
        """Entries per model."""
        with self._lock:
            rows = self._conn.execute("SELECT model, COUNT(*) FROM responses GROUP BY model").fetchall()
        return {str(model): int(n) for model, n in rows}

    def summary(self) -> dict[str, Any]:
        """Entries, size and age per (prompt, prompt version, model): what `valact cache stats` shows."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT prompt_name, prompt_hash, model, COUNT(*), SUM(LENGTH(response)), "
                "MIN(created_at), MAX(created_at) FROM responses "
                "GROUP BY prompt_name, prompt_hash, model ORDER BY prompt_name, prompt_hash, model"
            ).fetchall()
        groups = [
            {
                "prompt": name or "?", "prompt_version": prompt_version(phash), "prompt_hash": phash,
                "model": model, "entries": int(n), "bytes": int(size or 0),
                "oldest": float(oldest), "newest": float(newest),
            }
            for name, phash, model, n, size, oldest, newest in rows
        ]
        return {
            "path": str(self.path),
            "entries": sum(g["entries"] for g in groups),
            "bytes": sum(g["bytes"] for g in groups),
            "file_bytes": self.path.stat().st_size if self.path.exists() else 0,
            "groups": groups,
        }

    def prune(
        self,
        older_than_s: float | None = None,
        prompt_version: str | None = None,
        prompt_name: str | None = None,
        dry_run: bool = False,
        now: float | None = None,
    ) -> int:
        """Delete entries older than N seconds and/or of a prompt version (optionally one prompt).

        At least one criterion is required: pruning everything by accident is not an option.
        Returns how many entries matched (and were deleted unless ``dry_run``).
        """
        if older_than_s is None and prompt_version is None:
            raise ValueError("give --older-than and/or --prompt-version")
        where: list[str] = []
        args: list[object] = []
        if older_than_s is not None:
            where.append("created_at < ?")
            args.append((time.time() if now is None else now) - older_than_s)
        if prompt_version is not None:
            where.append("(prompt_hash = ? OR prompt_hash LIKE ?)")
            args += [prompt_version, f"{prompt_version}-%"]
        if prompt_name is not None:
            where.append("prompt_name = ?")
            args.append(prompt_name)
        clause = " AND ".join(where)
        with self._lock:
            row = self._conn.execute(f"SELECT COUNT(*) FROM responses WHERE {clause}", args).fetchone()
            count = int(row[0])
            if not dry_run and count:
                self._conn.execute(f"DELETE FROM responses WHERE {clause}", args)
        return count

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
