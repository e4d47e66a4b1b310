"""Canonical JSON and content hashes: the source of every stable id and cache key."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal content always gives equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(text: str | bytes) -> str:
    """Hex sha256 of text (UTF-8) or bytes."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def content_id(prefix: str, *parts: object, length: int = 16) -> str:
    """A short stable id like ``q_3f9a...`` derived from the parts that define the item."""
    return f"{prefix}_{sha256_hex(canonical_json(list(parts)))[:length]}"
