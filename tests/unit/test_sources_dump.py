"""Dump reading: formats, long zstd windows, malformed lines with numbers, partitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.sources.dump import Partition, read_dump
from tests.support.dumps import submission, write_dump

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


def test_partitions_cover_every_line_once(tmp_path: Path) -> None:
    path = write_dump(tmp_path / "p.zst", [*RECORDS, *(submission(i) for i in range(10, 60))])
    whole = [(line.line_no, line.error) for line in read_dump(path)]
    parts = [(line.line_no, line.error) for k in range(3) for line in read_dump(path, Partition(k, 3, 4))]
    assert sorted(parts) == whole


def test_invalid_partition_is_rejected() -> None:
    with pytest.raises(ValueError):
        Partition(3, 3)
