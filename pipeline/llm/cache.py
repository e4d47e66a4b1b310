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

from pipeline.hashing import canonical_json, sha256_hex
from pipeline.llm.types import ChatRequest, ChatResponse


def request_key(provider: str, request: ChatRequest) -> str:
    """The cache key of a request."""
    payload = {
        "provider": provider,
        "model": request.model,
        "messages": request.messages,
        "params": request.params(),
        "schema": request.response_schema,
        "mode": request.structured_mode,
    }
    return sha256_hex(canonical_json(payload))


class ResponseCache:
    """SQLite table of request key -> response. Writes commit at once: a crash keeps them."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, provider TEXT, model TEXT, "
            "prompt_hash TEXT, response TEXT NOT NULL, created_at REAL NOT NULL)"
        )

    def get(self, key: str) -> ChatResponse | None:
        """The stored response for a key, if any."""
        with self._lock:
            row = self._conn.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return ChatResponse.model_validate_json(row[0]) if row else None

    def put(self, key: str, provider: str, model: str, prompt_hash: str, response: ChatResponse) -> None:
        """Store a response (first write wins; answers are never overwritten)."""
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                (key, provider, model, prompt_hash, response.model_dump_json(), time.time()),
            )

    def stats(self) -> dict[str, int]:
        """Entries per model."""
        with self._lock:
            rows = self._conn.execute("SELECT model, COUNT(*) FROM responses GROUP BY model").fetchall()
        return {str(model): int(n) for model, n in rows}

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
