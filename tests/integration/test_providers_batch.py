"""Batch mode: a process killed while its batch is running picks the same batch up after a
restart instead of submitting (and paying for) it again."""

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
from schemas.batch import BatchJob
from schemas.records import LLMCall, ScreenDecision
from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
KEY = "sk-sim-batch-0123456789"

CHILD = """
import json, sys
from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.runner import run_stage
from pipeline.stages import collect
from pipeline.stages.screen import ScreenStage
overrides = json.loads(sys.argv[1])
config = load_config("demo", None, sys.argv[2], overrides)
ctx = StageContext.open(config)
collect.collect_dumps(ctx)
run_stage(ctx, ScreenStage())
ctx.close()
print("done")
"""


def _child(overrides: dict[str, object], workspace: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "VALACT_SIM_KEY": KEY}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(overrides), str(workspace)],
        cwd=workspace.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _input_keys(sim: ProviderSim, batch_id: str) -> set[str]:
    text = sim.files[sim.batches[batch_id]["input_file_id"]].decode()
    return {json.loads(line)["custom_id"] for line in text.splitlines() if line.strip()}


def test_killed_process_resumes_its_batch(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    with ProviderSim(SimConfig(api_key=KEY, batch_delay_s=3600)) as sim:
        overrides = valact_overrides(sim, batch=True)
        first = _child(overrides, workspace)
        try:
            deadline = time.monotonic() + 120
            while sim.stats.batches_created == 0 and time.monotonic() < deadline:
                assert first.poll() is None, first.communicate()
                time.sleep(0.1)
            assert sim.stats.batches_created >= 1
            time.sleep(0.5)  # the job record is written right after creation
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
        created_before = dict(sim.batches)
        killed_keys = set().union(*(_input_keys(sim, b) for b in created_before))
        # The provider finishes the batch while nobody is watching.
        for batch in sim.batches.values():
            batch["_ready_at"] = 0.0
        sim.config.batch_delay_s = 0.0

        second = _child(overrides, workspace)
        out, err = second.communicate(timeout=240)
        assert second.returncode == 0, err[-2000:]
        assert "done" in out

        later = [b for b in sim.batches if b not in created_before]
        resubmitted = killed_keys & set().union(set(), *(_input_keys(sim, b) for b in later))
        assert resubmitted == set()
        assert sim.paid_twice() == []
        store = open_store(workspace)
        jobs = {j.batch_id: j for j in store.all(BatchJob)}
        assert set(created_before) <= set(jobs)
        assert all(jobs[b].status == "completed" for b in created_before)
        paid = {c.request_hash for c in store.all(LLMCall) if not c.cached and c.outcome == "ok"}
        assert killed_keys <= paid  # the resumed answers were filed and costed
        assert store.count(ScreenDecision) >= 3
        store.close()
