"""Reddit listings and searches into the store, resumable from a checkpoint per listing.

``new`` and search (newest first) stop at the first post an earlier run already saw, unless
asked to read in full; top/controversial are re-read whole (Reddit caps them at about
1,000) and only changed posts are written.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.collect.posts import BAD_SUBMISSION, CollectReport, post_from_submission, store_posts
from pipeline.context import StageContext
from pipeline.privacy import author_salt
from pipeline.sources.reddit_api import RedditSource
from pipeline.sources.scope import Scope
from schemas.collect import ListingCheckpoint, checkpoint_key
from schemas.records import Post

INCREMENTAL_LISTINGS = {"new", "search"}


@dataclass(frozen=True)
class ListingSpec:
    """One listing to read per subreddit: ``new``, ``top:<t>``, ``controversial:<t>`` or search."""

    kind: str
    time_filter: str | None = None
    query: str | None = None

    @classmethod
    def parse(cls, text: str) -> ListingSpec:
        """``new``, ``top:year``, ``controversial:month``, ``search:<query>``."""
        kind, _, arg = text.partition(":")
        if kind == "new" and not arg:
            return cls("new")
        if kind in ("top", "controversial"):
            allowed = ("hour", "day", "week", "month", "year", "all")
            if (arg or "all") not in allowed:
                raise ValueError(f"time filter of {kind} must be one of {', '.join(allowed)}, not {arg!r}")
            return cls(kind, arg or "all")
        if kind == "search" and arg:
            return cls("search", "all", arg)
        raise ValueError(f"unknown listing {text!r}: use new, top:<t>, controversial:<t> or search:<query>")


@dataclass
class ApiReport(CollectReport):
    """A collect over the Reddit API: per listing, what was fetched and where it stopped."""

    listings: list[dict[str, Any]] = field(default_factory=list)
    fetch: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {**super().as_dict(), "listings": self.listings, "fetch": self.fetch}


def _api_posts(
    items: Iterator[dict[str, Any]], spec: ListingSpec, checkpoint: ListingCheckpoint | None,
    scope: Scope, salt: str, report: CollectReport, seen: dict[str, Any],
) -> Iterator[Post]:
    """Posts of one listing until it ends, reaches the checkpoint or (sorted by new) the window's start."""
    now = int(time.time())
    newest_first = spec.kind in INCREMENTAL_LISTINGS
    for data in items:
        report.read += 1
        seen["fetched"] += 1
        try:
            created = int(float(data["created_utc"]))
            post_id = str(data["id"])
            if checkpoint is not None and (
                created < checkpoint.newest_created_utc
                or (created == checkpoint.newest_created_utc and post_id in checkpoint.newest_ids)
            ):
                seen["stopped_at_checkpoint"] = True
                return
            if newest_first and created < scope.start_ts:
                seen["stopped_at_window_start"] = True
                return
            if created > seen["newest"]:
                seen["newest"], seen["newest_ids"] = created, [post_id]
            elif created == seen["newest"]:
                seen["newest_ids"].append(post_id)
            reason = scope.reason_raw(data)
            if reason:
                report.out_of_scope[reason] += 1
                continue
            yield post_from_submission(data, "api", salt, now)
        except BAD_SUBMISSION as exc:
            report.add_malformed(f"api:{spec.kind}", seen["fetched"], f"bad submission: {exc!r}")


def collect_api(
    ctx: StageContext, source: RedditSource, subreddits: list[str], specs: list[ListingSpec],
    scope: Scope | None = None, full: bool = False,
) -> ApiReport:
    """Read listings and searches of each subreddit to their end into the store.

    ``new`` and search (newest first) resume from a per-subreddit checkpoint and stop at the
    first post already seen, unless ``full``; top/controversial are re-read whole (Reddit
    caps them at about 1,000) and only changed posts are written. A checkpoint moves only
    after its listing was read to the end, so an interrupted run loses nothing.
    """
    unknown = [s for s in subreddits if ctx.config.domain_of(s) is None]
    if unknown:
        raise ValueError(f"subreddits not in any configured domain: {', '.join(unknown)}")
    scope = scope or Scope.from_config(ctx.config)
    report = ApiReport()
    salt = author_salt(ctx.workspace, ctx.config.collect.author_salt_env)
    for sub in subreddits:
        for spec in specs:
            key = checkpoint_key(sub, spec.kind, spec.query or spec.time_filter)
            saved = ctx.store.get_meta(key)
            previous = ListingCheckpoint.model_validate(saved) if saved else ListingCheckpoint(
                subreddit=sub.lower(), listing=spec.kind,  # type: ignore[arg-type]
                time_filter=spec.time_filter,  # type: ignore[arg-type]
            )
            use_checkpoint = (
                spec.kind in INCREMENTAL_LISTINGS and not full and previous.newest_created_utc > 0
            )
            if spec.kind == "search":
                items = source.search(sub, spec.query or "", "new", spec.time_filter or "all")
            else:
                items = source.listing(sub, spec.kind, spec.time_filter)
            seen: dict[str, Any] = {"fetched": 0, "newest": 0, "newest_ids": [],
                                    "stopped_at_checkpoint": False, "stopped_at_window_start": False}
            before = (report.stored_new_or_changed, report.unchanged)
            posts = _api_posts(items, spec, previous if use_checkpoint else None, scope, salt, report, seen)
            store_posts(ctx, posts, report)
            _advance_checkpoint(ctx, key, previous, seen)
            report.listings.append({
                "subreddit": sub, "listing": spec.kind, "time_filter": spec.time_filter, "query": spec.query,
                "fetched": seen["fetched"], "new_or_changed": report.stored_new_or_changed - before[0],
                "unchanged": report.unchanged - before[1],
                "stopped_at_checkpoint": seen["stopped_at_checkpoint"],
            })
    report.fetch = source.stats.as_dict()
    return report


def _advance_checkpoint(
    ctx: StageContext, key: str, previous: ListingCheckpoint, seen: dict[str, Any]
) -> None:
    newest, ids = previous.newest_created_utc, list(previous.newest_ids)
    if seen["newest"] > newest:
        newest, ids = seen["newest"], sorted(set(seen["newest_ids"]))
    elif seen["newest"] == newest:
        ids = sorted(set(ids) | set(seen["newest_ids"]))
    updated = previous.model_copy(update={
        "newest_created_utc": newest, "newest_ids": ids, "completed_runs": previous.completed_runs + 1,
        "last_run_at": int(time.time()), "last_fetched": seen["fetched"],
    })
    ctx.store.set_meta(key, updated.model_dump())
