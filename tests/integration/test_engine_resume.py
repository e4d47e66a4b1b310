"""SIGKILL in the middle of the streaming engine (screen feeding generate): the re-run resumes
and pays again only for the requests that were in flight at the moment of the kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.store import open_store
from schemas.records import ActionCandidate, Scenario
from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
KEY = "sk-sim-resume-0123456789"
IN_FLIGHT_BOUND = 3 * 6

CHILD = """
import json, sys
from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.runner import run_together
from pipeline.stages import collect
from pipeline.stages.catalog import streamed_pair
config = load_config("demo", None, sys.argv[2], json.loads(sys.argv[1]))
ctx = StageContext.open(config)
collect.collect_dumps(ctx)
stats = run_together(ctx, list(streamed_pair()))
ctx.close()
print(json.dumps([s.as_dict() for s in stats]))
"""


def _child(overrides: dict[str, object], workspace: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "VALACT_SIM_KEY": KEY}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(overrides), str(workspace)],
        cwd=workspace.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_sigkill_mid_stream_resumes_without_paying_twice(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    with ProviderSim(SimConfig(api_key=KEY, latency_s=0.4)) as sim:
        # A generous timeout: on a loaded machine a 2 s timeout would re-send (and re-pay) answers
        # that were merely slow to be read, which is not what this test is about.
        overrides = valact_overrides(sim, quota=4, max_concurrency=6, timeout_s=60)
        first = _child(overrides, workspace)
        try:
            deadline = time.monotonic() + 240
            while sum(sim.stats.billed.values()) < 45 and time.monotonic() < deadline:
                assert first.poll() is None, first.communicate()
                time.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
        billed_at_kill = sum(sim.stats.billed.values())
        assert billed_at_kill >= 45
        store = open_store(workspace)
        generated_at_kill = store.count(ActionCandidate)
        store.close()
        assert generated_at_kill > 0  # generation had started before screening ended (streamed)

        second = _child(overrides, workspace)
        out, err = second.communicate(timeout=300)
        assert second.returncode == 0, err[-3000:]
        screen, generate = json.loads(out.strip().splitlines()[-1])
        assert screen["failed"] == 0 and generate["failed"] == 0

    # Only what was in flight at the kill (sent, answer not yet stored) can be paid again:
    # at most every alias's open-request bound (3 aliases x max_concurrency 6).
    assert len(sim.paid_twice()) <= IN_FLIGHT_BOUND
    store = open_store(workspace)
    scenarios = store.count(Scenario)
    candidates = store.count(ActionCandidate)
    store.close()
    assert scenarios == 4 * 5
    assert candidates == scenarios * 20
    # The second run asked only for what the first had not stored.
    assert generate["cached"] + generate["requests"] >= 1
    assert generate["requests"] <= scenarios * 2 - generated_at_kill // 10 + IN_FLIGHT_BOUND
