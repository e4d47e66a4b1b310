"""Screen + generate against the provider simulator under 20% injected faults: every item
completes, nothing is empty, and no request is paid for twice (also across a re-run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.llm.report import failures_by_stage
from pipeline.runner import run_stage
from pipeline.stages import collect
from pipeline.stages.generate import GenerateStage
from pipeline.stages.screen import ScreenStage
from schemas.config import ProjectConfig
from schemas.records import ActionCandidate, Drop, LLMCall, Scenario
from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides

pytestmark = pytest.mark.integration
KEY = "sk-sim-faults-0123456789"


def run_llm_stages(config: ProjectConfig) -> StageContext:
    ctx = StageContext.open(config)
    collect.collect_dumps(ctx)
    run_stage(ctx, ScreenStage())
    run_stage(ctx, GenerateStage())
    return ctx


@pytest.mark.parametrize("batch", [False, True], ids=["sync", "batch"])
def test_every_item_completes_under_faults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: bool
) -> None:
    monkeypatch.setenv("VALACT_SIM_KEY", KEY)
    sim_cfg = SimConfig(fault_rate=0.2, hang_s=2.5, seed=7, api_key=KEY, expire_first_batch=batch)
    with ProviderSim(sim_cfg) as sim:
        config = load_config("demo", None, str(tmp_path / "ws"), valact_overrides(sim, batch=batch))
        ctx = run_llm_stages(config)
        try:
            failed = [d for d in ctx.store.all(Drop) if d.reason in ("screen_failed", "generation_failed")]
            assert failed == []
            scenarios = ctx.store.count(Scenario)
            assert scenarios == 15
            candidates = ctx.store.all(ActionCandidate)
            assert len(candidates) == scenarios * 20
            assert all(c.text.strip() for c in candidates)
            # Faults really happened, of several kinds, and were absorbed.
            assert sum(sim.stats.faults.values()) >= 10
            assert len(sim.stats.faults) >= 4
            assert failures_by_stage(ctx.store.all(LLMCall))
            assert sim.paid_twice() == []
            if batch:
                assert sim.stats.batches_created >= 2  # the expired first batch was resubmitted
                paid = [c for c in ctx.store.all(LLMCall) if not c.cached and c.outcome != "error"]
                assert paid and all("batch_id" in c.params for c in paid)
                # Every error line of a batch output is a failed request that status counts.
                failed_lines = [c for c in ctx.store.all(LLMCall)
                                if c.outcome == "error" and "batch_" in (c.error or "")]
                assert sim.stats.batch_error_lines > 0
                assert len(failed_lines) == sim.stats.batch_error_lines
            billed = sum(sim.stats.billed.values())
        finally:
            ctx.close()
        # A second run pays for nothing: every answer comes from the store or the cache.
        ctx = run_llm_stages(config)
        ctx.close()
        assert sum(sim.stats.billed.values()) == billed
        assert sim.paid_twice() == []
