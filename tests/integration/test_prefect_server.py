"""``valact server``: a real ``prefect server start`` the commands use, with run artifacts in it.

The commands run with Prefect's ephemeral server disabled, so they can only succeed by
finding the workspace's server; what they left there is then read back through Prefect's
REST API as the UI would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
import pytest

from tests.support.valact_cli import fresh_env, run_valact

pytestmark = pytest.mark.integration


def _latest(artifacts: list[dict[str, Any]], key: str) -> Any:
    """The data of the newest artifact with this key (tables are stored as JSON text)."""
    newest = max((a for a in artifacts if a["key"] == key), key=lambda a: a["created"])
    data = newest["data"]
    return json.loads(data) if isinstance(data, str) and data[:1] in "[{" else data


@pytest.mark.timeout(2400)
def test_commands_use_the_workspace_server_and_publish_artifacts(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    env = fresh_env(tmp_path / "home", OPENAI_API_KEY="sk-canary-7f3e", PREFECT_API_KEY="pnu-canary-7f3e")
    where = ("-p", "demo", "-w", str(ws))
    started = run_valact(env, "server", "start", *where, "--json")
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    try:
        assert info["started"] is True and info["api_url"] == f"http://127.0.0.1:{info['port']}/api"
        record = json.loads((ws / ".prefect" / "valact-server.json").read_text())
        assert (record["pid"], record["port"]) == (info["pid"], info["port"])
        assert Path(info["log"]) == ws.resolve() / "logs" / "prefect-server.log"
        assert b"canary-7f3e" not in Path(f"/proc/{info['pid']}/environ").read_bytes()  # no keys
        assert json.loads(run_valact(env, "server", "status", *where, "--json").stdout)["running"] is True
        again = json.loads(run_valact(env, "server", "start", *where, "--json").stdout)
        assert (again["started"], again["pid"]) == (False, info["pid"])

        only_the_server = {**env, "PREFECT_SERVER_EPHEMERAL_ENABLED": "false"}
        for stage, extra in (("collect", ()), ("screen", ("--limit", "1"))):
            result = run_valact(only_the_server, stage, *where, "--json", *extra)
            assert result.returncode == 0, f"valact {stage}:\n{result.stderr[-3000:]}"
            assert f"runs at {info['ui_url']}/runs" in result.stderr

        api = httpx.Client(base_url=info["api_url"], timeout=60)
        runs = api.post("/flow_runs/filter", json={}).json()
        assert {r["name"] for r in runs} and {r["state_type"] for r in runs} == {"COMPLETED"}
        top_level = {r["id"]: r for r in runs if r["parent_task_run_id"] is None}
        assert len(top_level) == 2
        assert all(any(t.startswith("valact-run-") for t in r["tags"]) for r in top_level.values())

        artifacts = api.post("/artifacts/filter", json={}).json()
        assert all(a["flow_run_id"] in {r["id"] for r in runs} for a in artifacts)
        summary = _latest(artifacts, "valact-run-summary")
        assert summary.startswith("# valact screen")
        costs = _latest(artifacts, "valact-cost-by-model")
        assert costs[-1]["model"] == "total" and costs[-1]["requests"] + costs[-1]["cached"] > 0
        assert {row["model"] for row in costs[:-1]} <= {"local-screen-a", "local-screen-b", "local-screen-c"}
        drops = _latest(artifacts, "valact-drop-reasons")
        assert drops and {row["stage"] for row in drops} <= {"prefilter", "screen"}
        assert all(row["count"] > 0 for row in drops)
        assert 0 < _latest(artifacts, "valact-progress-screen") <= 100
    finally:
        stopped = run_valact(env, "server", "stop", *where)
    assert stopped.returncode == 0 and f"pid {info['pid']}" in stopped.stdout
    assert not psutil.pid_exists(info["pid"]) or psutil.Process(info["pid"]).status() == psutil.STATUS_ZOMBIE
    assert not (ws / ".prefect" / "valact-server.json").exists()
    assert run_valact(env, "server", "status", *where).returncode == 1
