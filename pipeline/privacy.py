"""Author pseudonymisation: raw Reddit usernames never enter the store."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pipeline.hashing import sha256_hex

UNKNOWN_AUTHORS = {"", "[deleted]", "[removed]"}


def author_salt(workspace: Path, env_var: str) -> str:
    """The salt from ``env_var`` if set, else a random per-workspace salt kept in a 0600 file."""
    from_env = os.environ.get(env_var)
    if from_env:
        return from_env
    path = workspace / ".author_salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def hash_author(name: str | None, salt: str) -> str | None:
    """Salted hash of a username; None when the author is unknown or deleted."""
    if name is None or name in UNKNOWN_AUTHORS:
        return None
    return "a_" + sha256_hex(f"{salt}:{name}")[:20]
