"""Reddit submission dumps (.zst NDJSON, .jsonl, .jsonl.gz) as blocks of raw lines, in parts.

Pushshift/Arctic-Shift dumps are zstd frames compressed with long windows (up to 2**31),
so the decompressor is opened with that window limit. Decompressed text is handed on a
chunk at a time as spans of whole lines, not cut into line objects: the caller finds each
newline and parses the line in place, copying nothing; decompression runs a few chunks
ahead in a thread, so it overlaps the parsing. Together these read faster than a plain loop
(``BufferedReader`` lines + ``orjson``); parsing and filtering belong to the caller.

A file is read in *parts* that can go to different workers: the whole file, or, for a zstd
file of several frames, runs of whole frames. A part never starts inside a compressed frame,
so nothing is decompressed twice. Lines may still cross a frame boundary: a part other than a
file's first keeps the text before its first newline (``head``) and every part keeps the text
after its last newline (``tail``); the caller joins them in file order (``tail`` of one part +
``head`` of the next is one line). A cut-off or corrupt stream ends the part with ``error``
instead of raising, so everything read before it is kept.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson  # a dependency of Prefect; parses dump lines several times faster than json
import zstandard

from pipeline.sources.prefetch import Prefetched
from pipeline.sources.zstd_frames import zstd_frames

BUILTIN_DEMO = "builtin:demo"
MAX_ZSTD_WINDOW = 2**31
READ_SIZE = 1 << 20  # bytes per read of an uncompressed (or gzip) file
# Compressed bytes per decompression step, and the decoder's output buffer. Each step hands
# the GIL back to the decompressing thread, which waits for it up to the interpreter's switch
# interval (5 ms) while the reader parses: 128 KiB steps (~1 MB of text) left the thread
# waiting more than decompressing; 1 MiB steps (~8 MB of text) keep it ahead of the reader.
# The cost: a corrupt step loses its output, so a corrupt stream's last kept line can be up to
# one step before the damage.
ZSTD_INPUT = 1 << 20
WRITE_SIZE = 1 << 24  # one output buffer holds a whole step: no joining of pieces (a copy)
MIN_PART_BYTES = 64 << 20  # frames are grouped into parts of at least this many compressed bytes
STREAM_ERRORS = (zstandard.ZstdError, EOFError, OSError)


def resolve_dump(spec: str) -> Path:
    """A dump path from config; ``builtin:demo`` is the corpus bundled with valact."""
    if spec == BUILTIN_DEMO:
        return Path(str(resources.files("pipeline") / "demo" / "RS_valact_demo.ndjson.zst"))
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"dump file not found: {path}")
    return path


@dataclass(frozen=True)
class DumpPart:
    """Compressed bytes ``start``..``end`` (None = to the end) of the ``file_index``-th dump.

    A plain value (picklable, a few fields) so it can be sent to a worker, which reads the
    file from the same path.
    """

    path: str
    file_index: int
    part_index: int = 0
    start: int = 0
    end: int | None = None
    last: bool = True

    @property
    def first(self) -> bool:
        """The file's first part: its first line starts at its first byte."""
        return self.part_index == 0

    @property
    def name(self) -> str:
        """The dump's file name (used in post sources and malformed-line reports)."""
        return Path(self.path).name


def whole_file(path: Path, file_index: int = 0) -> DumpPart:
    """The whole file as one part."""
    return DumpPart(str(path), file_index)


def plan_parts(paths: list[Path], min_part_bytes: int = MIN_PART_BYTES) -> list[DumpPart]:
    """Every file's parts in file order: one per file, or runs of frames of a multi-frame zstd file.

    Frames are grouped so that each part holds at least ``min_part_bytes`` compressed bytes
    (a file written as many small frames does not become thousands of tiny tasks). A file
    whose frames cannot be walked (not zstd, cut short) is one part; its reader reports why.
    """
    parts: list[DumpPart] = []
    for file_index, path in enumerate(paths):
        frames = zstd_frames(path) if path.suffix == ".zst" else None
        if not frames or len(frames) < 2:
            parts.append(whole_file(path, file_index))
            continue
        runs: list[tuple[int, int]] = []
        for start, end in frames:
            if runs and runs[-1][1] - runs[-1][0] < min_part_bytes:
                runs[-1] = (runs[-1][0], end)
            else:
                runs.append((start, end))
        if len(runs) > 1 and runs[-1][1] - runs[-1][0] < min_part_bytes // 2:
            runs[-2:] = [(runs[-2][0], runs[-1][1])]  # no small straggler at the end
        parts.extend(
            DumpPart(str(path), file_index, k, start, end, last=k == len(runs) - 1)
            for k, (start, end) in enumerate(runs)
        )
    return parts


class TruncatedStreamError(Exception):
    """The compressed stream ended inside a frame: the file was cut short."""


def _raw_chunks(raw: IO[bytes] | gzip.GzipFile, start: int, end: int | None, size: int) -> Iterator[bytes]:
    if start:
        raw.seek(start)
    left = None if end is None else end - start
    while left is None or left > 0:
        chunk = raw.read(size if left is None else min(size, left))
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


