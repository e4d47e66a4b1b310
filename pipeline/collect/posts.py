"""Submissions into Posts, and Posts into the store with their history.

Every source maps submissions with ``post_from_submission`` (the author is hashed there, so
a raw name never leaves this module) and writes through ``store_posts``, which upserts in
batches, keeps earlier content as ``PostRevision`` history when a post was edited, deleted or
removed, and leaves unchanged posts untouched. Running any collect again stores nothing new.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson  # a dependency of Prefect; parses stored post text without validating it again
from pydantic import BaseModel

from pipeline.hashing import content_id
from pipeline.privacy import hash_author
from pipeline.sources.scope import Scope
from pipeline.store import put_json
from schemas.collect import TRACKED_FIELDS, PostRevision
from schemas.config import ProjectConfig
from schemas.records import Post

if TYPE_CHECKING:  # the LLM layer behind it is not needed (nor imported) on a Dask worker
    from pipeline.context import StageContext

STAGE = "collect"
REMOVED_MARKERS = {"[removed]", "[removed by reddit]"}
DELETED_MARKERS = {"[deleted]"}
DELETED_CATEGORIES = {"deleted", "author"}
LONGEST_MARKER = max(map(len, REMOVED_MARKERS | DELETED_MARKERS))
MAX_MALFORMED_REPORTED = 1000
STORE_BATCH = 500
# What a malformed submission raises while it is mapped (pydantic's ValidationError is a ValueError).
BAD_SUBMISSION = (KeyError, ValueError, TypeError)


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

    def add_read(self, other: CollectReport, line_offset: int = 0) -> None:
        """Add what another report read (e.g. one part of a dump), its line numbers shifted.

        Lines past ``other``'s own cap are counted, not listed, exactly as if they had been
        reported here one by one.
        """
        self.read += other.read
        self.out_of_scope.update(other.out_of_scope)
        for file, line_no, error in other.malformed:
            self.add_malformed(file, line_no + line_offset, error)
        self.malformed_total += other.malformed_total - len(other.malformed)

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


def removal_flags(data: dict[str, Any], selftext: str) -> tuple[bool, bool]:
    """(removed, deleted) from the text markers and Reddit's ``removed_by_category``: the one
    reading of Reddit's deletion signs, for collected posts and rehydrated releases alike."""
    category = str(data.get("removed_by_category") or "")
    marker = selftext.strip()
    if len(marker) > LONGEST_MARKER:  # a body, not a marker: spares hashing all of it to ask the sets
        deleted = category in DELETED_CATEGORIES
        return not deleted and bool(category), deleted
    deleted = marker in DELETED_MARKERS or category in DELETED_CATEGORIES
    removed = not deleted and (marker in REMOVED_MARKERS or bool(category))
    return removed, deleted


def submission_url(permalink: str, data: dict[str, Any]) -> str:
    """The post's Reddit URL from its permalink; the submission's own ``url`` without one."""
    return f"https://www.reddit.com{permalink}" if permalink.startswith("/") else str(data.get("url") or "")


def submission_fields(
    data: dict[str, Any], source: str, salt: str, retrieved_at: int,
    authors: Callable[[Any], str | None] | None = None,
) -> dict[str, Any]:
    """A Reddit submission (API or dump) as Post fields, each converted to its field's type.

    The author is hashed here (by ``authors``, an ``AuthorHasher`` of ``salt``, when given),
    so a raw name never leaves this module. A malformed submission raises one of
    ``BAD_SUBMISSION``. Values that already have their field's type are taken as they are
    (a dump read maps every kept post: the conversions were a quarter of its cost); the
    values, and the first error a malformed submission raises, are those of converting each.
    """
    get = data.get
    selftext = get("selftext") or ""
    if type(selftext) is not str:
        selftext = str(selftext)
    permalink = get("permalink") or ""
    if type(permalink) is not str:
        permalink = str(permalink)
    removed, deleted = removal_flags(data, selftext)
    post_id = data["id"]
    subreddit = data["subreddit"]
    created = data["created_utc"]
    title = get("title") or ""
    score = get("score") or 0
    num_comments = get("num_comments") or 0
    over_18 = get("over_18", False)
    return {
        "id": (post_id if type(post_id) is str else str(post_id)).removeprefix("t3_"),
        "subreddit": subreddit if type(subreddit) is str else str(subreddit),
        "created_utc": created if type(created) is int else int(float(created)),
        "title": title if type(title) is str else str(title),
        "selftext": selftext,
        "score": score if type(score) is int else int(score),
        "num_comments": num_comments if type(num_comments) is int else int(num_comments),
        "over_18": over_18 if type(over_18) is bool else bool(over_18),
        "permalink": permalink,
        "url": submission_url(permalink, data),
        "author_hash": hash_author(get("author"), salt) if authors is None else authors(get("author")),
        "removed": removed,
        "deleted": deleted,
        "source": source,
        "retrieved_at": retrieved_at,
    }


def post_from_submission(data: dict[str, Any], source: str, salt: str, retrieved_at: int) -> Post:
    """Map a Reddit submission object (API or dump) to a Post, validated."""
    return Post(**submission_fields(data, source, salt, retrieved_at))


