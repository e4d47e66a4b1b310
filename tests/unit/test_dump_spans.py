"""The reader's fast path (lines parsed in place from spans of decompressed text) reads what
``read_dump`` reads: lines longer than several decompression steps, CRLF endings, blank and
whitespace-only lines, malformed lines with their numbers, a last line without a newline."""

from __future__ import annotations

from pathlib import Path

import pytest
import zstandard

from pipeline.collect.dumps import DumpScan, read_part
from pipeline.collect.posts import CollectReport
from pipeline.sources.dump import PartLines, plan_parts, read_dump, whole_file
from pipeline.sources.scope import Scope
from schemas.records import Post
from tests.support.dumps import lines, submission, write_dump, write_frames

EVERYTHING = Scope(None, 0, 2**40)


def _records() -> list[dict[str, object] | str]:
    records: list[dict[str, object] | str] = []
    for i in range(600):
        text = "long " * 800_000 if i in (5, 400) else f"body {i}"  # ~4 MB: several steps
        records.append(submission(i, text=text))
        if i % 97 == 0:
            records.extend(["", "   ", "{bad", "[1]"])
    return records


def _read(path: Path, prefetch: bool) -> tuple[list[Post], CollectReport, int]:
    posts: list[Post] = []
    result = read_part(whole_file(path), DumpScan(EVERYTHING, "salt", 1), posts.extend, prefetch)
    assert result.error is None
    assert result.cpu_seconds > 0
    return posts, result.report, result.lines


@pytest.mark.parametrize("prefetch", [True, False])
@pytest.mark.parametrize("crlf", [False, True])
def test_spans_read_what_read_dump_reads(tmp_path: Path, crlf: bool, prefetch: bool) -> None:
    text = b"".join(lines(_records()))
    if crlf:
        text = text.replace(b"\n", b"\r\n")
    path = write_dump(tmp_path / "d.jsonl", [])
    path.write_bytes(text.rstrip(b"\r\n"))  # the last line has no newline
    zst = tmp_path / "d.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(path.read_bytes()))
    expected = list(read_dump(path))[:-1]  # the last line (no newline) is the part's tail, for the merger
    ids = [line.data["id"] for line in expected if line.data and "id" in line.data]
    for dump in (path, zst):
        posts, report, count = _read(dump, prefetch)
        assert [p.id for p in posts] == ids
        assert [p.selftext for p in posts][5].startswith("long long")
        bad = [(n, e) for _, n, e in report.malformed]
        assert [n for n, _ in bad] == [line.line_no for line in expected if line.error]
        assert report.read == len(expected)
        assert count == path.read_bytes().count(b"\n")


def test_a_line_across_frames_and_parts_is_joined(tmp_path: Path) -> None:
    path = write_frames(tmp_path / "f.zst", _records(), frame_bytes=300_000)
    parts = plan_parts([path], min_part_bytes=1)
    assert len(parts) > 3
    rebuilt = b""
    for k, part in enumerate(parts):
        reader = PartLines(part, prefetch=k % 2 == 0)  # with and without decompressing ahead
        body = b""
        for span in reader.spans():
            assert span.text[span.end - 1:span.end] == b"\n"
            body += span.text[span.start:span.end]
        assert (reader.decompress_cpu_seconds > 0) == (k % 2 == 0)  # the thread ran, and only when asked
        rebuilt += (reader.head + b"\n" if reader.head is not None else b"") + body + reader.tail
    assert rebuilt == b"".join(lines(_records()))
