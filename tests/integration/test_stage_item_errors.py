"""One over-long post and one post the provider refuses end as two drops with their reasons,
while the rest of the build completes (nothing about them stops the run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.runner import run_stage
from pipeline.stages import collect
from pipeline.stages.assemble import AssembleStage
from pipeline.stages.generate import GenerateStage
from pipeline.stages.screen import ScreenStage
from pipeline.status import workspace_status
from schemas.records import Drop, LLMCall, Question, Scenario
from tests.support.dumps import submission, write_dump
from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides

pytestmark = pytest.mark.integration
KEY = "sk-sim-items-0123456789"
MARKER = "FORBIDDEN-TOPIC-7731"


def _special_posts(path: Path) -> Path:
    story = "I have to decide whether my family should move for my new job and I need advice. "
    huge = submission(1, subreddit="AskHR", text=story * 2400)  # about 40,000 words
    refused = submission(2, subreddit="AskHR", text=story * 5 + f"It involves {MARKER}.")
    return write_dump(path, [huge, refused])


def test_overlong_and_refused_posts_are_drops_and_the_build_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VALACT_SIM_KEY", KEY)
    extra = _special_posts(tmp_path / "special.jsonl")
    with ProviderSim(SimConfig(api_key=KEY, reject_marker=MARKER, context_tokens=8000)) as sim:
        overrides = valact_overrides(sim, quota=60)
        for model in overrides["models"].values():
            model["context_tokens"] = 8000
        overrides["collect"] = {"dumps": ["builtin:demo", str(extra)]}
        ctx = StageContext.open(load_config("demo", None, str(tmp_path / "ws"), overrides))
        try:
            collect.collect_dumps(ctx)
            screen = run_stage(ctx, ScreenStage())
            generate = run_stage(ctx, GenerateStage())
            assemble = run_stage(ctx, AssembleStage())
            drops = {d.item_id: d for d in ctx.store.all(Drop)}
            calls = ctx.store.all(LLMCall)
            status = workspace_status(ctx.store)
            scenarios = ctx.store.count(Scenario)
            questions = ctx.store.count(Question)
        finally:
            ctx.close()

    huge_id, refused_id = "x0000001", "x0000002"
    # The over-long post never reached a model: dropped by the prefilter with the estimate.
    too_long = drops[huge_id]
    assert (too_long.stage, too_long.reason) == ("prefilter", "too_long")
    assert "context" in too_long.detail
    assert not [c for c in calls if c.item_id == huge_id]
    assert sim.stats.refused["context_length"] == 0
    # The refused post: one rejected request per screener at most, then a drop with the reason.
    refused = drops[refused_id]
    assert refused.stage == "screen"
    assert refused.reason in ("invalid_prompt", "content_filter")
    rejected_calls = [c for c in calls if c.item_id == refused_id and c.outcome == "rejected"]
    assert 1 <= len(rejected_calls) <= 2  # not retried
    assert screen.dropped[refused.reason] == 1 and screen.dropped["too_long"] == 1
    # Everything else went on to the end.
    assert screen.failed == 0 and generate.failed == 0
    assert scenarios > 10 and questions == scenarios * 5
    assert assemble.done == scenarios
    # ...and `valact status` shows both reasons.
    assert status["drops_by_stage"]["prefilter"]["too_long"] == 1
    assert status["drops_by_stage"]["screen"][refused.reason] == 1
    # Status shows each stage's last run with the very stats the runner returned.
    assert status["last_stage_runs"]["screen"]["dropped"] == dict(sorted(screen.dropped.items()))
    assert status["last_stage_runs"]["generate"]["requests"] == generate.requests
    assert sim.paid_twice() == []


def test_a_provider_context_error_drops_only_that_post(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a configured window the prefilter cannot know; the provider's 400 is a drop."""
    monkeypatch.setenv("VALACT_SIM_KEY", KEY)
    extra = _special_posts(tmp_path / "special.jsonl")
    with ProviderSim(SimConfig(api_key=KEY, context_tokens=8000)) as sim:
        overrides = valact_overrides(sim, quota=60)
        overrides["collect"] = {"dumps": ["builtin:demo", str(extra)]}
        ctx = StageContext.open(load_config("demo", None, str(tmp_path / "ws"), overrides))
        try:
            collect.collect_dumps(ctx)
            screen = run_stage(ctx, ScreenStage())
            drop = ctx.store.get(Drop, _drop_id("screen", "x0000001"))
        finally:
            ctx.close()
    assert drop is not None and drop.reason == "context_length_exceeded"
    assert sim.stats.refused["context_length"] >= 1
    assert screen.dropped["context_length_exceeded"] == 1 and screen.failed == 0
    assert sum(screen.facts["scenarios"].values()) > 10


def _drop_id(stage: str, item: str) -> str:
    from pipeline.stage import drop_id

    return drop_id(stage, item)
