"""Which submissions a project wants: subreddits and a date range, checked on raw records.

A plain, picklable value so the same filter runs in this process or on a Dask worker, and
cheap enough to apply to every line of a dump before a Post is ever built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from schemas.config import ProjectConfig


@dataclass(frozen=True)
class Scope:
    """Wanted subreddits (lowercased; None = any) and an inclusive epoch-seconds window."""

    subreddits: frozenset[str] | None
    start_ts: int
    end_ts: int

    @classmethod
    def between(cls, subreddits: list[str] | None, start: date, end: date) -> Scope:
        """A scope over whole UTC days from ``start`` to ``end`` inclusive."""
        return cls(
            subreddits=frozenset(s.lower() for s in subreddits) if subreddits is not None else None,
            start_ts=int(datetime.combine(start, time.min, tzinfo=UTC).timestamp()),
            end_ts=int(datetime.combine(end, time.max, tzinfo=UTC).timestamp()),
        )

    @classmethod
    def from_config(cls, config: ProjectConfig) -> Scope:
        """The configured domains' subreddits and collect date range."""
        subs = [s for subreddits in config.domains.values() for s in subreddits]
        return cls.between(subs, config.collect.start_date, config.collect.end_date)

    def reason(self, subreddit: str, created_utc: int) -> str | None:
        """None if in scope, else why not."""
        if self.subreddits is not None and subreddit.lower() not in self.subreddits:
            return "subreddit_not_configured"
        if not self.start_ts <= created_utc <= self.end_ts:
            return "outside_date_range"
        return None

    def reason_raw(self, data: dict[str, Any]) -> str | None:
        """Like ``reason`` on a raw submission dict; malformed fields raise (KeyError/ValueError)."""
        return self.reason(str(data["subreddit"]), int(float(data["created_utc"])))
