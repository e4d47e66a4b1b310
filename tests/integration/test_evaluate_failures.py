"""A request that still fails after the LLM layer's retries stores no answer (it is not the
model's answer): the run counts it, and the next run asks exactly those units again."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.evaluate.plan import EvalOptions
from pipeline.evaluate.run import RunReport, evaluate
from schemas.evaluate import EvalAnswer
from tests.support.eval_data import write_release
from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides

pytestmark = pytest.mark.integration
KEY = "sk-sim-evaluate-faults-0123456789"


def run(sim: ProviderSim, ws: Path, release: Path) -> tuple[RunReport, int]:
    overrides = valact_overrides(sim)
    overrides["models"]["gpt-sim"]["max_retries"] = 0
    ctx = StageContext.open(load_config("demo", None, str(ws), overrides))
    try:
        report = evaluate(ctx, str(release), EvalOptions(model="gpt-sim", mode="selection", prompts=1))
        return report, ctx.store.count(EvalAnswer)
    finally:
        ctx.close()


def test_failed_requests_are_counted_and_asked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALACT_SIM_KEY", KEY)
    release = write_release(tmp_path / "release", scenarios_per_domain=1)
    config = SimConfig(api_key=KEY, fault_rate=1.0, fault_kinds=("server_error",),
                       responder=lambda _m, _s: '{"Answer": "C"}')
    with ProviderSim(config) as sim:
        failed, stored = run(sim, tmp_path / "ws", release)
        assert (failed.planned, failed.answered, failed.failed, stored) == (25, 0, 25, 0)
        assert len(failed.failures) == 25
        sim.config.fault_rate = 0.0
        second, stored = run(sim, tmp_path / "ws", release)
    assert (second.planned, second.already_stored, second.answered, second.failed) == (25, 0, 25, 0)
    assert stored == 25 and second.invalid == {}
