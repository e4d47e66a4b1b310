"""Records of the collect stage beyond the Post itself: post history and listing checkpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.records import Record

ListingKind = Literal["new", "top", "controversial", "search"]
TimeFilter = Literal["hour", "day", "week", "month", "year", "all"]

# Fields whose change means the post itself changed (edited, deleted, removed); score and
# comment counts move all the time and are simply updated without history.
TRACKED_FIELDS: tuple[str, ...] = ("title", "selftext", "removed", "deleted", "over_18")


class PostRevision(Record):
    """A stored post's earlier content, kept when a re-collect found it edited or removed."""

    post_id: str
    title: str
    selftext: str
    removed: bool
    deleted: bool
    over_18: bool
    source: str = Field(description="where the earlier version came from")
    retrieved_at: int = Field(description="when valact read the earlier version")
    superseded_at: int = Field(description="when valact read the version that replaced it")
    superseded_by: str = Field(description="source of the replacing version")


class ListingCheckpoint(BaseModel):
    """How far one (subreddit, listing) has been read, so the next run fetches only what is new.

    ``newest_created_utc`` is the creation time of the newest post seen; ``newest_ids`` are the
    ids seen at exactly that second (to skip them without losing same-second posts).
    """

    model_config = ConfigDict(extra="forbid")

    subreddit: str
    listing: ListingKind
    time_filter: TimeFilter | None = None
    newest_created_utc: int = 0
    newest_ids: list[str] = Field(default_factory=list)
    completed_runs: int = 0
    last_run_at: int = 0
    last_fetched: int = 0

    @property
    def key(self) -> str:
        """The store meta key of this checkpoint."""
        return checkpoint_key(self.subreddit, self.listing, self.time_filter)


CHECKPOINT_PREFIX = "collect:checkpoint:"


def checkpoint_key(subreddit: str, listing: str, time_filter: str | None) -> str:
    """Meta key for a listing checkpoint (subreddit names are case-insensitive on Reddit)."""
    return f"{CHECKPOINT_PREFIX}{subreddit.lower()}:{listing}:{time_filter or '-'}"
