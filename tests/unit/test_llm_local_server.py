"""The local model server's supervision, without starting llama.cpp."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.llm.local_server import LocalModelServer, LocalServerError
from schemas.config import LocalServerConfig


def _server_with_exited_process(tmp_path: Path) -> LocalModelServer:
    server = LocalModelServer(LocalServerConfig(), tmp_path / "server.log")
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(9)"])
    process.wait()
    server._process = process  # a server process that has died
    return server


def test_a_live_or_never_started_server_is_left_alone(tmp_path: Path) -> None:
    server = LocalModelServer(LocalServerConfig(), tmp_path / "server.log")
    assert server.restart_if_dead() is False and server.restarts == 0


def test_a_server_that_keeps_dying_stops_the_run_with_its_log(tmp_path: Path) -> None:
    server = _server_with_exited_process(tmp_path)
    server.restarts = LocalModelServer.MAX_RESTARTS
    with pytest.raises(LocalServerError, match=r"died 4 times \(last exit code 9\); see .*server\.log"):
        server.restart_if_dead()