_new = object.__new__
# A Post's four slots, set directly (what ``object.__setattr__`` finds by name, per call).
_SLOTS = BaseModel.__dict__
_SET_DICT: Callable[[Post, dict[str, Any]], None] = _SLOTS["__dict__"].__set__
_SET_FIELDS_SET: Callable[[Post, set[str]], None] = _SLOTS["__pydantic_fields_set__"].__set__
_SET_EXTRA: Callable[[Post, None], None] = _SLOTS["__pydantic_extra__"].__set__
_SET_PRIVATE: Callable[[Post, None], None] = _SLOTS["__pydantic_private__"].__set__
SUBMISSION_KEYS = {
    "id", "subreddit", "created_utc", "title", "selftext", "score", "num_comments", "over_18",
    "permalink", "url", "author_hash", "removed", "deleted", "source", "retrieved_at",
}
"""The fields ``submission_fields`` gives: a trusted post's fields-set (copied for each post)."""
SUBMISSION_VALUES = itemgetter(
    "id", "title", "selftext", "score", "num_comments", "over_18", "permalink", "author")
"""The raw values a dump line's Post is made of, fetched in one call (KeyError if one is missing)."""


def trusted_post(fields: dict[str, Any]) -> Post:
    """The Post of ``submission_fields`` output, built without validating the values again.

    Why: every value there is already converted to exactly its field's type, so validation
    can neither fail nor change anything, and at dump scale (millions of kept posts) it cost
    a fifth of the read. This sets what ``Post(**fields)`` sets (the same fields, fields-set,
    no extras) in a quarter of the time; the unit tests check the two are equal. The post
    takes ``fields`` as its own ``__dict__`` (no copy): pass a dict nothing else holds.
    """
    fields["domain_hint"] = None
    return _unvalidated_post(fields, SUBMISSION_KEYS.copy())


def stored_post(text: str | bytes) -> Post:
    """A Post from its ``model_dump_json`` text, as a worker wrote it to a shard, not validated again.

    Why: the driver of a Dask collect reads back every kept post, and validating ~3 KB of
    text per post cost it as much CPU as storing it; the text was produced from a Post by
    valact a moment before, so parsing it restores exactly that Post. The result equals
    ``Post.model_validate_json(text)`` (fields-set included); the unit tests check it.
    Not for text from anywhere else.
    """
    fields = orjson.loads(text)
    return _unvalidated_post(fields, set(fields))


def _unvalidated_post(fields: dict[str, Any], fields_set: set[str]) -> Post:
    """A Post holding ``fields`` as its own ``__dict__``: what validation would set, unchecked."""
    post: Post = _new(Post)
    _SET_FIELDS_SET(post, fields_set)
    _SET_DICT(post, fields)
    _SET_EXTRA(post, None)
    _SET_PRIVATE(post, None)
    return post


def in_scope(config: ProjectConfig, post: Post) -> str | None:
    """None if the post belongs in this project, else the reason it does not."""
    return Scope.from_config(config).reason(post.subreddit, post.created_utc)


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


PostRow = tuple[str, str, "Post | None"]
"""A post on its way to the store: its id, its ``model_dump_json`` text and, when at hand, the Post."""


def store_posts(
    ctx: StageContext, posts: Iterable[Post], report: CollectReport, batch: int = STORE_BATCH
) -> None:
    """Upsert posts in batches; unchanged posts keep their first retrieval, edits keep history.

    The outcome does not depend on where batches split: a post is compared with the latest
    version seen, whether that is in the store or earlier in the same batch.
    """
    store_post_rows(ctx, ((post.id, post.model_dump_json(), post) for post in posts), report, batch)


def store_post_rows(
    ctx: StageContext, rows: Iterable[PostRow], report: CollectReport, batch: int = STORE_BATCH
) -> None:
    """``store_posts`` for posts given as rows, e.g. a worker's shard read back by the driver.

    Why rows: at dump scale nearly every post is new to the store, and a new post needs
    nothing but its id and its text, so it is written as it came, neither parsed nor
    serialised again (that was most of a Dask driver's CPU). Only a post the store already
    holds, or one repeated within the batch, is read as a Post to compare the two.
    """
    pending: list[PostRow] = []

    def flush() -> None:
        known = ctx.store.get_many(Post, {row[0] for row in pending})  # one query per batch
        first_seen: dict[str, str] = {}  # new to the store, first met in this batch: id -> text
        fresh: list[tuple[str, str]] = []
        history: list[PostRevision] = []
        for post_id, text, post in pending:
            if post_id not in known and post_id not in first_seen:
                first_seen[post_id] = text
                fresh.append((post_id, text))
                continue
            old = known[post_id] if post_id in known else stored_post(first_seen.pop(post_id))
            read = post if post is not None else stored_post(text)
            new = _carry_labels(old, read)
            if _same_content(new, old):
                report.unchanged += 1
                known[post_id] = old
                continue
            revision = revision_of(old, new)
            if revision is not None:
                history.append(revision)
            known[post_id] = new
            fresh.append((post_id, text if new is read else new.model_dump_json()))
        report.revisions += ctx.store.put(history)
        report.stored_new_or_changed += put_json(ctx.store, Post, fresh)
        pending.clear()

    for row in rows:
        pending.append(row)
        if len(pending) >= batch:
            flush()
    flush()
