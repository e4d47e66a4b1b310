"""`valact collect --dump` through Prefect: single process vs a 2-worker Dask cluster, and privacy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.store import open_store
from schemas.records import Post
from tests.support.dumps import submission, write_dump

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _dump(tmp_path: Path) -> tuple[Path, Path]:
    records: list[dict[str, object] | str] = []
    for i in range(3000):
        records.append(submission(i, author=f"Private_Person_{i % 300}"))
        if i % 501 == 0:
            records.append('{"id": "cut off')
    first = write_dump(tmp_path / "RS_a.zst", records, window_log=31)
    second = write_dump(tmp_path / "RS_b.jsonl.gz", [{**submission(8), "title": "updated later"}, "[]"])
    return first, second


def _collect(workspace: Path, dumps: tuple[Path, Path], runner: str) -> dict[str, object]:
    args = [sys.executable, "-m", "flows.cli", "collect", "--profile", "demo", "--workspace", str(workspace),
            "--runner", runner, "--json"]
    for dump in dumps:
        args += ["--dump", str(dump)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300"}
    result = subprocess.run(args, cwd=workspace.parent, capture_output=True, text=True, timeout=600, env=env,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    out: dict[str, object] = json.loads(result.stdout[result.stdout.index("{"):])
    return out


def test_dask_run_stores_what_the_single_process_run_stores(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALACT_AUTHOR_SALT", "fixed-salt-for-comparison")
    dumps = _dump(tmp_path)
    single = _collect(tmp_path / "single", dumps, "thread")["dumps"]
    dask = _collect(tmp_path / "dask", dumps, "dask")["dumps"]
    assert isinstance(single, dict) and isinstance(dask, dict)
    for key in ("read", "stored_new_or_changed", "out_of_scope", "malformed_total", "malformed"):
        assert single[key] == dask[key], key
    assert single["malformed_total"] == 7
    assert [m["line"] for m in single["malformed"]] == [2, 504, 1006, 1508, 2010, 2512, 2]  # type: ignore[index]

    def posts(ws: Path) -> list[dict[str, object]]:
        return [p.model_dump(exclude={"retrieved_at"}) for p in open_store(ws).all(Post)]

    assert posts(tmp_path / "single") == posts(tmp_path / "dask") != []
    updated = open_store(tmp_path / "dask").get(Post, "x0000008")
    assert updated is not None and updated.title == "updated later"
    for folder in (tmp_path / "single", tmp_path / "dask"):
        for file in folder.rglob("*"):
            if file.is_file():
                assert b"Private_Person_" not in file.read_bytes(), file
