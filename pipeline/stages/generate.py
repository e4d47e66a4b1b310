"""Stage 3, generate: each generator writes one action per value for every scenario.

One call per (scenario, generator) returns all ten actions. Work already done for the
current prompt version is skipped, so a re-run (or a run after a crash) only pays for what
is missing. A pair whose answer stays invalid after repairs is recorded as a failure with
the reasons and retried on the next run; it never turns into empty candidates. In a build,
scenarios arrive from screening the moment they are confirmed (``feed``), so generation
starts while the last posts are still being screened.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import ClassVar

from pipeline.context import StageContext
from pipeline.hashing import content_id
from pipeline.llm.client import LLMClient, OutputSpec
from pipeline.prompts import load_prompt
from pipeline.stage import ModelStage, Outcome, drop_id
from pipeline.stages.action_rules import action_set_schema, check_action_set, parse_action_set
from schemas.records import ActionCandidate, Drop, Scenario
from schemas.values import ALL_VALUES, SchwartzValue

STAGE = "generate"

Pair = tuple[str, str]  # (scenario id, generator alias)


@dataclass(frozen=True)
class PairUnit:
    """One generator's ten actions for one scenario."""

    scenario: Scenario
    generator: str

    @property
    def key(self) -> Pair:
        """(scenario id, generator)."""
        return (self.scenario.id, self.generator)


def candidate_id(scenario_id: str, generator: str, value: SchwartzValue) -> str:
    """Stable id of the action one generator wrote for one value of one scenario."""
    return content_id("c", scenario_id, generator, value.value)


def value_list() -> str:
    """The ten values with their defining goals, as shown to the generator."""
    return "\n".join(f"- {v.value}: {v.goal}" for v in ALL_VALUES)


def done_pairs(ctx: StageContext) -> set[Pair]:
    """Pairs with a full candidate set for the current prompt (streamed over the candidates)."""
    prompt_hash = load_prompt("generate").hash
    counts: Counter[Pair] = Counter()
    for cand in ctx.store.iter(ActionCandidate):
        if cand.prompt_hash == prompt_hash:
            counts[(cand.scenario_id, cand.generator)] += 1
    return {pair for pair, n in counts.items() if n >= len(ALL_VALUES)}


def pending_pairs(ctx: StageContext) -> list[Pair]:
    """(scenario, generator) pairs without a full candidate set for the current prompt."""
    done = done_pairs(ctx)
    return [
        (sid, gen)
        for sid in sorted(ctx.store.ids(Scenario))
        for gen in ctx.config.generate.generators
        if (sid, gen) not in done
    ]


def action_spec(ctx: StageContext) -> OutputSpec[dict[SchwartzValue, str]]:
    """The ten-actions answer: its schema, parser and the configured checks."""
    cfg = ctx.config.generate
    return OutputSpec(
        name="value_actions",
        schema=action_set_schema(cfg.max_chars),
        parse=parse_action_set,
        check=lambda actions: check_action_set(actions, cfg),
    )


async def generate_pair(
    ctx: StageContext, llm: LLMClient, scenario: Scenario, generator: str
) -> list[ActionCandidate]:
    """Ask one generator for the ten actions of one scenario; raises InvalidOutputError."""
    prompt = load_prompt("generate")
    result = await llm.astructured(
        generator,
        prompt,
        {
            "subreddit": scenario.subreddit,
            "title": scenario.title,
            "text": scenario.text,
            "value_list": value_list(),
            "keys": ", ".join(v.value for v in ALL_VALUES),
        },
        action_spec(ctx),
        item_id=scenario.id,
        repair_attempts=ctx.config.generate.repair_attempts,
    )
    warnings_by_value: dict[SchwartzValue, list[str]] = {}
    for issue in result.warnings:
        for value in ALL_VALUES:
            if f"action for {value.value} " in issue.message:
                warnings_by_value.setdefault(value, []).append(issue.rule)
    return [
        ActionCandidate(
            id=candidate_id(scenario.id, generator, value),
            scenario_id=scenario.id,
            value=value,
            generator=generator,
            served_model=result.served_model,
            prompt_hash=prompt.hash,
            text=result.value[value],
            warnings=sorted(set(warnings_by_value.get(value, []))),
        )
        for value in ALL_VALUES
    ]


class GenerateStage(ModelStage[PairUnit]):
    """Ten actions per generator per scenario, skipping what is already done."""

    name: ClassVar[str] = STAGE
    reads = (Scenario,)
    writes = (ActionCandidate, Drop)

    def __init__(self, feed: asyncio.Queue[Scenario | None] | None = None) -> None:
        # Scenarios confirmed by a screening stage running alongside; None ends the feed.
        self.feed = feed
        self._failed_before: set[str] | None = None

    def aliases(self, ctx: StageContext) -> list[str]:
        """The two generators."""
        return list(ctx.config.generate.generators)

    def item_id(self, unit: PairUnit) -> str:
        """Failures are recorded per (scenario, generator)."""
        return f"{unit.scenario.id}:{unit.generator}"

    def failure_reason(self) -> str:
        """The drop reason of a pair whose answer stayed invalid."""
        return "generation_failed"

    def total(self, ctx: StageContext) -> int:
        """Pairs still to generate (with a feed: what the quota will bring)."""
        if self.feed is not None:
            cfg = ctx.config
            return cfg.screen.quota_per_domain * len(cfg.domains) * len(cfg.generate.generators)
        return len(pending_pairs(ctx))

    def plan(self, ctx: StageContext) -> Iterator[PairUnit]:
        """Every pending pair of the stored scenarios."""
        pairs = pending_pairs(ctx)
        for start in range(0, len(pairs), 500):
            part = pairs[start:start + 500]
            scenarios = ctx.store.get_many(Scenario, {sid for sid, _ in part})
            for sid, gen in part:
                if sid in scenarios:
                    yield PairUnit(scenarios[sid], gen)

    async def aplan(self, ctx: StageContext) -> AsyncIterator[PairUnit]:
        """Fed scenarios first, as they come; then whatever else the store has pending."""
        seen: set[Pair] = set()
        if self.feed is not None:
            done = done_pairs(ctx)
            while (scenario := await self.feed.get()) is not None:
                for gen in ctx.config.generate.generators:
                    unit = PairUnit(scenario, gen)
                    if unit.key not in done and unit.key not in seen:
                        seen.add(unit.key)
                        yield unit
        for unit in self.plan(ctx):
            if unit.key not in seen:
                yield unit

    async def arun(self, ctx: StageContext, llm: LLMClient, unit: PairUnit) -> Outcome:
        """Generate and store one pair's ten candidates (clearing a failure of an earlier run)."""
        candidates = await generate_pair(ctx, llm, unit.scenario, unit.generator)
        ctx.store.put(candidates)
        if self._failed_before is None:
            self._failed_before = {d.item_id for d in ctx.store.iter(Drop) if d.stage == STAGE}
        if self.item_id(unit) in self._failed_before:
            ctx.store.delete(Drop, [drop_id(STAGE, self.item_id(unit))])
        return Outcome.done()
