"""The build flow end to end on the demo profile, against the real local model server and
Prefect's embedded server: interrupted with kill -9, resumed, then rebuilt warm."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.release.invariants import invariant_breaks

pytestmark = pytest.mark.integration
VALACT = [sys.executable, "-m", "flows.cli"]
ROOT = Path(__file__).resolve().parents[2]


def valact(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VALACT, *args, "--profile", "demo", "--workspace", str(ws)],
        cwd=ws.parent, capture_output=True, text=True, timeout=1200, env=_env(), check=False,
    )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _candidates(ws: Path) -> int:
    try:
        with sqlite3.connect(ws / "valact.sqlite", timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM candidates").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _server_requests(ws: Path) -> int:
    log = ws / "logs" / "local-model-server.log"
    return sum(1 for line in log.read_text().splitlines() if "POST /v1/chat/completions" in line)


def _paid_request_hashes(ws: Path) -> list[str]:
    with sqlite3.connect(ws / "valact.sqlite") as conn:
        rows = conn.execute(
            "SELECT json_extract(data, '$.request_hash') FROM llm_calls "
            "WHERE json_extract(data, '$.cached') = 0 AND json_extract(data, '$.outcome') != 'error'"
        ).fetchall()
    return [r[0] for r in rows]


def _parquet_digests(release: Path) -> dict[str, str]:
    files = sorted(release.glob("data/*.parquet"))
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_build_survives_kill_resumes_and_rebuilds_warm(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    # 1. start a build and kill -9 it once generation has stored something
    proc = subprocess.Popen(
        [*VALACT, "build", "--profile", "demo", "--limit", "1", "--workspace", str(ws)],
        cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 900
    while _candidates(ws) < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert proc.poll() is None, "build finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    interrupted_at = _candidates(ws)
    assert 10 <= interrupted_at < 100

    # 2. resume: completes, and no answer is paid for twice
    resumed = valact(ws, "build", "--limit", "1", "--json")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    result = json.loads(resumed.stdout)
    release = Path(result["publish"]["path"])
    paid = _paid_request_hashes(ws)
    assert len(paid) == len(set(paid)), "a request was paid twice"
    # the server saw every paid request once, plus at most the one in flight at the kill
    assert _server_requests(ws) - len(paid) in (0, 1)

    # 3. the published table holds every invariant and loads with `datasets`
    from datasets import load_dataset

    # a private cache: `datasets` would otherwise reuse another "0.1.0" folder's cached table
    questions = load_dataset(str(release), "questions", split="train", cache_dir=str(tmp_path / "hf"))
    scenarios = {row["scenario_id"] for row in questions}
    assert len(questions) == 5 * len(scenarios) and len(scenarios) >= 4
    assert len(set(questions["domain"])) >= 4
    assert not invariant_breaks(list(questions))

    # 4. warm rebuild: no model request, byte-identical parquet
    before = _parquet_digests(release)
    warm = valact(ws, "build", "--limit", "1", "--json")
    assert warm.returncode == 0, warm.stderr[-3000:]
    assert _parquet_digests(release) == before
    status = json.loads(valact(ws, "status", "--json").stdout)
    assert status["last_run"]["llm"]["requests"] == 0
    assert status["release"]["path"] == str(release)
    reasons = {d["reason"] for d in status["dropped_items"] if d["stage"] == "prefilter"}
    assert {"deleted", "removed", "too_short", "not_first_person", "nsfw", "duplicate"} <= reasons