def _zstd_chunks(compressed: Iterator[bytes]) -> Iterator[bytes]:
    """Decompressed bytes of every frame in turn; raises if the last frame never ends.

    ``ZstdDecompressor.stream_reader`` treats a cut-off file as a clean end, silently
    losing the tail; a decompression object reports whether its frame was complete.
    """
    dctx = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW)
    obj = dctx.decompressobj(write_size=WRITE_SIZE)
    fed = False
    for chunk in compressed:
        while chunk:
            fed = True
            out = obj.decompress(chunk)
            if out:
                yield out
            if obj.eof:
                chunk, obj, fed = obj.unused_data, dctx.decompressobj(write_size=WRITE_SIZE), False
            else:
                chunk = b""
    if fed and not obj.eof:
        raise TruncatedStreamError("zstd frame incomplete (file cut short)")


def text_chunks(part: DumpPart) -> Iterator[bytes]:
    """The decompressed bytes of one part, a chunk at a time, by the file's suffix."""
    path = Path(part.path)
    with path.open("rb") as raw:
        if path.suffix == ".zst":
            yield from _zstd_chunks(_raw_chunks(raw, part.start, part.end, ZSTD_INPUT))
        elif path.suffix == ".gz":
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield from _raw_chunks(unzipped, 0, None, READ_SIZE)
        else:
            yield from _raw_chunks(raw, part.start, part.end, READ_SIZE)


class Span(NamedTuple):
    """``text[start:end]``: whole lines, each ending with its newline, not yet cut apart.

    Why not a list of lines: copying every line out of the decompressed text (``split``)
    cost a fifth of a dump read; a reader that finds each newline and parses
    ``memoryview(text)[i:j]`` touches the text once and copies nothing.
    """

    text: bytes
    start: int
    end: int


class PartLines:
    """The complete lines of one part, as spans of decompressed text or as blocks of lines.

    Iterate it once, by ``spans()`` (the fast path) or plainly (blocks: lists of lines
    without their newline); afterwards ``head``, ``tail``, ``lines`` and ``error`` describe
    the edges. ``head`` is None for a file's first part, and also when the part held no
    newline at all (then all its text is in ``tail``). ``lines`` counts the lines of the
    blocks yielded (blank ones included), which is how line numbers continue into the next
    part; ``spans()`` leaves it to its caller, which walks every line anyway (counting the
    newlines again would cost a tenth of the read).

    With ``prefetch``, decompression runs a few chunks ahead in a thread (it releases the
    GIL, so it overlaps the caller's parsing instead of taking turns with it), and
    ``decompress_cpu_seconds`` is what that thread spent. Without it (a worker that already
    has a core per task) everything runs in the caller's thread.
    """

    def __init__(self, part: DumpPart, prefetch: bool = True) -> None:
        self.part = part
        self.prefetch = prefetch
        self.head: bytes | None = None
        self.tail = b""
        self.lines = 0
        self.error: str | None = None
        self.decompress_cpu_seconds = 0.0

    def spans(self) -> Iterator[Span]:
        """Every complete line in order, a decompressed chunk at a time.

        A line cut by a chunk edge comes as a span of its own (the one copy made); the
        rest of the chunk is yielded in place.
        """
        carry = b""
        need_head = not self.part.first
        ahead = Prefetched(lambda: text_chunks(self.part)) if self.prefetch else None
        try:
            for chunk in ahead if ahead is not None else text_chunks(self.part):
                first = chunk.find(b"\n")
                if first < 0:
                    carry += chunk
                    continue
                last = chunk.rfind(b"\n")
                start = first + 1
                if need_head:
                    self.head, need_head = carry + chunk[:first], False
                elif carry:
                    yield Span(carry + chunk[:start], 0, len(carry) + start)
                else:
                    start = 0
                if last >= start:
                    yield Span(chunk, start, last + 1)
                carry = chunk[last + 1:]
        except (TruncatedStreamError, *STREAM_ERRORS) as exc:
            self.error = f"compressed stream unreadable after this point: {exc}"
            return
        finally:
            self.decompress_cpu_seconds = ahead.cpu_seconds if ahead is not None else 0.0
        self.tail = carry

    def __iter__(self) -> Iterator[list[bytes]]:
        for span in self.spans():
            block = span_lines(span)
            self.lines += len(block)
            yield block


def span_lines(span: Span) -> list[bytes]:
    """The lines of a span, without their newlines."""
    return span.text[span.start:span.end - 1].split(b"\n")


@dataclass(frozen=True)
class DumpLine:
    """One parsed line, or the reason it could not be parsed."""

    line_no: int
    data: dict[str, Any] | None
    error: str | None = None


def parse_line(line_no: int, raw: bytes) -> DumpLine:
    """Parse one stripped, non-blank line into a JSON object, or say why it is not one."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = str(exc).split("\n", 1)[0]
        return DumpLine(line_no, None, f"invalid JSON: {message}")
    if not isinstance(data, dict):
        return DumpLine(line_no, None, "not a JSON object")
    return DumpLine(line_no, data)


def read_dump(path: Path) -> Iterator[DumpLine]:
    """Every non-blank line of a whole dump, parsed, one at a time (for inspection and tests).

    Malformed lines carry their error. A compressed stream that ends early or is corrupt
    yields one final error line instead of raising, so everything before it is kept.
    """
    lines = PartLines(whole_file(path))
    line_no = 0
    for block in lines:
        for raw in block:
            line_no += 1
            if stripped := raw.strip():
                yield parse_line(line_no, stripped)
    if lines.error is not None:
        yield DumpLine(line_no + 1, None, lines.error)
    elif stripped := lines.tail.strip():
        yield parse_line(line_no + 1, stripped)
