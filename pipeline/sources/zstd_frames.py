"""Where each zstd frame of a file starts and ends, found without decompressing anything.

A frame is a magic number, a header, a chain of blocks each announcing its own size, and
an optional checksum; skippable frames announce their length. Walking those headers costs
one small read per block (about one per 128 KiB), so a multi-frame dump can be split into
parts that start on frame boundaries. Anything unexpected (not zstd, a block past the end of
the file) returns None: the caller then reads the file as one part and its decoder says
what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import zstandard

ZSTD_MAGIC = 0xFD2FB528
SKIPPABLE_MAGIC_MIN, SKIPPABLE_MAGIC_MAX = 0x184D2A50, 0x184D2A5F
MAX_FRAME_HEADER = 18
RLE_BLOCK, RESERVED_BLOCK = 1, 3
CHECKSUM_BYTES = 4


def _frame_end(raw: IO[bytes], start: int, size: int) -> int | None:
    """Offset just past the frame (or skippable frame) at ``start``, or None if malformed."""
    raw.seek(start)
    header = raw.read(MAX_FRAME_HEADER)
    if len(header) < 8:
        return None
    magic = int.from_bytes(header[:4], "little")
    if SKIPPABLE_MAGIC_MIN <= magic <= SKIPPABLE_MAGIC_MAX:
        end = start + 8 + int.from_bytes(header[4:8], "little")
        return end if end <= size else None
    if magic != ZSTD_MAGIC:
        return None
    try:
        checksum = zstandard.get_frame_parameters(header).has_checksum
        pos = start + zstandard.frame_header_size(header)
    except zstandard.ZstdError:
        return None
    while True:
        raw.seek(pos)
        block = raw.read(3)
        if len(block) < 3:
            return None
        value = int.from_bytes(block, "little")
        kind, length = (value >> 1) & 3, value >> 3
        if kind == RESERVED_BLOCK:
            return None
        pos += 3 + (1 if kind == RLE_BLOCK else length)
        if value & 1:  # last block of the frame
            end = pos + (CHECKSUM_BYTES if checksum else 0)
            return end if end <= size else None


def zstd_frames(path: Path) -> list[tuple[int, int]] | None:
    """(start, end) byte offsets of every frame in file order, or None if the file is not well formed."""
    frames: list[tuple[int, int]] = []
    size = path.stat().st_size
    with path.open("rb") as raw:
        start = 0
        while start < size:
            end = _frame_end(raw, start, size)
            if end is None:
                return None
            frames.append((start, end))
            start = end
    return frames
