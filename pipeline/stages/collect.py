"""Stage 1, collect: posts into the store from dump files, Reddit listings and the authors' index.

Every source maps submissions with ``post_from_submission`` (the author is hashed there, so
a raw name never leaves this module) and writes through ``store_posts``, which upserts in
batches, keeps earlier content as ``PostRevision`` history when a post was edited, deleted or
removed, and leaves unchanged posts untouched. Running any collect again stores nothing new.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.context import StageContext
from pipeline.hashing import content_id
from pipeline.privacy import author_salt, hash_author
from pipeline.sources.dump import WHOLE_FILE, Partition, read_dump, resolve_dump
from pipeline.sources.reddit_api import RedditSource
from pipeline.sources.scope import Scope
from pipeline.sources.valact_index import IndexProblem, IndexRow, read_index
from pipeline.stages.screen import drop_record
from pipeline.store import register_table
from schemas.collect import TRACKED_FIELDS, ListingCheckpoint, PostRevision, checkpoint_key
from schemas.config import ProjectConfig
from schemas.records import Drop, Post

register_table(PostRevision, "post_revisions")

STAGE = "collect"
REMOVED_MARKERS = {"[removed]", "[removed by reddit]"}
DELETED_MARKERS = {"[deleted]"}
DELETED_CATEGORIES = {"deleted", "author"}
MAX_MALFORMED_REPORTED = 1000
NOT_FOUND = "index_post_not_found"
INCREMENTAL_LISTINGS = {"new", "search"}


@dataclass
class CollectReport:
    """What one collect run did over its sources."""

    read: int = 0
    stored_new_or_changed: int = 0
    unchanged: int = 0
    revisions: int = 0
    out_of_scope: Counter[str] = field(default_factory=Counter)
    malformed: list[tuple[str, int, str]] = field(default_factory=list)
    malformed_total: int = 0

    def add_malformed(self, file: str, line_no: int, error: str) -> None:
        """Count a bad line; keep its details up to the report cap."""
        self.malformed_total += 1
        if len(self.malformed) < MAX_MALFORMED_REPORTED:
            self.malformed.append((file, line_no, error))

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {
            "read": self.read,
            "stored_new_or_changed": self.stored_new_or_changed,
            "unchanged": self.unchanged,
            "revisions": self.revisions,
            "out_of_scope": dict(self.out_of_scope),
            "malformed_total": self.malformed_total,
            "malformed": [{"file": f, "line": n, "error": e} for f, n, e in self.malformed],
        }


def _flags(data: dict[str, Any], selftext: str) -> tuple[bool, bool]:
    """(removed, deleted) from the text markers and Reddit's ``removed_by_category``."""
    category = str(data.get("removed_by_category") or "")
    marker = selftext.strip()
    deleted = marker in DELETED_MARKERS or category in DELETED_CATEGORIES
    removed = not deleted and (marker in REMOVED_MARKERS or bool(category))
    return removed, deleted


def post_from_submission(data: dict[str, Any], source: str, salt: str, retrieved_at: int) -> Post:
    """Map a Reddit submission object (API or dump) to a Post; the author is hashed here."""
    selftext = str(data.get("selftext") or "")
    permalink = str(data.get("permalink") or "")
    removed, deleted = _flags(data, selftext)
    return Post(
        id=str(data["id"]).removeprefix("t3_"),
        subreddit=str(data["subreddit"]),
        created_utc=int(float(data["created_utc"])),
        title=str(data.get("title") or ""),
        selftext=selftext,
        score=int(data.get("score") or 0),
        num_comments=int(data.get("num_comments") or 0),
        over_18=bool(data.get("over_18", False)),
        permalink=permalink,
        url=f"https://www.reddit.com{permalink}" if permalink.startswith("/") else str(data.get("url") or ""),
        author_hash=hash_author(data.get("author"), salt),
        removed=removed,
        deleted=deleted,
        source=source,
        retrieved_at=retrieved_at,
    )


def in_scope(config: ProjectConfig, post: Post) -> str | None:
    """None if the post belongs in this project, else the reason it does not."""
    return Scope.from_config(config).reason(post.subreddit, post.created_utc)


# --- storing, with history ---------------------------------------------------------------


def _same_content(a: Post, b: Post) -> bool:
    return a.model_dump(exclude={"retrieved_at"}) == b.model_dump(exclude={"retrieved_at"})


