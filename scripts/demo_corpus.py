#!/usr/bin/env python3
"""Pack and unpack the bundled valact demo corpus.

The demo corpus (``pipeline/demo/RS_valact_demo.ndjson.zst``) is stored as
zstandard-compressed NDJSON, the same format as the Pushshift ``RS_*.zst``
dumps the pipeline normally consumes. This script converts between that file
and a plain JSONL file so the corpus can be edited by hand.

Usage::

    CORPUS=pipeline/demo/RS_valact_demo.ndjson.zst
    python scripts/demo_corpus.py unpack "$CORPUS" /tmp/demo.jsonl
    # ... edit /tmp/demo.jsonl ...
    python scripts/demo_corpus.py pack /tmp/demo.jsonl "$CORPUS"

``pack`` is deterministic: the same input bytes always produce the same output
bytes (single-threaded compression at level 19, content size recorded in the
frame header, no checksum or dictionary, no timestamps).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import zstandard

#: Compression level used for the committed corpus.
LEVEL = 19


def pack(src: Path, dest: Path) -> int:
    """Compress ``src`` (NDJSON/JSONL) into the zstd file ``dest``.

    The whole input is compressed as a single frame with the content size
    written to the header, so the output depends only on the input bytes.
    Returns the number of compressed bytes written.
    """
    data = src.read_bytes()
    compressor = zstandard.ZstdCompressor(
        level=LEVEL,
        write_content_size=True,
        write_checksum=False,
        write_dict_id=False,
        threads=0,
    )
    compressed = compressor.compress(data)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(compressed)
    return len(compressed)


def unpack(src: Path, dest: Path) -> int:
    """Decompress the zstd file ``src`` into the plain file ``dest``.

    Uses streaming decompression so frames without a recorded content size
    (e.g. produced by the ``zstd`` CLI from a pipe) also work. Returns the
    number of decompressed bytes written.
    """
    decompressor = zstandard.ZstdDecompressor()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with src.open("rb") as fin, dest.open("wb") as fout:
        _, written = decompressor.copy_stream(fin, fout)
    return int(written)


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser with ``pack`` and ``unpack`` subcommands."""
    parser = argparse.ArgumentParser(
        description="Pack/unpack the valact demo corpus (zstd-compressed NDJSON)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_pack = sub.add_parser("pack", help="compress a JSONL file to .ndjson.zst")
    p_pack.add_argument("src", type=Path, help="input JSONL file")
    p_pack.add_argument("dest", type=Path, help="output .ndjson.zst file")

    p_unpack = sub.add_parser("unpack", help="decompress a .ndjson.zst file to JSONL")
    p_unpack.add_argument("src", type=Path, help="input .ndjson.zst file")
    p_unpack.add_argument("dest", type=Path, help="output JSONL file")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns a process exit code."""
    args = build_parser().parse_args(argv)
    src: Path = args.src
    dest: Path = args.dest
    if not src.is_file():
        print(f"error: {src} does not exist or is not a file", file=sys.stderr)
        return 1
    if args.command == "pack":
        n = pack(src, dest)
        print(f"packed {src} -> {dest} ({n} bytes)")
    else:
        n = unpack(src, dest)
        print(f"unpacked {src} -> {dest} ({n} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
