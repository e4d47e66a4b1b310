"""`valact collect --dump` through Prefect: one process vs Dask (a local cluster, and a separately
started scheduler with workers on loopback), parts on zstd frame boundaries, and privacy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.store import open_store
from schemas.collect import PostRevision
from schemas.records import Post
from tests.support.dask_cluster import dask_cluster
from tests.support.dumps import submission, write_dump, write_frames

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ENV = {"PYTHONPATH": str(ROOT), "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
       "VALACT_AUTHOR_SALT": "fixed-salt-for-comparison"}
COMPARED = ("read", "stored_new_or_changed", "unchanged", "revisions", "out_of_scope", "malformed_total",
            "malformed")


def _dumps(tmp_path: Path) -> list[Path]:
    """A long-window dump, a dump of many frames cut inside lines, and a gzip file that edits posts."""
    records: list[dict[str, object] | str] = []
    for i in range(3000):
        records.append(submission(i, author=f"Private_Person_{i % 300}"))
        if i % 501 == 0:
            records.append('{"id": "cut off')
    framed = [{**submission(i), "selftext": f"edited {i} " * 20} for i in range(0, 3000, 7)]
    return [
        write_dump(tmp_path / "RS_a.zst", records, window_log=31),
        write_frames(tmp_path / "RS_frames.zst", [*framed[:200], "[]", *framed[200:]], frame_bytes=20_000),
        write_dump(tmp_path / "RS_b.jsonl.gz", [{**submission(8), "title": "updated later"}, "[]"]),
    ]


def _collect(workspace: Path, dumps: list[Path], runner: str) -> dict[str, Any]:
    args = [sys.executable, "-m", "flows.cli", "collect", "--profile", "demo", "--workspace", str(workspace),
            "--runner", runner, "--part-mib", "0.01", "--json"]
    for dump in dumps:
        args += ["--dump", str(dump)]
    result = subprocess.run(args, cwd=workspace.parent, capture_output=True, text=True, timeout=600,
                            env={**os.environ, **ENV}, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    out: dict[str, Any] = json.loads(result.stdout[result.stdout.index("{"):])["dumps"]
    return out


def _stored(workspace: Path) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    store = open_store(workspace)
    posts = [p.model_dump(exclude={"retrieved_at"}) for p in store.all(Post)]
    revisions = sorted((r.model_dump(exclude={"id", "retrieved_at", "superseded_at"})
                        for r in store.all(PostRevision)), key=lambda r: (r["post_id"], r["source"]))
    return posts, revisions


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("single")
    dumps = _dumps(folder)
    return dumps, _collect(folder / "ws", dumps, "thread"), folder / "ws"


def _assert_same(single: tuple[list[Path], dict[str, Any], Path], report: dict[str, Any], ws: Path) -> None:
    _, expected, single_ws = single
    assert {k: report[k] for k in COMPARED} == {k: expected[k] for k in COMPARED}
    assert _stored(ws) == _stored(single_ws)
    assert report["parts"] > 3  # the framed dump went out in several parts
    assert report["parts_cpu_seconds"] > 0  # the workers' reading, next to the driver's own CPU
    assert 0 < report["parts_read_seconds"] <= report["seconds"]  # all read before the run ended
    assert not (ws / ".collect-shards").exists() or not any((ws / ".collect-shards").rglob("*.sqlite"))
    for file in ws.rglob("*"):
        if file.is_file():
            assert b"Private_Person_" not in file.read_bytes(), file


def test_single_process_reads_every_dump(single: tuple[list[Path], dict[str, Any], Path]) -> None:
    _, report, ws = single
    assert report["malformed_total"] == 8
    assert [m["line"] for m in report["malformed"]] == [2, 504, 1006, 1508, 2010, 2512, 201, 2]
    posts, revisions = _stored(ws)
    updated = {p["id"]: p for p in posts}["x0000008"]
    assert updated["title"] == "updated later" and revisions


def test_local_dask_cluster_stores_what_one_process_stores(
    single: tuple[list[Path], dict[str, Any], Path], tmp_path: Path
) -> None:
    report = _collect(tmp_path / "ws", single[0], "dask")
    _assert_same(single, report, tmp_path / "ws")


def test_running_scheduler_with_workers_stores_what_one_process_stores(
    single: tuple[list[Path], dict[str, Any], Path], tmp_path: Path
) -> None:
    env = {**ENV, "PREFECT_HOME": str(tmp_path / "worker-prefect")}
    with dask_cluster(2, env=env, log_dir=tmp_path) as cluster:
        report = _collect(tmp_path / "ws", single[0], cluster.runner)
        assert all(w.poll() is None for w in cluster.workers)
    _assert_same(single, report, tmp_path / "ws")
