"""An evaluation runs on the streaming request engine: with 1 s answers and a generous rate
limit it keeps far more than a worker pool's 8 requests open at the provider, and a request
the provider refuses for its item ends as that unit's failure while every other answer is
stored (linked to its call), and the next run asks only that unit again."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.evaluate.plan import EvalOptions, plan_units
from pipeline.evaluate.prompts import variant
from pipeline.evaluate.release import read_release
from pipeline.evaluate.run import RunReport, evaluate
from schemas.evaluate import EvalAnswer
from tests.support.eval_data import write_release
from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides

pytestmark = pytest.mark.integration
KEY = "sk-sim-evaluate-engine-0123456789"
OPTIONS = EvalOptions(model="gpt-sim", mode="selection", prompts=1)
OLD_WORKER_POOL = 8


def refused_prompt(release: Path) -> tuple[str, str]:
    """(unit, its user message) of one planned unit: the simulator refuses exactly that request."""
    unit = plan_units(read_release(release), OPTIONS)[7]
    messages = variant(unit.mode, unit.variant).messages(**unit.variables)
    return unit.unit, max((m["content"] for m in messages), key=len)


def run(sim: ProviderSim, ws: Path, release: Path) -> tuple[RunReport, list[EvalAnswer]]:
    # No max_concurrency: only the rate limit and the measured latency bound the open requests.
    overrides = valact_overrides(sim, max_concurrency=None, rpm=6000, timeout_s=60)
    ctx = StageContext.open(load_config("demo", None, str(ws), overrides))
    try:
        return evaluate(ctx, str(release), OPTIONS), ctx.store.all(EvalAnswer)
    finally:
        ctx.close()


def test_many_requests_in_flight_and_a_refused_item_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VALACT_SIM_KEY", KEY)
    release = write_release(tmp_path / "release", scenarios_per_domain=3)  # 75 questions
    refused, marker = refused_prompt(release)
    config = SimConfig(api_key=KEY, latency_s=1.0, reject_marker=marker,
                       responder=lambda _m, _s: '{"Answer": "C"}')
    with ProviderSim(config) as sim:
        first, answers = run(sim, tmp_path / "ws", release)
        peak = sim.stats.peak_in_flight
        billed = sum(sim.stats.billed.values())
        second, _ = run(sim, tmp_path / "ws", release)
        refusals = sim.stats.refused["rejected"]

    assert peak > OLD_WORKER_POOL
    assert (first.planned, first.answered, first.failed) == (75, 74, 1)
    assert first.failures[0].startswith(refused)
    assert len(answers) == 74 and refused not in {a.unit for a in answers}
    assert all(a.request_hash for a in answers) and billed == 74
    # The next run pays nothing twice: it asks the refused unit again, and only that one.
    assert (second.already_stored, second.answered, second.failed) == (74, 0, 1)
    assert sum(sim.stats.billed.values()) == billed and refusals == 2