def revision_of(old: Post, new: Post) -> PostRevision | None:
    """The history entry for ``old`` if ``new`` changed its text or status, else None."""
    if all(getattr(old, f) == getattr(new, f) for f in TRACKED_FIELDS):
        return None
    return PostRevision(
        id=content_id("rev", old.id, *(getattr(old, f) for f in TRACKED_FIELDS), old.retrieved_at),
        post_id=old.id, title=old.title, selftext=old.selftext, removed=old.removed,
        deleted=old.deleted, over_18=old.over_18, source=old.source, retrieved_at=old.retrieved_at,
        superseded_at=new.retrieved_at, superseded_by=new.source,
    )


def _carry_labels(old: Post, new: Post) -> Post:
    """A label a source gave (the index's domain) survives a re-read from a source without one."""
    if new.domain_hint is None and old.domain_hint is not None:
        return new.model_copy(update={"domain_hint": old.domain_hint})
    return new


def store_posts(ctx: StageContext, posts: Iterable[Post], report: CollectReport, batch: int = 500) -> None:
    """Upsert posts in batches; unchanged posts keep their first retrieval, edits keep history."""
    pending: list[Post] = []

    def flush() -> None:
        existing = {p.id: p for p in (ctx.store.get(Post, q.id) for q in pending) if p is not None}
        fresh: list[Post] = []
        history: list[PostRevision] = []
        for post in pending:
            old = existing.get(post.id)
            if old is not None:
                post = _carry_labels(old, post)
                if _same_content(post, old):
                    report.unchanged += 1
                    continue
                revision = revision_of(old, post)
                if revision is not None:
                    history.append(revision)
            existing[post.id] = post
            fresh.append(post)
        report.revisions += ctx.store.put(history)
        report.stored_new_or_changed += ctx.store.put(fresh)
        pending.clear()

    for post in posts:
        pending.append(post)
        if len(pending) >= batch:
            flush()
    flush()


# --- dumps ---------------------------------------------------------------------------------


def dump_posts(
    path: Path, scope: Scope, salt: str, report: CollectReport,
    partition: Partition = WHOLE_FILE, retrieved_at: int | None = None,
) -> Iterator[tuple[int, Post]]:
    """(line number, post) for the in-scope posts of one dump; everything else is counted."""
    now = retrieved_at if retrieved_at is not None else int(time.time())
    source = f"dump:{path.name}"
    for line in read_dump(path, partition):
        report.read += 1
        if line.data is None:
            report.add_malformed(path.name, line.line_no, line.error or "malformed")
            continue
        try:
            reason = scope.reason_raw(line.data)
            if reason:
                report.out_of_scope[reason] += 1
                continue
            post = post_from_submission(line.data, source, salt, now)
        except (KeyError, ValueError, TypeError) as exc:
            report.add_malformed(path.name, line.line_no, f"bad submission: {exc!r}")
            continue
        yield line.line_no, post


def posts_from_dump(ctx: StageContext, path: Path, report: CollectReport, salt: str) -> Iterator[Post]:
    """In-scope posts of one dump, streamed; malformed and out-of-scope lines go into the report."""
    for _line_no, post in dump_posts(path, Scope.from_config(ctx.config), salt, report):
        yield post


@dataclass
class PartitionResult:
    """One partition of one dump read on its own (e.g. on a Dask worker)."""

    file_index: int
    posts: list[tuple[int, Post]]
    report: CollectReport


def read_dump_partition(
    path: str, file_index: int, scope: Scope, salt: str, partition: Partition, retrieved_at: int
) -> PartitionResult:
    """Read one partition of a dump into memory: needs no store, so it runs anywhere."""
    report = CollectReport()
    posts = list(dump_posts(Path(path), scope, salt, report, partition, retrieved_at))
    return PartitionResult(file_index, posts, report)


def store_partitions(ctx: StageContext, results: list[PartitionResult]) -> CollectReport:
    """Merge partition results exactly as one sequential read would have produced them.

    Posts are replayed in (file, line) order, so duplicates across files resolve the same
    way; malformed lines are listed by file then line, under the same cap.
    """
    report = CollectReport()
    by_file: dict[int, list[PartitionResult]] = {}
    for result in results:
        by_file.setdefault(result.file_index, []).append(result)
    ordered: list[Iterable[tuple[int, int, Post]]] = []
    for file_index in sorted(by_file):
        parts = by_file[file_index]
        for part in parts:
            report.read += part.report.read
            report.out_of_scope.update(part.report.out_of_scope)
            ordered.append([(file_index, line_no, post) for line_no, post in part.posts])
        bad = heapq.merge(*(p.report.malformed for p in parts), key=lambda m: m[1])
        for name, line_no, error in bad:
            report.add_malformed(name, line_no, error)
        # lines past the per-partition cap are counted, not listed
        report.malformed_total += sum(p.report.malformed_total - len(p.report.malformed) for p in parts)
    merged = heapq.merge(*ordered, key=lambda item: (item[0], item[1]))
    store_posts(ctx, (post for _f, _n, post in merged), report)
    return report


