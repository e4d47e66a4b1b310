"""Stream Reddit submission dumps (.zst NDJSON, .jsonl, .jsonl.gz) in constant memory.

Pushshift/Arctic-Shift dumps are zstd frames compressed with long windows (up to 2**31),
so the decompressor is opened with that window limit. Lines are read as bytes one at a
time; a malformed line (bad JSON, not an object, truncated tail, corrupt compressed data)
is reported with its number and never stops the read.

Filters (subreddit, date range) are applied right after a line is parsed, before any record
is built, and a read can be restricted to one *partition* of the file: lines are grouped in
blocks of ``BLOCK_LINES`` and partition ``k`` of ``n`` parses only blocks ``k, k+n, ...``.
Every partition still decompresses the whole stream (a zstd stream cannot be entered in the
middle), but parsing, the expensive part, is split without knowing the file's length.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any

import orjson  # a dependency of Prefect; parses dump lines several times faster than json
import zstandard

BUILTIN_DEMO = "builtin:demo"
MAX_ZSTD_WINDOW = 2**31
READ_SIZE = 1 << 20
BLOCK_LINES = 10_000
ZSTD_INPUT = 1 << 17  # compressed bytes per step: bounds the text decoded at once


@dataclass(frozen=True)
class DumpLine:
    """One parsed line, or the reason it could not be parsed."""

    line_no: int
    data: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True)
class Partition:
    """Partition ``index`` of ``count`` of a file, in blocks of ``block_lines`` lines."""

    index: int = 0
    count: int = 1
    block_lines: int = BLOCK_LINES

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count or self.block_lines < 1:
            raise ValueError(f"invalid partition {self.index} of {self.count} (block {self.block_lines})")

    def owns(self, line_no: int) -> bool:
        """True if this partition parses the given (1-based) line."""
        return self.count == 1 or ((line_no - 1) // self.block_lines) % self.count == self.index


WHOLE_FILE = Partition()


def resolve_dump(spec: str) -> Path:
    """A dump path from config; ``builtin:demo`` is the corpus bundled with valact."""
    if spec == BUILTIN_DEMO:
        return Path(str(resources.files("pipeline") / "demo" / "RS_valact_demo.ndjson.zst"))
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"dump file not found: {path}")
    return path


class TruncatedStreamError(Exception):
    """The compressed stream ended inside a frame: the file was cut short."""


def _zstd_chunks(raw: IO[bytes]) -> Iterator[bytes]:
    """Decompressed bytes of every frame in turn; raises if the last frame never ends.

    ``ZstdDecompressor.stream_reader`` treats a cut-off file as a clean end, silently
    losing the tail; a decompression object reports whether its frame was complete.
    """
    dctx = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW)
    obj = dctx.decompressobj(write_size=READ_SIZE)
    fed = False
    while chunk := raw.read(ZSTD_INPUT):
        while chunk:
            fed = True
            out = obj.decompress(chunk)
            if out:
                yield out
            if obj.eof:
                chunk, obj, fed = obj.unused_data, dctx.decompressobj(write_size=READ_SIZE), False
            else:
                chunk = b""
    if fed and not obj.eof:
        raise TruncatedStreamError("zstd frame incomplete (file cut short)")


def _split_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    tail = b""
    for chunk in chunks:
        parts = (tail + chunk).split(b"\n")
        tail = parts.pop()
        yield from parts
    if tail:
        yield tail


def _lines(path: Path) -> Iterator[bytes]:
    """Raw lines of a dump, decompressed by suffix, in constant memory."""
    with path.open("rb") as raw:
        if path.suffix == ".zst":
            yield from _split_lines(_zstd_chunks(raw))
        elif path.suffix == ".gz":
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield from unzipped
        else:
            yield from raw


def _parse(line_no: int, raw: bytes) -> DumpLine:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = str(exc).split("\n", 1)[0]
        return DumpLine(line_no, None, f"invalid JSON: {message}")
    if not isinstance(data, dict):
        return DumpLine(line_no, None, "not a JSON object")
    return DumpLine(line_no, data)


def read_dump(path: Path, partition: Partition = WHOLE_FILE) -> Iterator[DumpLine]:
    """Yield every non-blank line of a dump (of this partition), parsed.

    Malformed lines carry their error. A compressed stream that ends early or is corrupt
    yields one final error line instead of raising, so everything before it is kept.
    """
    line_no = 0
    try:
        for line_no, line in enumerate(_lines(path), start=1):
            if not partition.owns(line_no):
                continue
            stripped = line.strip()
            if stripped:
                yield _parse(line_no, stripped)
    except (TruncatedStreamError, zstandard.ZstdError, EOFError, OSError) as exc:
        if partition.owns(line_no + 1):
            yield DumpLine(line_no + 1, None, f"compressed stream unreadable after this point: {exc}")
