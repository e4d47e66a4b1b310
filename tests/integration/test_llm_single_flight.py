"""Two items whose requests are identical (a repost of the same text, say) sent at the same
moment: the provider is asked, and paid, once; the second item shares the answer, and its
call record says it was not paid."""

from __future__ import annotations

import asyncio
import string
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.context import StageContext
from pipeline.evaluate.prompts import variant
from schemas.records import LLMCall
from tests.support.provider_sim import ProviderSim, SimConfig, valact_overrides

pytestmark = pytest.mark.integration
KEY = "sk-sim-single-flight-0123456789"


def test_identical_requests_in_flight_are_paid_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALACT_SIM_KEY", KEY)
    config = SimConfig(api_key=KEY, latency_s=0.5, responder=lambda _m, _s: '{"Answer": "B"}')
    prompt = variant("selection", 1)
    variables = {name: "the same repost" for _, name, _, _ in string.Formatter().parse(prompt.user) if name}
    with ProviderSim(config) as sim:
        overrides = valact_overrides(sim, max_concurrency=8, timeout_s=30)
        ctx = StageContext.open(load_config("demo", None, str(tmp_path / "ws"), overrides))
        try:
            llm = ctx.llm("evaluate")

            async def both() -> list[str]:
                answers = await asyncio.gather(*(llm.atext("gpt-sim", prompt, variables, item)
                                                 for item in ("post-a", "post-b", "post-c")))
                return [response.text for response, _hash in answers]

            texts = ctx.registry.run_sync(both())
            calls = ctx.store.all(LLMCall)
            assert ctx.registry.in_flight == {}
        finally:
            ctx.close()
        billed = sum(sim.stats.billed.values())
    assert texts == ['{"Answer": "B"}'] * 3
    assert billed == 1
    assert sorted(c.cached for c in calls) == [False, True, True]
    assert len({c.request_hash for c in calls}) == 1
    assert {c.item_id for c in calls} == {"post-a", "post-b", "post-c"}
