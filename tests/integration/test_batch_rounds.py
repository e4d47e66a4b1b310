"""``--batch`` on a 3,000-scenario build: every pending request of an alias goes in as few
batch jobs as the provider allows: one per alias per screening round (votes, tie-breaks, the
quota's top-ups) and one per generator for generation, all against the simulator."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.runner import run_stage
from pipeline.stages import collect
from pipeline.stages.generate import GenerateStage
from pipeline.stages.screen import ScreenStage
from schemas.batch import BatchJob
from schemas.records import ActionCandidate, Scenario
from tests.support.advice_posts import independent_screeners, synthetic_posts
from tests.support.dumps import write_dump
from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides

pytestmark = pytest.mark.integration
KEY = "sk-sim-rounds-0123456789"


def _jobs_by_alias(ctx: StageContext, stage: str) -> dict[str, list[BatchJob]]:
    jobs: dict[str, list[BatchJob]] = {}
    for job in ctx.store.all(BatchJob):
        if {meta["stage"] for meta in job.entries.values()} == {stage}:
            jobs.setdefault(job.alias, []).append(job)
    return {alias: sorted(js, key=lambda j: j.created_at) for alias, js in jobs.items()}


def test_batch_build_uses_one_job_per_alias_per_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VALACT_SIM_KEY", KEY)
    config_probe = load_config("default")
    subreddits = [s for subs in config_probe.domains.values() for s in subs]
    dump = write_dump(tmp_path / "posts.jsonl", synthetic_posts(6_000, subreddits))
    sim_config = SimConfig(api_key=KEY, responder=independent_screeners, responder_sees_model=True)
    with ProviderSim(sim_config) as sim:
        overrides = valact_overrides(sim, quota=600, batch=True, max_concurrency=None, timeout_s=60)
        for model in overrides["models"].values():
            model["batch_linger_s"] = 1.0
        overrides["collect"] = {"dumps": [str(dump)]}
        ctx = StageContext.open(load_config("demo", None, str(tmp_path / "ws"), overrides))
        try:
            collect.collect_dumps(ctx)
            screen = run_stage(ctx, ScreenStage())
            generate = run_stage(ctx, GenerateStage())
            screening = _jobs_by_alias(ctx, "screen")
            generation = _jobs_by_alias(ctx, "generate")
            scenarios = ctx.store.count(Scenario)
            candidates = ctx.store.count(ActionCandidate)
        finally:
            ctx.close()

    assert scenarios == 3_000 and candidates == 3_000 * 20
    assert screen.failed == 0 and generate.failed == 0
    # Generation: one job per generator, holding every one of its 3,000 requests.
    sizes = {alias: [len(j.entries) for j in jobs] for alias, jobs in generation.items()}
    assert sizes == {"gpt-sim": [3_000], "qwen-sim": [3_000]}
    # Screening: an alias's jobs follow each other, one per round, never side by side (a
    # round's requests were never split over several jobs), and there are only a few rounds.
    for alias, jobs in screening.items():
        for before, after in itertools.pairwise(jobs):
            assert before.finished_at is not None and after.created_at >= before.finished_at, alias
        assert len(jobs) <= 6, (alias, [len(j.entries) for j in jobs])
    assert screening["gpt-sim"][0].entries.keys().isdisjoint(screening["gpt-sim"][1].entries.keys()) \
        if len(screening["gpt-sim"]) > 1 else True
    assert "mini-sim" in screening  # ties happened and went to the tie-breaker in their own rounds
    assert sim.stats.batches_created == sum(len(j) for j in [*screening.values(), *generation.values()])
    assert sim.paid_twice() == []
