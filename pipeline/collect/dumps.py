"""Dump files into the store: in this process, or part by part on workers with an ordered merge.

Reading is kept close to a plain loop (decompress, split, ``orjson.loads``): the scope is
checked on the parsed dict, and a Post is built only for a line that is kept. A dump is
read in parts (``pipeline.sources.dump``): a whole file, or runs of its zstd frames.

In one process every part is read in file order straight into the store, a batch at a time.
On workers, each part's posts go to a shard file as they are read (``shards``); the driver
takes the parts in file order, joins the lines that cross part edges, shifts line numbers
and replays each shard into the store. Both ways hand the store the same posts in the same
order and report the same lines with the same numbers, so they store exactly the same.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from pipeline.collect.posts import (
    BAD_SUBMISSION,
    STORE_BATCH,
    SUBMISSION_VALUES,
    CollectReport,
    PostRow,
    removal_flags,
    store_post_rows,
    store_posts,
    submission_fields,
    submission_url,
    trusted_post,
)
from pipeline.collect.shards import ShardWriter, read_shard
from pipeline.privacy import AuthorHasher, author_salt
from pipeline.sources.dump import DumpPart, PartLines, Span, parse_line, resolve_dump, whole_file
from pipeline.sources.scope import Scope
from schemas.records import Post

if TYPE_CHECKING:  # a Dask worker imports this module: keep the LLM layer behind the context out
    from pipeline.context import StageContext

SHARD_FOLDER = ".collect-shards"
SUBREDDIT_NOT_CONFIGURED = "subreddit_not_configured"
OUTSIDE_DATE_RANGE = "outside_date_range"


@dataclass(frozen=True)
class DumpScan:
    """How lines of one dump become posts: the scope, the author salt and the retrieval time.

    A plain value, so a worker can be handed it along with its part.
    """

    scope: Scope
    salt: str
    retrieved_at: int
    authors: AuthorHasher = field(init=False, repr=False, compare=False)  # the salt's, for every read

    def __post_init__(self) -> None:
        object.__setattr__(self, "authors", AuthorHasher(self.salt))

    def scan(self, block: list[bytes], line_no: int, name: str, report: CollectReport) -> list[Post]:
        """Like ``scan_span`` on separate lines (a line joined across a part edge)."""
        text = b"".join(line + b"\n" for line in block)
        return self.scan_span(Span(text, 0, len(text)), line_no, name, report)[0]

    def scan_span(self, span: Span, line_no: int, name: str, report: CollectReport) -> tuple[list[Post], int]:
        """The kept posts of a span's lines, numbered from ``line_no + 1``, and the last line's
        number; the rest go in ``report``.

        The loop is the hot path of a dump read, so it does per line only what a plain loop
        does (find the newline, ``orjson.loads`` the line in place) plus the scope check on
        the dict; a Post is built only for a kept line. Blank lines are numbered, not read.
        """
        loads, bad_json = orjson.loads, orjson.JSONDecodeError
        subreddits, start, end = self.scope.subreddits, self.scope.start_ts, self.scope.end_ts
        source, salt, now, authors = f"dump:{name}", self.salt, self.retrieved_at, self.authors
        pick = SUBMISSION_VALUES
        text, i, stop = span
        find, view = text.find, memoryview(text)
        kept: list[Post] = []
        first, blank, wrong_sub, wrong_date = line_no, 0, 0, 0
        while i < stop:
            j = find(b"\n", i, stop)
            line_no += 1
            try:
                data = loads(view[i:j])
            except bad_json:
                stripped = text[i:j].strip()
                if not stripped:
                    blank += 1
                    i = j + 1
                    continue
                parsed = parse_line(line_no, stripped)
                if parsed.data is None:
                    report.add_malformed(name, line_no, parsed.error or "malformed")
                    i = j + 1
                    continue
                data = parsed.data
            i = j + 1
            if type(data) is not dict:
                report.add_malformed(name, line_no, "not a JSON object")
                continue
            try:
                subreddit = data["subreddit"]
                if type(subreddit) is not str:
                    subreddit = str(subreddit)
                created = data["created_utc"]
                if type(created) is not int:
                    created = int(float(created))
                if subreddits is not None and subreddit.lower() not in subreddits:
                    wrong_sub += 1
                    continue
                if not start <= created <= end:
                    wrong_date += 1
                    continue
                # The kept line's Post, built in place: what trusted_post(submission_fields(...))
                # builds, for a line whose values have their fields' types already (as every real
                # dump line's have); any other line goes that way, with its conversions and errors.
                try:
                    post_id, title, selftext, score, num_comments, over_18, permalink, author = pick(data)
                except KeyError:
                    post_id = None
                if not (type(post_id) is str and type(title) is str and type(selftext) is str
                        and type(score) is int and type(num_comments) is int and type(over_18) is bool
                        and type(permalink) is str):
                    kept.append(trusted_post(submission_fields(data, source, salt, now, authors)))
                    continue
                removed, deleted = removal_flags(data, selftext)
                author_hash = authors(author)  # the one value here that can raise
                kept.append(trusted_post({
                    "id": post_id.removeprefix("t3_"), "subreddit": subreddit, "created_utc": created,
                    "title": title, "selftext": selftext, "score": score, "num_comments": num_comments,
                    "over_18": over_18, "permalink": permalink, "url": submission_url(permalink, data),
                    "author_hash": author_hash, "removed": removed, "deleted": deleted, "source": source,
                    "retrieved_at": now,
                }))
            except BAD_SUBMISSION as exc:
                report.add_malformed(name, line_no, f"bad submission: {exc!r}")
        view.release()
        report.read += line_no - first - blank
        if wrong_sub:
            report.out_of_scope[SUBREDDIT_NOT_CONFIGURED] += wrong_sub
        if wrong_date:
            report.out_of_scope[OUTSIDE_DATE_RANGE] += wrong_date
        return kept, line_no


@dataclass
class PartResult:
    """What reading one part found: its own report (lines numbered from its first full line),
    its edges, and where its posts are when a worker read it."""

    part: DumpPart
    report: CollectReport
    lines: int
    head: bytes | None
    tail: bytes
    error: str | None
    shard: str | None = None
    posts: int = 0
    cpu_seconds: float = 0.0  # CPU time of the reading and decompressing threads: the part's cost
    finished_at: float = 0.0  # epoch seconds (the reader's clock) when the part was read


def read_part(part: DumpPart, scan: DumpScan, sink: Callable[[list[Post]], None],
              prefetch: bool = True) -> PartResult:
    """Read one part, handing its kept posts to ``sink`` a block at a time (``prefetch``: see
    ``PartLines``)."""
    cpu = time.thread_time()
    lines = PartLines(part, prefetch)
    report = CollectReport()
    line_no = posts = 0
    for span in lines.spans():
        kept, line_no = scan.scan_span(span, line_no, part.name, report)
        if kept:
            posts += len(kept)
            sink(kept)
    return PartResult(part, report, line_no, lines.head, lines.tail, lines.error, posts=posts,
                      cpu_seconds=time.thread_time() - cpu + lines.decompress_cpu_seconds,
                      finished_at=time.time())


def read_part_to_shard(part: DumpPart, scan: DumpScan, shard_dir: str, prefetch: bool = True) -> PartResult:
    """Read one part into its own shard file: needs no store, so it runs on any worker."""
    path = Path(shard_dir) / f"{part.file_index:05d}-{part.part_index:05d}.sqlite"
    writer = ShardWriter(path)
    try:
        result = read_part(part, scan, writer.add, prefetch)
    finally:
        writer.close()
    result.shard = str(path)
    return result


@dataclass
class _FileState:
    lines: int = 0
    carry: bytes = b""
    stopped: bool = False


@dataclass
class DumpMerger:
    """Stores part results in file order, as one sequential read of every file would.

    Give it each file's parts in order (files in order too). A line that crosses a part edge
    is joined and read here; line numbers are shifted by the lines of earlier parts; after a
    part whose stream broke, the file's later parts are skipped, as a sequential read stops.
    """

    ctx: StageContext
    scan: DumpScan
    report: CollectReport = field(default_factory=CollectReport)
    _file: _FileState = field(default_factory=_FileState)

    def add(self, result: PartResult, body: Iterable[PostRow] = ()) -> bool:
        """Merge one part; ``body`` yields its posts unless they are stored already. False if skipped."""
        part, state = result.part, self._file
        if part.first:
            state = self._file = _FileState()
        if state.stopped:
            return False
        if not part.first and result.head is not None:
            self._line(part, state, state.carry + result.head)
            state.carry = b""
        store_post_rows(self.ctx, body, self.report)
        self.report.add_read(result.report, state.lines)
        state.lines += result.lines
        if result.error is not None:  # counted as a line read, as a sequential read always did
            self.report.read += 1
            self.report.add_malformed(part.name, state.lines + 1, result.error)
            state.stopped = True
            return True
        state.carry = state.carry + result.tail if result.head is None and not part.first else result.tail
        if part.last and state.carry:
            self._line(part, state, state.carry)
        return True

    def _line(self, part: DumpPart, state: _FileState, raw: bytes) -> None:
        kept = self.scan.scan([raw], state.lines, part.name, self.report)
        state.lines += 1
        store_posts(self.ctx, kept, self.report)


class _BatchedStore:
    """Posts into the store ``STORE_BATCH`` at a time, as they are read."""

    def __init__(self, ctx: StageContext, report: CollectReport) -> None:
        self.ctx, self.report = ctx, report
        self.pending: list[Post] = []

    def add(self, posts: list[Post]) -> None:
        self.pending.extend(posts)
        if len(self.pending) >= STORE_BATCH:
            self.flush()

    def flush(self) -> None:
        store_posts(self.ctx, self.pending, self.report)
        self.pending = []


def dump_scan(ctx: StageContext, retrieved_at: int | None = None) -> DumpScan:
    """The project's scope and author salt, and the time this read happens."""
    salt = author_salt(ctx.workspace, ctx.config.collect.author_salt_env)
    now = retrieved_at if retrieved_at is not None else int(time.time())
    return DumpScan(Scope.from_config(ctx.config), salt, now)