def collect_dumps(ctx: StageContext, dump_specs: list[str] | None = None) -> CollectReport:
    """Read every configured dump into the store. Re-running stores nothing new."""
    report = CollectReport()
    salt = author_salt(ctx.workspace, ctx.config.collect.author_salt_env)
    for spec in dump_specs if dump_specs is not None else ctx.config.collect.dumps:
        store_posts(ctx, posts_from_dump(ctx, resolve_dump(spec), report, salt), report)
    return report


# --- Reddit listings and search ------------------------------------------------------------


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
        except (KeyError, ValueError, TypeError) as exc:
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


# --- the authors' index ---------------------------------------------------------------------


@dataclass
class IndexReport(CollectReport):
    """A rehydration of the authors' index: what was fetched, what Reddit no longer has."""

    rows: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    already_stored: int = 0
    relabelled: int = 0
    requested: int = 0
    info_requests: int = 0
    deleted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    fetch: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {
            **super().as_dict(), "rows": self.rows, "problems": self.problems,
            "already_stored": self.already_stored, "relabelled": self.relabelled,
            "requested": self.requested, "info_requests": self.info_requests,
            "deleted": self.deleted, "removed": self.removed, "not_found": self.not_found,
            "fetch": self.fetch,
        }


def _labelled(post: Post, row: IndexRow) -> Post:
    return post.model_copy(update={"title": row.title or post.title, "domain_hint": row.domain})


def collect_index(
    ctx: StageContext, path: Path, connect: Callable[[], RedditSource], retry_missing: bool = False,
) -> IndexReport:
    """Fetch every post the index lists that the store lacks, 100 ids per request.

    Posts keep the index's title and domain label. Ids Reddit no longer returns are
    recorded as collect drops and not asked for again unless ``retry_missing``. ``connect``
    is called only if something needs fetching, so a finished index needs no credentials.
    """
    report = IndexReport()
    rows: dict[str, IndexRow] = {}
    for item in read_index(path):
        if isinstance(item, IndexProblem):
            report.problems.append({"line": item.line_no, "error": item.error})
        else:
            rows[item.post_id] = item
    report.rows = len(rows) + len(report.problems)
    stored = ctx.store.ids(Post)
    missing_before = {d.item_id for d in ctx.store.all(Drop) if d.stage == STAGE and d.reason == NOT_FOUND}
    relabel: list[Post] = []
    pending: list[str] = []
    for post_id, row in rows.items():
        if post_id in stored:
            report.already_stored += 1
            post = ctx.store.get(Post, post_id)
            if post is not None and _labelled(post, row) != post:
                relabel.append(_labelled(post, row))
        elif post_id not in missing_before or retry_missing:
            pending.append(post_id)
    report.relabelled = ctx.store.put(relabel)
    report.requested = len(pending)
    if pending:
        source = connect()
        salt = author_salt(ctx.workspace, ctx.config.collect.author_salt_env)
        for asked, found in source.info(pending):
            report.info_requests += 1
            now = int(time.time())
            got: list[Post] = []
            for data in found:
                try:
                    post = post_from_submission(data, f"index:{path.name}", salt, now)
                except (KeyError, ValueError, TypeError) as exc:
                    detail = f"bad submission {data.get('id')!r}: {exc!r}"
                    report.add_malformed(f"index:{path.name}", 0, detail)
                    continue
                if post.id in rows:
                    got.append(_labelled(post, rows[post.id]))
            report.read += len(found)
            store_posts(ctx, got, report)
            returned = {p.id for p in got}
            lost = [pid for pid in asked if pid not in returned]
            ctx.store.put([drop_record(STAGE, pid, NOT_FOUND, f"not returned by /api/info; {path.name} line "
                                       f"{rows[pid].line_no}") for pid in lost])
            ctx.store.delete(Drop, [content_id("drop", STAGE, pid) for pid in returned & missing_before])
        report.fetch = source.stats.as_dict()
    _list_gone(ctx, rows, report)
    return report


def _list_gone(ctx: StageContext, rows: dict[str, IndexRow], report: IndexReport) -> None:
    """Which of the index's posts Reddit now shows deleted or removed, or does not return."""
    missing = {d.item_id for d in ctx.store.all(Drop) if d.stage == STAGE and d.reason == NOT_FOUND}
    for post_id in rows:
        post = ctx.store.get(Post, post_id)
        if post is None:
            if post_id in missing:
                report.not_found.append(post_id)
        elif post.deleted:
            report.deleted.append(post_id)
        elif post.removed:
            report.removed.append(post_id)
