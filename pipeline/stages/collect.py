"""Stage 1, collect: posts from dump files into the store, filtered to the configured scope."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time as dtime
from pathlib import Path
from typing import Any

from pipeline.context import StageContext
from pipeline.privacy import author_salt, hash_author
from pipeline.sources.dump import read_dump, resolve_dump
from schemas.config import ProjectConfig
from schemas.records import Post

REMOVED_MARKERS = {"[removed]", "[removed by reddit]"}
DELETED_MARKERS = {"[deleted]"}
MAX_MALFORMED_REPORTED = 1000


@dataclass
class CollectReport:
    """What one collect run did, per source file."""

    read: int = 0
    stored_new_or_changed: int = 0
    unchanged: int = 0
    out_of_scope: Counter[str] = field(default_factory=Counter)
    malformed: list[tuple[str, int, str]] = field(default_factory=list)
    malformed_total: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {
            "read": self.read,
            "stored_new_or_changed": self.stored_new_or_changed,
            "unchanged": self.unchanged,
            "out_of_scope": dict(self.out_of_scope),
            "malformed_total": self.malformed_total,
            "malformed": [{"file": f, "line": n, "error": e} for f, n, e in self.malformed],
        }


def post_from_submission(data: dict[str, Any], source: str, salt: str, retrieved_at: int) -> Post:
    """Map a Reddit submission object (API or dump) to a Post; the author is hashed here."""
    selftext = str(data.get("selftext") or "")
    post_id = str(data["id"]).removeprefix("t3_")
    permalink = str(data.get("permalink") or "")
    return Post(
        id=post_id,
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
        removed=selftext.strip() in REMOVED_MARKERS or bool(data.get("removed_by_category")),
        deleted=selftext.strip() in DELETED_MARKERS,
        source=source,
        retrieved_at=retrieved_at,
    )


def in_scope(config: ProjectConfig, post: Post) -> str | None:
    """None if the post belongs in this project, else the reason it does not."""
    if config.domain_of(post.subreddit) is None:
        return "subreddit_not_configured"
    start = datetime.combine(config.collect.start_date, dtime.min, tzinfo=UTC).timestamp()
    end = datetime.combine(config.collect.end_date, dtime.max, tzinfo=UTC).timestamp()
    if not start <= post.created_utc <= end:
        return "outside_date_range"
    return None


def _same_content(a: Post, b: Post) -> bool:
    return a.model_dump(exclude={"retrieved_at"}) == b.model_dump(exclude={"retrieved_at"})


def store_posts(ctx: StageContext, posts: Iterable[Post], report: CollectReport, batch: int = 500) -> None:
    """Upsert posts in batches, keeping the first retrieval time of unchanged posts."""
    pending: list[Post] = []

    def flush() -> None:
        existing = {p.id: p for p in (ctx.store.get(Post, q.id) for q in pending) if p is not None}
        fresh = [p for p in pending if p.id not in existing or not _same_content(p, existing[p.id])]
        report.unchanged += len(pending) - len(fresh)
        report.stored_new_or_changed += ctx.store.put(fresh)
        pending.clear()

    for post in posts:
        pending.append(post)
        if len(pending) >= batch:
            flush()
    flush()


def posts_from_dump(
    ctx: StageContext, path: Path, report: CollectReport, salt: str
) -> Iterator[Post]:
    """In-scope posts of one dump; malformed and out-of-scope lines go into the report."""
    now = int(time.time())
    source = f"dump:{path.name}"
    for line in read_dump(path):
        report.read += 1
        if line.data is None:
            report.malformed_total += 1
            if len(report.malformed) < MAX_MALFORMED_REPORTED:
                report.malformed.append((path.name, line.line_no, line.error or "malformed"))
            continue
        try:
            post = post_from_submission(line.data, source, salt, now)
        except (KeyError, ValueError, TypeError) as exc:
            report.malformed_total += 1
            if len(report.malformed) < MAX_MALFORMED_REPORTED:
                report.malformed.append((path.name, line.line_no, f"bad submission: {exc!r}"))
            continue
        reason = in_scope(ctx.config, post)
        if reason:
            report.out_of_scope[reason] += 1
            continue
        yield post


def collect_dumps(ctx: StageContext, dump_specs: list[str] | None = None) -> CollectReport:
    """Read every configured dump into the store. Re-running stores nothing new."""
    report = CollectReport()
    salt = author_salt(ctx.workspace, ctx.config.collect.author_salt_env)
    for spec in dump_specs if dump_specs is not None else ctx.config.collect.dumps:
        store_posts(ctx, posts_from_dump(ctx, resolve_dump(spec), report, salt), report)
    return report