def dump_paths(ctx: StageContext, dump_specs: list[str] | None = None) -> list[Path]:
    """The dump files to read: ``dump_specs`` or the configured ones, resolved."""
    specs = dump_specs if dump_specs is not None else ctx.config.collect.dumps
    return [resolve_dump(spec) for spec in specs]


def collect_dumps(ctx: StageContext, dump_specs: list[str] | None = None) -> CollectReport:
    """Read every configured dump into the store in this process. Re-running stores nothing new."""
    merger = DumpMerger(ctx, dump_scan(ctx))
    for file_index, path in enumerate(dump_paths(ctx, dump_specs)):
        store = _BatchedStore(ctx, merger.report)
        result = read_part(whole_file(path, file_index), merger.scan, store.add)
        store.flush()
        merger.add(result)
    return merger.report


def shard_folder(ctx: StageContext) -> Path:
    """A fresh folder for this run's shards, under the workspace."""
    return ctx.workspace / SHARD_FOLDER / ctx.run_id


def merge_shards(merger: DumpMerger, results: Iterable[PartResult]) -> CollectReport:
    """Store worker results (taken in part order) through ``merger``; each shard is deleted once stored."""
    for result in results:
        shard = Path(result.shard) if result.shard else None
        try:
            merger.add(result, read_shard(shard) if shard is not None and result.posts else ())
        finally:
            if shard is not None:
                shard.unlink(missing_ok=True)
    return merger.report


def remove_shards(folder: Path) -> None:
    """Remove a run's shard folder (whatever a failed run left behind in it)."""
    shutil.rmtree(folder, ignore_errors=True)

