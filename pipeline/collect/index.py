"""The authors' index CSV into the store: its posts fetched by id, its domain labels kept.

Ids Reddit no longer returns are recorded as collect drops, so a finished index needs no
credentials and no requests on the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.collect.posts import BAD_SUBMISSION, STAGE, CollectReport, post_from_submission, store_posts
from pipeline.context import StageContext
from pipeline.hashing import content_id
from pipeline.privacy import author_salt
from pipeline.sources.reddit_api import RedditSource
from pipeline.sources.valact_index import IndexProblem, IndexRow, read_index
from pipeline.stage import drop_record
from schemas.records import Drop, Post

NOT_FOUND = "index_post_not_found"


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
                except BAD_SUBMISSION as exc:
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
