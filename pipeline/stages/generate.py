"""Stage 3, generate: each generator writes one action per value for every scenario.

One call per (scenario, generator) returns all ten actions. Work already done for the
current prompt version is skipped, so a re-run (or a run after a crash) only pays for what
is missing. A pair whose answer stays invalid after repairs is recorded as a failure with
the reasons and retried on the next run; it never turns into empty candidates.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pipeline.context import StageContext
from pipeline.hashing import content_id
from pipeline.llm.client import InvalidOutputError, OutputSpec
from pipeline.llm.types import RetryableError
from pipeline.prompts import load_prompt
from pipeline.stages.action_rules import action_set_schema, check_action_set, parse_action_set
from pipeline.stages.screen import drop_record
from schemas.records import ActionCandidate, Drop, Scenario
from schemas.values import ALL_VALUES, SchwartzValue

STAGE = "generate"

Pair = tuple[str, str]  # (scenario id, generator alias)


def candidate_id(scenario_id: str, generator: str, value: SchwartzValue) -> str:
    """Stable id of the action one generator wrote for one value of one scenario."""
    return content_id("c", scenario_id, generator, value.value)


def value_list() -> str:
    """The ten values with their defining goals, as shown to the generator."""
    return "\n".join(f"- {v.value}: {v.goal}" for v in ALL_VALUES)


def pending_pairs(ctx: StageContext) -> list[Pair]:
    """(scenario, generator) pairs without a full candidate set for the current prompt."""
    prompt_hash = load_prompt("generate").hash
    done: dict[Pair, int] = {}
    for cand in ctx.store.all(ActionCandidate):
        if cand.prompt_hash == prompt_hash:
            key = (cand.scenario_id, cand.generator)
            done[key] = done.get(key, 0) + 1
    return [
        (sid, gen)
        for sid in sorted(ctx.store.ids(Scenario))
        for gen in ctx.config.generate.generators
        if done.get((sid, gen), 0) < len(ALL_VALUES)
    ]


def generate_pair(ctx: StageContext, scenario: Scenario, generator: str) -> list[ActionCandidate]:
    """Ask one generator for the ten actions of one scenario; raises InvalidOutputError."""
    cfg = ctx.config.generate
    prompt = load_prompt("generate")
    spec = OutputSpec(
        name="value_actions",
        schema=action_set_schema(cfg.max_chars),
        parse=parse_action_set,
        check=lambda actions: check_action_set(actions, cfg),
    )
    result = ctx.llm(STAGE).structured(
        generator,
        prompt,
        {
            "subreddit": scenario.subreddit,
            "title": scenario.title,
            "text": scenario.text,
            "value_list": value_list(),
            "keys": ", ".join(v.value for v in ALL_VALUES),
        },
        spec,
        item_id=scenario.id,
        repair_attempts=cfg.repair_attempts,
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


@dataclass
class GenerateReport:
    """Outcome of one batch of generation."""

    generated: int = 0
    failed: list[Pair] = field(default_factory=list)


def generate_batch(
    ctx: StageContext, pairs: list[Pair], on_progress: Callable[[int], None] | None = None
) -> GenerateReport:
    """Generate a batch of pairs concurrently; each finished pair is stored at once."""
    report = GenerateReport()
    scenarios = {sid: ctx.store.get(Scenario, sid) for sid, _ in pairs}
    models = [ctx.config.models[g] for _, g in pairs]
    workers = max(1, max((m.max_concurrency for m in models), default=1))
    if any(m.batch for m in models):
        # Batch mode: every pair of this batch should wait in the same batch job, so each
        # pair needs its own waiting thread (the batch API, not threads, does the work).
        workers = max(workers, len(pairs))

    def one(pair: Pair) -> None:
        sid, gen = pair
        scenario = scenarios[sid]
        if scenario is None:
            return
        item = f"{sid}:{gen}"
        try:
            candidates = generate_pair(ctx, scenario, gen)
        except (InvalidOutputError, RetryableError) as exc:
            ctx.store.put([drop_record(STAGE, item, "generation_failed", str(exc)[:500])])
            report.failed.append(pair)
        else:
            ctx.store.put(candidates)
            ctx.store.delete(Drop, [content_id("drop", STAGE, item)])
            report.generated += 1
        if on_progress:
            on_progress(1)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, pairs))
    return report
