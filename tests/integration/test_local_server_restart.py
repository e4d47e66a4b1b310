"""The local model server dies mid-run: the next request restarts it and nothing is lost."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.prompts import load_prompt
from pipeline.stages.screen import DECISION_SPEC
from schemas.records import LLMCall

pytestmark = pytest.mark.integration


def _ask(ctx: StageContext, i: int) -> bool:
    text = f"Post {i}: my manager offered me a promotion that means moving cities. Should I accept it?"
    result = ctx.llm("screen").structured(
        "local-screen-a", load_prompt("screen"),
        {"subreddit": "careerguidance", "title": f"t{i}", "text": text}, DECISION_SPEC, item_id=f"p{i}",
    )
    return result.value


def test_a_killed_model_server_is_restarted_and_the_request_retried(tmp_path: Path) -> None:
    ctx = StageContext.open(load_config("demo", None, str(tmp_path / "ws")))
    try:
        assert isinstance(_ask(ctx, 1), bool)
        server = ctx.registry.local_server
        assert server is not None and server.pid is not None
        first_pid, port = server.pid, server.port
        os.kill(first_pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)

        assert isinstance(_ask(ctx, 2), bool)  # answered after the restart
        assert server.restarts == 1 and server.pid not in (None, first_pid) and server.port == port
        calls = [c for c in ctx.store.all(LLMCall) if c.item_id == "p2"]
        assert [c.outcome for c in calls if not c.cached].count("ok") == 1
        assert any(c.outcome == "error" for c in calls)  # the failed attempt is on record
        log = (tmp_path / "ws" / "logs" / "local-model-server.log").read_text(errors="replace")
        assert "restart 1 of 3" in log
    finally:
        ctx.close()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True
