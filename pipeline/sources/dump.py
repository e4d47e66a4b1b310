"""Stream Reddit submission dumps (.zst NDJSON, .jsonl, .jsonl.gz) in constant memory.

Pushshift/Arctic-Shift dumps are zstd frames compressed with long windows (up to 2**31),
so the decompressor is opened with that window limit. Lines are decoded one at a time;
a malformed line is reported with its number and never stops the read.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any

import zstandard

BUILTIN_DEMO = "builtin:demo"
MAX_ZSTD_WINDOW = 2**31


@dataclass(frozen=True)
class DumpLine:
    """One parsed line, or the reason it could not be parsed."""

    line_no: int
    data: dict[str, Any] | None
    error: str | None = None


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
        return dctx.stream_reader(raw, read_size=1 << 20, closefd=True)  # type: ignore[return-value]
    if path.suffix == ".gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    return raw


def read_dump(path: Path) -> Iterator[DumpLine]:
    """Yield every non-blank line of a dump, parsed; malformed lines carry their error."""
    with _open_binary(path) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="\n")
        for line_no, line in enumerate(text, start=1):
            stripped = line.strip()
            if not stripped:
                continue
            try:
                data = json.loads(stripped)
            except json.JSONDecodeError as exc:
                yield DumpLine(line_no, None, f"invalid JSON: {exc.msg}")
                continue
            if not isinstance(data, dict):
                yield DumpLine(line_no, None, "not a JSON object")
                continue
            yield DumpLine(line_no, data)
