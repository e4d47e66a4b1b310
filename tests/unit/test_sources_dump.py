"""Dump reading: formats, long zstd windows, malformed lines with numbers, parts on frame boundaries."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from pipeline.sources.dump import DumpPart, PartLines, plan_parts, read_dump
from pipeline.sources.zstd_frames import zstd_frames
from tests.support.dumps import lines, submission, write_dump, write_frames

RECORDS: list[dict[str, object] | str] = [
    submission(1), "{not json", submission(2), "", "[1, 2]", submission(3), '{"id": "trunc', submission(4),
]


@pytest.mark.parametrize("name", ["d.jsonl", "d.jsonl.gz", "d.zst"])
def test_every_format_reads_the_same_lines(tmp_path: Path, name: str) -> None:
    path = write_dump(tmp_path / name, RECORDS)
    got = list(read_dump(path))
    assert [(line.line_no, line.data["id"] if line.data else None) for line in got] == [
        (1, "x0000001"), (2, None), (3, "x0000002"), (5, None), (6, "x0000003"), (7, None), (8, "x0000004"),
    ]
    errors = {line.line_no: line.error for line in got if line.error}
    assert errors[2] and errors[2].startswith("invalid JSON")
    assert errors[5] == "not a JSON object"


def test_last_line_without_newline_is_read(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"".join(lines(RECORDS)).rstrip(b"\n"))
    assert [line.line_no for line in read_dump(path)][-1] == 8


def test_two_gib_window_dump_is_readable(tmp_path: Path) -> None:
    path = write_dump(tmp_path / "long.zst", [submission(i) for i in range(200)], window_log=31)
    assert [line.data["id"] for line in read_dump(path) if line.data] == [f"x{i:07x}" for i in range(200)]


def test_truncated_zst_keeps_everything_before_the_cut(tmp_path: Path) -> None:
    path = write_dump(tmp_path / "full.zst", [submission(i) for i in range(3000)])  # several blocks
    cut = tmp_path / "cut.zst"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    got = list(read_dump(cut))
    good = [line for line in got if line.data is not None]
    assert len(good) == len(got) - 1 > 0
    assert got[-1].data is None and got[-1].line_no == len(got)
    assert [line.data["id"] for line in good if line.data] == [f"x{i:07x}" for i in range(len(good))]


def test_frames_are_found_without_decompressing(tmp_path: Path) -> None:
    path = write_frames(tmp_path / "f.zst", [submission(i) for i in range(300)], frame_bytes=10_000)
    frames = zstd_frames(path)
    assert frames is not None and len(frames) > 5
    assert frames[0][0] == 0 and frames[-1][1] == path.stat().st_size
    assert all(a[1] == b[0] for a, b in pairwise(frames))


@pytest.mark.parametrize("content", [b"not zstd at all", b""])
def test_a_file_that_is_not_zstd_has_no_frames_to_split(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "x.zst").write_bytes(content)
    assert zstd_frames(tmp_path / "x.zst") in (None, [])
    assert plan_parts([tmp_path / "x.zst"]) == [DumpPart(str(tmp_path / "x.zst"), 0)]


def test_a_cut_multi_frame_file_is_one_part(tmp_path: Path) -> None:
    path = write_frames(tmp_path / "f.zst", [submission(i) for i in range(300)], frame_bytes=10_000)
    path.write_bytes(path.read_bytes()[:-100])
    assert zstd_frames(path) is None and len(plan_parts([path], min_part_bytes=1)) == 1


def test_parts_put_back_together_are_the_file(tmp_path: Path) -> None:
    """Frames cut inside lines; each part's head, lines and tail rebuild the text exactly."""
    records = [submission(i, text="x" * (i * 37 % 900)) for i in range(400)]
    path = write_frames(tmp_path / "f.zst", records, frame_bytes=7_777)
    parts = plan_parts([write_dump(tmp_path / "one.jsonl", RECORDS), path], min_part_bytes=1)
    assert [(p.file_index, p.part_index, p.last) for p in parts][:2] == [(0, 0, True), (1, 0, False)]
    assert len(parts) > 4 and parts[-1].last and all(p.end is not None for p in parts[1:])
    text = b""
    for part in parts[1:]:
        reader = PartLines(part)
        body = [line for block in reader for line in block]
        assert reader.error is None and reader.lines == len(body)
        assert (reader.head is None) == part.first
        text += (reader.head + b"\n" if reader.head is not None else b"") + b"".join(x + b"\n" for x in body)
        text += reader.tail
    assert text == b"".join(lines(records))


def test_frames_are_grouped_into_parts_of_a_minimum_size(tmp_path: Path) -> None:
    records = [submission(i, text=f"{i} " * (i % 97)) for i in range(600)]
    path = write_frames(tmp_path / "f.zst", records, 9_000)
    frames = zstd_frames(path)
    assert frames is not None
    size = path.stat().st_size
    parts = plan_parts([path], min_part_bytes=size // 4)
    assert 2 <= len(parts) <= 4 and [p.part_index for p in parts] == list(range(len(parts)))
    assert parts[0].start == 0 and parts[-1].end == size and [p.last for p in parts][-2:] == [False, True]
    assert all(a.end == b.start for a, b in pairwise(parts))
    assert all((p.end or 0) - p.start >= size // 4 for p in parts[:-1])
    assert (parts[-1].end or 0) - parts[-1].start >= size // 8  # a smaller straggler joins its neighbour
    assert {p.start for p in parts} <= {start for start, _ in frames}
    assert plan_parts([path]) == [DumpPart(str(path), 0, 0, 0, size, last=True)]  # under 64 MiB: one part
