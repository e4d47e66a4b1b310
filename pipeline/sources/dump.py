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
import io
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


def _open_binary(path: Path) -> IO[bytes]:
    raw = path.open("rb")
    if path.suffix == ".zst":
        dctx = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW)
        reader = dctx.stream_reader(raw, read_size=READ_SIZE, closefd=True)
        return io.BufferedReader(reader, buffer_size=READ_SIZE)  # type: ignore[arg-type]
    if path.suffix == ".gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


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
    with _open_binary(path) as binary:
        try:
            for line_no, line in enumerate(binary, start=1):
                if not partition.owns(line_no):
                    continue
                stripped = line.strip()
                if stripped:
                    yield _parse(line_no, stripped)
        except (zstandard.ZstdError, EOFError, OSError) as exc:
            if partition.owns(line_no + 1):
                yield DumpLine(line_no + 1, None, f"compressed stream unreadable after this point: {exc}")
