"""``valact evaluate`` against the provider simulator (OpenAI wire format on loopback):
a 1,500-question default-selection run stays inside the alias's limits and is free to re-run;
``--batch`` goes through the Batch API."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from pipeline.store import open_store
from schemas.evaluate import EvalAnswer
from schemas.records import LLMCall
from tests.support.eval_data import write_release
from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-sim-evaluate-0123456789"


def answer(messages: list[dict[str, Any]], _schema: dict[str, Any] | None) -> str:
    """A model that picks a letter from the prompt's hash and declines ("X") now and then."""
    digest = hashlib.sha256(json.dumps(messages).encode()).digest()
    if digest[0] < 8:
        return '{"Answer": "X"}'
    letter = "ABCD"[digest[1] % 4]
    plain = f'{{"Answer": "{letter}"}}'
    return plain if digest[2] % 2 else f"I would do this.\n```json\n{plain}\n```"


def valact(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VALACT_SIM_KEY": KEY}
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


def project(tmp_path: Path, sim: ProviderSim, rpm: int) -> Path:
    overrides = valact_overrides(sim, rpm=rpm, max_concurrency=8)
    overrides["models"]["gpt-sim"]["limit_headroom"] = 0.9
    overrides["models"]["gpt-sim"]["max_tokens"] = 60
    overrides.pop("budget_usd")
    (tmp_path / "valact.toml").write_text(tomli_w.dumps({"extends": "demo", **overrides}), encoding="utf-8")
    return tmp_path


def test_1500_questions_within_limits_then_free_rerun(tmp_path: Path) -> None:
    release = write_release(tmp_path / "release", scenarios_per_domain=60)
    # 300 requests per 6 s window (3,000 RPM); valact is told 3,000 RPM and aims at 90 % of it
    with ProviderSim(SimConfig(api_key=KEY, rpm=300, window_s=6.0, responder=answer)) as sim:
        cwd = project(tmp_path, sim, rpm=3000)
        args = ["evaluate", str(release), "--model", "gpt-sim", "--mode", "default", "--prompts", "1",
                "--workspace", "ws", "--json"]
        first = valact(cwd, *args)
        assert first.returncode == 0, first.stderr[-3000:]
        report = json.loads(first.stdout)
        paid_first = sum(sim.stats.billed.values())
        second = valact(cwd, *args)
        assert second.returncode == 0, second.stderr[-3000:]
        rerun = json.loads(second.stdout)
        assert sum(sim.stats.billed.values()) == paid_first  # the re-run sent nothing
    assert report["planned"] == 1500 and report["answered"] == 1500 and report["failed"] == 0
    assert paid_first == 1500
    assert sim.stats.by_status[429] == 0
    assert sim.max_in_window(6.0) <= 300
    assert sim.paid_twice() == []
    assert rerun["planned"] == 1500 and rerun["already_stored"] == 1500 and rerun["answered"] == 0

    store = open_store(tmp_path / "ws")
    answers = store.all(EvalAnswer)
    calls = {c.request_hash: c for c in store.all(LLMCall) if c.stage == "evaluate" and not c.cached}
    store.close()
    assert len(answers) == 1500 and {a.mode for a in answers} == {"default"}
    assert all(a.request_hash in calls for a in answers)  # every answer links to its paid call
    declined = sum(1 for a in answers if a.raw == '{"Answer": "X"}')
    assert declined > 0 and report["invalid"] == {"x": declined}
    assert Counter(a.invalid for a in answers)[None] == 1500 - declined
    fenced = [a for a in answers if a.raw.startswith("I would")]
    assert fenced and all(a.choice is not None for a in fenced)


def test_batch_mode_answers_through_the_batch_api(tmp_path: Path) -> None:
    release = write_release(tmp_path / "release", scenarios_per_domain=2)
    with ProviderSim(SimConfig(api_key=KEY, responder=answer)) as sim:
        cwd = project(tmp_path, sim, rpm=3000)
        run = valact(cwd, "evaluate", str(release), "--model", "gpt-sim", "--mode", "selection",
                     "--prompts", "2", "--batch", "--workspace", "ws", "--json")
        assert run.returncode == 0, run.stderr[-3000:]
        direct_requests = len(sim.stats.accepted_times)
    report = json.loads(run.stdout)
    assert report["answered"] == 2 * 5 * 2 * 5  # variants x domains x scenarios x questions
    assert sim.stats.batches_created >= 1 and direct_requests == 0
    store = open_store(tmp_path / "ws")
    answers = store.all(EvalAnswer)
    store.close()
    assert len(answers) == 100 and all(a.target in a.option_values for a in answers)
